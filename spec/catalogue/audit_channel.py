# ruff: noqa: E501  -- a table of citations: one finding per line reads better than wrapped strings
"""The catalogue audit (issue 14) of the channel-side areas: does each cited source say it?

Same format and vocabulary as :mod:`spec.catalogue.audit` ("agrees", "differs" with the
spec option that covers it, "diverges"); merged into its ``AUDIT``.

Sources read: grpc/grpc doc/client_channel_specification.md (as indexed, commit
103702e) and grpc-go v1.85.0 (module cache), line numbers of that version.

Audited (session of issue 14, second helper): CONN-1..9 and 11, CHAN-1..6, MODEL-1..5,
LB-1..5, RPC-1..6 and 10, HC-1..5 against the language-neutral text where it speaks
and grpc-go.  Not audited (no entry, "not audited yet"): CONN-10, LB-6 and the CONF
area (this project's own rules: no gRPC source states them), RPC-7..9, and all of
REG, SC (but SC-6, audited in audit.py), GS, BASE and HEALTH.  grpc-java and grpc-js
were not read for these areas.
"""

from __future__ import annotations

_GO = "grpc-go v1.85.0"
_TEXT = "client_channel_specification.md"

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
    ),
    "CONN-6": (f"{_TEXT}: agrees (READY -> IDLE 'When the connection terminates')",),
    "CONN-7": (
        f"{_GO}: agrees (clientconn.go:1288-1295, CONNECTING -> IDLE, TODO naming issue 7862)",
        f"{_TEXT}: does not list CONNECTING -> IDLE (hence MAY, not MUST)",
    ),
    "CONN-8": (
        f"{_GO}: agrees (balancer/subconn.go:73-79 SubConn.Shutdown: 'No future calls should be made', one final Shutdown update; clientconn.go:1686 tearDown returns once Shutdown)",
    ),
    "CONN-9": (f"{_GO}: agrees (clientconn.go:1283-1286 returns when the state is unchanged)",),
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
    ),
    "RPC-2": (
        f"{_TEXT}: agrees (Picker API, Fail: queued instead when wait_for_ready)",
        f"{_GO}: agrees for a non-status error (picker_wrapper.go:169-175, fail-fast ends UNAVAILABLE with its message); a status error always ends the RPC (162-168): grpc-go has no Fail that carries a chosen status",
    ),
    "RPC-3": (
        f"{_TEXT}: agrees (Picker API, Drop)",
        f"{_GO}: agrees (picker_wrapper.go:162-168 'end the RPC unconditionally')",
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
    ),
    "HC-2": (f"{_GO}: agrees (health/client.go:110-113; TF names the status)",),
    "HC-3": (f"{_GO}: agrees (health/client.go:97-100 READY and return: not retried)",),
    "HC-4": (
        f"{_GO}: agrees (health/client.go:60-68 backoff per try, 103-105 TF and retry, 108-109 tryCnt reset on a message)",
    ),
}
