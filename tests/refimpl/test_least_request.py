"""least_request_experimental: config, the sampling picker, and grpc-go's scripted cases.

The scripted cases restate grpc-go ``balancer/leastrequest/leastrequest_test.go``
(digest section 12), each named after the grpc-go test it restates.  grpc-go
stubs its random source; here the injected ``BuildOptions.random`` is scripted.
"""

from __future__ import annotations

import itertools
import json
import random
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Literal

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from refimpl.balancer import (
    QUEUE,
    BalancerError,
    Complete,
    ConfigError,
    DoneInfo,
    Picker,
    PickInfo,
    PickResult,
    SubConn,
)
from refimpl.clock import VirtualClock
from refimpl.driver import Driver
from refimpl.least_request import (
    LeastRequestBalancer,
    LeastRequestBuilder,
    LeastRequestConfig,
    LeastRequestPicker,
    OutstandingCounter,
    PickTarget,
    Selection,
    parse_config,
)
from refimpl.weighted_round_robin import (
    EndpointWeight,
    WeightedRoundRobinConfig,
    WeightedRoundRobinPicker,
    WeightedTarget,
)
from spec import actions as act
from spec import events as ev
from spec.connectivity import State
from spec.monitors.boundary import BoundaryMonitor
from spec.monitors.least_request import LeastRequestMonitor, parse_choice_count
from spec.trace import Step, judge
from spec.types import Address, Duration, Endpoint, Status, StatusCode, freeze_attributes

INFO = PickInfo("/grpc.testing.TestService/UnaryCall")


class ScriptedRandom:
    """A random source that returns scripted indices (grpc-go stubs randuint32 likewise)."""

    def __init__(self, values: Iterable[int]) -> None:
        self.values = list(values)
        self.drawn = 0

    def random(self) -> float:
        raise AssertionError("least_request draws indices only")

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        assert stop is None
        assert step == 1
        value = self.values[self.drawn % len(self.values)]
        self.drawn += 1
        return value % start

    def shuffle(self, x: list[object]) -> None:
        raise AssertionError("least_request never shuffles")


class NamedSubConn(SubConn):
    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def addresses(self) -> tuple[Address, ...]:
        return (Address(f"{self.name}:80"),)

    def connect(self) -> None:
        raise AssertionError("not used")

    def shutdown(self) -> None:
        raise AssertionError("not used")

    def register_health_listener(self, listener: object) -> None:
        raise AssertionError("not used")

    def register_oob_listener(self, listener: object, interval: Duration) -> Callable[[], None]:
        raise AssertionError("not used")


class ReadyChild(Picker):
    """A READY child's picker: completes on its SubConn and records its own Done calls."""

    def __init__(self, name: str) -> None:
        self.subconn = NamedSubConn(name)
        self.dones: list[DoneInfo] = []

    def pick(self, info: PickInfo) -> PickResult:
        return Complete(self.subconn, self.dones.append)


class FixedChild(Picker):
    """A READY child whose every pick returns one and the same Complete."""

    def __init__(self, name: str) -> None:
        self.subconn = NamedSubConn(name)
        self.dones: list[DoneInfo] = []
        self.picks = 0
        self.result: Complete = Complete(
            self.subconn, self.dones.append, freeze_attributes({"x-lb": name})
        )

    def pick(self, info: PickInfo) -> PickResult:
        self.picks += 1
        return self.result


class QueueingChild(Picker):
    def pick(self, info: PickInfo) -> PickResult:
        return QUEUE


def targets(n: int) -> tuple[list[ReadyChild], list[PickTarget]]:
    children = [ReadyChild(f"backend-{i}") for i in range(n)]
    return children, [PickTarget(c, OutstandingCounter()) for c in children]


def counts(picker: LeastRequestPicker) -> list[int]:
    return [t.counter.value for t in picker.targets]


def chosen(result: PickResult) -> str:
    assert isinstance(result, Complete)
    assert isinstance(result.subconn, NamedSubConn)
    return result.subconn.name


# --- config (grpc-go TestParseConfig) ---


@pytest.mark.req("LR-1")
def test_parse_config_default_choice_count() -> None:
    assert parse_config({}) == LeastRequestConfig(2)
    assert parse_config({"choiceCount": None, "somethingElse": [1]}) == LeastRequestConfig(2)


@pytest.mark.req("LR-1")
def test_parse_config_choice_count_set() -> None:
    assert parse_config({"choiceCount": 3}).choice_count == 3


@pytest.mark.req("LR-3")
def test_parse_config_choice_count_greater_than_ten() -> None:
    assert parse_config({"choiceCount": 11}).choice_count == 10
    assert parse_config({"choiceCount": 2**32 - 1}).choice_count == 10


@pytest.mark.req("LR-2")
@pytest.mark.parametrize("value", [0, 1])
def test_parse_config_choice_count_less_than_2(value: int) -> None:
    with pytest.raises(ConfigError, match="must be >= 2") as caught:
        parse_config({"choiceCount": value})
    assert caught.value.path == "choiceCount"


@pytest.mark.req("LR-4")
@pytest.mark.parametrize("value", ["3", 2.0, 2.5, True, [3], {"n": 3}, -1, 2**32])
def test_parse_config_wrong_type_names_the_field(value: object) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"choiceCount": value})
    assert caught.value.path == "choiceCount"
    assert repr(value) in str(caught.value) or str(value) in str(caught.value)


@pytest.mark.req("LR-4")
@pytest.mark.parametrize("raw", [None, [], "choiceCount", 3])
def test_parse_config_not_an_object(raw: object) -> None:
    with pytest.raises(ConfigError, match="must be a JSON object"):
        parse_config(raw)


@pytest.mark.req("LR-1", "LR-2", "LR-3", "LR-4")
@given(
    st.one_of(
        st.integers(min_value=-5, max_value=2**33),
        st.floats(allow_nan=False),
        st.booleans(),
        st.none(),
        st.text(max_size=3),
    )
)
def test_refimpl_and_spec_agree_on_every_choice_count(value: object) -> None:
    """The spec's parser (the monitor's) and the reference's accept and clamp alike."""
    raw = json.loads(json.dumps({"choiceCount": value}))
    try:
        expected: int | None = parse_choice_count(raw)
    except ValueError:
        expected = None
    try:
        got: int | None = parse_config(raw).choice_count
    except ConfigError:
        got = None
    assert got == expected


# --- the picker (LR-7, LR-8, LR-11) ---


@pytest.mark.req("LR-7")
def test_strictly_fewer_replaces_the_candidate_and_ties_keep_the_first() -> None:
    _, ts = targets(3)
    ts[0].counter.add(1)
    ts[1].counter.add(1)
    rng = ScriptedRandom([0, 1, 2, 1, 1, 0])
    picker = LeastRequestPicker(ts, 2, rng)
    assert chosen(picker.pick(INFO)) == "backend-0"  # samples 0, 1: tie keeps 0
    assert chosen(picker.pick(INFO)) == "backend-2"  # samples 2 (0), 1 (1): 2 stays
    assert chosen(picker.pick(INFO)) == "backend-1"  # samples 1 (1), 0 (2): 1 stays
    assert rng.drawn == 6  # exactly choiceCount samples per pick, with replacement


@pytest.mark.req("LR-8")
def test_count_rises_on_completion_and_falls_in_done_whatever_the_status() -> None:
    children, ts = targets(2)
    picker = LeastRequestPicker(ts, 2, ScriptedRandom([1, 1]))
    results = [picker.pick(INFO) for _ in range(3)]
    assert counts(picker) == [0, 3]
    statuses = [None, Status(StatusCode.UNAVAILABLE, "gone"), Status(StatusCode.CANCELLED)]
    for result, status in zip(results, statuses, strict=True):
        assert isinstance(result, Complete)
        assert result.done is not None
        result.done(DoneInfo(status))
    assert counts(picker) == [0, 0]
    assert [d.error for d in children[1].dones] == statuses  # the child's Done still runs


class _ChildWithMetadata(ReadyChild):
    def pick(self, info: PickInfo) -> PickResult:
        return Complete(self.subconn, self.dones.append, freeze_attributes({"x-lb": "a"}))


@pytest.mark.req("LR-8", "WRR-6")
def test_wrapped_picks_keep_every_field_of_the_childs_result() -> None:
    # Both pickers rebuild the child's Complete by hand to wrap its done callback; a
    # field added to Complete must be carried over there too.
    assert [f.name for f in attrs.fields(Complete)] == ["subconn", "done", "metadata"]
    child = _ChildWithMetadata("backend-0")
    least = LeastRequestPicker([PickTarget(child, OutstandingCounter())], 2, ScriptedRandom([0]))
    cfg = WeightedRoundRobinConfig()  # per-call load reports: done is wrapped
    weighted = WeightedRoundRobinPicker(
        [WeightedTarget(child, EndpointWeight(cfg))], cfg, VirtualClock(), start=0
    )
    for picker in (least, weighted):
        result = picker.pick(INFO)
        assert isinstance(result, Complete)
        assert result.subconn is child.subconn
        assert result.metadata == freeze_attributes({"x-lb": "a"})
        assert result.done is not None
        result.done(DoneInfo())
    assert len(child.dones) == 2  # the child's own done ran behind each wrapper


@pytest.mark.req("LR-8")
def test_a_pick_that_does_not_complete_is_not_counted() -> None:
    counter = OutstandingCounter()
    picker = LeastRequestPicker([PickTarget(QueueingChild(), counter)], 2, ScriptedRandom([0]))
    assert picker.pick(INFO) is QUEUE
    assert counter.value == 0


@pytest.mark.req("LR-11")
def test_full_scan_takes_the_first_global_minimum() -> None:
    _, ts = targets(3)
    for t, c in zip(ts, [2, 1, 1], strict=True):
        t.counter.add(c)
    rng = ScriptedRandom([0])
    picker = LeastRequestPicker(ts, 2, rng, Selection.FULL_SCAN)
    picks = [chosen(picker.pick(INFO)) for _ in range(4)]
    assert picks == ["backend-1", "backend-2", "backend-0", "backend-1"]
    assert rng.drawn == 0  # no randomness
    assert counts(picker) == [3, 3, 2]


@pytest.mark.req("LR-8", "LR-9")
def test_a_count_follows_its_endpoint_into_a_newer_picker() -> None:
    """Pickers share an endpoint's counter; an older one still counts right."""
    counter, child = OutstandingCounter(), FixedChild("a")
    old = LeastRequestPicker([PickTarget(child, counter)], 2, ScriptedRandom([0]))
    first = old.pick(INFO)
    new = LeastRequestPicker([PickTarget(child, counter)], 2, ScriptedRandom([0]))
    assert (counter.value, old.count(0), new.count(0)) == (1, 1, 1)
    second = old.pick(INFO)  # picked on the old picker after the new one was built
    new.pick(INFO)
    assert (counter.value, old.count(0), new.count(0)) == (3, 3, 3)
    for result in (first, second):
        assert isinstance(result, Complete)
        assert result.done is not None
        result.done(DoneInfo())
    assert counter.value == 1


@pytest.mark.req("LR-8")
def test_counts_stay_exact_under_concurrent_picks_dones_and_new_pickers() -> None:
    # What this catches: a count lost or doubled while new pickers are built over the
    # counters that older pickers and Dones still use.
    children = [FixedChild(f"backend-{i}") for i in range(4)]
    counters = [OutstandingCounter() for _ in children]

    def new_picker() -> LeastRequestPicker:
        return LeastRequestPicker(
            [PickTarget(c, n) for c, n in zip(children, counters, strict=True)],
            2,
            random.Random(len(children)),
        )

    pickers = [new_picker()]
    start = threading.Barrier(5)

    def calls() -> None:
        start.wait()
        for i in range(3000):
            result = pickers[-1 - i % min(2, len(pickers))].pick(
                INFO
            )  # the newest or the one before
            assert isinstance(result, Complete)
            assert result.done is not None
            result.done(DoneInfo())

    threads = [threading.Thread(target=calls) for _ in range(4)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, so that races get their chance
    try:
        for thread in threads:
            thread.start()
        start.wait()
        while any(thread.is_alive() for thread in threads):
            pickers.append(new_picker())  # counts move while RPCs come and go on old and new
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert [c.value for c in counters] == [0, 0, 0, 0]
    assert sum(len(c.dones) for c in children) == 4 * 3000


def test_a_picker_needs_an_endpoint() -> None:
    with pytest.raises(BalancerError, match="at least one READY endpoint"):
        LeastRequestPicker([], 2, ScriptedRandom([0]))


# --- grpc-go's scripted cases, through the driver ---


class Channel:
    """A driver running least_request, recording the trace for the monitors."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, endpoints: list[Endpoint], config: object):
        self.driver = Driver("least_request_experimental", seed=7)
        self.monkeypatch = monkeypatch
        self.trace: list[Step] = []
        self.next_pick = 1
        self.step(ev.ResolverUpdate(endpoints, config=config))

    def step(self, event: ev.Input) -> tuple[act.Output, ...]:
        outputs = self.driver.step(event)
        self.trace.append(Step(event, outputs))
        return outputs

    def subchannel(self, addr: str) -> int:
        (sc,) = [s.ident for s in self.driver.live_subchannels() if s.addresses[0].addr == addr]
        return sc

    def ready(self, addr: str) -> None:
        sc = self.subchannel(addr)
        self.step(ev.SubchannelStateChange(sc, State.CONNECTING))
        self.step(ev.SubchannelStateChange(sc, State.READY))

    def fail(self, addr: str) -> None:
        sc = self.subchannel(addr)
        self.step(ev.SubchannelStateChange(sc, State.CONNECTING))
        self.step(ev.SubchannelStateChange(sc, State.TRANSIENT_FAILURE, ERROR))

    def script(self, indices: list[int]) -> ScriptedRandom:
        """From now on the policy's random source returns these (grpc-go stubs randuint32)."""
        scripted = ScriptedRandom(indices)
        self.monkeypatch.setattr(self.driver.random, "randrange", scripted.randrange)
        return scripted

    def pick(self) -> tuple[int, str]:
        """One pick; returns its id and the address it went to."""
        pick_id = self.next_pick
        self.next_pick += 1
        (outcome,) = self.step(ev.Pick(pick_id))
        assert isinstance(outcome, act.PickComplete), outcome
        return pick_id, self.driver.subconns[outcome.subchannel].addresses[0].addr

    def call(self) -> str:
        """A unary RPC: picked and done at once."""
        pick_id, addr = self.pick()
        self.step(ev.Done(pick_id))
        return addr

    def judged(self, selection: Literal["sample", "full_scan"] = "sample") -> list[str]:
        trace = [*self.trace, Step(ev.Close(), self.driver.step(ev.Close()))]
        return [
            str(v)
            for make in (BoundaryMonitor, lambda: LeastRequestMonitor(selection=selection))
            for v in judge(make, trace)
        ]


ERROR = Status(StatusCode.UNAVAILABLE, "connection refused")
ADDRS = [f"10.0.0.{i}:80" for i in range(1, 7)]


@pytest.mark.req("LR-6", "LR-7", "LR-8")
def test_least_request_e2e(monkeypatch: pytest.MonkeyPatch) -> None:
    """grpc-go TestLeastRequestE2E: strictly fewer wins, ties keep the first sample."""
    lr = Channel(monkeypatch, [Endpoint([a]) for a in ADDRS[:3]], {"choiceCount": 2})
    for addr in ADDRS[:3]:
        lr.ready(addr)
    scripted = lr.script([0, 0, 1, 1, 2, 2])
    at_index = [lr.call() for _ in range(3)]  # learn which endpoint each index names
    assert sorted(at_index) == ADDRS[:3]
    scripted.values = [0, 0, 0, 1, 1, 2, 0, 3, 1, 0, 2, 0, 0, 0, 2, 2, 2, 1]
    scripted.drawn = 0
    streams = [lr.pick()[1] for _ in range(9)]  # never done: each one stays outstanding
    assert streams == [at_index[i] for i in [0, 1, 2, 0, 1, 2, 0, 2, 1]]
    assert lr.judged() == []


@pytest.mark.req("LR-3", "LR-9")
def test_least_request_persists_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    """grpc-go TestLeastRequestPersistsCounts: counts survive a new picker and config."""
    lr = Channel(monkeypatch, [Endpoint([a]) for a in ADDRS[:2]], {"choiceCount": 2})
    for addr in ADDRS[:2]:
        lr.ready(addr)
    lr.script([0, 0, 1, 1])
    first = Counter(lr.pick()[1] for _ in range(50))
    assert first == {ADDRS[0]: 25, ADDRS[1]: 25}
    everything = [Endpoint([a]) for a in ADDRS[:3]]
    lr.step(ev.ResolverUpdate(everything, config={"choiceCount": 3}))
    lr.ready(ADDRS[2])
    lr.script([0, 1, 2, 3, 4, 5])  # every pick samples all three endpoints
    assert {lr.pick()[1] for _ in range(25)} == {ADDRS[2]}
    assert Counter(lr.pick()[1] for _ in range(3)) == dict.fromkeys(ADDRS[:3], 1)
    balancer = lr.driver.balancer
    assert isinstance(balancer, LeastRequestBalancer)
    assert sorted(balancer.outstanding().values()) == [26, 26, 26]
    assert lr.judged() == []


@pytest.mark.req("LR-9")
def test_least_request_endpoints_multiple_addresses(monkeypatch: pytest.MonkeyPatch) -> None:
    """grpc-go TestLeastRequestEndpoints_MultipleAddresses: counts follow the endpoint."""
    endpoints = [Endpoint(ADDRS[i : i + 2]) for i in (0, 2, 4)]
    lr = Channel(monkeypatch, endpoints[:2], {"choiceCount": 2})
    lr.ready(ADDRS[0])
    lr.ready(ADDRS[2])
    # The first backend of endpoint 0 stops: its pick_first moves to the second address.
    lr.step(ev.SubchannelStateChange(lr.subchannel(ADDRS[0]), State.IDLE))
    lr.fail(ADDRS[0])
    lr.ready(ADDRS[1])
    lr.script([0, 0, 1, 1])
    assert Counter(lr.pick()[1] for _ in range(50)) == {ADDRS[1]: 25, ADDRS[2]: 25}
    lr.step(ev.ResolverUpdate(endpoints, config={"choiceCount": 3}))
    lr.ready(ADDRS[4])
    lr.script([0, 1, 2, 3, 4, 5])
    assert {lr.pick()[1] for _ in range(25)} == {ADDRS[4]}
    assert Counter(lr.pick()[1] for _ in range(3)) == {ADDRS[1]: 1, ADDRS[2]: 1, ADDRS[4]: 1}
    # The active backends of endpoints 1 and 2 stop; both move to their second address
    # with fresh counts (LR-9), so unary calls alternate between them, never endpoint 0.
    for active, standby in ((ADDRS[2], ADDRS[3]), (ADDRS[4], ADDRS[5])):
        lr.step(ev.SubchannelStateChange(lr.subchannel(active), State.IDLE))
        lr.fail(active)
        lr.ready(standby)
    balancer = lr.driver.balancer
    assert isinstance(balancer, LeastRequestBalancer)
    assert sorted(balancer.outstanding().values()) == [0, 0, 26]
    lr.script([0, 1, 2, 2, 1, 0])
    calls = [lr.call() for _ in range(6)]
    assert Counter(calls) == {ADDRS[3]: 3, ADDRS[5]: 3}
    assert all(a != b for a, b in itertools.pairwise(calls))
    assert lr.judged() == []


@pytest.mark.req("LR-6")
def test_least_request_endpoints_resolver_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """grpc-go TestLeastRequestEndpoints_ResolverError: the error reaches failing picks."""
    lr = Channel(monkeypatch, [Endpoint([ADDRS[0]])], {})
    lr.fail(ADDRS[0])
    assert lr.driver.state is State.TRANSIENT_FAILURE
    lr.step(ev.ResolverError("simulated resolver error"))
    (outcome,) = lr.step(ev.Pick(1))
    assert isinstance(outcome, act.PickFail)
    assert "simulated resolver error" in outcome.status.message
    assert lr.judged() == []


@pytest.mark.req("LR-9")
def test_counts_are_dropped_when_an_endpoint_leaves_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    """An endpoint that reconnects starts from zero; Done of an older RPC leaves it alone."""
    lr = Channel(monkeypatch, [Endpoint([a]) for a in ADDRS[:2]], {})
    for addr in ADDRS[:2]:
        lr.ready(addr)
    lr.script([0, 0, 1, 1])
    old = [lr.pick() for _ in range(4)]
    balancer = lr.driver.balancer
    assert isinstance(balancer, LeastRequestBalancer)
    assert sorted(balancer.outstanding().values()) == [2, 2]
    lost = old[0][1]
    lr.step(ev.SubchannelStateChange(lr.subchannel(lost), State.IDLE))
    assert sorted(balancer.outstanding().values()) == [2]  # dropped with READY
    lr.ready(lost)
    assert sorted(balancer.outstanding().values()) == [0, 2]
    for pick_id, addr in old:
        if addr == lost:
            lr.step(ev.Done(pick_id))  # an RPC picked before the reconnection
    assert sorted(balancer.outstanding().values()) == [0, 2]
    assert lr.judged() == []


@pytest.mark.req("LR-5")
def test_missing_config_is_a_bad_resolver_state(monkeypatch: pytest.MonkeyPatch) -> None:
    lr = Channel(monkeypatch, [Endpoint([ADDRS[0]])], None)
    (rejected,) = lr.trace[0].outputs
    assert isinstance(rejected, act.UpdateRejected)
    assert "no config" in rejected.reason
    assert lr.judged() == []


@pytest.mark.req("LR-2")
def test_bad_first_config_fails_the_channel(monkeypatch: pytest.MonkeyPatch) -> None:
    lr = Channel(monkeypatch, [Endpoint([ADDRS[0]])], {"choiceCount": 1})
    outputs = lr.trace[0].outputs
    (rejected,) = [o for o in outputs if isinstance(o, act.UpdateRejected)]
    assert "choiceCount: must be >= 2" in rejected.reason
    assert act.UpdateState(State.TRANSIENT_FAILURE) in outputs
    assert not any(isinstance(o, act.NewSubchannel) for o in outputs)  # the policy never ran
    assert lr.judged() == []


@pytest.mark.req("LR-11")
def test_full_scan_option_through_the_driver() -> None:
    driver = Driver(LeastRequestBuilder(Selection.FULL_SCAN), seed=1)
    driver.step(ev.ResolverUpdate([Endpoint([a]) for a in ADDRS[:3]], config={}))
    for sc in (1, 2, 3):
        driver.step(ev.SubchannelStateChange(sc, State.CONNECTING))
        driver.step(ev.SubchannelStateChange(sc, State.READY))
    chosen = []
    for pick_id in range(1, 10):
        (outcome,) = driver.step(ev.Pick(pick_id))
        assert isinstance(outcome, act.PickComplete)
        chosen.append(outcome.subchannel)
    assert Counter(chosen) == {1: 3, 2: 3, 3: 3}  # always a least-loaded one
