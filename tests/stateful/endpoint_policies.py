"""A Hypothesis state machine for policies built on endpointsharding (WRR, least_request).

It drives :class:`refimpl.driver.Driver` with every input the channel could
send -- resolver updates (with good, bad and missing configs), subchannel and
health transitions, picks, Dones with or without load reports, out-of-band
reports, time, ExitIdle, resolver errors -- choosing only inputs the driver
accepts in the current state, and judges each step with the monitors as it
goes.  Subclasses say which policy, which monitors and which configs.
"""

from __future__ import annotations

import random
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from refimpl.driver import Driver
from spec import actions as act
from spec import events as ev
from spec.connectivity import Profile, State, transitions
from spec.monitors.boundary import BoundaryMonitor
from spec.trace import Monitor, Step
from spec.types import Duration, Endpoint, OrcaLoadReport, Status, StatusCode
from tests.stateful.effects import CountsEffects, takes_effect

POOL = tuple(
    Endpoint([f"10.0.{i}.1:80", f"10.0.{i}.2:80"]) if i % 2 else Endpoint([f"10.0.{i}.1:80"])
    for i in range(5)
)
ERROR = Status(StatusCode.UNAVAILABLE, "connection refused")
_NEXT = {
    source: [t.target for t in transitions(Profile.CURRENT) if t.source is source]
    for source in State
}

# A run starts with two or more distinct endpoints, so that picks have a choice to make
# (LR-10 and WRR-16 learn nothing from one).  Later updates may have any size, and now
# and then a repeated endpoint -- after which the monitors stop judging picks, since the
# trace no longer says which endpoint a subchannel serves (spec/monitors/ready_endpoints.py).
first_endpoints = st.lists(st.sampled_from(POOL), min_size=2, max_size=5, unique=True)
later_endpoints = st.one_of(
    st.lists(st.sampled_from(POOL), max_size=5, unique=True),
    st.lists(st.sampled_from(POOL), max_size=5, unique=True),
    st.lists(st.sampled_from(POOL), max_size=5, unique=True),
    st.lists(st.sampled_from(POOL), max_size=4),
)
server_loads = st.builds(
    OrcaLoadReport,
    application_utilization=st.sampled_from([0.1, 0.25, 0.5, 1.0]),
    rps_fractional=st.sampled_from([5.0, 10.0, 40.0]),
    # Errors per second that matter next to qps: the penalty (WRR-5) changes weights.
    eps=st.sampled_from([0.0, 2.0, 10.0]),
)
reports = st.builds(
    OrcaLoadReport,
    cpu_utilization=st.sampled_from([0.0, 0.2, 1.0]),
    application_utilization=st.sampled_from([0.0, 0.1, 0.5, 1.0]),
    rps_fractional=st.sampled_from([0.0, 1.0, 10.0, 50.0]),
    eps=st.sampled_from([0.0, 1.0, 5.0]),
)


class EndpointPolicyMachine(CountsEffects, RuleBasedStateMachine):
    """Runs one policy; subclasses define the driver, the monitors and the configs."""

    configs: ClassVar[st.SearchStrategy[Any]]
    # Which of the policy's two variants a run builds (subclasses say what each is).
    variants: ClassVar[st.SearchStrategy[int]] = st.integers(0, 1)

    def __init__(self) -> None:
        super().__init__()
        self.driver: Driver | None = None
        self.monitors: list[Monitor] = []
        self.health_checking = False
        self.steps = 0
        self.next_pick = 1
        self.open_picks: dict[int, int] = {}  # pick id -> subchannel
        self.loads: dict[str, OrcaLoadReport] = {}  # each backend's load, as it reports it

    # --- what subclasses provide ---

    def build(self, seed: int, health_checking: bool, variant: int) -> Driver:
        raise NotImplementedError

    def policy_monitors(self, variant: int) -> list[Monitor]:
        raise NotImplementedError

    def check_policy_state(self) -> None:
        """Extra invariants on the reference implementation after each step."""

    # --- running steps ---

    @property
    def d(self) -> Driver:
        assert self.driver is not None
        return self.driver

    def run(self, event: ev.Input) -> tuple[act.Output, ...]:
        self.fed()
        outputs = self.d.step(event)
        step = Step(event, outputs)
        for monitor in self.monitors:
            violations = monitor.observe(self.steps, step)
            assert not violations, "\n".join(str(v) for v in violations)
        self.steps += 1
        for output in outputs:
            if isinstance(output, act.PickComplete):
                self.open_picks[output.pick_id] = output.subchannel
        self.check_policy_state()
        return outputs

    def live(self, *states: State) -> list[int]:
        return [sc.ident for sc in self.d.live_subchannels() if not states or sc.state in states]

    # Each rule is enabled only where it has something to do (issue 19): a rule that
    # finds nothing to feed the policy wastes a step of the run.

    def started(self) -> bool:
        return self.driver is not None

    def moves(self) -> list[tuple[int, State]]:
        """Every subchannel transition the channel could deliver now (not SHUTDOWN)."""
        candidates: list[tuple[int, State]] = []
        for sc in self.d.live_subchannels():
            for target in _NEXT[sc.state]:
                if target is State.SHUTDOWN:
                    continue  # only the policy shuts subchannels down
                if sc.state is State.IDLE and not sc.connect_requested:
                    continue  # CONN-2: leaving IDLE needs a Connect
                candidates.append((sc.ident, target))
        return candidates

    def can_come_up(self) -> bool:
        """Some subchannel is on its way to READY (subchannels_connect has work)."""
        return any(
            (sc.state is State.IDLE and sc.connect_requested) or sc.state is State.CONNECTING
            for sc in self.d.live_subchannels()
        )

    def watched(self) -> list[int]:
        """READY subchannels whose health is watched (client-side health checking only)."""
        if not self.health_checking:
            return []
        return [
            sc.ident
            for sc in self.d.live_subchannels()
            if sc.state is State.READY and sc.health_listener is not None
        ]

    def oob_targets(self) -> list[int]:
        """READY subchannels: the channel delivers out-of-band reports only for those."""
        return self.live(State.READY)

    # --- rules ---

    @initialize(
        seed=st.integers(0, 2**32 - 1),
        # Two runs in three watch health, so the health rules act in many runs (issue 19).
        health_checking=st.sampled_from([False, True, True]),
        data=st.data(),
    )
    def start(self, seed: int, health_checking: bool, data: st.DataObject) -> None:
        variant = data.draw(self.variants, label="variant")
        self.health_checking = health_checking
        self.driver = self.build(seed, health_checking, variant)
        self.monitors = [BoundaryMonitor(), *self.policy_monitors(variant)]
        for endpoint in POOL:
            for address in endpoint.addresses:
                self.loads[address.addr] = data.draw(server_loads)
        endpoints = data.draw(first_endpoints)
        self.run(ev.ResolverUpdate(endpoints, config=data.draw(self.configs)))
        self.bring_up()

    @precondition(started)
    @rule(endpoints=later_endpoints, data=st.data())
    @takes_effect
    def resolver_update(self, endpoints: list[Endpoint], data: st.DataObject) -> None:
        self.run(ev.ResolverUpdate(endpoints, config=data.draw(self.configs)))

    @precondition(lambda self: self.started() and bool(self.moves()))
    @rule(data=st.data())
    @takes_effect
    def subchannel_changes(self, data: st.DataObject) -> None:
        ident, target = data.draw(st.sampled_from(self.moves()))
        error = ERROR if target is State.TRANSIENT_FAILURE else None
        self.run(ev.SubchannelStateChange(ident, target, error))

    @precondition(lambda self: self.started() and self.can_come_up())
    @rule()
    @takes_effect
    def subchannels_connect(self) -> None:
        """Bring every subchannel that can connect all the way to READY (and healthy)."""
        self.bring_up()

    def bring_up(self) -> None:
        for sc in list(self.d.live_subchannels()):
            if sc.state is State.SHUTDOWN:
                continue
            if sc.state is State.IDLE and sc.connect_requested:
                self.run(ev.SubchannelStateChange(sc.ident, State.CONNECTING))
            if sc.state is State.CONNECTING:
                self.run(ev.SubchannelStateChange(sc.ident, State.READY))
            if self.health_checking and sc.state is State.READY and sc.health_listener:
                self.run(ev.HealthStateChange(sc.ident, State.READY))

    @precondition(lambda self: self.started() and bool(self.watched()))
    @rule(data=st.data())
    @takes_effect
    def health_changes(self, data: st.DataObject) -> None:
        ident = data.draw(st.sampled_from(self.watched()))
        state = data.draw(st.sampled_from([State.READY, State.CONNECTING, State.TRANSIENT_FAILURE]))
        error = ERROR if state is State.TRANSIENT_FAILURE else None
        self.run(ev.HealthStateChange(ident, state, error))

    @precondition(started)
    @rule(wait_for_ready=st.booleans())
    @takes_effect
    def pick(self, wait_for_ready: bool) -> None:
        self.run(ev.Pick(self.next_pick, wait_for_ready=wait_for_ready))
        self.next_pick += 1

    def picks_while_ready(self, count: int) -> None:
        for _ in range(count):
            self.run(ev.Pick(self.next_pick))
            self.next_pick += 1

    @precondition(lambda self: self.started() and bool(self.open_picks))
    @rule(
        data=st.data(),
        error=st.sampled_from([None, ERROR, Status(StatusCode.CANCELLED)]),
        report=st.none() | reports,
    )
    @takes_effect
    def done(
        self, data: st.DataObject, error: Status | None, report: OrcaLoadReport | None
    ) -> None:
        pick_id = data.draw(st.sampled_from(sorted(self.open_picks)))
        del self.open_picks[pick_id]
        self.run(ev.Done(pick_id, error=error, load_report=report))

    def load_of(self, subchannel: int) -> OrcaLoadReport:
        return self.loads[self.d.subconns[subchannel].addresses[0].addr]

    def every_rpc_finishes_with_its_load(self) -> None:
        """The backends report their own load in each RPC's trailer (per-call ORCA)."""
        for pick_id, subchannel in sorted(self.open_picks.items()):
            del self.open_picks[pick_id]
            self.run(ev.Done(pick_id, load_report=self.load_of(subchannel)))

    @precondition(lambda self: self.started() and self.d.state is State.READY)
    @rule(
        rounds=st.integers(1, 4),
        count=st.integers(1, 40),
        millis=st.sampled_from([100, 1000, 2000, 12_000]),
    )
    @takes_effect
    def traffic(self, rounds: int, count: int, millis: int) -> None:
        """Stretches of load: RPCs finish with their load, OOB reports, time passes, picks."""
        for _ in range(rounds):
            self.every_rpc_finishes_with_its_load()
            self.every_ready_backend_reports_out_of_band()
            self.run(ev.TimeAdvanced(Duration.of(millis=millis)))
            if self.d.state is State.READY:
                self.picks_while_ready(count)

    @precondition(lambda self: self.started() and self.d.state is State.READY)
    @rule(
        picks=st.integers(20, 300),
        finished=st.sampled_from([0.25, 0.5, 0.75]),
        millis=st.sampled_from([0, 10, 100, 1000]),
        shuffle=st.integers(0, 2**32 - 1),
    )
    @takes_effect
    def busy_spell(self, picks: int, finished: float, millis: int, shuffle: int) -> None:
        """Many picks while RPCs are in flight: after each pick, one RPC finishes with the
        chance ``finished`` (a random one, with its load); time moves every 25 picks.

        Counts stay uneven across endpoints, so each pick says something about how the
        policy weighs them: LR-10 needs a few hundred such picks to tell choiceCount 2
        from a uniform pick (the statistics in spec/monitors/least_request.py), WRR-16
        as many to see a share off its weight.  ``shuffle`` seeds the choice of RPCs to
        finish, so a run is still replayed from Hypothesis's data alone.
        """
        chooser = random.Random(shuffle)
        for index in range(picks):
            if self.d.state is not State.READY:
                break
            self.picks_while_ready(1)
            if self.open_picks and chooser.random() < finished:
                pick_id = chooser.choice(sorted(self.open_picks))
                subchannel = self.open_picks.pop(pick_id)
                self.run(ev.Done(pick_id, load_report=self.load_of(subchannel)))
            if millis and index % 25 == 24:
                self.run(ev.TimeAdvanced(Duration.of(millis=millis)))

    def every_ready_backend_reports_out_of_band(self) -> None:
        for subchannel in self.live(State.READY):
            self.run(ev.OobLoadReport(subchannel, self.load_of(subchannel)))

    @precondition(lambda self: self.started() and bool(self.oob_targets()))
    @rule(data=st.data(), report=reports)
    @takes_effect
    def oob_report(self, data: st.DataObject, report: OrcaLoadReport) -> None:
        self.run(ev.OobLoadReport(data.draw(st.sampled_from(self.oob_targets())), report))

    @precondition(started)
    @rule(millis=st.sampled_from([1, 50, 100, 250, 1000, 3000, 12_000]))
    @takes_effect
    def time_passes(self, millis: int) -> None:
        self.run(ev.TimeAdvanced(Duration.of(millis=millis)))

    @precondition(started)
    @rule(exit_idle=st.booleans())
    @takes_effect
    def exit_idle_or_resolver_error(self, exit_idle: bool) -> None:
        self.run(ev.ExitIdle() if exit_idle else ev.ResolverError("name resolution failed"))

    def teardown(self) -> None:
        if self.driver is None:
            return
        self.record_effects()
        self.run(ev.Close())
        for monitor in self.monitors:
            violations = monitor.finish()
            assert not violations, "\n".join(str(v) for v in violations)
        self.after_close()

    def after_close(self) -> None:
        """Invariants that hold once the policy is closed."""
