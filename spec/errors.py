"""The spec's error hierarchy (small and typed, in the style of h11's ``_util``).

Every error the spec raises derives from :class:`SpecError`, so a caller can
catch the whole family at once, and each subclass says *what* was wrong and
*where*.

* :class:`ModelError` -- a model (address, status, event, action...) was built
  from values that break its invariants.  Also a ``ValueError``.
* :class:`IllegalTransitionError` -- a sequence of connectivity states contains an
  edge the transition relation of the named profile does not allow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spec.connectivity import State


class SpecError(Exception):
    """Base class of every error the spec raises."""


class ModelError(SpecError, ValueError):
    """A model was given a value that breaks one of its invariants.

    ``where`` names the model and field (``"Address.addr"``), ``problem`` says
    what is wrong with the value.
    """

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}")


class IllegalTransitionError(SpecError):
    """A connectivity state sequence takes an edge the profile forbids."""

    def __init__(self, profile: str, source: State, target: State, index: int) -> None:
        self.profile = profile
        self.source = source
        self.target = target
        self.index = index
        super().__init__(
            f"illegal subchannel transition {source.name} -> {target.name} "
            f"at position {index} under profile {profile!r}"
        )
