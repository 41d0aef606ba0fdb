"""Test-only policies and a recording ClientConn, for registry, service-config and switch tests.

Nothing here depends on the real policies (pick_first, round_robin...): tests register
these under names of their own with :func:`registered`, which restores whatever the
registry held before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import attrs

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
    ConfigError,
    ConfigParser,
    Fail,
    HealthListener,
    JsonValue,
    NewSubConnOptions,
    OobListener,
    Picker,
    PickInfo,
    PickResult,
    SubConn,
    SubConnState,
    seeded_random,
)
from refimpl.clock import VirtualClock
from spec.connectivity import State, aggregate
from spec.types import Address, Duration, Status, StatusCode


class TaggedPicker(Picker):
    """Fails every pick with a message naming ``tag``, so a test can tell whose picker it is."""

    def __init__(self, tag: str) -> None:
        self.tag = tag

    def pick(self, info: PickInfo) -> PickResult:
        return Fail(Status(StatusCode.UNAVAILABLE, f"picker of {self.tag}"))


class ScriptedBalancer(Balancer):
    """Records every call; creates one SubConn per endpoint; reports only when told to."""

    def __init__(self, builder: ScriptedBuilder, cc: ClientConn, options: BuildOptions) -> None:
        self.builder = builder
        self.cc = cc
        self.options = options
        self.updates: list[ClientConnState] = []
        self.resolver_errors: list[Status] = []
        self.exit_idles = 0
        self.closed = False
        self.subconns: list[SubConn] = []
        self.subconn_states: list[tuple[SubConn, SubConnState]] = []

    def update_client_conn_state(self, state: ClientConnState) -> None:
        self.updates.append(state)
        if not state.resolver_state.endpoints and self.builder.reject_empty:
            raise BadResolverStateError("scripted: no endpoints")
        for endpoint in state.resolver_state.endpoints:
            box: list[SubConn] = []
            sc = self.cc.new_subconn(endpoint.addresses, NewSubConnOptions(self._listener(box)))
            box.append(sc)
            self.subconns.append(sc)
            sc.connect()

    def _listener(self, box: list[SubConn]) -> Callable[[SubConnState], None]:
        def listener(state: SubConnState) -> None:
            self.subconn_states.append((box[0], state))
            if self.builder.on_subconn_state is not None:
                self.builder.on_subconn_state(self, box[0], state)

        return listener

    def report(self, state: State, tag: str | None = None) -> None:
        """Report ``state`` with a picker tagged ``tag`` (default: this policy's name)."""
        self.cc.update_state(BalancerState(state, TaggedPicker(tag or self.builder.name)))

    def resolver_error(self, error: Status) -> None:
        self.resolver_errors.append(error)

    def exit_idle(self) -> None:
        self.exit_idles += 1

    def close(self) -> None:
        self.closed = True
        for sc in self.subconns:
            sc.shutdown()


SubConnHook = Callable[[ScriptedBalancer, SubConn, SubConnState], None]


class ScriptedBuilder(Builder):
    """Builds :class:`ScriptedBalancer` s and keeps them in ``built``."""

    def __init__(
        self,
        name: str,
        *,
        reject_empty: bool = False,
        on_subconn_state: SubConnHook | None = None,
    ) -> None:
        self.name = name
        self.reject_empty = reject_empty
        self.on_subconn_state = on_subconn_state
        self.built: list[ScriptedBalancer] = []

    def build(self, cc: ClientConn, options: BuildOptions) -> Balancer:
        balancer = ScriptedBalancer(self, cc, options)
        self.built.append(balancer)
        return balancer

    @property
    def last(self) -> ScriptedBalancer:
        return self.built[-1]


@attrs.frozen
class ScriptedConfig:
    """What :class:`ParsingBuilder` returns: the ``value`` field (an int, default 0)."""

    value: int = 0


class ParsingBuilder(ScriptedBuilder, ConfigParser):
    """A scripted policy with a config: ``{"value": int}``; other fields are ignored."""

    def __init__(self, name: str, **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self.parsed: list[JsonValue] = []

    def parse_config(self, config: JsonValue) -> ScriptedConfig:
        self.parsed.append(config)
        if not isinstance(config, dict):
            raise ConfigError("", f"expected an object, got {config!r}")
        value = config.get("value", 0)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError("value", f"must be an integer, got {value!r}")
        return ScriptedConfig(value)


class FirstReadyPicker(Picker):
    """Completes every pick on one SubConn."""

    def __init__(self, subconn: SubConn) -> None:
        self.subconn = subconn

    def pick(self, info: PickInfo) -> PickResult:
        return Complete(self.subconn)


def report_aggregate(balancer: ScriptedBalancer, _sc: SubConn, _state: SubConnState) -> None:
    """A hook that reports the normal aggregate of the SubConns' latest states.

    READY comes with a picker that completes on the first READY SubConn.
    """
    latest: dict[SubConn, State] = {}
    for sc, state in balancer.subconn_states:
        latest[sc] = state.state
    ready = [sc for sc, state in latest.items() if state is State.READY]
    if ready:
        balancer.cc.update_state(BalancerState(State.READY, FirstReadyPicker(ready[0])))
    else:
        balancer.report(aggregate(latest.values()))


@contextmanager
def registered(*builders: Builder) -> Iterator[None]:
    """Register ``builders`` for the duration; restore the previous registrations after."""
    previous = {b.name: registry.get(b.name) for b in builders}
    for builder in builders:
        registry.register(builder)
    try:
        yield
    finally:
        for name, old in previous.items():
            if old is None:
                registry.unregister_for_testing(name)
            else:
                registry.register(old)


# --- A recording ClientConn for unit tests of balancers that wrap others ---


class RecordedSubConn(SubConn):
    def __init__(self, cc: RecordingClientConn, addresses: tuple[Address, ...], opts: Any) -> None:
        self.cc = cc
        self._addresses = addresses
        self.options: NewSubConnOptions = opts
        self.connects = 0
        self.shutdowns = 0
        self.health_listener: HealthListener | None = None

    @property
    def addresses(self) -> tuple[Address, ...]:
        return self._addresses

    def connect(self) -> None:
        self.connects += 1

    def shutdown(self) -> None:
        self.shutdowns += 1

    def register_health_listener(self, listener: HealthListener) -> None:
        self.health_listener = listener

    def register_oob_listener(
        self, listener: OobListener, interval: Duration
    ) -> Callable[[], None]:
        return lambda: None

    def deliver(self, state: State, error: Status | None = None) -> None:
        """The channel delivers a state change to the listener the policy registered."""
        self.options.state_listener(SubConnState(state, error))


class RecordingClientConn(ClientConn):
    """Records what a balancer asks of its ClientConn; ``run_soon`` work waits for ``drain``."""

    def __init__(self) -> None:
        self.states: list[BalancerState] = []
        self.subconns: list[RecordedSubConn] = []
        self.resolve_nows = 0
        self.queue: list[Callable[[], None]] = []
        self.options = BuildOptions(
            clock=VirtualClock(), random=seeded_random(0), run_soon=self.queue.append
        )

    def new_subconn(self, addresses: tuple[Address, ...], options: NewSubConnOptions) -> SubConn:
        sc = RecordedSubConn(self, tuple(addresses), options)
        self.subconns.append(sc)
        return sc

    def update_state(self, state: BalancerState) -> None:
        self.states.append(state)

    def resolve_now(self) -> None:
        self.resolve_nows += 1

    def drain(self) -> None:
        while self.queue:
            self.queue.pop(0)()

    def picker_tag(self) -> str:
        """Whose picker is installed: the tag of the last reported TaggedPicker."""
        picker = self.states[-1].picker
        assert isinstance(picker, TaggedPicker), picker
        return picker.tag
