"""Fuzz mode: legal sequences pass a correct policy; a bug is found, shrunk, and written as a
case that reproduces it.  An adapter whose outputs are not reproducible (no
``seedable_random``) gets its first failure as found, unshrunk, and never a Hypothesis
``Flaky`` traceback."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from conformance import wire
from conformance.cases import load_case
from conformance.cli import main
from conformance.fuzz import NonReproducibleError, fuzz
from conformance.results import Outcome
from conformance.runner import run_cases
from conformance.transport import Transport
from tests.conformance import policies, unseeded
from tests.conformance.helpers import ROOT, in_process_refimpl


@pytest.mark.req("CONF-10")
def test_a_correct_policy_survives_fuzzing() -> None:
    assert fuzz(in_process_refimpl, policies.CORRECT, examples=25, max_steps=15, seed=1) is None


@pytest.mark.req("CONF-10", "CONF-11", "LB-3")
def test_a_bug_is_shrunk_and_written_as_a_reproducing_case(tmp_path: Path) -> None:
    found = fuzz(in_process_refimpl, policies.LEAKS_ON_CLOSE, examples=60, max_steps=10, seed=2)
    assert found is not None
    assert found.requirements == ("LB-3",)
    assert found.shrunk
    kinds = [s.kind for s in found.steps]
    # Shrunk to the essence: one update with an address, then close.
    assert kinds == ["resolver_update", "close"]
    path = found.write(tmp_path / "fuzz")
    case = load_case(path)
    assert case.id.startswith("fuzz-conformance-test-leaks-on-close-")
    [again], _ = run_cases([case], in_process_refimpl)
    assert again.outcome is Outcome.FAIL
    assert [v.requirement for v in again.violations] == ["LB-3"]


@pytest.mark.req("CONF-10")
def test_a_crash_is_a_fuzz_failure_under_the_fallback_requirement() -> None:
    found = fuzz(in_process_refimpl, policies.CRASHES_ON_PICK, examples=40, max_steps=8, seed=3)
    assert found is not None
    assert found.requirements == ("CONF-10",)
    assert [s.kind for s in found.steps][-1] == "pick"
    assert "deliberate crash in the picker" in found.message


class _Recording(Transport):
    """Passes messages through to another transport and keeps the ones sent."""

    def __init__(self, inner: Transport, sent: list[dict[str, Any]]) -> None:
        self.inner = inner
        self.sent = sent

    def request(self, message: wire.JsonObject, timeout: float) -> wire.JsonObject:
        self.sent.append(message)
        return self.inner.request(message, timeout)

    def send(self, message: wire.JsonObject) -> None:
        self.inner.send(message)

    def close(self) -> None:
        self.inner.close()

    def stderr_tail(self) -> str:
        return self.inner.stderr_tail()


def _sequences(sent: list[dict[str, Any]]) -> list[list[Any]]:
    """The inputs of each case the runner began, in order."""
    runs: list[list[Any]] = []
    for message in sent:
        if message["type"] == "begin":
            runs.append([])
        elif message["type"] == "step":
            runs[-1].append(message["input"])
    return runs


@pytest.mark.req("CONF-10", "LB-3")
def test_a_non_seedable_adapter_gets_its_first_failure_unshrunk(tmp_path: Path) -> None:
    sent: list[dict[str, Any]] = []
    found = fuzz(
        lambda: _Recording(unseeded.unseeded(), sent),
        unseeded.RANDOM_CONNECT_LEAKS,
        examples=60,
        max_steps=10,
        seed=1,
    )
    assert found is not None
    assert not found.shrunk
    assert "does not declare seedable_random" in found.note
    assert found.requirements == ("LB-3",)
    assert found.steps[-1].kind == "close"
    runs = _sequences(sent)
    # No shrinking and no replay: fuzzing stopped at the first failure, which ran once.
    assert len(runs) > 1
    assert [s.kind for s in found.steps] == [i["type"] for i in runs[-1]]
    assert runs.count(runs[-1]) == 1
    case = load_case(found.write(tmp_path / "fuzz"))
    assert case.title.startswith("fuzz (unshrunk): ")
    assert "not shrunk" in case.description
    assert "seedable_random" in case.description


@pytest.mark.req("CONF-10")
def test_a_correct_non_seedable_policy_survives_fuzzing() -> None:
    found = fuzz(unseeded.unseeded, unseeded.RANDOM_CONNECT, examples=60, max_steps=10, seed=1)
    assert found is None


@pytest.mark.req("CONF-10", "CONF-11", "LB-3")
def test_a_flaky_failure_under_hypothesis_is_an_unshrunk_result() -> None:
    # The adapter declares seedable_random wrongly: Hypothesis meets a failure that does
    # not recur on replay (FlakyFailure), and fuzz reports it instead of raising.
    found = fuzz(
        unseeded.unseeded_claiming_seedable,
        unseeded.LEAKS_AT_RANDOM,
        examples=30,
        max_steps=8,
        seed=5,  # a seed whose failure does not recur on replay (most do, and then shrink)
    )
    assert found is not None
    assert not found.shrunk
    assert "FlakyFailure" in found.note
    assert "declares seedable_random" in found.note
    assert found.requirements == ("LB-3",)


@pytest.mark.req("CONF-10")
def test_inconsistent_draws_before_any_failure_are_a_typed_error() -> None:
    with pytest.raises(NonReproducibleError, match="FlakyStrategyDefinition") as caught:
        fuzz(
            unseeded.unseeded_claiming_seedable,
            unseeded.RANDOM_CONNECT,
            examples=30,
            max_steps=8,
            seed=2,
        )
    assert "other outputs for the same inputs" in str(caught.value)
    assert "declare seedable_random false" in str(caught.value)


UNSEEDED_COMMAND = f"{sys.executable} -m tests.conformance.unseeded"


@pytest.mark.req("CONF-10", "LB-3")
def test_the_command_line_reports_an_unshrunk_failure_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    args = ["fuzz", "--examples", "60", "--steps", "10", "--seed", "1", "--out", str(tmp_path)]
    policy = ["--policy", unseeded.RANDOM_CONNECT_LEAKS]
    assert main([*args, *policy, "--adapter", UNSEEDED_COMMAND]) == 1
    out = capsys.readouterr().out
    assert "fuzz: found a failure in " in out
    assert "fuzz: not shrunk: the adapter does not declare seedable_random" in out
    [written] = tmp_path.glob("*.json")
    assert f"fuzz: wrote {written}" in out
    policy = ["--policy", unseeded.RANDOM_CONNECT]
    assert main([*args, *policy, "--adapter", f"{UNSEEDED_COMMAND} --claims-seedable"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("conformance: fuzz conformance_test_random_connect: Hypothesis stopped")
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1
