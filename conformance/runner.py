"""Runs cases against an adapter and classifies each as PASS, FAIL, ERROR or SKIPPED.

For each case the runner

1. makes sure an adapter is running and has shaken hands (a fresh process after
   any adapter failure, CONF-3), and SKIPS the case when the adapter lacks its
   policy, profile or a capability (CONF-4);
2. sends ``begin``, then each step's input.  Subchannels named by address in the
   case become the adapter's handles on the wire, and the adapter's handles
   become spec IDs in creation order in the trace (:class:`SubchannelNames`,
   CONF-1, LB-6);
3. checks the step's expectation and feeds the step to the monitors (BoundaryMonitor
   and the policy's own); the case FAILS at the first step that misses its
   expectation or breaks a rule, and PASSES otherwise (CONF-5);
4. turns any adapter failure into ERROR with the adapter's stderr tail.

The runner never imports ``refimpl``: it knows an implementation only through
a :class:`~conformance.transport.Transport`.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from conformance import protocol, wire
from conformance.cases import (
    DROP,
    FAIL,
    QUEUE,
    Case,
    CaseStep,
    Expect,
    Statistical,
    address_label,
    describe_output,
)
from conformance.errors import (
    AdapterError,
    AdapterFault,
    CaseError,
    ConformanceError,
    JsonPath,
    WireError,
    render_path,
)
from conformance.monitors import monitors_for
from conformance.results import CaseResult, Outcome
from conformance.transport import Transport
from spec import actions as act
from spec import events as ev
from spec.connectivity import INITIAL_SUBCHANNEL_STATE, Profile, State, is_legal
from spec.trace import Monitor, Step, Violation
from spec.types import Duration

DEFAULT_STEP_TIMEOUT = 5.0  # seconds; generous for a real-time adapter, and configurable
# The handshake includes starting the process (a JVM, an interpreter importing its
# implementation): it gets its own, longer allowance than a step.
DEFAULT_START_TIMEOUT = 20.0
# After this many cases in a row end with the adapter timing out, the rest are not started
# (each would cost the full step timeout: 13 minutes for the corpus with a hung adapter).
MAX_CONSECUTIVE_TIMEOUTS = 3
# Steps sent ahead at most (CaseRun._run_steps): enough for most statistical steps to go
# out in one write; measured 1.5x the in-process time at 8, 1.3x at 64 and at 256.
WINDOW = 64
UNKNOWN_HANDLE_BASE = 1_000_000  # spec IDs for handles the adapter never announced (LB-1)

Handle = str | int


@attrs.define
class SubchannelRecord:
    ident: int
    handle: Handle
    addresses: tuple[str, ...]
    labels: tuple[str, ...] = ()  # the addresses as messages show them (cases.address_label)
    shut_down: bool = False
    state: State = INITIAL_SUBCHANNEL_STATE  # as the case's subchannel_state inputs set it


class SubchannelNames:
    """The three names of each subchannel of one case: address, adapter handle, spec ID."""

    def __init__(self) -> None:
        self.records: dict[int, SubchannelRecord] = {}
        self._by_handle: dict[Handle, int] = {}
        self._unknown = itertools.count(UNKNOWN_HANDLE_BASE)

    @staticmethod
    def _handle(value: wire.JsonValue, path: JsonPath) -> Handle:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise WireError(path, f"a subchannel handle is a string or integer, got {value!r}")
        return value

    def create(
        self,
        value: wire.JsonValue,
        addresses: tuple[str, ...],
        path: JsonPath,
        labels: tuple[str, ...] = (),
    ) -> int:
        """The adapter announced a new subchannel: give it the next spec ID (LB-6)."""
        handle = self._handle(value, path)
        if handle in self._by_handle:
            raise WireError(path, f"the adapter reused subchannel handle {handle!r}")
        real = [r for r in self.records.values() if r.ident < UNKNOWN_HANDLE_BASE]
        ident = len(real) + 1
        self._by_handle[handle] = ident
        self.records[ident] = SubchannelRecord(ident, handle, addresses, labels or addresses)
        return ident

    def from_handle(self, value: wire.JsonValue, path: JsonPath) -> int:
        """Decode hook: a handle becomes a spec ID.  An unknown handle gets an ID no
        subchannel has, so that the boundary monitor reports it (LB-1)."""
        handle = self._handle(value, path)
        if handle not in self._by_handle:
            ident = next(self._unknown)
            self._by_handle[handle] = ident
            self.records[ident] = SubchannelRecord(ident, handle, (), shut_down=True)
        return self._by_handle[handle]

    def to_handle(self, ident: int) -> wire.JsonValue:
        """Encode hook: a spec ID becomes the adapter's handle."""
        return self.records[ident].handle

    def by_address(self, value: wire.JsonValue, path: JsonPath) -> int:
        """Decode hook for case inputs: the one live subchannel with this address (CONF-1)."""
        addr = wire.expect_str(value, path)
        live = [r for r in self.records.values() if not r.shut_down and addr in r.addresses]
        if len(live) == 1:
            return live[0].ident
        if not live:
            known = sorted(
                {a for r in self.records.values() if not r.shut_down for a in r.addresses}
            )
            raise CaseError(
                f"{render_path(path)}: no live subchannel has address {addr!r} "
                f"(live addresses: {', '.join(known) or 'none'})"
            )
        raise CaseError(
            f"{render_path(path)}: address {addr!r} names {len(live)} live subchannels "
            f"(handles {', '.join(repr(r.handle) for r in live)}); a case address must name one"
        )

    def change_state(self, ident: int, state: State, profile: Profile, path: JsonPath) -> None:
        """A case input moves a subchannel to ``state``: an edge the profile forbids is the
        case's mistake, not the adapter's (an adapter would rightly refuse it, CONN-1..)."""
        record = self.records[ident]
        if not is_legal(record.state, state, profile):
            raise CaseError(
                f"{render_path(path)}: the case asks for an illegal subchannel transition "
                f"{record.state.name} -> {state.name} of {', '.join(record.addresses)} "
                f"(profile {profile.value!r}; spec/connectivity.py lists the legal edges)"
            )
        record.state = state

    def labels_of(self, ident: int) -> tuple[str, ...]:
        """The subchannel's addresses with their attributes, for messages."""
        record = self.records.get(ident)
        return record.labels if record is not None else ()

    def addresses_of(self, ident: int) -> tuple[str, ...]:
        record = self.records.get(ident)
        return record.addresses if record is not None else ()

    def unique_address(self, ident: int) -> str | None:
        """An address that names only this live subchannel (cases name subchannels by
        address), or None when every address it has is shared."""
        for addr in self.addresses_of(ident):
            try:
                if self.by_address(addr, ()) == ident:
                    return addr
            except CaseError:
                continue
        return None

    def apply(self, output: act.Output) -> None:
        if isinstance(output, act.Shutdown) and output.subchannel in self.records:
            self.records[output.subchannel].shut_down = True
        if isinstance(output, act.UpdateAddresses) and output.subchannel in self.records:
            # Later inputs name the subchannel by its new addresses (CONF-1).
            self.records[output.subchannel].addresses = tuple(a.addr for a in output.addresses)


class AdapterSession:
    """A transport plus its handshake; replaced by a fresh one after any failure.

    :meth:`submit_step` sends a step and :meth:`collect_step` reads the oldest reply
    not read yet, so that the runner can judge earlier steps while the adapter works
    on later ones (:meth:`CaseRun._run_steps`).
    """

    def __init__(
        self,
        connect: Callable[[], Transport],
        step_timeout: float,
        start_timeout: float = DEFAULT_START_TIMEOUT,
    ) -> None:
        self._connect = connect
        self.step_timeout = step_timeout
        self.start_timeout = max(start_timeout, step_timeout)
        self._transport: Transport | None = None
        self.hello: protocol.Hello | None = None
        # Why a fresh adapter is not worth starting: its handshake failed or it speaks
        # another protocol version.  run_cases then marks the remaining cases ERROR.
        self.hopeless: str | None = None
        self._seq = itertools.count(1)
        # Steps sent whose replies are not read yet: seq and timeout of each, oldest first.
        self._in_flight: collections.deque[tuple[int, float]] = collections.deque()
        self.late_outputs: list[Any] = []  # the last ``ended`` reply's outputs

    @property
    def transport(self) -> Transport | None:
        """The attached adapter's transport; None when none is attached."""
        return self._transport

    @property
    def active(self) -> bool:
        """Whether an adapter process is attached (False after a failure discarded it)."""
        return self._transport is not None

    def ensure_started(self) -> protocol.Hello:
        if self._transport is not None and self.hello is not None:
            return self.hello
        try:
            self._transport = self._connect()
            self._submit(protocol.start_message())
            reply = self._collect("start", "started", self.start_timeout)
            try:
                hello = protocol.read_started(reply)
            except WireError as err:
                raise self.broken(AdapterFault.MALFORMED, f"bad 'started' reply: {err}") from None
            if hello.protocol != protocol.PROTOCOL_VERSION:
                raise self.broken(
                    AdapterFault.VERSION,
                    f"the adapter speaks protocol {hello.protocol}, "
                    f"the runner speaks {protocol.PROTOCOL_VERSION}",
                )
        except AdapterError as err:
            self.hopeless = f"the adapter's handshake failed: {err}"
            raise
        self.hello = hello
        return hello

    def broken(self, fault: AdapterFault, detail: str) -> AdapterError:
        """Give up on this adapter process: close it, keep its stderr tail for the report."""
        transport = self._transport
        self.discard()
        return AdapterError(fault, detail, transport.stderr_tail() if transport else "")

    def _submit(self, message: wire.JsonObject) -> None:
        assert self._transport is not None
        try:
            self._transport.submit(message)
        except AdapterError:
            self.discard()
            raise

    def _collect(self, sent: str, want: str, timeout: float) -> Any:
        assert self._transport is not None
        try:
            reply = self._transport.collect(timeout)
        except AdapterError:
            self.discard()
            raise
        try:
            kind, body = protocol.read_reply(reply)
        except WireError as err:
            raise self.broken(AdapterFault.MALFORMED, f"bad reply to {sent!r}: {err}") from None
        if kind == "error":
            raise self.broken(AdapterFault.REFUSED, str(body["message"]))
        if kind != want:
            raise self.broken(
                AdapterFault.MALFORMED,
                f"expected {want!r} in reply to {sent!r}, got {kind!r}",
            )
        return body

    def _ask(self, message: wire.JsonObject, want: str) -> Any:
        self._submit(message)
        return self._collect(str(message["type"]), want, self.step_timeout)

    def begin(self, case: Case, options: Mapping[str, str] | None = None) -> None:
        self._ask(protocol.begin_message(case, options), "begun")
        self._seq = itertools.count(1)  # seq numbers a case's step messages from 1

    def submit_step(self, event_json: wire.JsonObject, extra_wait: float = 0.0) -> int:
        """Send one step; :meth:`collect_step` reads the replies in the same order.
        Returns the message's ``seq``."""
        seq = next(self._seq)
        self._submit(protocol.step_message(seq, event_json))
        self._in_flight.append((seq, self.step_timeout + extra_wait))
        return seq

    def collect_step(self) -> list[Any]:
        """The outputs the adapter answered to the oldest step in flight."""
        seq, timeout = self._in_flight.popleft()
        body = self._collect("step", "outputs", timeout)
        if body["seq"] != seq:
            raise self.broken(AdapterFault.MALFORMED, f"reply seq {body['seq']} to step {seq}")
        try:
            return wire.expect_list(body["outputs"], ("outputs",))
        except WireError as err:
            raise self.broken(AdapterFault.MALFORMED, str(err)) from None

    def step(self, event_json: wire.JsonObject, extra_wait: float = 0.0) -> list[Any]:
        self.submit_step(event_json, extra_wait)
        return self.collect_step()

    def end(self) -> None:
        assert self._transport is not None
        while self._in_flight:
            # A case that failed with later steps already sent: their replies are read
            # and dropped (the verdict is made), then the case ends as usual.
            _, timeout = self._in_flight.popleft()
            try:
                self._transport.collect(timeout)
            except AdapterError:
                self.discard()
                raise
        self.late_outputs = self._end_reply_outputs(self._ask(protocol.end_message(), "ended"))

    def _end_reply_outputs(self, body: Any) -> list[Any]:
        """Outputs an adapter reports in ``ended``: those after the case's last step."""
        try:
            return wire.expect_list(body.get("outputs", []), ("outputs",))
        except WireError as err:
            raise self.broken(AdapterFault.MALFORMED, str(err)) from None

    def stderr_tail(self) -> str:
        return self._transport.stderr_tail() if self._transport is not None else ""

    def discard(self) -> None:
        if self._transport is not None:
            self._transport.close()
        self._transport = None
        self.hello = None
        self._in_flight.clear()

    close = discard


class CaseFailedError(ConformanceError):
    """A step missed its expectation or the monitors found violations."""

    def __init__(self, message: str, violations: Iterable[Violation] = ()) -> None:
        super().__init__(message)
        self.violations = tuple(violations)


def describe_input(obj: wire.JsonObject) -> str:
    """A case input in one line (subchannels by address)."""
    kind = str(obj["type"])
    if kind == "resolver_update":
        endpoints = []
        for e in obj["endpoints"]:
            addrs = e["addresses"] if isinstance(e, dict) else e
            endpoints.append("[" + ", ".join(_input_address(a) for a in addrs) + "]")
        return f"resolver_update [{', '.join(endpoints)}]"
    if kind in ("subchannel_state", "health_state"):
        return f"{kind} {obj['subchannel']} -> {obj['state']}"
    if kind in ("pick", "done"):
        return f"{kind} {obj['pick_id']}"
    if kind == "advance_time":
        return f"advance_time {obj['by']}"
    if kind == "resolver_error":
        return f"resolver_error {obj['message']!r}"
    if kind == "oob_load_report":
        return f"oob_load_report {obj['subchannel']}"
    return kind


def _input_address(value: wire.JsonValue) -> str:
    """An address of a case input, with its server name and attributes (address_label)."""
    if isinstance(value, str):
        return value
    try:
        return address_label(wire.address_from_json(value, ()))
    except WireError:
        return str(value)


@attrs.define
class StepVerdict:
    """What the runner gathers over one case step's events, to judge the step at its end."""

    index: int
    step: CaseStep
    events: int  # how many inputs the step sends (``samples`` for a statistical step)
    counts: collections.Counter[str] = attrs.field(factory=collections.Counter)
    last: tuple[act.Output, ...] = ()
    violations: list[Violation] = attrs.field(factory=list)
    judged: int = 0  # events judged so far
    seq: int = 0  # the ``seq`` of the step's last message sent


@attrs.define
class Answered:
    """One event whose reply has been read and decoded but not yet judged."""

    verdict: StepVerdict
    event: ev.Input
    outputs: tuple[act.Output, ...]


class CaseRun:
    """One case against one session."""

    def __init__(self, case: Case, session: AdapterSession) -> None:
        self.case = case
        self.session = session
        self.names = SubchannelNames()
        self.trace: list[Step] = []
        self.trace_step: list[int] = []  # trace index -> case step index
        self.monitors: list[Monitor] = []
        self.real_time = False
        self.at_step: int | None = None  # the step an error or failure belongs to
        self.fault: AdapterFault | None = None  # how the adapter failed, when it did
        self._sent: collections.deque[tuple[StepVerdict, ev.Input]] = collections.deque()
        self._read: collections.deque[Answered] = collections.deque()  # read, not judged
        # Repeat blocks (conformance/across.py): block -> per repetition, what was observed.
        self._observed: dict[int, list[list[str]]] = {}
        self._ended = False  # finish() sent ``end`` (and judged its late outputs)

    def start(self) -> list[str]:
        """Handshake if needed and begin the case; returns what the adapter lacks (SKIP)."""
        hello = self.session.ensure_started()
        missing = hello.capabilities.missing_for(self.case)
        if not missing:
            self.real_time = hello.capabilities.time == "real"
            options = hello.capabilities.options_for(self.case)
            monitor_set = monitors_for(
                self.case.policy,
                config=self.case.config,
                profile=self.case.channel.profile,
                health_checking=self.case.channel.health_checking,
                spec_options=options,
                known_policies=hello.capabilities.policies,
            )
            self.monitors = [make() for make in monitor_set.factories]
            configurable = {k: options[k] for k, _ in hello.capabilities.configurable_options}
            self.session.begin(self.case, configurable)
        return missing

    def feed(self, index: int, step: CaseStep) -> None:
        """Run one step and judge it; raises CaseFailedError, CaseError or AdapterError.

        One exchange at a time (fuzz mode chooses each input from the last outputs).
        """
        self.at_step = index
        verdict = self._verdict(index, step)
        for raw in self._inputs(step):
            event = self._resolve(index, raw)
            verdict.seq = self._submit(event)
            self._judge(Answered(verdict, event, self._collect()))

    def finish(self) -> None:
        self.session.late_outputs = []
        self.session.end()
        self._ended = True
        self._judge_late_outputs(self.session.late_outputs)
        final = [self.by_case_step(v) for m in self.monitors for v in m.finish()]
        if final:
            raise CaseFailedError("the monitors found violations at the end of the trace", final)

    def _judge_late_outputs(self, raw_outputs: list[Any]) -> None:
        """Outputs that arrived after the last step are judged, not dropped (issue 14).

        They are judged as the outputs of time passing after the last step (an
        ``advance_time`` of 0 in the trace): nothing the runner sent explains them.
        """
        if not raw_outputs:
            return
        outputs = []
        for i, raw in enumerate(raw_outputs):
            path: JsonPath = ("ended", "outputs", i)
            try:
                if isinstance(raw, dict) and raw.get("type") == "new_subchannel":
                    addresses = wire.addresses_from_json(raw.get("addresses"), (*path, "addresses"))
                    self.names.create(raw.get("subchannel"), tuple(a.addr for a in addresses), path)
                output = wire.output_from_json(raw, path, self.names.from_handle)
            except WireError as err:
                raise self.session.broken(AdapterFault.MALFORMED, f"bad output: {err}") from None
            outputs.append(output)
        for output in outputs:
            self.names.apply(output)
        step = Step(ev.TimeAdvanced(Duration.of()), tuple(outputs))
        self.trace.append(step)
        self.trace_step.append(len(self.case.steps) - 1)
        index = len(self.trace) - 1
        found = [self.by_case_step(v) for m in self.monitors for v in m.observe(index, step)]
        if found:
            raise CaseFailedError("outputs after the last step broke the spec", found)

    def run(self) -> CaseResult:
        started = time.monotonic()

        def result(outcome: Outcome, message: str = "", **kw: Any) -> CaseResult:
            return CaseResult(
                self.case,
                outcome,
                message,
                step=None if self.at_step is None else self._file_index(self.at_step),
                duration=time.monotonic() - started,
                trace=tuple(self.trace),
                **kw,
            )

        try:
            missing = self.start()
            if missing:
                return result(Outcome.SKIPPED, "the adapter lacks " + ", ".join(missing))
            self._run_steps()
            self.at_step = None
            self.finish()
        except CaseFailedError as failure:
            self.end_quietly()
            return result(Outcome.FAIL, str(failure), violations=failure.violations)
        except CaseError as err:
            self.end_quietly()
            return result(Outcome.ERROR, f"case error: {err}")
        except AdapterError as err:
            self.fault = err.fault
            return result(Outcome.ERROR, str(err), stderr_tail=err.stderr_tail)
        return result(Outcome.PASS)

    def _run_steps(self) -> None:
        """Every step, the adapter working on later events while the runner judges earlier ones.

        Judging a reply (monitors, expectations) costs the runner about what answering
        costs the adapter, and a round trip through a pipe costs as much again; so the
        runner keeps the adapter busy.  An input that names a subchannel by address
        needs every earlier reply read first (a reply may create or shut down
        subchannels, CONF-1); any other input is sent at once, up to ``WINDOW``
        requests in flight (the picks of a statistical step are most of the traffic).
        Verdicts are those of a strict one-at-a-time run (:meth:`feed`):

        * replies are read, and events judged, in order, so the trace and the monitors
          see exactly the same steps;
        * an error raised when sending event j (an address no live subchannel has, an
          adapter that is gone) or when reading its reply is raised only after every
          earlier event was judged: a FAIL before j comes first, as if j was never sent;
        * judging reads only the addresses of announced subchannels, which later
          replies cannot change (a shutdown only changes which subchannels are live);
        * after a FAIL, the replies still in flight are read and dropped before ``end``
          (:meth:`AdapterSession.end`): the adapter may have done a few more steps.
        """
        for index, step in enumerate(self.case.steps):
            verdict = self._verdict(index, step)
            for raw in self._inputs(step):
                # "subchannel" is the one input field that names a subchannel (wire.INPUT_KEYS).
                if "subchannel" in raw:
                    while self._sent:
                        self._read_reply()
                elif len(self._sent) >= WINDOW:
                    self._read_reply()
                self.at_step = index
                try:
                    event = self._resolve(index, raw)
                    verdict.seq = self._submit(event)
                except (CaseError, AdapterError):
                    self._catch_up()  # earlier verdicts come first
                    self.at_step = index
                    raise
                self._sent.append((verdict, event))
                while self._read:  # while the adapter works on what was just sent
                    self._judge(self._read.popleft())
        self._catch_up()

    def _read_reply(self) -> None:
        """Read the oldest reply in flight (its subchannel changes applied), not judged yet."""
        verdict, event = self._sent.popleft()
        try:
            outputs = self._collect()
        except AdapterError:
            while self._read:  # earlier verdicts come first
                self._judge(self._read.popleft())
            self.at_step = verdict.index
            raise
        self._read.append(Answered(verdict, event, outputs))

    def _catch_up(self) -> None:
        """Judge every event sent so far, in order (those in flight are lost if the adapter is)."""
        while self._read:
            self._judge(self._read.popleft())
        while self._sent and self.session.active:
            self._read_reply()
            self._judge(self._read.popleft())

    def by_case_step(self, violation: Violation) -> Violation:
        """The violation located by case step, from 1 (as messages and reports number steps),
        not by trace position (a statistical step is many trace steps)."""
        if 0 <= violation.step < len(self.trace_step):
            return attrs.evolve(
                violation, step=self._file_index(self.trace_step[violation.step]) + 1
            )
        return violation

    def _file_index(self, index: int) -> int:
        """The case-file index (from 0) of expanded step ``index`` (repeat blocks expand;
        fuzzing feeds steps its case does not list yet)."""
        if 0 <= index < len(self.case.steps):
            return self.case.steps[index].number(index) - 1
        return index

    def end_quietly(self) -> None:
        if self._ended:
            return  # finish() already ended the case; its late outputs failed it
        if not self.session.active:
            return  # already discarded after an adapter error: the next case starts afresh
        with contextlib.suppress(AdapterError):
            self.session.end()

    def _verdict(self, index: int, step: CaseStep) -> StepVerdict:
        events = step.expect.samples if isinstance(step.expect, Statistical) else 1
        return StepVerdict(index, step, events)

    def _inputs(self, step: CaseStep) -> list[wire.JsonObject]:
        """The step's inputs as written (a statistical pick once per sample, numbered on)."""
        if isinstance(step.expect, Statistical):
            first = int(step.input["pick_id"])
            return [
                {**step.input, "pick_id": pick_id}
                for pick_id in range(first, first + step.expect.samples)
            ]
        return [step.input]

    def _resolve(self, index: int, raw: wire.JsonObject) -> ev.Input:
        """A case input as a spec input, its addresses resolved to live subchannels (CONF-1)."""
        path: JsonPath = ("steps", index, "input")
        event = wire.input_from_json(raw, path, self.names.by_address)
        if isinstance(event, ev.SubchannelStateChange):
            profile = self.case.channel.profile
            self.names.change_state(event.subchannel, event.state, profile, (*path, "state"))
        return event

    def _submit(self, event: ev.Input) -> int:
        extra = event.by.seconds if isinstance(event, ev.TimeAdvanced) and self.real_time else 0.0
        return self.session.submit_step(wire.input_to_json(event, self.names.to_handle), extra)

    def _collect(self) -> tuple[act.Output, ...]:
        """The reply to the step in flight, decoded, with its subchannel changes applied."""
        raw_outputs = self.session.collect_step()
        outputs = []
        for i, raw in enumerate(raw_outputs):
            path: JsonPath = ("outputs", i)
            try:
                if isinstance(raw, dict) and raw.get("type") == "new_subchannel":
                    addresses = wire.addresses_from_json(raw.get("addresses"), (*path, "addresses"))
                    self.names.create(
                        raw.get("subchannel"),
                        tuple(a.addr for a in addresses),
                        path,
                        tuple(address_label(a) for a in addresses),
                    )
                output = wire.output_from_json(raw, path, self.names.from_handle)
            except WireError as err:
                raise self.session.broken(AdapterFault.MALFORMED, f"bad output: {err}") from None
            outputs.append(output)
        for output in outputs:
            self.names.apply(output)
        return tuple(outputs)

    def _judge(self, answered: Answered) -> None:
        """Feed one event and its outputs to the monitors; at a step's last event, judge the
        step: it FAILS when it missed its expectation or a monitor objected (CONF-5)."""
        verdict = answered.verdict
        self.at_step = verdict.index
        step = Step(answered.event, answered.outputs)
        trace_index = len(self.trace)
        self.trace.append(step)
        self.trace_step.append(verdict.index)
        verdict.violations.extend(v for m in self.monitors for v in m.observe(trace_index, step))
        verdict.last = answered.outputs
        if verdict.step.across is not None:
            self._observe(verdict.step, answered.outputs)
        expect = verdict.step.expect
        if isinstance(expect, Statistical):
            verdict.counts[self._pick_key(answered.outputs, set(dict(expect.fractions)))] += 1
        verdict.judged += 1
        if verdict.judged < verdict.events:
            return
        if isinstance(expect, Statistical):
            problem = expect.check(verdict.counts)
        elif isinstance(expect, Expect):
            problem = expect.check(verdict.last, self.names.addresses_of)
            if problem is not None:
                got = "; ".join(describe_output(o, self.names.labels_of) for o in verdict.last)
                problem += f", got [{got}]"
        else:
            problem = None
        if problem is None and verdict.step.closes_block:
            problem = self._judge_block(verdict.step)
        if verdict.violations and problem is None:
            problem = "the monitors found violations"
        if problem is not None:
            where = _step_label(verdict.index, verdict.step, verdict.seq)
            located = [self.by_case_step(v) for v in verdict.violations]
            raise CaseFailedError(f"{where}: {problem}", located)

    def _observe(self, step: CaseStep, outputs: tuple[act.Output, ...]) -> None:
        """Record what a repeat block observes in this step's outputs (conformance/across.py)."""
        across = step.across
        assert across is not None
        repetitions = self._observed.setdefault(across.at_step, [])
        while len(repetitions) <= step.repetition:
            repetitions.append([])
        if step.position < across.from_step:
            return
        seen = repetitions[step.repetition]
        listed = {k for k, _ in across.fractions} | {a for r in across.reachable for a in r}
        if across.observe == "first_pick":
            if not seen and step.kind == "pick":
                seen.append(self._pick_key(outputs, listed))
            return
        for output in outputs:
            if isinstance(output, act.Connect):
                address = self._address_key(output.subchannel, listed)
                if address not in seen:
                    seen.append(address)

    def _judge_block(self, step: CaseStep) -> str | None:
        across = step.across
        assert across is not None
        observed = self._observed.get(across.at_step, [])
        keep = 1 if across.observe in ("first_pick", "first_connect") else None
        problem = across.check([tuple(seen[:keep]) for seen in observed])
        return problem

    def _address_key(self, ident: int, listed: set[str]) -> str:
        addresses = self.names.addresses_of(ident)
        chosen = [a for a in addresses if a in listed]
        return chosen[0] if chosen else (addresses[0] if addresses else "?")

    def _pick_key(self, outputs: tuple[act.Output, ...], listed: set[str]) -> str:
        for output in outputs:
            if isinstance(output, act.PickComplete):
                return self._address_key(output.subchannel, listed)
            if isinstance(output, act.PickQueue):
                return QUEUE
            if isinstance(output, act.PickFail):
                return FAIL
            if isinstance(output, act.PickDrop):
                return DROP
        return "no outcome"


def _step_label(index: int, step: CaseStep, seq: int) -> str:
    """A step as the case file numbers it; a repeat block's step also says which repetition,
    and the message's ``seq`` is added when it differs (after a statistical step or a
    repeat block; see PROTOCOL.md)."""
    number = step.number(index)
    label = f"step {number}"
    across = step.across
    if across is not None:
        label += (
            f" (repeat block), repetition {step.repetition + 1} of {across.repetitions}, "
            f"block step {step.position}"
        )
    if seq != number:
        label += f", seq {seq}"
    return f"{label} ({describe_input(step.input)})"


ProgressCallback = Callable[[int, int, CaseResult], None]
StartCallback = Callable[[int, int, Case], None]


def run_cases(
    cases: Iterable[Case],
    connect: Callable[[], Transport],
    *,
    step_timeout: float = DEFAULT_STEP_TIMEOUT,
    start_timeout: float = DEFAULT_START_TIMEOUT,
    progress: ProgressCallback | None = None,
    on_start: StartCallback | None = None,
) -> tuple[list[CaseResult], protocol.Hello | None]:
    """Run every case, reusing one adapter until it fails; returns results and the handshake.

    A fresh adapter is started after each failure (CONF-3), except when that cannot help:
    after a failed handshake or a protocol version mismatch, or after
    MAX_CONSECUTIVE_TIMEOUTS cases in a row timed out, the remaining cases are marked
    ERROR with that first cause at once, instead of each waiting out its own time-out.
    """
    todo = list(cases)
    session = AdapterSession(connect, step_timeout, start_timeout)
    results: list[CaseResult] = []
    hello: protocol.Hello | None = None
    timeouts: list[CaseResult] = []  # the latest cases, in a row, that timed out
    given_up: str | None = None  # why the remaining cases are not run
    try:
        for number, case in enumerate(todo, start=1):
            if given_up is not None:
                result = CaseResult(case, Outcome.ERROR, f"not run: {given_up}")
            else:
                if on_start is not None:
                    on_start(number, len(todo), case)
                run = CaseRun(case, session)
                result = run.run()
                hello = session.hello or hello
                timeouts = [*timeouts, result] if run.fault is AdapterFault.TIMED_OUT else []
                if session.hopeless is not None:
                    given_up = f"{session.hopeless} (in {case.id})"
                elif len(timeouts) >= MAX_CONSECUTIVE_TIMEOUTS:
                    first = timeouts[0]
                    given_up = (
                        f"{len(timeouts)} cases in a row timed out, the first "
                        f"{first.case.id}: {_first_line(first.message)}"
                    )
            results.append(result)
            if progress is not None:
                progress(number, len(todo), result)
    finally:
        session.close()
    return results, hello


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""
