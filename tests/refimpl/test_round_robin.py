"""round_robin on the Driver: grpc-go's round_robin, endpointsharding and health tests restated.

Every trace is judged by the boundary monitor and the round_robin monitor (the
``run`` fixture asserts that neither finds a violation), on top of each test's
own assertions.  Test names follow grpc-go's (test/roundrobin_test.go,
balancer/endpointsharding, test/healthcheck_test.go).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator

import attrs
import pytest

from refimpl import registry
from refimpl.balancer import ConfigParser, PickInfo, RandomSource
from refimpl.driver import Driver, DriverError
from refimpl.endpoint_sharding import NO_CHILDREN, rotate_endpoints
from refimpl.round_robin import RoundRobinBuilder
from spec import actions as act
from spec import events as ev
from spec.connectivity import State
from spec.monitors.boundary import BoundaryMonitor
from spec.monitors.pick_first import PickFirstMonitor
from spec.monitors.round_robin import RoundRobinMonitor
from spec.options import (
    ExitIdleHandling,
    FailureError,
    LostSubchannel,
    RepeatedEndpoint,
    ResolverErrorHandling,
    SubchannelCreation,
)
from spec.trace import Monitor, Step, Violation, judge
from spec.types import Endpoint, Status, StatusCode

I, C, R, TF = State.IDLE, State.CONNECTING, State.READY, State.TRANSIENT_FAILURE
BACKENDS = [f"10.0.0.{i}:80" for i in range(1, 6)]


def refused(n: int) -> Status:
    return Status(StatusCode.UNAVAILABLE, f"connection refused by backend {n}")


@attrs.define
class Run:
    """A driver plus the trace it produced; calling it feeds one input."""

    driver: Driver
    monitors: list[Callable[[], Monitor]]
    trace: list[Step] = attrs.field(factory=list)

    def __call__(self, event: ev.Input) -> tuple[act.Output, ...]:
        outputs = self.driver.step(event)
        self.trace.append(Step(event, outputs))
        return outputs

    def violations(self) -> list[Violation]:
        return [v for make in self.monitors for v in judge(make, self.trace)]

    def pick(self, wait_for_ready: bool = False) -> act.PickOutcome:
        pick_id = 1 + sum(isinstance(s.input, ev.Pick) for s in self.trace)
        outputs = self(ev.Pick(pick_id, wait_for_ready=wait_for_ready))
        outcome = outputs[0]
        assert isinstance(outcome, act.PickComplete | act.PickQueue | act.PickFail | act.PickDrop)
        return outcome

    def picked(self, count: int) -> list[int]:
        """``count`` picks that must all complete; the subchannels they chose."""
        chosen = []
        for _ in range(count):
            outcome = self.pick()
            assert isinstance(outcome, act.PickComplete), outcome
            chosen.append(outcome.subchannel)
        return chosen


MakeRun = Callable[..., Run]


@pytest.fixture
def run() -> Iterator[MakeRun]:
    """Makes round_robin runs; when the test ends every trace must satisfy the monitors."""
    made: list[Run] = []

    def make(*, seed: int = 0, health_checking: bool = False) -> Run:
        def rr_monitor() -> Monitor:
            # The reference's values of round_robin.resolver_error, .exit_idle, .failure_error and
            # .repeated_endpoint (conformance/adapters/refimpl.py), not the registry's defaults.
            return RoundRobinMonitor(
                health_checking=health_checking,
                resolver_error=ResolverErrorHandling.PASS_TO_CHILDREN,
                exit_idle=ExitIdleHandling.FORWARD,
                failure_error=FailureError.ROTATING_CHILDREN,
                repeated_endpoint=RepeatedEndpoint.FIRST_WINS,
            )

        r = Run(
            Driver("round_robin", seed=seed, health_checking=health_checking),
            [BoundaryMonitor, rr_monitor],
        )
        made.append(r)
        return r

    yield make
    for r in made:
        assert r.violations() == []


def update(*endpoints: str | Endpoint) -> ev.ResolverUpdate:
    """One endpoint per address unless an Endpoint is given."""
    return ev.ResolverUpdate([e if isinstance(e, Endpoint) else Endpoint([e]) for e in endpoints])


def sc(ident: int, state: State, error: Status | None = None) -> ev.SubchannelStateChange:
    if state is TF and error is None:
        error = refused(ident)
    return ev.SubchannelStateChange(ident, state, error)


def connects(r: Run, ident: int) -> tuple[act.Output, ...]:
    r(sc(ident, C))
    return r(sc(ident, R))


def goes_down(r: Run, ident: int) -> None:
    """A READY backend stops: the connection closes, the reconnection attempt fails."""
    outputs = r(sc(ident, I))
    assert act.Connect(ident) in outputs  # RR-6: the leaf was told to exit IDLE at once
    r(sc(ident, C))
    r(sc(ident, TF))


def created(outputs: tuple[act.Output, ...]) -> list[str]:
    return [o.addresses[0].addr for o in outputs if isinstance(o, act.NewSubchannel)]


def reports(outputs: tuple[act.Output, ...]) -> list[State]:
    return [o.state for o in outputs if isinstance(o, act.UpdateState)]


def is_cycle(picks: list[int], members: set[int]) -> bool:
    """Each member once per round, in one fixed cyclic order."""
    n = len(members)
    return set(picks[:n]) == members and all(p == picks[i % n] for i, p in enumerate(picks))


def all_ready(r: Run, count: int = len(BACKENDS)) -> None:
    outputs = r(update(*BACKENDS[:count]))
    assert reports(outputs) == [C]
    for ident in range(1, count + 1):
        connects(r, ident)
    assert r.driver.state is R


# --- test/roundrobin_test.go ---


@pytest.mark.req("RR-1", "RR-5", "RR-7", "RR-8", "RR-10", "HEALTH-4")
def test_basic(run: MakeRun) -> None:
    r = run()
    assert isinstance(r.pick(), act.PickQueue)  # no resolver result yet
    outputs = r(update(*BACKENDS))
    new = [o for o in outputs if isinstance(o, act.NewSubchannel)]
    assert sorted(created(outputs)) == BACKENDS  # one child per endpoint, each connecting
    assert all(o.health_listener for o in new)  # HEALTH-4
    assert {o.subchannel for o in outputs if isinstance(o, act.Connect)} == {1, 2, 3, 4, 5}
    assert reports(outputs) == [C]  # one report for the whole update (RR-10)
    assert isinstance(r.pick(), act.PickQueue)  # RR-8
    connects(r, 3)
    assert r.driver.state is R  # RR-5: one READY child is enough
    assert r.picked(3) == [3, 3, 3]
    for ident in (1, 2, 4, 5):
        connects(r, ident)
    assert is_cycle(r.picked(15), {1, 2, 3, 4, 5})  # RR-7


@pytest.mark.req("RR-4", "RR-3")
def test_addresses_removed(run: MakeRun) -> None:
    r = run()
    all_ready(r)
    outputs = r(ev.ResolverUpdate([]))
    assert {o.subchannel for o in outputs if isinstance(o, act.Shutdown)} == {1, 2, 3, 4, 5}
    assert reports(outputs) == [TF]
    assert any(isinstance(o, act.UpdateRejected) for o in outputs)
    outcome = r.pick()
    assert isinstance(outcome, act.PickFail)
    assert outcome.status.code is StatusCode.UNAVAILABLE
    assert NO_CHILDREN in outcome.status.message


@pytest.mark.req("RR-4", "RR-1", "RR-9")
def test_new_address_while_blocking(run: MakeRun) -> None:
    r = run()
    all_ready(r)
    r(ev.ResolverUpdate([]))
    # A wait_for_ready RPC gets Fail, which the channel turns into waiting.
    assert isinstance(r.pick(wait_for_ready=True), act.PickFail)
    outputs = r(update(BACKENDS[0]))
    assert created(outputs) == [BACKENDS[0]]
    assert not any(isinstance(o, act.UpdateRejected) for o in outputs)
    assert reports(outputs) == [C]
    connects(r, 6)
    assert r.picked(2) == [6, 6]


@pytest.mark.req("RR-6", "RR-7", "RR-11")
def test_one_server_down(run: MakeRun) -> None:
    r = run()
    all_ready(r)
    outputs = r(sc(5, I))
    assert act.Connect(5) in outputs  # RR-6
    assert reports(outputs)[-1] is R
    assert is_cycle(r.picked(12), {1, 2, 3, 4})
    r(sc(5, C))
    r(sc(5, TF))
    assert is_cycle(r.picked(8), {1, 2, 3, 4})


@pytest.mark.req("RR-9", "RR-5", "RR-11")
def test_all_servers_down(run: MakeRun) -> None:
    r = run()
    all_ready(r)
    for ident in range(1, 6):
        goes_down(r, ident)
    assert r.driver.state is TF
    messages = []
    for _ in range(10):
        outcome = r.pick()
        assert isinstance(outcome, act.PickFail)
        assert outcome.status.code is StatusCode.UNAVAILABLE
        messages.append(outcome.status.message)
    # The failing children's pickers take turns, each with its own error (RR-9).
    sources = [next(n for n in range(1, 6) if refused(n).message in m) for m in messages]
    assert is_cycle(sources, {1, 2, 3, 4, 5})


# --- balancer/endpointsharding ---


class FixedRandom:
    """A RandomSource whose randrange always answers ``value``."""

    def __init__(self, value: int) -> None:
        self.value = value

    def random(self) -> float:
        return 0.0

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        return self.value

    def shuffle(self, x: list[object]) -> None:
        pass


@pytest.mark.req("RR-12")
@pytest.mark.parametrize("shift", range(5))
def test_rotate_endpoints(shift: int) -> None:
    endpoints = [Endpoint([a]) for a in BACKENDS]
    rng: RandomSource = FixedRandom(shift)
    assert rotate_endpoints(endpoints, rng) == endpoints[shift:] + endpoints[:shift]
    assert rotate_endpoints([], rng) == []


@pytest.mark.req("RR-12")
def test_each_update_starts_from_a_random_endpoint(run: MakeRun) -> None:
    firsts = set()
    for seed in range(40):
        r = run(seed=seed)
        order = created(r(update(*BACKENDS)))
        shift = BACKENDS.index(order[0])
        assert order == BACKENDS[shift:] + BACKENDS[:shift]  # a rotation, nothing else
        firsts.add(order[0])
    assert firsts == set(BACKENDS)


@pytest.mark.req("RR-7")
def test_each_picker_starts_at_a_random_child(run: MakeRun) -> None:
    firsts = set()
    for seed in range(40):
        r = run(seed=seed)
        all_ready(r, 3)
        firsts.add(r.picked(1)[0])
    assert firsts == {1, 2, 3}


@pytest.mark.req("RR-13", "RR-9", "RR-7")
def test_endpoint_sharding_basic(run: MakeRun) -> None:
    r = run()
    r(update(Endpoint([BACKENDS[0]]), Endpoint([BACKENDS[1]])))
    connects(r, 1)
    connects(r, 2)
    assert is_cycle(r.picked(6), {1, 2})
    goes_down(r, 1)
    goes_down(r, 2)
    assert r.driver.state is TF
    outputs = r(ev.ResolverError("dns lookup failed"))
    assert reports(outputs) == [TF]
    for _ in range(4):  # the children's pickers now carry the resolver's error
        outcome = r.pick()
        assert isinstance(outcome, act.PickFail)
        assert "name resolver error: dns lookup failed" in outcome.status.message


@pytest.mark.req("RR-13", "RR-10")
def test_resolver_error_keeps_good_children_serving(run: MakeRun) -> None:
    r = run()
    all_ready(r, 2)
    outputs = r(ev.ResolverError("dns lookup failed"))
    assert reports(outputs) == [R]
    assert is_cycle(r.picked(4), {1, 2})


@pytest.mark.req("RR-13", "RR-5")
def test_resolver_error_before_any_update(run: MakeRun) -> None:
    r = run()
    assert reports(r(ev.ResolverError("no such host"))) == [TF]
    outcome = r.pick()
    assert isinstance(outcome, act.PickFail)
    assert outcome.status.code is StatusCode.UNAVAILABLE


@pytest.mark.req("RR-10")
def test_exit_idle_reports_once(run: MakeRun) -> None:
    r = run()
    r(update(*BACKENDS[:3]))
    connects(r, 1)
    assert reports(r(ev.ExitIdle())) == [R]


@pytest.mark.req("RR-2", "RR-1")
def test_duplicate_endpoints_share_one_child(run: MakeRun) -> None:
    a, b, c = BACKENDS[:3]
    r = run()
    outputs = r(update(Endpoint([a]), Endpoint([a]), Endpoint([b, c]), Endpoint([c, b])))
    made = created(outputs)
    assert len(made) == 2  # two distinct endpoints: two children, one first subchannel each
    assert a in made
    assert reports(outputs) == [C]


@pytest.mark.req("RR-2")
def test_kept_endpoint_gets_the_new_address_order(run: MakeRun) -> None:
    a, b, c = BACKENDS[:3]
    r = run()
    outputs = r(update(Endpoint([a]), Endpoint([b, c])))
    assert sorted(created(outputs)) == [a, b]
    b_sub = next(
        o.subchannel
        for o in outputs
        if isinstance(o, act.NewSubchannel) and o.addresses[0].addr == b
    )
    r(sc(b_sub, C))
    # Same address set, new order: the same child restarts its pass at the new first address.
    outputs = r(update(Endpoint([a]), Endpoint([c, b])))
    assert created(outputs) == [c]
    assert not any(isinstance(o, act.Shutdown) for o in outputs)


@pytest.mark.req("RR-3")
def test_removed_endpoint_child_is_closed(run: MakeRun) -> None:
    a, b = BACKENDS[:2]
    r = run()
    r(update(a, b))
    connects(r, 1)
    connects(r, 2)
    outputs = r(update(b))
    gone = [o.subchannel for o in outputs if isinstance(o, act.Shutdown)]
    kept = 2 if created(r.trace[0].outputs)[1] == b else 1
    assert gone == [3 - kept]
    assert reports(outputs) == [R]
    assert r.picked(3) == [kept] * 3


@pytest.mark.req("RR-14")
def test_child_re_resolution_reaches_the_parent(run: MakeRun) -> None:
    r = run()
    all_ready(r, 2)
    assert act.RequestReresolution() in r(sc(1, I))


@pytest.mark.req("RR-15")
def test_config_is_ignored(run: MakeRun) -> None:
    assert not isinstance(registry.get("round_robin"), ConfigParser)
    assert isinstance(registry.get("round_robin"), RoundRobinBuilder)
    plain, configured = run(seed=7), run(seed=7)
    endpoints = [Endpoint([a]) for a in BACKENDS]
    first = plain(ev.ResolverUpdate(endpoints))
    second = configured(ev.ResolverUpdate(endpoints, config={"shuffleAddressList": "bogus"}))
    assert first == second


@pytest.mark.req("RR-16")
def test_concurrent_picks_spread_evenly(run: MakeRun) -> None:
    r = run()
    all_ready(r, 4)
    picker = r.driver.picker
    assert picker is not None
    per_thread = 2000
    counts: Counter[object] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(4)

    def picking() -> None:
        start.wait()
        local: Counter[object] = Counter()
        for _ in range(per_thread):
            result = picker.pick(PickInfo("/grpc.testing.TestService/UnaryCall"))
            local[getattr(result, "subconn", None)] += 1
        with lock:
            counts.update(local)

    threads = [threading.Thread(target=picking) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert None not in counts
    # 8000 picks over 4 READY children: exactly 2000 each if the index never tears.
    assert sorted(counts.values()) == [per_thread] * 4


# --- Client-side health at the boundary (test/healthcheck_test.go) ---


@pytest.mark.req("HEALTH-5", "HEALTH-6", "HEALTH-7", "HEALTH-8", "RR-9")
def test_health_check_watch_state_change(run: MakeRun) -> None:
    r = run(health_checking=True)
    r(update(BACKENDS[0], BACKENDS[1]))
    outputs = connects(r, 1)
    assert reports(outputs) in ([], [C])  # HEALTH-5: still CONNECTING, waiting for health
    assert r.driver.state is C
    assert isinstance(r.pick(), act.PickQueue)
    assert reports(r(ev.HealthStateChange(1, R))) == [R]  # HEALTH-6
    assert r.picked(2) == [1, 1]
    connects(r, 2)
    r(ev.HealthStateChange(2, R))
    assert is_cycle(r.picked(4), {1, 2})
    # NOT_SERVING on backend 1: out of the rotation, connection kept (HEALTH-7, HEALTH-8).
    unhealthy = Status(StatusCode.UNAVAILABLE, "health check: NOT_SERVING on backend 1")
    outputs = r(ev.HealthStateChange(1, TF, unhealthy))
    assert reports(outputs) == [R]
    assert not any(isinstance(o, act.NewSubchannel | act.Connect | act.Shutdown) for o in outputs)
    assert r.picked(3) == [2, 2, 2]
    # Both unhealthy: TRANSIENT_FAILURE, picks fail with the health errors.
    r(ev.HealthStateChange(2, TF, Status(StatusCode.UNAVAILABLE, "NOT_SERVING on backend 2")))
    assert r.driver.state is TF
    messages = []
    for _ in range(2):
        outcome = r.pick()
        assert isinstance(outcome, act.PickFail)
        messages.append(outcome.status.message)
    assert any("NOT_SERVING on backend 1" in m for m in messages)
    assert any("NOT_SERVING on backend 2" in m for m in messages)
    # SERVING again: back in the rotation on the same subchannel.
    outputs = r(ev.HealthStateChange(1, R))
    assert reports(outputs) == [R]
    assert not any(isinstance(o, act.NewSubchannel | act.Connect | act.Shutdown) for o in outputs)
    assert r.picked(2) == [1, 1]


@pytest.mark.req("HEALTH-9", "HEALTH-5")
def test_health_watch_restarts_after_reconnection(run: MakeRun) -> None:
    r = run(health_checking=True)
    r(update(BACKENDS[0]))
    connects(r, 1)
    r(ev.HealthStateChange(1, R))
    assert r.driver.state is R
    r(sc(1, I))  # the connection closes; the leaf reconnects at once
    outputs = connects(r, 1)
    assert r.driver.state is C  # the old health does not carry over
    assert R not in reports(outputs)
    assert isinstance(r.pick(), act.PickQueue)
    assert reports(r(ev.HealthStateChange(1, R))) == [R]
    r(sc(1, I))
    with pytest.raises(DriverError, match="no health listener"):  # the watch ended with READY
        r.driver.step(ev.HealthStateChange(1, R))


@pytest.mark.req("HEALTH-2", "HEALTH-1")
def test_without_health_checking_ready_means_healthy(run: MakeRun) -> None:
    r = run(health_checking=False)
    r(update(BACKENDS[0]))
    r(sc(1, C))
    outputs = r(sc(1, R))
    # The channel answers the health listener with READY at once, in the same step.
    assert reports(outputs)[-1] is R
    assert r.picked(1) == [1]


@pytest.mark.req("HEALTH-3", "HEALTH-1")
def test_top_level_pick_first_never_health_checks() -> None:
    driver = Driver("pick_first", health_checking=True)
    trace = [Step(update(BACKENDS[0]), driver.step(update(BACKENDS[0])))]
    assert act.NewSubchannel(1, [BACKENDS[0]], health_listener=False) in trace[0].outputs
    for event in (sc(1, C), sc(1, R)):
        trace.append(Step(event, driver.step(event)))
    assert act.UpdateState(R) in trace[-1].outputs  # READY at once, no health update needed
    with pytest.raises(DriverError, match="no health listener"):
        driver.step(ev.HealthStateChange(1, TF, refused(1)))

    def pf_monitor() -> Monitor:
        return PickFirstMonitor(
            client_health_checking=True,
            subchannel_creation=SubchannelCreation.LAZY,
            lost_subchannel=LostSubchannel.KEPT,
        )

    assert judge(BoundaryMonitor, trace) + judge(pf_monitor, trace) == []
