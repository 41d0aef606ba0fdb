"""Issue 16: bad input gets one line and exit 2, never a traceback; a run never passes
having checked nothing; a hung adapter does not cost minutes.  One test per row."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conformance.cli import main
from conformance.runner import MAX_CONSECUTIVE_TIMEOUTS
from tests.conformance import policies
from tests.conformance.helpers import BROKEN, POLICIES_MODULE, ROOT, TEST_CASES, one_line_error

STALLING = Path(__file__).resolve().parent / "stalling_adapter.py"
BASIC = TEST_CASES / "selftest" / "selftest-basic.json"
IN_PROCESS = ["--in-process", "--load", POLICIES_MODULE]


def _case(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(BASIC.read_text())
    data.update(changes)
    return data


def corpus(tmp_path: Path, count: int = 1, **changes: Any) -> Path:
    """``count`` copies of the basic self-test case, as selftest/selftest-basic-<n>.json."""
    root = tmp_path / "cases"
    (root / "selftest").mkdir(parents=True)
    for n in range(1, count + 1):
        case_id = f"selftest-basic-{n}"
        path = root / "selftest" / f"{case_id}.json"
        path.write_text(json.dumps(_case(id=case_id, **changes)))
    return root


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conformance", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# --- tracebacks ---


@pytest.mark.req("CONF-3")
@pytest.mark.parametrize("value", ["1e9", "-1", "0", "nan", "inf", "soon"])
def test_a_bad_timeout_is_refused_before_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    cases = corpus(tmp_path)
    assert main(["run", "--cases", str(cases), *IN_PROCESS, "--timeout", value]) == 2
    one_line_error(capsys, "run: argument --timeout", repr(value))


@pytest.mark.parametrize(
    ("command", "problem"),
    [("", "the adapter command is empty"), ("python 'unclosed", "No closing quotation")],
)
def test_an_adapter_command_that_does_not_split_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, problem: str
) -> None:
    cases = corpus(tmp_path)
    assert main(["run", "--cases", str(cases), "--adapter", command]) == 2
    one_line_error(capsys, "argument --adapter", problem)


@pytest.mark.req("CONF-6")
def test_a_missing_expectations_file_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = corpus(tmp_path)
    missing = tmp_path / "nope.json"
    assert main(["run", "--cases", str(cases), *IN_PROCESS, "--expectations", str(missing)]) == 2
    one_line_error(capsys, str(missing), "cannot read the file")


@pytest.mark.parametrize("option", ["--json", "--junit"])
def test_an_unwritable_report_path_is_refused_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    cases = corpus(tmp_path)
    for target in (tmp_path / "no" / "such" / "dir" / "r.out", tmp_path):  # missing dir; a dir
        assert main(["run", "--cases", str(cases), *IN_PROCESS, option, str(target)]) == 2
        assert capsys.readouterr().out == ""  # nothing ran
        main(["run", "--cases", str(cases), *IN_PROCESS, option, str(target)])
        one_line_error(capsys, option, str(target), "cannot write it")
    # A writable path is checked without leaving an empty file behind on a refused run.
    fine = tmp_path / "fine.json"
    assert main(["run", "--cases", str(cases), *IN_PROCESS, option, str(fine), "--id", "x"]) == 2
    assert not fine.exists()


def test_sigint_prints_the_summary_so_far_and_exits_130(tmp_path: Path) -> None:
    cases = corpus(tmp_path, count=40)
    adapter = f"{sys.executable} {STALLING} slow"
    command = [sys.executable, "-m", "conformance", "run", "--cases", str(cases)]
    proc = subprocess.Popen(
        [*command, "--adapter", adapter],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()  # one progress line per case (not a terminal)
        assert first.startswith("[ 1/40] PASS  selftest-basic-1"), first
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in out + err
    assert "interrupted after" in err
    assert out.startswith("conformance protocol v1: ")
    assert out.splitlines()[0].endswith("(interrupted)")
    closing = out.rstrip().splitlines()[-1]
    assert closing.startswith(f"{closing.split()[0]} passed, 0 failed, 0 errored"), out
    assert 1 <= int(closing.split()[0]) < 40


@pytest.mark.req("CONF-9")
def test_a_case_file_nested_100k_deep_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = corpus(tmp_path)
    deep = cases / "selftest" / "selftest-deep.json"
    deep.write_text('{"id": "selftest-deep", "config": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert main(["list", "--cases", str(cases)]) == 2
    one_line_error(capsys, str(deep), "nested deeper than")


@pytest.mark.req("CONF-9")
def test_a_case_file_that_is_not_utf8_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = corpus(tmp_path)
    latin = cases / "selftest" / "selftest-latin.json"
    latin.write_bytes(b'{"id": "selftest-latin",\n "title": "caf\xe9"}')
    assert main(["list", "--cases", str(cases)]) == 2
    one_line_error(capsys, f"{latin}:2", "not UTF-8")


@pytest.mark.req("CONF-9")
@pytest.mark.parametrize("number", ["1e400", "NaN", "-Infinity", "1" * 5000])
def test_a_case_config_number_no_double_holds_names_its_file_line_and_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], number: str
) -> None:
    root = tmp_path / "cases"
    (root / "weighted_round_robin").mkdir(parents=True)
    path = root / "weighted_round_robin" / "wrr-huge-penalty.json"
    source = (
        ROOT / "conformance/cases/weighted_round_robin/wrr-config-defaults-and-unknown-fields.json"
    )
    data = json.loads(source.read_text())
    data.update(id="wrr-huge-penalty", config={"errorUtilizationPenalty": "NUMBER"})
    path.write_text(json.dumps(data, indent=1).replace('"NUMBER"', number))
    assert main(["run", "--cases", str(root), "--in-process"]) == 2
    one_line_error(capsys, f"{path}:", "$.config.errorUtilizationPenalty", "out of range")


# --- vacuous success ---


@pytest.mark.req("CONF-6")
def test_cases_at_a_missing_path_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--cases", str(tmp_path / "nope"), *IN_PROCESS]) == 2
    one_line_error(capsys, "nope: no such case file or directory")


@pytest.mark.req("CONF-6")
def test_a_folder_without_case_files_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty" / "area").mkdir(parents=True)
    assert main(["run", "--cases", str(tmp_path / "empty"), *IN_PROCESS]) == 2
    one_line_error(capsys, "no case files here")


@pytest.mark.req("CONF-6")
def test_run_takes_one_case_file_and_a_flat_folder_of_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--cases", str(BASIC), *IN_PROCESS]) == 0
    assert "1 passed, 0 failed" in capsys.readouterr().out
    flat = tmp_path / "flat"  # what `fuzz --out` writes: <id>.json, no area folders
    flat.mkdir()
    for n in (1, 2):
        (flat / f"selftest-flat-{n}.json").write_text(json.dumps(_case(id=f"selftest-flat-{n}")))
    assert main(["run", "--cases", str(flat), *IN_PROCESS]) == 0
    assert "2 passed, 0 failed" in capsys.readouterr().out


@pytest.mark.req("CONF-6")
@pytest.mark.parametrize(
    ("option", "value", "hint"),
    [
        ("--policy", "pick_frist", "did you mean 'pick_first'?"),
        ("--area", "round_robn", "did you mean 'round_robin'?"),
        ("--id", "qq-", "IDs start "),
    ],
)
def test_a_filter_value_that_names_nothing_is_an_error_listing_valid_names(
    capsys: pytest.CaptureFixture[str], option: str, value: str, hint: str
) -> None:
    assert main(["run", "--in-process", option, value]) == 2
    line = one_line_error(capsys, f"{option} {value!r}", hint)
    if option != "--id":
        assert "pick_first" in line
        assert "weighted_round_robin" in line


@pytest.mark.req("CONF-8")
def test_a_case_whose_prefix_is_not_its_areas_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "cases"
    (root / "round_robin").mkdir(parents=True)
    source = ROOT / "conformance/cases/pick_first/pf-sticky-transient-failure.json"
    misplaced = root / "round_robin" / source.name
    shutil.copy(source, misplaced)
    assert main(["list", "--cases", str(root)]) == 2
    one_line_error(capsys, str(misplaced), "in area 'round_robin' has an ID starting 'rr-'")


@pytest.mark.req("CONF-3")
@pytest.mark.parametrize("value", ["-1", "0", "nan"])
def test_timeouts_that_would_error_every_case_are_refused(
    capsys: pytest.CaptureFixture[str], value: str
) -> None:
    assert main(["run", "--in-process", "--timeout", value]) == 2
    one_line_error(capsys, "--timeout")


@pytest.mark.req("CONF-1", "CONN-1")
def test_an_illegal_transition_asked_by_the_case_is_the_cases_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _case(id="selftest-idle-to-ready")
    # Step 3 delivers READY straight from IDLE (without CONNECTING): the case is wrong.
    del data["steps"][2]
    root = tmp_path / "cases"
    (root / "selftest").mkdir(parents=True)
    (root / "selftest" / "selftest-idle-to-ready.json").write_text(json.dumps(data))
    adapter = f"{sys.executable} -m conformance.adapters.refimpl --load {POLICIES_MODULE}"
    assert main(["run", "--cases", str(root), "--adapter", adapter]) == 1
    out = capsys.readouterr().out
    assert "case error: $.steps[2].input.state: the case asks for an illegal" in out
    assert "IDLE -> READY of 10.0.0.2:80" in out
    assert "adapter reported an error" not in out


# --- minutes lost ---


@pytest.mark.req("CONF-3")
def test_after_a_failed_handshake_no_fresh_adapter_is_started(tmp_path: Path) -> None:
    cases = corpus(tmp_path, count=6)
    started = time.monotonic()
    done = run_cli(
        "run", "--cases", str(cases), "--adapter", f"{sys.executable} {STALLING} silent",
        "--timeout", "0.2", "--start-timeout", "0.3",
    )  # fmt: skip
    seconds = time.monotonic() - started
    assert done.returncode == 1, done.stderr
    assert "0 passed, 0 failed, 6 errored" in done.stdout
    assert "adapter timed out: no reply to 'start' within 0.3 s" in done.stdout
    assert done.stdout.count("not run: the adapter's handshake failed") == 5
    assert seconds < 10  # one 0.3 s time-out, not six (and not the default 20 s)


@pytest.mark.req("CONF-3")
def test_after_a_protocol_version_mismatch_no_fresh_adapter_is_started(tmp_path: Path) -> None:
    cases = corpus(tmp_path, count=4)
    done = run_cli(
        "run", "--cases", str(cases), "--adapter", f"{sys.executable} {BROKEN} wrong-version"
    )
    assert done.returncode == 1
    assert done.stdout.count("adapter protocol version mismatch") == 4  # first + 3 not run
    assert done.stdout.count("not run: the adapter's handshake failed") == 3


@pytest.mark.req("CONF-3")
def test_after_consecutive_time_outs_the_rest_are_marked_error_with_the_first_cause(
    tmp_path: Path,
) -> None:
    cases = corpus(tmp_path, count=8)
    done = run_cli(
        "run", "--cases", str(cases), "--adapter", f"{sys.executable} {STALLING} hang-steps",
        "--timeout", "0.2",
    )  # fmt: skip
    assert done.returncode == 1
    assert "0 passed, 0 failed, 8 errored" in done.stdout
    rest = 8 - MAX_CONSECUTIVE_TIMEOUTS
    assert done.stdout.count(f"{MAX_CONSECUTIVE_TIMEOUTS} cases in a row timed out") == rest
    assert "the first selftest-basic-1: adapter timed out: no reply to 'step'" in done.stdout
    assert done.stderr.count(" ERROR ") == 8  # progress: one line per case


def test_progress_is_one_line_per_case_when_not_a_terminal(tmp_path: Path) -> None:
    cases = corpus(tmp_path, count=3)
    done = run_cli("run", "--cases", str(cases), *IN_PROCESS)
    assert done.returncode == 0
    assert done.stderr.splitlines() == [
        "[1/3] PASS  selftest-basic-1",
        "[2/3] PASS  selftest-basic-2",
        "[3/3] PASS  selftest-basic-3",
    ]
    quiet = run_cli("run", "--cases", str(cases), *IN_PROCESS, "--quiet")
    assert quiet.stderr == ""
    assert "selftest-basic-1" not in quiet.stdout
    assert quiet.stdout.rstrip().splitlines()[-1].startswith("3 passed")


def test_failures_come_last_and_the_tally_only_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = corpus(tmp_path, count=2)
    never = _case(id="selftest-never-ready", policy=policies.NEVER_READY)
    (cases / "selftest" / "selftest-never-ready.json").write_text(json.dumps(never))
    args = ["run", "--cases", str(cases), *IN_PROCESS]
    assert main(args) == 1
    lines = capsys.readouterr().out.rstrip().splitlines()
    assert "by requirement" not in lines
    assert lines[-1].startswith("2 passed, 1 failed")
    details = lines.index("details (unexpected results last)")
    assert lines[details + 1].startswith(" !FAIL         selftest-never-ready")
    assert all(not line.startswith("  PASS") for line in lines[details:])
    assert main([*args, "--tally"]) == 1
    assert "by requirement" in capsys.readouterr().out.splitlines()
    assert main([*args, "--quiet"]) == 1
    quiet = capsys.readouterr().out.splitlines()
    assert not any(line.startswith("  PASS") for line in quiet)
    assert any(line.startswith(" !FAIL") for line in quiet)


@pytest.mark.req("CONF-4", "CONF-6")
def test_require_all_makes_a_skipped_case_unexpected_and_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = corpus(tmp_path, count=1)
    absent = _case(id="selftest-absent", policy="no_such_policy")
    (cases / "selftest" / "selftest-absent.json").write_text(json.dumps(absent))
    args = ["run", "--cases", str(cases), *IN_PROCESS]
    assert main(args) == 0  # an outside adapter may lack a policy
    capsys.readouterr()
    assert main([*args, "--require-all"]) == 1
    out = capsys.readouterr().out
    assert " !SKIP         selftest-absent" in out
    assert "the adapter lacks policy 'no_such_policy'" in out
    assert "--require-all: every case must run against this adapter" in out
    assert "(0 known failures, 1 unexpected)" in out


def test_fuzz_without_out_writes_to_a_temporary_folder_and_says_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    args = ["fuzz", *IN_PROCESS, "--policy", policies.LEAKS_ON_CLOSE]
    assert main([*args, "--examples", "60", "--steps", "10", "--seed", "2"]) == 1
    wrote = [line for line in capsys.readouterr().out.splitlines() if "wrote" in line]
    path = Path(wrote[0].split("wrote ", 1)[1])
    assert path.is_file()
    assert path.parent.parent == tmp_path
    assert os.path.commonpath([path, ROOT]) != str(ROOT)  # not into the checkout's corpus


@pytest.mark.req("CONF-1")
def test_messages_show_attributes_when_addresses_differ_only_in_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = ROOT / "conformance/cases/pick_first/pf-attributes-make-a-new-address.json"
    data = json.loads(source.read_text())
    data["id"] = "pf-attributes-in-messages"
    data["steps"][3]["expect"] = {"outputs": []}  # fails, so that the message shows the outputs
    root = tmp_path / "cases"
    (root / "pick_first").mkdir(parents=True)
    (root / "pick_first" / "pf-attributes-in-messages.json").write_text(json.dumps(data))
    assert main(["run", "--cases", str(root), "--in-process"]) == 1
    out = capsys.readouterr().out
    # The old subchannel and the new one share 10.0.0.1:80; only the attribute tells them apart.
    assert "step 4 (resolver_update [[10.0.0.1:80{zone=b}]])" in out
    assert "got [shutdown 10.0.0.1:80; update_state CONNECTING; " in out
    assert "new_subchannel [10.0.0.1:80{zone=b}]; connect 10.0.0.1:80{zone=b}]" in out


@pytest.mark.req("CONF-5")
def test_messages_and_reports_number_case_steps_from_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = ROOT / "conformance/cases/pick_first/pf-ready-address-takes-every-pick.json"
    data = json.loads(source.read_text())
    data["id"] = "pf-numbering"
    # Step 6, after a statistical step of 20 picks (seqs 5..24, picks 2..21): a pick that
    # cannot queue.
    data["steps"].append(
        {"input": {"type": "pick"}, "expect": {"outputs": [{"type": "pick_queue"}]}}
    )
    root = tmp_path / "cases"
    (root / "pick_first").mkdir(parents=True)
    (root / "pick_first" / "pf-numbering.json").write_text(json.dumps(data))
    report = tmp_path / "report.json"
    assert main(["run", "--cases", str(root), "--in-process", "--json", str(report)]) == 1
    assert "step 6, seq 25 (pick 22): expected exactly [pick_queue]" in capsys.readouterr().out
    assert json.loads(report.read_text())["results"][0]["step"] == 6
