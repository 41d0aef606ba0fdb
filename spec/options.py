"""Spec options: every behaviour on which the sources let gRPC implementations differ.

Where the language-neutral text (grpc/grpc ``doc/client_channel_specification.md``,
the gRFCs) and the implementations disagree, or the implementations disagree among
themselves, the spec does not decide silently for one of them: the behaviour is an
option in :data:`OPTIONS`, with its allowed values, the value of grpc-go, grpc-java,
gRPC C-core and grpc-js and the source line of each.  A conformance adapter declares
its implementation's values (``started.capabilities.spec_options``); a case written
for one value declares it in its ``spec_options`` and is SKIPPED for an adapter with
another value; a case that holds for every value declares none.

Keys are ``"<scope>.<name>"``.  The scope is a policy name, ``service_config`` or
``subchannel`` (the channel's subchannels, which the cases play).
How a value reaches the judges (PROTOCOL.md, "Spec options"):

* ``monitor_parameter`` set: the value, converted to the parameter's enum, goes to
  the constructor parameter of that name of the monitor of every policy in
  ``monitors`` (by default the key's own policy), so the monitor judges each trace
  with the implementation's behaviour.
* ``monitor_parameter`` None (a *selection-only* option): no monitor takes it; the
  monitors encode the default value, and every case whose verdict depends on the
  option declares the value it was written for.

Versions read: grpc-go v1.85.0 (module cache), grpc-java master at 5fda0c7 (August
2026; 1.85.1 was not available as a tag in the snapshot), @grpc/grpc-js 1.14.7 (its
package ships ``src/``), C-core from grpc/grpc master as indexed (file and function
named; line numbers drift there).  A value of ``None`` means the implementation has
no such policy; :data:`NOT_CHECKED` means nobody has read its source for this yet;
:data:`DIVERGES` (with its source) means it does something the text rules out and no value
covers: a divergence, with an expectations entry, not a choice.

Defaults.  The default (the first of ``values``, which keep the order of the helpers'
contract OPTIONS.md, unless ``explicit_default`` says otherwise) is what the language-neutral text
says where it speaks.  Where it is silent, the rule is: the value of the majority of
the four implementations; on a tie, C-core's value, because the gRFCs are written
with C-core as their first implementation (gRFC A58's static stride scheduler and
A61's pick_first are C-core's).  Each option's ``default_basis`` says which rule
chose its default and, for a majority, names the implementations.  One exception: a
selection-only option whose tie would give a value no monitor models yet takes the
modelled value, and its ``default_basis`` says so and names the value the tie gives
(``subchannel.pool``, ``round_robin.children_on_update``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

import attrs

from spec.connectivity import BackoffEnd
from spec.errors import ModelError

IMPLEMENTATIONS: tuple[str, ...] = ("grpc-go", "grpc-java", "C-core", "grpc-js")

GO = "grpc-go v1.85.0 "
JAVA = "grpc-java 5fda0c7 "
JS = "grpc-js 1.14.7 src/"
CORE = "grpc/grpc "


# --- The option enums (monitor parameter types) ---


class ReresolutionMode(enum.Enum):
    """Who asks the resolver to re-resolve when pick_first's connections fail (PF-28).

    * ``SPEC_TEXT`` -- the policy asks (``RequestReresolution``) when it first reports
      TRANSIENT_FAILURE after a pass, each time it re-reports TRANSIENT_FAILURE after
      N more failures, and when its connection is lost (client_channel_specification.md,
      "pick_first").  Use it when subchannels do not re-resolve by themselves.
    * ``GRPC_GO`` -- the policy never asks; grpc-go's subchannel (addrConn) calls
      ResolveNow itself before it reports TRANSIENT_FAILURE or IDLE (pickfirst.go,
      comment on issue 7534).
    * ``GRPC_JS`` -- the policy asks with each TRANSIENT_FAILURE report caused by
      connection failures, as the text says, but not when its connection is lost: the
      channel re-resolves when it next leaves IDLE (grpc-js resolving-load-balancer.ts).
    """

    SPEC_TEXT = "spec_text"
    GRPC_GO = "grpc_go"
    GRPC_JS = "grpc_js"

    @property
    def on_failure(self) -> bool:
        """The policy asks when a pass fails and in sticky TRANSIENT_FAILURE (PF-28)."""
        return self is not ReresolutionMode.GRPC_GO

    @property
    def on_lost_connection(self) -> bool:
        """The policy asks when its READY subchannel's connection is lost (PF-28)."""
        return self is ReresolutionMode.SPEC_TEXT


class LostSubchannel(enum.Enum):
    """PF-20: what pick_first does with the subchannel whose connection was lost.

    * ``RELEASED`` -- it is shut down with the others; IDLE holds no subchannel and
      ExitIdle creates the list again (the text: in IDLE "there are no subchannels").
    * ``KEPT`` -- it stays, IDLE, and the next pass connects it again.
    """

    RELEASED = "released"
    KEPT = "kept"


class HappyEyeballs(enum.Enum):
    """pick_first starts the next address after 250 ms while the current one connects."""

    ENABLED = "enabled"
    DISABLED = "disabled"


class SelectedAddressRemoved(enum.Enum):
    """PF-10: a resolver update drops the address of pick_first's READY subchannel."""

    GOES_IDLE = "goes_idle"  # report IDLE; connect again on ExitIdle (the text)
    RECONNECTS = "reconnects"  # report CONNECTING and start a pass at once (grpc-go)


class ResolverErrorWithAddresses(enum.Enum):
    """PF-22: a resolver error while pick_first has an address list in use.

    Before any list, or after an empty update, every implementation reports
    TRANSIENT_FAILURE with the error (PF-22).

    * ``KEEP_SUBCHANNELS`` -- keep the list and the subchannels; report the error only
      while TRANSIENT_FAILURE is reported (the picker then carries it).
    * ``DROP_SUBCHANNELS`` -- shut every subchannel down, forget the list and report
      TRANSIENT_FAILURE with the error, READY included (grpc-java).
    * ``IGNORE`` -- do nothing while the policy holds a subchannel or a pick, also in
      TRANSIENT_FAILURE; with neither (IDLE after a released connection) report the
      error as with no list (grpc-js).
    """

    KEEP_SUBCHANNELS = "keep_subchannels"
    DROP_SUBCHANNELS = "drop_subchannels"
    IGNORE = "ignore"


class ReadyOnUpdate(enum.Enum):
    """PF-8: a resolver update that still lists pick_first's READY subchannel."""

    UNCHANGED = "unchanged"  # nothing is reported (grpc-go, grpc-java)
    READY_AGAIN = "ready_again"  # READY is reported again on the same subchannel (C-core, grpc-js)


class FamilyInterleaving(enum.Enum):
    """PF-7: which address families pick_first interleaves."""

    TWO_FAMILIES = "two_families"  # IPv6 and everything else (RFC 8305 section 4)
    THREE_FAMILIES = "three_families"  # IPv4 (incl. mapped), IPv6, anything else


class MappedFamily(enum.Enum):
    """PF-7: the family of an IPv4-mapped IPv6 address (``::ffff:a.b.c.d``) when interleaving."""

    IPV4 = "ipv4"  # the IPv4 address it carries (grpc-go Is4In6; java.net Inet4Address)
    IPV6 = "ipv6"  # the IPv6 literal it is written as (grpc-js isIPv6)


class SubchannelCreation(enum.Enum):
    """PF-11: when pick_first creates the subchannels of an address list.

    * ``EAGER`` -- when a pass starts on a list (a resolver update the policy acts on
      while not IDLE, or leaving IDLE) the policy may create a subchannel for every
      listed address it does not hold, then connects them one at a time as the pass
      goes; on an update that keeps its READY subchannel (PF-8) the new ones are
      dropped again at once.  The monitor accepts lazy creation under it too: the
      difference is only when a subchannel appears.
    * ``LAZY`` -- a subchannel is created only when the pass reaches its address.
    """

    EAGER = "eager"
    LAZY = "lazy"


class IdleChild(enum.Enum):
    """How round_robin's aggregate counts a child that reports IDLE (RR-5, AGG-7)."""

    AS_CONNECTING = "as_connecting"
    AS_IDLE = "as_idle"  # its own level, below CONNECTING and above TRANSIENT_FAILURE
    AFTER_FAILURE = "after_failure"  # its own level, below TRANSIENT_FAILURE


class ResolverErrorHandling(enum.Enum):
    """RR-13: what round_robin does with a resolver error while it has children.

    With no children every implementation reports TRANSIENT_FAILURE (RR-13).

    * ``IGNORE`` -- nothing: the children never hear of it and round_robin does not
      report (C-core, grpc-js).
    * ``PASS_TO_CHILDREN`` -- every child gets it (a pick_first child in
      TRANSIENT_FAILURE takes it as its error, PF-22), then round_robin reports once
      (RR-10; grpc-go's endpointsharding, this reference).
    * ``REPORT_FAILURE`` -- the children never hear of it; unless round_robin is READY
      it reports TRANSIENT_FAILURE with a picker failing with the error (grpc-java).
    """

    IGNORE = "ignore"
    PASS_TO_CHILDREN = "pass_to_children"
    REPORT_FAILURE = "report_failure"


class FailureError(enum.Enum):
    """RR-9: which error round_robin's picks fail with while it is TRANSIENT_FAILURE.

    * ``MOST_RECENT`` -- the error of the most recent failure a child reported: every pick
      fails with it (client_channel_specification.md, round_robin: "the error from the most
      recent subchannel connection failure").
    * ``ROTATING_CHILDREN`` -- the picker takes turns over the failing children's own
      pickers, so each pick fails with some failing child's error.
    """

    MOST_RECENT = "most_recent"
    ROTATING_CHILDREN = "rotating_children"


class RepeatedEndpoint(enum.Enum):
    """RR-2: what round_robin does with an endpoint listed more than once in one update
    (the same unordered set of addresses).

    * ``EVERY_COPY`` -- every listed copy gets its own pick_first child; with a subchannel
      pool the copies share one subchannel per address, which then gets one turn per copy
      in the READY rotation (RR-7).
    * ``FIRST_WINS`` -- one child for the endpoint, given the copy met first in the (rotated,
      RR-12) list; later repeats are skipped.
    * ``LAST_WINS`` -- one child for the endpoint, given the copy listed last: each repeat
      overwrites the earlier one's addresses.
    """

    EVERY_COPY = "every_copy"
    FIRST_WINS = "first_wins"
    LAST_WINS = "last_wins"


class ExitIdleHandling(enum.Enum):
    """RR-10: what round_robin does when its parent calls ExitIdle.

    * ``NOOP`` -- nothing, and no report: its children leave IDLE by themselves (RR-6).
    * ``FORWARD`` -- every child's ExitIdle is called, then round_robin reports once.
    """

    NOOP = "noop"
    FORWARD = "forward"


class CountLifetime(enum.Enum):
    """LR-9: when the outstanding-RPC count of an endpoint that left READY is dropped."""

    WHILE_READY = "while_ready"  # at once (A48; this reference)
    GRPC_GO = "grpc_go"  # when the next picker with a READY endpoint is built
    CHILD_LIFETIME = "child_lifetime"  # never while the endpoint's child exists


class WeightCaps(enum.Enum):
    """WRR-15: how weights are clamped around the mean of the known ones."""

    GRPC_CPP = "grpc_cpp"  # 0.01x..10x (static_stride_scheduler.cc); this reference too
    GRPC_JAVA = "grpc_java"  # 0.1x..10x (WeightedRoundRobinLoadBalancer.java)
    GRPC_GO = "grpc_go"  # no clamping (scheduler.go)

    @property
    def bounds(self) -> tuple[float, float] | None:
        """(max ratio, min ratio) to the mean, or None for no clamping."""
        return {"grpc_cpp": (10.0, 0.01), "grpc_java": (10.0, 0.1)}.get(self.value)


class WeightOnReconnect(enum.Enum):
    """WRR-10: what an endpoint's weight keeps when its subchannel becomes READY again."""

    RESET_NON_EMPTY_SINCE = "reset_non_empty_since"  # blackout restarts; last report kept
    RESET_ALL = "reset_all"  # both timestamps cleared: the weight is gone until a report


class GracefulSwitchRule(enum.Enum):
    """GS-5, GS-6: when the channel swaps a pending child policy in (the rules differ).

    * ``SPEC_TEXT`` -- a switch while the channel is not READY swaps the new child in at
      once; otherwise the old child serves until the new one reports READY or
      TRANSIENT_FAILURE or the old one reports anything but READY
      (client_channel_specification.md, "Gracefully Switching LB Policies"): the pending
      child's CONNECTING and IDLE are held.
    * ``GRPC_GO`` -- no swap at the switch; a pending child's report is held only while it
      is CONNECTING and the current child's last report was READY, any other report swaps
      it in; the current child's report other than READY swaps too.
    * ``GRPC_JAVA`` -- a switch while the current child's last report was not READY swaps at
      once; a pending child's CONNECTING is held, any other report swaps; the current
      child's report other than READY swaps.
    * ``HOLD_CONNECTING`` -- a pending child's CONNECTING is always held and any other report
      swaps it in; the current child's reports always reach the channel and never swap.
    """

    SPEC_TEXT = "spec_text"
    GRPC_GO = "grpc_go"
    GRPC_JAVA = "grpc_java"
    HOLD_CONNECTING = "hold_connecting"

    @property
    def swaps_at_switch(self) -> bool:
        """A switching update while the channel is not READY swaps the new child in at once."""
        return self in (GracefulSwitchRule.SPEC_TEXT, GracefulSwitchRule.GRPC_JAVA)

    @property
    def current_leaving_ready_swaps(self) -> bool:
        """The current child's report other than READY swaps a pending child in (GS-5)."""
        return self is not GracefulSwitchRule.HOLD_CONNECTING


class ResolverErrorBeforeConfig(enum.Enum):
    """SC-10, SC-14, PF-1: what a resolver error does to the channel while no service config
    has ever been in force, as seen by the next update whose config is invalid.

    * ``NO_CONFIG`` -- the error puts no config in force: the next invalid config is an
      invalid first config, so the channel reports TRANSIENT_FAILURE, rejects the update and
      the policy never gets its addresses (SC-10; the language-neutral text).
    * ``DEFAULT_CONFIG`` -- the channel applies its default config before it passes the
      error on, so the next invalid config keeps that one in force: the policy gets the
      addresses with the default config and the update is rejected (SC-11; grpc-go).
    """

    NO_CONFIG = "no_config"
    DEFAULT_CONFIG = "default_config"


# --- The registry ---


@attrs.frozen
class ImplementationValue:
    """One implementation's value of an option and where its source says so."""

    value: str | None  # None: the implementation has no such policy
    source: str
    note: str = ""


NOT_CHECKED = ImplementationValue("not checked", "", "nobody has read this source yet")
DIVERGES = "diverges"  # the value of an implementation that breaks the text (module docstring)


@attrs.frozen
class SpecOption:
    """One behaviour on which implementations may differ."""

    key: str
    values: tuple[str, ...]  # in OPTIONS.md's order; the first is the default unless ``default``
    description: str
    default_basis: str  # which rule chose the default (module docstring)
    implementations: Mapping[str, ImplementationValue]
    requirements: tuple[str, ...] = ()
    monitor_parameter: str | None = None
    monitors: tuple[str, ...] = ()  # policies whose monitor takes it; () -> the key's policy
    explicit_default: str = ""

    def __attrs_post_init__(self) -> None:
        scope, dot, name = self.key.partition(".")
        if not dot or not scope or not name:
            raise ModelError(f"SpecOption {self.key!r}", "key must be '<scope>.<name>'")
        if len(set(self.values)) != len(self.values) or not self.values:
            raise ModelError(f"SpecOption {self.key}", "values must be distinct and non-empty")
        if set(self.implementations) != set(IMPLEMENTATIONS):
            raise ModelError(
                f"SpecOption {self.key}", f"needs a value for each of {IMPLEMENTATIONS}"
            )
        for impl, iv in self.implementations.items():
            if iv.value not in (*self.values, None, NOT_CHECKED.value, DIVERGES):
                raise ModelError(f"SpecOption {self.key}", f"{impl} has unknown value {iv.value!r}")
            if iv.value in (*self.values, DIVERGES) and not iv.source:
                raise ModelError(f"SpecOption {self.key}", f"{impl}'s value cites no source")
        if self.explicit_default and self.explicit_default not in self.values:
            raise ModelError(f"SpecOption {self.key}", "the default must be one of the values")

    @property
    def scope(self) -> str:
        return self.key.partition(".")[0]

    @property
    def default(self) -> str:
        return self.explicit_default or self.values[0]

    @property
    def monitor_policies(self) -> tuple[str, ...]:
        if self.monitor_parameter is None:
            return ()
        return self.monitors or (self.scope,)


def _iv(value: str | None, source: str, note: str = "") -> ImplementationValue:
    return ImplementationValue(value, source, note)


def _values(enum_type: type[enum.Enum]) -> tuple[str, ...]:
    return tuple(str(m.value) for m in enum_type)


_GO_PF = GO + "balancer/pickfirst/pickfirst.go"
_JAVA_PF = JAVA + "core/src/main/java/io/grpc/internal/"
_JS_PF = JS + "load-balancer-pick-first.ts"
_CORE_PF = CORE + "src/core/load_balancing/pick_first/pick_first.cc"
_JAVA_WRR = JAVA + "xds/src/main/java/io/grpc/xds/WeightedRoundRobinLoadBalancer.java"
_JS_WRR = JS + "load-balancer-weighted-round-robin.ts"
_CORE_WRR = CORE + "src/core/load_balancing/weighted_round_robin/weighted_round_robin.cc"
_GO_WRR = GO + "balancer/weightedroundrobin/"
_GO_GS = GO + "internal/balancer/gracefulswitch/gracefulswitch.go"
_JAVA_GS = JAVA + "util/src/main/java/io/grpc/util/GracefulSwitchLoadBalancer.java"

OPTIONS_LIST: tuple[SpecOption, ...] = (
    SpecOption(
        "subchannel.backoff_end",
        _values(BackoffEnd),
        "Where a subchannel in TRANSIENT_FAILURE goes when its backoff ends: IDLE (idle), "
        "CONNECTING (connecting), or CONNECTING if a connection was requested during the "
        "backoff and IDLE otherwise (connecting_if_requested).",
        "language-neutral text: client_channel_specification.md, Subchannel Connectivity "
        "States (TRANSIENT_FAILURE -> IDLE when the backoff delay expires: CONN-5); grpc-go "
        "and C-core agree.  A case's subchannel inputs say which values it holds for "
        "(spec/connectivity.py backoff_end_values): TRANSIENT_FAILURE -> IDLE idle and "
        "connecting_if_requested, TRANSIENT_FAILURE -> CONNECTING (the seed profile's "
        "CONN-10 edge) connecting and connecting_if_requested",
        {
            "grpc-go": _iv(
                "idle",
                GO + "clientconn.go:1381-1403 (TRANSIENT_FAILURE, then IDLE once the "
                "backoff timer fires)",
            ),
            "grpc-java": _iv(
                "connecting",
                JAVA + "core/src/main/java/io/grpc/internal/InternalSubchannel.java:299-306 "
                "(EndOfCurrentBackoff: gotoNonErrorState(CONNECTING), startNewTransport)",
            ),
            "C-core": _iv(
                "idle",
                CORE + "src/core/client_channel/subchannel.cc (Subchannel::OnRetryTimerLocked: "
                "'backoff delay elapsed, reporting IDLE')",
            ),
            "grpc-js": _iv(
                "connecting_if_requested",
                JS + "subchannel.ts:226-235 (handleBackoffTimer: CONNECTING if "
                "continueConnecting, else IDLE), 464-480 (startConnecting in TRANSIENT_FAILURE "
                "sets continueConnecting)",
                "its pick_first asks every subchannel that reports TRANSIENT_FAILURE to "
                "connect (load-balancer-pick-first.ts:373), so under pick_first the backoff "
                "always ends in CONNECTING",
            ),
        },
        ("CONN-5", "CONN-10"),
    ),
    SpecOption(
        "subchannel.pool",
        ("none", "shared"),
        "What creating a subchannel for an address gives a policy: a new subchannel every "
        "time (none), or, while one for that address and those options lives, a new "
        "reference to it, its connection and its state (shared).  With a pool a policy may "
        "rebuild its children on every update and keep its connections: a removed "
        "endpoint's subchannel serves the new endpoint that lists its address.",
        "the language-neutral text allows both: client_channel_specification.md's Helper "
        "API ('CreateSubchannel(): Called by the LB policy to create a subchannel') and its "
        "Subchannel Pool section ('Some gRPC implementations support a subchannel pool'), "
        "as gRFC A61 describes both ('Address List Updates in C-core', 'in Java/Go').  The "
        "2-2 tie would give C-core's shared; the default is none because the monitors judge "
        "none only (the exception in the module docstring)",
        {
            "grpc-go": _iv(
                "none",
                GO + "balancer_wrapper.go:180-194 (NewSubConn: newAddrConnLocked, a new "
                "addrConn every call)",
            ),
            "grpc-java": _iv(
                "none",
                JAVA + "core/src/main/java/io/grpc/internal/ManagedChannelImpl.java:1367-1371 "
                "(createSubchannel: new SubchannelImpl)",
            ),
            "C-core": _iv(
                "shared",
                CORE + "src/core/client_channel/subchannel.cc (Subchannel::Create: "
                "FindSubchannel in the channel's subchannel pool, RegisterSubchannel if none)",
                "the pool is shared between channels unless GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL",
            ),
            "grpc-js": _iv(
                "shared",
                JS + "internal-channel.ts:328-343 (createSubchannel: "
                "subchannelPool.getOrCreateSubchannel), subchannel-pool.ts:116-145",
                "grpc.use_local_subchannel_pool makes the pool the channel's own; a "
                "channel always has one",
            ),
        },
        ("RR-1", "RR-3"),
    ),
    SpecOption(
        "pick_first.reresolution",
        _values(ReresolutionMode),
        "Who asks the resolver to re-resolve when pick_first's connections fail or its "
        "connection is lost: the policy (spec_text) or the subchannel (grpc_go).",
        "language-neutral text: client_channel_specification.md, pick_first",
        {
            "grpc-go": _iv(
                "grpc_go", _GO_PF + ":716-719", "the subchannel re-resolves (TODO #7534)"
            ),
            "grpc-java": _iv(
                "spec_text",
                _JAVA_PF
                + "PickFirstLeafLoadBalancer.java:303-305, 392-396 (refreshNameResolution)",
            ),
            "C-core": _iv("spec_text", _CORE_PF + " (RequestReresolution)"),
            "grpc-js": _iv(
                "grpc_js",
                _JS_PF + ":313-317 (maybeEnterStickyTransientFailureMode asks when every "
                "subchannel failed), 351-354 (the lost pick: IDLE, no request)",
                "the channel re-resolves when it next leaves IDLE "
                "(resolving-load-balancer.ts:375-383, exitIdle calls updateResolution)",
            ),
        },
        ("PF-28",),
        monitor_parameter="reresolution",
    ),
    SpecOption(
        "pick_first.lost_subchannel",
        _values(LostSubchannel),
        "When pick_first's READY subchannel loses its connection: shut it down with the "
        "others, so that IDLE holds no subchannel (released), or keep it for the next pass "
        "(kept).",
        "language-neutral text: client_channel_specification.md, connectivity state table "
        "(IDLE after a closed connection: 'the LB policy does exist, but there are no "
        "subchannels') and pick_first ('when ExitIdle() is called, pick_first will create a "
        "new list of subchannels'); C-core and grpc-js release, grpc-go and grpc-java keep",
        {
            "grpc-go": _iv(
                "kept", _GO_PF + ":656-667 (shutdownRemainingLocked(sd) spares the lost one)"
            ),
            "grpc-java": _iv(
                "kept",
                _JAVA_PF + "PickFirstLeafLoadBalancer.java:330-334 (IDLE: reset the index, "
                "report IDLE; the subchannels stay)",
                "the legacy PickFirstLoadBalancer keeps its one subchannel too",
            ),
            "C-core": _iv(
                "released",
                _CORE_PF + " (PickFirst::GoIdle: UnsetSelectedSubchannel, then "
                "subchannel_list_.reset())",
            ),
            "grpc-js": _iv(
                "released",
                _JS_PF + ":330-342, 351-354 (removeCurrentPick unrefs the lost pick, its "
                "last reference: the others went when it was picked, 435)",
            ),
        },
        ("PF-20",),
        monitor_parameter="lost_subchannel",
    ),
    SpecOption(
        "pick_first.happy_eyeballs",
        _values(HappyEyeballs),
        "Whether pick_first starts the next address 250 ms after the current one began "
        "connecting (gRFC A61 Happy Eyeballs), or only when it fails.",
        "language-neutral text: gRFC A61, 'Happy Eyeballs in the pick_first LB Policy'",
        {
            "grpc-go": _iv(
                "enabled", _GO_PF + ":65, 569 (250 ms; pickfirst/internal.TimeAfterFunc)"
            ),
            "grpc-java": _iv(
                "disabled",
                _JAVA_PF + "PickFirstLoadBalancerProvider.java:36-44 and "
                "PickFirstLeafLoadBalancer.java:64",
                "GRPC_PF_USE_HAPPY_EYEBALLS defaults to false",
            ),
            "C-core": _iv("enabled", _CORE_PF + " (connection_attempt_delay, gRFC A61)"),
            "grpc-js": _iv("enabled", _JS_PF + ":60,417 (CONNECTION_DELAY_INTERVAL_MS)"),
        },
        ("PF-12", "PF-13"),
        monitor_parameter="happy_eyeballs",
    ),
    SpecOption(
        "pick_first.resolver_error_with_addresses",
        _values(ResolverErrorWithAddresses),
        "A resolver error while pick_first has a good address list: keep the subchannels "
        "and report the error only in TRANSIENT_FAILURE (keep_subchannels), shut every "
        "subchannel down and report TRANSIENT_FAILURE (drop_subchannels), or do nothing "
        "while a subchannel or a pick is held, TRANSIENT_FAILURE included, and with neither "
        "(IDLE after a released connection) report TRANSIENT_FAILURE with the error but keep "
        "the list, which ExitIdle still connects (ignore).",
        "the text is silent (client_channel_specification.md leaves a resolver error in the "
        "address list to the policy); the most common value: grpc-go and C-core keep their "
        "subchannels (grpc-java drops them, grpc-js ignores the error)",
        {
            "grpc-go": _iv("keep_subchannels", _GO_PF + ":189-200 (resolverErrorLocked)"),
            "grpc-java": _iv(
                "drop_subchannels",
                _JAVA_PF
                + "PickFirstLeafLoadBalancer.java:275-287; PickFirstLoadBalancer.java:98-105",
            ),
            "C-core": _iv(
                "keep_subchannels",
                _CORE_PF + " (PickFirst::UpdateLocked: 'If the update contains a resolver error "
                "and we have a previous update that was not a resolver error, keep using the "
                "previous addresses')",
                "the error is returned as the update's status; the connection is kept",
            ),
            "grpc-js": _iv(
                "ignore",
                _JS_PF + ":519-528 (updateAddressList, !ok: reports only when "
                "children.length === 0 && currentPick === null)",
                "in IDLE after a lost connection it holds neither (the pick is released), so "
                "it reports the error, through channelControlHelper.updateState, not its own "
                "updateState: currentState stays IDLE and latestAddressList is kept, so a "
                "later exitIdle still connects (554-560)",
            ),
        },
        ("PF-22",),
        monitor_parameter="resolver_error_with_addresses",
    ),
    SpecOption(
        "pick_first.ready_on_update",
        _values(ReadyOnUpdate),
        "A resolver update that still lists the address of pick_first's READY "
        "subchannel: report nothing (unchanged), or report READY again with a picker on "
        "the same subchannel (ready_again).",
        "language-neutral text: client_channel_specification.md, pick_first ('It will stay "
        "in READY state until either the connection fails or it receives a resolver update "
        "that does not include the address of the subchannel it is connected to'): no "
        "change, nothing to report; grpc-go and grpc-java agree, C-core and grpc-js report "
        "READY again (a tie the text decides)",
        {
            "grpc-go": _iv(
                "unchanged", _GO_PF + ":311-313 (UpdateClientConnState returns before any change)"
            ),
            "grpc-java": _iv(
                "unchanged",
                _JAVA_PF + "PickFirstLeafLoadBalancer.java:143-156 (acceptResolvedAddresses: "
                "seekTo the READY address, updateAddresses, return OK without a report)",
                "the legacy PickFirstLoadBalancer only calls updateAddresses on its "
                "subchannel (PickFirstLoadBalancer.java:91)",
            ),
            "C-core": _iv(
                "ready_again",
                _CORE_PF + " at v1.85.0 (the update's new SubchannelList finds the "
                "subchannel READY and selects it: UpdateState READY, line 751)",
            ),
            "grpc-js": _iv(
                "ready_again",
                _JS_PF + ":480-484 (connectToAddressList finds the pooled READY subchannel "
                "and calls pickSubchannel), 441 (which reports READY)",
            ),
        },
        ("PF-8", "PF-24"),
        monitor_parameter="ready_on_update",
    ),
    SpecOption(
        "pick_first.selected_address_removed",
        _values(SelectedAddressRemoved),
        "A resolver update without the address of pick_first's READY subchannel: report "
        "IDLE and wait for ExitIdle (goes_idle), or report CONNECTING and start a pass at "
        "once (reconnects).",
        "language-neutral text: client_channel_specification.md, pick_first ('If ... a "
        "resolver update removes the address of the selected subchannel, the policy will "
        "report IDLE')",
        {
            "grpc-go": _iv("reconnects", _GO_PF + ":315-331 (UpdateClientConnState)"),
            "grpc-java": _iv(
                "goes_idle",
                _JAVA_PF + "PickFirstLeafLoadBalancer.java:143-168 (acceptResolvedAddresses)",
            ),
            "C-core": _iv(
                "goes_idle",
                _CORE_PF + " (SubchannelData::OnConnectivityStateChange: 'new update has no "
                "subchannels in state READY; dropping existing connection and going IDLE')",
                "GoIdle also requests re-resolution",
            ),
            "grpc-js": _iv(
                DIVERGES,
                _JS_PF + ":474-507 (connectToAddressList starts a pass on the new list but "
                "keeps currentPick), 264-281 (calculateAndReportNewState reports READY while "
                "currentPick is set)",
                "it stays READY and picks go to the removed address until a new one connects "
                "(make-before-break); the text says the policy stays READY only 'until ... it "
                "receives a resolver update that does not include the address of the selected "
                "subchannel', which both values leave at once; expected failure "
                "pf-update-drops-ready-address-goes-idle (docs/findings.md, grpc-js)",
            ),
        },
        ("PF-10",),
        monitor_parameter="selected_address_removed",
    ),
    SpecOption(
        "pick_first.family_interleaving",
        _values(FamilyInterleaving),
        "Which address families pick_first interleaves: IPv6 and the rest "
        "(two_families), or IPv4, IPv6 and anything else (three_families).",
        "language-neutral text: gRFC A61 interleaves as RFC 8305 section 4 (IPv6 and IPv4)",
        {
            "grpc-go": _iv("three_families", _GO_PF + ":413-462 (interleaveAddresses)"),
            "grpc-java": _iv(
                "two_families",
                _JAVA_PF + "PickFirstLeafLoadBalancer.java:795-820",
                "an address that is not IPv4 is grouped with IPv6",
            ),
            "C-core": _iv(
                "three_families",
                _CORE_PF + " (GetAddressFamily, AddressFamilyIterator)",
                "one family per URI scheme: ipv4, ipv6, and each other scheme",
            ),
            "grpc-js": _iv(
                "two_families",
                _JS_PF + ":139-165 (interleaveAddressFamilies)",
                "an address that is not IPv6 is grouped with IPv4",
            ),
        },
        ("PF-7",),
        monitor_parameter="family_interleaving",
    ),
    SpecOption(
        "pick_first.ipv4_mapped_family",
        _values(MappedFamily),
        "Which family an IPv4-mapped IPv6 address (::ffff:a.b.c.d) belongs to when "
        "pick_first interleaves families: IPv4, whose address it carries (ipv4), or IPv6, "
        "as it is written (ipv6).",
        "language-neutral text: gRFC A61 ('Address List Handling in pick_first', step 3) "
        "interleaves as RFC 8305 section 4, which first sorts by RFC 6724 destination "
        "address selection, where an IPv4 address is represented as its IPv4-mapped "
        "address (RFC 6724 section 3.2): a mapped address is IPv4 there.  The "
        "implementations tie (grpc-go and grpc-java ipv4, C-core and grpc-js ipv6), so the "
        "text decides; PF-7 states ipv4",
        {
            "grpc-go": _iv(
                "ipv4", _GO_PF + ":456-458 (addressFamily: ip.Is4() || ip.Is4In6() is IPv4)"
            ),
            "grpc-java": _iv(
                "ipv4",
                _JAVA_PF + "PickFirstLeafLoadBalancer.java:799-800 (instanceof Inet4Address)",
                "java.net.InetAddress turns an IPv4-mapped IPv6 literal into an Inet4Address; "
                "observed: the leaf passes pf-ipv4-mapped-ipv6-counts-as-ipv4",
            ),
            "C-core": _iv(
                "ipv6",
                _CORE_PF + " at 5cfd4ae (GetAddressFamily: the URI scheme "
                "grpc_sockaddr_get_uri_scheme gives, which src/core/lib/address_utils/"
                "sockaddr_utils.cc takes from sa_family: 'ipv6' for every AF_INET6 address)",
                "grpc_sockaddr_to_uri unmaps an IPv4-mapped address (grpc_sockaddr_is_v4mapped) "
                "before asking for the scheme; GetAddressFamily does not",
            ),
            "grpc-js": _iv(
                "ipv6",
                _JS_PF + ":148-151 (interleaveAddressFamilies: isIPv6(address.host), node:net's "
                "test of the literal)",
            ),
        },
        ("PF-7",),
        monitor_parameter="ipv4_mapped_family",
    ),
    SpecOption(
        "pick_first.attribute_change",
        ("new_subchannel", "same_subchannel"),
        "An update that lists an address again with other attributes (the same socket "
        "address and server name): a new address, whose subchannel is created while the "
        "old one is shut down (new_subchannel), or the same address, its subchannel kept "
        "(same_subchannel).",
        "the language-neutral text leaves it open: client_channel_specification.md ('The "
        "exact semantics for these attributes vary across gRPC implementations and are not "
        "currently defined by this specification') and gRFC A61 ('it is up to the "
        "implementation whether a given LB policy takes resolver attributes into account "
        "when comparing endpoints from the old list and the new list'); majority: "
        "new_subchannel (grpc-go, C-core) against same_subchannel (grpc-java)",
        {
            "grpc-go": _iv(
                "new_subchannel",
                _GO_PF + ":84 (subConns is a resolver.AddressMapV2), resolver/map.go:39-41 "
                "('taking into account Attributes')",
            ),
            "grpc-java": _iv(
                "same_subchannel",
                _JAVA_PF + "PickFirstLeafLoadBalancer.java:69 (subchannels keyed by "
                "SocketAddress), 196-210 (removed addresses compared as SocketAddresses)",
                "the legacy PickFirstLoadBalancer keeps its one subchannel and updates its "
                "addresses in place (PickFirstLoadBalancer.java:91)",
            ),
            "C-core": _iv(
                "new_subchannel",
                CORE + "src/core/client_channel/subchannel_pool_interface.cc "
                "(SubchannelKey::Compare: the address, then the channel args, which carry "
                "the address's attributes)",
            ),
            "grpc-js": _iv(
                None,
                JS + "subchannel-address.ts:20-35",
                "an address has no attributes (SubchannelAddress is {host, port})",
            ),
        },
        ("PF-6", "PF-9", "RR-2"),
    ),
    SpecOption(
        "pick_first.variant",
        ("leaf", "legacy_single_subchannel"),
        "Which pick_first runs: the leaf policy of gRFC A61 (one subchannel per address) "
        "or grpc-java's legacy PickFirstLoadBalancer (one subchannel for all addresses, "
        "updated in place).",
        "language-neutral text: gRFC A61, 'pick_first as the universal leaf policy'",
        {
            "grpc-go": _iv("leaf", _GO_PF),
            "grpc-java": _iv(
                "legacy_single_subchannel",
                _JAVA_PF + "PickFirstLoadBalancerProvider.java:40",
                "GRPC_EXPERIMENTAL_ENABLE_NEW_PICK_FIRST defaults to false",
            ),
            "C-core": _iv("leaf", _CORE_PF),
            "grpc-js": _iv("leaf", _JS_PF),
        },
        ("PF-11",),
    ),
    SpecOption(
        "pick_first.subchannel_creation",
        _values(SubchannelCreation),
        "When pick_first creates its subchannels: every listed address's as a pass starts "
        "(eager), or each one only when the pass reaches its address (lazy).",
        "language-neutral text: client_channel_specification.md, pick_first ('pick_first "
        "will create a new list of subchannels using the last address list it saw from the "
        "resolver and start connecting to them'; 'The LB policy creates a subchannel for "
        "each address', Main Components)",
        {
            "grpc-go": _iv(
                "lazy", _GO_PF + ":508-520 (requestConnectionLocked: newSCData when reached)"
            ),
            "grpc-java": _iv(
                "eager",
                _JAVA_PF + "PickFirstLoadBalancer.java:73-76 (acceptResolvedAddresses: one "
                "subchannel for the whole list)",
                "the legacy policy, the default (pick_first.variant); the leaf "
                "PickFirstLeafLoadBalancer is lazy: requestConnection creates the subchannel "
                "of the address it reached (PickFirstLeafLoadBalancer.java:520-524)",
            ),
            "C-core": _iv(
                "eager",
                _CORE_PF + " (PickFirst::SubchannelList::SubchannelList: 'Create a subchannel "
                "for each address')",
            ),
            "grpc-js": _iv(
                "eager", _JS_PF + ":474-479 (connectToAddressList creates every subchannel)"
            ),
        },
        ("PF-11",),
        monitor_parameter="subchannel_creation",
    ),
    SpecOption(
        "round_robin.start_index",
        ("random_per_picker", "shared_counter"),
        "Where a new READY picker starts: at a random index (random_per_picker), or "
        "where the previous picker left off (shared_counter).",
        "language-neutral text: client_channel_specification.md, round_robin ('whenever a "
        "new picker is returned, it will start from a random index')",
        {
            "grpc-go": _iv(
                "random_per_picker", GO + "balancer/endpointsharding/endpointsharding.go:300"
            ),
            "grpc-java": _iv(
                "shared_counter",
                JAVA + "util/src/main/java/io/grpc/util/RoundRobinLoadBalancer.java:46,97,154",
            ),
            "C-core": _iv(
                "random_per_picker",
                CORE + "src/core/load_balancing/round_robin/round_robin.cc (Picker::Picker)",
            ),
            "grpc-js": _iv(
                "shared_counter",
                JS + "load-balancer-round-robin.ts:146-154",
                "the new picker starts at the endpoint the old one would have picked next",
            ),
        },
        ("RR-7",),
    ),
    SpecOption(
        "round_robin.idle_child",
        _values(IdleChild),
        "How round_robin's aggregate state counts a child reporting IDLE: as "
        "CONNECTING, as IDLE below CONNECTING, or as IDLE below TRANSIENT_FAILURE.",
        "language-neutral text: client_channel_specification.md, round_robin",
        {
            "grpc-go": _iv("as_idle", GO + "balancer/endpointsharding/endpointsharding.go:275-290"),
            "grpc-java": _iv(
                "as_connecting",
                JAVA + "util/src/main/java/io/grpc/util/RoundRobinLoadBalancer.java:62-73",
            ),
            "C-core": _iv(
                "as_connecting",
                CORE + "src/core/load_balancing/round_robin/round_robin.cc "
                "(UpdateStateCountersLocked)",
            ),
            "grpc-js": _iv("after_failure", JS + "load-balancer-round-robin.ts:142-182"),
        },
        ("RR-5", "AGG-7"),
        monitor_parameter="idle_child",
    ),
    SpecOption(
        "round_robin.resolver_error",
        _values(ResolverErrorHandling),
        "A resolver error while round_robin has children: ignore it (ignore), pass it to "
        "every child and report once (pass_to_children), or report TRANSIENT_FAILURE with "
        "the error unless READY (report_failure).",
        "the text is silent (client_channel_specification.md, Resolver Results: 'the LB "
        "policy is responsible for determining how to handle that error'); the most common "
        "value: C-core and grpc-js ignore it (grpc-go passes it on, grpc-java reports it)",
        {
            "grpc-go": _iv(
                "pass_to_children",
                GO + "balancer/endpointsharding/endpointsharding.go:202-208 (ResolverError: "
                "every child's ResolverError with updates held back, then one report)",
            ),
            "grpc-java": _iv(
                "report_failure",
                JAVA + "util/src/main/java/io/grpc/util/MultiChildLoadBalancer.java:141-145 "
                "(handleNameResolutionError: TRANSIENT_FAILURE with an error picker unless "
                "currentConnectivityState is READY; the children are not told)",
                "the report does not change currentConnectivityState, so an unchanged "
                "aggregate is not reported again afterwards (RoundRobinLoadBalancer.java:83-89)",
            ),
            "C-core": _iv(
                "ignore",
                CORE + "src/core/load_balancing/round_robin/round_robin.cc (RoundRobin::"
                "UpdateLocked: 'If we already have a child list, then keep using the existing "
                "list, but still report back that the update was not accepted')",
                "an empty update also leaves a (empty) child list, so a later error is "
                "ignored there too",
            ),
            "grpc-js": _iv(
                "ignore",
                JS + "load-balancer-round-robin.ts:225-234 (updateAddressList, !ok: reports "
                "only when children.length === 0)",
            ),
        },
        ("RR-13", "RR-10"),
        monitor_parameter="resolver_error",
    ),
    SpecOption(
        "round_robin.failure_error",
        _values(FailureError),
        "Which error round_robin's picks fail with while it is TRANSIENT_FAILURE: that of the "
        "most recent failure a child reported (most_recent), or each failing child's own, "
        "the picker taking turns over the failing children's pickers (rotating_children).",
        "language-neutral text: client_channel_specification.md, round_robin ('the picker "
        "will fail all picks with an RPC status that includes the error from the most recent "
        "subchannel connection failure'); C-core and grpc-js agree, grpc-go and grpc-java "
        "rotate",
        {
            "grpc-go": _iv(
                "rotating_children",
                GO + "balancer/endpointsharding/endpointsharding.go:287-289 (TRANSIENT_FAILURE: "
                "the failing children's pickers, taken in turn by pickerWithChildStates)",
            ),
            "grpc-java": _iv(
                "rotating_children",
                JAVA + "util/src/main/java/io/grpc/util/RoundRobinLoadBalancer.java:75 "
                "(TRANSIENT_FAILURE with createReadyPicker(getChildLbStates()): every child's "
                "picker in turn, 90-97)",
            ),
            "C-core": _iv(
                "most_recent",
                CORE + "src/core/load_balancing/round_robin/round_robin.cc "
                "(RoundRobinEndpointList::MaybeUpdateRoundRobinConnectivityStateLocked: "
                "last_failure_ = 'connections to all backends failing; last error: ' and the "
                "status of the child report that got there, in a TransientFailurePicker)",
                "a TRANSIENT_FAILURE report without a new status keeps the last one",
            ),
            "grpc-js": _iv(
                "most_recent",
                JS + "load-balancer-round-robin.ts:124-126 (lastError = the child's "
                "errorMessage), 170-176 (UnavailablePicker 'No connection established. Last "
                "error: ...')",
                "lastError follows every child report with an error, also while round_robin is "
                "not TRANSIENT_FAILURE",
            ),
        },
        ("RR-9",),
        monitor_parameter="failure_error",
    ),
    SpecOption(
        "round_robin.repeated_endpoint",
        _values(RepeatedEndpoint),
        "An endpoint listed more than once in one update (the same unordered set of "
        "addresses): a child for every copy, each given its copy's address order "
        "(every_copy); one child, given the copy met first in the rotated list, the repeats "
        "skipped (first_wins); or one child, given the copy listed last (last_wins).",
        "the text is silent (client_channel_specification.md, round_robin: 'For each "
        "endpoint, the round_robin policy creates a pick_first child policy', without saying "
        "whether a repeat is another endpoint; gRFC A61 compares endpoints as unordered "
        "address sets only across updates, 'Address List Updates in Java/Go'); the most "
        "common value: C-core and grpc-js build a child for every copy (grpc-go keeps the "
        "first, grpc-java the last)",
        {
            "grpc-go": _iv(
                "first_wins",
                GO + "balancer/endpointsharding/endpointsharding.go:145-148 (the rotated list, "
                "then 'Skip duplicate endpoints': a key already in newEndpoints, "
                "resolver/map.go EndpointMap, keyed by the address set)",
            ),
            "grpc-java": _iv(
                "last_wins",
                JAVA + "util/src/main/java/io/grpc/util/MultiChildLoadBalancer.java:87-99 "
                "(createChildAddressesMap: a LinkedHashMap keyed by Endpoint, equal for equal "
                "address sets, 367-407; a repeat's put, line 97, replaces the ResolvedAddresses "
                "of the earlier one, so the child gets the last repeat's order)",
                "checked against the grpc-util 1.85.1 jar the adapter runs: its LineNumberTable "
                "puts the map's put at line 97 too; the list is not rotated before the map is "
                "built (only the children's update order is offset, 179), so the last repeat "
                "always wins",
            ),
            "C-core": _iv(
                "every_copy",
                CORE + "src/core/load_balancing/endpoint_list.cc at 001b372 (EndpointList::"
                "Init: one Endpoint per listed entry, nothing compared) and "
                "src/core/load_balancing/round_robin/round_robin.cc at 0a1b619 "
                "(RoundRobinEndpointList; MaybeUpdateRoundRobinConnectivityStateLocked puts "
                "every READY endpoint's picker in the Picker, copies included)",
                "the channel's subchannel pool gives the copies one underlying subchannel "
                "(gRFC A61, 'Address List Updates in C-core')",
            ),
            "grpc-js": _iv(
                "every_copy",
                JS + "load-balancer-round-robin.ts:248-256 (updateAddressList: one "
                "LeafLoadBalancer per entry of the rotated list, 235-236, repeats included)",
                "the copies share the pooled subchannel (subchannel-pool.ts:116, "
                "getOrCreateSubchannel), which gets one turn per copy",
            ),
        },
        ("RR-1", "RR-2", "RR-7"),
        monitor_parameter="repeated_endpoint",
    ),
    SpecOption(
        "round_robin.exit_idle",
        _values(ExitIdleHandling),
        "When its parent calls round_robin's ExitIdle: do nothing (noop), or call every "
        "child's ExitIdle and report once (forward).",
        "language-neutral text: client_channel_specification.md, LB Policy API ('ExitIdle(): "
        "... For most policies, this is a no-op'; round_robin reconnects an IDLE child "
        "itself, RR-6); grpc-java, C-core and grpc-js do nothing",
        {
            "grpc-go": _iv(
                "forward",
                GO + "balancer/endpointsharding/endpointsharding.go:221-227 (ExitIdle: every "
                "child's exitIdle with updates held back, then one report)",
            ),
            "grpc-java": _iv(
                "noop",
                JAVA + "api/src/main/java/io/grpc/LoadBalancer.java:444 (requestConnection "
                "does nothing; MultiChildLoadBalancer and RoundRobinLoadBalancer do not "
                "override it)",
            ),
            "C-core": _iv(
                "noop",
                CORE + "src/core/load_balancing/round_robin/round_robin.cc (RoundRobin does "
                "not override ExitIdleLocked; a child reporting IDLE is told at once, "
                "RoundRobinEndpoint::OnStateUpdate)",
            ),
            "grpc-js": _iv("noop", JS + "load-balancer-round-robin.ts:265-269 (exitIdle)"),
        },
        ("RR-10", "RR-6"),
        monitor_parameter="exit_idle",
    ),
    SpecOption(
        "least_request_experimental.count_lifetime",
        _values(CountLifetime),
        "When an endpoint's outstanding-RPC count is dropped after it left READY.",
        "language-neutral text: gRFC A48",
        {
            "grpc-go": _iv("grpc_go", GO + "balancer/leastrequest/leastrequest.go:182-201"),
            "grpc-java": _iv(
                "child_lifetime",
                JAVA + "xds/src/main/java/io/grpc/xds/LeastRequestLoadBalancer.java:329-330",
            ),
            "C-core": _iv(None, CORE + "src/core/load_balancing/", "no least_request policy"),
            "grpc-js": _iv(None, JS, "no least_request policy"),
        },
        ("LR-9", "LR-11"),
        monitor_parameter="count_lifetime",
    ),
    SpecOption(
        "weighted_round_robin.weight_caps",
        _values(WeightCaps),
        "How the scheduler clamps weights around the mean of the known weights.",
        "the language-neutral text (gRFC A58) names no bounds; majority: no clamping "
        "(grpc-go, grpc-js) against 0.1..10 (grpc-java) and 0.01..10 (C-core)",
        {
            "grpc-go": _iv("grpc_go", _GO_WRR + "scheduler.go:34-80 (no clamping)"),
            "grpc-java": _iv("grpc_java", _JAVA_WRR + ":660-661"),
            "C-core": _iv(
                "grpc_cpp",
                CORE + "src/core/load_balancing/weighted_round_robin/static_stride_scheduler.cc",
            ),
            "grpc-js": _iv(
                "grpc_go",
                _JS_WRR + ":183-203 (WeightedRoundRobinPicker: period 1/weight, no bounds)",
                "no clamping (the value named grpc_go)",
            ),
        },
        ("WRR-15", "WRR-16"),
        monitor_parameter="weight_caps",
        explicit_default="grpc_go",
    ),
    SpecOption(
        "weighted_round_robin.weight_on_reconnect",
        _values(WeightOnReconnect),
        "When an endpoint's subchannel becomes READY again: restart only the blackout "
        "(reset non_empty_since) or also forget the last report (reset last_updated).",
        "language-neutral text: gRFC A58 resets non_empty_since",
        {
            "grpc-go": _iv("reset_all", _GO_WRR + "balancer.go:374-380"),
            "grpc-java": _iv("reset_non_empty_since", _JAVA_WRR + ":488-493"),
            "C-core": _iv("reset_non_empty_since", _CORE_WRR + " (ResetNonEmptySince)"),
            "grpc-js": _iv("reset_non_empty_since", _JS_WRR + ":414-416"),
        },
        ("WRR-10",),
        monitor_parameter="weight_on_reconnect",
    ),
    SpecOption(
        "weighted_round_robin.start_index",
        ("random_per_picker", "shared_counter"),
        "Where the scheduler sequence of a new weighted_round_robin picker starts: at a "
        "random position drawn for each picker (random_per_picker), or where the previous "
        "picker's left off, one counter drawn at random once per policy (shared_counter).",
        "language-neutral text: gRFC A58, Earliest Deadline First (EDF) Scheduler (each new "
        "scheduler sets every subchannel's first deadline 'to a random value in the range [0, "
        "period]'; the picker 'otherwise works the same externally as in round_robin', whose "
        "new pickers start 'from a random index', client_channel_specification.md); the "
        "implementations tie (grpc-go and grpc-js per picker, grpc-java and C-core shared)",
        {
            "grpc-go": _iv(
                "random_per_picker",
                _GO_WRR + "balancer.go:301 (p.idx.Store(rand.Uint32()) for each new picker; "
                "the timer's scheduler rebuilds keep the picker's counter, 481-482)",
            ),
            "grpc-java": _iv(
                "shared_counter",
                _JAVA_WRR + ":163 (sequence = new AtomicInteger(random.nextInt()), once per "
                "policy), 244-245 and 576 (every picker's StaticStrideScheduler takes that "
                "same counter)",
            ),
            "C-core": _iv(
                "shared_counter",
                _CORE_WRR + " (WeightedRoundRobin::scheduler_state_, drawn with absl::Uniform "
                "once per policy; Picker::BuildSchedulerAndStartTimerLocked passes "
                "wrr_->scheduler_state_.fetch_add(1) to every picker's StaticStrideScheduler)",
                "a picker without a scheduler (all weights 0, or one endpoint) falls back to "
                "round robin from last_picked_index_, drawn at random for each picker "
                "(Picker::Picker): random_per_picker there",
            ),
            "grpc-js": _iv(
                "random_per_picker",
                _JS_WRR + ":195-202 (the WeightedRoundRobinPicker constructor gives every "
                "endpoint a first deadline Math.random() * period, for each new picker)",
            ),
        },
        ("WRR-20",),
    ),
    SpecOption(
        "service_config.unknown_policy_name",
        ("case_sensitive_skip", "lower_cased_invalid", "ignored"),
        "A deprecated loadBalancingPolicy naming no registered policy: fall back to "
        "pick_first, names case-sensitive (case_sensitive_skip); lower-case the name and "
        "reject the config (lower_cased_invalid); or never read the field (ignored).",
        "the language-neutral text (grpc/grpc doc/service_config.md) does not say what an "
        "unknown name does; majority (grpc-java, C-core): lower_cased_invalid.  SC-6 states "
        "grpc-go's value and holds under case_sensitive_skip only",
        {
            "grpc-go": _iv("case_sensitive_skip", GO + "service_config.go:185-196"),
            "grpc-java": _iv(
                "lower_cased_invalid",
                JAVA + "core/src/main/java/io/grpc/internal/ServiceConfigUtil.java:293-300",
            ),
            "C-core": _iv(
                "lower_cased_invalid",
                CORE + "src/core/client_channel/client_channel_service_config.cc "
                "(ClientChannelGlobalParsedConfig::JsonPostLoad)",
            ),
            "grpc-js": _iv(
                "ignored",
                JS + "service-config.ts:384-388",
                "parsed and validated as a string, then never read",
            ),
        },
        ("SC-6",),
        explicit_default="lower_cased_invalid",
    ),
    SpecOption(
        "round_robin.children_on_update",
        ("kept", "rebuilt"),
        "What an update does to the child of an endpoint it still lists: keeps it, with its "
        "state, and sends it the endpoint's addresses (kept); or replaces every child with a "
        "new one, which gets the old one's subchannels back from the channel's subchannel "
        "pool in their current state but none of its history (rebuilt), so a kept endpoint "
        "in sticky TRANSIENT_FAILURE may report CONNECTING after the update.",
        "the language-neutral text is silent (client_channel_specification.md, round_robin; "
        "its Subchannel Pool section describes the rebuild a pool allows) and gRFC A61 "
        "describes both ('Address List Updates in C-core', 'in Java/Go').  The 2-2 tie would "
        "give C-core's rebuilt; the default is kept because the round_robin monitor models "
        "kept only, RR-2 and RR-5 (the exception in the module docstring)",
        {
            "grpc-go": _iv(
                "kept",
                GO + "balancer/endpointsharding/endpointsharding.go:150-162 (es.endpoints.Get: "
                "an existing endpoint's child is reused), 179-184 (only removed ones closed)",
            ),
            "grpc-java": _iv(
                "kept",
                JAVA + "util/src/main/java/io/grpc/util/MultiChildLoadBalancer.java:157-199 "
                "(updateChildrenWithResolvedAddresses: oldStatesMap.remove reuses the child, "
                "only the remaining ones are shut down)",
            ),
            "C-core": _iv(
                "rebuilt",
                CORE + "src/core/load_balancing/round_robin/round_robin.cc at 0a1b619 "
                "(RoundRobin::UpdateLocked: 'Create new child list, replacing the previous "
                "pending list'; MaybeUpdateRoundRobinConnectivityStateLocked swaps it in at once "
                "when the current list has no READY child)",
                "the subchannel pool keeps the connections (subchannel.pool=shared)",
            ),
            "grpc-js": _iv(
                "rebuilt",
                JS + "load-balancer-round-robin.ts:237 (resetSubchannelList), 248-256 (a new "
                "LeafLoadBalancer per endpoint)",
                "the subchannel pool keeps the connections (subchannel.pool=shared)",
            ),
        },
        ("RR-2", "RR-5"),
    ),
    SpecOption(
        "round_robin.update_report",
        ("every_update", "on_change"),
        "Whether round_robin reports its state and a new picker after every resolver "
        "update and ExitIdle (every_update), or only when the state or the picker's "
        "children changed (on_change).",
        "the text is silent (client_channel_specification.md does not say whether an "
        "unchanged aggregate is re-reported); majority: grpc-go, C-core and grpc-js report "
        "after every update, grpc-java only a change",
        {
            "grpc-go": _iv(
                "every_update",
                GO + "balancer/endpointsharding/endpointsharding.go:192-193 "
                "(UpdateClientConnState ends with updateStateLocked)",
            ),
            "grpc-java": _iv(
                "on_change",
                JAVA + "util/src/main/java/io/grpc/util/RoundRobinLoadBalancer.java:83-89 "
                "(updateBalancingState: only a new state or an unequal picker)",
            ),
            "C-core": _iv(
                "every_update",
                CORE + "src/core/load_balancing/round_robin/round_robin.cc at 0a1b619 "
                "(RoundRobin::UpdateLocked builds a new RoundRobinEndpointList for every "
                "update; RoundRobinEndpoint::OnStateUpdate calls "
                "MaybeUpdateRoundRobinConnectivityStateLocked on every child report, which "
                "swaps the new list in and calls UpdateState with a new Picker, QueuePicker "
                "or TransientFailurePicker without comparing with the last report)",
                "the report after an update comes from the new children's initial reports, "
                "not from UpdateLocked, which reports only an empty list; ExitIdleLocked is "
                "not overridden, so ExitIdle reports nothing (as grpc-js)",
            ),
            "grpc-js": _iv(
                "every_update",
                JS + "load-balancer-round-robin.ts:260 (updateAddressList ends with "
                "calculateAndUpdateState, which reports without comparing)",
                "exitIdle does nothing (264-268)",
            ),
        },
        ("RR-10",),
    ),
    SpecOption(
        "pick_first.connecting_report",
        ("on_connect", "on_subchannel_connecting"),
        "When pick_first leaving IDLE reports CONNECTING: as it asks a subchannel to "
        "connect (on_connect), or when that subchannel reports CONNECTING "
        "(on_subchannel_connecting).",
        "language-neutral text: client_channel_specification.md, pick_first ('it will "
        "start the connecting process described above.  When this happens, it will report "
        "CONNECTING state'; on ExitIdle it 'start[s] connecting to them ... It will therefore "
        "report CONNECTING'): the report goes with the start; the implementations tie "
        "(grpc-go and grpc-js on_connect, grpc-java and C-core on_subchannel_connecting)",
        {
            "grpc-go": _iv("on_connect", _GO_PF + ":355-368 (ExitIdle, before the first pass)"),
            "grpc-java": _iv(
                "on_subchannel_connecting",
                _JAVA_PF + "PickFirstLeafLoadBalancer.java:529-530 (requestConnection "
                "connects without a report), :338 (CONNECTING with the subchannel's)",
                "grpc-java's subchannel reports CONNECTING in the same synchronization-"
                "context drain (InternalSubchannel.java:224), so production sees no gap",
            ),
            "C-core": _iv(
                "on_subchannel_connecting",
                _CORE_PF + " at 5cfd4ae (PickFirst::ExitIdleLocked and "
                "AttemptToConnectUsingLatestUpdateArgsLocked build the subchannel list "
                "without UpdateState, the IsIdle comment: 'we don't actually change state_ "
                "until the first subchannel reports CONNECTING'; SubchannelData::"
                "OnConnectivityStateChange, case CONNECTING, reports it)",
                "it reports CONNECTING again for every subchannel that reports it outside "
                "TRANSIENT_FAILURE ('TODO(roth): Squelch duplicate CONNECTING updates')",
            ),
            "grpc-js": _iv(
                "on_connect",
                _JS_PF + ":506-507 (connectToAddressList: startNextSubchannelConnecting, "
                "then calculateAndReportNewState reports CONNECTING; the subchannel's "
                "startConnecting runs on the next tick, 410-412)",
            ),
        },
        ("PF-20", "PF-21"),
    ),
    SpecOption(
        "pick_first.sticky_failure_report",
        ("every_n_failures", "every_failure"),
        "In sticky TRANSIENT_FAILURE after the first pass, when pick_first reports "
        "TRANSIENT_FAILURE again with the newest error: once it has counted as many "
        "connection failures as it has subchannels (every_n_failures), or after every "
        "failure (every_failure).  Re-resolution is PF-28's, every N failures, either way.",
        "the text is silent on the cadence (client_channel_specification.md, pick_first: "
        "re-resolution 'every time it counts a number of connection attempt failures equal "
        "to the number of subchannels'; picks fail with 'the error from the most recent "
        "subchannel connection failure'); majority: grpc-go and C-core report every N "
        "failures (grpc-js means to), grpc-java after each",
        {
            "grpc-go": _iv(
                "every_n_failures",
                _GO_PF + ":707-715 (updateSubConnState: numTF counts failures modulo the "
                "SubConn count; TRANSIENT_FAILURE is reported when it wraps to 0)",
            ),
            "grpc-java": _iv(
                "every_failure",
                _JAVA_PF + "PickFirstLeafLoadBalancer.java:381-384 (processSubchannelState: "
                "once the pass is complete every TRANSIENT_FAILURE is reported), 392-396 "
                "(refreshNameResolution only every addressIndex.size() failures)",
                "the legacy PickFirstLoadBalancer passes every subchannel state on "
                "(PickFirstLoadBalancer.java:152)",
            ),
            "C-core": _iv(
                "every_n_failures",
                _CORE_PF + " (SubchannelData::OnConnectivityStateChange: 'when that is equal "
                "to the number of subchannels, request re-resolution and report "
                "TRANSIENT_FAILURE again')",
            ),
            "grpc-js": _iv(
                "every_n_failures",
                _JS_PF + ":313-328 (maybeEnterStickyTransientFailureMode reports once every "
                "child has failed since resetChildrenReportedTF)",
                "so it is written; resetChildrenReportedTF (260-262) clears only the first "
                "child (Array.every stops at the assignment's false), so grpc-js re-reports "
                "on every failure of the first address: a defect (docs/findings.md, grpc-js "
                "12), not this option's other value",
            ),
        },
        ("PF-16",),
    ),
    SpecOption(
        "least_request_experimental.missing_config",
        ("reject", "keep_current"),
        "A resolver update with no least_request config: reject it (reject) or accept it "
        "and keep the current choiceCount (keep_current).",
        "gRFC A48 is silent; of the two implementations with the policy, grpc-go rejects "
        "and grpc-java keeps: LR-5's reading (grpc-go's)",
        {
            "grpc-go": _iv("reject", GO + "balancer/leastrequest/leastrequest.go:132-136"),
            "grpc-java": _iv(
                "keep_current",
                JAVA + "xds/src/main/java/io/grpc/xds/LeastRequestLoadBalancer.java:76-86",
            ),
            "C-core": _iv(None, CORE + "src/core/load_balancing/", "no least_request policy"),
            "grpc-js": _iv(None, JS, "no least_request policy"),
        },
        ("LR-5",),
    ),
    SpecOption(
        "service_config.graceful_switch",
        _values(GracefulSwitchRule),
        "When a pending child policy is swapped in: at once if the channel is not READY, "
        "else when it reports READY or TRANSIENT_FAILURE or the old one leaves READY "
        "(spec_text); when it reports anything but CONNECTING, or anything at all while the "
        "current child is not READY, or the current child leaves READY (grpc_go); at once if "
        "the current child is not READY, else when it reports anything but CONNECTING or the "
        "current child leaves READY (grpc_java); only when it reports anything but "
        "CONNECTING (hold_connecting).",
        "language-neutral text: client_channel_specification.md, Gracefully Switching LB "
        "Policies ('If the channel is currently in a state other than READY, the new policy "
        "will be swapped into place immediately.  Otherwise ... until either the new policy "
        "reports READY or TRANSIENT_FAILURE or the old policy reports a state other than "
        "READY'); no implementation follows it exactly: a pending IDLE swaps in all four",
        {
            "grpc-go": _iv(
                "grpc_go",
                _GO_GS + ":367-368 (balancerWrapper.UpdateState, pending: swap unless "
                "CONNECTING while the current's lastState is READY), 349-352 (current: a "
                "report other than READY swaps), 122 (a pending child starts as CONNECTING)",
                "switchTo (111-135) never swaps by itself: with the current child not READY "
                "the pending child's first report swaps it in",
            ),
            "grpc-java": _iv(
                "grpc_java",
                _JAVA_GS + ":156-158 (switchToInternal: swap at once unless currentLbIsReady), "
                "138-140 (pending: any state but CONNECTING swaps), 142-144 (current: leaving "
                "READY swaps)",
                "currentLbIsReady is set only by the current child's reports (142), so after a "
                "swap on the pending child's TRANSIENT_FAILURE or IDLE it still says READY "
                "until the new current child reports; and switching back to the current "
                "policy's factory drops the pending child without a new one (111-122)",
            ),
            "C-core": _iv(
                "hold_connecting",
                CORE + "src/core/load_balancing/child_policy_handler.cc "
                "(ChildPolicyHandler::Helper::UpdateState: the pending child is ignored 'until "
                "it reports something other than CONNECTING, at which point we swap it into "
                "place'; the current child's reports are passed on as they are)",
                "ExitIdleLocked calls the pending child's ExitIdle too (GS-4 gives it the "
                "latest child only)",
            ),
            "grpc-js": _iv(
                "hold_connecting",
                JS + "load-balancer-child-handler.ts:51-63 (ChildPolicyHelper.updateState: a "
                "pending CONNECTING returns, any other pending report destroys the current "
                "child and is passed on; the current child's reports are passed on)",
                "exitIdle (140-147) calls the pending child's exitIdle too",
            ),
        },
        ("GS-5", "GS-6"),
        monitor_parameter="swap_rule",
    ),
    SpecOption(
        "service_config.resolver_error_before_config",
        _values(ResolverErrorBeforeConfig),
        "A resolver error while no service config has ever been in force puts none in force "
        "(no_config: the next update with an invalid config is an invalid first config, so the "
        "channel reports TRANSIENT_FAILURE and rejects it, SC-10) or puts the channel's default "
        "config in force (default_config: the next invalid config keeps the default one, the "
        "policy gets the addresses and the update is rejected, SC-11).",
        "language-neutral text: client_channel_specification.md, Starting Name Resolution (a "
        "failed resolution is a result whose service config is an error) and the pseudo-code of "
        "Channel Handling of Resolver Result (a service config error with no "
        "channel.service_config -> TRANSIENT_FAILURE, 'no valid service config'; only a result "
        "sets channel.service_config); gRFC A21, Behavior on receiving a new gRPC Config, 5.ii "
        "(no config selected before: the resolution counts as failed).  Majority too: "
        "grpc-java, C-core and grpc-js",
        {
            "grpc-go": _iv(
                "default_config",
                GO + "clientconn.go:816-826 (updateResolverStateAndUnlock: an error calls "
                "maybeApplyDefaultServiceConfig, 794-804, before resolverError), 1138 "
                "(applyServiceConfigAndBalancer sets cc.sc), 848-864 (an invalid config fails "
                "the channel only while cc.sc == nil, else the policy is updated with cc.sc)",
            ),
            "grpc-java": _iv(
                "no_config",
                JAVA + "core/src/main/java/io/grpc/internal/ManagedChannelImpl.java:1697-1709 "
                "(onResult2: an invalid config while !serviceConfigUpdated goes to the policy "
                "as a resolution error, onError, and is returned as the update's status), 1730 "
                "(serviceConfigUpdated is set only when a result reaches the policy), 1777-1791 "
                "(handleErrorInSyncContext leaves it unset)",
                "with a default service config set on the channel builder the invalid config "
                "falls back to it (1692-1696); the cases set none",
            ),
            "C-core": _iv(
                "no_config",
                CORE + "src/core/client_channel/client_channel.cc "
                "(ClientChannel::OnResolverResultChangedLocked: a service config error with no "
                "saved_service_config_ calls OnResolverErrorLocked, TRANSIENT_FAILURE and 'no "
                "valid service config'; saved_service_config_ is set only by "
                "UpdateServiceConfigInControlPlaneLocked), the same in client_channel_filter.cc; "
                "the DNS resolvers report a failure as an error for both addresses and service "
                "config (src/core/resolver/dns/c_ares/dns_resolver_ares.cc and "
                "event_engine/event_engine_client_channel_resolver.cc: 'result.service_config = "
                "status')",
                "a resolver that reports only an address error, leaving service_config at "
                "Resolver::Result's default (nullptr, src/core/resolver/resolver.h), gets the "
                "default config saved ('resolver returned no service config'): default_config "
                "for such a resolver",
            ),
            "grpc-js": _iv(
                "no_config",
                JS + "resolving-load-balancer.ts:294-300 (handleResolverResult: an invalid "
                "service config with previousServiceConfig null is a resolution failure, "
                "rejected), 185 and 409 (previousServiceConfig is only ever set to null), "
                "364-373 (handleResolutionFailure reports TRANSIENT_FAILURE only while the "
                "child policy is IDLE)",
                "grpc-js never keeps any previous config, so after a valid one too an invalid "
                "service config is rejected (SC-11); and an invalid pick_first config does not "
                "make the service config invalid at all (the js-bad-config defect, "
                "load-balancer.ts:231-259), so the pick_first cases cannot show this option",
            ),
        },
        ("SC-10", "SC-11", "SC-14", "PF-1"),
        monitor_parameter="resolver_error_before_config",
        monitors=("pick_first", "service_config"),
    ),
)

OPTIONS: dict[str, SpecOption] = {o.key: o for o in OPTIONS_LIST}


def option(key: str) -> SpecOption:
    """Look up an option; a typed error names an unknown key."""
    try:
        return OPTIONS[key]
    except KeyError:
        known = ", ".join(sorted(OPTIONS))
        raise ModelError("spec option", f"no option {key!r} (known: {known})") from None


def check_value(key: str, value: str) -> SpecOption:
    """The option, once ``value`` is one of its values; a typed error otherwise."""
    opt = option(key)
    if value not in opt.values:
        raise ModelError(f"spec option {key}", f"{value!r} is not one of {', '.join(opt.values)}")
    return opt
