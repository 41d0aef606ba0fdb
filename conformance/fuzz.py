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

import collections
import hashlib
import json
import random
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

import attrs

from conformance.cases import Case, CaseStep, ChannelOptions, capabilities_needed
from conformance.errors import AdapterError, CaseError, ConformanceError
from conformance.protocol import SERVICE_CONFIG_POLICY
from conformance.runner import DEFAULT_STEP_TIMEOUT, AdapterSession, CaseFailedError, CaseRun
from conformance.transport import Transport
from spec import actions as act
from spec import events as ev
from spec.connectivity import Profile, State, transitions

ADDRESS_POOL = ("10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80", "[2001:db8::1]:443")
CONNECTION_ERROR = {"code": "UNAVAILABLE", "message": "connection refused"}
# 10 s and 200 s: past weighted_round_robin's default blackout and weight expiration.
DELAYS = ("0.001s", "0.1s", "0.25s", "1s", "30s", "10s", "200s")
REAL_TIME_DELAYS = ("0.001s", "0.1s", "0.25s")
FALLBACK_REQUIREMENT = "CONF-10"  # the sequence was legal, and the adapter failed on it
NOT_SEEDABLE = (
    "not shrunk: the adapter does not declare seedable_random, so the same inputs may give "
    "other outputs; this is the first failing sequence as found, and running it again may "
    "not fail the same way, or at all"
)

T = TypeVar("T")

# Configs sent with resolver updates, per policy: (valid ones, invalid ones).  Without a
# config weighted_round_robin and least_request reject every update (WRR-4, LR-5), so a
# fuzzer that sends none never gets them past their first update.  A policy not listed
# gets no config.  Short periods keep weighted_round_robin's timers busy at fuzz delays.
_WRR_FAST = {"blackoutPeriod": "0s", "weightUpdatePeriod": "0.1s"}
POLICY_CONFIGS: Mapping[str, tuple[tuple[Any, ...], tuple[Any, ...]]] = {
    "pick_first": (
        ({}, {"shuffleAddressList": True}, {"shuffleAddressList": False}),
        ({"shuffleAddressList": "yes"}, [1]),
    ),
    "round_robin": (({},), ()),
    "weighted_round_robin": (
        (
            {**_WRR_FAST, "enableOobLoadReport": True, "oobReportingPeriod": "0.1s"},
            _WRR_FAST,
            {"enableOobLoadReport": True},
            {"errorUtilizationPenalty": 0, "weightExpirationPeriod": "1s", **_WRR_FAST},
            {},
        ),
        ({"blackoutPeriod": "10"}, {"errorUtilizationPenalty": -1}, {"enableOobLoadReport": 1}),
    ),
    "least_request_experimental": (
        ({}, {"choiceCount": 2}, {"choiceCount": 3}, {"choiceCount": 100}),
        ({"choiceCount": 1}, {"choiceCount": "2"}, {"choiceCount": 2.5}),
    ),
    # Whole service configs, as text the resolver delivers (PROTOCOL.md, service config
    # cases): switching between policies, deprecated and unknown names, invalid ones.
    SERVICE_CONFIG_POLICY: (
        (
            '{"loadBalancingConfig": [{"round_robin": {}}]}',
            '{"loadBalancingConfig": [{"pick_first": {"shuffleAddressList": true}}]}',
            "{}",
            '{"loadBalancingPolicy": "round_robin"}',
            '{"loadBalancingPolicy": "no_such_policy"}',
            '{"loadBalancingConfig": [{"no_such_policy": {}},'
            ' {"least_request_experimental": {"choiceCount": 3}}]}',
            '{"loadBalancingConfig": [{"weighted_round_robin": {"blackoutPeriod": "0s"}}]}',
        ),
        (
            "bad json service config",
            '{"loadBalancingConfig": []}',
            '{"loadBalancingConfig": [{"pick_first": {"shuffleAddressList": 1}}]}',
            '{"loadBalancingConfig": [{"round_robin": {}, "pick_first": {}}]}',
        ),
    ),
}
LOAD_REPORTS = (
    {"rps_fractional": 100, "application_utilization": 0.5},
    {"rps_fractional": 100, "cpu_utilization": 0.9, "eps": 10},
    {"rps_fractional": 50, "application_utilization": 1.0},
    {"rps_fractional": 0, "cpu_utilization": 0.5},  # no qps: ignored (WRR-5)
    {"cpu_utilization": 0.2, "mem_utilization": 0.7},
)


@attrs.define
class FuzzStats:
    """What fuzzing exercised for one policy (printed by ``fuzz``; a test asserts on it)."""

    sequences: int = 0
    steps: int = 0
    subchannels_created: int = 0
    picks: int = 0
    picks_completed: int = 0
    states_reached: set[str] = attrs.field(factory=set)
    configs_accepted: int = 0
    configs_rejected: int = 0
    invalid_configs_sent: int = 0
    health_sequences: int = 0
    inputs: collections.Counter[str] = attrs.field(factory=collections.Counter)
    # The policy's last reported state when a resolver error came (IDLE before any report).
    resolver_errors_in: set[str] = attrs.field(factory=set)
    reported: str = "IDLE"  # in the sequence being run
    started: float = attrs.field(factory=time.monotonic)
    # The first failing sequence: how many sequences it took, and how long (before shrinking).
    first_failure_sequence: int | None = None
    first_failure_seconds: float | None = None

    def failed(self) -> None:
        if self.first_failure_sequence is None:
            self.first_failure_sequence = self.sequences
            self.first_failure_seconds = time.monotonic() - self.started

    def record(self, raw: Mapping[str, Any], outputs: Sequence[act.Output]) -> None:
        self.steps += 1
        kind = str(raw["type"])
        self.inputs[kind] += 1
        if kind == "resolver_error":
            self.resolver_errors_in.add(self.reported)
        if kind == "done" and "load_report" in raw:
            self.inputs["done with load_report"] += 1
        for output in outputs:
            if isinstance(output, act.NewSubchannel):
                self.subchannels_created += 1
            elif isinstance(output, act.UpdateState):
                self.states_reached.add(output.state.name)
                self.reported = output.state.name
            elif isinstance(output, act.PickComplete):
                self.picks_completed += 1
        if kind == "pick":
            self.picks += 1
        if kind == "resolver_update" and "config" in raw:
            if any(isinstance(o, act.UpdateRejected) for o in outputs):
                self.configs_rejected += 1
            else:
                self.configs_accepted += 1

    def summary(self, policy: str) -> str:
        states = ", ".join(sorted(self.states_reached)) or "none"
        errors_in = ", ".join(sorted(self.resolver_errors_in)) or "none"
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.inputs.items()))
        return (
            f"fuzz: {policy}: {self.sequences} sequences, {self.steps} steps "
            f"({self.health_sequences} with health checking); subchannels created "
            f"{self.subchannels_created}; picks {self.picks}, completed {self.picks_completed}; "
            f"states reached: {states}; resolver errors in: {errors_in}; "
            f"updates with config accepted {self.configs_accepted}, "
            f"rejected {self.configs_rejected} (invalid configs sent "
            f"{self.invalid_configs_sent}); inputs: {kinds}"
        )


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
    with_health_listener: set[int] = attrs.field(factory=set)

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
                if output.health_listener:
                    self.with_health_listener.add(output.subchannel)
            elif isinstance(output, act.Connect):
                if self.states.get(output.subchannel) is State.IDLE:
                    self.connect_pending.add(output.subchannel)
            elif isinstance(output, act.Shutdown):
                self.states.pop(output.subchannel, None)
                self.connect_pending.discard(output.subchannel)
            elif isinstance(output, act.PickComplete):
                self.completed.append(output.pick_id)

    def ready(self) -> list[int]:
        return sorted(i for i, state in self.states.items() if state is State.READY)

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
    health_checking: bool = False

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
            **self._channel_json(),
            "steps": [{"input": s.input} for s in self.steps],
        }

    def _channel_json(self) -> dict[str, Any]:
        """The channel and capabilities the steps need (the loader refuses them otherwise)."""
        out: dict[str, Any] = {}
        if self.health_checking:
            out["channel"] = {"health_checking": True}
        inputs = [s.input for s in self.steps]
        capabilities = capabilities_needed(self.policy, self.health_checking, inputs)
        if capabilities:
            out["capabilities"] = capabilities
        return out

    def write(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.case_id}.json"
        path.write_text(json.dumps(self.to_case_json(), indent=2) + "\n", encoding="utf-8")
        return path


class _Draws(Protocol):
    """Where a sequence's choices come from: Hypothesis (to shrink) or a seeded generator."""

    def choice(self, options: Sequence[T]) -> T: ...

    def coin(self) -> bool: ...


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


@attrs.define
class _RandomDraws:
    """The same choices from a seeded generator: no replay, so nothing to be inconsistent."""

    rng: random.Random

    def choice(self, options: Sequence[T]) -> T:
        return self.rng.choice(options)

    def coin(self) -> bool:
        return self.rng.random() < 0.5


def _draw_address(draws: _Draws) -> Any:
    """An address: mostly a plain string, sometimes with a server name or attributes
    (which make it another address, PF-6) or balancer attributes (which do not)."""
    addr = draws.choice(ADDRESS_POOL)
    shape = draws.choice(("plain", "plain", "plain", "server_name", "attributes", "balancer"))
    if shape == "server_name":
        return {"addr": addr, "server_name": "backend.example"}
    if shape == "attributes":
        return {"addr": addr, "attributes": {"zone": draws.choice(("a", "b"))}}
    if shape == "balancer":
        return {"addr": addr, "balancer_attributes": {"locality": "l1"}}
    return addr


def _draw_endpoints(draws: _Draws) -> list[Any]:
    """Up to three endpoints of one or two addresses; addresses may repeat within an
    endpoint and across endpoints (duplicates and overlaps), endpoints may carry a weight
    (pick_first's weighted shuffle, A113) and attributes."""
    endpoints: list[Any] = []
    for _ in range(draws.choice((1, 2, 3, 0))):
        addresses = [_draw_address(draws) for _ in range(draws.choice((1, 2)))]
        if draws.coin() and draws.coin():
            endpoint: dict[str, Any] = {"addresses": addresses}
            if draws.coin():
                endpoint["weight"] = draws.choice((1, 4))
            if draws.coin():
                endpoint["attributes"] = {"zone": draws.choice(("a", "b"))}
            endpoints.append(endpoint)
        else:
            endpoints.append(addresses)
    return endpoints


@attrs.frozen
class _Options:
    """What one fuzz run may send, from the policy and the adapter's handshake."""

    delays: Sequence[str]
    valid_configs: tuple[Any, ...] = ()
    invalid_configs: tuple[Any, ...] = ()
    orca: bool = False
    health: bool = False  # the adapter can deliver health states


def _draw_update(draws: _Draws, options: _Options, stats: FuzzStats) -> dict[str, Any]:
    obj: dict[str, Any] = {"type": "resolver_update", "endpoints": _draw_endpoints(draws)}
    if options.valid_configs:
        one_in_four: bool = draws.choice((False, False, False, True))
        if options.invalid_configs and one_in_four:
            obj["config"] = draws.choice(options.invalid_configs)
            stats.invalid_configs_sent += 1
        else:
            obj["config"] = draws.choice(options.valid_configs)
    return obj


def _draw_input(
    draws: _Draws,
    run: CaseRun,
    model: _ChannelModel,
    options: _Options,
    stats: FuzzStats,
) -> dict[str, Any]:
    """One input the channel could send now, given what the adapter did so far."""
    movable = []
    for ident in sorted(model.states):
        addr = run.names.unique_address(ident)
        if addr is not None and model.moves(ident):
            movable.append((ident, addr))
    # Hypothesis favours (and shrinks towards) the first choices: the ones that make
    # progress come first -- an update while there are no subchannels, state changes
    # while some can move -- and "close", which ends the sequence, comes last, so that
    # sequences get far enough for picks to complete (FuzzStats).
    ready = [(i, a) for i in model.ready() if (a := run.names.unique_address(i)) is not None]
    watched = [(i, a) for i, a in ready if i in model.with_health_listener]
    kinds: list[str] = []
    if not model.states:
        kinds.append("resolver_update")
    if model.completed:
        kinds.append("done")  # ends an RPC, with a load report at times
    if ready:
        kinds.append("pick")  # a pick that can complete
        kinds.append("resolver_error")  # resolver errors while READY, too (FuzzStats)
    if run.case.channel.health_checking and watched:
        kinds.append("health_state")
    if options.orca and ready:
        kinds.append("oob_load_report")
    if movable:
        kinds.extend(["subchannel_state"] * 3)  # most of the interest is in state changes
    if model.states and not ready:
        kinds.append("resolver_error")  # early enough to come in every state (FuzzStats)
    for kind in ("pick", "advance_time", "resolver_update", "exit_idle", "resolver_error"):
        if kind not in kinds:
            kinds.append(kind)
    kinds.append("close")
    kind = draws.choice(kinds)
    if kind == "resolver_update":
        return _draw_update(draws, options, stats)
    if kind == "oob_load_report":
        _, addr = draws.choice(ready)
        return {"type": kind, "subchannel": addr, "report": draws.choice(LOAD_REPORTS)}
    if kind == "health_state":
        _, addr = draws.choice(watched)
        health = draws.choice(("READY", "TRANSIENT_FAILURE", "CONNECTING"))
        report: dict[str, Any] = {"type": kind, "subchannel": addr, "state": health}
        if health == "TRANSIENT_FAILURE":
            report["error"] = {"code": "UNAVAILABLE", "message": "health check failed"}
        return report
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
        if options.orca and draws.coin():
            obj["load_report"] = draws.choice(LOAD_REPORTS)
        return obj
    if kind == "advance_time":
        return {"type": kind, "by": draws.choice(options.delays)}
    if kind == "resolver_error":
        return {"type": kind, "message": "name resolution failed"}
    return {"type": kind}


def _run_sequence(
    session: AdapterSession,
    policy: str,
    draws: _Draws,
    max_steps: int,
    options: _Options,
    stats: FuzzStats,
) -> FuzzFailure | None:
    """One sequence, live against the adapter: the failure it met, or None."""
    # Health checking on in every other sequence, when the adapter can deliver health.
    health_checking = options.health and draws.coin()
    channel = ChannelOptions(health_checking=health_checking)
    run = CaseRun(Case("fuzz-run", "fuzz", "fuzz", policy, (), (), channel=channel), session)
    run.start()
    stats.sequences += 1
    stats.health_sequences += health_checking
    stats.reported = "IDLE"
    model = _ChannelModel()
    steps: list[CaseStep] = []
    try:
        for index in range(max_steps):
            step = CaseStep(_draw_input(draws, run, model, options, stats))
            steps.append(step)
            run.feed(index, step)
            model.observe(run.trace[-1].input, run.trace[-1].outputs)
            stats.record(step.input, run.trace[-1].outputs)
            if step.kind == "close":
                break
        run.finish()
    except (CaseFailedError, AdapterError) as err:
        violations = getattr(err, "violations", ())
        requirements = tuple(dict.fromkeys(v.requirement for v in violations))
        message = "\n".join([str(err), *(str(v) for v in violations)])
        run.end_quietly()
        stats.failed()
        return FuzzFailure(
            policy,
            tuple(steps),
            message,
            requirements or (FALLBACK_REQUIREMENT,),
            health_checking=health_checking,
        )
    return None


def fuzz(
    connect: Callable[[], Transport],
    policy: str,
    *,
    examples: int = 200,
    max_steps: int = 30,
    seed: int = 0,
    step_timeout: float = DEFAULT_STEP_TIMEOUT,
    stats: FuzzStats | None = None,
) -> FuzzFailure | None:
    """Try ``examples`` sequences; return the failure found, or None when all passed.

    ``stats``, when given, is filled with what the sequences exercised.

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
        service_config = policy == SERVICE_CONFIG_POLICY and hello.capabilities.service_config
        if policy not in hello.capabilities.policies and not service_config:
            raise CaseError(f"the adapter does not offer policy {policy!r}")
        caps = hello.capabilities
        valid, invalid = POLICY_CONFIGS.get(policy, ((), ()))
        options = _Options(
            delays=DELAYS if caps.time == "virtual" else REAL_TIME_DELAYS,
            valid_configs=valid,
            invalid_configs=invalid,
            orca=caps.orca,
            health=caps.health_listener,
        )
        stats = stats if stats is not None else FuzzStats()
        if not caps.seedable_random:
            return _fuzz_unshrunk(session, policy, examples, max_steps, seed, options, stats)
        return _fuzz_and_shrink(session, policy, examples, max_steps, seed, options, stats)
    finally:
        session.close()


def _fuzz_unshrunk(
    session: AdapterSession,
    policy: str,
    examples: int,
    max_steps: int,
    seed: int,
    options: _Options,
    stats: FuzzStats,
) -> FuzzFailure | None:
    """The first failing sequence of a seeded generator's: no shrinking, no replay."""
    draws = _RandomDraws(random.Random(seed))
    for _ in range(examples):
        failure = _run_sequence(session, policy, draws, max_steps, options, stats)
        if failure is not None:
            return attrs.evolve(failure, shrunk=False, note=NOT_SEEDABLE)
    return None


def _fuzz_and_shrink(
    session: AdapterSession,
    policy: str,
    examples: int,
    max_steps: int,
    seed: int,
    options: _Options,
    stats: FuzzStats,
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
        draws = _HypothesisDraws(data)
        failure = _run_sequence(session, policy, draws, max_steps, options, stats)
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
