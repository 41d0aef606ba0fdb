"""The graceful switch monitor catches each rule being broken (one planted bug each).

The traces are what a channel with that bug would produce.  Runs of the reference
channel against the monitor are in tests/refimpl/test_service_config_channel.py.
"""

from __future__ import annotations

import json

import pytest

from spec import actions as act
from spec import events as ev
from spec.connectivity import State
from spec.monitors import graceful_switch as gs
from spec.monitors.graceful_switch import GracefulSwitchMonitor, Phase, Source, report_rule
from spec.options import GracefulSwitchRule, ResolverErrorBeforeConfig
from spec.trace import Step, judge
from spec.types import Duration, Endpoint, Status, StatusCode

A, B, C = "10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"
KNOWN = ("pol_a", "pol_b", "pol_c")
ERR = Status(StatusCode.UNAVAILABLE, "refused")


def _cfg(name: str) -> str:
    return json.dumps({"loadBalancingConfig": [{"unknown_first": {}}, {name: {}}]})


def _update(addr: str, name: str) -> ev.ResolverUpdate:
    return ev.ResolverUpdate([Endpoint([addr])], config=_cfg(name))


def _sc(sc: int, state: State) -> ev.SubchannelStateChange:
    return ev.SubchannelStateChange(sc, state, ERR if state is State.TRANSIENT_FAILURE else None)


GO, TEXT, JAVA, HOLD = (
    GracefulSwitchRule.GRPC_GO,
    GracefulSwitchRule.SPEC_TEXT,
    GracefulSwitchRule.GRPC_JAVA,
    GracefulSwitchRule.HOLD_CONNECTING,
)


def _ids(trace: list[Step], rule: GracefulSwitchRule = GO) -> list[str]:
    """The requirements broken, judged under service_config.graceful_switch = ``rule``."""
    monitor = lambda: GracefulSwitchMonitor(KNOWN, swap_rule=rule)  # noqa: E731
    return [v.requirement for v in judge(monitor, trace)]


# pol_a is READY on subchannel 1; the update switches to pol_b, which creates subchannel 2.
READY_ON_A = [
    Step(_update(A, "pol_a"), [act.NewSubchannel(1, [A]), act.Connect(1)]),
    Step(_sc(1, State.CONNECTING), [act.UpdateState(State.CONNECTING)]),
    Step(_sc(1, State.READY), [act.UpdateState(State.READY)]),
]
SWITCH_TO_B = Step(_update(B, "pol_b"), [act.NewSubchannel(2, [B]), act.Connect(2)])


def test_a_correct_switch_has_no_violation() -> None:
    trace = [
        *READY_ON_A,
        SWITCH_TO_B,
        Step(_sc(2, State.CONNECTING), []),
        Step(_sc(2, State.READY), [act.UpdateState(State.READY), act.Shutdown(1)]),
        Step(_sc(2, State.IDLE), [act.UpdateState(State.IDLE)]),
    ]
    assert _ids(trace) == []


@pytest.mark.req("GS-6")
def test_pending_connecting_reaching_a_ready_channel_is_caught() -> None:
    trace = [
        *READY_ON_A,
        SWITCH_TO_B,
        Step(_sc(2, State.CONNECTING), [act.UpdateState(State.CONNECTING), act.Shutdown(1)]),
    ]
    assert _ids(trace) == ["GS-6"]


@pytest.mark.req("GS-2")
def test_switch_that_closes_the_old_policy_at_once_is_caught() -> None:
    trace = [
        *READY_ON_A,
        Step(_update(B, "pol_b"), [act.Shutdown(1), act.NewSubchannel(2, [B]), act.Connect(2)]),
    ]
    assert _ids(trace) == ["GS-2"]


@pytest.mark.req("GS-7", "GS-8")
def test_swap_that_leaves_the_old_policy_running_is_caught() -> None:
    trace = [
        *READY_ON_A,
        SWITCH_TO_B,
        Step(_sc(2, State.CONNECTING), []),
        Step(_sc(2, State.READY), [act.UpdateState(State.READY)]),
        Step(_sc(1, State.IDLE), [act.UpdateState(State.IDLE)]),  # the old policy still reports
    ]
    assert _ids(trace) == ["GS-7", "GS-8"]


@pytest.mark.req("GS-3")
def test_replaced_pending_policy_left_running_is_caught() -> None:
    trace = [
        *READY_ON_A,
        SWITCH_TO_B,
        Step(_update(C, "pol_c"), [act.NewSubchannel(3, [C]), act.Connect(3)]),
    ]
    assert _ids(trace) == ["GS-3"]
    trace[-1] = Step(
        _update(C, "pol_c"), [act.Shutdown(2), act.NewSubchannel(3, [C]), act.Connect(3)]
    )
    assert _ids(trace) == []


@pytest.mark.req("GS-5")
def test_old_policy_leaving_ready_must_hand_over_connecting() -> None:
    trace = [*READY_ON_A, SWITCH_TO_B, Step(_sc(1, State.IDLE), [act.UpdateState(State.IDLE)])]
    assert _ids(trace) == ["GS-5", "GS-7"]
    trace[-1] = Step(_sc(1, State.IDLE), [act.UpdateState(State.CONNECTING), act.Shutdown(1)])
    assert _ids(trace) == []


@pytest.mark.req("GS-4")
def test_resolver_error_with_no_policy_must_report_transient_failure() -> None:
    assert _ids([Step(ev.ResolverError("dns"), [act.UpdateState(State.CONNECTING)])]) == ["GS-4"]
    assert _ids([Step(ev.ResolverError("dns"), [act.UpdateState(State.TRANSIENT_FAILURE)])]) == []


def test_monitor_stops_judging_when_it_cannot_tell_whose_work_ran() -> None:
    trace = [
        *READY_ON_A,
        SWITCH_TO_B,
        # A timer fired and a state was reported: a swap may or may not have happened.
        Step(ev.TimeAdvanced(Duration.of(seconds=1)), [act.UpdateState(State.CONNECTING)]),
        Step(_sc(2, State.CONNECTING), [act.UpdateState(State.CONNECTING)]),
    ]
    assert _ids(trace) == []


@pytest.mark.req("GS-6")
def test_a_timer_report_with_nothing_pending_keeps_the_monitor_judging() -> None:
    """REPORT_RULES: with no child pending a timer's report cannot be a swap."""
    trace = [
        *READY_ON_A[:2],
        Step(ev.TimeAdvanced(Duration.of(seconds=1)), [act.UpdateState(State.READY)]),
        SWITCH_TO_B,
        Step(_sc(2, State.CONNECTING), [act.UpdateState(State.CONNECTING), act.Shutdown(1)]),
    ]
    assert _ids(trace) == ["GS-6"]


def test_rejected_config_keeps_the_policy_in_force() -> None:
    rejected = act.UpdateRejected("error parsing service config: loadBalancingConfig: ...")
    trace = [
        *READY_ON_A,
        Step(
            _update(B, "pol_b"), [act.NewSubchannel(2, [B]), act.Connect(2), rejected]
        ),  # pol_b's config was invalid: pol_a got the update
        Step(_sc(2, State.CONNECTING), [act.UpdateState(State.READY)]),
    ]
    assert _ids(trace) == []


def test_the_docstring_shows_the_report_rules_the_monitor_walks() -> None:
    """GS-4..GS-8: the table a reader checks against the catalogue is REPORT_RULES itself."""
    assert gs.__doc__ is not None
    assert gs.render_report_rules() in gs.__doc__


def test_every_possible_report_has_exactly_the_expected_rule() -> None:
    """GS-4..GS-8: each (phase, source, state, channel READY) that can occur has a row; the
    combinations without one are those the ownership rules make impossible."""
    impossible = {
        (Phase.NO_CHILD, Source.CURRENT),
        (Phase.NO_CHILD, Source.PENDING),
        (Phase.NO_CHILD, Source.RETIRED),
        (Phase.SERVING, Source.NONE),
        (Phase.SERVING, Source.PENDING),
        (Phase.SWITCHING, Source.NONE),
    }
    for phase in Phase:
        for source in Source:
            for state in State:
                for ready in (False, True):
                    for rule in GracefulSwitchRule:
                        if (phase, source) in impossible:
                            with pytest.raises(AssertionError):
                                report_rule(phase, source, state, ready, rule)
                        else:
                            report_rule(phase, source, state, ready, rule)
    for rule in GracefulSwitchRule:
        held = report_rule(Phase.SWITCHING, Source.PENDING, State.CONNECTING, True, rule)
        assert (held.breaks, held.swap) == ("GS-6", True)
        left = report_rule(Phase.SWITCHING, Source.CURRENT, State.TRANSIENT_FAILURE, True, rule)
        want = (None, False) if rule is HOLD else ("GS-5", True)
        assert (left.breaks, left.swap) == want
    not_ready = report_rule(Phase.SWITCHING, Source.PENDING, State.CONNECTING, False, GO)
    assert not_ready.breaks is None
    assert report_rule(Phase.SWITCHING, Source.PENDING, State.CONNECTING, False, HOLD).breaks
    idle = {
        r: report_rule(Phase.SWITCHING, Source.PENDING, State.IDLE, True, r) for r in (GO, TEXT)
    }
    assert (idle[GO].breaks, idle[TEXT].breaks) == (None, "GS-6")


# --- service_config.graceful_switch: each value's distinguishing behaviour (GS-5, GS-6) ---

PENDING_IDLE = Step(_sc(2, State.IDLE), [act.UpdateState(State.IDLE), act.Shutdown(1)])


@pytest.mark.req("GS-6")
def test_a_pending_idle_is_held_by_the_text_and_swaps_elsewhere() -> None:
    """The text swaps on READY or TRANSIENT_FAILURE only; grpc-go, grpc-java, C-core and
    grpc-js on anything but CONNECTING."""
    trace = [*READY_ON_A, SWITCH_TO_B, Step(_sc(2, State.CONNECTING), []), PENDING_IDLE]
    assert _ids(trace, TEXT) == ["GS-6"]
    for rule in (GO, JAVA, HOLD):
        assert _ids(trace, rule) == []


@pytest.mark.req("GS-5")
def test_under_hold_connecting_the_current_childs_reports_pass_and_swap_nothing() -> None:
    """C-core and grpc-js: the old policy leaving READY is reported as it is; the pending
    child stays pending, so its CONNECTING is still held, in any channel state."""
    # The old child's own TRANSIENT_FAILURE reaching the channel: the elsewhere-held state
    # (CONNECTING; IDLE too under the text) it is not.
    leaves = Step(_sc(1, State.TRANSIENT_FAILURE), [act.UpdateState(State.TRANSIENT_FAILURE)])
    assert _ids([*READY_ON_A, SWITCH_TO_B, leaves], HOLD) == []
    for rule in (GO, TEXT, JAVA):
        assert _ids([*READY_ON_A, SWITCH_TO_B, leaves], rule) == ["GS-5", "GS-7"]
    leaks = Step(_sc(2, State.CONNECTING), [act.UpdateState(State.CONNECTING), act.Shutdown(1)])
    assert _ids([*READY_ON_A, SWITCH_TO_B, leaves, leaks], HOLD) == ["GS-6"]


NOT_READY_ON_A = READY_ON_A[:2]  # pol_a CONNECTING


@pytest.mark.req("GS-6")
def test_a_switch_while_not_ready_swaps_at_once_under_the_text_and_grpc_java() -> None:
    at_once = Step(
        _update(B, "pol_b"),
        [act.Shutdown(1), act.NewSubchannel(2, [B]), act.UpdateState(State.CONNECTING)],
    )
    for rule in (TEXT, JAVA):
        assert _ids([*NOT_READY_ON_A, at_once], rule) == []
        # The swapped-out child must be closed (GS-7) and reaches nothing afterwards (GS-8).
        kept = Step(_update(B, "pol_b"), [act.NewSubchannel(2, [B])])
        assert _ids([*NOT_READY_ON_A, kept], rule) == ["GS-7"]
        late = Step(ev.SubchannelStateChange(1, State.READY), [act.UpdateState(State.READY)])
        assert _ids([*NOT_READY_ON_A, kept, late], rule) == ["GS-7", "GS-8"]
    # grpc-go and hold_connecting do not swap at the switch: closing the old child before
    # any report is GS-2 (grpc-go then swaps on the pending CONNECTING; C-core holds it).
    assert _ids([*NOT_READY_ON_A, at_once], GO) == ["GS-2"]
    assert _ids([*NOT_READY_ON_A, at_once], HOLD) == ["GS-2", "GS-6"]


@pytest.mark.req("GS-6")
def test_a_pending_connecting_is_held_in_any_channel_state_only_under_hold_connecting() -> None:
    switch = Step(_update(B, "pol_b"), [act.NewSubchannel(2, [B]), act.Connect(2)])
    swaps = Step(_sc(2, State.CONNECTING), [act.UpdateState(State.CONNECTING), act.Shutdown(1)])
    assert _ids([*NOT_READY_ON_A, switch, swaps], GO) == []
    assert _ids([*NOT_READY_ON_A, switch, swaps], HOLD) == ["GS-6"]


@pytest.mark.req("SC-14")
def test_a_resolver_error_puts_the_default_in_force_only_under_default_config() -> None:
    # service_config.resolver_error_before_config: a resolver error while no config is in
    # force puts the default policy in force under default_config (grpc-go, so a later
    # rejected config is handled by it: SC-11) and nothing under no_config (the spec text:
    # a later rejected config is an invalid first config, SC-10).
    step = Step(ev.ResolverError("dns"), [act.UpdateState(State.TRANSIENT_FAILURE)])
    for value, in_force in (
        (ResolverErrorBeforeConfig.DEFAULT_CONFIG, "pick_first"),
        (ResolverErrorBeforeConfig.NO_CONFIG, None),
    ):
        monitor = GracefulSwitchMonitor(KNOWN, swap_rule=GO, resolver_error_before_config=value)
        assert monitor.observe(0, step) == []
        assert monitor.in_force == in_force, value
