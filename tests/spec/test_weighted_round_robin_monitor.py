"""The weighted_round_robin monitor catches each rule being broken (planted-bug traces).

Traces are written by hand with a small builder: a correct policy's trace is
judged clean, and the same trace with one planted bug is flagged with the rule
it breaks.  Rules the monitor uses as its model (weights, blackout, expiry...)
show up as uneven picks: WRR-13 when the spec expects round robin, WRR-16 when
it expects weighted shares.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from spec import actions as act
from spec import events as ev
from spec.connectivity import State
from spec.monitors.weighted_round_robin import (
    WeightCaps,
    WeightedRoundRobinMonitor,
    parse_config,
    report_weight,
    scheduler_shares,
    window_excess,
)
from spec.options import WeightOnReconnect
from spec.trace import Step, Violation, judge
from spec.types import Duration, Endpoint, OrcaLoadReport, Status, StatusCode

NO_BLACKOUT = {"blackoutPeriod": "0s"}


def load(qps: float, util: float, eps: float = 0.0) -> OrcaLoadReport:
    return OrcaLoadReport(application_utilization=util, rps_fractional=qps, eps=eps)


def smooth(weights: Sequence[float], count: int) -> list[int]:
    """An exactly proportional pick sequence (what a correct scheduler may produce)."""
    credit = [0.0] * len(weights)
    out = []
    for _ in range(count):
        for i, w in enumerate(weights):
            credit[i] += w
        best = max(range(len(weights)), key=lambda i: (credit[i], -i))
        credit[best] -= sum(weights)
        out.append(best)
    return out


class Trace:
    """Builds the trace of a weighted_round_robin run over n single-address endpoints."""

    def __init__(self, n: int = 2, config: object = None) -> None:
        self.n = n
        self.steps: list[Step] = []
        self.next_pick = 1
        self.subchannel_of = [i + 1 for i in range(n)]  # endpoint index -> its subchannel
        self.endpoints = [Endpoint([f"10.0.0.{i + 1}:80"]) for i in range(n)]
        created: list[act.Output] = []
        for i in range(n):
            created += [act.NewSubchannel(i + 1, [f"10.0.0.{i + 1}:80"], True), act.Connect(i + 1)]
        self.steps.append(
            Step(
                ev.ResolverUpdate(self.endpoints, config=NO_BLACKOUT if config is None else config),
                [*created, act.UpdateState(State.CONNECTING)],
            )
        )
        for i in range(n):
            self.steps.append(Step(ev.SubchannelStateChange(i + 1, State.CONNECTING)))
            self.steps.append(
                Step(ev.SubchannelStateChange(i + 1, State.READY), [act.UpdateState(State.READY)])
            )

    def fork(self) -> Trace:
        """An independent copy to continue two ways."""
        other = Trace.__new__(Trace)
        other.__dict__.update(self.__dict__)
        other.steps, other.subchannel_of = list(self.steps), list(self.subchannel_of)
        return other

    def picks(self, sequence: Sequence[int]) -> list[int]:
        """Picks completed on the endpoints at these indices; returns their pick ids."""
        ids = []
        for index in sequence:
            self.steps.append(
                Step(
                    ev.Pick(self.next_pick),
                    [act.PickComplete(self.next_pick, self.subchannel_of[index])],
                )
            )
            ids.append(self.next_pick)
            self.next_pick += 1
        return ids

    def weighted(self, weights: Sequence[float], count: int = 60) -> list[int]:
        return self.picks(smooth(weights, count))

    def oob(self, *reports: OrcaLoadReport) -> None:
        for i, r in enumerate(reports):
            self.steps.append(Step(ev.OobLoadReport(i + 1, r)))

    def per_call(self, *reports: OrcaLoadReport) -> None:
        """One pick per endpoint whose Done carries its report."""
        ids = self.picks(range(self.n))
        for pick_id, r in zip(ids, reports, strict=True):
            self.steps.append(Step(ev.Done(pick_id, load_report=r)))

    def advance(self, seconds: float) -> None:
        self.steps.append(Step(ev.TimeAdvanced(Duration.of(seconds=seconds))))

    def judge(self, caps: WeightCaps = WeightCaps.GRPC_CPP) -> list[Violation]:
        return judge(lambda: WeightedRoundRobinMonitor(weight_caps=caps), self.steps)

    def ids(self, caps: WeightCaps = WeightCaps.GRPC_CPP) -> list[str]:
        return sorted({v.requirement for v in self.judge(caps)})


# --- the spec's arithmetic ---


@pytest.mark.req("WRR-5")
def test_report_weight() -> None:
    assert report_weight(load(10, 1.0), 1.0) == pytest.approx(10)
    assert report_weight(OrcaLoadReport(cpu_utilization=0.5, rps_fractional=10), 1) == 20
    assert report_weight(load(10, 0.1, eps=10), 0.9) == pytest.approx(10)
    assert report_weight(load(0, 0.5), 1) is None
    assert report_weight(load(10, 0.0), 1) is None


@pytest.mark.req("WRR-15")
def test_weight_caps_option() -> None:
    assert WeightCaps("grpc_go").bounds is None  # how an adapter's spec option arrives
    assert WeightCaps.GRPC_CPP.bounds == (10.0, 0.01)
    assert WeightCaps.GRPC_JAVA.bounds == (10.0, 0.1)
    with pytest.raises(ValueError, match="weight_caps"):
        WeightedRoundRobinMonitor(weight_caps="grpc_go")  # type: ignore[arg-type]


@pytest.mark.req("WRR-13", "WRR-14", "WRR-15")
def test_scheduler_shares() -> None:
    assert scheduler_shares([0.0, 5.0], None) == ([0.5, 0.5], True)  # one known weight
    assert scheduler_shares([3.0, 0.0, 3.0], None) == ([1 / 3] * 3, True)  # all equal
    shares, fallback = scheduler_shares([1.0, 0.0, 3.0], None)
    assert not fallback
    assert shares == pytest.approx([1 / 6, 2 / 6, 3 / 6])  # the unknown one gets the mean
    capped, _ = scheduler_shares([1000.0] + [1.0] * 19, (10.0, 0.01))
    assert capped[0] == pytest.approx(10 * (1019 / 20) / (10 * (1019 / 20) + 19))


@pytest.mark.req("WRR-16")
def test_window_excess_finds_the_first_bad_window() -> None:
    assert window_excess([0, 1] * 10, [0.5, 0.5], 2.0, 0.0) is None
    # Three picks of 0 in a row exceed W/2 by 1.5; four by 2 at the fourth pick (index 3).
    assert window_excess([1, 0, 0, 0, 0, 1], [0.5, 0.5], 2.0, 0.0) == 4
    assert window_excess([1, 0, 0, 0, 0, 1], [0.5, 0.5], 2.5, 0.0) is None


@pytest.mark.req("WRR-1", "WRR-2", "WRR-3")
def test_parse_config() -> None:
    assert parse_config({}).weight_update_period == Duration.of(seconds=1)
    assert parse_config({"weightUpdatePeriod": "0.01s"}).weight_update_period == Duration.of(
        millis=100
    )
    bad_configs: list[object] = [{"blackoutPeriod": "-1s"}, {"errorUtilizationPenalty": -1}, []]
    for bad in bad_configs:
        with pytest.raises(ValueError, match=r"blackoutPeriod|errorUtilizationPenalty|object"):
            parse_config(bad)


# --- correct traces are clean ---


def test_a_correct_weighted_trace_has_no_violations() -> None:
    t = Trace()
    t.picks([0, 1, 0, 1])  # no weights yet: round robin
    t.oob(load(10, 1.0), load(10, 0.1))  # OOB is off: ignored
    t.per_call(load(10, 1.0), load(10, 0.1))  # weights 10 and 100
    t.picks([0, 1])  # still the old scheduler
    t.advance(1)  # the rebuild
    t.weighted([10, 100])
    t.steps.append(Step(ev.Close(), [act.Shutdown(1), act.Shutdown(2)]))
    assert t.judge() == []


# --- config outcomes ---


@pytest.mark.req("WRR-3")
def test_invalid_config_must_be_rejected() -> None:
    t = Trace()
    bad = ev.ResolverUpdate(t.endpoints, config={"weightUpdatePeriod": "soon"})
    t.steps.append(Step(bad, [act.UpdateState(State.READY)]))
    assert t.ids() == ["WRR-3"]
    t.steps[-1] = Step(bad, [act.UpdateRejected("error parsing service config")])
    assert t.ids() == []


@pytest.mark.req("WRR-3")
def test_valid_config_must_not_be_rejected() -> None:
    t = Trace()
    good = ev.ResolverUpdate(t.endpoints, config={"weightUpdatePeriod": "0.01s"})
    t.steps.append(Step(good, [act.UpdateRejected("bad"), act.UpdateState(State.READY)]))
    assert t.ids() == ["WRR-3"]


@pytest.mark.req("WRR-4")
def test_missing_config_must_be_rejected() -> None:
    t = Trace()
    t.steps.append(Step(ev.ResolverUpdate(t.endpoints), [act.UpdateState(State.READY)]))
    assert t.ids() == ["WRR-4"]


# --- the picker ---


@pytest.mark.req("WRR-12")
def test_weighted_picker_completes_every_pick() -> None:
    t = Trace()
    t.steps.append(Step(ev.Pick(99), [act.PickFail(99, Status(StatusCode.UNAVAILABLE, "no"))]))
    assert t.ids() == ["WRR-12"]


@pytest.mark.req("WRR-12")
def test_weighted_picker_serves_only_its_ready_endpoints() -> None:
    t = Trace(3)
    t.steps.append(Step(ev.SubchannelStateChange(3, State.IDLE), [act.UpdateState(State.READY)]))
    t.picks([0, 1, 2])
    assert "WRR-12" in t.ids()


# --- fallback and weighted shares ---


@pytest.mark.req("WRR-13")
def test_fallback_must_be_round_robin() -> None:
    t = Trace(3)
    t.picks([0, 1, 2, 0, 0, 1, 2, 2, 1])
    assert t.ids() == []
    t.picks([0, 0, 0, 1, 2, 1])
    assert t.ids() == ["WRR-13"]


@pytest.mark.req("WRR-16")
def test_weighted_shares_are_enforced() -> None:
    t = Trace()
    t.per_call(load(10, 1.0), load(10, 0.1))
    t.advance(1)
    t.picks([0, 1] * 30)  # bug: ignores the weights (10 : 100)
    assert t.ids() == ["WRR-16"]


@pytest.mark.req("WRR-2")
def test_update_period_below_100ms_is_raised() -> None:
    """Bug: rebuilding after 10 ms.  The spec still expects the old (round-robin) scheduler."""
    t = Trace(config={"blackoutPeriod": "0s", "weightUpdatePeriod": "0.01s"})
    t.per_call(load(10, 1.0), load(10, 0.1))
    t.advance(0.05)
    t.weighted([10, 100], 30)
    assert t.ids() == ["WRR-13"]


@pytest.mark.req("WRR-1", "WRR-8")
def test_default_blackout_is_ten_seconds() -> None:
    """Bug: weights used after 1 s although the default blackout is 10 s."""
    t = Trace(config={})
    t.per_call(load(10, 1.0), load(10, 0.1))
    t.advance(1)
    t.weighted([10, 100], 30)
    assert t.ids() == ["WRR-13"]
    t.advance(9)  # 10 s after the reports: now the weights count
    t.weighted([10, 100], 30)
    assert t.ids() == ["WRR-13"]  # only the early window is flagged


@pytest.mark.req("WRR-5")
def test_weight_formula_is_enforced() -> None:
    """Bug: ignoring the error penalty (weights 10 : 100 instead of 10 : 10)."""
    t = Trace(config={"blackoutPeriod": "0s", "errorUtilizationPenalty": 0.9})
    t.per_call(load(10, 1.0), load(10, 0.1, eps=10))
    t.advance(1)
    t.weighted([10, 100], 40)
    assert t.ids() == ["WRR-13"]  # equal weights: the spec expects round robin


@pytest.mark.req("WRR-6")
def test_per_call_reports_are_ignored_with_oob() -> None:
    """Bug: using per-call reports although enableOobLoadReport is true."""
    t = Trace(config={"blackoutPeriod": "0s", "enableOobLoadReport": True})
    t.per_call(load(10, 1.0), load(10, 0.1))
    t.advance(1)
    t.weighted([10, 100], 40)
    assert t.ids() == ["WRR-13"]


@pytest.mark.req("WRR-7")
def test_oob_reports_set_the_weights() -> None:
    """Bug: ignoring out-of-band reports."""
    t = Trace(config={"blackoutPeriod": "0s", "enableOobLoadReport": True})
    t.oob(load(10, 1.0), load(10, 0.1))
    t.advance(1)
    good, bad = t.fork(), t.fork()
    bad.picks([0, 1] * 20)
    assert bad.ids() == ["WRR-16"]
    good.weighted([10, 100], 40)
    assert good.ids() == []


@pytest.mark.req("WRR-9")
def test_expired_weights_are_not_used() -> None:
    """Bug: still using weights 60 s after the last report."""
    t = Trace(config={"blackoutPeriod": "0s", "weightExpirationPeriod": "60s"})
    t.per_call(load(10, 1.0), load(10, 0.1))
    t.advance(59)
    t.weighted([10, 100], 30)
    assert t.ids() == []
    t.advance(1)
    t.weighted([10, 100], 30)
    assert t.ids() == ["WRR-13"]


@pytest.mark.req("WRR-9")
def test_expiry_restarts_the_blackout() -> None:
    """Bug: after an expiry, fresh reports are used at once instead of after a new blackout."""
    t = Trace(config={"blackoutPeriod": "5s", "weightExpirationPeriod": "60s"})
    t.per_call(load(10, 1.0), load(10, 0.1))
    t.advance(61)  # looked up expired by the rebuilds: the run ends
    t.per_call(load(10, 1.0), load(10, 0.1))
    t.advance(1)
    t.weighted([10, 100], 30)
    assert t.ids() == ["WRR-13"]


@pytest.mark.req("WRR-10")
@pytest.mark.parametrize(
    ("reset", "expected"),
    [(WeightOnReconnect.RESET_ALL, ["WRR-13"]), (WeightOnReconnect.RESET_NON_EMPTY_SINCE, [])],
)
def test_ready_again_resets_the_weight(reset: WeightOnReconnect, expected: list[str]) -> None:
    """Bug under reset_all (grpc-go): keeping endpoint 2's weight after it reconnected.

    Under reset_non_empty_since (gRFC A58) the blackout restarts, which with this
    trace's zero blackout keeps the weight: the weighted picks are right.
    """
    t = Trace()
    t.per_call(load(10, 1.0), load(10, 0.1))
    t.advance(1)
    t.weighted([10, 100], 30)
    t.steps.append(Step(ev.SubchannelStateChange(2, State.IDLE), [act.UpdateState(State.READY)]))
    t.steps.append(Step(ev.ExitIdle(), [act.Connect(2)]))
    t.steps.append(Step(ev.SubchannelStateChange(2, State.CONNECTING)))
    t.steps.append(Step(ev.SubchannelStateChange(2, State.READY), [act.UpdateState(State.READY)]))
    t.weighted([10, 100], 30)  # reset_all: round robin, endpoint 2 is unknown again
    found = judge(lambda: WeightedRoundRobinMonitor(weight_on_reconnect=reset), t.steps)
    assert sorted({v.requirement for v in found}) == expected


@pytest.mark.req("WRR-11")
def test_a_removed_endpoint_forgets_its_weight() -> None:
    """Bug: endpoint 2 comes back with its old weight after being dropped and re-added."""
    t = Trace()
    t.per_call(load(10, 1.0), load(10, 0.1))
    t.advance(1)
    only_first = ev.ResolverUpdate(t.endpoints[:1], config=NO_BLACKOUT)
    t.steps.append(Step(only_first, [act.Shutdown(2), act.UpdateState(State.READY)]))
    both = ev.ResolverUpdate(t.endpoints, config=NO_BLACKOUT)
    t.steps.append(Step(both, [act.NewSubchannel(3, ["10.0.0.2:80"], True), act.Connect(3)]))
    t.steps.append(Step(ev.SubchannelStateChange(3, State.CONNECTING)))
    t.steps.append(Step(ev.SubchannelStateChange(3, State.READY), [act.UpdateState(State.READY)]))
    t.subchannel_of[1] = 3
    t.advance(1)
    good, bad = t.fork(), t.fork()
    good.picks([0, 1] * 15)  # endpoint 2's weight is unknown again: round robin
    assert good.ids() == []
    bad.weighted([10, 100], 30)
    assert bad.ids() == ["WRR-13"]


@pytest.mark.req("WRR-14")
def test_unknown_weight_gets_the_mean() -> None:
    """Bug: an endpoint without a weight is never picked (three endpoints, one unknown)."""
    t = Trace(3)
    t.per_call(load(10, 1.0), load(30, 1.0), load(0, 1.0))  # the third report is ignored
    t.advance(1)
    good, bad = t.fork(), t.fork()
    bad.weighted([10, 30, 0], 40)
    assert bad.ids() == ["WRR-16"]
    good.weighted([10, 30, 20], 40)
    assert good.ids() == []


@pytest.mark.req("WRR-15")
def test_weight_caps_are_the_option_in_force() -> None:
    """Twenty endpoints, one 100 times heavier than the others.

    Capped at 10x the mean (10.95 x 1 + ...) its share is 59.5 / 78.5 = 0.76; uncapped
    (grpc-go) it is 100 / 119 = 0.84.  Over 1200 picks that is ~100 picks apart, more
    than the tolerance of 4 x 19.
    """
    weights = [100.0] + [1.0] * 19
    t = Trace(20)
    t.per_call(*(load(w, 1.0) for w in weights))
    t.advance(1)
    t.weighted(weights, 1200)  # grpc-go's shares
    assert t.ids(WeightCaps.GRPC_GO) == []
    assert t.ids() == ["WRR-16"]  # the default: grpc C++'s caps
    assert t.ids(WeightCaps.GRPC_JAVA) == ["WRR-16"]  # the same upper cap


@pytest.mark.req("WRR-16")
def test_violation_names_the_window() -> None:
    t = Trace()
    t.per_call(load(10, 1.0), load(10, 0.1))
    t.advance(1)
    t.picks([0] * 10)
    (violation,) = t.judge()
    assert violation.requirement == "WRR-16"
    assert "shares [0.09091, 0.9091]" in violation.message
    # The fifth pick of endpoint 0 in a row is 5 * 10/11 = 4.5 > 4 picks over its share.
    assert violation.step == len(t.steps) - 10 + 4


@pytest.mark.req("WRR-12")
def test_endpoints_sharing_an_address_are_not_judged() -> None:
    """Which child owns a subchannel of a shared address is not in the trace: no guessing."""
    shared = [Endpoint(["10.0.0.1:80", "10.0.0.9:80"]), Endpoint(["10.0.0.2:80", "10.0.0.9:80"])]
    t = Trace()
    t.per_call(load(10, 1.0), load(10, 0.1))
    t.advance(1)
    t.steps.append(
        Step(ev.ResolverUpdate(shared, config=NO_BLACKOUT), [act.UpdateState(State.READY)])
    )
    t.picks([0] * 30)  # would break WRR-16 if the monitor judged it
    assert t.ids() == []
