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
from collections.abc import Callable, Sequence

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
    NewSubConnOptions,
    Picker,
    PickInfo,
    PickResult,
    RandomSource,
    SubConn,
)
from refimpl.endpointsharding import EndpointSharding, child_states_from_picker
from refimpl.pickfirst import enable_health_listener
from spec.connectivity import State
from spec.types import Address, Status

NAME = "least_request_experimental"
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


class OutstandingCounts:
    """The outstanding-RPC counts of many endpoints, in one flat list (LR-8).

    Why one list: a pick reads ``choiceCount`` counts of endpoints drawn at
    random.  Kept as one object per endpoint they lie all over the heap, and at
    thousands of endpoints each read is a cache miss; in one list they take 8
    bytes each, side by side (README, Benchmarks).  Each endpoint's count lives
    in a *slot* owned by one :class:`OutstandingCounter`.  Reads take no lock (a
    list item is read whole); every change is made under the one lock.

    A slot is reused only once its counter object is gone, that is when no
    balancer, picker or pending Done refers to it any more, so an old picker or
    the Done of an RPC picked before can never touch another endpoint's count
    (LR-9).
    """

    __slots__ = ("_free", "lock", "values")

    def __init__(self) -> None:
        self.values: list[int] = []  # by slot; only ever grows, in place
        self.lock = threading.Lock()
        self._free: list[int] = []  # slots whose counter is gone

    def add(self, slot: int, delta: int) -> None:
        with self.lock:
            self.values[slot] += delta

    def _claim(self) -> int:
        with self.lock:
            if self._free:
                slot = self._free.pop()
                self.values[slot] = 0
                return slot
            self.values.append(0)
            return len(self.values) - 1

    def _release(self, slot: int) -> None:
        # Called from OutstandingCounter.__del__, which may run in any thread at any
        # point, also while this thread holds the lock: so no lock here.  list.append
        # is atomic, and nobody can read or change a slot whose counter is gone.
        self._free.append(slot)


# Where counters made without a store keep their counts (tests build pickers from such).
_SHARED_COUNTS = OutstandingCounts()


class OutstandingCounter:
    """One endpoint's outstanding RPCs (LR-8): its slot in an :class:`OutstandingCounts`.

    Picks and Dones change it from any thread.  The slot is freed when the
    counter is (see :class:`OutstandingCounts`).
    """

    __slots__ = ("counts", "slot")

    def __init__(self, counts: OutstandingCounts | None = None) -> None:
        self.counts = _SHARED_COUNTS if counts is None else counts
        self.slot = self.counts._claim()

    def __del__(self) -> None:
        self.counts._release(self.slot)

    @property
    def value(self) -> int:
        return self.counts.values[self.slot]

    def add(self, delta: int) -> None:
        self.counts.add(self.slot, delta)


def _counted_done(
    counter: OutstandingCounter, child_done: Callable[[DoneInfo], None] | None
) -> Callable[[DoneInfo], None]:
    """The Done of an RPC picked on ``counter``'s endpoint: one count down, then the child's."""

    def done(done_info: DoneInfo) -> None:
        counter.add(-1)  # whatever the status (LR-8)
        if child_done is not None:
            child_done(done_info)

    return done


def _with_done(result: Complete, done: Callable[[DoneInfo], None]) -> Complete:
    # The child's result with ``done`` wrapped.  Built directly rather than with
    # attrs.evolve, which costs about a microsecond; Complete's fields are exactly
    # these three (tests/refimpl/test_leastrequest.py checks).
    return Complete(result.subconn, done, result.metadata)


@attrs.frozen
class PickTarget:
    """A READY endpoint as the picker sees it: its child's picker and its counter."""

    picker: Picker
    counter: OutstandingCounter
    # When the child's picker has a fixed Complete (``Picker.fixed_result``): that
    # Complete with its Done counting this endpoint down, made once here, so a pick
    # allocates nothing and never touches the child (README, Benchmarks).  One Complete
    # serves many RPCs: its Done holds no per-RPC state, each RPC's Done counts down once.
    counted_result: Complete | None = attrs.field(init=False, eq=False, repr=False)

    @counted_result.default
    def _count_the_fixed_result(self) -> Complete | None:
        fixed = self.picker.fixed_result
        if not isinstance(fixed, Complete):
            return None
        return _with_done(fixed, _counted_done(self.counter, fixed.done))


class LeastRequestPicker(Picker):
    """Chooses the endpoint with the fewest outstanding RPCs among random samples (LR-7).

    The counts are read from their flat list (:class:`OutstandingCounts`) through
    ``_slots``, and the result of a pick comes from ``_results`` when the child's
    is fixed: a pick then reads three flat tuples and lists and one result
    object, whatever the number of endpoints (README, Benchmarks).
    """

    def __init__(
        self,
        targets: Sequence[PickTarget],
        choice_count: int,
        rng: RandomSource,
        selection: Selection = Selection.SAMPLE,
    ) -> None:
        if not targets:
            raise ValueError("a least-request picker needs at least one READY endpoint")
        self.targets = tuple(targets)
        self.choice_count = choice_count
        self._rng = rng
        self.selection = selection
        counts = self.targets[0].counter.counts
        if any(t.counter.counts is not counts for t in self.targets):
            raise ValueError("a least-request picker's counters must share one OutstandingCounts")
        self._counts = counts
        self._values = counts.values  # the list itself: it only grows, in place
        self._slots = tuple(t.counter.slot for t in self.targets)
        self._results = tuple(t.counted_result for t in self.targets)

    def choose(self) -> int:
        """The index in ``targets`` of the endpoint for the next pick (LR-7, or LR-11)."""
        values, slots = self._values, self._slots
        if self.selection is Selection.FULL_SCAN:
            return min(range(len(slots)), key=lambda i: values[slots[i]])  # the first minimum
        n, randrange = len(slots), self._rng.randrange
        chosen = randrange(n)
        fewest = values[slots[chosen]]
        for _ in range(self.choice_count - 1):
            sample = randrange(n)
            outstanding = values[slots[sample]]
            if outstanding < fewest:  # strictly: a tie keeps the earlier sample
                chosen, fewest = sample, outstanding
        return chosen

    def pick(self, info: PickInfo) -> PickResult:
        index = self.choose()
        counted = self._results[index]
        if counted is not None:  # the child's fixed Complete, counted (PickTarget)
            self._counts.add(self._slots[index], 1)  # LR-8
            return counted
        target = self.targets[index]
        result = target.picker.pick(info)
        if not isinstance(result, Complete):
            return result  # only a completed pick counts (LR-8)
        target.counter.add(1)
        return _with_done(result, _counted_done(target.counter, result.done))


# --- The balancer: endpointsharding underneath, counts on top ---


class _ShardingConn(ClientConn):
    """The ClientConn endpointsharding sees: its state reports go through us."""

    def __init__(self, balancer: LeastRequestBalancer) -> None:
        self._balancer = balancer

    def new_subconn(self, addresses: tuple[Address, ...], options: NewSubConnOptions) -> SubConn:
        return self._balancer._cc.new_subconn(addresses, options)

    def update_state(self, state: BalancerState) -> None:
        self._balancer._on_sharding_state(state)

    def resolve_now(self) -> None:
        self._balancer._cc.resolve_now()


class LeastRequestBalancer(Balancer):
    """least_request_experimental over endpointsharding (grpc-go leastRequestBalancer)."""

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
        self._store = OutstandingCounts()  # this balancer's counts, one slot per endpoint
        self._counts: dict[frozenset[str], OutstandingCounter] = {}  # LR-9
        # The last target made per endpoint, reused while its picker and counter are the
        # same: a rebuild then allocates only for endpoints that changed (README, Benchmarks).
        self._targets: dict[frozenset[str], PickTarget] = {}
        self._closed = False
        self._sharding = EndpointSharding(_ShardingConn(self), options, child_builder)

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
        self._counts = {}
        self._targets = {}

    def outstanding(self) -> dict[frozenset[str], int]:
        """Each READY endpoint's count, by endpoint identity (for tests and debugging)."""
        return {key: counter.value for key, counter in self._counts.items()}

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
        self._counts = {key: c for key, c in self._counts.items() if key in keys}
        if not ready:
            self._targets = {}
            self._cc.update_state(state)  # LR-6: round_robin passes through
            return
        targets: dict[frozenset[str], PickTarget] = {}
        for child in ready:
            key, child_picker = child.key, child.state.picker
            counter = self._counts.get(key)
            if counter is None:
                counter = self._counts[key] = OutstandingCounter(self._store)
            target = self._targets.get(key)
            if target is None or target.picker is not child_picker or target.counter is not counter:
                target = PickTarget(child_picker, counter)
            targets[key] = target
        self._targets = targets
        picker = LeastRequestPicker(
            list(targets.values()), self._choice_count, self._options.random, self._selection
        )
        self._cc.update_state(BalancerState(State.READY, picker))


class LeastRequestBuilder(Builder, ConfigParser):
    """Builds least_request_experimental; ``selection`` is the LR-11 spec option."""

    name = NAME

    def __init__(self, selection: Selection = Selection.SAMPLE) -> None:
        self.selection = selection

    def build(self, cc: ClientConn, options: BuildOptions) -> Balancer:
        child = registry.get(CHILD_POLICY)
        if child is None:
            raise BalancerError(
                f"{NAME} needs the {CHILD_POLICY!r} policy, which is not registered"
            )
        return LeastRequestBalancer(cc, options, child, self.selection)

    def parse_config(self, config: JsonValue) -> LeastRequestConfig:
        return parse_config(config)


registry.register(LeastRequestBuilder())
