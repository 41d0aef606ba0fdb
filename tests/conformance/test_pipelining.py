"""The runner writes steps ahead of the replies (CaseRun._run_steps); verdicts stay those of a
strict one-step-at-a-time run, and the subprocess transport keeps replies in order."""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from typing import Any

import attrs
import pytest

from conformance import runner
from conformance import transport as transport_module
from conformance.cases import CASES_DIR, Case, load_cases
from conformance.errors import AdapterError, AdapterFault, CaseError
from conformance.planted import BUGS, CONTROLS, broken_transport
from conformance.results import Outcome
from conformance.runner import AdapterSession, CaseFailedError, CaseRun, run_cases
from conformance.transport import SubprocessTransport, Transport
from spec.trace import Violation
from tests.conformance import policies
from tests.conformance.helpers import (
    ROOT,
    A,
    B,
    in_process_refimpl,
    make_case,
    state,
    subprocess_refimpl,
    update,
)
from tests.conformance.test_broken_implementations import CATCHES

Verdict = tuple[Outcome, str, int | None, tuple[Any, ...], tuple[Any, ...]]


_STRICT: dict[tuple[str, str], Verdict] = {}


def strict_bug_verdict(bug: str, case: Case) -> Verdict:
    """strict_verdict against a planted bug, once per test session (windows share it)."""
    if (bug, case.id) not in _STRICT:
        _STRICT[bug, case.id] = strict_verdict(case, functools.partial(broken_transport, bug))
    return _STRICT[bug, case.id]


def strict_verdict(case: Case, connect: Callable[[], Transport]) -> Verdict:
    """The case run one exchange at a time through CaseRun.feed, as fuzz mode does."""
    session = AdapterSession(connect, runner.DEFAULT_STEP_TIMEOUT)
    run = CaseRun(case, session)
    index: int | None = None
    outcome, message, violations = Outcome.PASS, "", tuple[Violation, ...]()
    try:
        missing = run.start()
        if missing:  # a case written for another spec-option value, say (CONF-4)
            session.close()
            return Outcome.SKIPPED, "the adapter lacks " + ", ".join(missing), None, (), ()
        for index, step in enumerate(case.steps):
            run.feed(index, step)
        index = None
        run.finish()
    except CaseFailedError as failure:
        outcome, message, violations = Outcome.FAIL, str(failure), failure.violations
    except CaseError as err:
        outcome, message = Outcome.ERROR, f"case error: {err}"
    except AdapterError as err:
        outcome, message = Outcome.ERROR, str(err)
    finally:
        session.close()
    return outcome, message, index, violations, tuple(run.trace)


def pipelined_verdict(case: Case, connect: Callable[[], Transport]) -> Verdict:
    [result], _ = run_cases([case], connect)
    return result.outcome, result.message, result.step, result.violations, result.trace


def _planted_bug_runs() -> list[tuple[str, Case]]:
    by_id = {case.id: case for case in load_cases(CASES_DIR)}
    runs = [(bug, by_id[case_id]) for bug, ids in CATCHES.items() for case_id in ids]
    for control in CONTROLS.values():  # the scaffolding, passing cases of its policy
        runs.extend((control.name, c) for c in by_id.values() if c.policy == control.policy)
    return runs


@pytest.mark.req("CONF-5", "CONF-7")
@pytest.mark.parametrize("window", [1, 3, runner.WINDOW])
def test_sending_ahead_gives_the_verdicts_of_one_step_at_a_time(
    window: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every planted bug's catching cases (FAIL at some step, with violations) and the bug
    # scaffolding over its policy's cases (PASS, statistical steps included).
    monkeypatch.setattr(runner, "WINDOW", window)
    runs = _planted_bug_runs()
    outcomes = set()
    for bug, case in runs:
        strict = strict_bug_verdict(bug, case)
        pipelined = pipelined_verdict(case, functools.partial(broken_transport, bug))
        assert pipelined == strict, (bug, case.id)
        outcomes.add(strict[0])
    assert outcomes - {Outcome.SKIPPED} == {Outcome.PASS, Outcome.FAIL}  # skips: spec options
    assert set(BUGS) <= {bug for bug, _ in runs}


@pytest.mark.req("CONF-5", "CONF-7")
@pytest.mark.parametrize("bug", ["rr-off-by-one-rotation", "pf-keeps-losing-attempts"])
def test_through_a_subprocess_too(bug: str) -> None:
    # A statistical FAIL and a FAIL with steps naming subchannels, through the real pipes.
    by_id = {case.id: case for case in load_cases(CASES_DIR)}
    command = [sys.executable, "-m", "conformance.planted", bug]
    for case_id in CATCHES[bug]:
        case = by_id[case_id]
        pipelined = pipelined_verdict(case, lambda: SubprocessTransport(command, cwd=str(ROOT)))
        assert pipelined[0] is Outcome.FAIL
        assert pipelined == strict_bug_verdict(bug, case), case_id


@pytest.mark.req("CONF-5", "CONF-3")
def test_a_failing_step_comes_before_an_error_on_a_step_sent_after_it() -> None:
    # Step 2 (a pick, naming no subchannel) is written before step 1 is judged, and the
    # adapter refuses it; the verdict is still step 1's FAIL, as if step 2 was never sent,
    # and the same adapter process goes on with the next case.
    failing = make_case(
        {
            "policy": policies.CRASHES_ON_PICK,
            "steps": [{"input": update(A), "expect": {"outputs": []}}, {"input": {"type": "pick"}}],
        }
    )
    passing = make_case({"steps": [{"input": update(A)}, {"input": state(A, "CONNECTING")}]})
    started: list[int] = []

    def connect() -> Transport:
        started.append(1)
        return subprocess_refimpl()

    results, _ = run_cases([failing, passing], connect)
    assert [r.outcome for r in results] == [Outcome.FAIL, Outcome.PASS], results[0].message
    assert results[0].step == 0
    assert "step 1 (resolver_update [[10.0.0.1:80]]): expected exactly []" in results[0].message
    assert len(results[0].trace) == 1  # the refused pick is not judged
    assert len(started) == 1
    assert strict_verdict(failing, subprocess_refimpl)[:3] == (
        results[0].outcome,
        results[0].message,
        results[0].step,
    )


@pytest.mark.req("CONF-1", "CONF-5")
def test_an_address_error_after_a_failing_step_is_the_failure() -> None:
    # Step 3 names an address no subchannel has (ERROR when reached), but step 1 already
    # failed: the runner reads and judges step 1 and 2 before it resolves step 3's address.
    case = make_case(
        {
            "policy": policies.NEVER_READY,
            "steps": [
                {"input": update(A), "expect": {"outputs": []}},
                {"input": {"type": "pick"}},
                {"input": state(B, "CONNECTING")},
            ],
        }
    )
    verdict = pipelined_verdict(case, in_process_refimpl)
    assert (verdict[0], verdict[2]) == (Outcome.FAIL, 0)
    assert verdict == strict_verdict(case, in_process_refimpl)
    later = attrs.evolve(case, steps=(attrs.evolve(case.steps[0], expect=None), *case.steps[1:]))
    outcome, message, step, _, trace = pipelined_verdict(later, in_process_refimpl)
    assert (outcome, step, len(trace)) == (Outcome.ERROR, 2, 2)
    assert "no live subchannel has address '10.0.0.2:80'" in message


ECHO = (
    "import sys\n"
    "for line in sys.stdin:\n"
    "    if '\"stop\"' in line:\n"
    "        break\n"
    "    sys.stdout.write(line)\n"
    "    sys.stdout.flush()\n"
)


@pytest.mark.req("CONF-3")
def test_many_large_requests_in_flight_neither_deadlock_nor_reorder() -> None:
    # 64 requests of 16 KB each: far more than either pipe holds, so the adapter blocks
    # writing replies while the runner still writes requests; the transport reads them
    # meanwhile instead of waiting for the adapter to read.
    transport = SubprocessTransport([sys.executable, "-c", ECHO])
    try:
        padding = "x" * (16 << 10)
        for n in range(64):
            transport.submit({"type": "step", "seq": n, "pad": padding})
        replies = [transport.collect(5.0) for _ in range(64)]
    finally:
        transport.close()
    assert [r["seq"] for r in replies] == list(range(64))
    assert all(r["pad"] == padding for r in replies)


READS_TWO_THEN_CLOSES_STDIN = (
    "import os, sys, time\n"
    "first, second = sys.stdin.readline(), sys.stdin.readline()\n"
    "os.close(0)\n"
    "sys.stdout.write(first + second)\n"
    "sys.stdout.flush()\n"
    "time.sleep(5)\n"
)


@pytest.mark.req("CONF-3")
def test_a_request_the_adapter_never_read_fails_after_the_replies_before_it() -> None:
    transport = SubprocessTransport([sys.executable, "-c", READS_TWO_THEN_CLOSES_STDIN])
    try:
        transport.submit({"type": "step", "seq": 1})
        transport.submit({"type": "step", "seq": 2})
        first = transport.collect(5.0)  # by now the adapter has closed its stdin
        transport.submit({"type": "step", "seq": 3})  # so this one cannot be written
        second = transport.collect(5.0)
        with pytest.raises(AdapterError) as raised:
            transport.collect(5.0)
    finally:
        transport.close()
    assert (first["seq"], second["seq"]) == (1, 2)
    assert raised.value.fault is AdapterFault.CRASHED
    assert "before reading" in str(raised.value)


NEVER_READS = "import time\ntime.sleep(30)\n"


@pytest.mark.req("CONF-3")
def test_an_adapter_that_stops_reading_its_input_times_out_instead_of_hanging() -> None:
    # 1 MB is far more than the pipe holds: the write itself must give up, within the
    # step timeout, when the adapter neither reads nor answers.
    transport = SubprocessTransport([sys.executable, "-c", NEVER_READS])
    try:
        started = time.monotonic()
        with pytest.raises(AdapterError) as raised:
            transport.request({"type": "step", "seq": 1, "pad": "x" * (1 << 20)}, 0.5)
        waited = time.monotonic() - started
    finally:
        transport.close()
    assert raised.value.fault is AdapterFault.TIMED_OUT
    assert "stopped reading its input" in str(raised.value)
    assert waited < 10.0  # the adapter sleeps 30 s: this ended on the timeout, not its exit


@pytest.mark.req("CONF-3")
def test_sending_to_an_adapter_that_stopped_reading_times_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(transport_module, "WRITE_STALL_TIMEOUT", 0.5)
    transport = SubprocessTransport([sys.executable, "-c", NEVER_READS])
    try:
        with pytest.raises(AdapterError) as raised:
            transport.send({"type": "end", "pad": "x" * (1 << 20)})
    finally:
        transport.close()
    assert raised.value.fault is AdapterFault.TIMED_OUT
