"""The command line: list, explain, and run's exit status and report files."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conformance.cli import main
from tests.conformance import policies
from tests.conformance.helpers import POLICIES_MODULE, ROOT, TEST_CASES, schema_errors


def corpus(tmp_path: Path, *, failing: bool) -> Path:
    """A case directory with the basic self-test case, optionally one that fails."""
    root = tmp_path / "cases"
    shutil.copytree(TEST_CASES, root)
    if failing:
        data = json.loads((root / "selftest" / "selftest-basic.json").read_text())
        data["id"] = "selftest-never-ready"
        data["policy"] = policies.NEVER_READY
        (root / "selftest" / "selftest-never-ready.json").write_text(json.dumps(data))
    return root


@pytest.mark.req("CONF-6")
def test_run_exits_non_zero_on_an_unexpected_result(tmp_path: Path) -> None:
    cases = corpus(tmp_path, failing=True)
    command = [sys.executable, "-m", "conformance", "run", "--cases", str(cases)]
    adapter = f"{sys.executable} -m conformance.adapters.refimpl --load {POLICIES_MODULE}"
    done = subprocess.run(
        [
            *command,
            "--adapter",
            adapter,
            "--json",
            str(tmp_path / "r.json"),
            "--junit",
            str(tmp_path / "r.xml"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "!FAIL" in done.stdout
    report = json.loads((tmp_path / "r.json").read_text())
    assert schema_errors("report", report) == []
    assert report["summary"]["unexpected"] == 1
    assert ET.parse(tmp_path / "r.xml").getroot().get("failures") == "1"


@pytest.mark.req("CONF-6")
def test_run_exits_zero_when_the_failure_is_known(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = corpus(tmp_path, failing=True)
    known = tmp_path / "known.json"
    known.write_text(
        json.dumps(
            {
                "known_failures": [
                    {
                        "case": "selftest-never-ready",
                        "result": "fail",
                        "reason": "the test policy never reports READY",
                        "link": "https://example.org/issue/1",
                    }
                ]
            }
        )
    )
    args = ["run", "--cases", str(cases), "--in-process", "--load", POLICIES_MODULE]
    assert main([*args, "--expectations", str(known)]) == 0
    assert "FAIL (known) selftest-never-ready" in capsys.readouterr().out
    assert main(args) == 1


def test_filters_select_cases(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = corpus(tmp_path, failing=True)
    args = ["run", "--cases", str(cases), "--in-process", "--load", POLICIES_MODULE]
    assert main([*args, "--id", "selftest-basic"]) == 0
    assert main([*args, "--policy", policies.CORRECT]) == 0
    assert main([*args, "--area", "selftest"]) == 1
    # Selecting nothing is a usage error, never a run that passes having checked nothing.
    assert main([*args, "--capability", "orca"]) == 2
    assert "--capability orca together select none of the" in capsys.readouterr().err


def test_list_and_explain(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--policy", "pick_first"]) == 0
    listing = capsys.readouterr().out
    assert "pf-sticky-transient-failure" in listing
    assert "rr-" not in listing
    assert main(["explain", "pf-sticky-transient-failure"]) == 0
    text = " ".join(capsys.readouterr().out.split())  # wrapping aside
    assert "Step 4. The subchannel for 10.0.0.1:80 reports IDLE." in text
    assert "CONN-5 (MUST): A subchannel in TRANSIENT_FAILURE starts no connection attempt" in text
    assert "no output matching [update_state IDLE; update_state CONNECTING]" in text
    assert "Why: Backoff is over" in text
    assert main(["explain", "pf-nope"]) == 2
    assert "pf-sticky-transient-failure" in capsys.readouterr().err


def test_a_broken_case_file_exits_2_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = corpus(tmp_path, failing=False)
    (cases / "selftest" / "selftest-broken.json").write_text('{"id": "selftest-broken",\n "x": 1}')
    assert main(["list", "--cases", str(cases)]) == 2
    assert "selftest-broken.json:1: $: missing key" in capsys.readouterr().err
