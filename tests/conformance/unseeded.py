"""An adapter whose outputs are not reproducible, for fuzz mode's self-tests.

Real implementations often use randomness the case's seed does not reach (grpc-go's
balancers draw from ``math/rand``; its adapter declares ``seedable_random: false``).
:class:`UnseededAdapter` plays one: it is the refimpl adapter, except that each
channel's random source is seeded from the adapter's own generator, not from the
``begin`` message's seed, so the same inputs give different outputs from one case
to the next.  Its generator starts from a fixed seed, so a test stays deterministic.

:data:`RANDOM_CONNECT` is a policy that uses that random source: it asks each new
subchannel to connect only on a coin flip, so which subchannels can change state
(hence what the fuzzer can draw next) changes from run to run.
:data:`RANDOM_CONNECT_LEAKS` is the same with a planted bug: ``Close`` leaks the READY
subchannels (LB-3).  :data:`LEAKS_AT_RANDOM` creates and connects its subchannels as
the correct test policy does, so what the fuzzer draws stays the same, but its
``Close`` leaks them on a coin flip: a failure that may not recur when replayed.
Importing this module registers all three;
``python -m tests.conformance.unseeded`` runs the adapter as a subprocess.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable

import attrs

from conformance import protocol, wire
from conformance.adapters.refimpl import RefimplAdapter, serve
from conformance.transport import InProcessTransport, Transport
from refimpl import registry
from refimpl.balancer import (
    BadResolverStateError,
    Balancer,
    BalancerState,
    Builder,
    BuildOptions,
    ClientConn,
    ClientConnState,
    FailPicker,
    NewSubConnOptions,
    Picker,
    QueuePicker,
    RandomSource,
    SubConn,
    SubConnState,
    unavailable,
)
from spec.connectivity import State, aggregate_round_robin
from spec.types import Status
from tests.conformance import policies

RANDOM_CONNECT = "conformance_test_random_connect"  # correct
RANDOM_CONNECT_LEAKS = "conformance_test_random_connect_leaks"  # breaks LB-3
LEAKS_AT_RANDOM = "conformance_test_leaks_at_random"  # breaks LB-3 on a coin flip


class _RandomConnect(Balancer):
    """One subchannel per address, each asked to connect only on a coin flip; READY when any
    is READY, picking the first READY one.  With ``leaks`` (the planted bug) ``Close`` shuts
    down only the subchannels that are not READY (LB-3)."""

    def __init__(self, cc: ClientConn, rng: RandomSource, *, leaks: bool) -> None:
        self.cc = cc
        self.rng = rng
        self.leaks = leaks
        self.subconns: dict[str, SubConn] = {}
        self.states: dict[str, State] = {}

    def update_client_conn_state(self, state: ClientConnState) -> None:
        wanted = {a.addr: a for e in state.resolver_state.endpoints for a in e.addresses}
        for addr in [a for a in self.subconns if a not in wanted]:
            self.subconns.pop(addr).shutdown()
            del self.states[addr]
        for addr, address in wanted.items():
            if addr in self.subconns:
                continue
            sc = self.cc.new_subconn((address,), NewSubConnOptions(self._listener(addr)))
            self.subconns[addr] = sc
            self.states[addr] = State.IDLE
            if self.rng.random() < 0.5:
                sc.connect()
        self._report()
        if not wanted:
            raise BadResolverStateError("produced zero addresses")

    def _listener(self, addr: str) -> Callable[[SubConnState], None]:
        def on_state(state: SubConnState) -> None:
            if addr in self.subconns:
                self.states[addr] = state.state
                self._report()

        return on_state

    def _report(self) -> None:
        ready = [a for a, s in self.states.items() if s is State.READY]
        picker: Picker = QueuePicker()
        if ready:
            picker = policies.FirstPicker(self.subconns[ready[0]])
        elif self.states and all(s is State.TRANSIENT_FAILURE for s in self.states.values()):
            picker = FailPicker(unavailable("every address failed"))
        overall = aggregate_round_robin(self.states.values()) if self.states else State.IDLE
        if not self.states:
            overall, picker = State.TRANSIENT_FAILURE, FailPicker(unavailable("no addresses"))
        self.cc.update_state(BalancerState(overall, picker))

    def resolver_error(self, error: Status) -> None:
        if not self.subconns:
            self.cc.update_state(BalancerState(State.TRANSIENT_FAILURE, FailPicker(error)))

    def exit_idle(self) -> None:
        for addr, sc in self.subconns.items():
            if self.states[addr] is State.IDLE:
                sc.connect()

    def close(self) -> None:
        for addr in list(self.subconns):
            if not (self.leaks and self.states[addr] is State.READY):
                self.subconns.pop(addr).shutdown()


class _LeaksAtRandom(policies.EveryAddress):
    """The correct test policy, except that ``Close`` leaks everything on a coin flip."""

    def __init__(self, cc: ClientConn, rng: RandomSource) -> None:
        super().__init__(cc, policies.CORRECT)
        self.rng = rng

    def close(self) -> None:
        if self.rng.random() < 0.5:
            super().close()


class _Builder(Builder):
    def __init__(self, name: str) -> None:
        self.name = name

    def build(self, cc: ClientConn, options: BuildOptions) -> Balancer:
        if self.name == LEAKS_AT_RANDOM:
            return _LeaksAtRandom(cc, options.random)
        return _RandomConnect(cc, options.random, leaks=self.name == RANDOM_CONNECT_LEAKS)


for _name in (RANDOM_CONNECT, RANDOM_CONNECT_LEAKS, LEAKS_AT_RANDOM):
    registry.register(_Builder(_name))


class UnseededAdapter(RefimplAdapter):
    """The refimpl adapter with channel randomness the case's seed does not control.

    ``declares_seedable`` makes it claim ``seedable_random`` anyway (a wrong handshake),
    to test what fuzz mode does when Hypothesis itself notices.
    """

    def __init__(self, generator_seed: int, *, declares_seedable: bool = False) -> None:
        super().__init__()
        self.channel_seeds = random.Random(generator_seed)
        self.declares_seedable = declares_seedable

    def capabilities(self) -> protocol.Capabilities:
        caps = super().capabilities()
        return attrs.evolve(caps, seedable_random=self.declares_seedable)

    def handle(self, message: wire.JsonObject) -> wire.JsonObject | None:
        if message.get("type") == "begin":
            message = {**message, "seed": self.channel_seeds.randrange(2**32)}
        return super().handle(message)


def unseeded(generator_seed: int = 0) -> Transport:
    """A transport to a fresh :class:`UnseededAdapter` (honest: not seedable)."""
    return InProcessTransport(UnseededAdapter(generator_seed).handle)


def unseeded_claiming_seedable(generator_seed: int = 0) -> Transport:
    """A transport to an :class:`UnseededAdapter` that wrongly declares ``seedable_random``."""
    return InProcessTransport(UnseededAdapter(generator_seed, declares_seedable=True).handle)


if __name__ == "__main__":
    # ``python -m tests.conformance.unseeded [--claims-seedable]``: the adapter as a subprocess.
    sys.exit(serve(UnseededAdapter(0, declares_seedable="--claims-seedable" in sys.argv[1:])))
