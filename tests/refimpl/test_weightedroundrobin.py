"""weighted_round_robin: config, weights, the picker, and grpc-go's scripted cases.

The scripted cases restate grpc-go ``balancer/weightedroundrobin/balancer_test.go``
(digest section 12), each named after the grpc-go test it restates.  grpc-go
sleeps on real time and stubs ``time.Now``; here the driver's virtual clock moves.
"""

from __future__ import annotations

import json
import math
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refimpl.balancer import Complete, ConfigError, DoneInfo, PickInfo
from refimpl.clock import VirtualClock
from refimpl.weightedroundrobin import (
    EndpointWeight,
    WeightedRoundRobinConfig,
    WeightedRoundRobinPicker,
    WeightedTarget,
    load_report_weight,
    parse_config,
)
from refimpl.wrr_scheduler import RoundRobinScheduler, StaticStrideScheduler
from spec.monitors import weighted_round_robin as spec_wrr
from spec.types import Duration, OrcaLoadReport
from tests.refimpl.test_leastrequest import NamedSubConn, ReadyChild, chosen

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
