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


# The lock of counters made without one (tests build pickers from such).
_SHARED_LOCK = threading.Lock()


class OutstandingCounter:
    """One endpoint's outstanding RPCs (LR-8).  Picks and Dones change it from any thread.

    The count itself is an item of a list: when a picker is built over the
    endpoint, the count moves into that picker's list, where every count of the
    picker sits side by side in the picker's order.  A pick reads
    ``choiceCount`` counts of endpoints drawn at random; as one object per
    endpoint they lie all over the heap, and at thousands of endpoints each read
    was a cache miss (README, Benchmarks).  The list a count leaves keeps None
    in its place, so an older picker that still picks finds the count through
    the counter.  Every change and every move is made under ``lock``, shared by
    the counters of one balancer.

    A count never moves to a picker built after its endpoint left READY: the
    balancer makes a new counter when the endpoint is READY again, and the Dones
    of RPCs picked before still hold the old one (LR-9).
    """

    __slots__ = ("_at", "lock")

    def __init__(self, lock: threading.Lock | None = None) -> None:
        self.lock = _SHARED_LOCK if lock is None else lock
        self._at: tuple[list[int | None], int] = ([0], 0)  # the list and index of the count

    @property
    def value(self) -> int:
        with self.lock:
            counts, index = self._at
            value = counts[index]
        assert value is not None  # None is only ever left in a list the count moved out of
        return value

    def add(self, delta: int) -> None:
        with self.lock:
            self.add_locked(delta)

    def add_locked(self, delta: int) -> None:
        """:meth:`add` for a caller that holds ``lock``."""
        counts, index = self._at
        value = counts[index]
        assert value is not None
        counts[index] = value + delta

    def move_locked(self, counts: list[int | None], index: int) -> None:
        """Move the count to ``counts[index]``, leaving None where it was; hold ``lock``."""
        old, old_index = self._at
        counts[index], old[old_index] = old[old_index], None
        self._at = (counts, index)


def _counted_done(
    counter: OutstandingCounter, child_done: Callable[[DoneInfo], None] | None
) -> Callable[[DoneInfo], None]:
    """The Done of an RPC picked on ``counter``'s endpoint: one count down, then the child's."""

    def done(done_info: DoneInfo) -> None:
        counter.add(-1)  # whatever the status (LR-8)
        if child_done is not None:
            child_done(done_info)

    return done


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
        return fixed.with_done(_counted_done(self.counter, fixed.done))


class LeastRequestPicker(Picker):
    """Chooses the endpoint with the fewest outstanding RPCs among random samples (LR-7).

    Building the picker moves its endpoints' counts into its own list
    (:class:`OutstandingCounter`), and the result of a pick comes from
    ``_results`` when the child's is ready made (:class:`PickTarget`): a pick then
    reads one list and one tuple by index and returns one result object,
    whatever the number of endpoints (README, Benchmarks).
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
        self._lock = self.targets[0].counter.lock
        if any(t.counter.lock is not self._lock for t in self.targets):
            raise ValueError("a least-request picker's counters must share one lock")
        self._results = tuple(t.counted_result for t in self.targets)
        # The targets' counts, by index; None once a count has moved to a newer picker.
        self._counts: list[int | None] = [None] * len(self.targets)
        with self._lock:
            for index, target in enumerate(self.targets):
                target.counter.move_locked(self._counts, index)

    def count(self, index: int) -> int:
        """The outstanding RPCs of the endpoint at ``index``."""
        count = self._counts[index]
        return self.targets[index].counter.value if count is None else count

    def choose(self) -> int:
        """The index in ``targets`` of the endpoint for the next pick (LR-7, or LR-11)."""
        counts = self._counts
        if self.selection is Selection.FULL_SCAN:
            return min(range(len(counts)), key=self.count)  # the first minimum
        n, randrange = len(counts), self._rng.randrange
        chosen = randrange(n)
        fewest = counts[chosen]
        if fewest is None:  # what self.count does, written out on the common path
            fewest = self.targets[chosen].counter.value
        for _ in range(self.choice_count - 1):
            sample = randrange(n)
            outstanding = counts[sample]
            if outstanding is None:
                outstanding = self.targets[sample].counter.value
            if outstanding < fewest:  # strictly: a tie keeps the earlier sample
                chosen, fewest = sample, outstanding
        return chosen

    def pick(self, info: PickInfo) -> PickResult:
        index = self.choose()
        counted = self._results[index]
        if counted is None:
            return self._pick_child(index, info)
        with self._lock:  # LR-8: the ready-made result (PickTarget) is a completed pick
            count = self._counts[index]
            if count is None:  # the count moved on to a newer picker
                self.targets[index].counter.add_locked(1)
            else:
                self._counts[index] = count + 1
        return counted

    def _pick_child(self, index: int, info: PickInfo) -> PickResult:
        target = self.targets[index]
        result = target.picker.pick(info)
        if not isinstance(result, Complete):
            return result  # only a completed pick counts (LR-8)
        target.counter.add(1)
        return result.with_done(_counted_done(target.counter, result.done))


# --- The balancer: endpointsharding underneath, counts on top ---


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
        self._counts_lock = threading.Lock()  # every counter of this balancer's (LR-8)
        self._counters: dict[frozenset[str], OutstandingCounter] = {}  # LR-9
        # The last target made per endpoint, reused while its picker and counter are the
        # same: a rebuild then allocates only for endpoints that changed (README, Benchmarks).
        self._targets: dict[frozenset[str], PickTarget] = {}
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
        self._targets = {}

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
            self._targets = {}
            self._cc.update_state(state)  # LR-6: round_robin passes through
            return
        targets: dict[frozenset[str], PickTarget] = {}
        for child in ready:
            key, child_picker = child.key, child.state.picker
            counter = self._counters.get(key)
            if counter is None:
                counter = self._counters[key] = OutstandingCounter(self._counts_lock)
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
