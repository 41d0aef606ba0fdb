"""BalancedChannel with real servers, driven by the tiny test policies of tests/io/policies.py."""

from __future__ import annotations

import threading
import time
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from refimpl.balancer import DoneInfo, OptionError
from refimpl.io import orca
from refimpl.io.backend import COLLECT, ECHO, WHOAMI, WHOAMI_STREAM
from refimpl.io.balanced_channel import BalancedChannel
from refimpl.io.subchannel import SubchannelOptions
from spec import actions as act
from spec import events as ev
from spec.connectivity import State
from spec.monitors.tracker import SubchannelTracker
from spec.types import OrcaLoadReport, StatusCode
from tests.io.conftest import (
    FAST,
    RPC_TIMEOUT,
    MakeBackends,
    MakeChannel,
    assert_clean,
    eventually,
    picks_since,
    subchannel_paths,
    wait_for_held_picks,
    wait_ready,
    who,
)
from tests.io.policies import EVERY_READY, EVERY_READY_BUILDER, VERDICT, service_config

EVERY = service_config(EVERY_READY)


def _verdict(verdict: str, code: StatusCode = StatusCode.UNAVAILABLE) -> str:
    return service_config(VERDICT, {"verdict": verdict, "code": int(code)})


def _dones_of_latest() -> list[DoneInfo]:
    return EVERY_READY_BUILDER.built[-1].dones


@pytest.mark.req("RPC-5", "LB-4", "LB-5", "CONN-1", "CONN-2", "CONN-3")
def test_rpcs_of_every_kind_go_to_picked_backends(
    backends: MakeBackends, channel: MakeChannel
) -> None:
    servers = backends(3)
    ch = channel([b.address for b in servers], EVERY)
    wait_ready(ch, 3)
    assert who(ch, 30) == {"a": 10, "b": 10, "c": 10}  # the test policy's round robin
    names = {b.name for b in servers}
    streamed = list(ch.unary_stream(WHOAMI_STREAM)(b"3", timeout=RPC_TIMEOUT))
    assert len(streamed) == 3
    assert len(set(streamed)) == 1
    assert streamed[0].decode() in names
    collected = ch.stream_unary(COLLECT)(iter([b"x"] * 4), timeout=RPC_TIMEOUT)
    assert collected.decode().split(":")[1] == "4"
    echoed = list(ch.stream_stream(ECHO)(iter([b"x"] * 2), timeout=RPC_TIMEOUT))
    assert len(echoed) == 2
    future = ch.unary_unary(WHOAMI).future(b"", timeout=RPC_TIMEOUT)
    assert future.result(timeout=RPC_TIMEOUT).decode() in names
    assert future.code() is grpc.StatusCode.OK
    # Every completed pick got exactly one done, with an OK status (RPC-5).
    assert eventually(lambda: len(_dones_of_latest()) == 34)
    assert all(d.error is None for d in _dones_of_latest())
    assert sum(b.calls for b in servers) == 34
    assert_clean(ch)


@pytest.mark.req("RPC-5")
def test_generated_stubs_work_on_the_channel(backends: MakeBackends, channel: MakeChannel) -> None:
    (server,) = backends(1)
    ch = channel([server.address], EVERY)
    stub = health_pb2_grpc.HealthStub(ch)
    answer = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=RPC_TIMEOUT)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING
    assert_clean(ch)


@pytest.mark.req("CONN-2", "CONN-3", "CONN-4", "CONN-5", "CONN-6", "CONN-11", "LB-2")
def test_subchannel_states_follow_the_table_through_stop_and_restart(
    backends: MakeBackends, channel: MakeChannel
) -> None:
    a, b = backends(2)
    ch = channel([a.address, b.address], EVERY)
    wait_ready(ch, 2)
    assert who(ch, 4) == {"a": 2, "b": 2}
    a.stop()
    # While a is down every RPC goes to b; a's subchannel fails to reconnect (TF).
    assert eventually(lambda: ch.subchannels[0].state is State.TRANSIENT_FAILURE)
    assert who(ch, 6) == {"b": 6}
    a.start()
    wait_ready(ch, 2)
    assert who(ch, 4) == {"a": 2, "b": 2}
    paths = {ident: tuple(path) for ident, path in subchannel_paths(ch).items()}
    # a: IDLE -> CONNECTING -> READY -> IDLE (lost) -> CONNECTING -> TF -> IDLE -> ... -> READY
    path_a = paths[1]
    assert path_a[:4] == (State.IDLE, State.CONNECTING, State.READY, State.IDLE)
    assert State.TRANSIENT_FAILURE in path_a
    assert path_a[-1] is State.READY
    assert_clean(ch)  # every edge is legal under the current profile


@pytest.mark.req("RPC-1", "RPC-4")
def test_queued_rpc_waits_for_the_next_picker(backends: MakeBackends, channel: MakeChannel) -> None:
    (server,) = backends(1)
    ch = channel([server.address], _verdict("queue"))
    started = time.monotonic()
    with pytest.raises(grpc.RpcError) as caught:
        ch.unary_unary(WHOAMI)(b"", timeout=0.3)
    assert caught.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED  # RPC-4
    assert time.monotonic() - started >= 0.29
    # An RPC queued now completes once a picker that can route it arrives (RPC-1).
    answers: list[bytes] = []
    start = len(ch.trace)
    waiter = threading.Thread(
        target=lambda: answers.append(ch.unary_unary(WHOAMI)(b"", timeout=RPC_TIMEOUT))
    )
    waiter.start()
    wait_for_held_picks(ch, 1, start)  # the RPC was picked and queued...
    assert answers == []  # ...and waits, though the backend is up
    ch.update([server.address], EVERY)
    waiter.join(RPC_TIMEOUT)
    assert answers == [b"a"]
    assert_clean(ch)


@pytest.mark.req("RPC-2", "RPC-4")
def test_failed_pick_fails_fast_rpcs_and_holds_wait_for_ready_ones(
    backends: MakeBackends, channel: MakeChannel
) -> None:
    (server,) = backends(1)
    ch = channel([server.address], _verdict("fail", StatusCode.UNAVAILABLE))
    call = ch.unary_unary(WHOAMI)
    with pytest.raises(grpc.RpcError) as fast:
        call(b"", timeout=RPC_TIMEOUT)
    assert fast.value.code() is grpc.StatusCode.UNAVAILABLE
    assert "verdict fail" in (fast.value.details() or "")
    started = time.monotonic()
    with pytest.raises(grpc.RpcError) as waited:
        call(b"", timeout=0.3, wait_for_ready=True)
    assert waited.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    assert "latest balancer error" in (waited.value.details() or "")
    assert time.monotonic() - started >= 0.29
    assert_clean(ch)


@pytest.mark.req("RPC-3")
def test_dropped_pick_fails_even_wait_for_ready_rpcs(
    backends: MakeBackends, channel: MakeChannel
) -> None:
    (server,) = backends(1)
    ch = channel([server.address], _verdict("drop", StatusCode.RESOURCE_EXHAUSTED))
    with pytest.raises(grpc.RpcError) as caught:
        ch.unary_unary(WHOAMI)(b"", timeout=RPC_TIMEOUT, wait_for_ready=True)
    # The drop's own status, not DEADLINE_EXCEEDED: the RPC did not wait; and it was
    # picked once, not again on a later picker (how fast it fails is for bench/).
    assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert [type(o) for o in picks_since(ch, 0)] == [act.PickDrop]
    streamed = ch.unary_stream(WHOAMI_STREAM)(b"2", timeout=RPC_TIMEOUT, wait_for_ready=True)
    with pytest.raises(grpc.RpcError) as in_stream:
        list(streamed)
    assert in_stream.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert server.calls == 0
    assert_clean(ch)


@pytest.mark.req("MODEL-5")
def test_restricted_status_codes_become_internal(
    backends: MakeBackends, channel: MakeChannel
) -> None:
    (server,) = backends(1)
    ch = channel([server.address], _verdict("drop", StatusCode.NOT_FOUND))
    with pytest.raises(grpc.RpcError) as caught:
        ch.unary_unary(WHOAMI)(b"", timeout=RPC_TIMEOUT)
    assert caught.value.code() is grpc.StatusCode.INTERNAL
    assert "NOT_FOUND" in (caught.value.details() or "")
    ch.close()
    assert ch.errors == []


@pytest.mark.req("RPC-5", "RPC-6")
def test_done_gets_final_status_trailers_and_orca_report(
    backends: MakeBackends, channel: MakeChannel
) -> None:
    (server,) = backends(1)
    report = OrcaLoadReport(cpu_utilization=0.25, application_utilization=0.5, rps_fractional=40)
    server.set_load(report)
    ch = channel([server.address], EVERY)
    assert who(ch, 2) == {"a": 2}
    server.set_load(None)
    assert who(ch, 1) == {"a": 1}
    with pytest.raises(grpc.RpcError) as caught:
        ch.unary_unary("/lbtest.Backend/NoSuchMethod")(b"", timeout=RPC_TIMEOUT)
    assert caught.value.code() is grpc.StatusCode.UNIMPLEMENTED
    assert eventually(lambda: len(_dones_of_latest()) == 4)
    dones = _dones_of_latest()
    assert [d.load_report for d in dones] == [report, report, None, None]
    last_error = dones[-1].error
    assert last_error is not None
    assert last_error.code is StatusCode.UNIMPLEMENTED
    # The trace carries the same Done inputs, report included.
    done_inputs = [s.input for s in ch.trace if isinstance(s.input, ev.Done)]
    assert [d.load_report for d in done_inputs] == [report, report, None, None]
    assert_clean(ch)


@pytest.mark.req("RPC-6")
def test_orca_trailer_needs_exactly_one_parsable_value() -> None:
    report = OrcaLoadReport(cpu_utilization=0.5, rps_fractional=10.0, eps=1.0)
    good = (orca.TRAILER_KEY, orca.encode(report))
    assert orca.load_report_from_trailers([good]) == report
    assert orca.load_report_from_trailers([("other", "x"), good]) == report
    assert orca.load_report_from_trailers([]) is None
    assert orca.load_report_from_trailers(None) is None
    assert orca.load_report_from_trailers([good, good]) is None  # repeated
    assert orca.load_report_from_trailers([(orca.TRAILER_KEY, b"\xff\xff\xff")]) is None
    negative = orca.to_proto(report)
    negative.cpu_utilization = -1.0
    assert (
        orca.load_report_from_trailers([(orca.TRAILER_KEY, negative.SerializeToString())]) is None
    )


@pytest.mark.req("RPC-7", "RPC-1")
def test_wait_for_ready_rpcs_survive_a_backend_restart(
    backends: MakeBackends, channel: MakeChannel
) -> None:
    (server,) = backends(1)
    ch = channel([server.address], EVERY)
    assert who(ch, 1) == {"a": 1}
    server.stop()
    answers: list[bytes] = []
    errors: list[BaseException] = []

    def send() -> None:
        try:
            answers.append(ch.unary_unary(WHOAMI)(b"", timeout=RPC_TIMEOUT, wait_for_ready=True))
        except grpc.RpcError as err:
            errors.append(err)

    start = len(ch.trace)
    senders = [threading.Thread(target=send) for _ in range(8)]
    for sender in senders:
        sender.start()
    wait_for_held_picks(ch, 8, start)  # the RPCs are held by the channel...
    assert errors == []  # ...and none failed, though the only backend is down
    server.start()
    for sender in senders:
        sender.join(RPC_TIMEOUT + 1)
    assert errors == []
    assert answers == [b"a"] * 8
    assert_clean(ch)


@pytest.mark.req("RPC-2", "CONN-4")
def test_fail_fast_rpcs_fail_while_every_backend_is_down(
    backends: MakeBackends, channel: MakeChannel
) -> None:
    a, b = backends(2)
    ch = channel([a.address, b.address], EVERY)
    wait_ready(ch, 2)
    assert who(ch, 2) == {"a": 1, "b": 1}
    a.stop()
    b.stop()
    assert ch.wait_for_state(State.TRANSIENT_FAILURE, RPC_TIMEOUT)
    with pytest.raises(grpc.RpcError) as caught:
        ch.unary_unary(WHOAMI)(b"", timeout=RPC_TIMEOUT)
    assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
    assert "failed to connect" in (caught.value.details() or "")
    assert_clean(ch)


@pytest.mark.req("LB-3", "CHAN-3")
def test_subscribers_see_states_and_close_cancels_waiting_rpcs(
    backends: MakeBackends, channel: MakeChannel
) -> None:
    (server,) = backends(1)
    ch = channel([server.address], _verdict("queue"))
    seen: list[grpc.ChannelConnectivity] = []
    ch.subscribe(seen.append)
    errors: list[grpc.RpcError] = []

    def send() -> None:
        try:
            ch.unary_unary(WHOAMI)(b"", timeout=RPC_TIMEOUT)
        except grpc.RpcError as err:
            errors.append(err)

    waiter = threading.Thread(target=send)
    waiter.start()
    assert eventually(lambda: grpc.ChannelConnectivity.CONNECTING in seen)
    ch.close()
    waiter.join(RPC_TIMEOUT)
    assert [e.code() for e in errors] == [grpc.StatusCode.CANCELLED]
    closing = [s for s in ch.trace if isinstance(s.input, ev.Close)]
    assert len(closing) == 1
    assert ch.errors == []


@pytest.mark.req("RPC-8")
def test_orca_text_trailer_is_read_when_the_binary_one_is_hidden() -> None:
    report = OrcaLoadReport(application_utilization=0.5, rps_fractional=10.0, eps=1.0)
    text = orca.TEXT_TRAILER_KEY
    assert orca.load_report_from_trailers([(text, orca.encode_text(report))]) == report
    as_text = "TEXT application_utilization=0.5, rps_fractional=10,eps=1, named_metrics.x=3"
    assert orca.load_report_from_trailers([(text, as_text)]) == report
    as_json = 'JSON {"application_utilization": 0.5, "rps_fractional": 10, "eps": 1}'
    assert orca.load_report_from_trailers([(text, as_json)]) == report
    other = OrcaLoadReport(cpu_utilization=0.9)
    both: list[tuple[str, str | bytes]] = [
        (orca.TRAILER_KEY, orca.encode(other)),
        (text, orca.encode_text(report)),
    ]
    assert orca.load_report_from_trailers(both) == other  # the binary trailer wins
    for bad in ("TEXT cpu_utilization", "JSON [1]", "BIN !!!", "XML <x/>", "TEXT eps=-1"):
        assert orca.load_report_from_trailers([(text, bad)]) is None, bad
    assert orca.load_report_from_trailers([(text, "TEXT eps=1"), (text, "TEXT eps=2")]) is None


@pytest.mark.req("RPC-9")
def test_out_of_band_reports_arrive_while_ready_and_stop_after(
    backends: MakeBackends, channel: MakeChannel
) -> None:
    (server,) = backends(1)
    report = OrcaLoadReport(cpu_utilization=0.3, rps_fractional=12.0)
    server.set_load(report)
    ch = channel([server.address], service_config(EVERY_READY, {"oobInterval": 0.05}))
    assert who(ch, 1) == {"a": 1}
    policy = EVERY_READY_BUILDER.built[-1]
    assert eventually(lambda: len(policy.oob) >= 3)  # a report every 50 ms
    assert {r for _, r in policy.oob} == {report}
    server.stop()
    assert eventually(lambda: ch.subchannels[0].state is not State.READY)
    server.start()  # the same address: the subchannel reconnects and the stream restarts
    assert eventually(lambda: ch.subchannels[0].state is State.READY)
    seen = len(policy.oob)
    assert eventually(lambda: len(policy.oob) >= seen + 2)
    # Judged on the trace, not by waiting for silence: every report reached the policy
    # while its subchannel was READY, none while it was down or reconnecting.
    tracker = SubchannelTracker()
    reports = 0
    for step in ch.trace:
        if isinstance(step.input, ev.OobLoadReport):
            reports += 1
            assert tracker.subchannels[step.input.subchannel].state is State.READY, step
        tracker.apply_input(step.input)
        for output in step.outputs:
            tracker.apply_output(output)
    assert reports == len(policy.oob)
    assert_clean(ch)


@pytest.mark.req("RPC-10", "RPC-5")
def test_picker_is_given_method_and_metadata(backends: MakeBackends, channel: MakeChannel) -> None:
    (server,) = backends(1)
    ch = channel([server.address], EVERY)
    wait_ready(ch, 1)
    call = ch.unary_unary(WHOAMI)
    call(b"", timeout=RPC_TIMEOUT, metadata=(("x-user", "u1"), ("x-blob-bin", b"\x00")))
    call(b"", timeout=RPC_TIMEOUT, wait_for_ready=True)
    _, finished = call.with_call(b"", timeout=RPC_TIMEOUT)
    first, second, third = EVERY_READY_BUILDER.built[-1].infos[-3:]
    assert (first.method, first.wait_for_ready) == (WHOAMI, False)
    assert dict(first.metadata) == {"x-user": "u1"}  # text metadata only
    assert (second.method, second.wait_for_ready, dict(second.metadata)) == (WHOAMI, True, {})
    assert dict(third.metadata) == {}
    # RPCs without metadata share one PickInfo per method, so its mapping must be read-only.
    with pytest.raises(TypeError):
        third.metadata["x-user"] = "u2"  # type: ignore[index]
    assert finished.code() is grpc.StatusCode.OK  # with_call still hands back the call
    assert_clean(ch)


@pytest.mark.req("RPC-5")
def test_with_call_returns_the_call_when_the_pick_has_no_done(
    backends: MakeBackends, channel: MakeChannel
) -> None:
    servers = backends(2)
    ch = channel([b.address for b in servers], {"loadBalancingConfig": [{"round_robin": {}}]})
    wait_ready(ch, 2)
    call = ch.unary_unary(WHOAMI)
    response, finished = call.with_call(b"", timeout=RPC_TIMEOUT)
    assert response.decode() in {b.name for b in servers}
    assert finished.code() is grpc.StatusCode.OK
    assert call(b"", timeout=RPC_TIMEOUT).decode() in {b.name for b in servers}
    assert ch.unary_unary(WHOAMI).future(b"", timeout=RPC_TIMEOUT).code() is grpc.StatusCode.OK
    assert_clean(ch)


@pytest.mark.req("RPC-1", "RPC-2", "RPC-5", "RR-7")
def test_plain_rpcs_on_an_untraced_channel_are_picked_once_each(backends: MakeBackends) -> None:
    """The untraced channel's short path for plain blocking RPCs (``_unary``, first block)
    gives the same outcomes as the full path, and hands any other pick on without
    picking again: a second pick would shift round_robin's order and count twice."""
    servers = backends(3)
    addresses = [b.address for b in servers]
    made: list[BalancedChannel] = []

    def untraced(service_config: Any) -> BalancedChannel:
        made.append(BalancedChannel(addresses, service_config, options=FAST, seed=7))
        made[-1].connect()
        wait_ready(made[-1], 3)
        return made[-1]

    try:
        rr = untraced({"loadBalancingConfig": [{"round_robin": {}}]})
        assert rr.recorder is None
        assert who(rr, 9, wait_for_ready=False) == {"a": 3, "b": 3, "c": 3}  # RR-7
        # A pick with ``done`` goes on to the full path as its first pick (RPC-5).
        every = untraced(EVERY)
        policy = EVERY_READY_BUILDER.built[-1]
        assert who(every, 6, wait_for_ready=False) == {"a": 2, "b": 2, "c": 2}
        assert len(policy.infos) == 6
        assert eventually(lambda: len(policy.dones) == 6)
        assert all(done.error is None for done in policy.dones)
        # A failing pick fails the plain RPC with the picker's status (RPC-2) ...
        failing = BalancedChannel(addresses, _verdict("fail"), options=FAST, seed=7)
        made.append(failing)
        with pytest.raises(grpc.RpcError) as failed:
            failing.unary_unary(WHOAMI)(b"", timeout=RPC_TIMEOUT)
        assert failed.value.code() is grpc.StatusCode.UNAVAILABLE
        assert "verdict fail" in (failed.value.details() or "")
        # ... and a queueing one holds it until its deadline (RPC-1, RPC-4).
        queueing = BalancedChannel(addresses, _verdict("queue"), options=FAST, seed=7)
        made.append(queueing)
        with pytest.raises(grpc.RpcError) as held:
            queueing.unary_unary(WHOAMI)(b"", timeout=0.2)
        assert held.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
        assert sum(b.calls for b in servers) == 15
    finally:
        for ch in made:
            ch.close()
    assert all(ch.errors == [] for ch in made)


@pytest.mark.req("RPC-2")
def test_subchannels_take_no_service_config_of_their_own() -> None:
    """A subchannel's calls never wait for ready (the channel did): no service config of
    their own may say otherwise, from the options or the resolver."""
    config = ("grpc.service_config", '{"methodConfig": [{"waitForReady": true}]}')
    with pytest.raises(OptionError, match=r"grpc\.service_config is not allowed"):
        SubchannelOptions(grpc_options=(config,))
    assert ("grpc.service_config_disable_resolution", 1) in FAST.channel_options()
