"""Fuzz mode: Hypothesis generates legal input sequences; the monitors judge what comes back.

Each example is one case run live against the adapter: at every step the
fuzzer draws an input the channel could legally produce *now* (a subchannel
leaves IDLE only after the policy asked it to connect, moves only along the
``current`` profile's edges, a ``done`` names a completed pick...).  A sequence
fails when a monitor reports a violation or the adapter crashes, hangs or
refuses a legal input (CONF-10).  Hypothesis then shrinks it, and the shrunk
sequence is written out as a case file (no per-step expectations: the
monitors judge it) that reproduces the failure (CONF-11).

Shrinking replays sequences and expects the same inputs to give the same
outputs.  An adapter that does not declare ``seedable_random`` (grpc-go's: real
randomness, real time) cannot promise that, and since each input is drawn from
the outputs so far, Hypothesis would notice its draws change on replay and stop
with ``FlakyStrategyDefinition``.  Such an adapter is fuzzed with a plain seeded
generator instead: the first failing sequence is reported as found, unshrunk,
and may not fail again when run.  Should Hypothesis still meet non-reproducible
outputs (an adapter that declares ``seedable_random`` wrongly), its ``Flaky``
error becomes a result that says so, or :class:`NonReproducibleError`.

Hypothesis is a development dependency; this module imports it lazily.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

import attrs

from conformance.cases import Case, CaseStep
from conformance.errors import AdapterError, CaseError, ConformanceError
from conformance.runner import DEFAULT_STEP_TIMEOUT, AdapterSession, CaseFailedError, CaseRun
from conformance.transport import Transport
from spec import actions as act
from spec import events as ev
from spec.connectivity import Profile, State, transitions

ADDRESS_POOL = ("10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80", "[2001:db8::1]:443")
CONNECTION_ERROR = {"code": "UNAVAILABLE", "message": "connection refused"}
DELAYS = ("0.001s", "0.1s", "0.25s", "1s", "30s")
REAL_TIME_DELAYS = ("0.001s", "0.1s", "0.25s")
FALLBACK_REQUIREMENT = "CONF-10"  # the sequence was legal, and the adapter failed on it
NOT_SEEDABLE = (
    "not shrunk: the adapter does not declare seedable_random, so the same inputs may give "
    "other outputs; this is the first failing sequence as found, and running it again may "
    "not fail the same way, or at all"
)

T = TypeVar("T")


def _next_states() -> dict[State, tuple[State, ...]]:
    """The channel's own subchannel state changes under the ``current`` profile, from the
    table in spec/connectivity.py; SHUTDOWN is the policy's doing, never an input."""
    moves: dict[State, tuple[State, ...]] = {}
    for t in transitions(Profile.CURRENT):
        if t.target is not State.SHUTDOWN:
            moves[t.source] = (*moves.get(t.source, ()), t.target)
    return moves


# Leaving IDLE happens only after a Connect (CONN-2): see _ChannelModel.moves.
NEXT_STATES: dict[State, tuple[State, ...]] = _next_states()


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


class NonReproducibleError(ConformanceError):
    """Hypothesis stopped because the adapter's outputs were not reproducible, and no
    failure had been found by then."""


@attrs.frozen
class FuzzFailure:
    """A failing sequence (shrunk unless ``shrunk`` is False), ready to be written as a case.

    ``note`` says why a sequence is not shrunk and may not reproduce.
    """

    policy: str
    steps: tuple[CaseStep, ...]
    message: str
    requirements: tuple[str, ...]
    shrunk: bool = True
    note: str = ""

    @property
    def case_id(self) -> str:
        body = json.dumps([s.input for s in self.steps], sort_keys=True)
        digest = hashlib.sha256(f"{self.policy}\n{body}".encode()).hexdigest()[:8]
        return f"fuzz-{self.policy.replace('_', '-')}-{digest}"

    def to_case_json(self) -> dict[str, Any]:
        lines = self.message.splitlines() or ["failure"]
        headline = lines[1] if len(lines) > 1 else lines[0]  # the first violation, if any
        how = " and shrunk by Hypothesis." if self.shrunk else f"; {self.note}."
        return {
            "id": self.case_id,
            "title": f"fuzz{'' if self.shrunk else ' (unshrunk)'}: {self.policy}: {headline[:80]}",
            "description": (
                f"Found by `python -m conformance fuzz`{how} The steps carry "
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


class _Draws(Protocol):
    """Where a sequence's choices come from: Hypothesis (to shrink) or a seeded generator."""

    def choice(self, options: Sequence[T]) -> T: ...

    def coin(self) -> bool: ...

    def endpoints(self) -> list[list[str]]: ...


class _HypothesisDraws:
    def __init__(self, data: Any) -> None:
        from hypothesis import strategies as st

        self._st = st
        self._data = data

    def choice(self, options: Sequence[T]) -> T:
        drawn: T = self._data.draw(self._st.sampled_from(options))
        return drawn

    def coin(self) -> bool:
        return bool(self._data.draw(self._st.booleans()))

    def endpoints(self) -> list[list[str]]:
        st = self._st
        endpoint = st.lists(st.sampled_from(ADDRESS_POOL), min_size=1, max_size=2, unique=True)
        drawn: list[list[str]] = self._data.draw(st.lists(endpoint, max_size=3))
        return drawn


@attrs.define
class _RandomDraws:
    """The same choices from a seeded generator: no replay, so nothing to be inconsistent."""

    rng: random.Random

    def choice(self, options: Sequence[T]) -> T:
        return self.rng.choice(options)

    def coin(self) -> bool:
        return self.rng.random() < 0.5

    def endpoints(self) -> list[list[str]]:
        return [
            self.rng.sample(ADDRESS_POOL, self.rng.randint(1, 2))
            for _ in range(self.rng.randint(0, 3))
        ]


def _draw_input(
    draws: _Draws, run: CaseRun, model: _ChannelModel, delays: Sequence[str]
) -> dict[str, Any]:
    """One input the channel could send now, given what the adapter did so far."""
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
    kind = draws.choice(kinds)
    if kind == "resolver_update":
        return {"type": kind, "endpoints": draws.endpoints()}
    if kind == "subchannel_state":
        ident, addr = draws.choice(movable)
        state = draws.choice(model.moves(ident))
        obj: dict[str, Any] = {"type": kind, "subchannel": addr, "state": state.name}
        if state is State.TRANSIENT_FAILURE:
            obj["error"] = CONNECTION_ERROR
        return obj
    if kind == "pick":
        model.next_pick += 1
        obj = {"type": kind, "pick_id": model.next_pick - 1}
        if draws.coin():
            obj["wait_for_ready"] = True
        return obj
    if kind == "done":
        pick_id = draws.choice(model.completed)
        obj = {"type": kind, "pick_id": pick_id}
        if draws.coin():
            obj["error"] = {"code": "UNAVAILABLE", "message": "stream reset"}
        return obj
    if kind == "advance_time":
        return {"type": kind, "by": draws.choice(delays)}
    if kind == "resolver_error":
        return {"type": kind, "message": "name resolution failed"}
    return {"type": kind}


def _run_sequence(
    session: AdapterSession,
    policy: str,
    draws: _Draws,
    max_steps: int,
    delays: Sequence[str],
) -> FuzzFailure | None:
    """One sequence, live against the adapter: the failure it met, or None."""
    run = CaseRun(Case("fuzz-run", "fuzz", "fuzz", policy, (), ()), session)
    run.start()
    model = _ChannelModel()
    steps: list[CaseStep] = []
    try:
        for index in range(max_steps):
            step = CaseStep(_draw_input(draws, run, model, delays))
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
        run.end_quietly()
        return FuzzFailure(policy, tuple(steps), message, requirements or (FALLBACK_REQUIREMENT,))
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
    """Try ``examples`` sequences; return the failure found, or None when all passed.

    The failure is shrunk when the adapter declares ``seedable_random``; otherwise it
    is the first one found (``shrunk`` False, ``note`` says why).  Raises
    :class:`NonReproducibleError` when Hypothesis met non-reproducible outputs before
    any failure.
    """
    try:
        import hypothesis  # noqa: F401  (only to fail early and clearly without it)
    except ImportError:  # pragma: no cover - hypothesis is in the dev group
        raise CaseError("fuzz mode needs the 'hypothesis' package (the dev group)") from None

    session = AdapterSession(connect, step_timeout)
    try:
        hello = session.ensure_started()
        if policy not in hello.capabilities.policies:
            raise CaseError(f"the adapter does not offer policy {policy!r}")
        delays = DELAYS if hello.capabilities.time == "virtual" else REAL_TIME_DELAYS
        if not hello.capabilities.seedable_random:
            return _fuzz_unshrunk(session, policy, examples, max_steps, seed, delays)
        return _fuzz_and_shrink(session, policy, examples, max_steps, seed, delays)
    finally:
        session.close()


def _fuzz_unshrunk(
    session: AdapterSession,
    policy: str,
    examples: int,
    max_steps: int,
    seed: int,
    delays: Sequence[str],
) -> FuzzFailure | None:
    """The first failing sequence of a seeded generator's: no shrinking, no replay."""
    draws = _RandomDraws(random.Random(seed))
    for _ in range(examples):
        failure = _run_sequence(session, policy, draws, max_steps, delays)
        if failure is not None:
            return attrs.evolve(failure, shrunk=False, note=NOT_SEEDABLE)
    return None


def _fuzz_and_shrink(
    session: AdapterSession,
    policy: str,
    examples: int,
    max_steps: int,
    seed: int,
    delays: Sequence[str],
) -> FuzzFailure | None:
    """Hypothesis generates and shrinks (CONF-11); its Flaky errors become results."""
    from hypothesis import Phase, Verbosity, given, settings
    from hypothesis import seed as fix_seed
    from hypothesis import strategies as st
    from hypothesis.errors import Flaky

    found: list[FuzzFailure] = []

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
        failure = _run_sequence(session, policy, _HypothesisDraws(data), max_steps, delays)
        if failure is not None:
            found.append(failure)
            raise AssertionError(failure.message)

    try:
        one_sequence()
    except AssertionError:
        return found[-1]  # Hypothesis replays the shrunk example last
    except Flaky as err:
        # The same choices met other outputs on replay: the adapter's outputs are not
        # a function of the case's seed and inputs, whatever its handshake says.
        why = (
            f"Hypothesis stopped ({type(err).__name__}): running a sequence again gave "
            "other outputs for the same inputs (so other inputs were drawn next, or the "
            "verdict changed), although the adapter declares seedable_random"
        )
        if not found:
            raise NonReproducibleError(
                f"fuzz {policy}: {why}, before any failure was found; make its outputs "
                "depend only on the case's seed and inputs, or declare seedable_random "
                "false to fuzz without shrinking"
            ) from None
        shortest = min(found, key=lambda f: len(f.steps))
        return attrs.evolve(
            shortest,
            shrunk=False,
            note=f"not fully shrunk: {why}; this is the shortest failing sequence seen, "
            "and running it again may not fail the same way, or at all",
        )
    return None
