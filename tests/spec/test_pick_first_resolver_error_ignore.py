"""PF-22 under pick_first.resolver_error_with_addresses=ignore (spec/options.py; issue 14)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from spec import actions as act
from spec import events as ev
from spec.connectivity import State
from spec.monitors.pick_first import Do, Input, Phase, PickFirstMonitor, When, find_rule
from spec.options import LostSubchannel, ResolverErrorWithAddresses, SubchannelCreation
from spec.trace import Step, judge
from tests.refimpl.test_pick_first import A1, A2, new, sc, update

I, C, R, TF = State.IDLE, State.CONNECTING, State.READY, State.TRANSIENT_FAILURE


def _holds(**values: str) -> Callable[[When], bool]:
    def holds(when: When) -> bool:
        return values.get(when.key.rpartition(".")[2]) == when.value

    return holds


@pytest.mark.req("PF-22")
def test_ignore_reports_the_error_in_idle_but_keeps_the_list() -> None:
    """Holding nothing (the lost subchannel released), ignore reports the error and stays
    IDLE with its list, so ExitIdle still connects (grpc-js load-balancer-pick-first.ts:
    519-528, 554-560); it used to drop the list."""
    holds = _holds(resolver_error_with_addresses="ignore", lost_subchannel="released")
    rule = find_rule(Phase.IDLE, Input.RESOLVER_ERROR, holds)
    done = [e.do for e in rule.effects]
    assert done == [Do.REPORT_RESOLVER_ERROR, Do.STAY_IDLE]
    assert rule.next == frozenset({Phase.IDLE})


@pytest.mark.req("PF-22")
def test_ignore_does_nothing_while_it_holds_a_subchannel() -> None:
    """Holding the lost subchannel (kept), ignore changes nothing."""
    holds = _holds(resolver_error_with_addresses="ignore", lost_subchannel="kept")
    rule = find_rule(Phase.IDLE, Input.RESOLVER_ERROR, holds)
    assert rule.effects == ()
    assert rule.stays


@pytest.mark.req("PF-11")
def test_exit_idle_after_an_error_in_idle_may_create_the_list_eagerly() -> None:
    """A pass that ExitIdle starts after a resolver error reported in IDLE (phase IDLE,
    TRANSIENT_FAILURE reported) may create every subchannel under eager creation: the option
    covers any pass start ('every listed address's as a pass starts', spec/options.py). Found
    by explore on grpc-js (explore-pick-first-00ecd272); the monitor used to offer the eager
    choice only when IDLE was the last report."""

    error = ev.ResolverError("name resolution failed")
    trace = [
        Step(update(A1, A2), [act.UpdateState(C), new(1, A1), new(2, A2), act.Connect(1)]),
        Step(sc(1, C), []),
        Step(sc(1, R), [act.Shutdown(2), act.UpdateState(R)]),
        Step(sc(1, I), [act.UpdateState(I), act.Shutdown(1), act.RequestReresolution()]),
        Step(error, [act.UpdateState(TF)]),
        Step(ev.ExitIdle(), [act.UpdateState(C), new(3, A1), new(4, A2), act.Connect(3)]),
    ]

    def monitor(creation: SubchannelCreation) -> Callable[[], PickFirstMonitor]:
        return lambda: PickFirstMonitor(
            lost_subchannel=LostSubchannel.RELEASED,
            resolver_error_with_addresses=ResolverErrorWithAddresses.IGNORE,
            subchannel_creation=creation,
        )

    found = [v.requirement for v in judge(monitor(SubchannelCreation.EAGER), trace)]
    assert found == []
    lazy = [v.requirement for v in judge(monitor(SubchannelCreation.LAZY), trace)]
    assert "PF-11" in lazy  # lazy still creates only the address the pass reaches
