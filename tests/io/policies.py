"""Tiny policies for testing the real-I/O layer without the real policies.

* ``io_test_every_ready`` -- one SubConn per address, all connected; picks go
  round robin over the READY ones; a SubConn that drops to IDLE reconnects.
  With ``{"healthChecked": true}`` it registers a health listener and picks only
  healthy SubConns; with ``{"oobInterval": seconds}`` it listens for out-of-band
  ORCA reports on every READY SubConn and keeps them in ``oob``.  With no READY
  SubConn it queues, or fails with the last connection error once every SubConn
  is in TRANSIENT_FAILURE.
* ``io_test_verdict`` -- its picker answers every pick with one verdict from its
  config: ``{"verdict": "fail" | "drop" | "queue", "code": <int>}``.

Both are registered on import (tests only: the built-in registry never sees them).
"""

from __future__ import annotations

import itertools
import json
import threading
from typing import Any

from refimpl import registry
from refimpl.balancer import (
    QUEUE,
    Balancer,
    BalancerState,
    Builder,
    BuildOptions,
    ClientConn,
    ClientConnState,
    Complete,
    ConfigError,
    ConfigParser,
    DoneInfo,
    Drop,
    Fail,
    NewSubConnOptions,
    Picker,
    PickInfo,
    PickResult,
    QueuePicker,
    SubConn,
    SubConnState,
)
from spec.connectivity import State
from spec.types import Address, Duration, OrcaLoadReport, Status, StatusCode

EVERY_READY = "io_test_every_ready"
VERDICT = "io_test_verdict"


class _RoundRobinPicker(Picker):
    def __init__(
        self, ready: list[SubConn], dones: list[DoneInfo], infos: list[PickInfo], start: int
    ) -> None:
        self._ready = ready
        self._dones = dones
        self._infos = infos
        self._next = itertools.count(start)
        self._lock = threading.Lock()

    def pick(self, info: PickInfo) -> PickResult:
        with self._lock:
            index = next(self._next) % len(self._ready)
            self._infos.append(info)
        return Complete(self._ready[index], self._dones.append)


class _FailPicker(Picker):
    def __init__(self, status: Status) -> None:
        self._status = status

    def pick(self, info: PickInfo) -> PickResult:
        return Fail(self._status)


class EveryReady(Balancer):
    def __init__(self, cc: ClientConn, options: BuildOptions) -> None:
        self.cc = cc
        self.options = options
        self.subconns: dict[str, SubConn] = {}
        self.states: dict[str, SubConnState] = {}
        self.health: dict[str, State] = {}
        self.health_checked = False
        self.dones: list[DoneInfo] = []  # every DoneInfo of every pick, in order
        self.infos: list[PickInfo] = []  # what every READY pick was given, in order
        self.reported: list[State] = []
        self.oob_interval: float | None = None
        self.oob: list[tuple[str, OrcaLoadReport]] = []  # (address, report), in arrival order

    def update_client_conn_state(self, state: ClientConnState) -> None:
        self.health_checked = bool((state.config or {}).get("healthChecked"))
        self.oob_interval = (state.config or {}).get("oobInterval")
        wanted = [a for e in state.resolver_state.endpoints for a in e.addresses]
        for addr in set(self.subconns) - {a.addr for a in wanted}:
            self.subconns.pop(addr).shutdown()
            self.states.pop(addr, None)
            self.health.pop(addr, None)
        for address in wanted:
            if address.addr not in self.subconns:
                self._add(address)
        self._report()

    def _add(self, address: Address) -> None:
        addr = address.addr
        box: list[SubConn] = []

        def listener(state: SubConnState) -> None:
            if self.subconns.get(addr) is not box[0]:
                return
            self.states[addr] = state
            self.health.pop(addr, None)
            if state.state is State.IDLE:
                box[0].connect()
            if state.state is State.READY and self.health_checked:
                box[0].register_health_listener(health_listener)
            if state.state is State.READY and self.oob_interval is not None:
                interval = Duration(round(self.oob_interval * 1e9))
                box[0].register_oob_listener(lambda r: self.oob.append((addr, r)), interval)
            self._report()

        def health_listener(state: SubConnState) -> None:
            if self.subconns.get(addr) is box[0]:
                self.health[addr] = state.state
                self._report()

        options = NewSubConnOptions(listener, health_listener=self.health_checked)
        subconn = self.cc.new_subconn((address,), options)
        box.append(subconn)
        self.subconns[addr] = subconn
        self.states[addr] = SubConnState(State.IDLE)
        subconn.connect()

    def _usable(self, addr: str) -> bool:
        if self.states[addr].state is not State.READY:
            return False
        return not self.health_checked or self.health.get(addr) is State.READY

    def _report(self) -> None:
        ready = [sc for addr, sc in sorted(self.subconns.items()) if self._usable(addr)]
        if ready:
            start = self.options.random.randrange(0, len(ready))
            self._update(State.READY, _RoundRobinPicker(ready, self.dones, self.infos, start))
            return
        states = [s.state for s in self.states.values()]
        if states and all(s is State.TRANSIENT_FAILURE for s in states):
            errors = [s.error for s in self.states.values() if s.error is not None]
            status = errors[-1] if errors else Status(StatusCode.UNAVAILABLE, "no backends")
            self._update(State.TRANSIENT_FAILURE, _FailPicker(status))
            return
        self._update(State.CONNECTING, QueuePicker())

    def _update(self, state: State, picker: Picker) -> None:
        self.reported.append(state)
        self.cc.update_state(BalancerState(state, picker))

    def resolver_error(self, error: Status) -> None:
        pass

    def exit_idle(self) -> None:
        pass

    def close(self) -> None:
        for subconn in self.subconns.values():
            subconn.shutdown()
        self.subconns.clear()


class EveryReadyBuilder(Builder, ConfigParser):
    name = EVERY_READY

    def __init__(self) -> None:
        self.built: list[EveryReady] = []

    def build(self, cc: ClientConn, options: BuildOptions) -> Balancer:
        balancer = EveryReady(cc, options)
        self.built.append(balancer)
        return balancer

    def parse_config(self, config: Any) -> Any:
        if not isinstance(config, dict):
            raise ConfigError("", f"expected an object, got {config!r}")
        return config


class _VerdictPicker(Picker):
    def __init__(self, verdict: str, status: Status) -> None:
        self._verdict = verdict
        self._status = status

    def pick(self, info: PickInfo) -> PickResult:
        if self._verdict == "fail":
            return Fail(self._status)
        if self._verdict == "drop":
            return Drop(self._status)
        return QUEUE


class Verdict(Balancer):
    def __init__(self, cc: ClientConn) -> None:
        self.cc = cc

    def update_client_conn_state(self, state: ClientConnState) -> None:
        verdict, code = state.config
        picker = _VerdictPicker(verdict, Status(code, f"verdict {verdict}"))
        level = State.CONNECTING if verdict == "queue" else State.TRANSIENT_FAILURE
        self.cc.update_state(BalancerState(level, picker))

    def resolver_error(self, error: Status) -> None:
        pass

    def exit_idle(self) -> None:
        pass

    def close(self) -> None:
        pass


class VerdictBuilder(Builder, ConfigParser):
    name = VERDICT

    def build(self, cc: ClientConn, options: BuildOptions) -> Balancer:
        return Verdict(cc)

    def parse_config(self, config: Any) -> Any:
        verdict = config.get("verdict") if isinstance(config, dict) else None
        if verdict not in ("fail", "drop", "queue"):
            raise ConfigError("verdict", f"must be fail, drop or queue, got {verdict!r}")
        return verdict, StatusCode(config.get("code", int(StatusCode.UNAVAILABLE)))


EVERY_READY_BUILDER = EveryReadyBuilder()
registry.register(EVERY_READY_BUILDER)
registry.register(VerdictBuilder())


def service_config(policy: str, config: Any = None, health_service: str | None = None) -> str:
    """A service config JSON text selecting ``policy`` (and health checking, if named)."""
    document: dict[str, Any] = {"loadBalancingConfig": [{policy: config or {}}]}
    if health_service is not None:
        document["healthCheckConfig"] = {"serviceName": health_service}
    return json.dumps(document)
