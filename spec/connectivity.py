"""Connectivity states, the subchannel transition relation, and aggregation.

Rules (each line is a requirement in :mod:`spec.catalogue`):

* A subchannel starts in IDLE (CONN-1) and moves only along an edge of the
  table below for the profile in force (CONN-2..CONN-8, CONN-10); a state
  change always changes the state (CONN-9).  SHUTDOWN is terminal.
* Profile ``current`` is today's gRPC (grpc/grpc
  doc/client_channel_specification.md, "Subchannel Connectivity States", and
  grpc-go ``clientconn.go``).  Profile ``seed`` is the older diagram this
  project was seeded with: it also allows TRANSIENT_FAILURE -> CONNECTING
  and READY -> TRANSIENT_FAILURE.
* Where a subchannel goes when its backoff ends is the spec option
  ``subchannel.backoff_end`` (:class:`BackoffEnd`, spec/options.py): IDLE (the
  text's CONN-5 edge: grpc-go, C-core), CONNECTING (the ``seed`` profile's
  CONN-10 edge: grpc-java), or CONNECTING when a connection was requested during
  the backoff and IDLE otherwise (grpc-js).  A case's inputs say which values it
  holds for (:func:`backoff_end_values`); an adapter declares its own.
* A policy's aggregate state is READY if any child is READY, else CONNECTING
  if any is CONNECTING, else IDLE if any is IDLE, else TRANSIENT_FAILURE
  (also with no children); SHUTDOWN children are not counted (AGG-1..AGG-6).
  round_robin counts IDLE as CONNECTING (AGG-7).

The subchannel machine, profile ``current`` (``seed`` adds the two ``..>``
edges)::

                 connect()            connected
       IDLE ----------------> CONNECTING --------> READY
        ^  ^                  |   |                 | :
        |  +-- closed early --+   | all failed      | : (seed) lost
        |                         v                 | v
        +--- backoff over --- TRANSIENT_FAILURE     | TRANSIENT_FAILURE
        +------------------------------- lost ------+
       TRANSIENT_FAILURE ..(seed) retry..> CONNECTING
       any state --- shutdown() ---> SHUTDOWN (terminal)

:data:`SUBCHANNEL_TRANSITIONS` is the single source of truth; the diagram in
``docs/`` is generated from it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence

import attrs

from spec.errors import IllegalTransitionError


class State(enum.IntEnum):
    """gRPC connectivity states, with gRPC's numbers (grpc-go connectivity/connectivity.go)."""

    IDLE = 0
    CONNECTING = 1
    READY = 2
    TRANSIENT_FAILURE = 3
    SHUTDOWN = 4


class Profile(enum.Enum):
    """Which version of the subchannel machine an implementation follows."""

    CURRENT = "current"
    SEED = "seed"


class BackoffEnd(enum.Enum):
    """CONN-5 / CONN-10: where a subchannel in TRANSIENT_FAILURE goes when its backoff ends.

    * ``IDLE`` -- to IDLE, and connects again only when asked (the text; grpc-go, C-core).
    * ``CONNECTING`` -- straight to CONNECTING, retrying by itself (grpc-java; the
      ``seed`` profile's edge).
    * ``CONNECTING_IF_REQUESTED`` -- to CONNECTING if a connection was requested
      during the backoff, else to IDLE (grpc-js).
    """

    IDLE = "idle"
    CONNECTING = "connecting"
    CONNECTING_IF_REQUESTED = "connecting_if_requested"


def backoff_end_values(target: State) -> frozenset[BackoffEnd]:
    """The values of ``subchannel.backoff_end`` under which a subchannel in
    TRANSIENT_FAILURE may next report ``target`` when its backoff ends (CONN-5, CONN-10).
    Every value for a target that is not IDLE or CONNECTING (SHUTDOWN, READY...)."""
    if target is State.IDLE:
        return frozenset({BackoffEnd.IDLE, BackoffEnd.CONNECTING_IF_REQUESTED})
    if target is State.CONNECTING:
        return frozenset({BackoffEnd.CONNECTING, BackoffEnd.CONNECTING_IF_REQUESTED})
    return frozenset(BackoffEnd)


@attrs.frozen
class Transition:
    """One edge of the subchannel machine."""

    source: State
    target: State
    trigger: str
    requirement: str
    citation: str
    profiles: frozenset[Profile] = frozenset({Profile.CURRENT, Profile.SEED})


_SPEC_SUBCHANNEL = "grpc/grpc doc/client_channel_specification.md#subchannel-connectivity-states"
_GO_ADDRCONN = "grpc-go clientconn.go (addrConn.resetTransport / updateConnectivityState)"
_SEED_ONLY = frozenset({Profile.SEED})

# The single source of truth for subchannel connectivity (h11-style table).
SUBCHANNEL_TRANSITIONS: tuple[Transition, ...] = (
    Transition(
        State.IDLE,
        State.CONNECTING,
        "the LB policy requested a connection (SubConn.Connect)",
        "CONN-2",
        _SPEC_SUBCHANNEL,
    ),
    Transition(
        State.CONNECTING,
        State.READY,
        "a connection attempt succeeded",
        "CONN-3",
        _SPEC_SUBCHANNEL,
    ),
    Transition(
        State.CONNECTING,
        State.TRANSIENT_FAILURE,
        "every address failed; the state carries the connection error",
        "CONN-4",
        _SPEC_SUBCHANNEL,
    ),
    Transition(
        State.CONNECTING,
        State.IDLE,
        "the transport closed before it became READY",
        "CONN-7",
        "grpc-go issue 7862; " + _GO_ADDRCONN,
    ),
    Transition(
        State.READY,
        State.IDLE,
        "the connection terminated (transport closed, GOAWAY)",
        "CONN-6",
        _SPEC_SUBCHANNEL,
    ),
    Transition(
        State.TRANSIENT_FAILURE,
        State.IDLE,
        "the backoff delay expired (seed: the subchannel stopped retrying); "
        "subchannel.backoff_end = idle, the text's value",
        "CONN-5",
        _SPEC_SUBCHANNEL,
    ),
    Transition(
        State.TRANSIENT_FAILURE,
        State.CONNECTING,
        "the subchannel retried by itself after backoff (older grpc-go; grpc-java, grpc-js); "
        "subchannel.backoff_end = connecting (or connecting_if_requested)",
        "CONN-10",
        "the project seed's subchannel diagram; grpc-go before the TF->IDLE change; "
        "grpc-java InternalSubchannel.java (EndOfCurrentBackoff); "
        "grpc-js subchannel.ts (handleBackoffTimer)",
        _SEED_ONLY,
    ),
    Transition(
        State.READY,
        State.TRANSIENT_FAILURE,
        "the connection was lost and reported as a failure (older gRPC)",
        "CONN-10",
        "the project seed's subchannel diagram",
        _SEED_ONLY,
    ),
    *(
        Transition(
            source,
            State.SHUTDOWN,
            "the LB policy shut the subchannel down (SubConn.Shutdown)",
            "CONN-8",
            "grpc-go balancer/subconn.go (SubConn.Shutdown); " + _GO_ADDRCONN,
        )
        for source in (State.IDLE, State.CONNECTING, State.READY, State.TRANSIENT_FAILURE)
    ),
)

INITIAL_SUBCHANNEL_STATE = State.IDLE  # CONN-1


def state_after_connect(state: State) -> State:
    """What ``SubConn.Connect`` does: starts an attempt from IDLE, else nothing (CONN-11)."""
    return State.CONNECTING if state is State.IDLE else state


def transitions(profile: Profile) -> tuple[Transition, ...]:
    """The edges of ``profile``, in table order."""
    return tuple(t for t in SUBCHANNEL_TRANSITIONS if profile in t.profiles)


def find_transition(source: State, target: State, profile: Profile) -> Transition | None:
    """The edge ``source -> target`` of ``profile``, or ``None`` when it is illegal."""
    for t in SUBCHANNEL_TRANSITIONS:
        if t.source is source and t.target is target and profile in t.profiles:
            return t
    return None


def is_legal(source: State, target: State, profile: Profile = Profile.CURRENT) -> bool:
    return find_transition(source, target, profile) is not None


def check_path(
    states: Sequence[State], profile: Profile = Profile.CURRENT, *, from_start: bool = True
) -> None:
    """Raise :class:`IllegalTransitionError` at the first forbidden edge of ``states``.

    With ``from_start`` the path must begin in the initial state IDLE (CONN-1);
    position 0 then names the implicit edge from "created" to ``states[0]``.
    """
    if from_start and states and states[0] is not INITIAL_SUBCHANNEL_STATE:
        raise IllegalTransitionError(profile.value, INITIAL_SUBCHANNEL_STATE, states[0], 0)
    for index in range(1, len(states)):
        if not is_legal(states[index - 1], states[index], profile):
            raise IllegalTransitionError(profile.value, states[index - 1], states[index], index)


# --- Aggregation (client_channel_specification.md, "Aggregated Connectivity States") ---


def aggregate(states: Iterable[State]) -> State:
    """The normal aggregation rule, first match wins (AGG-1..AGG-6)."""
    counted = {s for s in states if s is not State.SHUTDOWN}  # AGG-5
    for state in (State.READY, State.CONNECTING, State.IDLE):
        if state in counted:
            return state
    return State.TRANSIENT_FAILURE  # AGG-4, AGG-6: also when nothing is counted


def aggregate_round_robin(states: Iterable[State]) -> State:
    """round_robin's variant: a child in IDLE counts as CONNECTING (AGG-7)."""
    return aggregate(State.CONNECTING if s is State.IDLE else s for s in states)


# --- The channel-level table (client_channel_specification.md, "Aggregated
# Connectivity States": the generally expected semantics).  It is descriptive:
# the LB policy decides the channel's state, so these are SHOULD-level. ---


@attrs.frozen
class ChannelTransition:
    source: State
    target: State
    trigger: str
    requirement: str
    usual: bool = True  # False: allowed, but the text says it happens only "in some cases"


_SPEC_AGGREGATED = "grpc/grpc doc/client_channel_specification.md#aggregated-connectivity-states"

INITIAL_CHANNEL_STATE = State.IDLE  # CHAN-1

CHANNEL_TRANSITIONS: tuple[ChannelTransition, ...] = (
    ChannelTransition(
        State.IDLE, State.CONNECTING, "the application sends an RPC or asks to connect", "CHAN-2"
    ),
    ChannelTransition(State.CONNECTING, State.READY, "a subchannel connected", "CHAN-3"),
    ChannelTransition(
        State.CONNECTING,
        State.TRANSIENT_FAILURE,
        "name resolution failed or no subchannel could connect",
        "CHAN-3",
    ),
    ChannelTransition(State.CONNECTING, State.IDLE, "the channel's idle timeout fired", "CHAN-3"),
    ChannelTransition(
        State.READY, State.IDLE, "the connection closed (some policies) or idle timeout", "CHAN-4"
    ),
    ChannelTransition(
        State.TRANSIENT_FAILURE, State.READY, "connectivity was re-established", "CHAN-5"
    ),
    ChannelTransition(
        State.TRANSIENT_FAILURE, State.IDLE, "the channel's idle timeout fired", "CHAN-5"
    ),
    ChannelTransition(
        State.TRANSIENT_FAILURE,
        State.CONNECTING,
        "only in some cases: in general no CONNECTING between TRANSIENT_FAILURE and READY",
        "CHAN-6",
        usual=False,
    ),
)


def channel_transition(source: State, target: State) -> ChannelTransition | None:
    for t in CHANNEL_TRANSITIONS:
        if t.source is source and t.target is target:
            return t
    return None
