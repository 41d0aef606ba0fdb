"""Shared helpers for the conformance self-tests: schemas, adapters, small cases."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import referencing
from referencing.jsonschema import DRAFT202012

import tests.conformance.policies
from conformance.adapters.inprocess import refimpl_transport
from conformance.cases import Case, case_from_json
from conformance.results import Outcome
from conformance.runner import run_cases
from conformance.transport import SubprocessTransport, Transport

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / "conformance" / "schema"
TEST_CASES = Path(__file__).resolve().parent / "cases"
BROKEN = Path(__file__).resolve().parent / "broken_adapter.py"
POLICIES_MODULE = "tests.conformance.policies"
REFIMPL_COMMAND = [sys.executable, "-m", "conformance.adapters.refimpl", "--load", POLICIES_MODULE]
A, B = "10.0.0.1:80", "10.0.0.2:80"


def run_probe(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter at the repository's root (import-time checks)."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@functools.cache
def _registry() -> referencing.Registry[Any]:
    resources = []
    for path in SCHEMA_DIR.rglob("*.schema.json"):
        schema = json.loads(path.read_text(encoding="utf-8"))
        resources.append((schema["$id"], DRAFT202012.create_resource(schema)))
    return referencing.Registry().with_resources(resources)


@functools.cache
def validator(name: str) -> Any:
    """A validator for ``conformance/schema/<name>.schema.json`` (refs resolved)."""
    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema, registry=_registry())


def schema_errors(name: str, value: Any) -> list[str]:
    return [e.message for e in validator(name).iter_errors(value)]


def subprocess_refimpl() -> Transport:
    return SubprocessTransport(REFIMPL_COMMAND, cwd=str(ROOT))


def in_process_refimpl() -> Transport:
    return refimpl_transport()


def broken(mode: str) -> Transport:
    return SubprocessTransport([sys.executable, str(BROKEN), mode], cwd=str(ROOT))


def fails_only_on(case: Case, implementation: Callable[[], Transport]) -> None:
    """A counterexample is a true one: it fails on the implementation it was found on (a
    planted bug) and passes on the reference."""
    against_bug, _ = run_cases([case], implementation)
    against_reference, _ = run_cases([case], refimpl_transport)
    assert [r.outcome for r in against_bug] == [Outcome.FAIL], "passes on the bug"
    assert [r.outcome for r in against_reference] == [Outcome.PASS], "fails on the reference"


def make_case(data: dict[str, Any], area: str = "selftest") -> Case:
    """A case from a dict, with defaults for the fields a test does not care about."""
    full = {
        "id": "selftest-case",
        "title": "a test case",
        "requirements": ["LB-4"],
        "policy": tests.conformance.policies.CORRECT,
        **data,
    }
    return case_from_json(full, area)


def update(*addresses: str) -> dict[str, Any]:
    return {"type": "resolver_update", "endpoints": [[a] for a in addresses]}


def state(address: str, name: str, error: bool = False) -> dict[str, Any]:
    obj: dict[str, Any] = {"type": "subchannel_state", "subchannel": address, "state": name}
    if error:
        obj["error"] = {"code": "UNAVAILABLE", "message": "connection refused"}
    return obj


READY_STEPS = [
    {"input": update(A, B)},
    {"input": state(A, "CONNECTING")},
    {"input": state(A, "READY")},
]


def one_line_error(capsys: pytest.CaptureFixture[str], *expected: str) -> str:
    """The run printed exactly one line on stderr, ``conformance: ...``, with ``expected``."""
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("conformance: "), lines[0]
    assert "Traceback" not in captured.err + captured.out
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]
