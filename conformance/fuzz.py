"""Fuzz mode: Hypothesis generates legal input sequences; the monitors judge what comes back.

Each example is one case run live against the adapter: at every step the
fuzzer draws an input the channel could legally produce *now* (a subchannel
leaves IDLE only after the policy asked it to connect, moves only along the
``current`` profile's edges, a ``done`` names a completed pick...).  A sequence
fails when a monitor reports a violation or the adapter crashes, hangs or
refuses a legal input (CONF-10).  Hypothesis then shrinks it, and the shrunk
sequence is written out as a case file (no per-step expectations: the
monitors judge it) that reproduces the failure (CONF-11).

Hypothesis is a development dependency; this module imports it lazily.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from conformance.cases import Case, CaseStep
from conformance.errors import AdapterError, CaseError
from conformance.runner import DEFAULT_STEP_TIMEOUT, AdapterSession, CaseFailedError, CaseRun
from conformance.transport import Transport
from spec import actions as act
from spec import events as ev
from spec.connectivity import State

ADDRESS_POOL = ("10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80", "[2001:db8::1]:443")
CONNECTION_ERROR = {"code": "UNAVAILABLE", "message": "connection refused"}
DELAYS = ("0.001s", "0.1s", "0.25s", "1s", "30s")
REAL_TIME_DELAYS = ("0.001s", "0.1s", "0.25s")
FALLBACK_REQUIREMENT = "CONF-10"  # the sequence was legal, and the adapter failed on it

# Legal subchannel state changes under the ``current`` profile (spec/connectivity.py),
# leaving IDLE only after a Connect (CONN-2).
NEXT_STATES: dict[State, tuple[State, ...]] = {
    State.IDLE: (State.CONNECTING,),
    State.CONNECTING: (State.READY, State.TRANSIENT_FAILURE, State.IDLE),
    State.READY: (State.IDLE,),
    State.TRANSIENT_FAILURE: (State.IDLE,),
}


@attrs.define
class _ChannelModel:
    """What the channel knows, to draw only inputs it could produce next."""

    states: dict[int, State] = attrs.field(factory=dict)
    connect_pending: set[int] = attrs.field(factory=set)
    completed: list[int] = attrs.field(factory=list)
    next_pick: int = 1

    def observe(self, event: ev.Input, outputs: tuple[act.Output, ...]) -> None:
        if isinstance(event, ev.SubchannelStateChange) and event.subchannel in self.states:
            if self.states[event.subchannel] is State.IDLE:
                self.connect_pending.discard(event.subchannel)
            self.states[event.subchannel] = event.state
        if isinstance(event, ev.Done):
            self.completed.remove(event.pick_id)
        for output in outputs:
            if isinstance(output, act.NewSubchannel):
                self.states[output.subchannel] = State.IDLE
            elif isinstance(output, act.Connect):
                if self.states.get(output.subchannel) is State.IDLE:
                    self.connect_pending.add(output.subchannel)
            elif isinstance(output, act.Shutdown):
                self.states.pop(output.subchannel, None)
                self.connect_pending.discard(output.subchannel)
            elif isinstance(output, act.PickComplete):
                self.completed.append(output.pick_id)

    def moves(self, ident: int) -> tuple[State, ...]:
        state = self.states[ident]
        if state is State.IDLE and ident not in self.connect_pending:
            return ()
        return NEXT_STATES[state]


@attrs.frozen
class FuzzFailure:
    """A shrunk failing sequence, ready to be written as a case."""

    policy: str
    steps: tuple[CaseStep, ...]
    message: str
    requirements: tuple[str, ...]

    @property
    def case_id(self) -> str:
        body = json.dumps([s.input for s in self.steps], sort_keys=True)
        digest = hashlib.sha256(f"{self.policy}\n{body}".encode()).hexdigest()[:8]
        return f"fuzz-{self.policy.replace('_', '-')}-{digest}"

    def to_case_json(self) -> dict[str, Any]:
        lines = self.message.splitlines() or ["failure"]
        headline = lines[1] if len(lines) > 1 else lines[0]  # the first violation, if any
        return {
            "id": self.case_id,
            "title": f"fuzz: {self.policy}: {headline[:80]}",
            "description": (
                "Found by `python -m conformance fuzz` and shrunk by Hypothesis. The steps carry "
                "no expectations: the spec monitors judge the trace. Verdict when found: "
                + self.message
            ),
            "requirements": list(self.requirements),
            "policy": self.policy,
            "steps": [{"input": s.input} for s in self.steps],
        }

    def write(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.case_id}.json"
        path.write_text(json.dumps(self.to_case_json(), indent=2) + "\n", encoding="utf-8")
        return path


def _unique_address(run: CaseRun, ident: int) -> str | None:
    """An address that names only this live subchannel (cases name subchannels by address)."""
    for addr in run.names.addresses_of(ident):
        try:
            if run.names.by_address(addr, ()) == ident:
                return addr
        except CaseError:
            continue
    return None


def fuzz(
    connect: Callable[[], Transport],
    policy: str,
    *,
    examples: int = 200,
    max_steps: int = 30,
    seed: int = 0,
    step_timeout: float = DEFAULT_STEP_TIMEOUT,
) -> FuzzFailure | None:
    """Try ``examples`` sequences; return the shrunk failure, or None when all passed."""
    try:
        from hypothesis import Phase, Verbosity, given, settings
        from hypothesis import seed as fix_seed
        from hypothesis import strategies as st
    except ImportError:  # pragma: no cover - hypothesis is in the dev group
        raise CaseError("fuzz mode needs the 'hypothesis' package (the dev group)") from None

    session = AdapterSession(connect, step_timeout)
    hello = session.ensure_started()
    if policy not in hello.capabilities.policies:
        session.close()
        raise CaseError(f"the adapter does not offer policy {policy!r}")
    delays = DELAYS if hello.capabilities.time == "virtual" else REAL_TIME_DELAYS
    found: list[FuzzFailure] = []

    def draw_input(data: Any, run: CaseRun, model: _ChannelModel) -> dict[str, Any]:
        movable = []
        for ident in sorted(model.states):
            addr = _unique_address(run, ident)
            if addr is not None and model.moves(ident):
                movable.append((ident, addr))
        # "close" first: Hypothesis shrinks towards the first choice, so failing
        # sequences shrink towards ending early.
        kinds = ["close", "resolver_update", "pick", "advance_time", "exit_idle", "resolver_error"]
        if movable:
            kinds[2:2] = ["subchannel_state"] * 3  # most of the interest is in state changes
        if model.completed:
            kinds.append("done")
        kind = data.draw(st.sampled_from(kinds))
        if kind == "resolver_update":
            endpoint = st.lists(st.sampled_from(ADDRESS_POOL), min_size=1, max_size=2, unique=True)
            endpoints = data.draw(st.lists(endpoint, max_size=3))
            return {"type": kind, "endpoints": endpoints}
        if kind == "subchannel_state":
            ident, addr = data.draw(st.sampled_from(movable))
            state = data.draw(st.sampled_from(model.moves(ident)))
            obj: dict[str, Any] = {"type": kind, "subchannel": addr, "state": state.name}
            if state is State.TRANSIENT_FAILURE:
                obj["error"] = CONNECTION_ERROR
            return obj
        if kind == "pick":
            model.next_pick += 1
            obj = {"type": kind, "pick_id": model.next_pick - 1}
            if data.draw(st.booleans()):
                obj["wait_for_ready"] = True
            return obj
        if kind == "done":
            pick_id = data.draw(st.sampled_from(model.completed))
            obj = {"type": kind, "pick_id": pick_id}
            if data.draw(st.booleans()):
                obj["error"] = {"code": "UNAVAILABLE", "message": "stream reset"}
            return obj
        if kind == "advance_time":
            return {"type": kind, "by": data.draw(st.sampled_from(delays))}
        if kind == "resolver_error":
            return {"type": kind, "message": "name resolution failed"}
        return {"type": kind}

    @fix_seed(seed)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        report_multiple_bugs=False,
        verbosity=Verbosity.quiet,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
    )
    @given(st.data())
    def one_sequence(data: Any) -> None:
        case = Case("fuzz-run", "fuzz", "fuzz", policy, (), ())
        run = CaseRun(case, session)
        run.start()
        model = _ChannelModel()
        steps: list[CaseStep] = []
        try:
            for index in range(max_steps):
                step = CaseStep(draw_input(data, run, model))
                steps.append(step)
                run.feed(index, step)
                model.observe(run.trace[-1].input, run.trace[-1].outputs)
                if step.kind == "close":
                    break
            run.finish()
        except (CaseFailedError, AdapterError) as err:
            violations = getattr(err, "violations", ())
            requirements = tuple(dict.fromkeys(v.requirement for v in violations))
            message = "\n".join([str(err), *(str(v) for v in violations)])
            found.append(
                FuzzFailure(policy, tuple(steps), message, requirements or (FALLBACK_REQUIREMENT,))
            )
            run.end_quietly()
            raise AssertionError(message) from None

    try:
        one_sequence()
    except AssertionError:
        return found[-1]  # Hypothesis replays the shrunk example last
    finally:
        session.close()
    return None
