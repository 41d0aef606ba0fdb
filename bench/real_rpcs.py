"""Unary RPCs over three local backends: BalancedChannel against grpcio's own round_robin.

One client thread calls ``Whoami`` on three :class:`refimpl.io.backend.Backend`
servers on 127.0.0.1, through

* ``grpcio``: one grpcio channel to all three addresses with grpcio's native
  ``round_robin`` (service config ``loadBalancingConfig``);
* ``balanced``: :class:`refimpl.io.balanced_channel.BalancedChannel` running this
  project's ``round_robin`` over three single-address grpcio subchannels;
* ``rotation``: three single-address grpcio channels taken in turn by a plain
  Python loop: what the balancer layer costs at the least.

The calling loop is the same function for all three, and their RPCs are
interleaved in rotating order (see :func:`_interleaved`).  grpcio's RPCs/s is
one benchmark; the others are paired ratios measured in the same rounds
(:func:`time_paired_ratio`), from which the report gives their throughput
relative to grpcio's.  Requests
and responses are a few bytes, so the numbers are per-RPC overhead, not
bandwidth.  The backends and channels are built once per worker process and
warmed (every subchannel READY) before anything is timed.
"""

from __future__ import annotations

import os

# grpc's C core logs connection events at INFO to stderr; keep the benchmark output clean.
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

import itertools
import json
import time
from collections.abc import Callable
from typing import Any

import grpc

from refimpl.io.backend import WHOAMI, Backend
from refimpl.io.balanced_channel import BalancedChannel
from spec.connectivity import State

ROUND_ROBIN: dict[str, Any] = {"loadBalancingConfig": [{"round_robin": {}}]}
READY_TIMEOUT = 10.0  # seconds to connect to three local servers
CALL_TIMEOUT = 10.0
CLIENTS = ("grpcio", "balanced", "rotation")

Call = Callable[..., Any]


class _Rotation:
    """Three single-address channels taken in turn: the least a balancer layer can add."""

    def __init__(self, calls: list[Call]) -> None:
        self._next = itertools.cycle(calls)

    def __call__(self, request: bytes, timeout: float) -> Any:
        return next(self._next)(request, timeout=timeout)


class Clients:
    """Three local backends and the three clients over them, each built on first use."""

    def __init__(self) -> None:
        self._backends: list[Backend] = []
        self._calls: dict[str, Call] = {}
        self._channels: list[grpc.Channel] = []

    def call(self, client: str) -> Call:
        if client not in self._calls:
            if not self._backends:
                self._backends = [Backend(f"bench-{i}").start() for i in range(3)]
            build = {"grpcio": self._grpcio, "balanced": self._balanced, "rotation": self._rotation}
            call = build[client]([b.address for b in self._backends])
            # Enough calls to have used every subchannel (and anything built lazily).
            for _ in range(30):
                call(b"", timeout=CALL_TIMEOUT)
            self._calls[client] = call
        return self._calls[client]

    def _ready(self, channel: grpc.Channel) -> grpc.Channel:
        self._channels.append(channel)
        grpc.channel_ready_future(channel).result(timeout=READY_TIMEOUT)
        return channel

    def _grpcio(self, addresses: list[str]) -> Call:
        target = "ipv4:" + ",".join(addresses)
        config = [("grpc.service_config", json.dumps(ROUND_ROBIN))]
        channel = self._ready(grpc.insecure_channel(target, options=config))
        call: Call = channel.unary_unary(WHOAMI)
        return call

    def _balanced(self, addresses: list[str]) -> Call:
        channel = BalancedChannel(addresses, ROUND_ROBIN, seed=1)
        self._channels.append(channel)
        channel.connect()
        if not channel.wait_for_state(State.READY, READY_TIMEOUT):
            raise RuntimeError("bench: BalancedChannel did not become READY")
        call: Call = channel.unary_unary(WHOAMI)
        return call

    def _rotation(self, addresses: list[str]) -> Call:
        channels = [self._ready(grpc.insecure_channel(a)) for a in addresses]
        return _Rotation([c.unary_unary(WHOAMI) for c in channels])

    def close(self) -> None:
        for channel in self._channels:
            channel.close()
        for backend in self._backends:
            backend.stop()
        self._backends, self._calls, self._channels = [], {}, []


_clients = Clients()


def _interleaved(rounds: int) -> dict[str, float]:
    """``rounds`` RPCs through every client, interleaved; seconds spent in each client.

    Each round makes one RPC through every client, in an order that rotates from
    round to round: the clients are measured over the same seconds (the machine's
    load drifts by more than the few percent being compared) and each takes every
    position equally often (an RPC costs measurably more or less depending on which
    client's RPC came just before it).
    """
    calls = [(name, _clients.call(name)) for name in CLIENTS]
    orders = [calls[i:] + calls[:i] for i in range(len(calls))]
    spent = dict.fromkeys(CLIENTS, 0.0)
    clock = time.perf_counter
    for turn in range(rounds):
        for name, call in orders[turn % len(orders)]:
            start = clock()
            call(b"", timeout=CALL_TIMEOUT)
            spent[name] += clock() - start
    return spent


def time_unary(client: str, loops: int) -> float:
    """Seconds for ``loops`` RPCs through ``client`` (interleaved with the others)."""
    return _interleaved(loops)[client]


PAIRED_ROUNDS = 200  # interleaved rounds behind each value of a paired ratio


def time_paired_ratio(client: str, loops: int) -> float:
    """``client``'s time per RPC over grpcio's, measured in the same rounds, ``loops`` times.

    Not seconds: pyperf stores whatever a time function returns, and the report
    reads these values as ratios.  Pairing inside one process is what makes the
    comparison hold: separate benchmarks run in separate worker processes, which
    differ from each other by more than the effect measured.
    """
    total = 0.0
    for _ in range(loops):
        spent = _interleaved(PAIRED_ROUNDS)
        total += spent[client] / spent["grpcio"]
    return total


def close() -> None:
    """Close every channel and stop the backends (a worker process just exits)."""
    _clients.close()
