"""Client-side health checking (gRFC A17) with real servers and the health-checked test policy."""

from __future__ import annotations

import random
import threading

import attrs
import grpc
import pytest

from refimpl.balancer import SubConnState
from refimpl.io.balanced_channel import BalancedChannel
from refimpl.io.health import HealthWatch
from refimpl.io.streams import Backoff
from spec import events as ev
from spec.connectivity import State
from spec.monitors.tracker import SubchannelTracker
from tests.io.conftest import MakeBackends, MakeChannel, assert_clean, eventually, wait_ready, who
from tests.io.policies import EVERY_READY, service_config

CHECKED = service_config(EVERY_READY, {"healthChecked": True}, health_service="")


def _health_inputs(ch: BalancedChannel) -> list[ev.HealthStateChange]:
    return [s.input for s in ch.trace if isinstance(s.input, ev.HealthStateChange)]


@pytest.mark.req("HEALTH-1", "HEALTH-2")
def test_without_health_check_config_the_listener_hears_ready_at_once(
    backends: MakeBackends, channel: MakeChannel
) -> None:
    (server,) = backends(1, health="failing")  # a Watch would fail: none may be made
    ch = channel([server.address], service_config(EVERY_READY, {"healthChecked": True}))
    assert who(ch, 3) == {"a": 3}
    assert server.health_watches == 0
    assert _health_inputs(ch) == []  # READY was delivered by the channel, not a watch
    assert_clean(ch)


@pytest.mark.req("HC-1", "HC-2", "HC-5")
def test_not_serving_takes_a_backend_out_and_serving_brings_it_back(
    backends: MakeBackends, channel: MakeChannel
) -> None:
    a, b = backends(2)
    ch = channel([a.address, b.address], CHECKED)
    assert eventually(lambda: who(ch, 4) == {"a": 2, "b": 2})
    a.set_serving(False)
    assert eventually(lambda: who(ch, 2) == {"b": 2})
    assert who(ch, 10) == {"b": 10}
    a.set_serving(True)
    assert eventually(lambda: who(ch, 2) == {"a": 1, "b": 1})
    states = [h.state for h in _health_inputs(ch) if h.subchannel == 1]
    # HC-1: CONNECTING first; HC-2: SERVING -> READY, NOT_SERVING -> TF, and back.
    assert states == [State.CONNECTING, State.READY, State.TRANSIENT_FAILURE, State.READY]
    failure = next(h for h in _health_inputs(ch) if h.state is State.TRANSIENT_FAILURE)
    assert failure.error is not None
    assert "NOT_SERVING" in failure.error.message
    assert_clean(ch)


@pytest.mark.req("HC-3")
def test_a_backend_without_health_service_counts_as_healthy(
    backends: MakeBackends, channel: MakeChannel
) -> None:
    (server,) = backends(1, health="absent")
    ch = channel([server.address], CHECKED)
    assert who(ch, 3) == {"a": 3}
    states = [h.state for h in _health_inputs(ch)]
    assert states == [State.CONNECTING, State.READY]
    assert_clean(ch)
    # No retry follows UNIMPLEMENTED: rather than wait and see nothing, watch the watch
    # itself end for good (its thread returns) without asking the backoff for a delay.
    backoff = RecordingBackoff(initial=0.01, maximum=0.05)
    watch, reports, grpc_channel = _watch(server.address, backoff, name="hc3-watch")
    try:
        assert eventually(lambda: not _thread_alive("hc3-watch"))
    finally:
        watch.stop()
        grpc_channel.close()
    assert [r.state for r in reports] == [State.CONNECTING, State.READY]
    assert backoff.asked == []


@attrs.frozen
class RecordingBackoff(Backoff):
    """A Backoff that notes each retry number it is asked to wait for (HC-4)."""

    asked: list[int] = attrs.field(factory=list)

    def delay(self, retries: int, rng: random.Random) -> float:
        self.asked.append(retries)
        return super().delay(retries, rng)


def _thread_alive(name: str) -> bool:
    return any(t.name == name and t.is_alive() for t in threading.enumerate())


def _watch(
    address: str, backoff: Backoff, name: str = "test-watch"
) -> tuple[HealthWatch, list[SubConnState], grpc.Channel]:
    reports: list[SubConnState] = []
    lock = threading.Lock()

    def report(state: SubConnState) -> None:
        with lock:
            reports.append(state)

    grpc_channel = grpc.insecure_channel(address)
    watch = HealthWatch(grpc_channel, "", report, backoff=backoff, seed=1, name=name)
    return watch, reports, grpc_channel


@pytest.mark.req("HC-4")
def test_failed_watches_back_off_but_one_that_answered_retries_at_once(
    backends: MakeBackends,
) -> None:
    failing, flaky = backends(1, health="failing") + backends(1, health="flaky")
    failing_backoff = RecordingBackoff(initial=0.01, multiplier=2.0, jitter=0.0, maximum=0.05)
    flaky_backoff = RecordingBackoff(initial=0.01, multiplier=2.0, jitter=0.0, maximum=0.05)
    watches = [
        _watch(failing.address, failing_backoff, "failing-watch"),
        _watch(flaky.address, flaky_backoff, "flaky-watch"),
    ]
    try:
        # Wait for a number of attempts, not for an amount of time.
        assert eventually(lambda: failing.health_watches >= 6 and flaky.health_watches >= 6)
    finally:
        for watch, _, grpc_channel in watches:
            watch.stop()
            grpc_channel.close()
    (_, failing_reports, _), (_, flaky_reports, _) = watches
    # Failing at once: the first retry comes at once, then each waits for a backoff delay
    # one step longer than the last (retry numbers 0, 1, 2...), never reset.
    retries = list(failing_backoff.asked)
    assert len(retries) >= 4
    assert retries == list(range(len(retries)))
    # Answering, then failing: the answer resets the backoff, so every retry is at once.
    assert flaky_backoff.asked == []
    assert failing_reports[0].state is State.CONNECTING
    assert {r.state for r in failing_reports} == {State.CONNECTING, State.TRANSIENT_FAILURE}
    assert State.READY in {r.state for r in flaky_reports}
    assert all(r.error is not None for r in failing_reports if r.state is State.TRANSIENT_FAILURE)


@pytest.mark.req("HC-5")
def test_no_health_report_while_a_subchannel_is_not_ready(
    backends: MakeBackends, channel: MakeChannel
) -> None:
    a, b = backends(2)
    ch = channel([a.address, b.address], CHECKED)
    wait_ready(ch, 2)
    assert eventually(lambda: who(ch, 2) == {"a": 1, "b": 1})
    a.stop()
    assert eventually(lambda: ch.subchannels[0].state is not State.READY)
    a.start()
    assert eventually(lambda: who(ch, 2) == {"a": 1, "b": 1})
    # Judge the trace: every health report arrives while its subchannel is READY.
    tracker = SubchannelTracker()
    for step in ch.trace:
        if isinstance(step.input, ev.HealthStateChange):
            view = tracker.subchannels[step.input.subchannel]
            assert view.state is State.READY, step
        tracker.apply_input(step.input)
        for output in step.outputs:
            tracker.apply_output(output)
    # a's subchannel was watched on both connections (the stream may also have failed and
    # restarted once before the lost connection was reported: HC-4).
    states = [h.state for h in _health_inputs(ch) if h.subchannel == 1]
    assert states.count(State.CONNECTING) >= 2
    assert states[-2:] == [State.CONNECTING, State.READY]
    assert_clean(ch)
