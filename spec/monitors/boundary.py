"""Rules every policy obeys at the balancer boundary (area LB).

* LB-1: every subchannel an output names was created by the policy.
* LB-2: a shut-down subchannel is never connected or picked again.
* LB-3: ``Close`` shuts down every live subchannel, and nothing follows it.
* LB-4: every ``Pick`` gets exactly one outcome, for that pick.
* LB-5: a Complete pick names a subchannel that is READY when picked.
* LB-6: subchannel IDs are assigned 1, 2, 3... in creation order.
* MODEL-5: Fail and Drop use no status code restricted by gRFC A54.

It also judges the subchannel machine as the trace shows it (the inputs are the
channel's side, so these catch a bad case file or a bad adapter, not a bad policy):

* CONN-1..CONN-10: each subchannel's reported states follow an edge of the
  transition table of the profile in force, starting from IDLE; SHUTDOWN is
  never reported by a state change (only the policy shuts a subchannel down).
* CONN-2 / CONN-11: a subchannel leaves IDLE for CONNECTING only after the policy
  asked it to connect while it was IDLE.

How this monitor is derived
---------------------------
Independent (issue 17): per-step invariants over the subchannels a trace names
(LB-1..LB-6, MODEL-5), and the subchannel machine judged edge by edge against
the transition table of :mod:`spec.connectivity` (CONN-*), which is the spec's
own table, not the reference's.  No policy is modelled.

"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from spec import actions as act
from spec import events as ev
from spec.connectivity import Profile, State, find_transition
from spec.monitors.tracker import SubchannelTracker
from spec.trace import Step, Violation
from spec.types import RESTRICTED_CONTROL_PLANE_CODES


class BoundaryMonitor:
    """Judges the policy-independent rules of a trace."""

    def __init__(self, profile: Profile = Profile.CURRENT) -> None:
        self.profile = profile
        self.tracker = SubchannelTracker()
        self._closed_at: int | None = None
        self._connect_pending: set[int] = set()  # asked to connect while IDLE

    def _judge_state_change(self, change: ev.SubchannelStateChange) -> tuple[str, str] | None:
        """Why this state change could not have come from a real subchannel, if it could not."""
        view = self.tracker.subchannels.get(change.subchannel)
        if view is None or view.shut_down:
            return None  # a notification racing with creation/shutdown: LB-1/LB-2 territory
        source, target = view.state, change.state
        edge = find_transition(source, target, self.profile)
        if edge is None or target is State.SHUTDOWN:
            return (
                find_requirement(source, target),
                f"subchannel {change.subchannel} went {source.name} -> {target.name}, "
                f"not an edge of profile {self.profile.value!r}",
            )
        if (
            source is State.IDLE
            and target is State.CONNECTING
            and change.subchannel not in self._connect_pending
        ):
            return (
                "CONN-2",
                f"subchannel {change.subchannel} left IDLE but the policy never asked it "
                "to connect there",
            )
        return None

    def observe(self, index: int, step: Step) -> list[Violation]:
        out: list[Violation] = []

        def v(req: str, msg: str) -> None:
            out.append(Violation(req, index, msg))

        if self._closed_at is not None and step.outputs:
            v("LB-3", f"outputs after Close at step {self._closed_at}: {list(step.outputs)}")
        if isinstance(step.input, ev.SubchannelStateChange):
            problem = self._judge_state_change(step.input)
            if problem is not None:
                v(*problem)
            # Any state change consumes a pending connect request.
            self._connect_pending.discard(step.input.subchannel)
        self.tracker.apply_input(step.input)
        outcomes: list[act.PickOutcome] = []
        for output in step.outputs:
            if isinstance(output, act.NewSubchannel):
                expected = len(self.tracker.subchannels) + 1
                if output.subchannel != expected:
                    v("LB-6", f"new subchannel got ID {output.subchannel}, expected {expected}")
            elif isinstance(
                output, act.Connect | act.Shutdown | act.PickComplete | act.UpdateAddresses
            ):
                view = self.tracker.subchannels.get(output.subchannel)
                if (
                    isinstance(output, act.Connect)
                    and view is not None
                    and view.state is State.IDLE
                    and not view.shut_down
                ):
                    self._connect_pending.add(output.subchannel)  # CONN-11: only IDLE arms it
                name = type(output).__name__
                if view is None:
                    v("LB-1", f"{name} names subchannel {output.subchannel}, never created")
                elif view.shut_down and not isinstance(output, act.Shutdown):
                    v("LB-2", f"{name} on subchannel {output.subchannel} after it was shut down")
                elif isinstance(output, act.PickComplete) and view.state is not State.READY:
                    v(
                        "LB-5",
                        f"pick {output.pick_id} chose subchannel {output.subchannel} "
                        f"in {view.state.name}",
                    )
            if (
                isinstance(output, act.PickFail | act.PickDrop)
                and output.status.code in RESTRICTED_CONTROL_PLANE_CODES
            ):
                v("MODEL-5", f"pick {output.pick_id} failed with {output.status.code.name}")
            if isinstance(output, act.PickComplete | act.PickQueue | act.PickFail | act.PickDrop):
                outcomes.append(output)
            self.tracker.apply_output(output)
        if isinstance(step.input, ev.Pick):
            ids = [o.pick_id for o in outcomes]
            if ids != [step.input.pick_id]:
                v("LB-4", f"pick {step.input.pick_id} got outcomes for picks {ids}")
        elif outcomes:
            v("LB-4", f"pick outcomes without a Pick input: {outcomes}")
        if isinstance(step.input, ev.Close):
            self._closed_at = index
            left = [s.ident for s in self.tracker.live()]
            if left:
                v("LB-3", f"Close left subchannels {left} running")
        return out

    def finish(self) -> list[Violation]:
        return []

    def canonical_state(self, name: Callable[[int], int]) -> tuple[Any, ...]:
        """What later judging depends on, subchannels renamed by ``name`` (conformance explore):
        the step index of Close only appears in messages."""
        pending = sorted(name(i) for i in self._connect_pending if name(i))
        return (self.tracker.canonical_state(name), self._closed_at is not None, tuple(pending))

    def may_connect(self, ident: int) -> bool:
        """Whether subchannel ``ident`` may leave IDLE now: the policy asked it to (CONN-2)."""
        return ident in self._connect_pending


def find_requirement(source: State, target: State) -> str:
    """The requirement an illegal edge breaks: the one governing its target state."""
    return (
        {
            State.CONNECTING: "CONN-2",
            State.READY: "CONN-3",
            State.TRANSIENT_FAILURE: "CONN-4",
            State.IDLE: "CONN-5",
            State.SHUTDOWN: "CONN-8",
        }[target]
        if source is not target
        else "CONN-9"
    )
