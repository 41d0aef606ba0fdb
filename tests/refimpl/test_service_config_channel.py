"""A whole service config driven through the channel layer (grpc-go clientconn.go + gracefulswitch).

The first two tests restate grpc-go test/resolver_update_test.go
TestResolverUpdate_InvalidServiceConfigAsFirstUpdate and ..._AfterGoodUpdate.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refimpl.balancer import BalancerState
from refimpl.driver import Driver
from refimpl.graceful_switch import GracefulSwitchBalancer, _Child
from refimpl.service_config_channel import (
    MissingConfigRule,
    ServiceConfigChannel,
    ServiceConfigChannelBuilder,
)
from spec import actions as act
from spec import events as ev
from spec.connectivity import State
from spec.monitors.boundary import BoundaryMonitor
from spec.monitors.graceful_switch import GracefulSwitchMonitor
from spec.options import GracefulSwitchRule
from spec.trace import Step, judge
from spec.types import Endpoint, Status, StatusCode
from tests.refimpl.scripted_policy import (
    ParsingBuilder,
    ScriptedBuilder,
    ScriptedConfig,
    registered,
    report_aggregate,
)

# The reference follows grpc-go's graceful switch (conformance/adapters/refimpl.py declares
# service_config.graceful_switch=grpc_go); the monitor's default is the text's rule.
REFERENCE_SWITCH = GracefulSwitchRule.GRPC_GO

A, B = "10.0.0.1:80", "10.0.0.2:80"
WRAPPING = ParsingBuilder("test_ch_wrapping", on_subconn_state=report_aggregate)
POLICY_A = ScriptedBuilder("test_ch_a", on_subconn_state=report_aggregate)
POLICY_B = ScriptedBuilder("test_ch_b", on_subconn_state=report_aggregate)
DEFAULT_STUB = ScriptedBuilder("pick_first", on_subconn_state=report_aggregate)
KNOWN = ("test_ch_wrapping", "test_ch_a", "test_ch_b", "pick_first")


@pytest.fixture(autouse=True)
def _policies() -> Iterator[None]:
    for builder in (WRAPPING, POLICY_A, POLICY_B, DEFAULT_STUB):
        builder.built.clear()
    with registered(WRAPPING, POLICY_A, POLICY_B, DEFAULT_STUB):
        yield


def _config(name: str, config: object = None) -> str:
    return json.dumps({"loadBalancingConfig": [{name: config if config is not None else {}}]})


def _update(*addresses: str, config: object = None) -> ev.ResolverUpdate:
    return ev.ResolverUpdate([Endpoint([a]) for a in addresses], config=config)


class Run:
    """A channel driver that also keeps the trace, for the monitors."""

    def __init__(self, builder: ServiceConfigChannelBuilder | None = None) -> None:
        self.driver = Driver(builder or ServiceConfigChannelBuilder())
        self.trace: list[Step] = []

    def step(self, event: ev.Input) -> tuple[act.Output, ...]:
        outputs = self.driver.step(event)
        self.trace.append(Step(event, outputs))
        return outputs

    @property
    def channel(self) -> ServiceConfigChannel:
        assert isinstance(self.driver.balancer, ServiceConfigChannel)
        return self.driver.balancer

    def judge(self) -> None:
        assert judge(BoundaryMonitor, self.trace) == []
        assert (
            judge(lambda: GracefulSwitchMonitor(KNOWN, swap_rule=REFERENCE_SWITCH), self.trace)
            == []
        )


@pytest.mark.req("SC-10", "SC-9")
def test_resolver_update_invalid_service_config_as_first_update() -> None:
    run = Run()
    outputs = run.step(_update(config="bad json service config"))
    assert len(outputs) == 2
    rejection = outputs[1]
    assert isinstance(rejection, act.UpdateRejected)
    assert rejection.reason.startswith("error parsing service config: line 1 column 1")
    assert outputs[0] == act.UpdateState(State.TRANSIENT_FAILURE)
    status = Status(StatusCode.UNAVAILABLE, rejection.reason)
    assert run.step(ev.Pick(1)) == (act.PickFail(1, status),)
    assert run.channel.policy_name is None  # no policy was built
    run.judge()


@pytest.mark.req("SC-11")
def test_resolver_update_invalid_service_config_after_good_update() -> None:
    run = Run()
    assert run.step(_update(A, config=_config("test_ch_wrapping", {"value": 3}))) == (
        act.NewSubchannel(1, [A]),
        act.Connect(1),
    )
    child = WRAPPING.last
    assert child.updates[-1].config == ScriptedConfig(3)
    run.step(ev.SubchannelStateChange(1, State.CONNECTING))
    run.step(ev.SubchannelStateChange(1, State.READY))
    assert run.step(ev.Pick(1)) == (act.PickComplete(1, 1),)

    outputs = run.step(_update(A, B, config="bad json service config"))
    # The policy got the new endpoints with the old config; then the update was rejected.
    assert outputs[:4] == (
        act.NewSubchannel(2, [A]),
        act.Connect(2),
        act.NewSubchannel(3, [B]),
        act.Connect(3),
    )
    assert len(outputs) == 5
    assert isinstance(outputs[4], act.UpdateRejected)
    assert outputs[4].reason.startswith("error parsing service config")
    assert len(WRAPPING.built) == 1
    assert child.updates[-1].config == ScriptedConfig(3)
    assert [e.addresses[0].addr for e in child.updates[-1].resolver_state.endpoints] == [A, B]
    assert run.step(ev.Pick(2)) == (act.PickComplete(2, 1),)  # still working
    run.judge()


@pytest.mark.req("SC-10", "SC-4")
def test_policy_config_error_names_its_path_in_the_failing_picker() -> None:
    run = Run()
    outputs = run.step(_update(A, config=_config("test_ch_wrapping", {"value": "x"})))
    rejection = outputs[-1]
    assert isinstance(rejection, act.UpdateRejected)
    assert "loadBalancingConfig[0].test_ch_wrapping.value" in rejection.reason
    (fail,) = run.step(ev.Pick(1))
    assert isinstance(fail, act.PickFail)
    assert fail.status.code is StatusCode.UNAVAILABLE
    assert "must be an integer" in fail.status.message


@pytest.mark.req("SC-12")
def test_update_without_config_keeps_the_config_in_force() -> None:
    run = Run()
    run.step(_update(A))  # nothing in force: the default config, so pick_first
    assert run.channel.policy_name == "pick_first"
    run.step(_update(A, config=_config("test_ch_a")))
    run.step(ev.SubchannelStateChange(2, State.CONNECTING))  # pick_first never reported: swap
    assert run.channel.policy_name == "test_ch_a"
    updates = len(POLICY_A.last.updates)
    run.step(_update(A, B))  # no service config: keep test_ch_a (grpc-go)
    assert run.channel.policy_name == "test_ch_a"
    assert len(POLICY_A.last.updates) == updates + 1
    assert len(DEFAULT_STUB.built) == 1
    run.judge()


@pytest.mark.req("SC-12")
def test_update_without_config_can_apply_the_default_instead() -> None:
    run = Run(ServiceConfigChannelBuilder(missing_config=MissingConfigRule.USE_DEFAULT))
    run.step(_update(A, config=_config("test_ch_a")))
    run.step(_update(A))
    assert run.channel.switch.pending_name == "pick_first"
    assert len(DEFAULT_STUB.built) == 1


@pytest.mark.req("SC-12")
def test_channel_default_config_is_configurable_and_checked() -> None:
    run = Run(
        ServiceConfigChannelBuilder(default_service_config={"loadBalancingPolicy": "test_ch_b"})
    )
    run.step(_update(A))
    assert run.channel.policy_name == "test_ch_b"

    broken = Run(ServiceConfigChannelBuilder(default_service_config='{"loadBalancingConfig": []}'))
    outputs = broken.step(_update(A))
    assert outputs[0] == act.UpdateState(State.TRANSIENT_FAILURE)
    assert isinstance(outputs[1], act.UpdateRejected)
    assert "default service config" in outputs[1].reason


@pytest.mark.req("SC-14", "GS-4")
def test_resolver_error_puts_the_default_config_in_force() -> None:
    run = Run()
    assert run.step(ev.ResolverError("dns down")) == (act.UpdateState(State.TRANSIENT_FAILURE),)
    (fail,) = run.step(ev.Pick(1))
    assert fail == act.PickFail(1, Status(StatusCode.UNAVAILABLE, "dns down"))
    # Not the first config any more: an invalid one is ignored, the default policy runs.
    outputs = run.step(_update(A, config="{"))
    assert outputs[:2] == (act.NewSubchannel(1, [A]), act.Connect(1))
    assert isinstance(outputs[-1], act.UpdateRejected)
    assert act.UpdateState(State.TRANSIENT_FAILURE) not in outputs
    assert run.channel.policy_name == "pick_first"
    run.judge()


@pytest.mark.req("GS-2", "GS-5", "GS-6", "GS-7")
def test_switching_policy_keeps_the_ready_picker_until_the_new_one_is_ready() -> None:
    run = Run()
    run.step(_update(A, config=_config("test_ch_a")))
    run.step(ev.SubchannelStateChange(1, State.CONNECTING))
    run.step(ev.SubchannelStateChange(1, State.READY))
    # Switch: the new policy is built and connects; the channel stays READY on the old one.
    assert run.step(_update(B, config=_config("test_ch_b"))) == (
        act.NewSubchannel(2, [B]),
        act.Connect(2),
    )
    assert run.step(ev.SubchannelStateChange(2, State.CONNECTING)) == ()  # held back
    assert run.step(ev.Pick(1)) == (act.PickComplete(1, 1),)
    assert run.channel.policy_name == "test_ch_a"
    # The new policy is READY: it takes over and the old one is closed in the same step.
    assert run.step(ev.SubchannelStateChange(2, State.READY)) == (
        act.UpdateState(State.READY),
        act.Shutdown(1),
    )
    assert run.channel.policy_name == "test_ch_b"
    assert POLICY_A.last.closed
    assert run.step(ev.Pick(2)) == (act.PickComplete(2, 2),)
    run.step(ev.Close())
    run.judge()


@pytest.mark.req("GS-5", "GS-7")
def test_old_policy_leaving_ready_hands_over_to_the_pending_one() -> None:
    run = Run()
    run.step(_update(A, config=_config("test_ch_a")))
    run.step(ev.SubchannelStateChange(1, State.CONNECTING))
    run.step(ev.SubchannelStateChange(1, State.READY))
    run.step(_update(B, config=_config("test_ch_b")))
    assert run.step(ev.SubchannelStateChange(1, State.IDLE)) == (
        act.UpdateState(State.CONNECTING),
        act.Shutdown(1),
    )
    assert run.step(ev.Pick(1)) == (act.PickQueue(1),)
    run.judge()


@pytest.mark.req("GS-1", "SC-1")
def test_same_policy_in_a_new_config_is_updated_in_place() -> None:
    run = Run()
    run.step(_update(A, config=_config("test_ch_wrapping", {"value": 1})))
    run.step(_update(A, config=_config("test_ch_wrapping", {"value": 2})))
    assert len(WRAPPING.built) == 1
    assert [u.config for u in WRAPPING.last.updates] == [ScriptedConfig(1), ScriptedConfig(2)]
    run.judge()


# --- Random runs against the graceful switch monitor; broken switches it must catch ---

MONITORED_NAMES = ("pol_a", "pol_b", "pol_c")
C = "10.0.0.3:80"
ERR = Status(StatusCode.UNAVAILABLE, "refused")


def _cfg(name: str) -> str:
    return json.dumps({"loadBalancingConfig": [{"unknown_first": {}}, {name: {}}]})


def _switch_update(addr: str, name: str) -> ev.ResolverUpdate:
    return ev.ResolverUpdate([Endpoint([addr])], config=_cfg(name))


def _sc(sc: int, state: State) -> ev.SubchannelStateChange:
    return ev.SubchannelStateChange(sc, state, ERR if state is State.TRANSIENT_FAILURE else None)


MONITORED = [ScriptedBuilder(n, on_subconn_state=report_aggregate) for n in MONITORED_NAMES]


@pytest.fixture
def _monitored() -> Iterator[None]:
    with registered(*MONITORED):
        yield


_NEXT = {
    State.IDLE: [State.CONNECTING],
    State.CONNECTING: [State.READY, State.TRANSIENT_FAILURE, State.IDLE],
    State.READY: [State.IDLE],
    State.TRANSIENT_FAILURE: [State.IDLE],
}


def _random_run(data: st.DataObject) -> list[Step]:
    driver = Driver(ServiceConfigChannelBuilder())
    trace: list[Step] = []

    def step(event: ev.Input) -> None:
        trace.append(Step(event, driver.step(event)))

    pick_id = 0
    for _ in range(data.draw(st.integers(min_value=1, max_value=20), label="steps")):
        live = sorted(sc.ident for sc in driver.live_subchannels())
        kind = data.draw(st.sampled_from(["update", "subchannel", "subchannel", "pick"]))
        if kind == "update" or not live:
            name = data.draw(st.sampled_from(MONITORED_NAMES), label="policy")
            addr = data.draw(st.sampled_from([A, B, C]), label="address")
            step(_switch_update(addr, name))
        elif kind == "subchannel":
            sc = data.draw(st.sampled_from(live), label="subchannel")
            state = driver.subconns[sc].state
            if state is State.IDLE and not driver.subconns[sc].connect_requested:
                continue
            step(_sc(sc, data.draw(st.sampled_from(_NEXT[state]), label="state")))
        else:
            pick_id += 1
            step(ev.Pick(pick_id))
    step(ev.Close())
    return trace


@pytest.mark.req("GS-2", "GS-3", "GS-5", "GS-6", "GS-7", "GS-8")
@pytest.mark.usefixtures("_monitored")
@given(st.data())
def test_reference_channel_passes_the_monitor(data: st.DataObject) -> None:
    trace = _random_run(data)
    assert (
        judge(lambda: GracefulSwitchMonitor(MONITORED_NAMES, swap_rule=REFERENCE_SWITCH), trace)
        == []
    )
    assert judge(BoundaryMonitor, trace) == []


def _switch_and_connect() -> list[Step]:
    driver = Driver(ServiceConfigChannelBuilder())
    events: list[ev.Input] = [
        _switch_update(A, "pol_a"),
        _sc(1, State.CONNECTING),
        _sc(1, State.READY),
        _switch_update(B, "pol_b"),
        _sc(2, State.CONNECTING),
        _sc(2, State.READY),
    ]
    return [Step(e, driver.step(e)) for e in events]


@pytest.mark.req("GS-6")
@pytest.mark.usefixtures("_monitored")
def test_monitor_catches_a_switch_that_does_not_hold_back(monkeypatch: pytest.MonkeyPatch) -> None:
    def forward_everything(
        self: GracefulSwitchBalancer, child: _Child, state: BalancerState
    ) -> None:
        child.last_state = state
        if child is self.pending:
            self._swap()
        elif child is self.current:
            self.cc.update_state(state)

    assert (
        judge(
            lambda: GracefulSwitchMonitor(MONITORED_NAMES, swap_rule=REFERENCE_SWITCH),
            _switch_and_connect(),
        )
        == []
    )
    monkeypatch.setattr(GracefulSwitchBalancer, "_child_update_state", forward_everything)
    found = judge(
        lambda: GracefulSwitchMonitor(MONITORED_NAMES, swap_rule=REFERENCE_SWITCH),
        _switch_and_connect(),
    )
    assert [v.requirement for v in found] == ["GS-6"]


@pytest.mark.req("GS-7")
@pytest.mark.usefixtures("_monitored")
def test_monitor_catches_a_swap_that_never_closes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(GracefulSwitchBalancer, "_close_retired", lambda self, child: None)
    found = judge(
        lambda: GracefulSwitchMonitor(MONITORED_NAMES, swap_rule=REFERENCE_SWITCH),
        _switch_and_connect(),
    )
    assert [v.requirement for v in found] == ["GS-7"]
