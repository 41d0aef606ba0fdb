"""PF-22 under pick_first.resolver_error_with_addresses=ignore (spec/options.py; issue 14)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from spec.monitors.pick_first import Do, Input, Phase, When, find_rule


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
