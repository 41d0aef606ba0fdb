"""The balancer API: the same shapes and vocabulary as grpc-go's balancer package.

A reader can hold this module beside grpc-go ``balancer/balancer.go`` and
``balancer/subconn.go``:

=====================  =========================================================
grpc-go                here
=====================  =========================================================
``Builder``            :class:`Builder` (``name``, ``build``)
``ConfigParser``       :class:`ConfigParser` (``parse_config``)
``Balancer``           :class:`Balancer`
``ClientConn``         :class:`ClientConn` (what a balancer calls)
``SubConn``            :class:`SubConn`
``Picker``             :class:`Picker`; results :class:`Complete`, :class:`Queue`,
                       :class:`Fail`, :class:`Drop` instead of Go's error values
``ErrBadResolverState`` :class:`BadResolverStateError`
=====================  =========================================================

Rules every policy here follows:

* Sans-IO: a balancer never sleeps, spawns threads, reads the wall clock or the
  global ``random``.  Time comes from ``BuildOptions.clock`` and randomness from
  ``BuildOptions.random``, so every run replays from its seed.
* The channel serialises every call into a balancer (and every callback a
  balancer registered: state listeners, timers, ``BuildOptions.run_soon``).
  ``Picker.pick`` alone may run concurrently, from many threads.
* A picker never calls into its balancer directly: work it triggers (pick_first's
  IDLE picker calling ExitIdle) goes through ``run_soon``.
"""

from __future__ import annotations

import abc
import random
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import attrs

from refimpl.clock import Clock
from spec.connectivity import State
from spec.types import (
    Address,
    Attributes,
    Duration,
    Endpoint,
    OrcaLoadReport,
    Status,
    StatusCode,
)

JsonValue = Any


class BalancerError(Exception):
    """Base of the errors the reference implementation raises."""


class OptionError(BalancerError, ValueError):
    """A builder or a picker part was given an argument it cannot use (a Python-level
    option such as ``attempt_delay``, not a JSON config: that is :class:`ConfigError`)."""


class BadResolverStateError(BalancerError):
    """The policy rejected a resolver update; the resolver should re-resolve with backoff.

    grpc-go ``balancer.ErrBadResolverState``.
    """


class ConfigError(BalancerError):
    """A policy's JSON config is invalid.  ``path`` says where (``"choiceCount"``)."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path else problem)


# --- What flows in ---


@attrs.frozen
class SubConnState:
    """A SubConn's connectivity state; TRANSIENT_FAILURE carries the error."""

    state: State
    error: Status | None = None


@attrs.frozen
class ResolverState:
    """The resolver's result as a balancer sees it."""

    endpoints: tuple[Endpoint, ...]
    resolution_note: str = ""
    attributes: Attributes = ()


@attrs.frozen
class ClientConnState:
    """``UpdateClientConnState``'s argument: resolver state plus the parsed config."""

    resolver_state: ResolverState
    config: Any = None  # the object the policy's parse_config returned, or None


@attrs.frozen
class PickInfo:
    """What a picker knows about the RPC it routes."""

    method: str
    wait_for_ready: bool = False
    metadata: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen
class DoneInfo:
    """How a picked RPC ended (grpc-go ``balancer.DoneInfo``)."""

    error: Status | None = None
    trailer: Attributes = ()
    load_report: OrcaLoadReport | None = None  # ORCA, parsed from the trailer


# --- Pick results (client_channel_specification.md, "Picker API") ---


@attrs.frozen
class Complete:
    """Send the RPC on ``subconn``; call ``done`` when it ends."""

    subconn: SubConn
    done: Callable[[DoneInfo], None] | None = None
    metadata: Attributes = ()

    def with_done(self, done: Callable[[DoneInfo], None]) -> Complete:
        """This result with ``done`` in place of its own (usually a wrapper that calls it).

        Built directly rather than with attrs.evolve, which costs about a microsecond a
        pick; tests/refimpl/test_least_request.py checks that these are all of its fields.
        """
        return Complete(self.subconn, done, self.metadata)


@attrs.frozen
class Queue:
    """No subchannel yet: the RPC waits for the next picker (ErrNoSubConnAvailable)."""


@attrs.frozen
class Fail:
    """Fail the RPC, unless it is wait_for_ready, in which case it waits."""

    status: Status


@attrs.frozen
class Drop:
    """Fail the RPC even if it is wait_for_ready."""

    status: Status


PickResult = Complete | Queue | Fail | Drop
QUEUE = Queue()


def unavailable(message: str) -> Status:
    return Status(StatusCode.UNAVAILABLE, message)


class Picker(abc.ABC):
    """Routes RPCs.  Must be safe to call from many threads at once.

    A picker is an immutable snapshot: the policy builds a new one whenever its
    state changes and the channel swaps it in whole (grpc-go ``balancer.Picker``).
    """

    @abc.abstractmethod
    def pick(self, info: PickInfo) -> PickResult: ...


class QueuePicker(Picker):
    """Queues every pick (the CONNECTING picker)."""

    def pick(self, info: PickInfo) -> PickResult:
        return QUEUE


class FailPicker(Picker):
    """Fails every pick with one status (the TRANSIENT_FAILURE picker)."""

    def __init__(self, status: Status) -> None:
        self.status = status

    def pick(self, info: PickInfo) -> PickResult:
        return Fail(self.status)


@attrs.frozen
class BalancerState:
    """What a balancer reports upward: a state and the picker that goes with it."""

    state: State
    picker: Picker


# --- What a balancer calls ---

StateListener = Callable[[SubConnState], None]
HealthListener = Callable[[SubConnState], None]
OobListener = Callable[[OrcaLoadReport], None]


class SubConn(abc.ABC):
    """A subchannel as a balancer sees it (grpc-go ``balancer.SubConn``)."""

    @property
    @abc.abstractmethod
    def addresses(self) -> tuple[Address, ...]: ...

    @abc.abstractmethod
    def connect(self) -> None:
        """Start connecting; a no-op unless the SubConn is IDLE (CONN-11)."""

    @abc.abstractmethod
    def shutdown(self) -> None:
        """Close the SubConn for good; the balancer must not use it afterwards."""

    @abc.abstractmethod
    def register_health_listener(self, listener: HealthListener) -> None:
        """Watch health (gRFC A17/A61).  Call only while READY; replaces any earlier listener."""

    @abc.abstractmethod
    def register_oob_listener(
        self, listener: OobListener, interval: Duration
    ) -> Callable[[], None]:
        """Ask for out-of-band ORCA load reports every ``interval`` (gRFC A51/A58).

        Returns a function that stops the stream.
        """


@attrs.frozen
class NewSubConnOptions:
    state_listener: StateListener
    # True when the policy will register a health listener once the SubConn is READY
    # (pick_first as a leaf of round_robin and friends).
    health_listener: bool = False


class ClientConn(abc.ABC):
    """The channel (or a parent policy) as a balancer sees it."""

    @abc.abstractmethod
    def new_subconn(self, addresses: tuple[Address, ...], options: NewSubConnOptions) -> SubConn:
        """Create a SubConn.  Its listener is not called before ``connect()``."""

    @abc.abstractmethod
    def update_state(self, state: BalancerState) -> None:
        """Report a connectivity state and install a new picker."""

    @abc.abstractmethod
    def resolve_now(self) -> None:
        """Ask the resolver to re-resolve."""


class RandomSource(Protocol):
    """The parts of :class:`random.Random` policies use (injected, seedable)."""

    def random(self) -> float: ...

    def randrange(self, start: int, stop: int = ..., step: int = ...) -> int: ...

    def shuffle(self, x: list[Any]) -> None: ...


@attrs.frozen
class BuildOptions:
    """Everything a balancer may use besides its ClientConn.

    ``run_soon`` queues a callback on the balancer's serialised context: it runs
    after the current call returns, never concurrently with another call.
    """

    clock: Clock
    random: RandomSource
    run_soon: Callable[[Callable[[], None]], None]


def seeded_random(seed: int) -> random.Random:
    """A private random source; never the module-global one."""
    return random.Random(seed)


class Balancer(abc.ABC):
    """A load-balancing policy instance (grpc-go ``balancer.Balancer``)."""

    @abc.abstractmethod
    def update_client_conn_state(self, state: ClientConnState) -> None:
        """A new resolver result.  Raise :class:`BadResolverStateError` to reject it."""

    @abc.abstractmethod
    def resolver_error(self, error: Status) -> None:
        """The resolver failed."""

    @abc.abstractmethod
    def exit_idle(self) -> None:
        """Leave IDLE and start connecting (a no-op for policies that never idle)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Shut every SubConn down; no further calls follow."""


class Builder(abc.ABC):
    """Builds balancers of one policy (grpc-go ``balancer.Builder``)."""

    name: str

    @abc.abstractmethod
    def build(self, cc: ClientConn, options: BuildOptions) -> Balancer: ...


class ConfigParser(abc.ABC):
    """Optional: a builder that parses its JSON config (grpc-go ``balancer.ConfigParser``).

    Unknown fields are ignored; a wrong type or out-of-range value raises
    :class:`ConfigError` naming the field.
    """

    @abc.abstractmethod
    def parse_config(self, config: JsonValue) -> Any: ...
