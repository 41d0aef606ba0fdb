"""Judges traces of pick_first, top-level or leaf, against the PF requirements.

The rules
---------
Written from the requirement text (``spec/catalogue/pick_first.py``), not from any
implementation.  pick_first is always in one of these phases (:class:`Phase`):

* ``NO_LIST`` -- no address list yet: nothing held, nothing reported.
* ``NO_ADDRESSES`` -- TRANSIENT_FAILURE without a list: the last update was empty
  (PF-2) or the resolver failed before any list (PF-22).  Not sticky (PF-3).
* ``CONNECTING`` -- the first pass over the list runs; CONNECTING was reported.
* ``READY`` -- the subchannel the pass reached is READY and every other one is gone
  (PF-19); a leaf watching health reports what health says (PF-27).
* ``IDLE`` -- IDLE was reported; nothing connects until ExitIdle or the first pick.
* ``STICKY_PASS`` -- TRANSIENT_FAILURE was reported and an update restarted a pass:
  the failure stays reported while the pass runs (PF-10, PF-16, PF-17).
* ``STICKY`` -- the first pass ended with every address failed: TRANSIENT_FAILURE
  until some subchannel is READY (PF-15, PF-16).
* ``CLOSED`` -- after Close (PF-23).

In prose, the rules the table states (the phase names in capitals):

* An update without addresses shuts every subchannel down, reports TRANSIENT_FAILURE
  and is rejected (PF-2): NO_ADDRESSES, which the next update leaves (PF-3).
* In READY an update still listing the READY address changes nothing (PF-8), but
  under pick_first.ready_on_update=ready_again READY is reported again.  Any
  other update takes its list (PF-4..PF-7), shuts down the unlisted subchannels
  (PF-9), then: from READY reports IDLE (pick_first.selected_address_removed=goes_idle)
  or starts over (reconnects); from NO_LIST, NO_ADDRESSES and CONNECTING reports
  CONNECTING (a repeat may be left out, PF-18) and starts a pass; while sticky starts
  a pass without a report; in IDLE does nothing more (PF-10).
* A pass connects one address at a time (PF-11), the next one also when the timer
  fires (PF-12) or at once when the current one fails (PF-13); when every address
  failed it reports TRANSIENT_FAILURE and connects whatever is IDLE (PF-14, PF-15):
  STICKY.  While sticky, CONNECTING changes nothing, IDLE is connected, and every
  N-th failure is re-reported (PF-16); a restarted pass may report CONNECTING for a
  subchannel that has not failed (PF-17).
* A subchannel turning READY wins: the others go, READY is reported (PF-19), or
  CONNECTING and then what health says for a leaf watching health (PF-27).
* Losing the READY connection (or a drop from CONNECTING to IDLE) reports IDLE,
  shuts down the others and, under pick_first.lost_subchannel=released, that one too
  (PF-20); ExitIdle, or the first pick, starts a pass from IDLE (PF-20, PF-21).
* A resolver error is reported before any list and after an empty one (PF-22).  With
  a list in use, pick_first.resolver_error_with_addresses says: keep_subchannels
  ignores it unless TRANSIENT_FAILURE is reported, then reports it; drop_subchannels
  shuts everything down and reports it (NO_ADDRESSES); ignore does nothing while a
  subchannel or a pick is held, and in IDLE after a released loss reports it as if the
  list were gone.  Close shuts everything down (PF-23).
  Stray notifications (PF-25) and RPC completions (PF-29) change nothing.
* Re-resolution is asked for with every TRANSIENT_FAILURE a pass or sticky counting
  reports, and on a lost connection, as pick_first.reresolution says (PF-28).

For each phase and kind of input (:class:`Input`) one row of :data:`RULES` says what
the policy must do (its outputs, each tagged with the requirement that demands it),
which phases may follow, and which requirement an output nobody asked for breaks.
Rows are tried in order; a row with conditions applies only when they hold, and a
condition is either a spec option's value (``pick_first.lost_subchannel=released``:
:mod:`spec.options`) or a named fact (:class:`Fact`).  What the walker in
:class:`PickFirstMonitor` expects of the policy comes from this table alone; what a
table cannot say is a small named rule function the table cites (:class:`Do`):

* the address list (PF-4..PF-7): :func:`address_list`, :func:`candidate_lists`;
* the pass (PF-11..PF-15): :meth:`_World.start_pass`, :meth:`_World.walk`,
  :meth:`_World.timer_fires`, :meth:`_World.pass_moves_on`,
  :meth:`_World.end_pass_if_done`;
* sticky counting (PF-16): :meth:`_World.count_sticky_failure`.

``docs/pick_first_rules.md`` shows the table beside the requirement text
(``make diagrams``, :func:`spec.docs.render_pick_first`).

The channel's side is judged too: an invalid config never reaches the policy while
no config is in force (the channel reports TRANSIENT_FAILURE and rejects the update,
SC-10), later it leaves the config in force (PF-1, SC-11); whether a resolver error
before any config puts the default one in force is the spec option
``service_config.resolver_error_before_config`` (SC-14); with
``client_health_checking=False`` the channel delivers health READY right after the
listener is registered (the PF-27 row for that condition).

How it judges
-------------
The monitor runs the table beside the trace.  For each step it works out what the
policy must do in answer to the input (an *expectation*: the subchannels it must
create, connect and shut down, the states it must report, the re-resolution
requests, the pick outcome), each item tagged with the requirement that demands it.
It then compares the expectation with the step's outputs and reports every
difference under a requirement ID:

* something expected but missing: the ID the item was tagged with;
* something present but not expected: the row's ``blame`` (a repeated report is
  PF-24, an extra shutdown PF-9, a wrong health flag PF-26, a subchannel for the
  wrong address PF-4/5/6/7 depending on how it is wrong).

The model holds the address list, the position of the current pass, the
subchannels (keyed by address), the connection-attempt timer and the last report.
The report is taken from the trace itself, so one missed report is one violation,
not a cascade; the phase is worked out from these (:meth:`_World.phase`).

Legal nondeterminism
--------------------
* ``shuffleAddressList``: the random order is unknown, so the monitor keeps one
  model ("world") per address list any order of the endpoints could give (weighted
  shuffling can give every order, PF-5) and drops the worlds the trace
  contradicts.  A step is a violation only when no world explains it.
* Subchannel creation (PF-11, spec option ``pick_first.subchannel_creation``):
  under ``eager`` a step that may start a pass is judged in two worlds, one
  creating the whole list up front and one creating lazily; under ``lazy`` only
  the lazy one exists.
* Optional reports: PF-17 (CONNECTING while a restarted pass is sticky) and PF-18
  (CONNECTING repeated on a resolver update) are accepted but not required.

Happy Eyeballs timing is deterministic: ``TimeAdvanced`` moves a virtual clock,
and the timer set at ``t`` fires at ``t + attempt_delay``.

Limits: with shuffling the monitor enumerates endpoint orders, so it refuses
(:class:`MonitorLimitError`) updates of more than :data:`MAX_SHUFFLED_ENDPOINTS`
endpoints rather than judge them partly.
"""

from __future__ import annotations

import enum
import ipaddress
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from itertools import permutations
from typing import Any, NamedTuple

import attrs

from spec import actions as act
from spec import events as ev
from spec.catalogue.pick_first import CONNECTION_ATTEMPT_DELAY
from spec.connectivity import State
from spec.errors import SpecError
from spec.options import (
    FamilyInterleaving,
    HappyEyeballs,
    LostSubchannel,
    MappedFamily,
    ReadyOnUpdate,
    ReresolutionMode,
    ResolverErrorBeforeConfig,
    ResolverErrorWithAddresses,
    SelectedAddressRemoved,
    SubchannelCreation,
)
from spec.trace import Step, Violation
from spec.types import Address, AddressFamily, Duration, Endpoint, Status, StatusCode

MAX_SHUFFLED_ENDPOINTS = 8  # 8! = 40320 orders; more would make judging slow

TF = State.TRANSIENT_FAILURE


# PF-2 asks for an error saying the resolver produced no addresses; the wording is not
# normative, so each implementation's is accepted: grpc-go's pick_first ("produced zero
# addresses"), grpc-java's ("NameResolver returned no usable address",
# PickFirstLeafLoadBalancer.java:105, PickFirstLoadBalancer.java:56 at v1.85.1).
EMPTY_UPDATE_WORDINGS = ("produced zero addresses", "no usable address")


class MonitorLimitError(SpecError):
    """The trace is legal input but beyond what this monitor can judge exactly."""


class RuleTableError(SpecError):
    """The rule table has no row for a phase and input (a defect of the table)."""

    def __init__(self, phase: Phase, kind: Input) -> None:
        self.phase, self.kind = phase, kind
        super().__init__(f"pick_first rule table: no row for {kind.name} in {phase.name}")


# --- The address list, from the catalogue text (PF-4..PF-7) ---


def _family(
    address: Address, families: FamilyInterleaving, mapped: MappedFamily = MappedFamily.IPV4
) -> AddressFamily:
    """PF-7's family of an address; under two_families all but IPv6 are one family.  An
    IPv4-mapped IPv6 address is IPv4 unless pick_first.ipv4_mapped_family says ipv6."""
    family = address.family
    if mapped is MappedFamily.IPV6 and _is_ipv4_mapped(address):
        family = AddressFamily.IPV6
    if families is FamilyInterleaving.TWO_FAMILIES and family is not AddressFamily.IPV6:
        return AddressFamily.IPV4
    return family


def _is_ipv4_mapped(address: Address) -> bool:
    try:
        ip = ipaddress.ip_address(address.host)
    except ValueError:
        return False
    return isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None


def _family_order_interleave(
    addresses: Sequence[Address],
    families_option: FamilyInterleaving,
    mapped: MappedFamily = MappedFamily.IPV4,
) -> tuple[Address, ...]:
    """PF-7: take one address per family in turn, families in order of first appearance."""
    families: list[AddressFamily] = []
    members: dict[AddressFamily, list[Address]] = {}
    for address in addresses:
        family = _family(address, families_option, mapped)
        if family not in members:
            families.append(family)
            members[family] = []
        members[family].append(address)
    iterators = [iter(members[f]) for f in families]
    out: list[Address] = []
    while iterators:
        still_going = []
        for it in iterators:
            nxt = next(it, None)
            if nxt is not None:
                out.append(nxt)
                still_going.append(it)
        iterators = still_going
    return tuple(out)


def address_list(
    endpoint_order: Iterable[Endpoint],
    families: FamilyInterleaving = FamilyInterleaving.TWO_FAMILIES,
    mapped: MappedFamily = MappedFamily.IPV4,
) -> tuple[Address, ...]:
    """The list pick_first walks for endpoints in this order (PF-4, PF-6, PF-7)."""
    flat: list[Address] = []
    for endpoint in endpoint_order:  # PF-4: endpoint order, then address order
        for address in endpoint.addresses:
            if address not in flat:  # PF-6: first occurrence wins
                flat.append(address)
    return _family_order_interleave(flat, families, mapped)


def candidate_lists(
    endpoints: Sequence[Endpoint],
    shuffle: bool,
    families: FamilyInterleaving = FamilyInterleaving.TWO_FAMILIES,
    mapped: MappedFamily = MappedFamily.IPV4,
) -> list[tuple[Address, ...]]:
    """Every list the policy may walk: one, or one per endpoint order when shuffling (PF-5)."""
    if not shuffle or len(endpoints) < 2:
        return [address_list(endpoints, families, mapped)]
    if len(endpoints) > MAX_SHUFFLED_ENDPOINTS:
        raise MonitorLimitError(
            f"a shuffled update of {len(endpoints)} endpoints: this monitor judges at most "
            f"{MAX_SHUFFLED_ENDPOINTS}"
        )
    orders = permutations(endpoints)
    return list(dict.fromkeys(address_list(order, families, mapped) for order in orders))


def parse_config(config: Any) -> bool | None:
    """PF-1: the shuffle flag of a valid config, or None when the config is invalid."""
    if config is None:
        return False
    if not isinstance(config, dict):
        return None
    flag = config.get("shuffleAddressList")
    if flag is None:
        return False
    return flag if isinstance(flag, bool) else None


# --- The rule table ---


class Phase(enum.Enum):
    """What pick_first is doing; see the module docstring."""

    __hash__ = object.__hash__  # members are singletons: hash by identity, cheaply

    NO_LIST = "no address list yet"
    NO_ADDRESSES = "TRANSIENT_FAILURE without an address list (not sticky, PF-3)"
    CONNECTING = "the first pass runs; CONNECTING reported"
    READY = "the subchannel the pass reached is READY; the others are gone"
    IDLE = "IDLE reported (or a resolver error since, under ignore: PF-22); nothing connects"
    STICKY_PASS = "a pass restarted by an update runs; TRANSIENT_FAILURE stays reported"
    STICKY = "the first pass failed; TRANSIENT_FAILURE until a subchannel is READY"
    CLOSED = "closed"


class Input(enum.Enum):
    """The kinds of input the table distinguishes (:func:`_classify` sorts an input)."""

    __hash__ = object.__hash__  # members are singletons: hash by identity, cheaply

    UPDATE = "resolver update with addresses"
    UPDATE_KEEPING_SELECTED = "resolver update still listing the READY subchannel's address"
    EMPTY_UPDATE = "resolver update without addresses"
    RESOLVER_ERROR = "resolver error"
    EXIT_IDLE = "ExitIdle"
    PICK = "pick"
    SUB_READY = "a subchannel it holds reports READY"
    SUB_LOST = "its READY subchannel reports another state, or one drops CONNECTING -> IDLE"
    SUB_CONNECTING = "a subchannel it holds reports CONNECTING"
    SUB_FAILED = "a subchannel it holds reports TRANSIENT_FAILURE"
    SUB_IDLE = "a subchannel it holds reports IDLE (backoff over)"
    SUB_SHUTDOWN = "a subchannel it holds reports SHUTDOWN"
    # Health flows only for a READY subchannel with a listener (HEALTH-9; grpc-go
    # balancer/subconn.go:80-87), and a READY one is the chosen one (PF-19): PF-27's.
    HEALTH_READY = "health READY for a subchannel it holds (the chosen one, PF-27)"
    HEALTH_FAILED = "health TRANSIENT_FAILURE for a subchannel it holds (the chosen one)"
    HEALTH_CONNECTING = "health CONNECTING for a subchannel it holds (the chosen one)"
    STRAY = "state or health of a subchannel it no longer holds"
    TIME = "time passes"
    CLOSE = "Close"
    RPC_DONE = "an RPC completes, or a load report arrives"


class Fact(enum.Enum):
    """A condition of a row that is not a spec option."""

    HEALTH_FAILING = "TRANSIENT_FAILURE is reported (health said so, PF-27)"
    IDLE_PICKER = "the installed picker is the IDLE one (PF-20)"
    NOT_FAILED_SINCE_READY = "the subchannel has not failed since it was last READY"


@attrs.frozen
class When:
    """A row's or an output's condition: an option's value, or a :class:`Fact`."""

    key: str  # a spec option key, a monitor parameter, or "fact"
    value: str

    def __str__(self) -> str:
        if self.key == "fact":
            return Fact[self.value].value
        return f"{self.key}={self.value}"


def _fact(fact: Fact) -> When:
    return When("fact", fact.name)


# Conditions the rows use.  The keys are spec options (spec/options.py) or the
# monitor's parameters health_listener and client_health_checking; the selection-only
# options (no monitor parameter) name the one value this table encodes.
GOES_IDLE = When("pick_first.selected_address_removed", "goes_idle")
RECONNECTS = When("pick_first.selected_address_removed", "reconnects")
RELEASED = When("pick_first.lost_subchannel", "released")
KEPT = When("pick_first.lost_subchannel", "kept")
EAGER = When("pick_first.subchannel_creation", "eager")
ASKS_ON_LOSS = When("pick_first.reresolution", "spec_text")
KEEPS_SUBCHANNELS = When("pick_first.resolver_error_with_addresses", "keep_subchannels")
DROPS_SUBCHANNELS = When("pick_first.resolver_error_with_addresses", "drop_subchannels")
IGNORES_ERROR = When("pick_first.resolver_error_with_addresses", "ignore")
READY_AGAIN = When("pick_first.ready_on_update", "ready_again")
ON_CONNECT = When("pick_first.connecting_report", "on_connect")
NO_HEALTH = When("health_listener", "false")
HEALTH = When("health_listener", "true")
HEALTH_CHECKED = When("client_health_checking", "true")
HEALTH_UNCHECKED = When("client_health_checking", "false")
HEALTH_FAILING = _fact(Fact.HEALTH_FAILING)
IDLE_PICKER = _fact(Fact.IDLE_PICKER)
NOT_FAILED_SINCE_READY = _fact(Fact.NOT_FAILED_SINCE_READY)

# The values this table encodes for options no monitor parameter carries.
FIXED_OPTIONS = {
    "pick_first.connecting_report": "on_connect",
    "pick_first.variant": "leaf",
}


class Do(enum.Enum):
    """One thing a row expects; the text is what the generated table shows."""

    __hash__ = object.__hash__  # members are singletons: hash by identity, cheaply

    TAKE_LIST = "take the update's list (PF-4..PF-7), back to its first address, cancel the timer"
    KEEP_SELECTED = "stay on the READY subchannel"
    REPORT_READY_AGAIN = "report READY again with a picker completing on the READY subchannel"
    CREATE_AND_DROP = "may create the list's other subchannels and shut them down at once"
    DROP_LIST = "forget the list, cancel the timer"
    SHUT_DOWN_UNLISTED = "shut down the subchannels of addresses no longer listed"
    SHUT_DOWN_ALL = "shut down every subchannel"
    SHUT_DOWN_OTHERS = "shut down every subchannel but this one"
    SELECT = "cancel the timer, shut down every other subchannel, select this one"
    RESET_PASS = "cancel the timer, back to the first address"
    REJECT = "reject the update"
    REPORT_NO_ADDRESSES = "report TRANSIENT_FAILURE saying there are no addresses"
    REPORT_RESOLVER_ERROR = "report TRANSIENT_FAILURE with the resolver's error"
    STAY_IDLE = "keep the list: ExitIdle still starts a pass on it"
    REPORT_HEALTH_ERROR = "report TRANSIENT_FAILURE with the health error"
    REPORT_IDLE = "report IDLE; the picker queues and its first pick leaves IDLE"
    REPORT_CONNECTING = "report CONNECTING with a queueing picker"
    ANNOUNCE_CONNECTING = "report CONNECTING (a repeat of CONNECTING is optional, PF-18)"
    MAY_REPORT_CONNECTING = "may report CONNECTING"
    REPORT_READY = "report READY with a picker completing on this subchannel"
    REQUEST_RERESOLUTION = "request re-resolution"
    CONNECT_IT = "connect this subchannel"
    PICK = "answer the pick with the installed picker"
    START_PASS = "start a pass (rule start_pass)"
    PASS_MOVES_ON = "move the pass on (rule pass_moves_on)"
    COUNT_FAILURE = "count the failure (rule count_sticky_failure)"
    TIMER = "fire the attempt timer when due (rule timer_fires)"


@attrs.frozen
class Effect:
    """One expected output (or bookkeeping step), the requirement demanding it, its condition."""

    do: Do
    requirement: str
    when: tuple[When, ...] = ()


def _e(do: Do, requirement: str, *when: When) -> Effect:
    return Effect(do, requirement, when)


PICKER_RULE = "the installed picker's rule"  # a Pick's blame: whoever installed the picker


@attrs.frozen
class Rule:
    """One row: in these phases, on this input, when these conditions hold."""

    phases: frozenset[Phase]
    input: Input
    effects: tuple[Effect, ...]
    next: frozenset[Phase]  # phases that may follow (besides the current one when ``stays``)
    blame: str  # the requirement an unexpected output breaks
    when: tuple[When, ...] = ()
    blame_reports: str | None = None  # for unexpected reports, when it differs
    stays: bool = False  # the current phase may follow too

    @property
    def requirements(self) -> tuple[str, ...]:
        """Every requirement the row rests on, in order of first mention."""
        ids = [self.blame, *(e.requirement for e in self.effects)]
        if self.blame_reports:
            ids.append(self.blame_reports)
        return tuple(i for i in dict.fromkeys(ids) if i.startswith("PF-"))


def _row(
    phases: Iterable[Phase],
    kind: Input,
    effects: Iterable[Effect],
    next_phases: Iterable[Phase],
    blame: str,
    *when: When,
    blame_reports: str | None = None,
    stays: bool = False,
) -> Rule:
    return Rule(
        frozenset(phases),
        kind,
        tuple(effects),
        frozenset(next_phases),
        blame,
        when,
        blame_reports,
        stays,
    )


P = Phase
OPEN = frozenset(Phase) - {Phase.CLOSED}
PASSING = (P.CONNECTING, P.STICKY_PASS)  # a pass runs
_AFTER_PASS = (P.CONNECTING, P.STICKY)  # a pass may end at once (every address in backoff)
_NEW_LIST = _e(Do.TAKE_LIST, "PF-4")
_UNLISTED = _e(Do.SHUT_DOWN_UNLISTED, "PF-9")

# The single source of truth: (phase, input, conditions) -> outputs, next phases, blame.
RULES: tuple[Rule, ...] = (
    # --- Resolver updates (PF-2, PF-3, PF-8..PF-10, PF-18) ---
    _row(
        OPEN,
        Input.EMPTY_UPDATE,
        [
            _e(Do.SHUT_DOWN_ALL, "PF-2"),
            _e(Do.DROP_LIST, "PF-2"),
            _e(Do.REPORT_NO_ADDRESSES, "PF-2"),
            _e(Do.REJECT, "PF-2"),
        ],
        [P.NO_ADDRESSES],
        "PF-2",
    ),
    _row(
        [P.READY],
        Input.UPDATE_KEEPING_SELECTED,
        [
            _NEW_LIST,
            _e(Do.KEEP_SELECTED, "PF-8"),
            _e(Do.CREATE_AND_DROP, "PF-11", EAGER),
            _e(Do.REPORT_READY_AGAIN, "PF-8", READY_AGAIN),
        ],
        [P.READY],
        "PF-8",
    ),
    _row(
        [P.READY],
        Input.UPDATE,
        [_NEW_LIST, _UNLISTED, _e(Do.REPORT_IDLE, "PF-10")],
        [P.IDLE],
        "PF-10",
        GOES_IDLE,
    ),
    _row(
        [P.READY],
        Input.UPDATE,
        [
            _NEW_LIST,
            _UNLISTED,
            _e(Do.ANNOUNCE_CONNECTING, "PF-10"),
            _e(Do.START_PASS, "PF-10"),
        ],
        _AFTER_PASS,
        "PF-10",
        RECONNECTS,
    ),
    _row(
        [P.NO_LIST, P.CONNECTING],
        Input.UPDATE,
        [
            _NEW_LIST,
            _UNLISTED,
            _e(Do.ANNOUNCE_CONNECTING, "PF-10"),
            _e(Do.START_PASS, "PF-10"),
        ],
        _AFTER_PASS,
        "PF-10",
    ),
    _row(
        [P.NO_ADDRESSES],
        Input.UPDATE,
        [
            _NEW_LIST,
            _UNLISTED,
            _e(Do.ANNOUNCE_CONNECTING, "PF-3"),
            _e(Do.START_PASS, "PF-3"),
        ],
        _AFTER_PASS,
        "PF-10",
    ),
    _row(
        [P.STICKY_PASS, P.STICKY],
        Input.UPDATE,
        [_NEW_LIST, _UNLISTED, _e(Do.START_PASS, "PF-10")],
        [P.STICKY_PASS, P.STICKY],
        "PF-10",
    ),
    _row([P.IDLE], Input.UPDATE, [_NEW_LIST, _UNLISTED], [P.IDLE], "PF-10"),
    # --- Resolver errors (PF-22) ---
    _row(
        [P.NO_LIST, P.NO_ADDRESSES],
        Input.RESOLVER_ERROR,
        [_e(Do.REPORT_RESOLVER_ERROR, "PF-22")],
        [P.NO_ADDRESSES],
        "PF-22",
    ),
    _row(
        [P.CONNECTING, P.READY, P.IDLE, P.STICKY_PASS, P.STICKY],
        Input.RESOLVER_ERROR,
        [
            _e(Do.SHUT_DOWN_ALL, "PF-22"),
            _e(Do.DROP_LIST, "PF-22"),
            _e(Do.REPORT_RESOLVER_ERROR, "PF-22"),
        ],
        [P.NO_ADDRESSES],
        "PF-22",
        DROPS_SUBCHANNELS,
    ),
    _row(
        [P.IDLE],
        Input.RESOLVER_ERROR,
        [_e(Do.REPORT_RESOLVER_ERROR, "PF-22"), _e(Do.STAY_IDLE, "PF-22")],
        [P.IDLE],
        "PF-22",
        IGNORES_ERROR,
        RELEASED,
    ),
    _row(
        [P.CONNECTING, P.READY, P.IDLE, P.STICKY_PASS, P.STICKY],
        Input.RESOLVER_ERROR,
        [],
        [],
        "PF-22",
        IGNORES_ERROR,
        stays=True,
    ),
    _row(
        [P.STICKY_PASS, P.STICKY],
        Input.RESOLVER_ERROR,
        [_e(Do.REPORT_RESOLVER_ERROR, "PF-22")],
        [],
        "PF-22",
        KEEPS_SUBCHANNELS,
        stays=True,
    ),
    _row(
        [P.READY],
        Input.RESOLVER_ERROR,
        [_e(Do.REPORT_RESOLVER_ERROR, "PF-22")],
        [P.READY],
        "PF-22",
        KEEPS_SUBCHANNELS,
        HEALTH_FAILING,
    ),
    _row(
        [P.CONNECTING, P.READY, P.IDLE],
        Input.RESOLVER_ERROR,
        [],
        [],
        "PF-22",
        KEEPS_SUBCHANNELS,
        stays=True,
    ),
    # --- Leaving IDLE (PF-20, PF-21) ---
    _row(
        [P.IDLE],
        Input.EXIT_IDLE,
        [_e(Do.REPORT_CONNECTING, "PF-21"), _e(Do.START_PASS, "PF-21")],
        _AFTER_PASS,
        "PF-21",
        ON_CONNECT,
    ),
    _row(OPEN - {P.IDLE}, Input.EXIT_IDLE, [], [], "PF-21", stays=True),
    _row(
        [P.IDLE],
        Input.PICK,
        [
            _e(Do.PICK, PICKER_RULE),
            _e(Do.REPORT_CONNECTING, "PF-20"),
            _e(Do.START_PASS, "PF-20"),
        ],
        _AFTER_PASS,
        PICKER_RULE,
        IDLE_PICKER,
        ON_CONNECT,
    ),
    _row(OPEN, Input.PICK, [_e(Do.PICK, PICKER_RULE)], [], PICKER_RULE, stays=True),
    # --- A subchannel connects, or loses its connection (PF-19, PF-20, PF-27, PF-28) ---
    _row(
        OPEN,
        Input.SUB_READY,
        [_e(Do.SELECT, "PF-19"), _e(Do.REPORT_READY, "PF-19")],
        [P.READY],
        "PF-19",
        NO_HEALTH,
    ),
    _row(
        OPEN,
        Input.SUB_READY,
        [_e(Do.SELECT, "PF-19"), _e(Do.REPORT_CONNECTING, "PF-27")],
        [P.READY],
        "PF-27",
        HEALTH,
        HEALTH_CHECKED,
    ),
    _row(
        OPEN,
        Input.SUB_READY,
        [
            _e(Do.SELECT, "PF-19"),
            _e(Do.REPORT_CONNECTING, "PF-27"),
            _e(Do.REPORT_READY, "PF-27"),  # the channel delivers health READY at once
        ],
        [P.READY],
        "PF-27",
        HEALTH,
        HEALTH_UNCHECKED,
    ),
    # CONNECTING -> IDLE is a lost connection too, re-resolution included (PF-28): grpc-go,
    # whose edge it is, reads it as 'a transport is successfully created, but the connection
    # fails before the SubConn can send the notification for READY' (pickfirst.go:648-656),
    # the text's READY -> IDLE with READY undelivered.
    _row(
        OPEN,
        Input.SUB_LOST,
        [
            _e(Do.RESET_PASS, "PF-20"),
            _e(Do.SHUT_DOWN_ALL, "PF-20"),
            _e(Do.REPORT_IDLE, "PF-20"),
            _e(Do.REQUEST_RERESOLUTION, "PF-28", ASKS_ON_LOSS),
        ],
        [P.IDLE],
        "PF-20",
        RELEASED,
    ),
    _row(
        OPEN,
        Input.SUB_LOST,
        [
            _e(Do.RESET_PASS, "PF-20"),
            _e(Do.SHUT_DOWN_OTHERS, "PF-20"),
            _e(Do.REPORT_IDLE, "PF-20"),
            _e(Do.REQUEST_RERESOLUTION, "PF-28", ASKS_ON_LOSS),
        ],
        [P.IDLE],
        "PF-20",
        KEPT,
    ),
    # --- The first pass (PF-11..PF-15, PF-17) ---
    # PF-11: a CONNECTING notification in the first pass changes nothing else (grpc-go
    # pickfirst.go:669-681; C-core SubchannelData::OnConnectivityStateChange); a repeated
    # CONNECTING report is PF-24's.
    _row(
        [P.CONNECTING],
        Input.SUB_CONNECTING,
        [_e(Do.REPORT_CONNECTING, "PF-11")],
        [P.CONNECTING],
        "PF-11",
    ),
    _row(
        [P.CONNECTING],
        Input.SUB_FAILED,
        [_e(Do.PASS_MOVES_ON, "PF-13")],
        [P.STICKY],
        "PF-13",
        blame_reports="PF-14",
        stays=True,
    ),
    _row([P.CONNECTING], Input.SUB_IDLE, [], [], "PF-14", stays=True),
    _row([P.CONNECTING], Input.SUB_SHUTDOWN, [], [], "PF-11", stays=True),
    _row(
        [P.STICKY_PASS],
        Input.SUB_CONNECTING,
        [_e(Do.MAY_REPORT_CONNECTING, "PF-17")],
        [P.CONNECTING],
        "PF-16",
        NOT_FAILED_SINCE_READY,
        stays=True,
    ),
    _row([P.STICKY_PASS], Input.SUB_CONNECTING, [], [], "PF-16", stays=True),
    _row(
        [P.STICKY_PASS],
        Input.SUB_FAILED,
        [_e(Do.PASS_MOVES_ON, "PF-13")],
        [P.STICKY],
        "PF-16",
        stays=True,
    ),
    _row([P.STICKY_PASS], Input.SUB_IDLE, [], [], "PF-16", stays=True),
    # --- Sticky TRANSIENT_FAILURE (PF-16, PF-28) ---
    _row([P.STICKY], Input.SUB_CONNECTING, [], [], "PF-16", stays=True),
    _row(
        [P.STICKY],
        Input.SUB_FAILED,
        [_e(Do.COUNT_FAILURE, "PF-16")],
        [],
        "PF-16",
        stays=True,
    ),
    _row([P.STICKY], Input.SUB_IDLE, [_e(Do.CONNECT_IT, "PF-16")], [], "PF-16", stays=True),
    _row([P.STICKY_PASS, P.STICKY], Input.SUB_SHUTDOWN, [], [], "PF-16", stays=True),
    # --- Health (PF-25, PF-27) ---
    _row(OPEN, Input.HEALTH_READY, [_e(Do.REPORT_READY, "PF-27")], [], "PF-27", stays=True),
    _row(
        OPEN,
        Input.HEALTH_FAILED,
        [_e(Do.REPORT_HEALTH_ERROR, "PF-27")],
        [],
        "PF-27",
        stays=True,
    ),
    _row(
        OPEN,
        Input.HEALTH_CONNECTING,
        [_e(Do.REPORT_CONNECTING, "PF-27")],
        [],
        "PF-27",
        stays=True,
    ),
    _row(OPEN, Input.STRAY, [], [], "PF-25", stays=True),
    # --- Time, Close, RPCs (PF-12, PF-23, PF-29) ---
    _row(OPEN, Input.TIME, [_e(Do.TIMER, "PF-12")], [P.STICKY], "PF-12", stays=True),
    _row(OPEN, Input.CLOSE, [_e(Do.SHUT_DOWN_ALL, "PF-23")], [P.CLOSED], "PF-23"),
    _row(OPEN, Input.RPC_DONE, [], [], "PF-29", stays=True),
)

# Requirements no row cites, and where they are judged instead.
ELSEWHERE: dict[str, str] = {
    "PF-1": "the channel's config handling (PickFirstMonitor._update_reaction)",
    "PF-5": "candidate_lists: one world per order of the endpoints",
    "PF-6": "address_list; a second subchannel for one address is PF-6 (_creation_rule)",
    "PF-7": "address_list; a subchannel for the wrong family is PF-7 (_creation_rule)",
    "PF-15": "end_pass_if_done, which start_pass, timer_fires and pass_moves_on reach",
    "PF-18": "ANNOUNCE_CONNECTING: CONNECTING repeated on an update is optional",
    "PF-24": "every report: never the state last reported, except TRANSIENT_FAILURE",
    "PF-26": "every created subchannel's health flag (_judge)",
}

# Where no subchannel of the policy should connect, fail or back off (the phases with
# no pass: PF-9, PF-19 and PF-20 leave none that could), one that does anyway -- only
# after a violation, when the monitor believes the trace's subchannels -- is judged by
# the rows of the pass the policy was last in (:meth:`_World.pass_phase`).
PASS_INPUTS = frozenset(
    {Input.SUB_CONNECTING, Input.SUB_FAILED, Input.SUB_IDLE, Input.SUB_SHUTDOWN}
)
PASS_PHASES = frozenset({P.CONNECTING, P.STICKY_PASS, P.STICKY})


def _classify_state(sub: _Sub, new: State) -> Input:
    """Which kind of input a state change of a subchannel the policy holds is."""
    if new is State.READY:
        return Input.SUB_READY
    if sub.raw is State.READY or (sub.raw is State.CONNECTING and new is State.IDLE):
        return Input.SUB_LOST  # PF-20
    return {
        State.CONNECTING: Input.SUB_CONNECTING,
        TF: Input.SUB_FAILED,
        State.IDLE: Input.SUB_IDLE,
    }.get(new, Input.SUB_SHUTDOWN)


_HEALTH_INPUTS = {
    State.READY: Input.HEALTH_READY,
    TF: Input.HEALTH_FAILED,
    State.CONNECTING: Input.HEALTH_CONNECTING,
}


# The rows of each (phase, input), in table order: an index, so that a step looks at a
# few rows rather than all of them.
_ROWS: dict[tuple[Phase, Input], tuple[Rule, ...]] = {
    (phase, kind): tuple(r for r in RULES if phase in r.phases and r.input is kind)
    for phase in Phase
    for kind in Input
}


def find_rule(phase: Phase, kind: Input, holds: Callable[[When], bool]) -> Rule:
    """The first row of :data:`RULES` for ``phase`` and ``kind`` whose conditions hold."""
    for rule in _ROWS[phase, kind]:
        if not rule.when or all(holds(w) for w in rule.when):
            return rule
    raise RuleTableError(phase, kind)


# --- What the policy must do in one step ---


@attrs.frozen
class _Picker:
    """What the installed picker does, and the requirement that says so."""

    kind: str  # "queue", "ready", "idle", "fail", "any" (unknown after a violation)
    requirement: str
    subchannel: int = 0  # for "ready"
    messages: frozenset[str] = frozenset()  # for "fail": the message contains one of these


_ANY_PICKER = _Picker("any", "PF-24")


@attrs.frozen
class _Report:
    state: State
    picker: _Picker
    requirement: str
    optional: bool = False
    by_channel: bool = False  # the channel's own report (a bad first config)


@attrs.define
class _Expected:
    default: str  # the rule for outputs nothing asked for
    report_default: str
    reported_before: State | None
    picker_before: _Picker | None
    live_before: dict[int, Address]  # the policy's subchannels when the step began
    new: list[tuple[Address, int, str]] = attrs.field(factory=list)
    connects: list[tuple[int, str]] = attrs.field(factory=list)
    # Connects the trace may leave out: a repeat while an earlier one is outstanding (CONN-11).
    optional_connects: list[int] = attrs.field(factory=list)
    shutdowns: list[tuple[int, str]] = attrs.field(factory=list)
    reports: list[_Report] = attrs.field(factory=list)
    reresolutions: int = 0
    rejections: list[str] = attrs.field(factory=list)
    pick: _Picker | None = None
    is_pick: bool = False


@attrs.frozen
class _Options:
    reresolution: ReresolutionMode
    health_listener: bool
    client_health_checking: bool
    attempt_delay: int | None  # nanoseconds; None without Happy Eyeballs
    selected_address_removed: SelectedAddressRemoved
    subchannel_creation: SubchannelCreation
    lost_subchannel: LostSubchannel
    values: dict[str, str] = attrs.field(eq=False, hash=False)  # When.key -> value


@attrs.define
class _Sub:
    ident: int
    address: Address
    raw: State = State.IDLE
    failed_this_pass: bool = False
    last_error: Status | None = None
    failed_since_ready: bool = False  # for PF-17
    # Asked to Connect while IDLE, and no state change since: the attempt is under way
    # (CONN-2), so a repeated Connect would meet it CONNECTING, a no-op (CONN-11).
    connect_pending: bool = False

    def key(self) -> tuple[Any, ...]:
        return (
            self.ident,
            self.address,
            self.raw,
            self.failed_this_pass,
            self.last_error,
            self.failed_since_ready,
            self.connect_pending,
        )


class _Context(NamedTuple):
    """What a row's effects act on: the input, and what it is about (made once a step)."""

    event: ev.Input
    sub: _Sub | None = None  # the subchannel of a state or health change
    listing: tuple[Address, ...] = ()  # an update's list
    shuffled: bool = False
    selected: _Sub | None = None  # the READY subchannel when an update arrived


class _World:
    """One model of the policy: what it holds if its address list is ``addresses``."""

    def __init__(self, options: _Options) -> None:
        self.options = options
        self.addresses: tuple[Address, ...] = ()
        self.shuffled = False
        self.cursor = 0
        self.subs: dict[Address, _Sub] = {}
        self.first_pass = False
        self.failures = 0
        self.timer_at: int | None = None
        self.reported: State | None = None
        self.picker: _Picker | None = None
        self.now = 0
        self.next_id = 1
        self._exp: _Expected | None = None
        # PF-11 under EAGER: this fork creates the whole list when a pass starts.
        self.create_all = False
        self.rule: Rule | None = None  # the row this step followed
        self.phase_before = Phase.NO_LIST
        # PF-22 under ignore: a resolver error reported in IDLE, which stays IDLE.
        self.idle_error = False

    def fork(self) -> _World:
        clone = _World(self.options)
        clone.addresses = self.addresses
        clone.shuffled = self.shuffled
        clone.cursor = self.cursor
        clone.subs = {a: attrs.evolve(s) for a, s in self.subs.items()}
        clone.first_pass = self.first_pass
        clone.failures = self.failures
        clone.timer_at = self.timer_at
        clone.reported = self.reported
        clone.picker = self.picker
        clone.now = self.now
        clone.next_id = self.next_id
        clone.idle_error = self.idle_error
        return clone

    def key(self) -> tuple[Any, ...]:
        return (
            self.addresses,
            self.shuffled,
            self.cursor,
            tuple(s.key() for s in self.subs.values()),
            self.first_pass,
            self.failures,
            self.timer_at,
            self.reported,
            self.picker,
            self.now,
            self.idle_error,
        )

    # --- the phase, and the table ---

    def current(self) -> _Sub | None:
        """The subchannel at the pass's position, if the policy holds one there."""
        if self.cursor >= len(self.addresses):
            return None
        return self.subs.get(self.addresses[self.cursor])

    def phase(self) -> Phase:
        """The phase, from the list, the pass's subchannel, the pass and the last report."""
        if not self.addresses:
            return Phase.NO_ADDRESSES if self.reported is TF else Phase.NO_LIST
        current = self.current()
        if current is not None and current.raw is State.READY:
            return Phase.READY
        if self.reported is State.IDLE or (self.idle_error and self.reported is TF):
            return Phase.IDLE
        return self.pass_phase()

    def pass_phase(self) -> Phase:
        """The phase of the pass alone: whether the first one is over, and the last report."""
        if not self.first_pass:
            return Phase.STICKY
        return Phase.STICKY_PASS if self.reported is TF else Phase.CONNECTING

    def holds(self, when: When, ctx: _Context) -> bool:
        if when.key != "fact":
            return self.options.values.get(when.key) == when.value
        fact = Fact[when.value]
        if fact is Fact.HEALTH_FAILING:
            return self.reported is TF
        if fact is Fact.IDLE_PICKER:
            return self.picker is not None and self.picker.kind == "idle"
        assert ctx.sub is not None  # NOT_FAILED_SINCE_READY: a state change's subchannel
        return not ctx.sub.failed_since_ready

    def follow(self, kind: Input, ctx: _Context) -> _Expected:
        """Look up the row for this input in the current phase, and expect what it says."""
        phase = self.phase()
        if kind in PASS_INPUTS and phase not in PASS_PHASES:
            phase = self.pass_phase()
        rule = find_rule(phase, kind, lambda w: self.holds(w, ctx))
        self.rule, self.phase_before = rule, phase
        blame = rule.blame
        if blame == PICKER_RULE:
            blame = self.picker.requirement if self.picker is not None else "PF-10"
        exp = self.begin(blame, rule.blame_reports)
        if ctx.sub is not None and isinstance(ctx.event, ev.SubchannelStateChange):
            self.note_state(ctx.sub, ctx.event)
        for effect in rule.effects:
            if not effect.when or all(self.holds(w, ctx) for w in effect.when):
                _DOING[effect.do](self, effect.requirement, ctx)
        return exp

    def note_state(self, sub: _Sub, event: ev.SubchannelStateChange) -> None:
        """Bookkeeping before any row acts: the subchannel's state, and its failure."""
        sub.raw = event.state
        sub.connect_pending = False
        if event.state is TF:
            sub.failed_this_pass = True  # PF-14
            sub.last_error = event.error  # PF-15, PF-16: the newest error
            sub.failed_since_ready = True  # PF-17

    # --- what each :class:`Do` does (``_DOING`` maps each to its method) ---

    def take_list(self, req: str, ctx: _Context) -> None:
        self.timer_at = None
        self.addresses, self.cursor, self.shuffled = ctx.listing, 0, ctx.shuffled

    def keep_selected(self, req: str, ctx: _Context) -> None:
        assert ctx.selected is not None
        self.cursor = self.addresses.index(ctx.selected.address)

    def report_ready_again(self, req: str, ctx: _Context) -> None:
        """pick_first.ready_on_update=ready_again: the one repeat of READY PF-24 allows."""
        assert ctx.selected is not None
        picker = _Picker("ready", req, ctx.selected.ident)
        self.exp.reports.append(_Report(State.READY, picker, req))
        self.reported, self.picker = State.READY, picker

    def create_and_drop(self, req: str, ctx: _Context) -> None:
        if self.create_all:  # this fork creates the list up front
            for address in [a for a in self.addresses if a not in self.subs]:
                self.create(address, req)
                self.shut_down(address, req)

    def drop_list(self, req: str, ctx: _Context) -> None:
        self.timer_at = None
        self.addresses, self.cursor = (), 0
        self.idle_error = False

    def stay_idle(self, req: str, ctx: _Context) -> None:
        """PF-22 under ignore: the error reported in IDLE leaves the list for ExitIdle."""
        self.idle_error = True

    def shut_down_unlisted(self, req: str, ctx: _Context) -> None:
        for address in [a for a in self.subs if a not in self.addresses]:
            self.shut_down(address, req)

    def shut_down_all(self, req: str, ctx: _Context) -> None:
        self.timer_at = None
        for address in list(self.subs):
            self.shut_down(address, req)

    def shut_down_others(self, req: str, ctx: _Context) -> None:
        for address in [a for a, s in self.subs.items() if s is not ctx.sub]:
            self.shut_down(address, req)

    def select(self, req: str, ctx: _Context) -> None:
        assert ctx.sub is not None
        self.timer_at = None
        self.shut_down_others(req, ctx)
        self.cursor = self.addresses.index(ctx.sub.address)
        ctx.sub.failed_since_ready = False

    def reset_pass(self, req: str, ctx: _Context) -> None:
        self.timer_at = None
        self.cursor = 0

    def reject(self, req: str, ctx: _Context) -> None:
        self.exp.rejections.append(req)

    def report_no_addresses(self, req: str, ctx: _Context) -> None:
        self.report(TF, self.fail_picker(EMPTY_UPDATE_WORDINGS, req), req)

    def report_resolver_error(self, req: str, ctx: _Context) -> None:
        assert isinstance(ctx.event, ev.ResolverError)
        self.report(TF, self.fail_picker([ctx.event.message], req), req)

    def report_health_error(self, req: str, ctx: _Context) -> None:
        assert isinstance(ctx.event, ev.HealthStateChange)
        assert ctx.event.error is not None
        self.report(TF, self.fail_picker([ctx.event.error.message], req), req)

    def report_idle(self, req: str, ctx: _Context) -> None:
        self.report(State.IDLE, _Picker("idle", req), req)

    def report_connecting(self, req: str, ctx: _Context) -> None:
        self.report(State.CONNECTING, _Picker("queue", req), req)

    def announce_connecting(self, req: str, ctx: _Context) -> None:
        if self.reported is State.CONNECTING:
            self.may_report(State.CONNECTING, _Picker("queue", req), "PF-18")
        else:
            self.report(State.CONNECTING, _Picker("queue", req), req)

    def may_report_connecting(self, req: str, ctx: _Context) -> None:
        self.may_report(State.CONNECTING, _Picker("queue", req), req)

    def report_ready(self, req: str, ctx: _Context) -> None:
        assert ctx.sub is not None
        self.report(State.READY, _Picker("ready", req, ctx.sub.ident), req)

    def request_reresolution(self, req: str, ctx: _Context) -> None:
        self.exp.reresolutions += 1

    def connect_it(self, req: str, ctx: _Context) -> None:
        assert ctx.sub is not None
        self.connect(ctx.sub, req)

    def pick(self, req: str, ctx: _Context) -> None:
        self.exp.is_pick, self.exp.pick = True, self.picker

    def do_start_pass(self, req: str, ctx: _Context) -> None:
        self.start_pass(req)

    def do_pass_moves_on(self, req: str, ctx: _Context) -> None:
        assert ctx.sub is not None
        assert isinstance(ctx.event, ev.SubchannelStateChange)
        assert ctx.event.error is not None
        self.pass_moves_on(ctx.sub, ctx.event.error)

    def count_failure(self, req: str, ctx: _Context) -> None:
        assert isinstance(ctx.event, ev.SubchannelStateChange)
        assert ctx.event.error is not None
        self.count_sticky_failure(ctx.event.error)

    def timer(self, req: str, ctx: _Context) -> None:
        assert isinstance(ctx.event, ev.TimeAdvanced)
        self.timer_fires(ctx.event.by)

    # --- expectation bookkeeping ---

    @property
    def exp(self) -> _Expected:
        assert self._exp is not None
        return self._exp

    def begin(self, default: str, report_default: str | None = None) -> _Expected:
        self._exp = _Expected(
            default=default,
            report_default=report_default or default,
            reported_before=self.reported,
            picker_before=self.picker,
            live_before={s.ident: s.address for s in self.subs.values()},
        )
        return self._exp

    def report(self, state: State, picker: _Picker, requirement: str) -> None:
        if state is self.reported and state is not TF:
            return  # PF-24: never repeated
        if state is not TF:
            self.idle_error = False
        self.exp.reports.append(_Report(state, picker, requirement))
        self.reported, self.picker = state, picker

    def may_report(self, state: State, picker: _Picker, requirement: str) -> None:
        self.exp.reports.append(_Report(state, picker, requirement, optional=True))

    def create(self, address: Address, requirement: str) -> _Sub:
        sub = _Sub(self.next_id, address)
        self.next_id += 1
        self.subs[address] = sub
        self.exp.new.append((address, sub.ident, requirement))
        return sub

    def connect(self, sub: _Sub, requirement: str) -> None:
        if sub.connect_pending and sub.raw is State.IDLE:
            # A new pass meets a subchannel still leaving IDLE for an earlier Connect: in
            # real time the repeat would find it CONNECTING and do nothing (CONN-11), so an
            # implementation (or adapter) may leave it out (conformance/PROTOCOL.md, connect).
            self.exp.optional_connects.append(sub.ident)
            return
        self.exp.connects.append((sub.ident, requirement))

    def shut_down(self, address: Address, requirement: str) -> None:
        sub = self.subs.pop(address)
        self.exp.shutdowns.append((sub.ident, requirement))

    def reresolve_on_failure(self) -> None:
        """PF-28: one request with a failure report, unless pick_first.reresolution=grpc_go."""
        if self.options.reresolution.on_failure:
            self.exp.reresolutions += 1

    def fail_picker(self, messages: Iterable[str], requirement: str) -> _Picker:
        return _Picker("fail", requirement, messages=frozenset(messages))

    def active(self, ident: int) -> _Sub | None:
        for sub in self.subs.values():
            if sub.ident == ident:
                return sub
        return None

    # --- the rules the table cites: the pass (PF-11..PF-16) ---

    def start_pass(self, requirement: str) -> None:
        """start_pass: a first pass from the list's first address (PF-11, PF-14).

        Under pick_first.subchannel_creation=eager the fork that creates up front makes
        every listed address's subchannel now (PF-11).
        """
        self.first_pass = True
        self.failures = 0
        self.idle_error = False
        if self.create_all:
            for address in self.addresses:
                if address not in self.subs:
                    self.create(address, requirement)
        for sub in self.subs.values():
            sub.failed_this_pass = False
        self.walk(requirement)

    def walk(self, requirement: str) -> None:
        """PF-11: from the pass's position, on to the first address that needs a connection
        (connect it) or a wait (it is CONNECTING); one in backoff counts as tried."""
        rule = requirement
        while self.cursor < len(self.addresses):
            address = self.addresses[self.cursor]
            sub = self.subs.get(address) or self.create(address, rule)
            if sub.raw is State.IDLE:
                self.connect(sub, rule)
                self.arm_timer()
                return
            if sub.raw is State.CONNECTING:
                self.arm_timer()
                return
            if sub.raw is not TF:
                return
            sub.failed_this_pass = True  # in backoff: counts as tried
            self.cursor += 1
            rule = "PF-11"
        errors = [s.last_error.message for s in self.subs.values() if s.last_error is not None]
        self.end_pass_if_done(errors)

    def arm_timer(self) -> None:
        """PF-12: an attempt with an address after it sets the timer (pick_first.happy_eyeballs)."""
        has_next = self.cursor + 1 < len(self.addresses)
        delay = self.options.attempt_delay
        self.timer_at = self.now + delay if has_next and delay is not None else None

    def timer_fires(self, by: Duration) -> None:
        """timer_fires (PF-12): each time the timer is due, the pass moves to the next address
        while the earlier attempt goes on."""
        target = self.now + by.nanos
        while self.timer_at is not None and self.timer_at <= target:
            self.now, self.timer_at = self.timer_at, None
            if self.cursor < len(self.addresses):
                self.cursor += 1
                if self.cursor < len(self.addresses):
                    self.walk("PF-12")
        self.now = target

    def pass_moves_on(self, sub: _Sub, error: Status) -> None:
        """pass_moves_on: the address the pass is at failed, so cancel the timer and go on at
        once (PF-13); another one failing only counts (PF-14)."""
        if self.cursor < len(self.addresses) and self.addresses[self.cursor] == sub.address:
            self.timer_at = None
            self.cursor += 1
            if self.cursor < len(self.addresses):
                self.walk("PF-13")
                return
        self.end_pass_if_done([error.message])

    def end_pass_if_done(self, messages: list[str]) -> None:
        """PF-14, PF-15: at the end of the list with every subchannel failed, the first pass
        ends: TRANSIENT_FAILURE with a recent error, re-resolution (PF-28), and every IDLE
        subchannel connected."""
        if self.cursor < len(self.addresses):
            return
        if not all(s.failed_this_pass for s in self.subs.values()):
            return
        self.first_pass = False
        self.report(TF, self.fail_picker(messages, "PF-15"), "PF-15")
        self.reresolve_on_failure()
        for sub in self.subs.values():
            if sub.raw is State.IDLE:
                self.connect(sub, "PF-15")

    def count_sticky_failure(self, error: Status) -> None:
        """count_sticky_failure (PF-16): every N-th failure, N the subchannels held,
        re-reports TRANSIENT_FAILURE with the newest error, and re-resolves (PF-28)."""
        self.failures = (self.failures + 1) % len(self.subs)
        if self.failures == 0:
            self.report(TF, self.fail_picker([error.message], "PF-16"), "PF-16")
            self.reresolve_on_failure()

    def canonical_state(self, name: Callable[[int], int]) -> tuple[Any, ...]:
        """:meth:`key` with subchannels renamed and the timer relative to now (explore).

        The picker is a plain tuple with its messages sorted: a frozenset's repr follows
        string hashing, which differs between processes (explore --jobs).
        """
        picker: tuple[Any, ...] | None = None
        if self.picker is not None:
            p = self.picker
            ident = name(p.subchannel) if p.kind == "ready" else p.subchannel
            picker = (p.kind, p.requirement, ident, tuple(sorted(p.messages)))
        subs = tuple(
            (name(s.ident), a, s.raw, s.failed_this_pass, s.last_error, s.failed_since_ready)
            for a, s in self.subs.items()
        )
        timer = None if self.timer_at is None else self.timer_at - self.now
        return (
            self.addresses,
            self.shuffled,
            self.cursor,
            subs,
            self.first_pass,
            self.failures,
            timer,
            self.reported,
            picker,
            self.idle_error,
        )


_DOING: dict[Do, Callable[[_World, str, _Context], None]] = {
    Do.TAKE_LIST: _World.take_list,
    Do.KEEP_SELECTED: _World.keep_selected,
    Do.REPORT_READY_AGAIN: _World.report_ready_again,
    Do.CREATE_AND_DROP: _World.create_and_drop,
    Do.DROP_LIST: _World.drop_list,
    Do.SHUT_DOWN_UNLISTED: _World.shut_down_unlisted,
    Do.SHUT_DOWN_ALL: _World.shut_down_all,
    Do.SHUT_DOWN_OTHERS: _World.shut_down_others,
    Do.SELECT: _World.select,
    Do.RESET_PASS: _World.reset_pass,
    Do.REJECT: _World.reject,
    Do.REPORT_NO_ADDRESSES: _World.report_no_addresses,
    Do.REPORT_RESOLVER_ERROR: _World.report_resolver_error,
    Do.STAY_IDLE: _World.stay_idle,
    Do.REPORT_HEALTH_ERROR: _World.report_health_error,
    Do.REPORT_IDLE: _World.report_idle,
    Do.REPORT_CONNECTING: _World.report_connecting,
    Do.ANNOUNCE_CONNECTING: _World.announce_connecting,
    Do.MAY_REPORT_CONNECTING: _World.may_report_connecting,
    Do.REPORT_READY: _World.report_ready,
    Do.REQUEST_RERESOLUTION: _World.request_reresolution,
    Do.CONNECT_IT: _World.connect_it,
    Do.PICK: _World.pick,
    Do.START_PASS: _World.do_start_pass,
    Do.PASS_MOVES_ON: _World.do_pass_moves_on,
    Do.COUNT_FAILURE: _World.count_failure,
    Do.TIMER: _World.timer,
}


# --- Comparing an expectation with what the trace shows ---


def _describe(addresses: Sequence[Address]) -> str:
    return "[" + ", ".join(a.addr for a in addresses) + "]"


# Steps whose rule starts a pass: a subchannel the pass did not reach yet is PF-11's business.
_PASS_STARTS = frozenset({"PF-10", "PF-20", "PF-21"})


def _creation_rule(
    world: _World,
    exp: _Expected,
    got: tuple[Address, ...],
    wanted: Address | None,
    live: set[Address],
) -> str:
    """Which rule a subchannel created for the wrong address (or not at all expected) breaks."""
    if len(got) != 1:
        return "PF-11"  # one address per subchannel
    if got[0] in live:
        return "PF-6"  # a second subchannel for one address
    if wanted is None:
        eager = (exp.new or exp.connects or exp.optional_connects) and exp.default in _PASS_STARTS
        return "PF-11" if eager else exp.default
    if got[0] not in world.addresses:
        return exp.default
    if got[0].family is not wanted.family:
        return "PF-7"
    return "PF-5" if world.shuffled else "PF-4"


@attrs.frozen
class _Verdict:
    problems: tuple[tuple[str, str], ...]
    consumed: tuple[_Report, ...]  # expected reports the trace showed, in order
    last_report_consumed: bool


def _judge(world: _World, exp: _Expected, outputs: Sequence[act.Output]) -> _Verdict:
    problems: list[tuple[str, str]] = []

    def problem(req: str, msg: str) -> None:
        problems.append((req, msg))

    got_shutdowns = {o.subchannel for o in outputs if isinstance(o, act.Shutdown)}
    live = {a for ident, a in exp.live_before.items() if ident not in got_shutdowns}
    # New subchannels, in creation order.
    created = [o for o in outputs if isinstance(o, act.NewSubchannel)]
    for i in range(max(len(created), len(exp.new))):
        wanted = exp.new[i] if i < len(exp.new) else None
        if i >= len(created):
            assert wanted is not None
            problem(wanted[2], f"expected a subchannel for {wanted[0].addr}; none was created")
            continue
        got = created[i]
        if got.health_listener is not world.options.health_listener:
            problem("PF-26", f"subchannel {got.subchannel} health_listener={got.health_listener}")
        if wanted is None or got.addresses != (wanted[0],):
            wanted_address = wanted[0] if wanted is not None else None
            rule = _creation_rule(world, exp, got.addresses, wanted_address, live)
            want = f"one for {wanted[0].addr}" if wanted else "none"
            problem(rule, f"created a subchannel for {_describe(got.addresses)}; expected {want}")
        live.update(got.addresses)
    # Connects, shutdowns: as multisets of subchannel IDs.
    got_connects = Counter(o.subchannel for o in outputs if isinstance(o, act.Connect))
    want_connects = Counter(ident for ident, _ in exp.connects)
    for ident, req in exp.connects:
        if got_connects[ident] < want_connects[ident]:
            problem(req, f"expected Connect on subchannel {ident}")
            want_connects[ident] -= 1
    may_connect = Counter(exp.optional_connects)
    for ident, count in got_connects.items():
        if count > want_connects[ident] + may_connect[ident]:
            problem(exp.default, f"unexpected Connect on subchannel {ident}")
    want_shutdowns = {ident for ident, _ in exp.shutdowns}
    for ident, req in exp.shutdowns:
        if ident not in got_shutdowns:
            problem(req, f"expected subchannel {ident} to be shut down")
    extra_shutdown_rule = "PF-8" if exp.default == "PF-8" else "PF-9"
    for ident in sorted(got_shutdowns - want_shutdowns):
        problem(extra_shutdown_rule, f"unexpected Shutdown of subchannel {ident}")
    # Reports, in order; optional ones may be absent.
    got_reports = [o.state for o in outputs if isinstance(o, act.UpdateState)]
    consumed: list[_Report] = []
    position = 0
    for wanted_report in exp.reports:
        if position < len(got_reports) and got_reports[position] is wanted_report.state:
            consumed.append(wanted_report)
            position += 1
        elif not wanted_report.optional:
            shown = [s.name for s in got_reports[position:]]
            problem(
                wanted_report.requirement,
                f"expected a {wanted_report.state.name} report; the trace shows {shown}",
            )
    previous = consumed[-1].state if consumed else exp.reported_before
    for extra in got_reports[position:]:
        repeated = extra is previous and extra is not TF
        rule = "PF-24" if repeated else exp.report_default
        problem(rule, f"unexpected {extra.name} report (previous report: {_name(previous)})")
        previous = extra
    # Re-resolution and rejections.
    got_reresolutions = sum(isinstance(o, act.RequestReresolution) for o in outputs)
    if got_reresolutions != exp.reresolutions:
        mode = world.options.reresolution.name
        problem(
            "PF-28",
            f"{got_reresolutions} re-resolution request(s), expected {exp.reresolutions} "
            f"under {mode}",
        )
    got_rejections = sum(isinstance(o, act.UpdateRejected) for o in outputs)
    if got_rejections < len(exp.rejections):
        problem(exp.rejections[got_rejections], "expected the update to be rejected")
    elif got_rejections > len(exp.rejections):
        problem(exp.default, "unexpected rejection of the update")
    # The pick.
    if exp.is_pick:
        problem_text = _pick_problem(exp.pick, outputs)
        if problem_text is not None:
            rule = exp.pick.requirement if exp.pick is not None else "PF-10"
            problems.append((rule, problem_text))
    last_consumed = bool(consumed) and position == len(got_reports)
    return _Verdict(tuple(problems), tuple(consumed), last_consumed)


def _name(state: State | None) -> str:
    return "none" if state is None else state.name


def _pick_problem(picker: _Picker | None, outputs: Sequence[act.Output]) -> str | None:
    outcomes = [
        o
        for o in outputs
        if isinstance(o, act.PickComplete | act.PickQueue | act.PickFail | act.PickDrop)
    ]
    if len(outcomes) != 1:
        return None  # LB-4 (the boundary monitor) reports it
    outcome = outcomes[0]
    if picker is None or picker.kind in ("queue", "idle"):
        ok = isinstance(outcome, act.PickQueue)
        want = "Queue"
    elif picker.kind == "ready":
        ok = isinstance(outcome, act.PickComplete) and outcome.subchannel == picker.subchannel
        want = f"Complete on subchannel {picker.subchannel}"
    elif picker.kind == "fail":
        ok = (
            isinstance(outcome, act.PickFail)
            and outcome.status.code is StatusCode.UNAVAILABLE
            and (not picker.messages or any(m in outcome.status.message for m in picker.messages))
        )
        want = f"Fail(UNAVAILABLE) mentioning one of {sorted(picker.messages)}"
    elif picker.kind == "channel":
        ok = isinstance(outcome, act.PickFail)
        want = "Fail (the channel's bad-config picker)"
    else:
        return None  # unknown after an earlier violation
    return None if ok else f"pick gave {outcome!r}; expected {want}"


# --- The monitor ---


class PickFirstMonitor:
    """Judges a pick_first trace; see the module docstring.

    ``health_listener``: the parent enabled health watching (pick_first as a leaf).
    ``client_health_checking``: health states arrive as ``HealthStateChange`` inputs;
    when False the channel delivers health READY itself at registration.
    ``subchannel_creation``: PF-11's option; under ``EAGER`` every step that may start a
    pass is judged both ways (whole list created up front, or lazily).
    ``lost_subchannel``: PF-20's option; under ``RELEASED`` (the text) the subchannel
    whose connection was lost is shut down too, under ``KEPT`` it stays for the next pass.
    ``resolver_error_before_config``: the channel's option (SC-14); under ``NO_CONFIG``
    (the text) a resolver error puts no config in force, under ``DEFAULT_CONFIG`` it puts
    the default one in force, so a later invalid config no longer fails the channel.
    """

    def __init__(
        self,
        reresolution: ReresolutionMode = ReresolutionMode.SPEC_TEXT,
        *,
        health_listener: bool = False,
        client_health_checking: bool = False,
        attempt_delay: Duration = CONNECTION_ATTEMPT_DELAY,
        happy_eyeballs: HappyEyeballs = HappyEyeballs.ENABLED,
        family_interleaving: FamilyInterleaving = FamilyInterleaving.TWO_FAMILIES,
        ipv4_mapped_family: MappedFamily = MappedFamily.IPV4,
        ready_on_update: ReadyOnUpdate = ReadyOnUpdate.UNCHANGED,
        resolver_error_with_addresses: ResolverErrorWithAddresses = (
            ResolverErrorWithAddresses.KEEP_SUBCHANNELS
        ),
        selected_address_removed: SelectedAddressRemoved = SelectedAddressRemoved.GOES_IDLE,
        subchannel_creation: SubchannelCreation = SubchannelCreation.EAGER,
        lost_subchannel: LostSubchannel = LostSubchannel.RELEASED,
        resolver_error_before_config: ResolverErrorBeforeConfig = (
            ResolverErrorBeforeConfig.NO_CONFIG
        ),
    ) -> None:
        if not isinstance(reresolution, ReresolutionMode):
            raise TypeError(f"reresolution must be a ReresolutionMode, got {reresolution!r}")
        if not isinstance(happy_eyeballs, HappyEyeballs):
            raise TypeError(f"happy_eyeballs must be a HappyEyeballs, got {happy_eyeballs!r}")
        if not isinstance(family_interleaving, FamilyInterleaving):
            raise TypeError(
                f"family_interleaving must be a FamilyInterleaving: {family_interleaving!r}"
            )
        self.family_interleaving = family_interleaving
        if not isinstance(ipv4_mapped_family, MappedFamily):
            raise TypeError(f"ipv4_mapped_family must be a MappedFamily: {ipv4_mapped_family!r}")
        self.ipv4_mapped_family = ipv4_mapped_family
        if not isinstance(ready_on_update, ReadyOnUpdate):
            raise TypeError(f"ready_on_update must be a ReadyOnUpdate, got {ready_on_update!r}")
        if not isinstance(resolver_error_with_addresses, ResolverErrorWithAddresses):
            raise TypeError(f"resolver_error_with_addresses: got {resolver_error_with_addresses!r}")
        delay = attempt_delay.nanos if happy_eyeballs is HappyEyeballs.ENABLED else None
        if not isinstance(selected_address_removed, SelectedAddressRemoved):
            raise TypeError(f"selected_address_removed: got {selected_address_removed!r}")
        if not isinstance(subchannel_creation, SubchannelCreation):
            raise TypeError(
                f"subchannel_creation must be a SubchannelCreation, got {subchannel_creation!r}"
            )
        if not isinstance(lost_subchannel, LostSubchannel):
            raise TypeError(f"lost_subchannel must be a LostSubchannel, got {lost_subchannel!r}")
        if not isinstance(resolver_error_before_config, ResolverErrorBeforeConfig):
            raise TypeError(f"resolver_error_before_config: got {resolver_error_before_config!r}")
        values = {
            "pick_first.reresolution": reresolution.value,
            "pick_first.happy_eyeballs": happy_eyeballs.value,
            "pick_first.family_interleaving": family_interleaving.value,
            "pick_first.ipv4_mapped_family": ipv4_mapped_family.value,
            "pick_first.resolver_error_with_addresses": resolver_error_with_addresses.value,
            "pick_first.ready_on_update": ready_on_update.value,
            "pick_first.selected_address_removed": selected_address_removed.value,
            "pick_first.subchannel_creation": subchannel_creation.value,
            "pick_first.lost_subchannel": lost_subchannel.value,
            "health_listener": str(health_listener).lower(),
            "client_health_checking": str(client_health_checking).lower(),
            **FIXED_OPTIONS,
        }
        options = _Options(
            reresolution,
            health_listener,
            client_health_checking,
            delay,
            selected_address_removed,
            subchannel_creation,
            lost_subchannel,
            values,
        )
        self._worlds = [_World(options)]
        self._created = 0  # subchannels the trace has created so far
        self._closed = False
        # The channel's config handling: once any update reached the policy a config is in
        # force, and an invalid config leaves the last valid one in force (SC-10, SC-11).
        # A resolver error puts the default config in force only under DEFAULT_CONFIG
        # (service_config.resolver_error_before_config, SC-14; grpc-go clientconn.go).
        self._error_applies_default = (
            resolver_error_before_config is ResolverErrorBeforeConfig.DEFAULT_CONFIG
        )
        self._config_in_force = False
        self._last_valid_shuffle = False
        # (world's rule, phase before, phase after) for each world that fitted a step;
        # tests hold the table's ``next`` column to what the model does.
        self.followed: list[tuple[Rule, Phase, Phase]] = []
        self.record_phases = False

    @property
    def worlds(self) -> int:
        """How many address lists are still consistent with the trace."""
        return len(self._worlds)

    def observe(self, index: int, step: Step) -> list[Violation]:
        if self._closed:
            return []  # LB-3 (the boundary monitor) covers outputs after Close
        event = step.input
        react = self._update_reaction(event) if isinstance(event, ev.ResolverUpdate) else None
        if isinstance(event, ev.ResolverError) and self._error_applies_default:
            self._config_in_force = True  # SC-14: the default config, before the error
        results: list[tuple[_World, _Expected, _Verdict]] = []
        for world in self._worlds:
            if react is not None:
                pairs = react(world)
            else:
                pairs = []
                for create_all in self._creation_choices(world, event):
                    forked = self._fork(world)
                    forked.create_all = create_all
                    pairs.append((forked, self._dispatch(forked, event)))
            for forked, exp in pairs:
                results.append((forked, exp, _judge(forked, exp, step.outputs)))
        fitting = [r for r in results if not r[2].problems]
        violations: list[Violation] = []
        if not fitting:
            # Of equally bad explanations, the one creating subchannels as the trace did (PF-11).
            many = sum(isinstance(o, act.NewSubchannel) for o in step.outputs) > 1
            best = min(results, key=lambda r: (len(r[2].problems), r[0].create_all is not many))
            fitting = [best]
            violations = [Violation(req, index, msg) for req, msg in best[2].problems]
        survivors: dict[tuple[Any, ...], _World] = {}
        for world, exp, verdict in fitting:
            _settle(world, exp, verdict, step.outputs)
            if self.record_phases and not violations and world.rule is not None:
                after = Phase.CLOSED if isinstance(event, ev.Close) else world.phase()
                self.followed.append((world.rule, world.phase_before, after))
            survivors.setdefault(world.key(), world)
        self._worlds = list(survivors.values())
        self._created += sum(isinstance(o, act.NewSubchannel) for o in step.outputs)
        if isinstance(event, ev.Close):
            self._closed = True
        return violations

    def finish(self) -> list[Violation]:
        return []

    # --- one input, in every world ---

    @staticmethod
    def _creation_choices(world: _World, event: ev.Input) -> tuple[bool, ...]:
        """PF-11: under EAGER, a step that may start a pass is judged with both creations.

        ExitIdle and a pick start a pass in phase IDLE, which includes a resolver error
        reported in IDLE under resolver_error_with_addresses=ignore (TRANSIENT_FAILURE
        reported, the list kept): eager creation covers every pass start (spec/options.py,
        pick_first.subchannel_creation), not only those after an IDLE report."""
        if world.options.subchannel_creation is SubchannelCreation.LAZY:
            return (False,)
        if isinstance(event, ev.ResolverUpdate) and event.endpoints:
            return (False, True)
        if isinstance(event, ev.ExitIdle | ev.Pick) and world.phase() is Phase.IDLE:
            return (False, True)
        return (False,)

    def _fork(self, world: _World) -> _World:
        forked = world.fork()
        forked.next_id = self._created + 1  # the trace numbers subchannels 1, 2, 3... (LB-6)
        return forked

    def _update_reaction(
        self, event: ev.ResolverUpdate
    ) -> Callable[[_World], list[tuple[_World, _Expected]]]:
        """How every world takes this update; the config and lists are worked out once."""
        shuffle = parse_config(event.config)
        rejected_config = shuffle is None
        if shuffle is None and not self._config_in_force:
            # PF-1, SC-10: an invalid first config (also after only resolver errors under
            # NO_CONFIG) never reaches the policy; the channel fails RPCs.
            def channel_only(world: _World) -> list[tuple[_World, _Expected]]:
                forked = self._fork(world)
                exp = forked.begin("PF-1")
                exp.rejections.append("PF-1")
                channel = _Picker("channel", "PF-1")
                exp.reports.append(_Report(TF, channel, "PF-1", by_channel=True))
                return [(forked, exp)]

            return channel_only
        if shuffle is None:
            shuffle = self._last_valid_shuffle  # PF-1: the config in force stays
        elif event.config is not None:
            self._last_valid_shuffle = shuffle
        self._config_in_force = True
        listings = (
            candidate_lists(
                event.endpoints, shuffle, self.family_interleaving, self.ipv4_mapped_family
            )
            if event.endpoints
            else [()]
        )
        shuffled = shuffle and len(event.endpoints) > 1

        def per_listing(world: _World) -> list[tuple[_World, _Expected]]:
            pairs = []
            for listing in listings:
                for create_all in self._creation_choices(world, event):
                    forked = self._fork(world)
                    forked.create_all = create_all
                    selected = forked.current()
                    if selected is not None and selected.raw is not State.READY:
                        selected = None
                    if not event.endpoints:
                        kind = Input.EMPTY_UPDATE
                    elif selected is not None and selected.address in listing:
                        kind = Input.UPDATE_KEEPING_SELECTED
                    else:
                        kind = Input.UPDATE
                    ctx = _Context(event, listing=listing, shuffled=shuffled, selected=selected)
                    exp = forked.follow(kind, ctx)
                    if rejected_config:
                        exp.rejections = ["PF-1"]  # one rejection, for the config, even if empty
                    pairs.append((forked, exp))
            return pairs

        return per_listing

    @staticmethod
    def _dispatch(world: _World, event: ev.Input) -> _Expected:
        """Sort the input into its :class:`Input` kind and follow the table."""
        if isinstance(event, ev.SubchannelStateChange | ev.HealthStateChange):
            sub = world.active(event.subchannel)
            if sub is None:
                kind = Input.STRAY  # PF-25
            elif isinstance(event, ev.SubchannelStateChange):
                kind = _classify_state(sub, event.state)
            else:
                kind = _HEALTH_INPUTS[event.state]
            return world.follow(kind, _Context(event, sub=sub))
        simple = {
            ev.ResolverError: Input.RESOLVER_ERROR,
            ev.ExitIdle: Input.EXIT_IDLE,
            ev.Close: Input.CLOSE,
            ev.TimeAdvanced: Input.TIME,
            ev.Pick: Input.PICK,
        }
        return world.follow(simple.get(type(event), Input.RPC_DONE), _Context(event))

    def canonical_state(self, name: Callable[[int], int]) -> tuple[Any, ...]:
        """What later judging depends on, subchannels renamed by ``name`` (conformance explore).

        The worlds are a set (their order only picks which violation to report); the
        count of subchannels created only numbers new ones, which the runner does anyway.
        """
        worlds = sorted({repr(w.canonical_state(name)) for w in self._worlds})
        return (tuple(worlds), self._closed, self._config_in_force, self._last_valid_shuffle)


def _settle(
    world: _World, exp: _Expected, verdict: _Verdict, outputs: Sequence[act.Output]
) -> None:
    """Make the world's view of reports and subchannels match what the trace showed."""
    reported, picker = exp.reported_before, exp.picker_before
    for report in verdict.consumed:
        picker = report.picker
        if not report.by_channel:
            reported = report.state
    got_reports = [o.state for o in outputs if isinstance(o, act.UpdateState)]
    if got_reports and not verdict.last_report_consumed:
        reported, picker = got_reports[-1], _ANY_PICKER  # resynchronise after a violation
    world.reported, world.picker = reported, picker
    connected = {o.subchannel for o in outputs if isinstance(o, act.Connect)}
    for sub in world.subs.values():
        if sub.ident in connected and sub.raw is State.IDLE:
            sub.connect_pending = True
    if not verdict.problems:
        return
    # After a violation, believe the trace about which subchannels exist.
    shut = {o.subchannel for o in outputs if isinstance(o, act.Shutdown)}
    created = {o.subchannel: o for o in outputs if isinstance(o, act.NewSubchannel)}
    for address, sub in list(world.subs.items()):
        expected_new = any(ident == sub.ident for _, ident, _ in exp.new)
        actual = created.get(sub.ident)
        if sub.ident in shut or (
            expected_new and (actual is None or actual.addresses[0] != address)
        ):
            del world.subs[address]
    known = {s.ident for s in world.subs.values()}
    for ident, output in created.items():
        if ident not in known and ident not in shut and output.addresses[0] not in world.subs:
            world.subs[output.addresses[0]] = _Sub(ident, output.addresses[0])
    # ... and about the order of its list: a subchannel created for another listed address
    # than expected shows that address's place, so later steps are judged from there.
    in_order = [o for o in outputs if isinstance(o, act.NewSubchannel)]
    for (wanted, _, _), output in zip(exp.new, in_order, strict=False):
        got = output.addresses[0]
        if got != wanted and got in world.addresses and wanted in world.addresses:
            listing = [a for a in world.addresses if a != got]
            place = listing.index(wanted)
            listing.insert(place, got)
            world.addresses, world.cursor = tuple(listing), place


MONITOR = PickFirstMonitor  # what conformance/monitors.py looks up for "pick_first"
