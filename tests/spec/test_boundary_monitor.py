"""The boundary monitor catches each policy-independent rule being broken (one planted bug each)."""

from __future__ import annotations

import pytest

from spec import actions as act
from spec import events as ev
from spec.connectivity import State
from spec.monitors.boundary import BoundaryMonitor
from spec.trace import Step, judge
from spec.types import Endpoint, Status, StatusCode

UPDATE = ev.ResolverUpdate([Endpoint(["10.0.0.1:80"]), Endpoint(["10.0.0.2:80"])])
CREATED = Step(
    UPDATE,
    [
        act.NewSubchannel(1, ["10.0.0.1:80"]),
        act.Connect(1),
        act.NewSubchannel(2, ["10.0.0.2:80"]),
        act.Connect(2),
        act.UpdateState(State.CONNECTING),
    ],
)
READY_1 = [
    Step(ev.SubchannelStateChange(1, State.CONNECTING)),
    Step(ev.SubchannelStateChange(1, State.READY), [act.UpdateState(State.READY)]),
]


def ids(trace: list[Step]) -> list[str]:
    return [v.requirement for v in judge(BoundaryMonitor, trace)]


def test_a_correct_trace_has_no_violations() -> None:
    trace = [
        CREATED,
        *READY_1,
        Step(ev.Pick(1), [act.PickComplete(1, 1)]),
        Step(ev.Close(), [act.Shutdown(1), act.Shutdown(2)]),
    ]
    assert ids(trace) == []


@pytest.mark.req("LB-1")
def test_unknown_subchannel() -> None:
    assert ids([CREATED, Step(ev.ExitIdle(), [act.Connect(9)])]) == ["LB-1"]


@pytest.mark.req("LB-2")
def test_use_after_shutdown() -> None:
    trace = [CREATED, Step(ev.ResolverUpdate([]), [act.Shutdown(1), act.Connect(1)])]
    assert ids(trace) == ["LB-2"]


@pytest.mark.req("LB-3")
def test_close_must_shut_everything_down() -> None:
    assert ids([CREATED, Step(ev.Close(), [act.Shutdown(1)])]) == ["LB-3"]


@pytest.mark.req("LB-3")
def test_nothing_after_close() -> None:
    trace = [
        CREATED,
        Step(ev.Close(), [act.Shutdown(1), act.Shutdown(2)]),
        Step(ev.Pick(1), [act.PickQueue(1)]),
    ]
    assert "LB-3" in ids(trace)


@pytest.mark.req("LB-4")
def test_one_outcome_per_pick() -> None:
    assert ids([CREATED, Step(ev.Pick(1), [])]) == ["LB-4"]
    assert ids([CREATED, Step(ev.Pick(1), [act.PickQueue(1), act.PickQueue(1)])]) == ["LB-4"]
    assert ids([CREATED, Step(ev.Pick(1), [act.PickQueue(2)])]) == ["LB-4"]
    assert ids([CREATED, Step(ev.ExitIdle(), [act.PickQueue(2)])]) == ["LB-4"]


@pytest.mark.req("LB-5")
def test_complete_pick_needs_a_ready_subchannel() -> None:
    assert ids([CREATED, Step(ev.Pick(1), [act.PickComplete(1, 2)])]) == ["LB-5"]


@pytest.mark.req("LB-6")
def test_ids_follow_creation_order() -> None:
    bad = Step(UPDATE, [act.NewSubchannel(2, ["10.0.0.1:80"])])
    assert ids([bad]) == ["LB-6"]


@pytest.mark.req("MODEL-5")
def test_restricted_status_codes() -> None:
    failing = Status(StatusCode.NOT_FOUND, "no such thing")
    assert ids([CREATED, Step(ev.Pick(1), [act.PickFail(1, failing)])]) == ["MODEL-5"]
    assert ids([CREATED, Step(ev.Pick(1), [act.PickDrop(1, failing)])]) == ["MODEL-5"]
    fine = Status(StatusCode.UNAVAILABLE, "down")
    assert ids([CREATED, Step(ev.Pick(1), [act.PickFail(1, fine)])]) == []


# --- The subchannel machine as the trace shows it ---

ERR = Status(StatusCode.UNAVAILABLE, "refused")


def sc(state: State, error: Status | None = None, ident: int = 1) -> Step:
    return Step(ev.SubchannelStateChange(ident, state, error))


@pytest.mark.req("CONN-1", "CONN-3")
def test_a_subchannel_cannot_jump_from_idle_to_ready() -> None:
    assert ids([CREATED, sc(State.READY)]) == ["CONN-3"]


@pytest.mark.req("CONN-2")
def test_connecting_needs_a_connect_request() -> None:
    no_connect = Step(UPDATE, [act.NewSubchannel(1, ["10.0.0.1:80"])])
    assert ids([no_connect, sc(State.CONNECTING)]) == ["CONN-2"]


@pytest.mark.req("CONN-11", "CONN-5")
def test_a_connect_outside_idle_does_not_count() -> None:
    trace = [
        CREATED,
        sc(State.CONNECTING),
        Step(ev.ExitIdle(), [act.Connect(1)]),  # a no-op: the subchannel is CONNECTING
        sc(State.TRANSIENT_FAILURE, ERR),
        sc(State.IDLE),
        sc(State.CONNECTING),
    ]
    assert ids(trace) == ["CONN-2"]
    reconnected = [*trace[:-1], Step(ev.ExitIdle(), [act.Connect(1)]), trace[-1]]
    assert ids(reconnected) == []


@pytest.mark.req("CONN-8", "CONN-9")
def test_shutdown_and_repeats_are_not_state_changes() -> None:
    with pytest.raises(ValueError, match="SHUTDOWN"):
        act.UpdateState(State.SHUTDOWN)
    assert ids([CREATED, sc(State.SHUTDOWN)]) == ["CONN-8"]
    assert ids([CREATED, sc(State.CONNECTING), sc(State.CONNECTING)]) == ["CONN-9"]


@pytest.mark.req("CONN-10")
def test_the_seed_profile_allows_a_retry_from_transient_failure() -> None:
    from spec.connectivity import Profile

    trace = [CREATED, sc(State.CONNECTING), sc(State.TRANSIENT_FAILURE, ERR), sc(State.CONNECTING)]
    assert ids(trace) == ["CONN-2"]  # under today's profile TF -> CONNECTING is no edge at all
    seed = [v.requirement for v in judge(lambda: BoundaryMonitor(Profile.SEED), trace)]
    assert seed == []
