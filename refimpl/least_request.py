"""The least_request_experimental policy (gRFC A48): power of k choices over outstanding RPCs.

Requirements LR-1..LR-11 (``spec/catalogue/least_request.py``); grpc-go
``balancer/leastrequest/leastrequest.go`` restated:

* Config: ``choiceCount`` defaults to 2, below 2 is an error, above 10 counts
  as 10 (LR-1..LR-4).  An update without a config is a bad resolver state (LR-5).
* Children: round_robin's machinery, one pick_first child per endpoint watching
  health (endpointsharding).  With no READY endpoint the endpointsharding state
  and picker pass through (LR-6).
* Picker: choiceCount samples with replacement from the READY endpoints, drawn
  from ``BuildOptions.random``; a later sample replaces the candidate only when
  it has strictly fewer outstanding RPCs (LR-7).  The chosen endpoint's count
  goes up when its child's pick completes and down in that RPC's Done,
  whatever the status (LR-8).
* Counts are kept per endpoint across pickers while it stays READY and dropped
  as soon as it is not (LR-9).  grpc-go drops them only when it next builds a
  least-request picker, so an endpoint that leaves and regains READY while no
  endpoint is READY keeps its old count there; A48 ties counters to the
  subchannel's lifecycle, which is what this reference does.

``Selection.FULL_SCAN`` is the project seed's variant (LR-11): it picks an
endpoint with the smallest count (the first such in the picker's order) and
keeps the same accounting.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Sequence
from typing import ClassVar

import attrs

from refimpl import registry
from refimpl.balancer import (
    BadResolverStateError,
    Balancer,
    BalancerError,
    BalancerState,
    Builder,
    BuildOptions,
    ClientConn,
    ClientConnState,
    Complete,
    ConfigError,
    ConfigParser,
    DoneInfo,
    JsonValue,
    OptionError,
    Picker,
    PickInfo,
    PickResult,
    RandomSource,
)
from refimpl.endpoint_sharding import (
    EndpointSharding,
    InterceptingClientConn,
    child_states_from_picker,
)
from refimpl.pick_first import enable_health_listener
from spec.connectivity import State
from spec.types import Status

NAME = "least_request_experimental"  # as grpc-go registers it; gRFC A48 calls it least_request
CHILD_POLICY = "pick_first"
DEFAULT_CHOICE_COUNT = 2  # LR-1
MIN_CHOICE_COUNT = 2  # LR-2
MAX_CHOICE_COUNT = 10  # LR-3
_UINT32_MAX = 2**32 - 1


class Selection(enum.Enum):
    """How a pick chooses among the READY endpoints."""

    SAMPLE = "sample"  # gRFC A48: choiceCount random samples (default)
    FULL_SCAN = "full_scan"  # the project seed: the global minimum


def _check_choice_count(_inst: object, _a: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError("choiceCount", f"must be an integer, got {value!r}")
    if not MIN_CHOICE_COUNT <= value <= MAX_CHOICE_COUNT:
        raise ConfigError(
            "choiceCount", f"must be in [{MIN_CHOICE_COUNT}, {MAX_CHOICE_COUNT}], got {value}"
        )


@attrs.frozen
class LeastRequestConfig:
    """The parsed config; ``choice_count`` is already clamped to [2, 10]."""

    choice_count: int = attrs.field(default=DEFAULT_CHOICE_COUNT, validator=_check_choice_count)


def parse_config(raw: JsonValue) -> LeastRequestConfig:
    """Parse the JSON config (LR-1..LR-4); a bad one raises :class:`ConfigError`."""
    if not isinstance(raw, dict):
        raise ConfigError("", f"least_request_experimental config must be a JSON object: {raw!r}")
    value = raw.get("choiceCount")
    if value is None:  # absent, or JSON null: the default (LR-1)
        return LeastRequestConfig()
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError("choiceCount", f"must be a JSON integer, got {value!r}")  # LR-4
    if not 0 <= value <= _UINT32_MAX:
        raise ConfigError("choiceCount", f"must fit an unsigned 32-bit integer, got {value}")
    if value < MIN_CHOICE_COUNT:
        raise ConfigError("choiceCount", f"must be >= {MIN_CHOICE_COUNT}, got {value}")  # LR-2
    return LeastRequestConfig(min(value, MAX_CHOICE_COUNT))  # LR-3


class OutstandingCounter:
    """One endpoint's outstanding RPCs (LR-8).  Picks and Dones change it from any thread.

    grpc-go keeps an ``atomic.Int32`` per endpoint; here a lock guards the count.
    """

    __slots__ = ("_lock", "_value")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value = 0

    @property
    def value(self) -> int:
        with self._lock:
            return self._value

    def add(self, delta: int) -> None:
        with self._lock:
            self._value += delta


@attrs.frozen
class PickTarget:
    """A READY endpoint as the picker sees it: its child's picker and its counter."""

    picker: Picker
    counter: OutstandingCounter


class LeastRequestPicker(Picker):
    """Chooses the endpoint with the fewest outstanding RPCs among random samples (LR-7).

    The planted bugs of conformance/planted.py replace :meth:`choose` or :meth:`_on_done`.
    """

    def __init__(
        self,
        targets: Sequence[PickTarget],
        choice_count: int,
        rng: RandomSource,
        selection: Selection = Selection.SAMPLE,
    ) -> None:
        if not targets:
            raise OptionError("a least-request picker needs at least one READY endpoint")
        self.targets = tuple(targets)
        self.choice_count = choice_count
        self._rng = rng
        self.selection = selection

    def count(self, index: int) -> int:
        """The outstanding RPCs of the endpoint at ``index``."""
        return self.targets[index].counter.value

    def choose(self) -> int:
        """The index in ``targets`` of the endpoint for the next pick (LR-7, or LR-11)."""
        if self.selection is Selection.FULL_SCAN:
            return min(range(len(self.targets)), key=self.count)  # the first minimum
        chosen = self._rng.randrange(len(self.targets))
        fewest = self.count(chosen)
        for _ in range(self.choice_count - 1):
            sample = self._rng.randrange(len(self.targets))
            outstanding = self.count(sample)
            if outstanding < fewest:  # strictly: a tie keeps the earlier sample
                chosen, fewest = sample, outstanding
        return chosen

    def pick(self, info: PickInfo) -> PickResult:
        target = self.targets[self.choose()]
        result = target.picker.pick(info)
        if not isinstance(result, Complete):
            return result  # only a completed pick counts (LR-8)
        target.counter.add(1)
        child_done = result.done

        def done(done_info: DoneInfo) -> None:
            self._on_done(target.counter, done_info)
            if child_done is not None:
                child_done(done_info)

        return result.with_done(done)

    def _on_done(self, counter: OutstandingCounter, done_info: DoneInfo) -> None:
        """LR-8: the RPC is over, whatever its status: one count down."""
        counter.add(-1)


# --- The balancer: endpointsharding underneath, counts on top ---


class LeastRequestBalancer(Balancer):
    """least_request_experimental over endpointsharding (grpc-go leastRequestBalancer).

    ``picker_type`` is the picker it builds; a planted bug (conformance/planted.py) swaps it.
    """

    picker_type: ClassVar[type[LeastRequestPicker]] = LeastRequestPicker

    def __init__(
        self,
        cc: ClientConn,
        options: BuildOptions,
        child_builder: Builder,
        selection: Selection = Selection.SAMPLE,
    ) -> None:
        self._cc = cc
        self._options = options
        self._selection = selection
        self._choice_count = DEFAULT_CHOICE_COUNT
        self._counters: dict[frozenset[str], OutstandingCounter] = {}  # LR-9
        self._closed = False
        self._sharding = EndpointSharding(
            InterceptingClientConn(cc, self._on_sharding_state), options, child_builder
        )

    def update_client_conn_state(self, state: ClientConnState) -> None:
        config = state.config
        if not isinstance(config, LeastRequestConfig):  # LR-5
            raise BadResolverStateError(f"{NAME}: no config (or not one of ours): {config!r}")
        self._choice_count = config.choice_count
        # The leaves watch health (grpc-go pickfirst.EnableHealthListener); no child config.
        self._sharding.update_client_conn_state(
            ClientConnState(enable_health_listener(state.resolver_state), None)
        )

    def resolver_error(self, error: Status) -> None:
        self._sharding.resolver_error(error)

    def exit_idle(self) -> None:
        self._sharding.exit_idle()

    def close(self) -> None:
        self._closed = True
        self._sharding.close()
        self._counters = {}

    def outstanding(self) -> dict[frozenset[str], int]:
        """Each READY endpoint's count, by endpoint identity (for tests and debugging)."""
        return {key: counter.value for key, counter in self._counters.items()}

    def _on_sharding_state(self, state: BalancerState) -> None:
        if self._closed:
            return
        ready = [
            child
            for child in child_states_from_picker(state.picker) or ()
            if child.state.state is State.READY
        ]
        # LR-9: a count lives exactly while its endpoint stays READY.
        keys = {child.key for child in ready}
        self._counters = {key: c for key, c in self._counters.items() if key in keys}
        if not ready:
            self._cc.update_state(state)  # LR-6: round_robin passes through
            return
        targets = []
        for child in ready:
            counter = self._counters.get(child.key)
            if counter is None:
                counter = self._counters[child.key] = OutstandingCounter()
            targets.append(PickTarget(child.state.picker, counter))
        picker = self.picker_type(
            targets, self._choice_count, self._options.random, self._selection
        )
        self._cc.update_state(BalancerState(State.READY, picker))


class LeastRequestBuilder(Builder, ConfigParser):
    """Builds least_request_experimental; ``selection`` is the LR-11 spec option.

    ``balancer_type`` is what it builds; a planted bug (conformance/planted.py) swaps it.
    """

    name = NAME
    balancer_type: ClassVar[type[LeastRequestBalancer]] = LeastRequestBalancer

    def __init__(self, selection: Selection = Selection.SAMPLE) -> None:
        self.selection = selection

    def build(self, cc: ClientConn, options: BuildOptions) -> Balancer:
        child = registry.get(CHILD_POLICY)
        if child is None:
            raise BalancerError(
                f"{NAME} needs the {CHILD_POLICY!r} policy, which is not registered"
            )
        return self.balancer_type(cc, options, child, self.selection)

    def parse_config(self, config: JsonValue) -> LeastRequestConfig:
        return parse_config(config)


registry.register(LeastRequestBuilder())
