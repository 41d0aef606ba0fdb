"""Traces and the monitor interface that judges them.

A trace is a sequence of :class:`Step`: one input and every output the policy
produced in response, in order.  A monitor reads a trace step by step and
returns :class:`Violation` s, each naming the requirement it breaks and the step
where it broke.  Monitors never see an implementation, only the trace, so any
implementation (ours, grpc-go's, yours) can be judged by the same code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

import attrs

from spec.actions import OUTPUT_TYPES, Output
from spec.errors import ModelError
from spec.events import INPUT_TYPES, Input


def _to_outputs(value: Iterable[Output]) -> tuple[Output, ...]:
    return tuple(value)


@attrs.frozen
class Step:
    """One input and the outputs it caused."""

    input: Input = attrs.field()
    outputs: tuple[Output, ...] = attrs.field(default=(), converter=_to_outputs)

    @input.validator
    def _check_input(self, _a: attrs.Attribute[Input], value: Input) -> None:
        if not isinstance(value, INPUT_TYPES):
            raise ModelError("Step.input", f"not an input event: {value!r}")

    @outputs.validator
    def _check_outputs(self, _a: attrs.Attribute[Any], value: tuple[Output, ...]) -> None:
        for i, out in enumerate(value):
            if not isinstance(out, OUTPUT_TYPES):
                raise ModelError(f"Step.outputs[{i}]", f"not an output action: {out!r}")


@attrs.frozen
class Violation:
    """A requirement a trace broke, and where."""

    requirement: str
    step: int  # index into the trace; -1 for violations found at the end
    message: str

    def __str__(self) -> str:
        where = "at end of trace" if self.step < 0 else f"at step {self.step}"
        return f"{self.requirement} {where}: {self.message}"


class Monitor(Protocol):
    """Judges a trace incrementally."""

    def observe(self, index: int, step: Step) -> list[Violation]:
        """Read one step; return what it violated."""
        ...

    def finish(self) -> list[Violation]:
        """The trace ended; return violations of end-of-trace rules."""
        ...


def judge(make_monitor: Callable[[], Monitor], trace: Sequence[Step]) -> list[Violation]:
    """Run a fresh monitor over a whole trace."""
    monitor = make_monitor()
    violations: list[Violation] = []
    for index, step in enumerate(trace):
        violations.extend(monitor.observe(index, step))
    violations.extend(monitor.finish())
    return violations
