"""pick_first under random inputs: both monitors must find nothing after every step.

The machine plays the channel around one reference pick_first (top-level, or a leaf
that watches health), feeding it anything the channel could: resolver updates
(duplicates, mixed address families, weights, shuffling, empty lists, a bad config now
and then), resolver errors, legal subchannel transitions for subchannels that exist,
health changes once a listener is registered, picks, RPC completions, load reports,
time, ExitIdle; every run ends with Close.
"""

from __future__ import annotations

import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from refimpl.driver import FakeSubConn
from refimpl.pick_first import PickFirstBuilder
from spec import actions as act
from spec import events as ev
from spec.catalogue.pick_first import ReresolutionMode
from spec.connectivity import Profile, State, transitions
from spec.monitors.boundary import BoundaryMonitor
from spec.monitors.pick_first import PickFirstMonitor
from spec.trace import Violation
from spec.types import Address, Duration, Endpoint, OrcaLoadReport, Status, StatusCode
from tests.refimpl.test_pick_first import Run, make_run
from tests.stateful.effects import CountsEffects, takes_effect

POOL = (
    Address("10.0.0.1:80"),
    Address("10.0.0.2:80"),
    Address("10.0.0.2:80", balancer_attributes={"w": 3}),  # the same address as above
    Address("10.0.0.1:80", attributes={"zone": "b"}),  # a different address
    Address("[2001:db8::1]:80"),
    Address("[2001:db8::2]:80"),
    Address("[::ffff:10.0.0.9]:80"),  # IPv4-mapped: the IPv4 family
    Address("backend.example:443"),
)
CONFIGS: tuple[dict[str, object] | None, ...] = (
    None,
    {},
    {"shuffleAddressList": True},
    {"shuffleAddressList": False},
    {"shuffleAddressList": True, "unknownField": 1},
    {"shuffleAddressList": "yes"},  # invalid: the channel rejects it
)
ERRORS = ("connection refused", "handshake timed out", "connection reset")
HEALTH = (State.CONNECTING, State.READY, State.TRANSIENT_FAILURE)
NEXT_STATES = {
    source: [t.target for t in transitions(Profile.CURRENT) if t.source is source]
    for source in State
}
# Moves towards READY, and round the failure cycle (attempt fails, backoff ends), each
# offered by a rule of its own so that runs reach READY, and sticky TRANSIENT_FAILURE
# with several subchannels, more often than a uniform choice of moves would.
AHEAD = {State.IDLE: State.CONNECTING, State.CONNECTING: State.READY}
FAILING = {State.CONNECTING: State.TRANSIENT_FAILURE, State.TRANSIENT_FAILURE: State.IDLE}

endpoints = st.builds(
    Endpoint,
    st.lists(st.sampled_from(POOL), min_size=1, max_size=2),
    weight=st.none() | st.integers(1, 4),
)


def _error(state: State, message: str) -> Status | None:
    return Status(StatusCode.UNAVAILABLE, message) if state is State.TRANSIENT_FAILURE else None


class PickFirstMachine(CountsEffects, RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.run: Run | None = None
        self.monitors: list[BoundaryMonitor | PickFirstMonitor] = []
        self.violations: list[Violation] = []
        self.picks = 0
        self.completed: list[int] = []

    @initialize(
        seed=st.integers(0, 2**32 - 1),
        # Half the runs watch health, so health_changes acts in many runs (issue 19).
        role=st.sampled_from(
            ("top-level", "leaf", "leaf with health checking", "leaf with health checking")
        ),
        mode=st.sampled_from(ReresolutionMode),
        first=st.lists(endpoints, min_size=1, max_size=4),
        shuffle=st.booleans(),
    )
    def start(
        self,
        seed: int,
        role: str,
        mode: ReresolutionMode,
        first: list[Endpoint],
        shuffle: bool,
    ) -> None:
        leaf, checking = role != "top-level", role == "leaf with health checking"
        self.run = make_run(
            seed=seed,
            health=leaf,
            health_checking=checking,
            reresolution=mode,
            builder=self.leaf_builder(mode) if checking else None,
        )
        self.monitors = [BoundaryMonitor(), self.run.monitor()]
        self.feed(ev.ResolverUpdate(first, config={"shuffleAddressList": shuffle}))

    def leaf_builder(self, mode: ReresolutionMode) -> PickFirstBuilder | None:
        """The pick_first that watches health; None: the reference.  A test of the tests
        (test_machines_find_planted_bugs.py) plants a bug here."""
        return None

    # --- helpers ---

    @property
    def r(self) -> Run:
        assert self.run is not None
        return self.run

    def started(self) -> bool:
        return self.run is not None

    def feed(self, event: ev.Input) -> None:
        self.fed()
        outputs = self.r(event)
        index = len(self.r.trace) - 1
        for monitor in self.monitors:
            self.violations.extend(monitor.observe(index, self.r.trace[index]))
        self.completed += [o.pick_id for o in outputs if isinstance(o, act.PickComplete)]

    def moves(self) -> list[tuple[FakeSubConn, State]]:
        """Every subchannel transition the channel could deliver now."""
        found: list[tuple[FakeSubConn, State]] = []
        for sub in self.r.driver.live_subchannels():
            for target in NEXT_STATES[sub.state]:
                if target is State.SHUTDOWN:
                    continue  # only the policy shuts subchannels down
                if sub.state is State.IDLE and not sub.connect_requested:
                    continue  # CONN-2: leaving IDLE needs a Connect
                found.append((sub, target))
        return found

    def progress(self) -> list[tuple[FakeSubConn, State]]:
        return [(sub, target) for sub, target in self.moves() if AHEAD.get(sub.state) is target]

    def failing(self) -> list[tuple[FakeSubConn, State]]:
        return [(sub, target) for sub, target in self.moves() if FAILING.get(sub.state) is target]

    def watched(self) -> list[FakeSubConn]:
        if not self.r.driver.health_checking:
            return []  # the channel itself delivers health READY
        live = self.r.driver.live_subchannels()
        return [s for s in live if s.state is State.READY and s.health_listener is not None]

    def ready(self) -> list[FakeSubConn]:
        return [s for s in self.r.driver.live_subchannels() if s.state is State.READY]

    # --- rules ---

    @precondition(started)
    @rule(
        chosen=st.lists(endpoints, max_size=4),
        config=st.sampled_from(CONFIGS),
        error=st.none() | st.sampled_from(("resolver failed", "NXDOMAIN")),
    )
    @takes_effect
    def resolver_reports(self, chosen: list[Endpoint], config: object, error: str | None) -> None:
        """One rule for both resolver inputs, so that they do not reset runs too often."""
        if error is not None:
            self.feed(ev.ResolverError(error))
        else:
            self.feed(ev.ResolverUpdate(chosen, config=config))

    @precondition(lambda self: self.started() and bool(self.moves()))
    @rule(data=st.data())
    @takes_effect
    def subchannel_changes(self, data: st.DataObject) -> None:
        sub, target = data.draw(st.sampled_from(self.moves()), label="move")
        message = data.draw(st.sampled_from(ERRORS), label="error")
        self.feed(ev.SubchannelStateChange(sub.ident, target, _error(target, message)))

    @precondition(lambda self: self.started() and bool(self.progress()))
    @rule(data=st.data())
    @takes_effect
    def subchannel_progresses(self, data: st.DataObject) -> None:
        sub, target = data.draw(st.sampled_from(self.progress()), label="progress")
        self.feed(ev.SubchannelStateChange(sub.ident, target))

    @precondition(lambda self: self.started() and bool(self.failing()))
    @rule(data=st.data())
    @takes_effect
    def subchannel_fails(self, data: st.DataObject) -> None:
        sub, target = data.draw(st.sampled_from(self.failing()), label="failure")
        message = data.draw(st.sampled_from(ERRORS), label="error")
        self.feed(ev.SubchannelStateChange(sub.ident, target, _error(target, message)))

    @precondition(lambda self: self.started() and bool(self.watched()))
    @rule(data=st.data())
    @takes_effect
    def health_changes(self, data: st.DataObject) -> None:
        sub = data.draw(st.sampled_from(self.watched()), label="subchannel")
        state = data.draw(st.sampled_from(HEALTH), label="health")
        self.feed(ev.HealthStateChange(sub.ident, state, _error(state, "unhealthy")))

    @precondition(started)
    @rule(data=st.data())
    @takes_effect
    def rpcs(self, data: st.DataObject) -> None:
        """A pick, the end of a completed one, or a load report from a READY subchannel."""
        kinds = ["pick"] + ["done"] * bool(self.completed) + ["load report"] * bool(self.ready())
        kind = data.draw(st.sampled_from(kinds), label="rpc")
        if kind == "pick":
            self.picks += 1
            wait_for_ready = data.draw(st.booleans(), label="wait_for_ready")
            self.feed(ev.Pick(self.picks, wait_for_ready=wait_for_ready))
        elif kind == "done":
            pick_id = data.draw(st.sampled_from(self.completed), label="pick")
            self.completed.remove(pick_id)
            self.feed(ev.Done(pick_id, load_report=OrcaLoadReport(cpu_utilization=0.5)))
        else:
            report = OrcaLoadReport(rps_fractional=10.0)
            self.feed(ev.OobLoadReport(self.ready()[0].ident, report))

    @precondition(started)
    @rule(millis=st.sampled_from((1, 100, 249, 250, 251, 500, 1000)))
    @takes_effect
    def time_passes(self, millis: int) -> None:
        self.feed(ev.TimeAdvanced(Duration.of(millis=millis)))

    @precondition(started)
    @rule()
    @takes_effect
    def exit_idle(self) -> None:
        self.feed(ev.ExitIdle())

    @invariant()
    def monitors_find_nothing(self) -> None:
        assert [str(v) for v in self.violations] == []

    def teardown(self) -> None:
        """Every run ends with Close: all shut down and no timer left (PF-23, LB-3)."""
        if self.run is None:
            return
        self.record_effects()
        self.feed(ev.Close())
        assert self.r.driver.clock.pending() == 0
        for monitor in self.monitors:
            self.violations.extend(monitor.finish())
        assert [str(v) for v in self.violations] == []
        reports = [
            o.state for s in self.r.trace for o in s.outputs if isinstance(o, act.UpdateState)
        ]
        for state in sorted(set(reports)):
            event(f"reported {state.name}")
        if reports.count(State.TRANSIENT_FAILURE) > 1:
            event("reported TRANSIENT_FAILURE more than once")
        if any(isinstance(s.input, ev.HealthStateChange) for s in self.r.trace):
            event("health changed")
        event(f"steps: {len(self.r.trace) // 10 * 10}+")


PickFirstMachine.TestCase.settings = settings(stateful_step_count=50, deadline=None)
# The monitors judge every rule on every step; these are the ones the machine reaches.
TestPickFirstMachine = pytest.mark.req(
    "PF-2",
    "PF-5",
    "PF-6",
    "PF-7",
    "PF-8",
    "PF-10",
    "PF-11",
    "PF-12",
    "PF-13",
    "PF-14",
    "PF-15",
    "PF-16",
    "PF-19",
    "PF-20",
    "PF-21",
    "PF-22",
    "PF-23",
    "PF-24",
    "PF-27",
    "PF-28",
    "LB-1",
    "LB-2",
    "LB-3",
    "LB-4",
    "LB-5",
)(PickFirstMachine.TestCase)
