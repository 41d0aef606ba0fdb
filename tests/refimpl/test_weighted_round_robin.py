"""weighted_round_robin: config, weights, the picker, and grpc-go's scripted cases.

The scripted cases restate grpc-go ``balancer/weightedroundrobin/balancer_test.go``
(digest section 12), each named after the grpc-go test it restates.  grpc-go
sleeps on real time and stubs ``time.Now``; here the driver's virtual clock moves.
"""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refimpl.balancer import Complete, ConfigError, DoneInfo, PickInfo
from refimpl.clock import VirtualClock
from refimpl.driver import Driver, FakeSubConn
from refimpl.weighted_round_robin import (
    EndpointWeight,
    WeightedRoundRobinBuilder,
    WeightedRoundRobinConfig,
    WeightedRoundRobinPicker,
    WeightedTarget,
    load_report_weight,
    parse_config,
)
from refimpl.wrr_scheduler import (
    RoundRobinScheduler,
    SchedulerKind,
    SmoothWeightedScheduler,
    StaticStrideScheduler,
)
from spec import actions as act
from spec import events as ev
from spec.connectivity import State
from spec.monitors import weighted_round_robin as spec_wrr
from spec.monitors.boundary import BoundaryMonitor
from spec.monitors.weighted_round_robin import WeightedRoundRobinMonitor
from spec.trace import Step, judge
from spec.types import Duration, Endpoint, OrcaLoadReport, Status, StatusCode
from tests.refimpl.test_least_request import NamedSubConn, ReadyChild, chosen

INFO = PickInfo("/grpc.testing.TestService/UnaryCall")
S = Duration.of


def report(qps: float, util: float = 0.0, *, cpu: float = 0.0, eps: float = 0.0) -> OrcaLoadReport:
    return OrcaLoadReport(
        application_utilization=util, cpu_utilization=cpu, rps_fractional=qps, eps=eps
    )


# --- config (WRR-1..WRR-3) ---


@pytest.mark.req("WRR-1")
def test_parse_config_defaults() -> None:
    config = parse_config({"unknownField": {"x": 1}, "blackoutPeriod": None})
    assert config == WeightedRoundRobinConfig(
        enable_oob_load_report=False,
        oob_reporting_period=S(seconds=10),
        blackout_period=S(seconds=10),
        weight_expiration_period=S(seconds=180),
        weight_update_period=S(seconds=1),
        error_utilization_penalty=1.0,
    )


@pytest.mark.req("WRR-1")
def test_parse_config_every_field() -> None:
    config = parse_config(
        {
            "enableOobLoadReport": True,
            "oobReportingPeriod": "0.005s",
            "blackoutPeriod": "0s",
            "weightExpirationPeriod": "60s",
            "weightUpdatePeriod": "1.5s",
            "errorUtilizationPenalty": 0,
        }
    )
    assert config == WeightedRoundRobinConfig(
        True, S(millis=5), S(seconds=0), S(seconds=60), S(seconds=1.5), 0.0
    )


@pytest.mark.req("WRR-2")
@pytest.mark.parametrize(
    ("given", "want"), [("0s", 100), ("0.05s", 100), ("0.1s", 100), ("0.2s", 200)]
)
def test_weight_update_period_is_at_least_100ms(given: str, want: int) -> None:
    assert parse_config({"weightUpdatePeriod": given}).weight_update_period == S(millis=want)


@pytest.mark.req("WRR-3")
@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"enableOobLoadReport": "true"}, "enableOobLoadReport"),
        ({"enableOobLoadReport": 1}, "enableOobLoadReport"),
        ({"blackoutPeriod": 10}, "blackoutPeriod"),
        ({"blackoutPeriod": "10"}, "blackoutPeriod"),
        ({"weightUpdatePeriod": "-1s"}, "weightUpdatePeriod"),
        ({"weightExpirationPeriod": "1m"}, "weightExpirationPeriod"),
        ({"oobReportingPeriod": "1.0000000001s"}, "oobReportingPeriod"),
        ({"oobReportingPeriod": "315576000001s"}, "oobReportingPeriod"),
        ({"errorUtilizationPenalty": -0.1}, "errorUtilizationPenalty"),
        ({"errorUtilizationPenalty": "1"}, "errorUtilizationPenalty"),
        ({"errorUtilizationPenalty": True}, "errorUtilizationPenalty"),
        ({"errorUtilizationPenalty": math.inf}, "errorUtilizationPenalty"),
    ],
)
def test_bad_config_names_the_field(raw: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    assert caught.value.path == field
    assert field in str(caught.value)


@pytest.mark.req("WRR-3")
@pytest.mark.parametrize("raw", [None, [], "weighted_round_robin", 1])
def test_config_must_be_an_object(raw: object) -> None:
    with pytest.raises(ConfigError, match="must be a JSON object"):
        parse_config(raw)


durations = st.one_of(
    st.none(),
    st.sampled_from(["0s", "1s", "0.05s", "1.5s", "-1s", ".5s", "10", "1m", "3.0000000001s"]),
    st.integers(0, 10**6).map(lambda ms: f"{ms / 1000}s"),
    st.integers(),
)
configs = st.fixed_dictionaries(
    {},
    optional={
        "enableOobLoadReport": st.one_of(st.booleans(), st.none(), st.integers(0, 1)),
        "oobReportingPeriod": durations,
        "blackoutPeriod": durations,
        "weightExpirationPeriod": durations,
        "weightUpdatePeriod": durations,
        "errorUtilizationPenalty": st.one_of(
            st.none(), st.floats(-1, 10, allow_nan=False), st.integers(-2, 5), st.booleans()
        ),
    },
)


@pytest.mark.req("WRR-1", "WRR-2", "WRR-3")
@given(configs)
def test_refimpl_and_spec_agree_on_every_config(raw: dict[str, object]) -> None:
    raw = json.loads(json.dumps(raw))
    try:
        expected = spec_wrr.parse_config(raw)
    except ValueError:
        expected = None
    try:
        got = parse_config(raw)
    except ConfigError:
        assert expected is None
        return
    assert expected is not None
    assert (
        got.enable_oob_load_report,
        got.oob_reporting_period,
        got.blackout_period,
        got.weight_expiration_period,
        got.weight_update_period,
        got.error_utilization_penalty,
    ) == (
        expected.enable_oob_load_report,
        expected.oob_reporting_period,
        expected.blackout_period,
        expected.weight_expiration_period,
        expected.weight_update_period,
        expected.error_utilization_penalty,
    )


# --- weights (WRR-5, WRR-8..WRR-10) ---


@pytest.mark.req("WRR-5")
def test_weight_formula() -> None:
    assert load_report_weight(report(10, 0.5), 1.0) == pytest.approx(20)
    assert load_report_weight(report(10, cpu=0.5), 1.0) == pytest.approx(20)  # cpu fallback
    assert load_report_weight(report(10, 0.5, cpu=2.0), 1.0) == pytest.approx(20)  # app wins
    # ErrorPenalty: 10 / (0.1 + 10/10 * 0.9) = 10
    assert load_report_weight(report(10, 0.1, eps=10), 0.9) == pytest.approx(10)
    assert load_report_weight(report(10, 0.1, eps=10), 0.0) == pytest.approx(100)
    assert load_report_weight(report(0, 0.5), 1.0) is None  # no qps: ignored
    assert load_report_weight(report(10), 1.0) is None  # no utilization: ignored


@pytest.mark.req("WRR-5")
@given(
    st.floats(0, 1e3),
    st.floats(0, 10),
    st.floats(0, 10),
    st.floats(0, 1e3),
    st.floats(0, 5),
)
def test_refimpl_and_spec_agree_on_report_weights(
    qps: float, util: float, cpu: float, eps: float, penalty: float
) -> None:
    r = report(qps, util, cpu=cpu, eps=eps)
    assert load_report_weight(r, penalty) == spec_wrr.report_weight(r, penalty)


def config(**changes: object) -> WeightedRoundRobinConfig:
    return parse_config(changes)


@pytest.mark.req("WRR-8")
def test_blackout_starts_with_the_first_report_of_a_run() -> None:
    cfg = config(blackoutPeriod="10s")
    w = EndpointWeight(cfg)
    exp, blackout = cfg.weight_expiration_period, cfg.blackout_period
    assert w.weight(S(seconds=0), exp, blackout) == 0  # no report yet
    w.on_load_report(report(10, 1.0), S(seconds=1))
    w.on_load_report(report(10, 0.5), S(seconds=5))  # the run started at 1 s
    assert w.weight(S(seconds=11), exp, blackout) == pytest.approx(20)
    assert w.weight(Duration(S(seconds=11).nanos - 1), exp, blackout) == 0
    assert w.weight(S(seconds=2), exp, S(seconds=0)) == pytest.approx(20)  # 0s: no blackout


@pytest.mark.req("WRR-9")
def test_expiry_ends_the_run_so_the_blackout_applies_again() -> None:
    cfg = config(blackoutPeriod="1s", weightExpirationPeriod="60s")
    w = EndpointWeight(cfg)
    exp, blackout = cfg.weight_expiration_period, cfg.blackout_period
    w.on_load_report(report(10, 1.0), S(seconds=0))
    assert w.weight(S(seconds=59), exp, blackout) == pytest.approx(10)
    assert w.weight(S(seconds=60), exp, blackout) == 0  # expired at exactly 60 s
    w.on_load_report(report(10, 1.0), S(seconds=70))  # a new run
    assert w.weight(S(seconds=70.5), exp, blackout) == 0  # blacked out again
    assert w.weight(S(seconds=71), exp, blackout) == pytest.approx(10)


@pytest.mark.req("WRR-10")
def test_ready_again_forgets_the_run() -> None:
    cfg = config(blackoutPeriod="1s")
    w = EndpointWeight(cfg)
    exp, blackout = cfg.weight_expiration_period, cfg.blackout_period
    w.on_load_report(report(10, 1.0), S(seconds=0))
    assert w.weight(S(seconds=2), exp, blackout) == pytest.approx(10)
    w.on_ready()
    assert w.weight(S(seconds=2), exp, blackout) == 0
    w.on_load_report(report(10, 1.0), S(seconds=3))
    assert w.weight(S(seconds=3.5), exp, blackout) == 0
    assert w.weight(S(seconds=4), exp, blackout) == pytest.approx(10)


@pytest.mark.req("WRR-5", "WRR-8", "WRR-9", "WRR-10")
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["report", "empty", "ready", "look"]),
            st.integers(0, 5_000),  # milliseconds to wait first
            st.floats(0.1, 100),
        ),
        max_size=30,
    )
)
def test_refimpl_and_spec_weights_agree(ops: list[tuple[str, int, float]]) -> None:
    cfg = config(blackoutPeriod="2s", weightExpirationPeriod="5s")
    spec_cfg = spec_wrr.parse_config({"blackoutPeriod": "2s", "weightExpirationPeriod": "5s"})
    mine, theirs = EndpointWeight(cfg), spec_wrr.WeightState()
    now = 0
    for op, wait_ms, qps in ops:
        now += wait_ms * 1_000_000
        if op == "report":
            mine.on_load_report(report(qps, 0.5), Duration(now))
            theirs.on_report(report(qps, 0.5), now, 1.0)
        elif op == "empty":
            mine.on_load_report(report(qps), Duration(now))
            theirs.on_report(report(qps), now, 1.0)
        elif op == "ready":
            mine.on_ready()
            theirs.on_ready()
        got = mine.weight(Duration(now), cfg.weight_expiration_period, cfg.blackout_period)
        assert got == theirs.effective(now, spec_cfg)


# --- the picker (WRR-6, WRR-12) ---


def picker_over(
    weights: list[EndpointWeight], cfg: WeightedRoundRobinConfig, clock: VirtualClock
) -> tuple[list[ReadyChild], WeightedRoundRobinPicker]:
    children = [ReadyChild(f"backend-{i}") for i in range(len(weights))]
    targets = [WeightedTarget(c, w) for c, w in zip(children, weights, strict=True)]
    return children, WeightedRoundRobinPicker(targets, cfg, clock, start=0)


@pytest.mark.req("WRR-12")
def test_scheduler_is_rebuilt_every_weight_update_period() -> None:
    clock = VirtualClock()
    cfg = config(blackoutPeriod="0s", weightUpdatePeriod="1s")
    weights = [EndpointWeight(cfg), EndpointWeight(cfg)]
    _, picker = picker_over(weights, cfg, clock)
    picker.start()
    assert isinstance(picker.scheduler, RoundRobinScheduler)  # no weights yet
    weights[0].on_load_report(report(10, 1.0), clock.now())
    weights[1].on_load_report(report(10, 0.1), clock.now())
    clock.advance(Duration(S(seconds=1).nanos - 1))
    assert isinstance(picker.scheduler, RoundRobinScheduler)  # not yet rebuilt
    clock.advance(Duration(1))
    assert isinstance(picker.scheduler, StaticStrideScheduler)
    picks = Counter(chosen(picker.pick(INFO)) for _ in range(110))
    assert picks == {"backend-0": 10, "backend-1": 100}
    picker.stop()
    assert clock.pending() == 0


@pytest.mark.req("WRR-12")
def test_a_single_endpoint_needs_no_rebuild_timer() -> None:
    clock = VirtualClock()
    cfg = config()
    _, picker = picker_over([EndpointWeight(cfg)], cfg, clock)
    picker.start()
    assert clock.pending() == 0


@pytest.mark.req("WRR-6")
@pytest.mark.parametrize("oob", [False, True])
def test_per_call_reports_feed_the_weight_only_without_oob(oob: bool) -> None:
    clock = VirtualClock()
    cfg = config(blackoutPeriod="0s", enableOobLoadReport=oob)
    weight = EndpointWeight(cfg)
    children, picker = picker_over([weight], cfg, clock)
    result = picker.pick(INFO)
    assert isinstance(result, Complete)
    assert result.done is not None
    result.done(DoneInfo(load_report=report(10, 0.5)))
    got = weight.weight(clock.now(), cfg.weight_expiration_period, cfg.blackout_period)
    assert got == (0 if oob else pytest.approx(20))
    assert len(children[0].dones) == 1  # the child's own Done always runs
    assert isinstance(result.subconn, NamedSubConn)


# --- grpc-go's scripted cases, through the driver ---

PER_CALL = {
    "enableOobLoadReport": False,
    "oobReportingPeriod": "0.005s",
    "blackoutPeriod": "0s",
    "weightExpirationPeriod": "60s",
    "weightUpdatePeriod": "0.1s",
    "errorUtilizationPenalty": 0,
}
OOB = {**PER_CALL, "enableOobLoadReport": True}
ADDRS = [f"10.0.0.{i}:80" for i in range(1, 7)]
ERROR = Status(StatusCode.UNAVAILABLE, "connection refused")


class Backends:
    """A driver running weighted_round_robin, and the loads its backends report."""

    def __init__(
        self,
        endpoints: list[Endpoint],
        config: object,
        builder: WeightedRoundRobinBuilder | None = None,
    ) -> None:
        self.driver = Driver(builder or "weighted_round_robin", seed=11)
        self.trace: list[Step] = []
        self.loads: dict[str, OrcaLoadReport] = {}  # what each backend reports, per call
        self.oob_loads: dict[str, OrcaLoadReport] = {}  # ... and out of band
        self.next_pick = 1
        self.update(endpoints, config)

    def step(self, event: ev.Input) -> tuple[act.Output, ...]:
        outputs = self.driver.step(event)
        self.trace.append(Step(event, outputs))
        return outputs

    def update(self, endpoints: list[Endpoint], config: object) -> None:
        self.step(ev.ResolverUpdate(endpoints, config=config))

    def subchannel(self, addr: str) -> int:
        (sc,) = [s.ident for s in self.driver.live_subchannels() if s.addresses[0].addr == addr]
        return sc

    def ready(self, *addrs: str) -> None:
        for addr in addrs:
            sc = self.subchannel(addr)
            self.step(ev.SubchannelStateChange(sc, State.CONNECTING))
            self.step(ev.SubchannelStateChange(sc, State.READY))

    def stop(self, addr: str) -> None:
        """The backend goes away: its connection drops and reconnecting fails."""
        sc = self.subchannel(addr)
        self.step(ev.SubchannelStateChange(sc, State.IDLE))
        self.step(ev.SubchannelStateChange(sc, State.CONNECTING))
        self.step(ev.SubchannelStateChange(sc, State.TRANSIENT_FAILURE, ERROR))

    def report_oob(self) -> None:
        """Every READY backend with an OOB load sends one report (its ORCA stream ticks)."""
        for sc in list(self.driver.live_subchannels()):
            load_report = self.oob_loads.get(sc.addresses[0].addr)
            if sc.state is State.READY and load_report is not None:
                self.step(ev.OobLoadReport(sc.ident, load_report))

    def call(self) -> str:
        """One unary RPC; the backend attaches its per-call load to the trailer."""
        pick_id = self.next_pick
        self.next_pick += 1
        (outcome,) = self.step(ev.Pick(pick_id))
        assert isinstance(outcome, act.PickComplete), outcome
        addr = self.driver.subconns[outcome.subchannel].addresses[0].addr
        self.step(ev.Done(pick_id, load_report=self.loads.get(addr)))
        return addr

    def ensure_reached(self, n: int) -> None:
        """grpc-go ensureReached: call until n distinct backends answered."""
        reached: set[str] = set()
        for _ in range(100):
            reached.add(self.call())
            if len(reached) == n:
                return
        raise AssertionError(f"only reached {reached}")

    def advance(self, seconds: float) -> None:
        self.step(ev.TimeAdvanced(S(seconds=seconds)))

    def check_weights(self, **want: int) -> None:
        """grpc-go checkWeights: 100 calls split by weight, give or take 2 per backend."""
        counts = Counter(self.call() for _ in range(100))
        total = sum(want.values())
        expected = {ADDRS[int(k[1:]) - 1]: 100 * w // total for k, w in want.items()}
        assert set(counts) == set(expected), counts
        for addr, share in expected.items():
            assert share - 2 <= counts[addr] <= share + 2, (counts, expected)

    def judged(self) -> list[str]:
        trace = [*self.trace, Step(ev.Close(), self.driver.step(ev.Close()))]
        return [
            str(v)
            for make in (BoundaryMonitor, WeightedRoundRobinMonitor)
            for v in judge(make, trace)
        ]


def load(qps: float, util: float, *, cpu: bool = False, eps: float = 0.0) -> OrcaLoadReport:
    return report(qps, 0.0 if cpu else util, cpu=util if cpu else 0.0, eps=eps)


def endpoints(*addrs: str) -> list[Endpoint]:
    return [Endpoint([a]) for a in addrs]


@pytest.mark.req("WRR-12")
@pytest.mark.parametrize("reporting", ["none", "per_call", "oob"])
def test_balancer_one_address(reporting: str) -> None:
    """grpc-go TestBalancer_OneAddress: with one endpoint load reports change nothing."""
    b = Backends(endpoints(ADDRS[0]), OOB if reporting == "oob" else PER_CALL)
    b.ready(ADDRS[0])
    for i in range(100):
        if reporting == "per_call":
            b.loads[ADDRS[0]] = load(i, 1.0)
        if reporting == "oob":
            b.oob_loads[ADDRS[0]] = load(i, 1.0)
            b.report_oob()
        assert b.call() == ADDRS[0]
        b.advance(0.001)
    assert b.driver.clock.pending() == 0  # one endpoint: no rebuild timer
    assert b.judged() == []


@pytest.mark.req("WRR-13")
def test_balancer_two_addresses_reporting_disabled() -> None:
    """grpc-go TestBalancer_TwoAddresses_ReportingDisabled: plain round robin."""
    b = Backends(endpoints(*ADDRS[:2]), PER_CALL)
    b.ready(*ADDRS[:2])
    calls = [b.call() for _ in range(40)]
    assert all(x != y for x, y in itertools.pairwise(calls))
    b.advance(5)
    calls = [b.call() for _ in range(40)]
    assert all(x != y for x, y in itertools.pairwise(calls))
    assert b.judged() == []


@pytest.mark.req("WRR-5", "WRR-6", "WRR-16")
def test_balancer_two_addresses_reporting_enabled_per_call() -> None:
    """grpc-go TestBalancer_TwoAddresses_ReportingEnabledPerCall: 10:1 from per-call loads."""
    b = Backends(endpoints(*ADDRS[:2]), PER_CALL)
    b.loads = {ADDRS[0]: load(10, 1.0), ADDRS[1]: load(10, 0.1)}
    b.ready(*ADDRS[:2])
    b.ensure_reached(2)
    b.advance(0.1)  # one weight update period
    b.check_weights(s1=1, s2=10)
    assert b.judged() == []


@pytest.mark.req("WRR-5", "WRR-7", "WRR-16")
@pytest.mark.parametrize("cpu", [False, True], ids=["application_utilization", "cpu_utilization"])
def test_balancer_two_addresses_reporting_enabled_oob(cpu: bool) -> None:
    """grpc-go TestBalancer_TwoAddresses_ReportingEnabledOOB: 10:1 from OOB loads."""
    b = Backends(endpoints(*ADDRS[:2]), OOB)
    b.oob_loads = {ADDRS[0]: load(10, 1.0, cpu=cpu), ADDRS[1]: load(10, 0.1, cpu=cpu)}
    b.ready(*ADDRS[:2])
    b.report_oob()
    b.advance(0.1)
    b.check_weights(s1=1, s2=10)
    assert b.judged() == []


@pytest.mark.req("WRR-5", "WRR-7")
def test_balancer_two_addresses_reporting_enabled_oob_application_over_cpu() -> None:
    """grpc-go ReportingEnabledOOB "application over cpu": cpu 2.0 is ignored."""
    b = Backends(endpoints(*ADDRS[:2]), OOB)
    b.oob_loads = {
        ADDRS[0]: OrcaLoadReport(
            application_utilization=1.0, cpu_utilization=2.0, rps_fractional=10
        ),
        ADDRS[1]: OrcaLoadReport(
            application_utilization=0.1, cpu_utilization=2.0, rps_fractional=10
        ),
    }
    b.ready(*ADDRS[:2])
    b.report_oob()
    b.advance(0.1)
    b.check_weights(s1=1, s2=10)
    assert b.judged() == []


@pytest.mark.req("WRR-7")
def test_oob_listener_runs_on_the_ready_subchannel_at_the_configured_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    intervals: list[Duration] = []
    register = FakeSubConn.register_oob_listener

    def spy(
        self: FakeSubConn, listener: Callable[[OrcaLoadReport], None], interval: Duration
    ) -> Callable[[], None]:
        intervals.append(interval)
        return register(self, listener, interval)

    monkeypatch.setattr(FakeSubConn, "register_oob_listener", spy)
    b = Backends(endpoints(*ADDRS[:2]), OOB)
    assert intervals == []  # nothing READY yet
    b.ready(*ADDRS[:2])
    assert intervals == [S(millis=5), S(millis=5)]
    sc1 = b.driver.subconns[b.subchannel(ADDRS[0])]
    assert len(sc1.oob_listeners) == 1
    b.update(endpoints(*ADDRS[:2]), {**OOB, "oobReportingPeriod": "1s"})  # restarted
    assert intervals[2:] == [S(seconds=1), S(seconds=1)]
    assert len(sc1.oob_listeners) == 1
    b.update(endpoints(*ADDRS[:2]), PER_CALL)  # turned off
    assert not sc1.oob_listeners
    assert b.judged() == []


@pytest.mark.req("WRR-7", "WRR-12")
def test_balancer_two_addresses_update_loads() -> None:
    """grpc-go TestBalancer_TwoAddresses_UpdateLoads: new loads, new weights."""
    b = Backends(endpoints(*ADDRS[:2]), OOB)
    b.oob_loads = {ADDRS[0]: load(10, 1.0), ADDRS[1]: load(10, 0.1)}
    b.ready(*ADDRS[:2])
    b.report_oob()
    b.advance(0.1)
    b.check_weights(s1=1, s2=10)
    b.oob_loads = {ADDRS[0]: load(10, 0.1), ADDRS[1]: load(10, 1.0)}
    b.report_oob()
    b.advance(0.1)
    b.check_weights(s1=10, s2=1)
    assert b.judged() == []


@pytest.mark.req("WRR-6", "WRR-7")
def test_balancer_two_addresses_oob_then_per_call() -> None:
    """grpc-go TestBalancer_TwoAddresses_OOBThenPerCall: switching the source of loads."""
    b = Backends(endpoints(*ADDRS[:2]), OOB)
    b.oob_loads = {ADDRS[0]: load(10, 1.0), ADDRS[1]: load(10, 0.1)}
    b.loads = {ADDRS[0]: load(10, 0.1), ADDRS[1]: load(10, 1.0)}  # ignored while OOB is on
    b.ready(*ADDRS[:2])
    b.report_oob()
    b.advance(0.1)
    b.check_weights(s1=1, s2=10)
    b.update(endpoints(*ADDRS[:2]), PER_CALL)
    b.report_oob()  # no listener any more: these go nowhere
    b.ensure_reached(2)
    b.advance(0.1)
    b.check_weights(s1=10, s2=1)
    assert b.judged() == []


@pytest.mark.req("WRR-5")
def test_balancer_two_addresses_error_penalty() -> None:
    """grpc-go TestBalancer_TwoAddresses_ErrorPenalty: eps/qps * 0.9 evens the weights."""
    b = Backends(endpoints(*ADDRS[:2]), OOB)
    b.oob_loads = {ADDRS[0]: load(10, 1.0), ADDRS[1]: load(10, 0.1, eps=10)}
    b.ready(*ADDRS[:2])
    b.report_oob()
    b.advance(0.1)
    b.check_weights(s1=1, s2=10)  # penalty 0: eps is ignored
    b.update(endpoints(*ADDRS[:2]), {**OOB, "errorUtilizationPenalty": 0.9})
    b.report_oob()
    b.advance(0.1)
    b.check_weights(s1=1, s2=1)  # 10 / (0.1 + 10/10 * 0.9) = 10 = 10 / 1.0
    assert b.judged() == []


@pytest.mark.req("WRR-1", "WRR-8")
@pytest.mark.parametrize(("blackout", "seconds"), [("1s", 1.0), (None, 10.0)])
def test_balancer_two_addresses_blackout_period(blackout: str | None, seconds: float) -> None:
    """grpc-go TestBalancer_TwoAddresses_BlackoutPeriod: 1:1 until the blackout ends."""
    config: dict[str, object] = {**OOB, "blackoutPeriod": blackout}
    b = Backends(endpoints(*ADDRS[:2]), config)
    b.oob_loads = {ADDRS[0]: load(10, 1.0), ADDRS[1]: load(10, 0.1)}
    b.ready(*ADDRS[:2])
    b.report_oob()  # at time 0: the runs start
    b.advance(0.1)
    b.check_weights(s1=1, s2=1)
    b.step(ev.TimeAdvanced(Duration(S(seconds=seconds).nanos - S(seconds=0.1).nanos - 1)))
    b.check_weights(s1=1, s2=1)  # one nanosecond before the blackout ends
    b.step(ev.TimeAdvanced(Duration(1)))  # a rebuild falls exactly at the end
    b.check_weights(s1=1, s2=10)
    assert b.judged() == []


@pytest.mark.req("WRR-9")
def test_balancer_two_addresses_weight_expiration() -> None:
    """grpc-go TestBalancer_TwoAddresses_WeightExpiration: stale weights fall back to 1:1."""
    b = Backends(endpoints(*ADDRS[:2]), {**OOB, "oobReportingPeriod": "60s"})
    b.oob_loads = {ADDRS[0]: load(10, 1.0), ADDRS[1]: load(10, 0.1)}
    b.ready(*ADDRS[:2])
    b.report_oob()  # the only reports
    b.advance(0.1)
    b.check_weights(s1=1, s2=10)
    b.advance(59 - 0.1)
    b.check_weights(s1=1, s2=10)  # 59 s old: still used
    b.advance(2)
    b.check_weights(s1=1, s2=1)  # 61 s old: expired
    assert b.judged() == []


@pytest.mark.req("WRR-10", "WRR-11", "WRR-12")
def test_balancer_addresses_changing() -> None:
    """grpc-go TestBalancer_AddressesChanging: endpoints come, go and come back."""
    b = Backends(endpoints(*ADDRS[:3]), OOB)
    b.oob_loads = {
        ADDRS[0]: load(10, 1.0),  # weight 10
        ADDRS[1]: load(10, 0.1),  # weight 100
        ADDRS[2]: load(20, 1.0),  # weight 20
        ADDRS[3]: load(20, 0.1),  # weight 200
    }
    b.ready(*ADDRS[:3])
    b.report_oob()
    b.advance(0.1)
    b.check_weights(s1=1, s2=10, s3=2)
    b.update(endpoints(*ADDRS[:4]), OOB)  # add backend 4
    b.ready(ADDRS[3])
    b.report_oob()
    b.advance(0.1)
    b.check_weights(s1=1, s2=10, s3=2, s4=20)
    b.stop(ADDRS[2])  # backend 3 goes away
    b.report_oob()
    b.advance(0.1)
    b.check_weights(s1=1, s2=10, s4=20)
    b.update(endpoints(ADDRS[0], ADDRS[3]), OOB)  # remove 2 and 3
    b.advance(0.1)
    b.check_weights(s1=1, s4=20)
    b.update(endpoints(ADDRS[1]), OOB)  # re-add 2, remove the rest
    b.ready(ADDRS[1])
    b.report_oob()
    b.advance(0.1)
    b.check_weights(s2=10)
    b.update(endpoints(ADDRS[1], ADDRS[3]), OOB)  # re-add 4
    b.ready(ADDRS[3])
    b.report_oob()
    b.advance(0.1)
    b.check_weights(s2=10, s4=20)
    assert b.judged() == []


@pytest.mark.req("WRR-11")
def test_endpoints_shared_address() -> None:
    """grpc-go TestEndpoints_SharedAddress: two endpoints with one address still work."""
    b = Backends([Endpoint([ADDRS[0]]), Endpoint([ADDRS[0]])], PER_CALL)
    b.loads = {ADDRS[0]: load(10, 1.0)}
    b.ready(ADDRS[0])
    assert {b.call() for _ in range(10)} == {ADDRS[0]}
    assert b.judged() == []


@pytest.mark.req("WRR-10", "WRR-16")
def test_endpoints_multiple_addresses() -> None:
    """grpc-go TestEndpoints_MultipleAddresses: weights follow the endpoint's READY address."""
    b = Backends([Endpoint(ADDRS[0:2]), Endpoint(ADDRS[2:4])], PER_CALL)
    b.loads = {ADDRS[1]: load(10, 0.1), ADDRS[3]: load(10, 1.0)}
    for bad, good in ((ADDRS[0], ADDRS[1]), (ADDRS[2], ADDRS[3])):
        sc = b.subchannel(bad)
        b.step(ev.SubchannelStateChange(sc, State.CONNECTING))
        b.step(ev.SubchannelStateChange(sc, State.TRANSIENT_FAILURE, ERROR))
        b.ready(good)
    b.ensure_reached(2)
    b.advance(0.1)
    b.check_weights(s2=10, s4=1)
    assert b.judged() == []


@pytest.mark.req("WRR-8", "WRR-9")
@pytest.mark.parametrize(
    ("case", "expiration", "blackout", "reported", "now", "want"),
    [
        ("no weight set", 1, 1, None, 0, 0.0),
        ("weight expiration", 2, 1, 0, 100, 0.0),
        ("in blackout period", 60, 10, 0, 0, 0.0),
        ("normal weight", 60, 1, 0, 10, 3.0),
        ("weight expiration takes precedence over blackout", 1, 60, 0, 10, 0.0),
    ],
)
def test_metrics_subconn_weight(
    case: str, expiration: int, blackout: int, reported: int | None, now: int, want: float
) -> None:
    """grpc-go TestWRR_Metrics_SubConnWeight, without the metrics: the weight each case gives."""
    w = EndpointWeight(config())
    if reported is not None:
        w.on_load_report(report(3, 1.0), S(seconds=reported))
    got = w.weight(S(seconds=now), S(seconds=expiration), S(seconds=blackout))
    assert got == pytest.approx(want), case


@pytest.mark.req("WRR-13")
def test_metrics_scheduler_rr_fallback() -> None:
    """grpc-go TestWRR_Metrics_Scheduler_RR_Fallback: one endpoint, or no weights, is RR."""
    clock, cfg = VirtualClock(), config()
    _, one = picker_over([EndpointWeight(cfg)], cfg, clock)
    assert isinstance(one.scheduler, RoundRobinScheduler)
    _, two = picker_over([EndpointWeight(cfg), EndpointWeight(cfg)], cfg, clock)
    assert isinstance(two.scheduler, RoundRobinScheduler)


@pytest.mark.req("WRR-4")
def test_missing_config_is_a_bad_resolver_state() -> None:
    b = Backends(endpoints(ADDRS[0]), None)
    (rejected,) = b.trace[0].outputs
    assert isinstance(rejected, act.UpdateRejected)
    assert "no config" in rejected.reason
    assert b.judged() == []


@pytest.mark.req("WRR-3")
def test_bad_config_after_a_good_one_keeps_the_good_one() -> None:
    b = Backends(endpoints(*ADDRS[:2]), PER_CALL)
    b.ready(*ADDRS[:2])
    b.update(endpoints(*ADDRS[:2]), {"weightUpdatePeriod": "soon"})
    (rejected,) = [o for o in b.trace[-1].outputs if isinstance(o, act.UpdateRejected)]
    assert "weightUpdatePeriod" in rejected.reason
    b.loads = {ADDRS[0]: load(10, 1.0), ADDRS[1]: load(10, 0.1)}
    b.ensure_reached(2)
    b.advance(0.1)  # PER_CALL's period and blackout still hold
    b.check_weights(s1=1, s2=10)
    assert b.judged() == []


@pytest.mark.req("WRR-19")
def test_close_cancels_the_timer_and_the_oob_streams() -> None:
    b = Backends(endpoints(*ADDRS[:2]), OOB)
    b.ready(*ADDRS[:2])
    assert b.driver.clock.pending() == 1  # the rebuild timer
    assert all(sc.oob_listeners for sc in b.driver.live_subchannels())
    subconns = list(b.driver.live_subchannels())
    b.step(ev.Close())
    assert b.driver.clock.pending() == 0
    assert not any(sc.oob_listeners for sc in subconns)


@pytest.mark.req("WRR-18")
def test_smooth_scheduler_option_through_the_driver() -> None:
    b = Backends(
        endpoints(*ADDRS[:2]), PER_CALL, WeightedRoundRobinBuilder(scheduler=SchedulerKind.SMOOTH)
    )
    b.loads = {ADDRS[0]: load(10, 1.0), ADDRS[1]: load(10, 0.1)}
    b.ready(*ADDRS[:2])
    b.ensure_reached(2)
    b.advance(0.1)
    picker = b.driver.picker
    assert isinstance(picker, WeightedRoundRobinPicker)
    assert isinstance(picker.scheduler, SmoothWeightedScheduler)
    b.check_weights(s1=1, s2=10)
    assert b.judged() == []
