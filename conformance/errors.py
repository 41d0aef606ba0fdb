"""The conformance suite's errors: each says what was wrong and where.

* :class:`WireError` -- a JSON value does not have the shape the protocol or the
  case format demands.  ``path`` is the JSON path (``$.steps[2].input.state``);
  for case files ``file`` and ``line`` say where the value sits.
* :class:`CaseError` -- a case is well-formed JSON but cannot be run as written
  (an address that names no live subchannel, a capability used but not declared).
* :class:`UsageError` -- the command line is wrong (an option's value, a filter that
  selects nothing, a report path that cannot be written).
* :class:`AdapterError` -- the adapter broke the protocol: it crashed, hung past
  the step timeout, wrote a malformed line or spoke another protocol version.

Elsewhere, under the same root: ``runner.CaseFailedError`` (a step missed its
expectation or the monitors found violations: the case FAILs),
``fuzz.NonReproducibleError`` and ``requirement_index.UnknownRequirementError``.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

JsonPath = tuple[str | int, ...]


def render_path(path: Sequence[str | int]) -> str:
    """``("steps", 2, "input")`` -> ``$.steps[2].input``."""
    text = "$"
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


class ConformanceError(Exception):
    """Base of every error the conformance suite raises."""


class WireError(ConformanceError, ValueError):
    """A JSON value has the wrong shape; names the JSON path and, for files, file and line."""

    def __init__(
        self, path: JsonPath, problem: str, *, file: str | None = None, line: int | None = None
    ) -> None:
        self.path = tuple(path)
        self.problem = problem
        self.file = file
        self.line = line
        super().__init__(self._message())

    def _message(self) -> str:
        where = render_path(self.path)
        if self.file is not None:
            where = f"{self.file}:{self.line}: {where}" if self.line else f"{self.file}: {where}"
        return f"{where}: {self.problem}"

    def located(self, file: str, line: int | None) -> WireError:
        """The same error, placed in ``file`` at ``line``."""
        return WireError(self.path, self.problem, file=file, line=line)


class CaseError(ConformanceError):
    """A case cannot be run as written; the message names the case and step."""


class UsageError(ConformanceError):
    """The command line is wrong; the message names the option and what it allows."""


class AdapterFault(enum.Enum):
    """How an adapter broke the protocol (each makes the case ERROR, CONF-3)."""

    CRASHED = "crashed"
    TIMED_OUT = "timed out"
    MALFORMED = "malformed message"
    VERSION = "protocol version mismatch"
    REFUSED = "adapter reported an error"


class AdapterError(ConformanceError):
    """The adapter failed; ``stderr_tail`` holds the last lines it wrote to stderr."""

    def __init__(self, fault: AdapterFault, detail: str, stderr_tail: str = "") -> None:
        self.fault = fault
        self.detail = detail
        self.stderr_tail = stderr_tail
        super().__init__(f"adapter {fault.value}: {detail}")
