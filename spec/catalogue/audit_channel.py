# ruff: noqa: E501  -- a table of citations: one finding per line reads better than wrapped strings
"""The catalogue audit (issue 14) of the channel-side areas: does each cited source say it?

Same format and vocabulary as :mod:`spec.catalogue.audit` ("agrees", "differs" with the
spec option that covers it, "diverges"); merged into its ``AUDIT``.

Sources read: grpc/grpc doc/client_channel_specification.md (as indexed, commit
103702e) and grpc-go v1.85.0 (module cache), line numbers of that version.

Audited (session of issue 14, second helper): CONN-1..9 and 11, CHAN-1..6, MODEL-1..5,
LB-1..5, RPC-1..6 and 10, HC-1..5, REG-1..3, SC-1..5, 7, 8, 10..12, 14, GS-1..10,
BASE-1..8, 10, HEALTH-1..4, 9 against the language-neutral text where it speaks and grpc-go.
Third helper of issue 14: CONN-10 (and grpc-java's and grpc-js's side of CONN-5), LB-6,
REG-4, SC-9, SC-13, BASE-9, RPC-7..9, HEALTH-5..8 against the text or the gRFC they cite
(grpc/proposal at 1fd061a), grpc-go v1.85.0 and, where they implement the behaviour,
grpc-java (5fda0c7) and grpc-js 1.14.7 (the adapter's node_modules).  grpc-java
(5fda0c7) was read for CONN-8, 9 and HC-2..4; grpc-js (1.14.3 tag, the newest in the
local mirror) was read for RPC-1..3 and MODEL-5, and has no client-side health
checking (HC, HEALTH: not implemented); the second helper read them for nothing else.
Issue 17 (helper gsopt): GS-5 and GS-6 also against grpc-java (5fda0c7,
GracefulSwitchLoadBalancer.java), C-core (src/core/load_balancing/child_policy_handler.cc
as indexed, 17a4a55) and grpc-js 1.14.7 (load-balancer-child-handler.ts).
"""

from __future__ import annotations

_GO = "grpc-go v1.85.0"
_TEXT = "client_channel_specification.md"
_JAVA = "grpc-java 5fda0c7"
# Read at the newest grpc-js tag in the local mirror; 1.14.7 was not available there.
_JS_LB_CALL = "grpc-js 1.14.3: agrees (load-balancing-call.ts"
_JS = "grpc-js 1.14.7"
_CORE = "C-core"
_HCLB = "HealthCheckingLoadBalancerFactory.java"
_JS_NO_HC = f"{_JS}: not implemented (no client-side health checking in src/)"

CHANNEL_AUDIT: dict[str, tuple[str, ...]] = {
    # --- CONN: the subchannel machine ---
    "CONN-1": (
        f"{_TEXT}: agrees (Subchannel Connectivity States: IDLE 'This is the initial state')",
    ),
    "CONN-2": (
        f"{_TEXT}: agrees (IDLE -> CONNECTING 'If the LB policy requests a connection')",
        f"{_GO}: agrees (clientconn.go:980-995 addrConn.connect returns unless IDLE)",
    ),
    "CONN-3": (f"{_TEXT}: agrees (CONNECTING -> READY 'If the connection attempt succeeds')",),
    "CONN-4": (
        f"{_TEXT}: agrees (CONNECTING -> TRANSIENT_FAILURE 'If the connection attempt fails')",
        f"{_GO}: agrees (balancer/subconn.go:111-113 ConnectionError set for TransientFailure)",
    ),
    "CONN-5": (
        f"{_TEXT}: agrees (TRANSIENT_FAILURE: 'No connection attempt may be started'; IDLE when the backoff delay expires)",
        f"{_GO}: agrees (clientconn.go:1381 TRANSIENT_FAILURE, 1385-1403 IDLE once the backoff timer fires)",
        f"{_JAVA}: differs, CONNECTING, not IDLE, when the backoff ends (InternalSubchannel.java:299-306): subchannel.backoff_end=connecting; cases whose inputs take TRANSIENT_FAILURE -> IDLE are skipped for it",
        f"{_JS}: differs, CONNECTING when a connection was requested during the backoff (subchannel.ts:226-230, 464-480), IDLE otherwise (231-235): subchannel.backoff_end=connecting_if_requested; its pick_first always asks (load-balancer-pick-first.ts:373), and the adapter refuses TRANSIENT_FAILURE -> IDLE after such a request",
        f"{_CORE}: agrees (subchannel.cc Subchannel::OnRetryTimerLocked: 'backoff delay elapsed, reporting IDLE')",
    ),
    "CONN-6": (f"{_TEXT}: agrees (READY -> IDLE 'When the connection terminates')",),
    "CONN-7": (
        f"{_GO}: agrees (clientconn.go:1288-1295, CONNECTING -> IDLE, TODO naming issue 7862)",
        f"{_TEXT}: does not list CONNECTING -> IDLE (hence MAY, not MUST)",
    ),
    "CONN-8": (
        f"{_GO}: agrees (balancer/subconn.go:73-79 SubConn.Shutdown: 'No future calls should be made', one final Shutdown update; clientconn.go:1686 tearDown returns once Shutdown)",
        f"{_JAVA}: agrees (InternalSubchannel.java:361-362 'Cannot transition out of SHUTDOWN')",
    ),
    "CONN-9": (
        f"{_GO}: agrees (clientconn.go:1283-1286 returns when the state is unchanged)",
        f"{_JAVA}: agrees (InternalSubchannel.java:360 notifies only a changed state)",
    ),
    "CONN-11": (
        f"{_TEXT}: agrees (Subchannel API: 'it is a no-op in any other state')",
        f"{_GO}: agrees (clientconn.go:989-994 connect returns unless IDLE)",
    ),
    # --- CHAN: the channel-level table ---
    "CHAN-1": (
        f"{_TEXT}: agrees (Aggregated Connectivity States table, IDLE: 'Initial state upon channel creation'; Starting Name Resolution)",
    ),
    "CHAN-2": (
        f"{_TEXT}: agrees (table, IDLE -> CONNECTING 'If the application requests that the channel connects or sends an RPC')",
    ),
    "CHAN-3": (
        f"{_TEXT}: agrees (table, CONNECTING: READY, TRANSIENT_FAILURE, IDLE on idle timeout)",
    ),
    "CHAN-4": (
        f"{_TEXT}: agrees (table, READY -> IDLE 'In some LB policies, when the connection terminates' or on idle timeout)",
    ),
    "CHAN-5": (f"{_TEXT}: agrees (table, TRANSIENT_FAILURE: READY, or IDLE on idle timeout)",),
    "CHAN-6": (
        f"{_TEXT}: agrees (table note: 'a channel will not report CONNECTING between TRANSIENT_FAILURE and READY, but there are some cases in which this will happen')",
    ),
    # --- MODEL: models crossing the boundary ---
    "MODEL-1": (
        f"{_GO}: agrees (balancer/subconn.go:111-113 ConnectionError; health/client.go:104,113 TF with an error)",
    ),
    "MODEL-2": (
        f"{_GO}: agrees (health/client.go:73,82,98,104,111,113 report only CONNECTING, READY, TRANSIENT_FAILURE)",
    ),
    "MODEL-3": (
        f"{_GO}: agrees (balancer_wrapper.go:191-193 'cannot create SubConn with empty address list')",
    ),
    "MODEL-4": (
        f"{_TEXT}: agrees (Picker API: Fail and Drop return a status)",
        f"{_GO}: agrees (picker_wrapper.go:162-175: a status error, or UNAVAILABLE for any other error)",
    ),
    "MODEL-5": (
        f"{_TEXT}: agrees (Picker API: 'constrained as described in gRFC A54')",
        f"{_GO}: agrees (picker_wrapper.go:165-167 rewrites to INTERNAL)",
        f"{_JS_LB_CALL}:294,309 restrictControlPlaneStatusCode)",
    ),
    # --- LB: every policy at the boundary ---
    "LB-1": (
        f"{_GO}: agrees (balancer/balancer.go:140-146 NewSubConn; SubConn methods take only SubConns the policy created)",
    ),
    "LB-2": (
        f"{_GO}: agrees (balancer/subconn.go:73-79 'No future calls should be made on the SubConn')",
    ),
    "LB-3": (
        f"{_GO}: differs: Balancer.Close 'is not currently required to call SubConn.Shutdown ... recommended' (balancer/balancer.go:358-362); its own pick_first does (pickfirst.go:344-350)",
    ),
    "LB-4": (
        f"{_TEXT}: agrees (Picker API: Pick 'will synchronously return one of the following results')",
    ),
    "LB-5": (
        f"{_TEXT}: agrees (Subchannel API: the channel queues a pick whose subchannel has no connection)",
        f"{_GO}: agrees (picker_wrapper.go:184-200: not ready, Done called, picks again)",
    ),
    # --- RPC: the channel around Picker.pick ---
    "RPC-1": (
        f"{_TEXT}: agrees (Picker API, Queue)",
        f"{_GO}: agrees (picker_wrapper.go:158-160 ErrNoSubConnAvailable: wait for the next picker)",
        f"{_JS_LB_CALL}:321-322 QUEUE: queueCallForPick)",
    ),
    "RPC-2": (
        f"{_TEXT}: agrees (Picker API, Fail: queued instead when wait_for_ready)",
        f"{_GO}: agrees for a non-status error (picker_wrapper.go:169-175, fail-fast ends UNAVAILABLE with its message); a status error always ends the RPC (162-168): grpc-go has no Fail that carries a chosen status",
        f"{_JS_LB_CALL}:305-320 TRANSIENT_FAILURE: queued when waitForReady, else the picker's status)",
    ),
    "RPC-3": (
        f"{_TEXT}: agrees (Picker API, Drop)",
        f"{_GO}: agrees (picker_wrapper.go:162-168 'end the RPC unconditionally')",
        f"{_JS_LB_CALL}:293-304 DROP ends the call regardless of waitForReady)",
    ),
    "RPC-4": (f"{_GO}: agrees (picker_wrapper.go:124-133 'latest balancer error')",),
    "RPC-5": (
        f"{_TEXT}: agrees (Picker API, Complete: 'a callback to be invoked when the RPC is complete')",
    ),
    "RPC-6": (
        f"{_GO}: agrees (orca/internal/internal.go:58-71: none when missing; error when repeated or unparsable)",
    ),
    "RPC-10": (
        f"{_GO}: agrees (balancer/balancer.go:239-246 PickInfo: FullMethodName, Ctx with the outgoing metadata)",
    ),
    # --- HC: the Health/Watch client ---
    "HC-1": (
        f"{_GO}: agrees (health/client.go:73 CONNECTING before each attempt's first response)",
        _JS_NO_HC,
    ),
    "HC-2": (
        f"{_GO}: agrees (health/client.go:110-113; TF names the status)",
        f"{_JAVA}: agrees ({_HCLB}:451-460, TF names the status)",
        _JS_NO_HC,
    ),
    "HC-3": (
        f"{_GO}: agrees (health/client.go:97-100 READY and return: not retried)",
        f"{_JAVA}: agrees ({_HCLB}:466-474 disabled, reports the raw READY)",
        _JS_NO_HC,
    ),
    "HC-4": (
        f"{_GO}: agrees (health/client.go:60-68 backoff per try, 103-105 TF and retry, 108-109 tryCnt reset on a message)",
        f"{_JAVA}: agrees ({_HCLB}:477-490 TF, backoff only when the stream had no response)",
        _JS_NO_HC,
    ),
    # --- REG: the registry ---
    "REG-1": (
        f"{_GO}: agrees (balancer/balancer.go:58-66 Register, 84-95 Get; case-sensitive by default, internal/envconfig/envconfig.go:95)",
        f"{_TEXT}: agrees ('LB policies are registered by name')",
    ),
    "REG-2": (
        f"{_GO}: agrees ('the one registered last will take effect', balancer/balancer.go:55-66)",
        f"{_TEXT}: differs ('Only one LB policy can be registered for a given name'), as the citation says",
    ),
    "REG-3": (f"{_GO}: agrees (balancer/balancer.go:95 Get returns nil)",),
    # --- SC: choosing the policy ---
    "SC-1": (
        f"{_GO}: agrees (internal/balancer/gracefulswitch/config.go:54-80: in order, unregistered names skipped)",
        f"{_TEXT}: agrees (Channel Handling of Resolver Result, rule 1, via gRFC A24)",
    ),
    "SC-2": (
        f"{_GO}: agrees (gracefulswitch/config.go:73,80 return at the first registered name; 50-52 decode the whole list into objects first, as the citation says)",
    ),
    "SC-3": (f"{_GO}: agrees (gracefulswitch/config.go:55-57, the message names the index)",),
    "SC-4": (f"{_GO}: agrees (gracefulswitch/config.go:76-78 'error parsing config for policy')",),
    "SC-5": (
        f"{_GO}: agrees (gracefulswitch/config.go:83 'no supported policies found in config')",
    ),
    "SC-7": (
        f"{_GO}: agrees (service_config.go:189-194 defaults to pick_first)",
        f"{_TEXT}: agrees (rule 4 'Otherwise, default to pick_first'; rule 3, a policy chosen through the channel API, is outside this spec)",
    ),
    "SC-8": (
        f"{_GO}: differs as the citation says: health checking starts whenever healthCheckConfig is present (clientconn.go:1612-1615), with its ServiceName (1651), also when empty",
    ),
    "SC-10": (
        f"{_GO}: agrees (clientconn.go:847-855 applyFailingLBLocked only without a config in force, 878-881 UNAVAILABLE 'error parsing service config')",
        f"{_TEXT}: agrees (pseudo-code: TRANSIENT_FAILURE, result_status UNAVAILABLE)",
    ),
    "SC-11": (
        f"{_GO}: agrees (clientconn.go:847-858: ErrBadResolverState, the policy updated with the config in force)",
        f"{_TEXT}: agrees (pseudo-code: 'keep using it')",
    ),
    "SC-12": (
        f"{_GO}: keeps the config in force (clientconn.go:833-834, 794-798 maybeApplyDefaultServiceConfig)",
        f"{_TEXT}: applies the default config (pseudo-code: 'Use the channel's default config'); the requirement states both",
    ),
    "SC-14": (
        f"{_GO}: default_config (clientconn.go:816-826: maybeApplyDefaultServiceConfig before resolverError)",
        f"{_TEXT}: no_config (Starting Name Resolution and the resolver-result pseudo-code; gRFC A21); the requirement states both through option service_config.resolver_error_before_config",
    ),
    # --- GS: graceful switch ---
    "GS-1": (
        f"{_GO}: agrees (internal/balancer/gracefulswitch/gracefulswitch.go:176-200: same builder name, same child)",
        f"{_TEXT}: agrees (Gracefully Switching LB Policies, second bullet)",
    ),
    "GS-2": (
        f"{_GO}: agrees (gracefulswitch.go:182-200 switchTo, then only the new child is updated)",
        f"{_TEXT}: agrees (third bullet)",
    ),
    "GS-3": (f"{_GO}: agrees (gracefulswitch.go:111-135 switchTo closes an older pending child)",),
    "GS-4": (
        f"{_GO}: agrees (gracefulswitch.go:161-175 latestBalancer, 204-217 ResolverError (TRANSIENT_FAILURE without a child), 224-234 ExitIdle)",
    ),
    "GS-5": (
        f"{_GO}: agrees (gracefulswitch.go:343-352)",
        f"{_TEXT}: agrees ('or the old policy reports a state other than READY')",
        f"{_JAVA}: agrees (GracefulSwitchLoadBalancer.java:141-147)",
        f"{_CORE}: differs, the current child's reports always pass (child_policy_handler.cc, ChildPolicyHandler::Helper::UpdateState): service_config.graceful_switch=hold_connecting",
        f"{_JS}: differs, the current child's reports always pass (load-balancer-child-handler.ts:59-62): service_config.graceful_switch=hold_connecting",
    ),
    "GS-6": (
        f"{_GO}: agrees under service_config.graceful_switch=grpc_go (gracefulswitch.go:367-368)",
        f"{_TEXT}: agrees under service_config.graceful_switch=spec_text, the default (swap at once when the channel is not READY; READY and TRANSIENT_FAILURE swap, so IDLE is held)",
        f"{_JAVA}: agrees under service_config.graceful_switch=grpc_java (GracefulSwitchLoadBalancer.java:156-158, 138-140)",
        f"{_CORE}: agrees under service_config.graceful_switch=hold_connecting (child_policy_handler.cc, ChildPolicyHandler::Helper::UpdateState)",
        f"{_JS}: agrees under service_config.graceful_switch=hold_connecting (load-balancer-child-handler.ts:52-58)",
    ),
    "GS-7": (
        f"{_GO}: agrees (gracefulswitch.go:78-90 swap: the pending child's lastState (CONNECTING at creation, 122), then the old child closed; balancerWrapper.Close shuts its SubConns down, 309-325)",
    ),
    "GS-8": (
        f"{_GO}: agrees (gracefulswitch.go:94-104 balancerCurrentOrPending; 236-266 updateSubConnState; 337-339 UpdateState; 372-390 NewSubConn)",
    ),
    "GS-9": (f"{_GO}: agrees (gracefulswitch.go:398-405 ResolveNow from the latest child only)",),
    "GS-10": (f"{_GO}: agrees (gracefulswitch.go:272-283 Close, 309-325 balancerWrapper.Close)",),
    # --- BASE: grpc-go's base balancer ---
    "BASE-1": (
        f"{_GO}: agrees (balancer/base/balancer.go:102-123: one SubConn per address, Connect at once)",
    ),
    "BASE-2": (f"{_GO}: agrees (balancer/base/balancer.go:124-131, 212-215 SHUTDOWN)",),
    "BASE-3": (
        f"{_GO}: agrees (balancer/base/balancer.go:136-139 'produced zero addresses', 77-93 ResolverError)",
    ),
    "BASE-4": (f"{_GO}: agrees (balancer/base/balancer.go:198-207)",),
    "BASE-5": (f"{_GO}: agrees (balancer/base/balancer.go:203-204, 210-211)",),
    "BASE-7": (f"{_GO}: agrees (balancer/base/balancer.go:147-158 mergeErrors, 165-170)",),
    "BASE-8": (
        f"{_GO}: agrees (balancer/base/balancer.go:77-93 ResolverError reports only in TRANSIENT_FAILURE; 216-233)",
    ),
    # --- HEALTH: client-side health across the boundary ---
    "HEALTH-1": (
        f"{_GO}: agrees that only registered listeners are checked (balancer_wrapper.go:445-460 healthListenerRegFn); differs on serviceName as in SC-8 (a present healthCheckConfig suffices, 449-452)",
        _JS_NO_HC,
    ),
    "HEALTH-2": (
        f"{_GO}: agrees (balancer_wrapper.go:39-43 noOpRegisterHealthListenerFn reports READY)",
        _JS_NO_HC,
    ),
    "HEALTH-3": (
        f"{_GO}: agrees (pickfirst.go:222 health only with EnableHealthListener's attribute; 620-628 READY at once)",
    ),
    "HEALTH-4": (f"{_GO}: agrees (roundrobin/roundrobin.go:70 pickfirst.EnableHealthListener)",),
    "HEALTH-9": (
        f"{_GO}: agrees (balancer_wrapper.go:326-335 new healthData on every connectivity change; 469-483 a listener only while READY)",
        _JS_NO_HC,
    ),
    "HC-5": (
        f"{_GO}: agrees (health/producer.go:27-33 the producer's cleanup cancels the watch, 66-77 a new registration cancels the old one; balancer_wrapper.go:494-497 updates of a superseded listener are dropped, 326-335 on every connectivity change)",
        _JS_NO_HC,
    ),
    "BASE-6": (
        f"{_GO}: agrees (balancer/base/balancer.go:142 after each resolver update, 224-229 on entering or leaving READY)",
    ),
    # --- audited by the third helper of issue 14 (see the module docstring) ---
    "CONN-10": (
        f"{_TEXT}: neither transition (Subchannel Connectivity States: TRANSIENT_FAILURE -> IDLE when the backoff delay expires, READY -> IDLE)",
        f"{_GO}: neither (clientconn.go:1381 TRANSIENT_FAILURE, 1400-1403 IDLE after the backoff; 1521-1524 READY -> IDLE on a lost connection)",
        f"{_JAVA}: differs, TRANSIENT_FAILURE -> CONNECTING after every backoff (InternalSubchannel.java:299-306 EndOfCurrentBackoff); READY -> IDLE (636-640); the text said 'today's gRPC does neither' and was corrected",
        f"{_JS}: differs, TRANSIENT_FAILURE -> CONNECTING after the backoff when a connection was requested during it (subchannel.ts:226-230, 472-478), else IDLE (231-235); READY -> IDLE (275-278)",
    ),
    "LB-6": (
        f"{_GO}: this project's trace convention, no gRPC source states it; grpc-go names a SubConn by its channelz ID (balancer_wrapper.go:341-343), increasing with creation but shared by every channel, so an adapter numbers SubConns itself",
    ),
    "REG-4": (
        f"{_GO}: differs, Register accepts any Name(), the empty one included (balancer/balancer.go:58-66)",
        f"{_JAVA}: differs, LoadBalancerRegistry.addProvider checks isAvailable only and keys by getPolicyName() (LoadBalancerRegistry.java:68-70, 89)",
        f"{_JS}: differs, registerLoadBalancerType keys by any typeName (load-balancer.ts:166-175)",
        f"{_TEXT}: silent ('LB policies are registered by name'); triaged (issue 14): this project's rule for its own registry API, not an option, since no load-balancing behaviour differs and the adapter protocol registers no builders, so adapters are not judged on it (the catalogue's source says so)",
    ),
    "SC-9": (
        f"{_GO}: agrees that an invalid config is an error (service_config.go:172-181, 206-208 ParseResult{{Err}}); the message is encoding/json's (a byte offset, not line and column; a Go struct field, not a JSON path): this project's error rule, stated by no gRPC source",
    ),
    "SC-13": (
        f"{_GO}: agrees (service_config.go:158-163 jsonSC: *string, *json.RawMessage, *healthCheckConfig; 177-181 a decoding error invalidates the config; 206-208 gracefulswitch.ParseConfig rejects a loadBalancingConfig that is not a list; service_config_test.go:145 TestParseLoadBalancer)",
    ),
    "BASE-9": (
        f"{_GO}: agrees (balancer/base/base.go:46-56 PickerBuildInfo.ReadySCs, SubConnInfo.Address; balancer.go:104-118 the SubConn kept under the address it was created for, 171-178 handed to Build; balancer_test.go:71 TestBaseBalancerReserveAttributes)",
    ),
    "RPC-7": (
        "gRFC A6: agrees (Transparent Retries: 'the client library can transparently retry until a success occurs, or the RPC's deadline passes'), for every RPC, not only wait_for_ready; an RPC refused by the server (REFUSED_STREAM, GOAWAY) is retried once more, one seen by the application only by a configured policy",
        f"{_GO}: agrees (stream.go:670-672 a stream that was never created may be retried transparently, 816-818; 825-828 one the server did not process, on the first attempt only; otherwise only a configured retry policy, 829-)",
    ),
    "RPC-8": (
        "envoy source/common/orca/orca_parser.h: agrees in one indexed version (kEndpointLoadMetricsHeader 'endpoint-load-metrics' with the prefixes 'BIN ', 'JSON ', 'TEXT '); the newest indexed version (162f46c) declares only endpoint-load-metrics-bin; which trailer wins was not checked",
        f"{_GO}: reads only endpoint-load-metrics-bin (orca/internal/internal.go:47); the text trailer is this project's fallback for grpcio",
    ),
    "RPC-9": (
        "gRFC A51: agrees (out-of-band reporting: a StreamCoreMetrics call kept open while a policy subscribes, at the smallest interval asked for)",
        f"{_GO}: agrees (orca/producer.go:75-90 RegisterOOBListener on a READY SubConn, 112-150 the smallest interval, 203-224 runStream: reports only from a live stream on the SubConn's transport)",
    ),
    "HEALTH-5": (
        "gRFC A61: agrees (Generic Health Reporting Mechanism: 'Only once pick_first chooses a subchannel will it start the health watch')",
        "gRFC A17: agrees (Client Workflow and Race Conditions: CONNECTING until the first health-check response)",
        f"{_GO}: agrees (pickfirst.go:612-645: on READY, CONNECTING reported (637-641), then RegisterHealthListener (642))",
        f"{_JAVA}: agrees in effect (leaf: the health listener is attached at creation, PickFirstLeafLoadBalancer.java:590-596; HealthCheckingLoadBalancerFactory.java:349-360 starts the watch on READY and reports CONNECTING)",
        _JS_NO_HC,
    ),
    "HEALTH-6": (
        "gRFC A61: agrees ('the connectivity state reported by that watch is the state that pick_first will report to its parent')",
        f"{_GO}: agrees (pickfirst.go:757-785 updateSubConnHealthState: READY with the SubConn, TF with 'health check failure', CONNECTING queueing)",
        f"{_JAVA}: agrees (leaf: PickFirstLeafLoadBalancer.java:438-453 updateHealthCheckedState)",
        _JS_NO_HC,
    ),
    "HEALTH-7": (
        "gRFC A17: agrees (round_robin: 'picks will not be assigned to it')",
        f"{_TEXT}: agrees (Subchannel Health State: the parent 'stop sending traffic to that endpoint')",
        f"{_GO}: agrees (endpointsharding.go:275-292: READY children's pickers only; TRANSIENT_FAILURE with the failing children's pickers)",
        f"{_JAVA}: agrees (RoundRobinLoadBalancer.java:57-80: READY children only; TRANSIENT_FAILURE with every child's picker when none is CONNECTING or IDLE)",
        _JS_NO_HC,
    ),
    "HEALTH-8": (
        "gRFC A61: agrees (Reasons for Generic Health Reporting: 'we don't want unhealthiness to trigger connection churn')",
        "gRFC A17: agrees (Client Workflow: TRANSIENT_FAILURE directly to READY)",
        f"{_GO}: agrees (pickfirst.go:757-785: a health update only reports a state)",
        f"{_JAVA}: agrees (leaf: PickFirstLeafLoadBalancer.java:625-643 HealthListener, 438-453: reports only)",
        _JS_NO_HC,
    ),
    "BASE-10": (
        f"{_GO}: agrees (balancer/base/base.go:60-61 Config.HealthCheck, balancer.go:110 HealthCheckEnabled; health/client.go:73 CONNECTING until the first response)",
    ),
}
