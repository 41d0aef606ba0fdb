"""The Requirement model and its validation."""

from __future__ import annotations

import enum
import re

import attrs

from spec.errors import ModelError

_ID = re.compile(r"^(?P<area>[A-Z]+)-(?P<number>[1-9][0-9]*)$")


class RequirementId(str):
    """A requirement's stable ID, ``AREA-N`` such as ``PF-16``; a bad one is a ModelError.

    A ``str`` (so it prints, sorts and compares as its text), validated once when made.
    """

    __slots__ = ()

    def __new__(cls, text: object) -> RequirementId:
        if isinstance(text, RequirementId):
            return text
        if not isinstance(text, str) or _ID.match(text) is None:
            raise ModelError("requirement ID", f"expected AREA-N such as 'CONN-3', got {text!r}")
        return super().__new__(cls, text)

    @property
    def area(self) -> str:
        return self.split("-")[0]

    @property
    def number(self) -> int:
        return int(self.split("-")[1])

    def sort_key(self) -> tuple[str, int]:
        """Area, then number: PF-2 before PF-10."""
        return (self.area, self.number)


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

    id: RequirementId = attrs.field(converter=RequirementId)
    level: Level
    text: str = attrs.field()
    source: str = attrs.field()
    withdrawn: bool = False
    # The catalogue audit (issue 14, spec/catalogue/audit.py): per implementation whose
    # source was read for this requirement, what it says, e.g. "grpc-go v1.85.0: agrees
    # (pickfirst.go:792-800)".  Empty: not audited yet.
    checked: tuple[str, ...] = ()

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
        return self.id.area

    @property
    def number(self) -> int:
        return self.id.number
