"""Small test policies for the runner's self-tests, one correct and some deliberately broken.

Importing this module registers them (``--load tests.conformance.policies``).
``conformance_test_every_address`` is a correct, simple policy: one subchannel
per address, all connected at once, READY when any is READY, picks the first
READY one.  Each broken variant breaks one rule a monitor or a case checks.
"""

from __future__ import annotations

from collections.abc import Callable

from refimpl import registry
from refimpl.balancer import (
    BadResolverStateError,
    Balancer,
    BalancerState,
    Builder,
    BuildOptions,
    ClientConn,
    ClientConnState,
    Complete,
    FailPicker,
    NewSubConnOptions,
    Picker,
    PickInfo,
    PickResult,
    QueuePicker,
    SubConn,
    SubConnState,
    unavailable,
)
from spec.connectivity import State, aggregate_round_robin
from spec.types import Status

CORRECT = "conformance_test_every_address"
LEAKS_ON_CLOSE = "conformance_test_leaks_on_close"  # breaks LB-3
PICKS_CONNECTING = "conformance_test_picks_connecting"  # breaks LB-5
NEVER_READY = "conformance_test_never_ready"  # never reports READY: fails expectations
CRASHES_ON_PICK = "conformance_test_crashes_on_pick"  # raises inside the picker
DUPLICATES = "conformance_test_duplicates"  # one subchannel per endpoint, even for equal addresses


class FirstPicker(Picker):
    """Completes every pick on one SubConn."""

    def __init__(self, subconn: SubConn) -> None:
        self.subconn = subconn

    def pick(self, info: PickInfo) -> PickResult:
        return Complete(self.subconn)


class _CrashingPicker(Picker):
    def pick(self, info: PickInfo) -> PickResult:
        raise RuntimeError("deliberate crash in the picker")


class EveryAddress(Balancer):
    def __init__(self, cc: ClientConn, name: str) -> None:
        self.cc = cc
        self.name = name
        self.subconns: dict[str, SubConn] = {}
        self.states: dict[str, State] = {}
        self.last_error: Status | None = None

    def update_client_conn_state(self, state: ClientConnState) -> None:
        wanted = [a for e in state.resolver_state.endpoints for a in e.addresses]
        if not wanted:
            for addr in list(self.subconns):
                self._drop(addr)
            self.cc.update_state(
                BalancerState(State.TRANSIENT_FAILURE, FailPicker(unavailable("no addresses")))
            )
            raise BadResolverStateError("produced zero addresses")
        keep = {a.addr for a in wanted}
        for addr in [a for a in self.subconns if a not in keep]:
            self._drop(addr)
        for address in wanted:
            if self.name == DUPLICATES:
                key = f"{address.addr}#{len(self.subconns)}"
                sc = self.cc.new_subconn((address,), NewSubConnOptions(self._listener(key)))
                self.subconns[key] = sc
                self.states[key] = State.CONNECTING
                sc.connect()
                continue
            if address.addr in self.subconns:
                continue
            sc = self.cc.new_subconn((address,), NewSubConnOptions(self._listener(address.addr)))
            self.subconns[address.addr] = sc
            self.states[address.addr] = State.CONNECTING  # asked to connect: counts as CONNECTING
            sc.connect()
        self._report()

    def _drop(self, addr: str) -> None:
        self.subconns.pop(addr).shutdown()
        self.states.pop(addr, None)

    def _listener(self, addr: str) -> Callable[[SubConnState], None]:
        def on_state(state: SubConnState) -> None:
            if addr not in self.subconns:
                return
            self.states[addr] = state.state
            if state.state is State.TRANSIENT_FAILURE:
                self.last_error = state.error
            if state.state is State.IDLE:
                self.subconns[addr].connect()
            self._report()

        return on_state

    def _report(self) -> None:
        overall = aggregate_round_robin(self.states.values())
        if self.name == NEVER_READY and overall is State.READY:
            overall = State.CONNECTING
        picker: Picker
        if self.name == CRASHES_ON_PICK:
            picker = _CrashingPicker()
        elif overall is State.READY:
            ready = [a for a, s in self.states.items() if s is State.READY]
            picker = FirstPicker(self.subconns[ready[0]])
        elif overall is State.TRANSIENT_FAILURE:
            picker = FailPicker(self.last_error or unavailable("all addresses failed"))
        elif self.name == PICKS_CONNECTING and self.subconns:
            picker = FirstPicker(next(iter(self.subconns.values())))
        else:
            picker = QueuePicker()
        self.cc.update_state(BalancerState(overall, picker))

    def resolver_error(self, error: Status) -> None:
        if not self.subconns:
            self.cc.update_state(BalancerState(State.TRANSIENT_FAILURE, FailPicker(error)))

    def exit_idle(self) -> None:
        pass

    def close(self) -> None:
        if self.name == LEAKS_ON_CLOSE:
            return
        for addr in list(self.subconns):
            self._drop(addr)


class _Builder(Builder):
    def __init__(self, name: str) -> None:
        self.name = name

    def build(self, cc: ClientConn, options: BuildOptions) -> Balancer:
        return EveryAddress(cc, self.name)


for _name in (CORRECT, LEAKS_ON_CLOSE, PICKS_CONNECTING, NEVER_READY, CRASHES_ON_PICK, DUPLICATES):
    registry.register(_Builder(_name))
