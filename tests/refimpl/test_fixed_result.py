"""``Picker.fixed_result`` (refimpl/balancer.py): when set, it is exactly what ``pick`` returns.

Composite pickers (weighted_round_robin, least_request) read a child's
``fixed_result`` once, when they are built, instead of calling the child on
every pick; a ``fixed_result`` that disagreed with ``pick`` would silently
change their picks.  Every picker the reference's policies report, and every
child picker behind them, is checked here against any ``PickInfo``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refimpl.balancer import Complete, Drop, Picker, PickInfo, PickResult
from refimpl.driver import Driver
from refimpl.endpoint_sharding import EndpointShardingPicker
from refimpl.least_request import LeastRequestPicker
from refimpl.pick_first import ReadyPicker
from refimpl.weighted_round_robin import WeightedRoundRobinPicker
from spec import events as ev
from spec.connectivity import State
from spec.types import Duration, Endpoint, OrcaLoadReport, Status, StatusCode
from tests.refimpl.test_least_request import NamedSubConn

pick_infos = st.builds(
    PickInfo,
    method=st.sampled_from(["/a.B/C", "/grpc.testing.TestService/UnaryCall", ""]),
    wait_for_ready=st.booleans(),
    metadata=st.dictionaries(st.sampled_from(["k", "x-user"]), st.text(max_size=3), max_size=2),
)


@pytest.mark.req("PF-19")
@given(pick_infos)
def test_the_ready_picker_returns_its_fixed_result(info: PickInfo) -> None:
    subconn = NamedSubConn("backend-0")
    picker = ReadyPicker(subconn)
    assert isinstance(picker.fixed_result, Complete)
    assert picker.fixed_result.subconn is subconn
    assert picker.pick(info) is picker.fixed_result


@pytest.mark.req("PF-19", "RR-7")
def test_a_ready_picker_subclass_that_picks_otherwise_offers_no_fixed_result() -> None:
    # Composites would never call an override whose parent's fixed_result they trusted.
    class Dropping(ReadyPicker):
        def pick(self, info: PickInfo) -> PickResult:
            return Drop(Status(StatusCode.UNAVAILABLE, "planted"))

    assert Dropping(NamedSubConn("backend-0")).fixed_result is None
    assert ReadyPicker(NamedSubConn("backend-0")).fixed_result is not None


def _pickers(picker: Picker) -> Iterator[Picker]:
    """``picker`` and every child picker the composite pickers hold."""
    yield picker
    children: tuple[Picker, ...] = ()
    if isinstance(picker, EndpointShardingPicker):
        children = tuple(c.state.picker for c in picker.child_states)
    elif isinstance(picker, WeightedRoundRobinPicker | LeastRequestPicker):
        children = tuple(t.picker for t in picker.targets)
    for child in children:
        yield from _pickers(child)


POLICIES = [
    ("pick_first", None),
    ("round_robin", None),
    ("weighted_round_robin", {"enableOobLoadReport": False, "blackoutPeriod": "0s"}),
    ("weighted_round_robin", {"enableOobLoadReport": True, "blackoutPeriod": "0s"}),
    ("least_request_experimental", {"choiceCount": 2}),
]


def _ready_driver(policy: str, config: object, ready: int) -> Driver:
    """Three endpoints, ``ready`` of them READY and the rest CONNECTING."""
    driver = Driver(policy, seed=ready)
    update = [Endpoint([f"10.0.0.{i}:80"]) for i in range(1, 4)]
    driver.step(ev.ResolverUpdate(update, config=config))
    for n, sc in enumerate(list(driver.live_subchannels())):
        driver.step(ev.SubchannelStateChange(sc.ident, State.CONNECTING))
        if n < ready:
            driver.step(ev.SubchannelStateChange(sc.ident, State.READY))
            if sc.oob_listeners:
                driver.step(
                    ev.OobLoadReport(
                        sc.ident,
                        OrcaLoadReport(application_utilization=0.5, rps_fractional=n + 1.0),
                    )
                )
    driver.step(ev.TimeAdvanced(Duration.of(seconds=1)))
    return driver


@pytest.mark.req("PF-19", "RR-7", "WRR-6", "LR-8")
@pytest.mark.parametrize(("policy", "config"), POLICIES)
@given(info=pick_infos, ready=st.integers(min_value=1, max_value=3))
def test_every_fixed_result_agrees_with_pick(
    policy: str, config: object, info: PickInfo, ready: int
) -> None:
    driver = _ready_driver(policy, config, ready)
    assert driver.picker is not None
    pickers = list(_pickers(driver.picker))
    fixed = [p for p in pickers if p.fixed_result is not None]
    assert fixed, f"{policy}: no picker with a fixed result to check"
    for picker in fixed:
        assert picker.pick(info) is picker.fixed_result
