"""round_robin under random inputs, judged after every step by the boundary and RR monitors.

The machine feeds the Driver resolver updates (repeats, reordered repeats,
endpoints sharing an address, empty lists), legal subchannel transitions,
health updates where a health listener is registered (in runs with client-side
health checking), picks and their completions, time, resolver errors and
ExitIdle; every run ends with Close.  Any violation fails the run with the trace's tail.
"""

from __future__ import annotations

from typing import ClassVar

import hypothesis.strategies as st
from hypothesis import event, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from refimpl.balancer import Builder
from refimpl.driver import Driver, FakeSubConn
from spec import events as ev
from spec.connectivity import State, is_legal
from spec.monitors.boundary import BoundaryMonitor
from spec.monitors.round_robin import RoundRobinMonitor
from spec.options import (
    ExitIdleHandling,
    FailureError,
    RepeatedEndpoint,
    ResolverErrorHandling,
)
from spec.trace import Monitor, Step, Violation
from spec.types import Duration, Endpoint, Status, StatusCode
from tests.stateful.effects import CountsEffects, takes_effect

I, C, R, TF = State.IDLE, State.CONNECTING, State.READY, State.TRANSIENT_FAILURE

# Endpoints to build updates from: single and multi-address, a reordered repeat
# (same endpoint) and one that shares an address with another.
MENU = [
    Endpoint(["10.0.0.1:80"]),
    Endpoint(["10.0.0.2:80"]),
    Endpoint(["10.0.0.3:80", "[2001:db8::3]:80"]),
    Endpoint(["[2001:db8::3]:80", "10.0.0.3:80"]),
    Endpoint(["10.0.0.4:80"]),
    Endpoint(["10.0.0.5:80", "10.0.0.6:80", "10.0.0.7:80"]),
    Endpoint(["10.0.0.1:80", "10.0.0.8:80"]),
]
TARGETS = (I, C, R, TF)


class RoundRobinMachine(CountsEffects, RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.driver: Driver | None = None
        self.monitors: list[Monitor] = []
        self.trace: list[Step] = []
        self.violations: list[Violation] = []
        self.next_pick = 1
        self.completed: list[int] = []
        self.errors = 0

    # The policy under test; tests/stateful/test_machines_find_planted_bugs.py plants bugs here.
    builder: ClassVar[str | Builder] = "round_robin"

    @initialize(
        seed=st.integers(0, 2**32 - 1),
        # Two runs in three watch health, so the health rules act in many runs (issue 19).
        health_checking=st.sampled_from([False, True, True]),
        endpoints=st.lists(st.sampled_from(MENU), min_size=1, max_size=5),
    )
    def start(self, seed: int, health_checking: bool, endpoints: list[Endpoint]) -> None:
        """A run starts with a resolver update, as a channel's does."""
        self.driver = Driver(self.builder, seed=seed, health_checking=health_checking)
        # The reference's values of round_robin.resolver_error, .exit_idle, .failure_error and
        # .repeated_endpoint (conformance/adapters/refimpl.py), not the registry's defaults.
        rr = RoundRobinMonitor(
            health_checking=health_checking,
            resolver_error=ResolverErrorHandling.PASS_TO_CHILDREN,
            exit_idle=ExitIdleHandling.FORWARD,
            failure_error=FailureError.ROTATING_CHILDREN,
            repeated_endpoint=RepeatedEndpoint.FIRST_WINS,
        )
        self.monitors = [BoundaryMonitor(), rr]
        self.feed(ev.ResolverUpdate(endpoints))

    # --- helpers ---

    @property
    def d(self) -> Driver:
        assert self.driver is not None
        return self.driver

    def feed(self, event: ev.Input) -> None:
        self.fed()
        outputs = self.d.step(event)
        step = Step(event, outputs)
        index = len(self.trace)
        self.trace.append(step)
        for monitor in self.monitors:
            self.violations.extend(monitor.observe(index, step))
        for o in outputs:
            if type(o).__name__ == "PickComplete":
                self.completed.append(o.pick_id)  # type: ignore[union-attr]

    def error(self, what: str) -> Status:
        self.errors += 1
        return Status(StatusCode.UNAVAILABLE, f"{what} #{self.errors}")

    def movable(self) -> list[tuple[FakeSubConn, State]]:
        moves = []
        for sub in self.d.live_subchannels():
            for target in TARGETS:
                if not is_legal(sub.state, target, self.d.profile):
                    continue
                if sub.state is I and target is C and not sub.connect_requested:
                    continue  # CONN-2: only after connect()
                moves.append((sub, target))
        return moves

    def open(self) -> bool:
        return self.driver is not None and not self.d.closed

    # --- rules ---

    @precondition(lambda self: self.open())
    @rule(endpoints=st.lists(st.sampled_from(MENU), max_size=5))
    @takes_effect
    def resolver_update(self, endpoints: list[Endpoint]) -> None:
        self.feed(ev.ResolverUpdate(endpoints))

    @precondition(lambda self: self.open() and bool(self.movable()))
    @rule(data=st.data())
    @takes_effect
    def subchannel_moves(self, data: st.DataObject) -> None:
        sub, target = data.draw(st.sampled_from(self.movable()))
        error = self.error("connection refused") if target is TF else None
        self.feed(ev.SubchannelStateChange(sub.ident, target, error))

    def connecting_moves(self) -> list[tuple[FakeSubConn, State]]:
        """Moves towards READY: out of a failure or IDLE into CONNECTING, or on to READY."""
        ready_moves = [(s, t) for s, t in self.movable() if t in (C, R) and s.state is not I]
        return ready_moves or [(s, t) for s, t in self.movable() if t is C]

    @precondition(lambda self: self.open() and bool(self.connecting_moves()))
    @rule(data=st.data())
    @takes_effect
    def subchannel_connects(self, data: st.DataObject) -> None:
        """Biased towards READY, so rotation over several READY endpoints gets exercised."""
        sub, target = data.draw(st.sampled_from(self.connecting_moves()))
        self.feed(ev.SubchannelStateChange(sub.ident, target))

    def some_can_come_up(self) -> bool:
        return any(
            (s.state is I and s.connect_requested) or s.state is C
            for s in self.d.live_subchannels()
        )

    @precondition(lambda self: self.open() and self.some_can_come_up())
    @rule()
    @takes_effect
    def every_backend_comes_up(self) -> None:
        """Every subchannel that is trying, or may try, connects: many READY endpoints at once."""
        for sub in list(self.d.live_subchannels()):
            if sub.state is I and sub.connect_requested:
                self.feed(ev.SubchannelStateChange(sub.ident, C))
            if sub.state is C:
                self.feed(ev.SubchannelStateChange(sub.ident, R))
        if self.d.health_checking:
            for sub in list(self.d.live_subchannels()):
                if sub.health_listener is not None:
                    self.feed(ev.HealthStateChange(sub.ident, R))

    @precondition(
        lambda self: (
            self.open()
            and self.d.health_checking
            and any(s.health_listener is not None for s in self.d.live_subchannels())
        )
    )
    @rule(data=st.data(), state=st.sampled_from([C, R, R, TF]))
    @takes_effect
    def health_changes(self, data: st.DataObject, state: State) -> None:
        watched = [s for s in self.d.live_subchannels() if s.health_listener is not None]
        sub = data.draw(st.sampled_from(watched))
        error = self.error("NOT_SERVING") if state is TF else None
        self.feed(ev.HealthStateChange(sub.ident, state, error))

    @precondition(lambda self: self.open() and bool(self.trace))
    @rule(count=st.integers(1, 8), wait_for_ready=st.booleans(), finished=st.integers(0, 8))
    @takes_effect
    def picks(self, count: int, wait_for_ready: bool, finished: int) -> None:
        """Picks, then the first ``finished`` completed RPCs end (done ends any one)."""
        ready = sum(s.state is R for s in self.d.live_subchannels())
        event(f"pick under {self.d.state.name} with {min(ready, 3)}+ READY subchannels")
        for _ in range(count):
            self.feed(ev.Pick(self.next_pick, wait_for_ready=wait_for_ready))
            self.next_pick += 1
        for pick_id in self.completed[:finished]:
            self.completed.remove(pick_id)
            self.feed(ev.Done(pick_id))

    @precondition(lambda self: self.open() and bool(self.completed))
    @rule(data=st.data())
    @takes_effect
    def done(self, data: st.DataObject) -> None:
        pick_id = data.draw(st.sampled_from(self.completed))
        self.completed.remove(pick_id)
        self.feed(ev.Done(pick_id))

    @precondition(lambda self: self.open())
    @rule(millis=st.sampled_from([100, 250, 1000]))
    @takes_effect
    def time_passes(self, millis: int) -> None:
        self.feed(ev.TimeAdvanced(Duration.of(millis=millis)))

    @precondition(lambda self: self.open())
    @rule()
    @takes_effect
    def resolver_error(self) -> None:
        self.feed(ev.ResolverError(self.error("dns lookup failed").message))

    @precondition(lambda self: self.open())
    @rule()
    @takes_effect
    def exit_idle(self) -> None:
        self.feed(ev.ExitIdle())

    @invariant()
    def monitors_agree(self) -> None:
        if self.violations:
            tail = "\n".join(f"{i}: {s}" for i, s in enumerate(self.trace))
            raise AssertionError(f"{self.violations}\ntrace:\n{tail}")

    def teardown(self) -> None:
        """Every run ends with Close: everything is shut down and nothing follows (LB-3)."""
        if self.open():
            self.record_effects()
            self.feed(ev.Close())
            assert all(s.state is State.SHUTDOWN for s in self.d.subconns.values())
            for monitor in self.monitors:  # the statistical and end-of-trace rules
                self.violations.extend(monitor.finish())
            self.monitors_agree()


RoundRobinMachine.TestCase.settings = settings(
    settings.default, deadline=None, stateful_step_count=60
)
test_round_robin_machine = RoundRobinMachine.TestCase
