"""Which rules of a state machine took effect: a rule that feeds the policy nothing did nothing.

A machine mixes in :class:`CountsEffects`, counts every input it feeds the policy
(:meth:`CountsEffects.fed`) and marks its rules with :func:`takes_effect`.  Each call
of a marked rule is logged as effective when the policy got at least one input
during it.  While :func:`recording` is active, every run's log is kept at teardown;
tests/stateful/test_rules_take_effect.py uses that to fail a machine whose rules
mostly do nothing (issue 19).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Concatenate, ParamSpec, TypeVar

import attrs

P = ParamSpec("P")
M = TypeVar("M", bound="CountsEffects")


@attrs.define
class RuleCount:
    """One rule in one run: how often it was called, and how often it fed the policy."""

    calls: int = 0
    effective: int = 0


RunLog = dict[str, RuleCount]  # rule name -> its counts in one run

_recorded: list[RunLog] | None = None


class CountsEffects:
    """Mixin for a state machine: counts inputs fed to the policy and effective rule calls."""

    inputs_fed: int = 0
    rule_log: RunLog

    def fed(self) -> None:
        """Call once per input the machine feeds the policy."""
        self.inputs_fed += 1

    def record_effects(self) -> None:
        """Call from teardown: keeps this run's log while :func:`recording` is active."""
        if _recorded is not None:
            _recorded.append(dict(getattr(self, "rule_log", {})))


def takes_effect(rule: Callable[Concatenate[M, P], None]) -> Callable[Concatenate[M, P], None]:
    """Marks a rule (put it under ``@rule``) whose calls are counted as effective or not."""

    @functools.wraps(rule)
    def counted(self: M, /, *args: P.args, **kwargs: P.kwargs) -> None:
        before = self.inputs_fed
        rule(self, *args, **kwargs)  # a call that raises ends the run: not counted
        if not hasattr(self, "rule_log"):
            self.rule_log = {}
        count = self.rule_log.setdefault(rule.__name__, RuleCount())
        count.calls += 1
        count.effective += self.inputs_fed > before

    return counted


@contextmanager
def recording() -> Iterator[list[RunLog]]:
    """Collects the log of every run that ends while the block runs."""
    global _recorded
    previous, _recorded = _recorded, []
    try:
        yield _recorded
    finally:
        _recorded = previous
