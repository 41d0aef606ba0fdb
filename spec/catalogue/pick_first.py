"""Requirements for the pick_first policy (area PF), and the one spec option it has.

pick_first connects to one address at a time (Happy Eyeballs, gRFC A61), uses the
first subchannel that becomes READY for every RPC, and stays in TRANSIENT_FAILURE
once every address has failed (sticky TF, gRFC A62).  It is the default policy and
the universal leaf under round_robin and friends (gRFC A61), where it also reports
the health of its chosen subchannel.

Where the language-neutral text and grpc-go differ, the requirement follows grpc-go
(``balancer/pickfirst/pickfirst.go`` at 4793ad04) and its source says what the text
says instead; where the sources differ the behaviour is a spec option
(:mod:`spec.options`), such as who asks the resolver to re-resolve
(``pick_first.reresolution``, PF-28) and when subchannels are created
(``pick_first.subchannel_creation``, PF-11).
"""

from __future__ import annotations

from spec.catalogue.model import Level, Requirement
from spec.options import ReresolutionMode
from spec.types import Duration

__all__ = ["CONNECTION_ATTEMPT_DELAY", "REQUIREMENTS", "ReresolutionMode"]


# RFC 8305 section 5 default; gRFC A61 allows a configured value in [100 ms, 2 s].
CONNECTION_ATTEMPT_DELAY = Duration.of(millis=250)

_SPEC = "grpc/grpc doc/client_channel_specification.md#pick_first"
_A61 = "gRFC A61 (IPv4/IPv6 dualstack backends)"
_A61_HE = _A61 + ", 'Happy Eyeballs in the pick_first LB Policy'"
_A61_LIST = _A61 + ", 'Address List Handling in pick_first'"
_A61_HEALTH = _A61 + ", 'Client-Side Health Checking in pick_first'"
_A62 = "gRFC A62 (pick_first: sticky TRANSIENT_FAILURE and address order randomization)"
_A113 = "gRFC A113 (pick_first weighted random shuffling)"
_GO = "grpc-go balancer/pickfirst/pickfirst.go"

M, MAY = Level.MUST, Level.MAY

REQUIREMENTS: tuple[Requirement, ...] = (
    # --- Config and the address list ---
    Requirement(
        "PF-1",
        M,
        "The config is a JSON object whose optional field shuffleAddressList must be a boolean "
        "(null counts as absent); any other type makes the config invalid, and unknown fields "
        "are ignored.",
        _A62 + "; " + _GO + " (ParseConfig, pfConfig)",
    ),
    Requirement(
        "PF-2",
        M,
        "A resolver update with no addresses makes the policy shut down every subchannel, "
        "report TRANSIENT_FAILURE with a picker failing with an error saying the resolver "
        "produced zero addresses, and reject the update.",
        _SPEC + "; " + _GO + " (UpdateClientConnState returns ErrBadResolverState)",
    ),
    Requirement(
        "PF-3",
        M,
        "TRANSIENT_FAILURE caused by the resolver (an empty update, or a resolver error before "
        "any usable list) is not sticky: the next non-empty update reports CONNECTING and "
        "starts connecting.",
        _GO + " (UpdateClientConnState: prevAddrsCount == 0); grpc-go pickfirst_ext_test.go "
        "TestPickFirstLeaf_EmptyAddressList",
    ),
    Requirement(
        "PF-4",
        M,
        "The policy flattens the endpoints into one address list, endpoints in order and each "
        "endpoint's addresses in order, and tries addresses in that list's order.",
        _SPEC + "; " + _A61_LIST + " (step 2)",
    ),
    Requirement(
        "PF-5",
        M,
        "With shuffleAddressList the endpoints, not the addresses inside an endpoint, are put "
        "in random order before flattening, by sorting on the key u^(1/weight) in descending "
        "order (weight 1 when unset), so every order of the endpoints is possible.",
        _A61_LIST + " (step 1); " + _A62 + "; " + _A113 + "; " + _GO + " (weighted shuffling)",
    ),
    Requirement(
        "PF-6",
        M,
        "An address listed more than once is kept only at its first position, so each distinct "
        "address (compared by address, server name and attributes, not balancer attributes; "
        "without the attributes under pick_first.attribute_change=same_subchannel, which no "
        "monitor judges) has at most one subchannel.",
        _GO + " (deDupAddresses, equalAddressIgnoringBalAttributes)",
    ),
    Requirement(
        "PF-7",
        M,
        "The flattened list is interleaved by address family (IPv4 including IPv4-mapped IPv6, "
        "IPv6, other): one address of each family in turn, families in the order they first "
        "appear, each family keeping its own order.",
        _A61_LIST + " (step 3); RFC 8305 section 4; " + _GO + " (interleaveAddresses)",
    ),
    # --- Resolver updates ---
    Requirement(
        "PF-8",
        M,
        "When the policy is connected to a READY subchannel whose address is still listed, a "
        "resolver update changes nothing: no subchannel created, connected or shut down, and "
        "no report under pick_first.ready_on_update=unchanged (ready_again: READY once more, "
        "on the same subchannel).",
        _SPEC + " ('stay in this state until ... a resolver update that does not include the "
        "address of the selected subchannel'); " + _GO + " (UpdateClientConnState)",
    ),
    Requirement(
        "PF-9",
        M,
        "Otherwise an update shuts down exactly the subchannels whose addresses it no longer "
        "lists and keeps the others for reuse; the policy shuts subchannels down at no other "
        "time than these rules name.  An address compares with its attributes "
        "(pick_first.attribute_change=new_subchannel, PF-6).",
        _GO + " (reconcileSubConnsLocked); grpc-go pickfirst_ext_test.go "
        "TestPickFirst_AddressUpdateWithAttributes; gRFC A61 ('it is up to the implementation "
        "whether a given LB policy takes resolver attributes into account'): spec option "
        "pick_first.attribute_change",
    ),
    Requirement(
        "PF-10",
        M,
        "After an update that PF-8 does not cover, a policy that was CONNECTING or had no "
        "address list reports CONNECTING with a queueing picker and starts a pass at the first "
        "address; in TRANSIENT_FAILURE it starts a pass without reporting; in IDLE it starts "
        "nothing; one whose chosen subchannel was READY reports IDLE and waits for ExitIdle "
        "(under pick_first.selected_address_removed=reconnects: as when CONNECTING).",
        _SPEC + " ('a resolver update removes the address of the selected subchannel, the "
        "policy will report IDLE'); grpc-java PickFirstLeafLoadBalancer.java lines 143-168 and "
        "C-core pick_first.cc (GoIdle) agree; grpc-go reconnects at once (" + _GO + " lines "
        "315-331): spec option; grpc-js stays READY on the removed address "
        "(load-balancer-pick-first.ts:474-507): a divergence",
    ),
    # --- A pass over the list (Happy Eyeballs) ---
    Requirement(
        "PF-11",
        M,
        "A pass walks the list in order, one subchannel per address: it connects a subchannel "
        "in IDLE, waits on one in CONNECTING (its CONNECTING notification changes nothing "
        "else), and skips one in TRANSIENT_FAILURE at once. "
        "Under pick_first.subchannel_creation=lazy it creates a subchannel only when the pass "
        "reaches its address; under eager (the text) it may create one for every listed "
        "address it does not hold when the pass starts.",
        _A61_HE
        + "; "
        + _SPEC
        + " ('create a new list of subchannels using the last address list'); "
        + _GO
        + " (requestConnectionLocked, lazy); grpc-java PickFirstLeafLoadBalancer "
        "(requestConnection, lazy); C-core pick_first.cc (SubchannelList, eager); grpc-js "
        "load-balancer-pick-first.ts (connectToAddressList, eager). A CONNECTING "
        "notification in the first pass: " + _GO + " lines 669-681 (CONNECTING again, which "
        "updateBalancerState drops as a repeat, 792-800; nothing else); C-core pick_first.cc "
        "(SubchannelData::OnConnectivityStateChange, case CONNECTING: the report only)",
    ),
    Requirement(
        "PF-12",
        M,
        "When a pass starts or waits on an attempt and a next address exists, it sets the "
        "Connection Attempt Delay timer (250 ms by default); when it fires the pass moves to the "
        "next address while the earlier attempt continues.",
        _A61_HE + "; RFC 8305 section 5; " + _GO + " (scheduleNextConnectionLocked)",
    ),
    Requirement(
        "PF-13",
        M,
        "When the address the pass is at fails, the policy cancels the timer and moves to the "
        "next address at once.",
        _A61_HE + "; " + _GO + " (updateSubConnState, firstPass TRANSIENT_FAILURE)",
    ),
    Requirement(
        "PF-14",
        M,
        "The policy reports TRANSIENT_FAILURE for a pass only after the pass has reached the "
        "end of the list and every subchannel has failed in it, and it does not reconnect a "
        "subchannel that returns to IDLE before then.",
        _A61_HE
        + " ('wait for at least one connection attempt on every address to fail'); "
        + _GO
        + " (endFirstPassIfPossibleLocked); grpc-go pickfirst_test.go "
        "TestPickFirstLeaf_TFPickerUpdate",
    ),
    Requirement(
        "PF-15",
        M,
        "When the first pass ends without a connection, the policy reports TRANSIENT_FAILURE "
        "with a picker failing with UNAVAILABLE and a recent connection error, then connects "
        "every subchannel that is IDLE. A pass an update restarts in sticky TRANSIENT_FAILURE "
        "is a first pass too: it ends the same way (a re-report, and PF-28's request).",
        _SPEC + "; " + _A61_HE + "; " + _GO + " (endFirstPassIfPossibleLocked). A pass "
        "restarted while sticky: " + _GO + " lines 329-333 (startFirstPassLocked in "
        "TRANSIENT_FAILURE), 727-745; C-core pick_first.cc at 5cfd4ae (UpdateLocked builds a "
        "new SubchannelList, whose MaybeFinishHappyEyeballsPass re-resolves and reports "
        "TRANSIENT_FAILURE); grpc-js load-balancer-pick-first.ts:494-507, 313-328 (the new "
        "children's failures reach maybeEnterStickyTransientFailureMode, which re-resolves "
        "and re-reports)",
    ),
    Requirement(
        "PF-16",
        M,
        "After the first pass the policy stays in TRANSIENT_FAILURE until a subchannel is "
        "READY: CONNECTING changes nothing, an IDLE subchannel is connected at once, and "
        "TRANSIENT_FAILURE is re-reported with the newest error after every N failures, N "
        "being the number of subchannels (pick_first.sticky_failure_report=every_n_failures; "
        "every_failure: after each one; re-resolution follows the N either way, PF-28).",
        _A62 + "; " + _SPEC + " ('will not transition to CONNECTING'); " + _A61_HE + "; " + _GO,
    ),
    Requirement(
        "PF-17",
        MAY,
        "While sticky, a pass restarted by a resolver update may report CONNECTING when a "
        "subchannel that has not failed starts connecting (grpc-go does; the text and this "
        "reference stay in TRANSIENT_FAILURE).",
        _GO + " (updateSubConnState checks the SubConn's effective state, not the policy's); "
        "compare " + _SPEC,
    ),
    Requirement(
        "PF-18",
        MAY,
        "A resolver update that restarts a pass while the policy is CONNECTING may report "
        "CONNECTING again (grpc-go does; this reference does not repeat it).",
        _GO + " lines 323-328 (forceUpdateConcludedStateLocked in UpdateClientConnState)",
    ),
    # --- Connected, lost, idle ---
    Requirement(
        "PF-19",
        M,
        "When a subchannel of the policy becomes READY, the policy cancels the timer, shuts "
        "down every other subchannel and (unless it watches health, PF-27) reports READY with "
        "a picker that completes every pick on that subchannel.",
        _SPEC + "; " + _A61_HE + "; " + _GO + " (shutdownRemainingLocked)",
    ),
    Requirement(
        "PF-20",
        M,
        "When the chosen subchannel leaves READY (or any subchannel of the policy drops from "
        "CONNECTING to IDLE), the policy shuts down the others, and under "
        "pick_first.lost_subchannel=released that one too (kept: it stays for the next pass), "
        "and reports IDLE with a picker that queues and makes the first pick call ExitIdle; "
        "it does not reconnect by itself.",
        _SPEC + "; " + _A62 + " (Background); " + _GO + " (idlePicker; grpc-go issue 7862). "
        "The text says CONNECTING or TRANSIENT_FAILURE from READY reconnects at once; "
        "today's subchannels only go READY -> IDLE. The text's IDLE holds no subchannels "
        "(connectivity state table), as C-core's GoIdle and grpc-js release the lost one. "
        "CONNECTING -> IDLE is grpc-go's subchannel's edge (CONN-7); grpc-java's "
        "(InternalSubchannel.java:640, 664) and grpc-js's (subchannel.ts:396-411: only at "
        "the last unref) never take it while a policy holds them, so no implementation "
        "chooses otherwise on it",
    ),
    Requirement(
        "PF-21",
        M,
        "ExitIdle acts only when the policy is IDLE: it reports CONNECTING with a queueing "
        "picker and starts a pass at the first address of the last list.",
        _SPEC + "; " + _GO + " (ExitIdle)",
    ),
    Requirement(
        "PF-22",
        M,
        "Without an address list in use the policy reports TRANSIENT_FAILURE with a picker "
        "failing with the resolver's error. With one, it does as "
        "pick_first.resolver_error_with_addresses says: keep_subchannels ignores the error "
        "unless TRANSIENT_FAILURE is reported (then the picker carries it); drop_subchannels "
        "shuts every subchannel down and reports TRANSIENT_FAILURE; ignore does nothing while "
        "it holds a subchannel or a pick, and with neither (IDLE after a released connection) "
        "reports TRANSIENT_FAILURE with the error but keeps its list, which ExitIdle connects.",
        _GO + " (resolverErrorLocked); grpc-go pickfirst_ext_test.go TestPickFirst_ResolverError_*"
        "; each implementation's value and line: spec/options.py "
        "pick_first.resolver_error_with_addresses",
    ),
    Requirement(
        "PF-23",
        M,
        "Close shuts down every subchannel of the policy and cancels its timer.",
        _GO + " (Close); grpc-go balancer/balancer.go (Balancer.Close)",
    ),
    Requirement(
        "PF-24",
        M,
        "The policy never reports the state it last reported, except TRANSIENT_FAILURE, whose "
        "picker error may change, CONNECTING on a resolver update that restarts a pass "
        "(PF-18), and READY on an update that keeps it under "
        "pick_first.ready_on_update=ready_again (PF-8).",
        _GO + " lines 792-800 (updateBalancerState suppresses repeats except TF); lines 323-328 "
        "(UpdateClientConnState reports CONNECTING through forceUpdateConcludedStateLocked, "
        "which does not suppress a repeat: PF-18)",
    ),
    Requirement(
        "PF-25",
        M,
        "State and health notifications from a subchannel the policy no longer uses are ignored.",
        _GO + " (isActiveSCData)",
    ),
    Requirement(
        "PF-26",
        M,
        "The policy watches subchannel health (creating subchannels with a health listener) "
        "only when its parent enabled it through the resolver attributes; a top-level "
        "pick_first never does.",
        _A61_HEALTH + "; gRFC A17; " + _GO + " (EnableHealthListener)",
    ),
    Requirement(
        "PF-27",
        M,
        "Watching health, the policy reports CONNECTING when its chosen subchannel becomes "
        "READY, then follows the health state: READY reports READY with a picker on that "
        "subchannel, TRANSIENT_FAILURE reports it with the health error, CONNECTING reports "
        "CONNECTING. Health arrives only for a READY subchannel with a listener (HEALTH-9) "
        "and a READY one is chosen (PF-19), so health of a subchannel it holds is the chosen "
        "one's.",
        _A61_HEALTH + " ('Only once pick_first chooses a subchannel will it start the health "
        "watch'); " + _GO + " (updateSubConnHealthState; RegisterHealthListener only on READY, "
        "line 642); grpc-go balancer/subconn.go:80-87 (health updates for a Ready SubConn)",
    ),
    Requirement(
        "PF-28",
        M,
        "Under ReresolutionMode.SPEC_TEXT the policy requests re-resolution once with each "
        "TRANSIENT_FAILURE report caused by connection failures and once when its connection "
        "is lost (READY -> IDLE, or CONNECTING -> IDLE, a connection made and lost before "
        "READY was delivered); under GRPC_JS only with those TRANSIENT_FAILURE reports; under "
        "GRPC_GO it never does.",
        _SPEC
        + " ('The policy will request re-resolution'); "
        + _GO
        + " (comment: the SubConn re-resolves; issue 7534; lines 648-656: CONNECTING -> "
        "IDLE means 'a transport is successfully created, but the connection fails before "
        "the SubConn can send the notification for READY', treated as a lost connection, "
        "issue 7862); grpc-js "
        "load-balancer-pick-first.ts:317, 351-354 (its channel re-resolves on leaving IDLE)",
    ),
    Requirement(
        "PF-29",
        M,
        "RPC completions and load reports cause no outputs.",
        _GO + " (the picker returns no Done callback)",
    ),
)
