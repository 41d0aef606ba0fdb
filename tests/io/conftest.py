"""Fixtures for tests with real servers on 127.0.0.1.

Every backend and channel a test makes is stopped or closed by a fixture
finaliser; every wait is bounded.  Channels record their trace, and
:func:`assert_clean` judges it after the run: no balancer exception, the
boundary rules (LB-*), and each subchannel's state path legal under the
``current`` profile (CONN-*).
"""

from __future__ import annotations

import os

# grpc's C core logs connection events (GOAWAY...) at INFO to stderr; keep test output clean.
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from refimpl.io.backend import WHOAMI, Backend
from refimpl.io.balanced_channel import BalancedChannel
from refimpl.io.streams import Backoff
from refimpl.io.subchannel import SubchannelOptions
from spec import actions as act
from spec import events as ev
from spec.connectivity import Profile, State, check_path
from spec.monitors.boundary import BoundaryMonitor
from spec.trace import judge

# Fast reconnects and stream retries, so restarts show within a fraction of a second.
FAST = SubchannelOptions(
    reconnect_backoff_initial=0.05,
    reconnect_backoff_max=0.2,
    stream_backoff=Backoff(initial=0.05, maximum=0.2),
)
RPC_TIMEOUT = 5.0

MakeBackends = Callable[..., list[Backend]]
MakeChannel = Callable[..., BalancedChannel]


@pytest.fixture
def backends() -> Iterator[MakeBackends]:
    """``backends(3)`` starts three backends a, b, c; all are stopped after the test."""
    made: list[Backend] = []

    def make(count: int, **kwargs: Any) -> list[Backend]:
        start = len(made)
        for i in range(start, start + count):
            made.append(Backend(chr(ord("a") + i), **kwargs).start())
        return made[start:]

    yield make
    for backend in made:
        backend.stop()


@pytest.fixture
def channel() -> Iterator[MakeChannel]:
    """``channel(addresses, service_config)``: a tracing BalancedChannel, closed after the test."""
    made: list[BalancedChannel] = []

    def make(addresses: list[str], service_config: Any = None, **kwargs: Any) -> BalancedChannel:
        kwargs.setdefault("options", FAST)
        kwargs.setdefault("seed", 7)
        made.append(BalancedChannel(addresses, service_config, record_trace=True, **kwargs))
        return made[-1]

    yield make
    for ch in made:
        ch.close()


def eventually(check: Callable[[], bool], timeout: float = 5.0, interval: float = 0.02) -> bool:
    """Poll ``check`` until it holds or ``timeout`` passes (a bounded loop)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return check()


def picks_since(ch: BalancedChannel, start: int) -> list[act.PickOutcome]:
    """The outcomes of the picks recorded in ``ch.trace`` from step ``start`` on."""
    return [
        output
        for step in ch.trace[start:]
        for output in step.outputs
        if isinstance(output, act.PickComplete | act.PickQueue | act.PickFail | act.PickDrop)
    ]


def wait_for_held_picks(ch: BalancedChannel, count: int, start: int) -> None:
    """Wait (bounded) until ``count`` picks since trace step ``start`` held their RPCs.

    A held pick is one that queued or failed a wait_for_ready RPC: the event a test
    waits on instead of sleeping while RPCs are sent to a channel with no backend.
    """

    def held() -> int:
        return sum(isinstance(o, act.PickQueue | act.PickFail) for o in picks_since(ch, start))

    assert eventually(lambda: held() >= count), f"{held()} of {count} picks held"


def who(ch: Any, count: int, *, wait_for_ready: bool = True) -> Counter[str]:
    """Send ``count`` Whoami RPCs one after another; count the answers by backend name."""
    call = ch.unary_unary(WHOAMI)
    return Counter(
        call(b"", timeout=RPC_TIMEOUT, wait_for_ready=wait_for_ready).decode() for _ in range(count)
    )


def wait_ready(ch: BalancedChannel, count: int, timeout: float = 5.0) -> None:
    """Wait until ``count`` subchannels are READY (RPCs sent before may see fewer)."""
    ready = lambda: sum(sc.state is State.READY for sc in ch.subchannels) >= count  # noqa: E731
    assert eventually(ready, timeout), f"fewer than {count} READY: {ch.subchannels}"


def subchannel_paths(ch: BalancedChannel) -> dict[int, list[State]]:
    """Each subchannel's reported states, in trace order, starting from IDLE."""
    paths: dict[int, list[State]] = {}
    for step in ch.trace:
        for output in step.outputs:
            if isinstance(output, act.NewSubchannel):
                paths[output.subchannel] = [State.IDLE]
        if isinstance(step.input, ev.SubchannelStateChange):
            paths[step.input.subchannel].append(step.input.state)
    return paths


def assert_clean(ch: BalancedChannel) -> None:
    """Close ``ch`` and judge its run: no exceptions, LB-* hold, every path legal (CONN-*)."""
    ch.close()
    assert ch.errors == []
    assert ch.recorder is not None
    assert ch.recorder.orphans == []
    assert judge(BoundaryMonitor, ch.trace) == []
    for path in subchannel_paths(ch).values():
        check_path(path, Profile.CURRENT)
