"""The round_robin monitor: one planted bug per rule is caught, legal variation is accepted.

Traces are written by hand, so the monitor is tested without any implementation.
"""

from __future__ import annotations

import pytest

from spec import actions as act
from spec import events as ev
from spec.connectivity import State
from spec.monitors.round_robin import RoundRobinMonitor, possible_aggregates
from spec.options import ExitIdleHandling, FailureError, RepeatedEndpoint, ResolverErrorHandling
from spec.trace import Step, judge
from spec.types import Address, Endpoint, Status, StatusCode

I, C, R, TF = State.IDLE, State.CONNECTING, State.READY, State.TRANSIENT_FAILURE
A, B, D, E = "10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80", "10.0.0.4:80"


def err(text: str) -> Status:
    return Status(StatusCode.UNAVAILABLE, text)


def ids(
    trace: list[Step],
    *,
    health_checking: bool = False,
    resolver_error: ResolverErrorHandling = ResolverErrorHandling.PASS_TO_CHILDREN,
    exit_idle: ExitIdleHandling = ExitIdleHandling.FORWARD,
    failure_error: FailureError = FailureError.ROTATING_CHILDREN,
    repeated_endpoint: RepeatedEndpoint = RepeatedEndpoint.FIRST_WINS,
) -> list[str]:
    """The requirements ``trace`` breaks; by default judged as grpc-go and the reference
    handle resolver errors, ExitIdle, failing picks and repeated endpoints
    (round_robin.resolver_error, round_robin.exit_idle, round_robin.failure_error,
    round_robin.repeated_endpoint)."""

    def monitor() -> RoundRobinMonitor:
        return RoundRobinMonitor(
            health_checking=health_checking,
            resolver_error=resolver_error,
            exit_idle=exit_idle,
            failure_error=failure_error,
            repeated_endpoint=repeated_endpoint,
        )

    return [v.requirement for v in judge(monitor, trace)]


def up(*endpoints: str | list[str]) -> ev.ResolverUpdate:
    return ev.ResolverUpdate([Endpoint([e] if isinstance(e, str) else e) for e in endpoints])


def new(ident: int, addr: str, health: bool = True) -> act.NewSubchannel:
    return act.NewSubchannel(ident, [addr], health_listener=health)


def created(*addrs: str, first: int = 1) -> list[act.Output]:
    """New subchannels, each connected, then one CONNECTING report."""
    outputs: list[act.Output] = []
    for offset, addr in enumerate(addrs):
        outputs += [new(first + offset, addr), act.Connect(first + offset)]
    return [*outputs, act.UpdateState(C)]


def sc(ident: int, state: State, text: str = "refused") -> ev.SubchannelStateChange:
    return ev.SubchannelStateChange(ident, state, err(text) if state is TF else None)


def report(state: State) -> act.UpdateState:
    return act.UpdateState(state)


def ready(*addrs: str) -> list[Step]:
    """An update for ``addrs``, then every subchannel connects in turn."""
    steps = [Step(up(*addrs), created(*addrs))]
    for ident in range(1, len(addrs) + 1):
        steps += [Step(sc(ident, C)), Step(sc(ident, R), [report(R)])]
    return steps


def picks(first_id: int, *subchannels: int) -> list[Step]:
    return [
        Step(ev.Pick(first_id + i), [act.PickComplete(first_id + i, s)])
        for i, s in enumerate(subchannels)
    ]


def failed(ident: int, text: str, outputs: list[act.Output]) -> list[Step]:
    return [Step(sc(ident, C)), Step(sc(ident, TF, text), outputs)]


# --- legal traces, with the variation the rules allow ---


def test_a_correct_trace_has_no_violations() -> None:
    trace = [*ready(A, B, D), *picks(1, 2, 3, 1, 2, 3, 1), Step(ev.Close(), [])]
    assert ids(trace) == []


@pytest.mark.req("RR-7", "RR-12")
def test_any_start_and_any_cyclic_order_is_accepted() -> None:
    for cycle in ([1, 2, 3], [3, 1, 2], [2, 1, 3], [3, 2, 1]):
        assert ids([*ready(A, B, D), *picks(1, *(cycle * 3))]) == []
    # Creation in a rotated order is fine too.
    rotated = Step(up(A, B, D), [new(1, D), act.Connect(1), *created(A, B, first=2)])
    assert ids([rotated]) == []


@pytest.mark.req("RR-7")
def test_each_new_picker_may_start_a_new_cycle() -> None:
    trace = [
        *ready(A, B, D),
        *picks(1, 1, 2, 3, 1),
        Step(ev.ExitIdle(), [report(R)]),  # a new picker
        *picks(5, 3, 2, 1, 3, 2, 1),
    ]
    assert ids(trace) == []


@pytest.mark.req("RR-9")
def test_under_most_recent_every_pick_carries_the_last_failures_error() -> None:
    """The text, C-core and grpc-js: the failure that made the TRANSIENT_FAILURE report
    is the error of every pick; grpc-go's and grpc-java's rotation is the other value."""
    trace = [Step(up(A, B), created(A, B))]
    trace += failed(1, "refused by a", [])
    trace += failed(2, "refused by b", [report(TF)])
    latest = [Step(ev.Pick(1), [act.PickFail(1, err("last error: refused by b"))])]
    older = [Step(ev.Pick(2), [act.PickFail(2, err("last error: refused by a"))])]
    recent = FailureError.MOST_RECENT
    assert ids([*trace, *latest], failure_error=recent) == []
    assert ids([*trace, *latest, *older], failure_error=recent) == ["RR-9"]
    assert ids([*trace, *latest, *older]) == []  # rotating_children: a's turn
    # A resolver error that reaches the children (pass_to_children) is the newest failure.
    dns = [Step(ev.ResolverError("no dns"), [report(TF)])]
    stale = [Step(ev.Pick(9), [act.PickFail(9, err("last error: refused by b"))])]
    assert ids([*trace, *dns, *stale], failure_error=recent) == ["RR-9"]


def _failing_picks(first_id: int, *texts: str) -> list[Step]:
    return [
        Step(ev.Pick(first_id + i), [act.PickFail(first_id + i, err(f"wrapped: {text}"))])
        for i, text in enumerate(texts)
    ]


def _all_failed(*addrs: str) -> list[Step]:
    """An update for ``addrs``; each connection fails with 'refused by <n>', the last
    failure making the TRANSIENT_FAILURE report."""
    trace = [Step(up(*addrs), created(*addrs))]
    for ident in range(1, len(addrs) + 1):
        trace += failed(ident, f"refused by {ident}", [report(TF)] if ident == len(addrs) else [])
    return trace


@pytest.mark.req("RR-9")
def test_failing_children_take_turns_from_any_start() -> None:
    """round_robin.failure_error=rotating_children: each failing child's own error, the
    children's pickers taking turns (grpc-go endpointsharding.go:287-289, 311-314)."""
    trace = _all_failed(A, B)
    for texts in (["refused by 2", "refused by 1", "refused by 2"], ["refused by 1"] * 1):
        assert ids([*trace, *_failing_picks(1, *texts)]) == []
    three = _all_failed(A, B, D)
    for cycle in (
        ["refused by 3", "refused by 1", "refused by 2"],
        ["refused by 1", "refused by 3", "refused by 2"],
    ):
        assert ids([*three, *_failing_picks(1, *(cycle * 2))]) == []
    # An error more than one child was given tells no child: such picks are not judged.
    shared = [
        Step(up(A, B), created(A, B)),
        *failed(1, "refused", []),
        *failed(2, "refused", [report(TF)]),
    ]
    assert ids([*shared, *_failing_picks(1, "refused", "refused", "refused")]) == []
    # A resolver error that reaches the picks is no child's own: not judged either.
    dns = [Step(ev.ResolverError("no dns"), [report(TF)])]
    after_dns = [Step(ev.Pick(9), [act.PickFail(9, err("name resolver error: no dns"))])]
    assert ids([*trace, *_failing_picks(1, "refused by 2"), *dns, *after_dns]) == []


@pytest.mark.req("RR-9")
def test_one_failing_childs_picker_used_twice_in_a_round() -> None:
    """The mutant of docs/mutation.md (``_most_recent_failure``'s or -> and): every pick uses
    one failing child's picker, so one error shows twice within a round of n picks."""
    trace = _all_failed(A, B)
    assert ids([*trace, *_failing_picks(1, "refused by 2", "refused by 2")]) == ["RR-9"]
    assert ids([*trace, *_failing_picks(1, "refused by 2", "refused by 1", "refused by 1")]) == [
        "RR-9"
    ]
    # Three children: a round that skips one, or an order that changes, breaks the rotation.
    three = _all_failed(A, B, D)
    skipped = ["refused by 1", "refused by 2", "refused by 1"]
    assert ids([*three, *_failing_picks(1, *skipped)]) == ["RR-9"]
    reordered = ["refused by 1", "refused by 2", "refused by 3", "refused by 2"]
    assert ids([*three, *_failing_picks(1, *reordered)]) == ["RR-9"]
    # most_recent (C-core, grpc-js) judges the error, not the turns.
    recent = FailureError.MOST_RECENT
    assert (
        ids([*trace, *_failing_picks(1, "refused by 2", "refused by 2")], failure_error=recent)
        == []
    )


@pytest.mark.req("RR-5")
def test_sticky_failure_and_either_reaction_to_an_early_close() -> None:
    base = [Step(up(A), created(A)), *failed(1, "refused", [report(TF)])]
    # Backoff over: the leaf reconnects and stays in TRANSIENT_FAILURE.
    sticky = [*base, Step(sc(1, I), [act.Connect(1)]), Step(sc(1, C))]
    assert ids(sticky) == []
    # The transport closes before READY: grpc-go's leaf starts afresh, others may stay.
    afresh = Step(sc(1, I), [report(C), report(C), act.Connect(1)])
    assert ids([*sticky, afresh]) == []
    assert ids([*sticky, Step(sc(1, I), [act.Connect(1)])]) == []


@pytest.mark.req("RR-5")
def test_a_leaf_with_untried_addresses_may_not_fail_yet() -> None:
    trace = [Step(up([A, B]), created(A)), *failed(1, "refused", [])]
    assert ids(trace) == []
    assert ids([*trace[:-1], Step(sc(1, TF), [report(TF)])]) == ["RR-5"]


def test_endpoints_sharing_an_address_are_judged_loosely() -> None:
    trace = [
        Step(up([A], [A, B]), [new(1, A), act.Connect(1), new(2, A), act.Connect(2), report(C)]),
        Step(sc(1, C)),
        Step(sc(1, R), [report(R)]),
        *picks(1, 1, 1),
        Step(sc(2, C)),
        Step(sc(2, TF), []),
    ]
    assert ids(trace) == []


@pytest.mark.req("HEALTH-2")
def test_without_health_checking_a_ready_leaf_is_healthy() -> None:
    trace = [Step(up(A), created(A)), Step(sc(1, C)), Step(sc(1, R), [report(C), report(R)])]
    assert ids(trace) == []
    assert ids(trace, health_checking=True) == ["HEALTH-5"]


# --- one planted bug per rule ---


@pytest.mark.req("RR-1")
def test_subchannel_outside_the_endpoints() -> None:
    trace = [Step(up(A), [new(1, A), act.Connect(1), new(2, B), act.Connect(2), report(C)])]
    assert ids(trace) == ["RR-1", "RR-3"]


@pytest.mark.req("RR-1")
def test_new_endpoint_not_connecting() -> None:
    assert ids([Step(up(A), [new(1, A), report(C)])]) == ["RR-1"]


@pytest.mark.req("RR-2")
def test_duplicates_not_skipped() -> None:
    trace = [Step(up(A, A), [*created(A)[:-1], *created(A, first=2)])]
    assert ids(trace) == ["RR-2"]
    assert ids([Step(up(A, A), created(A))]) == []
    last = RepeatedEndpoint.LAST_WINS
    assert ids(trace, repeated_endpoint=last) == ["RR-2"]
    assert ids([Step(up(A, A), created(A))], repeated_endpoint=last) == []


EVERY_COPY = RepeatedEndpoint.EVERY_COPY


@pytest.mark.req("RR-2")
def test_every_copy_may_have_its_own_subchannel() -> None:
    """round_robin.repeated_endpoint=every_copy (C-core, grpc-js): a child per listed copy,
    so two subchannels for an endpoint listed twice are legal, a third is not."""
    two = [Step(up(A, A), [*created(A)[:-1], *created(A, first=2)])]
    assert ids(two, repeated_endpoint=EVERY_COPY) == []
    three = [Step(up(A, A), [new(1, A), new(2, A), *created(A, first=3)])]
    assert ids(three, repeated_endpoint=EVERY_COPY) == ["RR-2"]
    # One pooled subchannel for both copies is legal too.
    assert ids([Step(up(A, A), created(A))], repeated_endpoint=EVERY_COPY) == []


def ready_pooled(*addrs: str) -> list[Step]:
    """An update listing ``addrs`` (repeats included), one pooled subchannel per distinct
    address, each connecting in turn (grpc-js, C-core)."""
    distinct = list(dict.fromkeys(addrs))
    steps = [Step(up(*addrs), created(*distinct))]
    for ident in range(1, len(distinct) + 1):
        steps += [Step(sc(ident, C)), Step(sc(ident, R), [report(R)])]
    return steps


@pytest.mark.req("RR-7", "RR-2")
def test_every_copy_gives_a_pooled_subchannel_a_turn_per_copy() -> None:
    """Under every_copy, A listed twice is two READY leaves on one pooled subchannel: two
    turns of A per round of three; under first_wins the same picks break RR-7."""
    turns = picks(1, 1, 1, 2, 1, 1, 2)
    assert ids([*ready_pooled(A, A, B), *turns], repeated_endpoint=EVERY_COPY) == []
    rotated = picks(1, 1, 2, 1, 1, 2, 1)
    assert ids([*ready_pooled(A, A, B), *rotated], repeated_endpoint=EVERY_COPY) == []
    assert "RR-7" in ids([*ready_pooled(A, A, B), *turns])
    # One turn each, as one child per endpoint gives, is not every_copy's rotation.
    even = picks(1, 1, 2, 1, 2)
    assert ids([*ready_pooled(A, A, B), *even], repeated_endpoint=EVERY_COPY) == ["RR-7"]
    # Three turns of A in one round of three is one too many.
    greedy = picks(1, 1, 1, 1)
    assert ids([*ready_pooled(A, A, B), *greedy], repeated_endpoint=EVERY_COPY) == ["RR-7"]


@pytest.mark.req("RR-2")
def test_last_wins_judges_the_last_copy_listing() -> None:
    """Under last_wins (grpc-java) the child is sent the last copy's addresses: a subchannel
    for an address only the first copy lists (with a server name) must not stay."""
    named = Address(A, server_name="a.example")
    first, last = Endpoint([named]), Endpoint([A])
    update = ev.ResolverUpdate([first, last])
    kept_named = [
        Step(
            update, [act.NewSubchannel(1, [named], health_listener=True), act.Connect(1), report(C)]
        )
    ]
    assert ids(kept_named) == []  # first_wins: the rotation may put either copy first
    assert ids(kept_named, repeated_endpoint=RepeatedEndpoint.LAST_WINS) == ["RR-2"]
    plain = [Step(update, created(A))]
    assert ids(plain, repeated_endpoint=RepeatedEndpoint.LAST_WINS) == []


@pytest.mark.req("RR-3")
def test_removed_endpoint_left_running() -> None:
    trace = [*ready(A, B), Step(up(B), [report(R)])]
    assert ids(trace) == ["RR-3"]
    assert ids([*ready(A, B), Step(up(B), [act.Shutdown(1), report(R)])]) == []


@pytest.mark.req("RR-4")
def test_empty_update_ignored() -> None:
    assert ids([*ready(A), Step(up(), [act.Shutdown(1), report(TF)])]) == ["RR-4"]
    kept = Step(up(), [act.Shutdown(1), report(R), act.UpdateRejected("empty")])
    assert ids([*ready(A), kept]) == ["RR-4"]
    good = Step(up(), [act.Shutdown(1), report(TF), act.UpdateRejected("empty")])
    assert ids([*ready(A), good]) == []


@pytest.mark.req("RR-4")
def test_non_empty_update_rejected_and_bad_no_children_status() -> None:
    rejected = Step(up(A), [*created(A), act.UpdateRejected("nope")])
    assert ids([rejected]) == ["RR-4"]
    empty = Step(up(), [report(TF), act.UpdateRejected("empty")])
    internal = Status(StatusCode.INTERNAL, "no children to pick from")
    assert ids([empty, Step(ev.Pick(1), [act.PickFail(1, internal)])]) == ["RR-4"]


@pytest.mark.req("RR-5")
def test_wrong_aggregation() -> None:
    trace = [Step(up(A, B), created(A, B)), Step(sc(1, C)), Step(sc(1, R), [report(C)])]
    assert ids(trace) == ["RR-5"]
    idle = [Step(up(A), created(A)), Step(sc(1, C), [report(I)])]
    assert ids(idle) == ["RR-5"]


@pytest.mark.req("RR-5")
def test_connecting_reported_while_sticky() -> None:
    trace = [
        Step(up(A), created(A)),
        *failed(1, "refused", [report(TF)]),
        Step(sc(1, I), [act.Connect(1)]),
        Step(sc(1, C), [report(C)]),
    ]
    assert ids(trace) == ["RR-5"]


@pytest.mark.req("RR-6")
def test_idle_child_not_woken() -> None:
    trace = [*ready(A, B), Step(sc(1, I), [report(R)])]
    assert ids(trace) == ["RR-6"]
    assert ids([*ready(A, B), Step(sc(1, I), [report(R), act.Connect(1)])]) == []


@pytest.mark.req("RR-7")
def test_picker_includes_a_connecting_child() -> None:
    trace = [Step(up(A, B), created(A, B)), Step(sc(1, C)), Step(sc(1, R), [report(R)])]
    assert ids([*trace, *picks(1, 1, 2)]) == ["RR-7"]


@pytest.mark.req("RR-7")
def test_off_by_one_rotation_skips_an_endpoint() -> None:
    trace = [*ready(A, B, D, E), *picks(1, 1, 3, 1, 3)]
    assert ids(trace) == ["RR-7", "RR-7"]  # picks 3 and 4 come round too early


@pytest.mark.req("RR-7")
def test_cycle_order_changes_within_one_picker() -> None:
    trace = [*ready(A, B, D), *picks(1, 1, 2, 3, 2, 1, 3)]
    assert ids(trace) == ["RR-7", "RR-7"]


@pytest.mark.req("RR-7")
def test_ready_picker_queues() -> None:
    trace = [*ready(A), Step(ev.Pick(1), [act.PickQueue(1)])]
    assert ids(trace) == ["RR-7"]


@pytest.mark.req("RR-8")
def test_connecting_picker_fails() -> None:
    trace = [Step(up(A), created(A)), Step(ev.Pick(1), [act.PickFail(1, err("x"))])]
    assert ids(trace) == ["RR-8"]


@pytest.mark.req("RR-9")
def test_failing_picker_drops_or_invents_an_error() -> None:
    base = [Step(up(A), created(A)), *failed(1, "refused by a", [report(TF)])]
    assert ids([*base, Step(ev.Pick(1), [act.PickDrop(1, err("refused by a"))])]) == ["RR-9"]
    assert ids([*base, Step(ev.Pick(1), [act.PickFail(1, err("all failed"))])]) == ["RR-9"]
    assert ids([*base, Step(ev.Pick(1), [act.PickQueue(1)])]) == ["RR-9"]


@pytest.mark.req("RR-10")
def test_update_not_batched() -> None:
    trace = [Step(up(A, B), [*created(A)[:-1], report(C), *created(B, first=2)])]
    assert ids(trace) == ["RR-10"]
    assert ids([*ready(A), Step(ev.ExitIdle(), [])]) == ["RR-10"]
    assert ids([*ready(A), Step(ev.ResolverError("x"), [report(R), report(R)])]) == ["RR-10"]


@pytest.mark.req("RR-11")
def test_child_change_not_reported() -> None:
    # One of two READY leaves loses its connection; the old picker stays.
    trace = [*ready(A, B), Step(sc(1, I), [act.Connect(1)])]
    assert ids(trace) == ["RR-11"]
    # The last leaf fails for good; CONNECTING stays reported.
    stale = [Step(up(A), created(A)), *failed(1, "refused", [])]
    assert ids(stale) == ["RR-11"]


@pytest.mark.req("RR-13")
def test_resolver_error_without_children() -> None:
    assert ids([Step(ev.ResolverError("x"), [report(C)])]) == ["RR-13"]
    assert ids([Step(ev.ResolverError("x"), [report(TF)])]) == []


IGNORE = ResolverErrorHandling.IGNORE
PASS_ON = ResolverErrorHandling.PASS_TO_CHILDREN
REPORT = ResolverErrorHandling.REPORT_FAILURE


@pytest.mark.req("RR-13", "RR-10")
def test_resolver_error_with_children_is_judged_by_the_option() -> None:
    """round_robin.resolver_error: each value accepts its own reaction and no other."""
    quiet = [*ready(A), Step(ev.ResolverError("x"), [])]
    once = [*ready(A), Step(ev.ResolverError("x"), [report(R)])]
    failing = [*ready(A), Step(ev.ResolverError("x"), [report(TF)])]
    assert ids(quiet, resolver_error=IGNORE) == []
    assert ids(once, resolver_error=IGNORE) == ["RR-10"]
    assert ids(quiet, resolver_error=PASS_ON) == ["RR-10"]
    assert ids(once, resolver_error=PASS_ON) == []
    # grpc-java: READY, so nothing; not READY, TRANSIENT_FAILURE with the error.
    assert ids(quiet, resolver_error=REPORT) == []
    assert ids(once, resolver_error=REPORT) == ["RR-10"]
    assert "RR-10" in ids(failing, resolver_error=REPORT)
    connecting = [Step(up(A), created(A)), Step(sc(1, C))]
    reported = [
        *connecting,
        Step(ev.ResolverError("no dns"), [report(TF)]),
        Step(ev.Pick(1), [act.PickFail(1, err("no dns"))]),
    ]
    assert ids(reported, resolver_error=REPORT) == []
    assert ids(reported, resolver_error=PASS_ON) == ["RR-5"]  # a leaf still connecting
    assert ids(reported, resolver_error=IGNORE) == ["RR-10", "RR-5", "RR-9"]
    still = [*connecting, Step(ev.ResolverError("no dns"), [report(C)])]
    assert ids(still, resolver_error=REPORT) == ["RR-13"]
    assert ids(still, resolver_error=PASS_ON) == []


@pytest.mark.req("RR-9", "RR-13")
def test_an_ignored_resolver_error_is_no_error_a_pick_may_carry() -> None:
    base = [Step(up(A), created(A)), *failed(1, "refused", [report(TF)])]
    error = Step(ev.ResolverError("no dns"), [])
    pick = Step(ev.Pick(1), [act.PickFail(1, err("no dns"))])
    assert ids([*base, error, pick], resolver_error=IGNORE) == ["RR-9"]
    passed_on = Step(ev.ResolverError("no dns"), [report(TF)])
    assert ids([*base, passed_on, pick], resolver_error=PASS_ON) == []


@pytest.mark.req("RR-10", "RR-6")
def test_exit_idle_is_judged_by_the_option() -> None:
    quiet = [*ready(A), Step(ev.ExitIdle(), [])]
    once = [*ready(A), Step(ev.ExitIdle(), [report(R)])]
    assert ids(quiet, exit_idle=ExitIdleHandling.NOOP) == []
    assert ids(once, exit_idle=ExitIdleHandling.NOOP) == ["RR-10"]
    assert ids(quiet, exit_idle=ExitIdleHandling.FORWARD) == ["RR-10"]
    assert ids(once, exit_idle=ExitIdleHandling.FORWARD) == []


def test_option_values_must_be_their_enums() -> None:
    with pytest.raises(TypeError, match="resolver_error must be a ResolverErrorHandling"):
        RoundRobinMonitor(resolver_error="ignore")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="exit_idle must be a ExitIdleHandling"):
        RoundRobinMonitor(exit_idle="noop")  # type: ignore[arg-type]


@pytest.mark.req("HEALTH-4")
def test_leaf_without_health_listener() -> None:
    trace = [Step(up(A), [new(1, A, health=False), act.Connect(1), report(C)])]
    assert ids(trace) == ["HEALTH-4"]


@pytest.mark.req("HEALTH-5")
def test_ready_before_the_first_health_update() -> None:
    trace = [Step(up(A), created(A)), Step(sc(1, C)), Step(sc(1, R), [report(R)])]
    assert ids(trace, health_checking=True) == ["HEALTH-5"]
    waiting = [*trace[:-1], Step(sc(1, R)), Step(ev.HealthStateChange(1, R), [report(R)])]
    assert ids(waiting, health_checking=True) == []


@pytest.mark.req("HEALTH-7", "HEALTH-6")
def test_unhealthy_endpoint_still_picked() -> None:
    trace = [
        Step(up(A, B), created(A, B)),
        Step(sc(1, C)),
        Step(sc(1, R)),
        Step(ev.HealthStateChange(1, R), [report(R)]),
        Step(sc(2, C)),
        Step(sc(2, R)),
        Step(ev.HealthStateChange(2, R), [report(R)]),
        Step(ev.HealthStateChange(1, TF, err("NOT_SERVING")), [report(R)]),
    ]
    assert ids([*trace, *picks(1, 2, 2)], health_checking=True) == []
    assert ids([*trace, *picks(1, 2, 1)], health_checking=True) == ["HEALTH-7"]
    both = Step(ev.HealthStateChange(2, TF, err("NOT_SERVING")), [report(R)])
    assert ids([*trace, both], health_checking=True) == ["HEALTH-7"]


@pytest.mark.req("HEALTH-8")
def test_unhealthy_subchannel_dropped() -> None:
    trace = [
        Step(up(A, B), created(A, B)),
        Step(sc(1, C)),
        Step(sc(1, R)),
        Step(ev.HealthStateChange(1, R), [report(R)]),
        Step(ev.HealthStateChange(1, TF, err("NOT_SERVING")), [act.Shutdown(1), report(C)]),
    ]
    assert "HEALTH-8" in ids(trace, health_checking=True)


@pytest.mark.req("HEALTH-9")
def test_old_health_carried_over_a_reconnection() -> None:
    trace = [
        Step(up(A), created(A)),
        Step(sc(1, C)),
        Step(sc(1, R)),
        Step(ev.HealthStateChange(1, R), [report(R)]),
        Step(sc(1, I), [report(C), act.Connect(1)]),
        Step(sc(1, C)),
        Step(sc(1, R), [report(R)]),
    ]
    assert ids(trace, health_checking=True) == ["HEALTH-9"]


@pytest.mark.req("RR-2", "PF-9")
def test_a_kept_endpoints_new_address_list_reaches_its_child() -> None:
    """An endpoint is keyed by its addresses alone, so one whose READY address gains a server
    name or attributes is kept; its leaf is sent the new list and, as pick_first compares
    addresses with server name and attributes (PF-6), replaces the subchannel (PF-9).  The
    planted bug rr-existing-children-not-updated sends the list to new children only."""
    for changed in (
        Address(A, server_name="backend.example"),
        Address(A, attributes={"zone": "b"}),
    ):
        update = ev.ResolverUpdate([Endpoint([changed])])
        replaced = Step(
            update,
            [
                act.Shutdown(1),
                act.NewSubchannel(2, [changed], health_listener=True),
                act.Connect(2),
                report(C),
            ],
        )
        assert ids([*ready(A), replaced]) == []
        assert ids([*ready(A), Step(update, [report(R)])]) == ["RR-2"]
        # Listed twice, once as before: which repeat reaches the child depends on the random
        # rotation (RR-12; grpc-go rotates, then skips repeats), so both outcomes are legal.
        repeated = ev.ResolverUpdate([Endpoint([changed]), Endpoint([A])])
        assert ids([*ready(A), Step(repeated, [report(R)])]) == []
        assert ids([*ready(A), Step(repeated, replaced.outputs)]) == []
        # A new subchannel for the address as it was listed before is no better.
        stale = Step(update, [act.Shutdown(1), new(2, A), act.Connect(2), report(C)])
        assert ids([*ready(A), stale]) == ["RR-2"]


@pytest.mark.req("RR-2", "PF-9")
def test_a_kept_endpoint_keeps_its_listed_subchannels() -> None:
    """New endpoint attributes (or a new address order) make no new endpoint: its child, and
    the child's subchannels for addresses still listed, stay.  The planted bug
    rr-attribute-change-rebuilds-child closes the child and builds another."""
    update = ev.ResolverUpdate([Endpoint([A], attributes={"zone": "b"})])
    assert ids([*ready(A), Step(update, [report(R)])]) == []
    rebuilt = Step(update, [act.Shutdown(1), new(2, A), act.Connect(2), report(C)])
    assert ids([*ready(A), rebuilt]) == ["RR-2"]
    # A new address order is no new endpoint either.  grpc-js's leaf asks the pool for every
    # listed address and releases the unused one at once (load-balancer-pick-first.ts:476-484
    # at 1.14.7): created and shut down within the update, which rebuilds nothing.
    pair = [
        Step(up([A, B]), [new(1, A), act.Connect(1), report(C)]),
        Step(sc(1, C)),
        Step(sc(1, R), [report(R)]),
    ]
    pooled = Step(up([B, A]), [new(2, B), act.Shutdown(2), report(R)])
    assert ids([*pair, pooled]) == []
    rebuilt_pair = Step(up([B, A]), [act.Shutdown(1), new(2, B), act.Connect(2), report(C)])
    assert ids([*pair, rebuilt_pair]) == ["RR-2"]
    # A failing leaf keeps its subchannel too; a removed endpoint's goes (RR-3).
    failing = [Step(up(A, B), created(A, B)), *failed(1, "refused", [])]
    reordered = ev.ResolverUpdate([Endpoint([B]), Endpoint([A])])
    assert ids([*failing, Step(reordered, [report(C)])]) == []
    assert ids(
        [*failing, Step(reordered, [act.Shutdown(1), new(3, A), act.Connect(3), report(C)])]
    ) == ["RR-2"]
    assert ids([*failing, Step(up(B), [act.Shutdown(1), report(C)])]) == []


@pytest.mark.req("RR-5", "AGG-7")
def test_possible_aggregates() -> None:
    assert possible_aggregates([]) == {TF}
    assert possible_aggregates([frozenset({R}), frozenset({TF})]) == {R}
    assert possible_aggregates([frozenset({C, TF}), frozenset({TF})]) == {C, TF}
    assert possible_aggregates([frozenset({C, R}), frozenset({TF})]) == {C, R}
    assert possible_aggregates([frozenset({I})]) == {C}


@pytest.mark.req("RR-5", "AGG-7")
def test_an_intermediate_idle_report_is_caught() -> None:
    """grpc-go's endpointsharding briefly reports IDLE before its ExitIdle goroutine runs."""
    from refimpl.driver import Driver

    driver = Driver("round_robin")
    inputs: list[ev.Input] = [
        ev.ResolverUpdate([Endpoint(["10.0.0.1:80"])]),
        ev.SubchannelStateChange(1, State.CONNECTING),
        ev.SubchannelStateChange(1, State.READY),
        ev.SubchannelStateChange(1, State.IDLE),
    ]
    trace = [Step(i, driver.step(i)) for i in inputs]
    assert judge(RoundRobinMonitor, trace) == []
    last = trace[-1]
    assert act.UpdateState(State.IDLE) not in last.outputs
    planted = Step(last.input, [act.UpdateState(State.IDLE), *last.outputs])
    found = [x.requirement for x in judge(RoundRobinMonitor, [*trace[:-1], planted])]
    assert "RR-5" in found
