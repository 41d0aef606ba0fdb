"""Graceful switch (grpc-go internal/balancer/gracefulswitch/gracefulswitch.go).

The first three tests restate grpc-go's gracefulswitch_test.go tests of the same names;
like those, they drive the balancer directly through a recording ClientConn.
"""

from __future__ import annotations

import pytest

from refimpl.balancer import (
    BalancerState,
    BuildOptions,
    ClientConn,
    ClientConnState,
    FailPicker,
    NewSubConnOptions,
    QueuePicker,
    ResolverState,
    SubConnState,
)
from refimpl.graceful_switch import GracefulSwitchBalancer, GracefulSwitchError, SwitchConfig
from spec.connectivity import State
from spec.types import Endpoint, Status, StatusCode
from tests.refimpl.scripted_policy import (
    ParsingBuilder,
    RecordedSubConn,
    RecordingClientConn,
    ScriptedBalancer,
    ScriptedBuilder,
    ScriptedConfig,
)

ONE = ResolverState((Endpoint(["10.0.0.1:80"]),))
TWO = ResolverState((Endpoint(["10.0.0.1:80"]), Endpoint(["10.0.0.2:80"])))


def _setup() -> tuple[RecordingClientConn, GracefulSwitchBalancer]:
    cc = RecordingClientConn()
    return cc, GracefulSwitchBalancer(cc, cc.options)


def _child(gsb: GracefulSwitchBalancer, which: str) -> ScriptedBalancer:
    child = gsb.current if which == "current" else gsb.pending
    assert child is not None
    assert isinstance(child.balancer, ScriptedBalancer)
    return child.balancer


@pytest.mark.req("GS-1", "GS-3", "GS-6", "GS-7")
def test_two_balancers_same_type() -> None:
    cc, gsb = _setup()
    builder = ScriptedBuilder("test_gs_one")
    gsb.switch_to(builder)
    gsb.update_client_conn_state(ClientConnState(ONE, "plain config"))
    current = _child(gsb, "current")
    assert [u.config for u in current.updates] == ["plain config"]  # forwarded as is

    current.report(State.READY, "first")
    assert (cc.states[-1].state, cc.picker_tag()) == (State.READY, "first")

    # An explicit switch_to builds a pending child even for the same policy.
    gsb.switch_to(builder)
    pending = _child(gsb, "pending")
    assert pending is not current
    assert len(builder.built) == 2
    gsb.update_client_conn_state(ClientConnState(TWO))
    assert len(current.updates) == 1
    assert len(pending.updates) == 1

    reported = len(cc.states)
    pending.report(State.CONNECTING, "second")
    assert len(cc.states) == reported  # held back: the current child is READY

    pending.report(State.READY, "second")
    assert (cc.states[-1].state, cc.picker_tag()) == (State.READY, "second")
    assert gsb.current is not None
    assert gsb.current.balancer is pending
    assert gsb.pending is None
    cc.drain()
    assert current.closed
    assert not pending.closed


@pytest.mark.req("GS-6", "GS-7")
def test_current_not_ready_pending_update() -> None:
    cc, gsb = _setup()
    builder = ScriptedBuilder("test_gs_one")
    gsb.switch_to(builder)
    gsb.switch_to(builder)
    current, pending = _child(gsb, "current"), _child(gsb, "pending")
    # The current child never reported, so it is not READY: any pending report swaps.
    pending.report(State.CONNECTING, "pending")
    assert (cc.states[-1].state, cc.picker_tag()) == (State.CONNECTING, "pending")
    assert gsb.pending is None
    cc.drain()
    assert current.closed


@pytest.mark.req("GS-5", "GS-7", "GS-8")
def test_current_leaving_ready() -> None:
    cc, gsb = _setup()
    gsb.switch_to(ScriptedBuilder("test_gs_one"))
    current = _child(gsb, "current")
    current.report(State.READY, "current")
    gsb.switch_to(ScriptedBuilder("test_gs_two"))
    pending = _child(gsb, "pending")
    pending.report(State.CONNECTING, "pending")  # held back
    assert cc.picker_tag() == "current"

    current.report(State.IDLE)  # leaving READY: the pending child's cached state goes up
    assert (cc.states[-1].state, cc.picker_tag()) == (State.CONNECTING, "pending")
    assert not current.closed  # closed after this call returns (run_soon), not inside it
    cc.drain()
    assert current.closed

    reported = len(cc.states)
    current.report(State.READY, "stale")  # the old child no longer reaches the channel
    assert len(cc.states) == reported
    with pytest.raises(GracefulSwitchError, match="test_gs_one"):
        current.cc.new_subconn(ONE.endpoints[0].addresses, NewSubConnOptions(_ignore))


def _ignore(_state: SubConnState) -> None:
    pass


@pytest.mark.req("GS-1", "GS-2")
def test_switch_config_selects_the_child_and_unwraps_its_config() -> None:
    _cc, gsb = _setup()
    first, second = ParsingBuilder("test_gs_one"), ScriptedBuilder("test_gs_two")
    gsb.update_client_conn_state(ClientConnState(ONE, SwitchConfig(first, ScriptedConfig(1))))
    gsb.update_client_conn_state(ClientConnState(TWO, SwitchConfig(first, ScriptedConfig(2))))
    assert len(first.built) == 1  # same policy: updated in place
    child = first.last
    assert [u.config for u in child.updates] == [ScriptedConfig(1), ScriptedConfig(2)]
    assert [u.resolver_state for u in child.updates] == [ONE, TWO]

    gsb.update_client_conn_state(ClientConnState(ONE, SwitchConfig(second, None)))
    assert len(second.built) == 1
    assert gsb.pending_name == "test_gs_two"
    assert len(child.updates) == 2  # GS-2: the old child does not see the new update
    assert [u.config for u in second.last.updates] == [None]


@pytest.mark.req("GS-3")
def test_newer_pending_child_replaces_the_older_one() -> None:
    cc, gsb = _setup()
    a, b, c = (ScriptedBuilder(f"test_gs_{n}") for n in "abc")
    gsb.update_client_conn_state(ClientConnState(ONE, SwitchConfig(a)))
    assert (gsb.current_name, gsb.pending_name) == ("test_gs_a", None)  # first: current at once
    a.last.report(State.READY)
    gsb.update_client_conn_state(ClientConnState(TWO, SwitchConfig(b)))
    b_subconns = list(cc.subconns[1:])
    assert len(b_subconns) == 2
    gsb.update_client_conn_state(ClientConnState(ONE, SwitchConfig(c)))
    assert (gsb.current_name, gsb.pending_name) == ("test_gs_a", "test_gs_c")
    assert b.last.closed
    assert all(sc.shutdowns >= 1 for sc in b_subconns)
    assert not a.last.closed
    # Naming the current policy while another is pending builds a fresh pending child:
    # the comparison is with the latest child (grpc-go UpdateClientConnState).
    gsb.update_client_conn_state(ClientConnState(ONE, SwitchConfig(a)))
    assert len(a.built) == 2
    assert c.last.closed
    assert (gsb.current_name, gsb.pending_name) == ("test_gs_a", "test_gs_a")


@pytest.mark.req("GS-4")
def test_calls_go_to_the_latest_child() -> None:
    cc, gsb = _setup()
    error = Status(StatusCode.UNAVAILABLE, "dns down")
    gsb.resolver_error(error)  # no child yet
    assert cc.states[-1].state is State.TRANSIENT_FAILURE
    picker = cc.states[-1].picker
    assert isinstance(picker, FailPicker)
    assert picker.status == error

    a, b = ScriptedBuilder("test_gs_a"), ScriptedBuilder("test_gs_b")
    gsb.update_client_conn_state(ClientConnState(ONE, SwitchConfig(a)))
    gsb.resolver_error(error)
    gsb.exit_idle()
    assert (a.last.resolver_errors, a.last.exit_idles) == ([error], 1)
    a.last.report(State.READY)
    gsb.update_client_conn_state(ClientConnState(ONE, SwitchConfig(b)))
    gsb.resolver_error(error)
    gsb.exit_idle()
    gsb.update_client_conn_state(ClientConnState(TWO))
    assert (a.last.resolver_errors, a.last.exit_idles, len(a.last.updates)) == ([error], 1, 1)
    assert (b.last.resolver_errors, b.last.exit_idles, len(b.last.updates)) == ([error], 1, 2)


@pytest.mark.req("GS-8")
def test_subconn_updates_reach_only_children_in_use() -> None:
    cc, gsb = _setup()
    a, b = ScriptedBuilder("test_gs_a"), ScriptedBuilder("test_gs_b")
    gsb.update_client_conn_state(ClientConnState(ONE, SwitchConfig(a)))
    a.last.report(State.READY)
    gsb.update_client_conn_state(ClientConnState(ONE, SwitchConfig(b)))
    a_sc, b_sc = cc.subconns
    a_sc.deliver(State.CONNECTING)
    b_sc.deliver(State.CONNECTING)  # both children are in use: both hear their SubConns
    assert [s.state for _, s in a.last.subconn_states] == [State.CONNECTING]
    assert [s.state for _, s in b.last.subconn_states] == [State.CONNECTING]
    b.last.report(State.READY)  # swap
    a_sc.deliver(State.READY)  # before the queued close runs: already dropped
    cc.drain()
    assert [s.state for _, s in a.last.subconn_states] == [State.CONNECTING]
    assert a_sc.shutdowns >= 1
    assert b_sc.shutdowns == 0


@pytest.mark.req("GS-9")
def test_only_the_latest_child_may_request_reresolution() -> None:
    cc, gsb = _setup()
    a, b = ScriptedBuilder("test_gs_a"), ScriptedBuilder("test_gs_b")
    gsb.update_client_conn_state(ClientConnState(ONE, SwitchConfig(a)))
    a.last.cc.resolve_now()
    assert cc.resolve_nows == 1
    a.last.report(State.READY)
    gsb.update_client_conn_state(ClientConnState(ONE, SwitchConfig(b)))
    a.last.cc.resolve_now()  # the current child is no longer the latest
    assert cc.resolve_nows == 1
    b.last.cc.resolve_now()
    assert cc.resolve_nows == 2


@pytest.mark.req("GS-7")
def test_swap_to_a_child_that_never_reported_installs_a_queueing_picker() -> None:
    cc, gsb = _setup()
    a, b = ScriptedBuilder("test_gs_a"), ScriptedBuilder("test_gs_b")
    gsb.update_client_conn_state(ClientConnState(TWO, SwitchConfig(a)))
    a.last.report(State.READY)
    gsb.update_client_conn_state(ClientConnState(ONE, SwitchConfig(b)))
    a.last.report(State.TRANSIENT_FAILURE)
    assert cc.states[-1].state is State.CONNECTING
    assert isinstance(cc.states[-1].picker, QueuePicker)
    old_subconns: list[RecordedSubConn] = cc.subconns[:2]
    assert all(sc.shutdowns == 0 for sc in old_subconns)
    cc.drain()
    assert a.last.closed
    assert all(sc.shutdowns >= 1 for sc in old_subconns)


@pytest.mark.req("GS-7")
def test_close_of_the_old_child_also_shuts_down_subconns_it_left_open() -> None:
    cc, gsb = _setup()

    class Leaky(ScriptedBalancer):
        def close(self) -> None:  # forgets its SubConns: the switch must not
            self.closed = True

    class LeakyBuilder(ScriptedBuilder):
        def build(self, cc: ClientConn, options: BuildOptions) -> Leaky:
            balancer = Leaky(self, cc, options)
            self.built.append(balancer)
            return balancer

    leaky, b = LeakyBuilder("test_gs_leaky"), ScriptedBuilder("test_gs_b")
    gsb.update_client_conn_state(ClientConnState(ONE, SwitchConfig(leaky)))
    gsb.update_client_conn_state(ClientConnState(ONE, SwitchConfig(b)))
    b.last.report(State.CONNECTING)  # the current child is not READY: swap
    cc.drain()
    assert cc.subconns[0].shutdowns == 1
    assert cc.subconns[1].shutdowns == 0


@pytest.mark.req("GS-6")
def test_a_builder_may_report_from_inside_build() -> None:
    cc, gsb = _setup()

    class Eager(ScriptedBuilder):
        def build(self, cc: ClientConn, options: BuildOptions) -> ScriptedBalancer:
            cc.update_state(BalancerState(State.TRANSIENT_FAILURE, QueuePicker()))
            balancer = ScriptedBalancer(self, cc, options)
            self.built.append(balancer)
            return balancer

    a = ScriptedBuilder("test_gs_a")
    gsb.update_client_conn_state(ClientConnState(ONE, SwitchConfig(a)))
    a.last.report(State.READY)
    gsb.update_client_conn_state(ClientConnState(ONE, SwitchConfig(Eager("test_gs_eager"))))
    assert cc.states[-1].state is State.TRANSIENT_FAILURE  # swapped in during build
    assert gsb.current_name == "test_gs_eager"
    assert gsb.pending is None
    cc.drain()
    assert a.last.closed


@pytest.mark.req("GS-10")
def test_close_closes_both_children() -> None:
    cc, gsb = _setup()
    a, b = ScriptedBuilder("test_gs_a"), ScriptedBuilder("test_gs_b")
    gsb.update_client_conn_state(ClientConnState(ONE, SwitchConfig(a)))
    a.last.report(State.READY)
    gsb.update_client_conn_state(ClientConnState(ONE, SwitchConfig(b)))
    gsb.close()
    assert a.last.closed
    assert b.last.closed
    assert all(sc.shutdowns >= 1 for sc in cc.subconns)
    with pytest.raises(GracefulSwitchError, match="after close"):
        gsb.update_client_conn_state(ClientConnState(ONE, SwitchConfig(a)))
    with pytest.raises(GracefulSwitchError, match="after close"):
        gsb.switch_to(a)


def test_first_update_must_name_a_child() -> None:
    _, gsb = _setup()
    with pytest.raises(GracefulSwitchError, match="SwitchConfig"):
        gsb.update_client_conn_state(ClientConnState(ONE, {"not": "a SwitchConfig"}))
