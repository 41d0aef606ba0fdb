"""An incremental aggregator of child connectivity states.

The same job as grpc-go's ``balancer.ConnectivityStateEvaluator``
(balancer/conn_state_evaluator.go): keep a count per state and answer the
aggregate in O(1) after each child transition, instead of rescanning every
child.  It must agree with :func:`spec.connectivity.aggregate` (AGG-9).
"""

from __future__ import annotations

from spec.connectivity import State


class ConnectivityStateEvaluator:
    """Counts children per state; SHUTDOWN children are not counted (AGG-5)."""

    __slots__ = ("_counts",)

    def __init__(self) -> None:
        self._counts = {
            State.READY: 0,
            State.CONNECTING: 0,
            State.IDLE: 0,
            State.TRANSIENT_FAILURE: 0,
        }

    def record_transition(self, old: State | None, new: State | None) -> State:
        """Record one child moving ``old -> new`` (``None``: not a child yet / any more).

        Returns the aggregate after the change.
        """
        if old is not None and old in self._counts:
            self._counts[old] -= 1
        if new is not None and new in self._counts:
            self._counts[new] += 1
        return self.current_state()

    def current_state(self) -> State:
        for state in (State.READY, State.CONNECTING, State.IDLE):  # AGG-1..AGG-3
            if self._counts[state] > 0:
                return state
        return State.TRANSIENT_FAILURE  # AGG-4 / AGG-6
