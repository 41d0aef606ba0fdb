"""least_request_experimental: config, the sampling picker, and grpc-go's scripted cases.

The scripted cases restate grpc-go ``balancer/leastrequest/leastrequest_test.go``
(digest section 12), each named after the grpc-go test it restates.  grpc-go
stubs its random source; here the injected ``BuildOptions.random`` is scripted.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refimpl.balancer import (
    QUEUE,
    Complete,
    ConfigError,
    DoneInfo,
    Picker,
    PickInfo,
    PickResult,
    SubConn,
)
from refimpl.leastrequest import (
    LeastRequestConfig,
    LeastRequestPicker,
    OutstandingCounter,
    PickTarget,
    Selection,
    parse_config,
)
from spec.monitors.least_request import parse_choice_count
from spec.types import Address, Duration, Status, StatusCode

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


def test_a_picker_needs_an_endpoint() -> None:
    with pytest.raises(ValueError, match="at least one READY endpoint"):
        LeastRequestPicker([], 2, ScriptedRandom([0]))
