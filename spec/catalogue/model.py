"""The Requirement model and its validation."""

from __future__ import annotations

import enum
import re

import attrs

from spec.errors import ModelError

_ID = re.compile(r"^(?P<area>[A-Z]+)-(?P<number>[1-9][0-9]*)$")


class Level(enum.Enum):
    """RFC 2119 keywords."""

    MUST = "MUST"
    SHOULD = "SHOULD"
    MAY = "MAY"


@attrs.frozen
class Requirement:
    """One numbered requirement: a stable ID, a level, one sentence, and its source.

    The ID never changes once published, even when the sentence is reworded;
    a withdrawn requirement keeps its ID with ``withdrawn`` set.
    """

    id: str = attrs.field()
    level: Level
    text: str = attrs.field()
    source: str = attrs.field()
    withdrawn: bool = False
    # The catalogue audit (issue 14, spec/catalogue/audit.py): per implementation whose
    # source was read for this requirement, what it says, e.g. "grpc-go v1.85.0: agrees
    # (pickfirst.go:792-800)".  Empty: not audited yet.
    checked: tuple[str, ...] = ()

    @id.validator
    def _check_id(self, _a: attrs.Attribute[str], value: str) -> None:
        if not isinstance(value, str) or _ID.match(value) is None:
            raise ModelError("Requirement.id", f"expected AREA-N such as 'CONN-3', got {value!r}")

    @text.validator
    def _check_text(self, _a: attrs.Attribute[str], value: str) -> None:
        if not value.strip() or not value.rstrip().endswith("."):
            raise ModelError(f"Requirement {self.id}.text", "must be one non-empty sentence")

    @source.validator
    def _check_source(self, _a: attrs.Attribute[str], value: str) -> None:
        if not value.strip():
            raise ModelError(f"Requirement {self.id}.source", "every requirement cites a source")

    @property
    def area(self) -> str:
        match = _ID.match(self.id)
        assert match is not None
        return match["area"]

    @property
    def number(self) -> int:
        match = _ID.match(self.id)
        assert match is not None
        return int(match["number"])
