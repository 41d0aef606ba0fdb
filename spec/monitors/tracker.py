"""What a monitor knows about the subchannels of a trace, rebuilt from the trace alone.

Policy monitors share this bookkeeping so that each states only its own rules.

How this is derived: bookkeeping only (issue 17) -- each subchannel's addresses,
last state, health and whether it is shut down, as the trace's inputs and
outputs say; it judges nothing and has no counterpart in the reference.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from spec import actions as act
from spec import events as ev
from spec.connectivity import State
from spec.types import Address


@attrs.define
class SubchannelView:
    """One subchannel as the trace shows it."""

    ident: int
    addresses: tuple[Address, ...]
    health_listener: bool
    state: State = State.IDLE
    health: State | None = None  # the last health state delivered, while READY
    shut_down: bool = False
    connects: int = 0  # Connect actions seen


class SubchannelTracker:
    """Follows subchannel creation, state, health and shutdown through a trace."""

    def __init__(self) -> None:
        self.subchannels: dict[int, SubchannelView] = {}
        self.channel_state: State | None = None  # last UpdateState
        self.closed = False

    def live(self) -> list[SubchannelView]:
        return [s for s in self.subchannels.values() if not s.shut_down]

    def by_address(self, addr: str) -> list[SubchannelView]:
        return [s for s in self.live() if any(a.addr == addr for a in s.addresses)]

    def apply_input(self, event: ev.Input) -> None:
        if isinstance(event, ev.SubchannelStateChange):
            view = self.subchannels.get(event.subchannel)
            if view is not None:
                if view.state is State.READY and event.state is not State.READY:
                    view.health = None
                view.state = event.state
        elif isinstance(event, ev.HealthStateChange):
            view = self.subchannels.get(event.subchannel)
            if view is not None:
                view.health = event.state
        elif isinstance(event, ev.Close):
            self.closed = True

    def apply_output(self, output: act.Output) -> None:
        if isinstance(output, act.NewSubchannel):
            self.subchannels[output.subchannel] = SubchannelView(
                output.subchannel, output.addresses, output.health_listener
            )
        elif isinstance(output, act.Shutdown):
            view = self.subchannels.get(output.subchannel)
            if view is not None:
                view.shut_down = True
        elif isinstance(output, act.Connect):
            view = self.subchannels.get(output.subchannel)
            if view is not None:
                view.connects += 1
        elif isinstance(output, act.UpdateAddresses):
            view = self.subchannels.get(output.subchannel)
            if view is not None:
                view.addresses = output.addresses
        elif isinstance(output, act.UpdateState):
            self.channel_state = output.state

    def canonical_state(self, name: Callable[[int], int]) -> tuple[Any, ...]:
        """What later judging depends on, subchannels renamed by ``name`` (conformance explore).

        Shut-down subchannels are left out: every rule treats them alike (LB-2), and
        ``connects`` is a count no rule reads (docs/explore.md).
        """
        live = sorted(
            (name(s.ident), s.addresses, s.health_listener, s.state, s.health) for s in self.live()
        )
        return (tuple(live), self.channel_state, self.closed)
