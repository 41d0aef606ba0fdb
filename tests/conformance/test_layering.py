"""The runner knows implementations only through adapters: outside conformance/adapters/ no
module of the suite imports refimpl, except conformance/planted.py, the reference with one
bug planted (attached through the reference adapter, never imported by the runner)."""

from __future__ import annotations

import ast

from tests.conformance.helpers import ROOT, run_probe

SUITE = ROOT / "conformance"


def imported_modules(source: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            found.add(node.module)
    return found


def test_only_the_adapters_import_refimpl() -> None:
    offenders = []
    for path in SUITE.rglob("*.py"):
        if "adapters" in path.relative_to(SUITE).parts or path.name == "planted.py":
            continue
        modules = imported_modules(path.read_text(encoding="utf-8"))
        if any(m == "refimpl" or m.startswith("refimpl.") for m in modules):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_running_against_a_subprocess_adapter_never_loads_refimpl() -> None:
    probe = (
        "import sys\n"
        "from conformance import cli, runner, report, explain, fuzz\n"
        "cli.main(['list'])\n"
        "assert not any(m.split('.')[0] == 'refimpl' for m in sys.modules), sorted(sys.modules)\n"
    )
    done = run_probe(probe)
    assert done.returncode == 0, done.stderr


def test_the_reference_adapter_starts_without_the_runners_modules() -> None:
    # A fresh adapter per run pays its imports each time: cases and argparse are the
    # runner's (bench/NOTES.md, adapter start).  The requirement catalogue is not in the
    # list: the built-in policies register when the driver is imported (issue 17), and
    # pick_first imports its constants from spec.catalogue.pick_first; before, they were
    # loaded at the handshake instead, so a run costs the same.
    probe = (
        "import sys\n"
        "import conformance.adapters.refimpl\n"
        "unwanted = {'conformance.cases', 'argparse'} & set(sys.modules)\n"
        "assert not unwanted, sorted(unwanted)\n"
    )
    done = run_probe(probe)
    assert done.returncode == 0, done.stderr
