"""Rules every policy obeys at the balancer boundary (area LB).

* LB-1: every subchannel an output names was created by the policy.
* LB-2: a shut-down subchannel is never connected or picked again.
* LB-3: ``Close`` shuts down every live subchannel, and nothing follows it.
* LB-4: every ``Pick`` gets exactly one outcome, for that pick.
* LB-5: a Complete pick names a subchannel that is READY when picked.
* LB-6: subchannel IDs are assigned 1, 2, 3... in creation order.
* MODEL-5: Fail and Drop use no status code restricted by gRFC A54.
"""

from __future__ import annotations

from spec import actions as act
from spec import events as ev
from spec.connectivity import State
from spec.monitors.tracker import SubchannelTracker
from spec.trace import Step, Violation
from spec.types import RESTRICTED_CONTROL_PLANE_CODES


class BoundaryMonitor:
    """Judges the policy-independent rules of a trace."""

    def __init__(self) -> None:
        self.tracker = SubchannelTracker()
        self._closed_at: int | None = None

    def observe(self, index: int, step: Step) -> list[Violation]:
        out: list[Violation] = []

        def v(req: str, msg: str) -> None:
            out.append(Violation(req, index, msg))

        if self._closed_at is not None and step.outputs:
            v("LB-3", f"outputs after Close at step {self._closed_at}: {list(step.outputs)}")
        self.tracker.apply_input(step.input)
        outcomes: list[act.PickOutcome] = []
        for output in step.outputs:
            if isinstance(output, act.NewSubchannel):
                expected = len(self.tracker.subchannels) + 1
                if output.subchannel != expected:
                    v("LB-6", f"new subchannel got ID {output.subchannel}, expected {expected}")
            elif isinstance(output, act.Connect | act.Shutdown | act.PickComplete):
                view = self.tracker.subchannels.get(output.subchannel)
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
