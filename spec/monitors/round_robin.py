"""Judges traces of round_robin against the RR and HEALTH requirements.

How it judges
-------------
round_robin's children (pick_first leaves, one per endpoint) report to
round_robin, not to the trace, so the monitor works out from the trace which
states each leaf *can* be in after every step, and accepts a report only if it
is the round_robin aggregate (RR-5) of some choice of those states:

* a leaf whose endpoint has a live READY subchannel is in that subchannel's
  health state: READY when it has no health listener or health checking is
  off and no update said otherwise (HEALTH-1, HEALTH-2); with health checking
  on it is CONNECTING until the first health update (HEALTH-5), then the
  health state (HEALTH-6);
* a leaf with no READY subchannel is CONNECTING, or TRANSIENT_FAILURE once every
  address of its endpoint has failed since the leaf last started afresh (it was
  built, its subchannel became READY, or its READY subchannel was lost); once
  every address has a live subchannel in TRANSIENT_FAILURE the leaf is
  TRANSIENT_FAILURE for sure and stays so (sticky, gRFC A62) until a
  subchannel becomes READY or drops from CONNECTING to IDLE (which makes
  grpc-go's pick_first start afresh; other leaves may stay, so both are
  accepted);
* an IDLE leaf is told to exit IDLE within the same step (RR-6), so no leaf is
  IDLE between steps (and round_robin would count IDLE as CONNECTING anyway).

Subchannels are attributed to endpoints by address.  When two current endpoints
share an address, a subchannel for it cannot be attributed from the trace
alone, so both endpoints are judged loosely (CONNECTING or TRANSIENT_FAILURE, or
READY if a subchannel of theirs is healthy) until the sharing ends.

Checked per step:

* RR-1: a new subchannel serves addresses of one current endpoint; each new
  endpoint gets a subchannel that is connected in the update's step.
* RR-2: no address has more live subchannels than current endpoints list it
  (so a repeated endpoint gets no second child), counting every listed copy of an
  endpoint under ``repeated_endpoint=every_copy``.
* RR-2 (with PF-9, what a pick_first leaf does with the list it is sent): an
  endpoint an update keeps keeps its child, and the child gets the new list.  So
  after every step each live subchannel serves addresses that an endpoint holding
  them lists now, compared as PF-6 compares them (address, server name,
  attributes): a kept endpoint whose address gained a server name has its old
  subchannel shut down.  And an update shuts down no subchannel of a kept
  endpoint (its owner when created) whose addresses the endpoint still lists: new
  endpoint attributes or a new order make no new child.
* RR-3: after the step, no live subchannel belongs to an endpoint that is gone.
* RR-4: an update without endpoints is rejected and ends in TRANSIENT_FAILURE;
  no other update is rejected; with no endpoints, picks fail UNAVAILABLE.
* RR-5 (or HEALTH-5/7/9 when a health rule explains it): the last report of a
  step is a possible aggregate.
* RR-6: when a leaf's READY subchannel goes IDLE, the leaf connects again in
  the same step.
* RR-7: under a READY picker every pick completes on a READY, healthy
  subchannel; the first n picks (n = READY leaves) are distinct and pick i
  repeats pick i-n, whatever the start and the cyclic order.  Under
  ``repeated_endpoint=every_copy`` a READY subchannel of an endpoint listed k times
  is k leaves (the copies share it through the subchannel pool): k turns per round.
* RR-8 / RR-9: under CONNECTING picks queue; under TRANSIENT_FAILURE picks fail
  (not drop) with a message containing an error the trace gave a child
  (connection error, health error or resolver error) -- under
  ``failure_error=most_recent``, when the TRANSIENT_FAILURE report came with a
  child's failure, that failure's error; under ``failure_error=rotating_children``
  the n children's pickers take turns: a failed pick whose message contains an
  error the trace gave exactly one child (and none another's) is that child's,
  and of the picks of one TRANSIENT_FAILURE picker (the i-th at place i mod n),
  two such picks at one place are one child's and two at different places two
  children's -- so, when the errors differ, each child's error once in every n
  consecutive picks, from any start.  Picks naming no child or several are not
  judged; nor is grpc-java's own resolver-error report (RR-13).
* RR-10: an update step reports exactly once; a resolver error or ExitIdle step as
  the options say (below).
* RR-13: a resolver error with no children reports TRANSIENT_FAILURE.
* RR-11: a step that changes the set of READY leaves, or makes the last
  report impossible, reports again.
* HEALTH-4: every subchannel is created with the health listener flag.
* HEALTH-7: no pick goes to a READY subchannel whose health is not READY.
* HEALTH-8: a health update causes no subchannel to be created, connected or
  shut down.

The monitor is configured with ``health_checking``: whether the channel runs
client-side health checks (the service config's healthCheckConfig); without
it the channel itself reports health READY at registration (HEALTH-2).

Spec options (spec/options.py) it takes:

* ``idle_child`` (round_robin.idle_child): how an IDLE child counts (RR-5).
* ``resolver_error`` (round_robin.resolver_error): with children, a resolver error
  step reports nothing (ignore); exactly once, a possible aggregate (pass_to_children);
  or, unless the last report was READY, exactly once TRANSIENT_FAILURE, whose picks
  fail with the error (report_failure).  Under ignore, an error that reached no one
  is no error a pick may carry (RR-9).
* ``exit_idle`` (round_robin.exit_idle): an ExitIdle step reports nothing (noop) or
  exactly once (forward).
* ``repeated_endpoint`` (round_robin.repeated_endpoint): an endpoint listed k times in
  one update has one leaf (first_wins, last_wins) or k (every_copy; RR-2, RR-7).  Under
  last_wins the leaf was sent the last copy's addresses (grpc-java
  MultiChildLoadBalancer.java:87-99); under first_wins and every_copy any copy's may
  reach a leaf, the rotation (RR-12) deciding which comes first.  The address *order* a
  leaf gets shows only across runs (the cases' ``across`` expectations).
* ``failure_error`` (round_robin.failure_error): under TRANSIENT_FAILURE every pick
  carries the error of the failure that made the report (most_recent: the text,
  C-core, grpc-js), or the failing children's own, in turns (rotating_children:
  grpc-go endpointsharding.go:287-289, 314-318; grpc-java
  RoundRobinLoadBalancer.java:75, 90-97, 153-156).  Under most_recent a report no
  failure made (an endpoint removed, an update) installs a picker whose picks may
  carry any child's error: C-core and grpc-js then keep their last error, which the
  monitor does not track.

How this monitor is derived
---------------------------
An independent statement, not a mirror of ``refimpl/round_robin.py`` and
``refimpl/endpoint_sharding.py`` (issue 17).  The reference keeps one child
balancer per endpoint, holds their reports during a call, aggregates the
children's *reported* states and rotates over their pickers from a random start.
The monitor has none of that: it never runs or models a pick_first child.  It
over-approximates, from the subchannel history in the trace, the *set* of states
each leaf may be in (the bullets above, from RR-6, HEALTH-1/2/5/6 and PF's sticky
TRANSIENT_FAILURE) and accepts any report that is the RR-5 aggregate of some
choice of them (:func:`possible_aggregates`, its own code; the reference uses
``spec.connectivity.aggregate`` on exact states).  Picks are judged as a cycle
(RR-7: the first n distinct, pick i repeats pick i-n) whatever the start and the
order, where the reference has one counter.  RR-1..RR-4 are per-step invariants
over the live subchannels and the endpoint list; RR-10/RR-11 count reports.
The one rule both share by necessity is the catalogue's: endpoints are keyed by
their address set (RR-2).  No rule table is needed: there is no branch of the
reference to follow.

"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import attrs

from spec import actions as act
from spec import events as ev
from spec.connectivity import State
from spec.monitors.tracker import SubchannelTracker, SubchannelView
from spec.options import (
    ExitIdleHandling,
    FailureError,
    IdleChild,
    RepeatedEndpoint,
    ResolverErrorHandling,
)
from spec.trace import Step, Violation
from spec.types import Address, StatusCode

TF = State.TRANSIENT_FAILURE

_Report = Callable[[str, str], None]  # records one violation: (requirement, message)

# Steps after which round_robin may report only once (RR-10).
_BATCHED_INPUTS = (ev.ResolverUpdate, ev.ResolverError, ev.ExitIdle)


def _addrs(view: SubchannelView) -> frozenset[str]:
    return frozenset(a.addr for a in view.addresses)


@attrs.define
class _Endpoint:
    """What the monitor knows of one endpoint's leaf."""

    key: frozenset[str]
    # The addresses the last update listed for it, compared as PF-6 compares them (address,
    # server name, attributes): what its leaf was last sent (RR-2).  An update may repeat
    # the endpoint with other server names or attributes, and which repeat reaches the leaf
    # depends on the random rotation (RR-12; grpc-go endpointsharding.go rotates, then skips
    # repeats): addresses some repeat lists, and addresses every repeat lists.
    listed: frozenset[Address] = frozenset()
    listed_by_all: frozenset[Address] = frozenset()
    # Addresses whose subchannel failed since the leaf last started afresh.
    failed: set[str] = attrs.field(factory=set)
    sticky_failure: bool = False  # certainly TRANSIENT_FAILURE (every address failed)
    errors: set[str] = attrs.field(factory=set)  # error texts its subchannels delivered
    copies: int = 1  # how many times the last update listed it (RR-2)


@attrs.define
class _Picker:
    """The picker installed by the last report, and the picks it has made."""

    state: State
    ready: frozenset[int]  # READY, healthy subchannels: one per READY leaf
    no_children: bool
    # RR-7 under round_robin.repeated_endpoint=every_copy: turns per round of a READY
    # subchannel shared by the leaves of an endpoint's copies (absent: one).
    turns_of: dict[int, int] = attrs.field(factory=dict)
    picks: list[int] = attrs.field(factory=list)
    # RR-9 under round_robin.failure_error=most_recent: the error every pick must carry,
    # that of the failure whose child report installed this picker; None: any child's.
    error: str | None = None
    # RR-9 under round_robin.failure_error=rotating_children: how many failing children take
    # turns (0: the rotation is not judged), the failed picks so far, and which child's
    # error each place in the rotation showed (place -> endpoint key).
    turns: int = 0
    failed: int = 0
    places: dict[int, frozenset[str]] = attrs.field(factory=dict)


def possible_aggregates(leaf_states: Iterable[frozenset[State]]) -> frozenset[State]:
    """Every round_robin aggregate (RR-5) of some choice of one state per leaf."""
    options = list(leaf_states)
    if not options:
        return frozenset({TF})  # RR-5: no children
    result: set[State] = set()
    if any(State.READY in s for s in options):
        result.add(State.READY)
    not_ready = [s - {State.READY} for s in options]
    if all(not_ready):  # every leaf can be something other than READY
        if any(State.CONNECTING in s or State.IDLE in s for s in not_ready):
            result.add(State.CONNECTING)
        if all(TF in s for s in not_ready):
            result.add(TF)
    return frozenset(result)


class RoundRobinMonitor:
    """Judges one round_robin trace; ``health_checking`` says whether the channel checks health."""

    def __init__(
        self,
        *,
        health_checking: bool = False,
        idle_child: IdleChild = IdleChild.AS_CONNECTING,
        resolver_error: ResolverErrorHandling = ResolverErrorHandling.IGNORE,
        exit_idle: ExitIdleHandling = ExitIdleHandling.NOOP,
        failure_error: FailureError = FailureError.MOST_RECENT,
        repeated_endpoint: RepeatedEndpoint = RepeatedEndpoint.EVERY_COPY,
    ) -> None:
        for name, value, kind in (
            ("idle_child", idle_child, IdleChild),
            ("resolver_error", resolver_error, ResolverErrorHandling),
            ("exit_idle", exit_idle, ExitIdleHandling),
            ("failure_error", failure_error, FailureError),
            ("repeated_endpoint", repeated_endpoint, RepeatedEndpoint),
        ):
            if not isinstance(value, kind):
                raise TypeError(f"{name} must be a {kind.__name__}, got {value!r}")
        self.health_checking = health_checking
        self.idle_child = idle_child
        self.resolver_error = resolver_error
        self.exit_idle = exit_idle
        self.failure_error = failure_error
        self.repeated_endpoint = repeated_endpoint
        self.tracker = SubchannelTracker()
        self._endpoints: dict[frozenset[str], _Endpoint] = {}
        self._owner: dict[int, frozenset[str] | None] = {}  # None: shared address, unknown
        self._had_health: set[int] = set()  # subchannels that got health in some READY spell
        self._resolver_errors: set[str] = set()
        self._picker: _Picker | None = None
        self._last_report: State | None = None
        self._possible: frozenset[State] = frozenset({TF})

    # --- what the trace implies ---

    def _shared(self, key: frozenset[str]) -> bool:
        return any(other != key and other & key for other in self._endpoints)

    def _subchannels_of(self, key: frozenset[str]) -> list[SubchannelView]:
        return [s for s in self.tracker.live() if _addrs(s) <= key]

    def _health(self, view: SubchannelView) -> State:
        """The leaf state a READY subchannel gives (HEALTH-1, -2, -5, -6)."""
        if view.health is not None:
            return view.health
        if not view.health_listener or not self.health_checking:
            return State.READY  # HEALTH-1/2: the channel reports READY at registration
        return State.CONNECTING  # HEALTH-5: waiting for the first health update

    def _healthy(self, view: SubchannelView) -> bool:
        return view.state is State.READY and self._health(view) is State.READY

    def ready_subchannels(self) -> frozenset[int]:
        """Live subchannels that are READY and healthy: one per READY leaf."""
        return frozenset(s.ident for s in self.tracker.live() if self._healthy(s))

    def leaf_states(self, key: frozenset[str]) -> frozenset[State]:
        """The states the leaf of endpoint ``key`` can be in now."""
        endpoint = self._endpoints[key]
        subchannels = self._subchannels_of(key)
        ready = [s for s in subchannels if s.state is State.READY]
        if self._shared(key):
            loose = {State.CONNECTING, TF}
            if any(self._healthy(s) for s in ready):
                loose.add(State.READY)
            return frozenset(loose)
        if ready:
            return frozenset(self._health(s) for s in ready)
        if endpoint.sticky_failure:
            return frozenset({TF})
        if endpoint.failed >= key:
            return frozenset({State.CONNECTING, TF})
        return frozenset({State.CONNECTING})

    def _copies_of(self, ready: frozenset[int]) -> dict[int, int]:
        """RR-7 under every_copy: the READY subchannels whose endpoint the update listed more
        than once, each with that count.  The copies' leaves share the subchannel through the
        channel's pool (C-core, grpc-js), so the rotation gives it one turn per copy."""
        turns: dict[int, int] = {}
        for ident in ready:
            owner = self._owner.get(ident)
            endpoint = self._endpoints.get(owner) if owner is not None else None
            if endpoint is not None and endpoint.copies > 1:
                turns[ident] = endpoint.copies
        return turns

    def _known_errors(self) -> set[str]:
        errors = set(self._resolver_errors)
        for endpoint in self._endpoints.values():
            errors |= endpoint.errors
        return errors

    # --- input bookkeeping ---

    def _apply_update(self, update: ev.ResolverUpdate) -> list[frozenset[str]]:
        """Install the new endpoint set; return the keys that are new (RR-1, RR-2)."""
        endpoints: dict[frozenset[str], _Endpoint] = {}
        last_wins = self.repeated_endpoint is RepeatedEndpoint.LAST_WINS
        for endpoint in update.endpoints:
            key = endpoint.key
            listing = frozenset(endpoint.addresses)
            if key not in endpoints:
                endpoints[key] = self._endpoints.get(key) or _Endpoint(key)
                endpoints[key].listed = endpoints[key].listed_by_all = listing
                endpoints[key].copies = 1
            elif last_wins:  # RR-2: the last copy overwrites the earlier ones (grpc-java)
                endpoints[key].listed = endpoints[key].listed_by_all = listing
                endpoints[key].copies += 1
            else:  # RR-2: first_wins after the rotation (RR-12), or every copy a leaf
                endpoints[key].listed |= listing
                endpoints[key].listed_by_all &= listing
                endpoints[key].copies += 1
        added = [k for k in endpoints if k not in self._endpoints]
        self._endpoints = endpoints
        return added

    def _apply_subchannel_change(self, change: ev.SubchannelStateChange) -> set[frozenset[str]]:
        """Update the leaves' histories; return the endpoints whose READY subchannel was lost."""
        view = self.tracker.subchannels.get(change.subchannel)
        lost: set[frozenset[str]] = set()
        if view is None or view.shut_down:
            return lost
        old, new = view.state, change.state
        for key, endpoint in self._endpoints.items():
            if not _addrs(view) <= key:
                continue
            shared = self._shared(key)
            if new is TF:
                endpoint.failed |= _addrs(view)
                if change.error is not None:
                    endpoint.errors.add(change.error.message)
            fresh_start = new is State.READY or (old is State.READY and new is State.IDLE)
            if fresh_start:
                # The leaf starts afresh; when the subchannel may be another leaf's, keep
                # every outcome possible instead.
                endpoint.failed = set(key) if shared else set()
                endpoint.sticky_failure = False
                if old is State.READY and not shared:
                    lost.add(key)
            elif old is State.CONNECTING and new is State.IDLE:
                endpoint.sticky_failure = False  # grpc-go's pick_first starts afresh (PF-20)
        return lost

    def _settle_sticky_failures(self) -> None:
        """A leaf whose every address has a failed live subchannel is in TRANSIENT_FAILURE."""
        for key, endpoint in self._endpoints.items():
            if self._shared(key):
                continue
            subchannels = self._subchannels_of(key)
            covered: set[str] = set()
            for s in subchannels:
                covered |= _addrs(s)
            if subchannels and all(s.state is TF for s in subchannels) and covered >= key:
                endpoint.sticky_failure = True

    # --- the monitor interface ---

    def observe(self, index: int, step: Step) -> list[Violation]:
        out: list[Violation] = []

        def v(req: str, msg: str) -> None:
            out.append(Violation(req, index, msg))

        event = step.input
        ready_before = self.ready_subchannels()
        possible_before = self._possible
        step_error = self._failure_in(event)
        added: list[frozenset[str]] = []
        lost: set[frozenset[str]] = set()
        keys_before = set(self._endpoints)
        live_before = {s.ident for s in self.tracker.live()}
        if isinstance(event, ev.ResolverUpdate):
            added = self._apply_update(event)
        elif isinstance(event, ev.SubchannelStateChange):
            lost = self._apply_subchannel_change(event)
        elif isinstance(event, ev.HealthStateChange):
            self._note_health(event)
        elif isinstance(event, ev.ResolverError) and self._error_reaches_picks():
            self._resolver_errors.add(event.message)
        self.tracker.apply_input(event)
        # Which kept endpoint each READY subchannel serves, before this step's shutdowns:
        # READY as a connection, healthy or not, since a leaf's PF-10 choice is about its
        # connected subchannel, whatever health says of it.
        ready_owner = {
            s.ident: key
            for key in self._endpoints
            if key not in added
            for s in self._subchannels_of(key)
            if s.state is State.READY
        }
        shut_down: set[int] = set()

        reports: list[State] = []
        rejected = False
        connected: set[int] = set()
        for output in step.outputs:
            if isinstance(output, act.PickComplete | act.PickQueue | act.PickFail | act.PickDrop):
                self._judge_pick(output, v)
            elif isinstance(output, act.NewSubchannel):
                self._judge_new_subchannel(output, v)
            elif isinstance(output, act.Connect):
                connected.add(output.subchannel)
            elif isinstance(output, act.UpdateState):
                reports.append(output.state)
            elif isinstance(output, act.UpdateRejected):
                rejected = True
            elif isinstance(output, act.Shutdown):
                shut_down.add(output.subchannel)
            if isinstance(event, ev.HealthStateChange) and isinstance(
                output, act.NewSubchannel | act.Connect | act.Shutdown
            ):
                v("HEALTH-8", f"health update on subchannel {event.subchannel} caused {output}")
            self.tracker.apply_output(output)

        if self.tracker.closed:
            return out  # LB-3 (the boundary monitor) covers what follows Close
        self._settle_sticky_failures()
        self._possible = possible_aggregates(self.leaf_states(k) for k in self._endpoints)
        ready_after = self.ready_subchannels()

        # RR-10 counts the report of the call itself.  A kept endpoint whose READY address the
        # update took away (a new server name keeps the endpoint's key, not pick_first's
        # address) may leave its leaf IDLE (PF-10, pick_first.selected_address_removed =
        # goes_idle); round_robin then asks it to exit IDLE after the call (RR-6), and the
        # leaf's CONNECTING is reported again outside the call (RR-11): one more each.
        may_follow = 0
        if isinstance(event, ev.ResolverUpdate):
            may_follow = len({ready_owner[i] for i in shut_down if i in ready_owner})
        expected = self._reports_expected(event)
        if (
            isinstance(event, _BATCHED_INPUTS)
            and not expected <= len(reports) <= expected + may_follow
        ):
            v(
                "RR-10",
                f"{type(event).__name__} was followed by {len(reports)} reports, not "
                f"{expected}{self._option_note(event)}",
            )
        # round_robin.resolver_error=report_failure: the error's own TRANSIENT_FAILURE
        # (grpc-java), which no child's state explains (RR-5 does not judge it).
        reported_error = (
            isinstance(event, ev.ResolverError)
            and bool(self._endpoints)
            and self.resolver_error is ResolverErrorHandling.REPORT_FAILURE
            and expected == 1
        )
        if reported_error and reports and reports[-1] is not TF:
            v("RR-13", f"reported {reports[-1].name} for a resolver error, not TRANSIENT_FAILURE")
        if isinstance(event, ev.ResolverUpdate):
            self._judge_update(event, added, rejected, reports, connected, v)
            self._judge_kept_children(keys_before, shut_down & live_before, v)
        self._judge_ownership(v)
        for key in sorted(lost, key=sorted):
            mine = {s.ident for s in self._subchannels_of(key)}
            if not connected & mine:
                v("RR-6", f"the leaf of {sorted(key)} lost its READY subchannel and stayed IDLE")

        # RR-5 / AGG-7: IDLE children count as CONNECTING, so round_robin never reports
        # IDLE -- not even briefly, in an intermediate report within one step.  Under
        # round_robin.idle_child=as_idle/after_failure (grpc-go, grpc-js) an IDLE child is
        # its own level until it is told to exit IDLE (RR-6), so a brief IDLE is allowed.
        for state in reports[:-1] if self.idle_child is IdleChild.AS_CONNECTING else ():
            if state is State.IDLE:
                v(
                    "RR-5",
                    "reported IDLE (an intermediate report); IDLE children count as CONNECTING",
                )
        empty_update = isinstance(event, ev.ResolverUpdate) and not self._endpoints
        if reports:
            last = reports[-1]
            if last not in self._possible and not empty_update and not reported_error:
                v(
                    self._explain(last, event),
                    f"reported {last.name}; possible: {_names(self._possible)}",
                )
            self._last_report = last
            self._picker = _Picker(last, ready_after, not self._endpoints)
            if self.repeated_endpoint is RepeatedEndpoint.EVERY_COPY:
                self._picker.turns_of = self._copies_of(ready_after)
            if last is TF and self.failure_error is FailureError.MOST_RECENT:
                # RR-9: a child's failure in this step is what made this report, so it is
                # the most recent; without one (an endpoint removed...) any child's may show.
                self._picker.error = step_error
            if (
                last is TF
                and self.failure_error is FailureError.ROTATING_CHILDREN
                and not reported_error
            ):
                # RR-9: aggregate TRANSIENT_FAILURE means every child is failing, and the
                # picker takes turns over all their pickers (grpc-go endpointsharding.go:
                # 287-289, 314-318; grpc-java RoundRobinLoadBalancer.java:75, 90-97, 153-156).
                # grpc-java's own resolver-error report (RR-13) has one picker: not judged.
                self._picker.turns = len(self._endpoints)
        elif self._last_report is not None:
            if ready_after != ready_before:
                v(
                    "RR-11",
                    f"READY leaves changed from {sorted(ready_before)} to {sorted(ready_after)} "
                    "with no new report",
                )
            elif self._last_report not in self._possible and self._last_report in possible_before:
                v(
                    "RR-11",
                    f"still reporting {self._last_report.name}; possible now: "
                    f"{_names(self._possible)}",
                )
        return out

    def finish(self) -> list[Violation]:
        return []

    # --- the options ---

    def _failure_in(self, event: ev.Input) -> str | None:
        """The error this input hands a child (RR-9): a connection failure of a live
        subchannel, a health failure, or a resolver error that reaches picks."""
        if isinstance(event, ev.SubchannelStateChange | ev.HealthStateChange):
            view = self.tracker.subchannels.get(event.subchannel)
            live = view is not None and not view.shut_down
            if live and event.state is TF and event.error is not None:
                return event.error.message
        if isinstance(event, ev.ResolverError) and self._error_reaches_picks():
            return event.message
        return None

    def _error_reaches_picks(self) -> bool:
        """Whether a resolver error now may show in a failed pick's message (RR-9, RR-13)."""
        if not self._endpoints or self.resolver_error is ResolverErrorHandling.PASS_TO_CHILDREN:
            return True
        if self.resolver_error is ResolverErrorHandling.REPORT_FAILURE:
            return self._last_report is not State.READY
        return False  # ignore: no child hears it, and round_robin does not report it

    def _reports_expected(self, event: ev.Input) -> int:
        """How many reports a resolver update, resolver error or ExitIdle step makes (RR-10)."""
        if isinstance(event, ev.ExitIdle):
            return 1 if self.exit_idle is ExitIdleHandling.FORWARD else 0
        if isinstance(event, ev.ResolverError) and self._endpoints:
            if self.resolver_error is ResolverErrorHandling.IGNORE:
                return 0
            if self.resolver_error is ResolverErrorHandling.REPORT_FAILURE:
                return 0 if self._last_report is State.READY else 1
        return 1  # an update; a resolver error with no children (RR-13)

    def _option_note(self, event: ev.Input) -> str:
        if isinstance(event, ev.ExitIdle):
            return f" (round_robin.exit_idle={self.exit_idle.value})"
        if isinstance(event, ev.ResolverError) and self._endpoints:
            return f" (round_robin.resolver_error={self.resolver_error.value})"
        return ""

    # --- judgements ---

    def _note_health(self, change: ev.HealthStateChange) -> None:
        view = self.tracker.subchannels.get(change.subchannel)
        if view is None:
            return
        self._had_health.add(change.subchannel)
        if change.error is not None:
            for key, endpoint in self._endpoints.items():
                if _addrs(view) <= key:
                    endpoint.errors.add(change.error.message)

    def _judge_new_subchannel(self, output: act.NewSubchannel, v: _Report) -> None:
        if not output.health_listener:
            v("HEALTH-4", f"subchannel {output.subchannel} was created without a health listener")
        addresses = frozenset(a.addr for a in output.addresses)
        owners = [k for k in self._endpoints if addresses <= k]
        if not owners:
            v(
                "RR-1",
                f"subchannel {output.subchannel} for {sorted(addresses)} serves no single "
                "current endpoint",
            )
        self._owner[output.subchannel] = owners[0] if len(owners) == 1 else None

    def _judge_update(
        self,
        update: ev.ResolverUpdate,
        added: list[frozenset[str]],
        rejected: bool,
        reports: list[State],
        connected: set[int],
        v: _Report,
    ) -> None:
        if not update.endpoints:
            if not rejected:
                v("RR-4", "an update with no endpoints was not rejected")
            if reports and reports[-1] is not TF:
                v("RR-4", f"an update with no endpoints ended in {reports[-1].name}")
            return
        if rejected:
            v("RR-4", f"an update with {len(self._endpoints)} endpoint(s) was rejected")
        for key in added:
            mine = {s.ident for s in self._subchannels_of(key)}
            if not connected & mine:
                v("RR-1", f"the new endpoint {sorted(key)} got no connecting subchannel")

    def _judge_kept_children(
        self, keys_before: set[frozenset[str]], shut_down: set[int], v: _Report
    ) -> None:
        """RR-2: an endpoint the update keeps keeps its child (grpc-go endpointsharding.go
        UpdateClientConnState, children keyed by resolver/map.go:201-212, addresses only), and
        the child is sent the endpoint's new list, in which a pick_first leaf shuts down
        exactly the subchannels of addresses it no longer lists (PF-9; grpc-go
        balancer/pickfirst/pickfirst.go:475-489, grpc-java PickFirstLeafLoadBalancer.java:
        195-213).  So an update shuts down no subchannel of a kept endpoint whose addresses
        the new list still names.  ``shut_down`` holds those live before the update: grpc-js's
        pick_first asks the pool for every listed address and, finding the chosen one READY,
        releases the others at once (load-balancer-pick-first.ts:476-484 at 1.14.7), so a
        subchannel may be created and shut down within the update: no child was rebuilt."""
        for ident in sorted(shut_down):
            owner = self._owner.get(ident)
            view = self.tracker.subchannels.get(ident)
            if owner is None or view is None or owner not in keys_before:
                continue
            endpoint = self._endpoints.get(owner)
            if endpoint is not None and set(view.addresses) <= endpoint.listed_by_all:
                v(
                    "RR-2",
                    f"the update kept endpoint {sorted(owner)} but shut down its subchannel "
                    f"{ident} for {_labels(view.addresses)}, which the endpoint still lists: a "
                    "kept endpoint keeps its child and the child its listed subchannels",
                )

    def _judge_listing(self, view: SubchannelView, v: _Report) -> None:
        """RR-1, RR-2: a live subchannel serves addresses its endpoint lists now, compared as
        PF-6 compares them (address, server name, attributes): a kept endpoint's child is sent
        the new list (RR-2), in which its leaf shuts down a subchannel whose address gained or
        lost a server name or attributes (PF-9; grpc-go keys endpoints by address only,
        resolver/map.go:201-212, and pick_first's subchannels by address, server name and
        attributes, map.go:60, 84).  Only when some current endpoint lists the address at
        all (else RR-3).  grpc-java keys its leaf's subchannels by SocketAddress alone, so an
        attribute-only change keeps the subchannel there: the known divergence java-attr-keep
        (docs/explore_implementations.md), which the pick_first monitor flags too (PF-9)."""
        owners = [e for k, e in self._endpoints.items() if _addrs(view) <= k]
        if owners and not any(set(view.addresses) <= e.listed for e in owners):
            v(
                "RR-2",
                f"subchannel {view.ident} for {_labels(view.addresses)} lives, but its endpoint "
                f"now lists {_labels(sorted(owners[0].listed, key=lambda a: a.addr))}: the "
                "endpoint's new address list did not reach its child",
            )

    def _judge_ownership(self, v: _Report) -> None:
        # Counted per address as PF-6 compares them (address, server name and attributes):
        # one endpoint may list "10.0.0.2:80" twice with different server names, and its
        # leaf then rightly has a subchannel for each.
        per_address: dict[Address, int] = {}
        for view in self.tracker.live():
            owner = self._owner.get(view.ident)
            if owner is not None and owner not in self._endpoints:
                v("RR-3", f"subchannel {view.ident} of the removed endpoint {sorted(owner)} lives")
            elif not any(_addrs(view) <= key for key in self._endpoints):
                v("RR-3", f"subchannel {view.ident} serves no current endpoint but lives")
            else:
                self._judge_listing(view, v)
            for address in set(view.addresses):
                per_address[address] = per_address.get(address, 0) + 1
        every_copy = self.repeated_endpoint is RepeatedEndpoint.EVERY_COPY
        for address, count in sorted(per_address.items(), key=lambda item: item[0].addr):
            listed = sum(
                e.copies if every_copy else 1
                for key, e in self._endpoints.items()
                if address.addr in key
            )
            if 0 < listed < count:  # an unlisted address is RR-3's
                v(
                    "RR-2",
                    f"{count} live subchannels for {address.addr}, listed by {listed} endpoint(s)",
                )

    def _explain(self, reported: State, event: ev.Input) -> str:
        """The requirement a wrong report breaks: a health rule when one explains it."""
        if not self._endpoints and isinstance(event, ev.ResolverError):
            return "RR-13"
        if reported is State.READY:
            watched = [
                s
                for s in self.tracker.live()
                if s.state is State.READY and s.health_listener and self.health_checking
            ]
            if any(s.health is None and s.ident in self._had_health for s in watched):
                return "HEALTH-9"
            if any(s.health is None for s in watched):
                return "HEALTH-5"
            if any(s.health is not State.READY for s in watched):
                return "HEALTH-7"
        return "RR-5"

    def _judge_pick(self, outcome: act.PickOutcome, v: _Report) -> None:
        picker = self._picker
        if picker is None:
            return  # no report yet: the channel queues, which is not round_robin's doing
        pick = outcome.pick_id
        if picker.state is State.READY:
            if not isinstance(outcome, act.PickComplete):
                v("RR-7", f"pick {pick} under a READY picker got {type(outcome).__name__}")
                return
            chosen = outcome.subchannel
            if chosen not in picker.ready:
                view = self.tracker.subchannels.get(chosen)
                unhealthy = view is not None and view.state is State.READY
                v(
                    "HEALTH-7" if unhealthy else "RR-7",
                    f"pick {pick} chose subchannel {chosen}, not a READY healthy leaf's "
                    f"({sorted(picker.ready)})",
                )
                return
            n, i = _round(picker), len(picker.picks)
            if i < n and picker.picks.count(chosen) >= picker.turns_of.get(chosen, 1):
                v("RR-7", f"pick {pick} repeated subchannel {chosen} before all {n} had a turn")
            elif i >= n and chosen != picker.picks[i - n]:
                v(
                    "RR-7",
                    f"pick {pick} chose {chosen}; the cycle {picker.picks[:n]} wants "
                    f"{picker.picks[i - n]}",
                )
            picker.picks.append(chosen)
        elif picker.state is TF:
            if not isinstance(outcome, act.PickFail):
                v("RR-9", f"pick {pick} under TRANSIENT_FAILURE got {type(outcome).__name__}")
            elif picker.no_children:
                if outcome.status.code is not StatusCode.UNAVAILABLE:
                    v("RR-4", f"pick {pick} with no children failed {outcome.status.code.name}")
            elif picker.error is not None and picker.error not in outcome.status.message:
                v(
                    "RR-9",
                    f"pick {pick} failed with {outcome.status}, not the most recent failure's "
                    f"error {picker.error!r} (round_robin.failure_error=most_recent)",
                )
            elif not any(e in outcome.status.message for e in self._known_errors()):
                v("RR-9", f"pick {pick} failed with {outcome.status}, no child's error")
            elif picker.turns > 1:
                self._judge_turn(picker, outcome, v)
            if picker.turns:
                picker.failed += 1
        elif not isinstance(outcome, act.PickQueue):  # CONNECTING (or an illegal IDLE)
            v("RR-8", f"pick {pick} under {picker.state.name} got {type(outcome).__name__}")

    def _judge_turn(self, picker: _Picker, outcome: act.PickFail, v: _Report) -> None:
        """RR-9 under round_robin.failure_error=rotating_children: the failing children's
        pickers take turns, one pick each, in a fixed cyclic order from any start.

        A child's picker is fixed while this picker is in force (a child's new picker makes
        a new report, RR-11), so it fails every pick with one error of that child.  A pick is
        attributed to a child when its message contains an error the trace gave that child
        and no error it gave another; others are not judged.  With n children, pick i is at
        place i mod n: two attributed picks at one place show one child, and two at
        different places show different children.  So when the children's errors differ,
        every failing child's error appears once in every n consecutive picks."""
        message = outcome.status.message
        owners = [
            key
            for key, endpoint in self._endpoints.items()
            if any(e in message for e in endpoint.errors)
        ]
        if len(owners) != 1:
            return
        child, n = owners[0], picker.turns
        place = picker.failed % n
        held = picker.places.get(place)
        earlier = [p for p, c in picker.places.items() if c == child and p != place]
        if held is not None and held != child:
            v(
                "RR-9",
                f"pick {outcome.pick_id} failed with the error of {sorted(child)}'s child, but "
                f"this place in the rotation over {n} failing children showed "
                f"{sorted(held)}'s (round_robin.failure_error=rotating_children)",
            )
        elif earlier:
            v(
                "RR-9",
                f"pick {outcome.pick_id} failed with the error of {sorted(child)}'s child again "
                f"within {n} picks: the {n} failing children's pickers take turns "
                "(round_robin.failure_error=rotating_children)",
            )
        else:
            picker.places[place] = child

    def canonical_state(self, name: Callable[[int], int]) -> tuple[Any, ...]:
        """What later judging depends on, subchannels renamed by ``name`` (conformance explore).

        Of the picks under a READY picker only the first cycle and the place in it matter:
        every later pick is checked against ``picks[i - n]``, which equals the cycle's
        ``(i - n) % n``-th entry as long as no violation was reported (RR-7).
        """
        endpoints = tuple(
            (
                tuple(sorted(k)),
                tuple(sorted(e.listed, key=repr)),
                tuple(sorted(e.listed_by_all, key=repr)),
                tuple(sorted(e.failed)),
                e.sticky_failure,
                tuple(sorted(e.errors)),
                e.copies,
            )
            for k, e in self._endpoints.items()
        )
        live = {s.ident for s in self.tracker.live()}
        owners = sorted(
            (name(i), None if o is None else tuple(sorted(o)))
            for i, o in self._owner.items()
            if i in live
        )
        picker: tuple[Any, ...] | None = None
        if self._picker is not None:
            p = self._picker
            n, i = _round(p), len(p.picks)
            cycle = tuple(name(x) for x in p.picks[:n])
            place = i if i < n or n == 0 else n + (i - n) % n
            ready = tuple(sorted(name(x) for x in p.ready))
            turns = (
                p.turns,
                p.failed % p.turns if p.turns else 0,
                tuple(sorted((k, tuple(sorted(c))) for k, c in p.places.items())),
            )
            copies = tuple(sorted((name(x), k) for x, k in p.turns_of.items()))
            picker = (p.state, ready, p.no_children, cycle, place, p.error, turns, copies)
        return (
            self.tracker.canonical_state(name),
            endpoints,
            tuple(owners),
            tuple(sorted(name(i) for i in self._had_health if i in live)),
            tuple(sorted(self._resolver_errors)),
            picker,
            self._last_report,
            tuple(sorted(self._possible, key=lambda s: s.value)),
        )


def _round(picker: _Picker) -> int:
    """RR-7: the picks in one round of a READY picker, one per READY leaf."""
    return sum(picker.turns_of.get(ident, 1) for ident in picker.ready)


def _labels(addresses: Iterable[Address]) -> str:
    """Addresses as a message shows them: with a server name and attributes when they have one."""
    out = []
    for a in addresses:
        extra = [f"server_name={a.server_name}"] if a.server_name else []
        extra += [f"{k}={val}" for k, val in a.attributes]
        out.append(a.addr + ("{" + ", ".join(extra) + "}" if extra else ""))
    return "[" + ", ".join(out) + "]"


def _names(states: Iterable[State]) -> str:
    return "{" + ", ".join(sorted(s.name for s in states)) + "}"
