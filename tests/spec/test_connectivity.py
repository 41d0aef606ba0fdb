"""The subchannel transition relation, aggregation, and the channel table."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refimpl.connectivity_evaluator import ConnectivityStateEvaluator
from spec.connectivity import (
    CHANNEL_TRANSITIONS,
    INITIAL_SUBCHANNEL_STATE,
    SUBCHANNEL_TRANSITIONS,
    Profile,
    State,
    aggregate,
    aggregate_round_robin,
    channel_transition,
    check_path,
    is_legal,
    transitions,
)
from spec.errors import IllegalTransitionError, SpecError

I, C, R, TF, SD = (
    State.IDLE,
    State.CONNECTING,
    State.READY,
    State.TRANSIENT_FAILURE,
    State.SHUTDOWN,
)

# Restated independently from the issue text and client_channel_specification.md,
# so a wrong edge in the spec table fails here.
EXPECTED_EDGES = {
    Profile.CURRENT: {
        (I, C),
        (C, R),
        (C, TF),
        (C, I),
        (R, I),
        (TF, I),
        (I, SD),
        (C, SD),
        (R, SD),
        (TF, SD),
    },
}
EXPECTED_EDGES[Profile.SEED] = EXPECTED_EDGES[Profile.CURRENT] | {(TF, C), (R, TF)}


def test_state_numbers_and_names_match_grpc() -> None:
    assert [(s.name, s.value) for s in State] == [
        ("IDLE", 0),
        ("CONNECTING", 1),
        ("READY", 2),
        ("TRANSIENT_FAILURE", 3),
        ("SHUTDOWN", 4),
    ]


@pytest.mark.req(
    "CONN-2", "CONN-3", "CONN-4", "CONN-5", "CONN-6", "CONN-7", "CONN-8", "CONN-9", "CONN-10"
)
@pytest.mark.parametrize("profile", list(Profile))
@pytest.mark.parametrize(("source", "target"), list(itertools.product(State, State)))
def test_every_pair_of_states(profile: Profile, source: State, target: State) -> None:
    assert is_legal(source, target, profile) == ((source, target) in EXPECTED_EDGES[profile])


@pytest.mark.req("CONN-8")
def test_shutdown_is_terminal_in_every_profile() -> None:
    for profile in Profile:
        assert not any(t.source is SD for t in transitions(profile))


def test_every_edge_cites_a_requirement_and_source() -> None:
    from spec.catalogue import CATALOGUE

    for t in SUBCHANNEL_TRANSITIONS:
        assert t.requirement in CATALOGUE, t
        assert t.citation.strip()
        assert t.trigger.strip()
    for ct in CHANNEL_TRANSITIONS:
        assert ct.requirement in CATALOGUE, ct


@pytest.mark.req("CONN-1")
def test_path_must_start_idle() -> None:
    check_path([I, C, R], Profile.CURRENT)
    with pytest.raises(IllegalTransitionError) as err:
        check_path([C, R])
    assert err.value.index == 0
    assert err.value.target is C


@pytest.mark.req("CONN-10")
def test_checker_names_edge_and_profile() -> None:
    path = [I, C, TF, C]  # a retry from TRANSIENT_FAILURE: seed only
    check_path(path, Profile.SEED)
    with pytest.raises(IllegalTransitionError) as err:
        check_path(path, Profile.CURRENT)
    assert (err.value.source, err.value.target, err.value.index) == (TF, C, 3)
    assert err.value.profile == "current"
    assert "TRANSIENT_FAILURE -> CONNECTING" in str(err.value)
    assert "'current'" in str(err.value)
    assert isinstance(err.value, SpecError)


@pytest.mark.req("CONN-9")
def test_repeated_state_is_illegal() -> None:
    with pytest.raises(IllegalTransitionError):
        check_path([I, C, C])


# --- Aggregation ---

counted_states = st.sampled_from([I, C, R, TF])
any_states = st.lists(st.sampled_from(list(State)), max_size=12)


@pytest.mark.req("AGG-1", "AGG-2", "AGG-3", "AGG-4", "AGG-5", "AGG-6")
@pytest.mark.parametrize(
    ("children", "expected"),
    [
        ([], TF),
        ([SD, SD], TF),
        ([TF, I, C, R], R),
        ([TF, I, C], C),
        ([TF, I], I),
        ([TF, TF], TF),
        ([SD, I], I),
        ([SD, R, TF], R),
    ],
)
def test_aggregation_table(children: list[State], expected: State) -> None:
    assert aggregate(children) is expected


@pytest.mark.req("AGG-8")
@given(any_states, st.randoms(use_true_random=False))
def test_aggregation_ignores_order(children: list[State], rnd: object) -> None:
    shuffled = list(children)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert aggregate(shuffled) is aggregate(children)


@pytest.mark.req("AGG-1")
@given(any_states)
def test_ready_dominates(children: list[State]) -> None:
    assert aggregate([*children, R]) is R


@pytest.mark.req("AGG-6", "AGG-5")
@given(st.lists(st.just(SD), max_size=5))
def test_nothing_counted_is_transient_failure(children: list[State]) -> None:
    assert aggregate(children) is TF
    assert aggregate_round_robin(children) is TF


@pytest.mark.req("AGG-7")
@given(any_states)
def test_round_robin_counts_idle_as_connecting(children: list[State]) -> None:
    result = aggregate_round_robin(children)
    assert result is not I
    replaced = [C if s is I else s for s in children]
    assert result is aggregate(replaced)
    if I in children and R not in children:
        assert result is C


@st.composite
def legal_histories(draw: st.DrawFn) -> tuple[int, list[tuple[int, State]]]:
    """Random legal transitions of a few children: (child index, new state)."""
    n = draw(st.integers(min_value=0, max_value=5))
    current = [INITIAL_SUBCHANNEL_STATE] * n
    moves: list[tuple[int, State]] = []
    for _ in range(draw(st.integers(min_value=0, max_value=40))):
        if n == 0:
            break
        child = draw(st.integers(min_value=0, max_value=n - 1))
        options = [t.target for t in transitions(Profile.CURRENT) if t.source is current[child]]
        if not options:
            continue  # SHUTDOWN: no more moves
        target = draw(st.sampled_from(options))
        current[child] = target
        moves.append((child, target))
    return n, moves


@pytest.mark.req("AGG-9")
@given(legal_histories())
def test_counting_evaluator_agrees_with_the_rule(
    history: tuple[int, list[tuple[int, State]]],
) -> None:
    n, moves = history
    states = [INITIAL_SUBCHANNEL_STATE] * n
    evaluator = ConnectivityStateEvaluator()
    for _ in range(n):
        evaluator.record_transition(None, INITIAL_SUBCHANNEL_STATE)
    assert evaluator.current_state() is aggregate(states)
    for child, target in moves:
        got = evaluator.record_transition(states[child], target)
        states[child] = target
        assert got is aggregate(states)


# --- The channel table ---


@pytest.mark.req("CHAN-2", "CHAN-3", "CHAN-4", "CHAN-5", "CHAN-6")
def test_channel_table_matches_the_text() -> None:
    usual = {(I, C), (C, R), (C, TF), (C, I), (R, I), (TF, R), (TF, I)}
    for source, target in itertools.product(State, State):
        t = channel_transition(source, target)
        if (source, target) in usual:
            assert t is not None
            assert t.usual
        elif (source, target) == (TF, C):
            assert t is not None
            assert not t.usual
        else:
            assert t is None, (source, target)


@pytest.mark.req("CHAN-1")
def test_channel_starts_idle() -> None:
    from spec.connectivity import INITIAL_CHANNEL_STATE

    assert INITIAL_CHANNEL_STATE is I


@pytest.mark.req("CONN-11")
@pytest.mark.parametrize("state", list(State))
def test_connect_acts_only_in_idle(state: State) -> None:
    from spec.connectivity import state_after_connect

    expected = C if state is I else state
    assert state_after_connect(state) is expected


@pytest.mark.req("CONN-5", "CONN-10")
def test_backoff_end_values_name_the_options_taking_each_edge() -> None:
    """subchannel.backoff_end: IDLE is the text's edge (CONN-5), CONNECTING the seed's."""
    from spec.connectivity import BackoffEnd, backoff_end_values

    assert backoff_end_values(State.IDLE) == {BackoffEnd.IDLE, BackoffEnd.CONNECTING_IF_REQUESTED}
    assert backoff_end_values(State.CONNECTING) == {
        BackoffEnd.CONNECTING,
        BackoffEnd.CONNECTING_IF_REQUESTED,
    }
    assert backoff_end_values(State.SHUTDOWN) == set(BackoffEnd)
    assert is_legal(State.TRANSIENT_FAILURE, State.IDLE, Profile.CURRENT)
    assert not is_legal(State.TRANSIENT_FAILURE, State.CONNECTING, Profile.CURRENT)
    assert is_legal(State.TRANSIENT_FAILURE, State.CONNECTING, Profile.SEED)
