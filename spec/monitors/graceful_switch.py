"""Graceful switch rules, judged on traces of a channel driven by whole service configs.

The trace does not say which child policy produced an output, so the monitor
works out ownership itself, from the spec alone:

* It reads each ``ResolverUpdate.config`` (a service config) with a small
  selection rule of its own -- the first ``loadBalancingConfig`` entry whose name
  is in ``known_policies``, else ``loadBalancingPolicy`` (unknown -> the default),
  else the default -- and so knows when an update switches policy (SC-1, SC-6,
  SC-7).  An update the channel rejected with "error parsing service config"
  keeps the config in force (SC-11); one without a config keeps it too (SC-12,
  grpc-go's rule).
* A subchannel belongs to the child that created it: subchannels created while
  handling a resolver update, resolver error or ExitIdle belong to the latest
  child (GS-4); those created while handling a subchannel's event belong to that
  subchannel's owner; a pick runs the current child's picker.  Timer and Done
  steps do not say whose work ran: their new subchannels have no known owner,
  and if such a step reports a state while a switch is pending, the monitor
  cannot tell whether a swap happened and stops judging (it never guesses).

Rules checked:

* GS-2: a switching update does not touch the current child: none of its
  subchannels is shut down in that step unless a swap happened first.
* GS-3: a newer pending child replaces an older one: all of the older pending
  child's subchannels are shut down in that step.
* GS-4: a resolver error before any child exists reports TRANSIENT_FAILURE.
* GS-5: when the current child leaves READY while a child is pending, the
  channel reports the pending child's held state, which is always CONNECTING
  (any other pending report would already have swapped it in).
* GS-6: a pending child's CONNECTING never reaches a READY channel.
* GS-7: by the end of a step with a swap, every subchannel of the old child is
  shut down.
* GS-8: a child that was swapped out or replaced reports nothing more.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from spec import actions as act
from spec import events as ev
from spec.connectivity import State
from spec.trace import Step, Violation

CONFIG_REJECTION_PREFIX = "error parsing service config"  # SC-10, SC-11


@attrs.define(eq=False)
class _Child:
    name: str
    subchannels: set[int] = attrs.field(factory=set)  # live ones
    retired: bool = False


class _Invalid:
    """The monitor's own reading found the service config invalid."""


_INVALID = _Invalid()
_Report = Callable[[str, str], None]


class GracefulSwitchMonitor:
    """Judges GS rules on a trace of ``refimpl.service_config_channel``-style channel driving."""

    def __init__(self, known_policies: Iterable[str], default_policy: str = "pick_first") -> None:
        self.known = frozenset(known_policies)
        self.default = default_policy
        self.current: _Child | None = None
        self.pending: _Child | None = None
        self.owner: dict[int, _Child] = {}
        self.in_force: str | None = None  # the policy of the service config in force
        self.channel_state: State | None = None
        self.lost_at: int | None = None  # the step after which the monitor stopped judging
        self.closed = False
        # Per step: an update for another policy, and the older pending child it replaced.
        self._switching = False
        self._replaced: _Child | None = None

    # --- the monitor's own reading of a service config ---

    def _select(self, config: Any) -> str | _Invalid | None:
        """The policy a service config names; None when there is no config."""
        if config is None:
            return None
        if isinstance(config, str):
            try:
                config = json.loads(config)
            except ValueError:
                return _INVALID
        if not isinstance(config, dict):
            return _INVALID
        entries = config.get("loadBalancingConfig")
        if entries is not None:
            if not isinstance(entries, list):
                return _INVALID
            for entry in entries:
                if not isinstance(entry, dict) or len(entry) != 1:
                    return _INVALID
                (name,) = entry
                if name in self.known:
                    return str(name)
            return _INVALID
        name = config.get("loadBalancingPolicy")
        if isinstance(name, str):
            return name if name in self.known else self.default
        return self.default if name is None else _INVALID

    # --- judging ---

    def _latest(self) -> _Child | None:
        return self.pending if self.pending is not None else self.current

    def _target(self, index: int, step: Step) -> _Child | str | None:
        """Which child handles this input: a child, None (no child), or "unknown"."""
        event = step.input
        if isinstance(event, ev.ResolverUpdate):
            return self._on_update(index, step, event)
        if isinstance(event, ev.ResolverError):
            self.in_force = self.in_force or self.default  # SC-14
            return self._latest()
        if isinstance(event, ev.ExitIdle):
            return self._latest()
        if isinstance(event, ev.SubchannelStateChange | ev.HealthStateChange | ev.OobLoadReport):
            return self.owner.get(event.subchannel, "unknown")
        if isinstance(event, ev.Pick):
            return self.current
        return "unknown"  # TimeAdvanced, Done: any child's timer or callback may have run

    def _on_update(self, index: int, step: Step, event: ev.ResolverUpdate) -> _Child | str | None:
        rejected = any(
            isinstance(o, act.UpdateRejected) and o.reason.startswith(CONFIG_REJECTION_PREFIX)
            for o in step.outputs
        )
        if rejected:
            if self.in_force is None:
                return None  # SC-10: no policy involved
            name = self.in_force  # SC-11
        else:
            selected = self._select(event.config)
            if isinstance(selected, _Invalid):
                self.lost_at = index  # accepted although this reading finds it invalid
                return "unknown"
            name = selected or self.in_force or self.default  # SC-12 (keep previous)
        self.in_force = name
        latest = self._latest()
        if latest is None:
            self.current = _Child(name)
            return self.current
        if latest.name == name:
            return latest  # GS-1
        if self.pending is not None:
            self.pending.retired = True
            self._replaced = self.pending
        self.pending = _Child(name)
        self._switching = True
        return self.pending

    def observe(self, index: int, step: Step) -> list[Violation]:
        out: list[Violation] = []
        if self.closed or self.lost_at is not None:
            return out

        def v(req: str, msg: str) -> None:
            out.append(Violation(req, index, msg))

        self._replaced = None
        self._switching = False
        if isinstance(step.input, ev.Close):
            self.closed = True
            return out
        target = self._target(index, step)
        if self.lost_at is not None:
            return out
        before = self.current
        swapped_out: list[_Child] = []
        for output in step.outputs:
            if isinstance(output, act.NewSubchannel) and isinstance(target, _Child):
                target.subchannels.add(output.subchannel)
                self.owner[output.subchannel] = target
            elif isinstance(output, act.Shutdown):
                owner = self.owner.get(output.subchannel)
                if owner is not None:
                    owner.subchannels.discard(output.subchannel)
                    if self._switching and owner is before and not swapped_out:
                        v(
                            "GS-2",
                            f"subchannel {output.subchannel} of the current child "
                            f"{owner.name!r} was shut down by an update for another policy",
                        )
            elif isinstance(output, act.UpdateState) and not swapped_out:
                swap = self._judge_report(index, target, output.state, v)
                if swap is not None:
                    swapped_out.append(swap)
                if self.lost_at is not None:
                    return out
                self.channel_state = output.state
            elif isinstance(output, act.UpdateState):
                self.channel_state = output.state
        for old in swapped_out:
            if old.subchannels:
                v(
                    "GS-7",
                    f"swapped-out child {old.name!r} left subchannels "
                    f"{sorted(old.subchannels)} running",
                )
        if self._replaced is not None and self._replaced.subchannels:
            v(
                "GS-3",
                f"replaced pending child {self._replaced.name!r} left subchannels "
                f"{sorted(self._replaced.subchannels)} running",
            )
        return out

    def _judge_report(
        self, index: int, target: _Child | str | None, state: State, v: _Report
    ) -> _Child | None:
        """Judge one UpdateState; return the child swapped out, if this report is a swap."""
        if target == "unknown":
            if self.pending is not None:
                self.lost_at = index  # maybe a swap, maybe not: stop judging
            return None
        if target is None:
            if self.current is None and state is not State.TRANSIENT_FAILURE:
                v("GS-4", f"with no child policy the channel reported {state.name}")
            return None
        assert isinstance(target, _Child)
        if target.retired:
            v("GS-8", f"child {target.name!r} reported {state.name} after it was retired")
            return None
        if target is self.current:
            if self.pending is None or state is State.READY:
                return None  # GS-5: passed up as is
            if state is not State.CONNECTING:
                v(
                    "GS-5",
                    f"the current child left READY and the channel reported {state.name}, "
                    "not the pending child's held CONNECTING",
                )
            return self._swap()
        if self.channel_state is State.READY and state is State.CONNECTING:
            v("GS-6", f"pending child {target.name!r} reported CONNECTING to a READY channel")
        return self._swap()

    def _swap(self) -> _Child:
        old, new = self.current, self.pending
        assert old is not None
        assert new is not None
        old.retired = True
        self.current, self.pending = new, None
        return old

    def finish(self) -> list[Violation]:
        return []
