"""What the benchmarks run: set-ups (untimed) and timed loops, free of any benchmark tool.

Every ``time_*`` function takes a loop count, does its set-up first, and returns
the seconds the timed part took, which is the shape ``pyperf``'s
``bench_time_func`` expects; ``bench/suite.py`` registers them and
``tests/bench`` runs each once at a small size so that a change to ``refimpl``
that breaks a benchmark is caught by ``make check`` (no timing is asserted).

Set-ups drive the policies through :class:`refimpl.driver.Driver`, as the tests
do, so every benchmark measures a balancer that reached its state through the
public event path.  One shortcut, in set-up only: :func:`one_report_per_sharding`
(see there).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import itertools
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import attrs

from conformance import wire
from conformance.adapters.inprocess import refimpl_transport
from conformance.cases import CASES_DIR, Case, load_cases
from conformance.results import Outcome
from conformance.runner import run_cases
from conformance.transport import SubprocessTransport, Transport
from refimpl import registry
from refimpl.balancer import Picker, PickInfo
from refimpl.driver import Driver, FakeSubConn
from refimpl.endpoint_sharding import EndpointSharding, EndpointShardingPicker
from spec import events as ev
from spec.connectivity import State
from spec.types import Duration, Endpoint, OrcaLoadReport, Status, StatusCode

PICK_INFO = PickInfo("/grpc.testing.TestService/UnaryCall")
UNROLL = 10  # calls per loop iteration in call-cost loops, so the loop's own cost is ~1/10th

# --- The floor: an empty Python method call, timed by the same loop as a pick ---


class EmptyPicker:
    """A method with a pick's signature that does nothing: the cheapest possible pick."""

    def pick(self, info: PickInfo) -> None:
        return None


def time_calls(target: Picker | EmptyPicker, loops: int) -> float:
    """``target.pick(info)`` ``UNROLL * loops`` times (``inner_loops=UNROLL`` per loop)."""
    p, info = target, PICK_INFO
    start = time.perf_counter()
    for _ in itertools.repeat(None, loops):
        p.pick(info)
        p.pick(info)
        p.pick(info)
        p.pick(info)
        p.pick(info)
        p.pick(info)
        p.pick(info)
        p.pick(info)
        p.pick(info)
        p.pick(info)
    return time.perf_counter() - start


def time_floor(loops: int) -> float:
    return time_calls(EmptyPicker(), loops)


# --- Policies at N READY endpoints ---


def endpoints(n: int, offset: int = 0) -> list[Endpoint]:
    """``n`` distinct single-address endpoints (10.x.y.z:443)."""
    return [
        Endpoint([f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}:443"])
        for i in range(offset, offset + n)
    ]


@attrs.frozen(eq=False)  # hashed by identity (ready_driver's cache key); config is a dict
class PolicySetup:
    """How to bring one policy to READY: its name, its JSON config, and extra steps."""

    name: str
    config: Any = None
    # Run after every subchannel is READY (e.g. feed load reports); gets the driver.
    warm: Callable[[Driver], None] | None = None
    # True when every endpoint gets its own READY subchannel (not pick_first).
    per_endpoint: bool = True


def weigh_by_oob_reports(driver: Driver) -> None:
    """Give every READY endpoint an out-of-band load report, then let the weights apply.

    Seven distinct weights (qps 100..400 at utilization 0.5), so the scheduler is
    a real weighted one, not its round-robin fallback (WRR-13).
    """
    for sc in list(driver.live_subchannels()):
        if sc.state is State.READY and sc.oob_listeners:
            report = OrcaLoadReport(
                application_utilization=0.5, rps_fractional=100.0 + sc.ident % 7 * 50
            )
            driver.step(ev.OobLoadReport(sc.ident, report))
    # Past the blackout period, and one weight update period for the scheduler rebuild.
    driver.step(ev.TimeAdvanced(Duration.of(seconds=2)))


POLICIES: tuple[PolicySetup, ...] = (
    PolicySetup("pick_first", per_endpoint=False),
    PolicySetup("round_robin"),
    PolicySetup(
        "weighted_round_robin",
        config={
            "enableOobLoadReport": True,
            "oobReportingPeriod": "1s",
            "blackoutPeriod": "1s",
            "weightUpdatePeriod": "1s",
            # Weights never expire during a run: time_scheduler advances time by the
            # second, and expired weights would fall back to plain round robin.
            "weightExpirationPeriod": "100000000s",
        },
        warm=weigh_by_oob_reports,
    ),
    PolicySetup("least_request_experimental", config={"choiceCount": 2}),
)


def available_policies() -> tuple[PolicySetup, ...]:
    """The benchmarked policies this checkout registers (the same answer in every worker)."""
    names = set(registry.names())
    return tuple(p for p in POLICIES if p.name in names)


@contextlib.contextmanager
def one_report_per_sharding() -> Iterator[None]:
    """Set-up only: each :class:`EndpointSharding` reports once, when the block ends.

    Bringing N endpoints to READY one event at a time rebuilds the picker after
    every child change (RR-11), which is O(N) each and O(N^2) in all: minutes at
    10,000 endpoints.  Inside this block a sharding balancer only notes that it
    owes a report; at the end each pays it once, from the same children, so the
    final state and picker are those the event-by-event path reaches.  Nothing
    timed ever runs inside this block.
    """
    owed: dict[int, EndpointSharding] = {}
    original = EndpointSharding._report

    def note(self: EndpointSharding) -> None:
        owed[id(self)] = self

    EndpointSharding._report = note  # type: ignore[method-assign]
    try:
        yield
    finally:
        EndpointSharding._report = original  # type: ignore[method-assign]
    for sharding in owed.values():
        sharding._report()


def _connecting(driver: Driver) -> list[FakeSubConn]:
    return [sc for sc in driver.live_subchannels() if sc.connect_requested]


@functools.cache
def ready_driver(policy: PolicySetup, n: int, *, health_checking: bool = False) -> Driver:
    """A driver whose ``policy`` balancer has ``n`` endpoints, each READY (and healthy).

    Cached: a benchmark's time function is called once per value, and the set-up
    at 10,000 endpoints takes seconds.  Every benchmark leaves the driver as it
    found it (READY, same endpoints), so reuse does not change what is measured.
    """
    driver = Driver(policy.name, seed=n, health_checking=health_checking)
    with one_report_per_sharding():
        driver.step(ev.ResolverUpdate(endpoints(n), config=policy.config))
        while pending := _connecting(driver):
            for sc in pending:
                driver.step(ev.SubchannelStateChange(sc.ident, State.CONNECTING))
                driver.step(ev.SubchannelStateChange(sc.ident, State.READY))
        if health_checking:
            for sc in list(driver.live_subchannels()):
                if sc.health_listener is not None:
                    driver.step(ev.HealthStateChange(sc.ident, State.READY))
    if policy.warm is not None:
        policy.warm(driver)
    expected = n if policy.per_endpoint else 1
    ready = [sc for sc in driver.live_subchannels() if sc.state is State.READY]
    if driver.state is not State.READY or len(ready) != expected:
        raise RuntimeError(
            f"set-up: {policy.name} at {n} endpoints is {driver.state.name} with "
            f"{len(ready)} READY subchannels, expected {expected}"
        )
    return driver


def ready_picker(policy: PolicySetup, n: int) -> Picker:
    picker = ready_driver(policy, n).picker
    assert picker is not None
    return picker


def time_pick(policy: PolicySetup, n: int, loops: int) -> float:
    """One pick on the READY picker of ``policy`` over ``n`` endpoints (per call)."""
    return time_calls(ready_picker(policy, n), loops)


# --- Scaling: rebuilds and resolver updates at N endpoints ---


@contextlib.contextmanager
def paused_collector(paused: bool = True) -> Iterator[None]:
    """Pause the cyclic garbage collector while timing, as the stdlib's timeit does.

    The scaling benchmarks measure the policy's own work.  Left running, CPython's
    full collections traverse the whole heap, and their cost per object grows with
    the heap (cache misses), so the collector alone makes a first update at 10,000
    endpoints superlinear; ``update_new_gc`` measures that share separately.
    """
    was_enabled = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def time_rebuild(policy: PolicySetup, n: int, loops: int) -> float:
    """One child health change (READY <-> TRANSIENT_FAILURE) on ``n`` READY endpoints.

    Each step changes which children the picker rotates over, so the policy
    rebuilds its picker (round_robin: RR-11) and scheduler (weighted policies):
    the cost a balancer pays for every connectivity change of one backend.
    """
    driver = ready_driver(policy, n, health_checking=True)
    flip = next(sc.ident for sc in driver.live_subchannels() if sc.health_listener is not None)
    down = ev.HealthStateChange(flip, State.TRANSIENT_FAILURE, Status(StatusCode.UNAVAILABLE, "x"))
    up = ev.HealthStateChange(flip, State.READY)
    step = driver.step
    with paused_collector():
        start = time.perf_counter()
        for _ in itertools.repeat(None, loops):
            step(down)
            step(up)
        elapsed = time.perf_counter() - start
    _check_rebuilt(driver, n)
    return elapsed


WEIGHT_UPDATE_PERIOD = Duration.of(seconds=1)  # weighted_round_robin's, in POLICIES


def time_scheduler(policy: PolicySetup, n: int, loops: int) -> float:
    """weighted_round_robin's periodic scheduler rebuild at ``n`` READY endpoints (WRR-12).

    Each step advances virtual time by the weight update period; the timer
    rebuilds the scheduler from every endpoint's current weight.
    """
    driver = ready_driver(policy, n)
    tick = ev.TimeAdvanced(WEIGHT_UPDATE_PERIOD)
    step = driver.step
    with paused_collector():
        start = time.perf_counter()
        for _ in itertools.repeat(None, loops):
            step(tick)
        elapsed = time.perf_counter() - start
    return elapsed


def _check_rebuilt(driver: Driver, n: int) -> None:
    picker = driver.picker
    if isinstance(picker, EndpointShardingPicker) and len(picker.child_states) != n:
        raise RuntimeError(f"rebuild: the picker has {len(picker.child_states)} children, not {n}")


# --- Resolver updates at N endpoints ---


def time_update_new(policy: PolicySetup, n: int, loops: int, *, collector: bool = False) -> float:
    """A first resolver update of ``n`` endpoints on a fresh balancer (builds every child).

    ``collector``: leave the garbage collector running while timing.
    """
    update = ev.ResolverUpdate(endpoints(n), config=policy.config)
    elapsed = 0.0
    driver: Driver | None = None
    for _ in range(loops):
        driver = None
        if collector:
            # The previous balancer is cyclic garbage (children hold their parent): free
            # it now, untimed, or the collector would charge its N children to this update.
            gc.collect()
        driver = Driver(policy.name, seed=n)
        with paused_collector(not collector):
            start = time.perf_counter()
            driver.step(update)
            elapsed += time.perf_counter() - start
    return elapsed


def time_update_same(policy: PolicySetup, n: int, loops: int) -> float:
    """A resolver update repeating the ``n`` endpoints of a READY balancer (re-resolution)."""
    driver = ready_driver(policy, n)
    update = ev.ResolverUpdate(endpoints(n), config=policy.config)
    with paused_collector():
        start = time.perf_counter()
        for _ in range(loops):
            driver.step(update)
        elapsed = time.perf_counter() - start
    if driver.state is not State.READY:
        raise RuntimeError(f"update_same: {policy.name} left READY")
    return elapsed


# --- Concurrent picks ---

THREADS = 4


def time_threads(policy: PolicySetup, n: int, threads: int, loops: int) -> float:
    """``threads`` threads each calling ``pick`` ``UNROLL * loops`` times on one picker.

    Per pick: pass ``inner_loops=threads * UNROLL``; throughput is its inverse.
    """
    picker = ready_picker(policy, n)
    barrier = threading.Barrier(threads + 1)

    def picking() -> None:
        barrier.wait()
        time_calls(picker, loops)

    workers = [threading.Thread(target=picking) for _ in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()  # every thread is started and waiting: only picking is timed
    start = time.perf_counter()
    for worker in workers:
        worker.join()
    return time.perf_counter() - start


# --- The conformance corpus ---


def _case_count() -> int:
    # The corpus's size without loading it (conformance.cases.case_files: one file a case).
    return sum(1 for _ in CASES_DIR.glob("*/*.json"))


# Cases per run: the whole corpus.  suite.py divides each run by this (inner_loops).
CORPUS_CASES = _case_count()


@functools.cache
def corpus() -> list[Case]:
    """The whole corpus, as ``make conformance`` runs it (loaded before any timing).

    A fresh adapter pays its start once per run, so a smaller sample would weigh the
    start more than a real run does; a run takes about 0.3 s in-process and 0.6 s
    through a fresh adapter (158 cases when this was written).
    """
    cases = load_cases(CASES_DIR)
    if len(cases) != CORPUS_CASES:
        raise RuntimeError(f"loaded {len(cases)} cases, counted {CORPUS_CASES} case files")
    return cases


ADAPTER_COMMAND = (sys.executable, "-m", "conformance.adapters.refimpl")


class _KeptOpen(Transport):
    """A started subprocess adapter that outlives one ``run_cases`` call."""

    def __init__(self, inner: SubprocessTransport) -> None:
        self.inner = inner

    def request(self, message: wire.JsonObject, timeout: float) -> wire.JsonObject:
        return self.inner.request(message, timeout)

    def submit(self, message: wire.JsonObject) -> None:
        self.inner.submit(message)

    def collect(self, timeout: float) -> wire.JsonObject:
        return self.inner.collect(timeout)

    def send(self, message: wire.JsonObject) -> None:
        self.inner.send(message)

    def close(self) -> None:
        """The runner's close: the process stays for the next run."""

    def stderr_tail(self) -> str:
        return self.inner.stderr_tail()


def _run_corpus(cases: list[Case], connect: Callable[[], Transport]) -> None:
    results, _hello = run_cases(cases, connect)
    bad = [r for r in results if r.outcome is not Outcome.PASS]
    if bad:
        raise RuntimeError(f"corpus: {len(bad)} cases did not pass, e.g. {bad[0]}")


def time_corpus_in_process(loops: int) -> float:
    """The whole corpus in-process, per case (``inner_loops=len(corpus())``)."""
    cases = corpus()
    start = time.perf_counter()
    for _ in range(loops):
        _run_corpus(cases, refimpl_transport)
    return time.perf_counter() - start


def time_corpus_subprocess(loops: int) -> float:
    """The whole corpus through a fresh adapter process per run, as ``make conformance`` does."""
    cases = corpus()
    start = time.perf_counter()
    for _ in range(loops):
        _run_corpus(cases, lambda: SubprocessTransport(ADAPTER_COMMAND))
    return time.perf_counter() - start


@functools.cache
def started_adapter() -> _KeptOpen:
    """One adapter process for this worker, warmed by a first run (imports, policies).

    It is never closed: it exits when the worker does and its stdin closes.
    """
    kept = _KeptOpen(SubprocessTransport(ADAPTER_COMMAND))
    _run_corpus(corpus(), lambda: kept)
    return kept


def time_corpus_subprocess_started(loops: int) -> float:
    """The corpus through an adapter process started before timing (the protocol's cost)."""
    cases, kept = corpus(), started_adapter()
    start = time.perf_counter()
    for _ in range(loops):
        _run_corpus(cases, lambda: kept)
    return time.perf_counter() - start


# --- Exhaustive exploration (conformance/explore.py), in-process ---

# (policy, endpoints, depth, config): pick_first's many small states, and
# weighted_round_robin's fewer, costlier ones (schedulers, timers), deep enough that a
# path is several inputs long (issue 18).
EXPLORE_BOUNDS: dict[str, tuple[str, int, int, str | None]] = {
    "pick_first_k3_d4": ("pick_first", 3, 4, None),
    "weighted_round_robin_k2_d6": ("weighted_round_robin", 2, 6, None),
}


def time_explore(subject: str, fork: bool, loops: int) -> float:
    """One whole exploration, coverage off; ``fork``: each state's path replayed once and
    the run copied per next input, else every path replayed (explore's two ways)."""
    from conformance.explore import Bounds, Target, explore

    policy, endpoints, depth, config = EXPLORE_BOUNDS[subject]
    bounds = Bounds(policy, endpoints, depth, config=config)
    start = time.perf_counter()
    for _ in range(loops):
        explore(bounds, Target(), cover=False, fork_in_process=fork)
    return time.perf_counter() - start
