"""The make targets that run adapters cannot pass having checked nothing (issue 16)."""

from __future__ import annotations

import re
import shutil

import pytest

from conformance.cli import main
from tests.conformance.helpers import ROOT

MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")
QUICKSTART = ROOT / "conformance" / "adapters" / "quickstart-js" / "adapter.js"


def _recipe(target: str) -> str:
    """The recipe lines of ``target`` in the Makefile, joined."""
    match = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n?)+)", MAKEFILE, re.MULTILINE)
    assert match is not None, f"no target {target} in the Makefile"
    return match.group(1)


def _variable(name: str) -> list[str]:
    match = re.search(rf"^{name} := ((?:.*\\\n)*.*)$", MAKEFILE, re.MULTILINE)
    assert match is not None, f"no variable {name} in the Makefile"
    return match.group(1).replace("\\\n", " ").split()


@pytest.mark.req("CONF-4", "CONF-6")
def test_the_reference_adapter_runs_with_require_all() -> None:
    # The reference lacks nothing: any SKIPPED case is a failure of `make conformance`.
    assert "--require-all" in _recipe("conformance")


@pytest.mark.req("CONF-4", "CONF-6")
def test_ci_runs_the_diagram_check_and_the_quickstart_adapter() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^make check-diagrams$", ci, re.MULTILINE)
    assert re.search(r"^make conformance-quickstart$", ci, re.MULTILINE)
    assert "--require-all" in _recipe("conformance-quickstart")
    assert "REQUIRE_MERMAID=1" in _recipe("check-diagrams")  # fails, never skips, in CI


def test_the_quickstart_adapter_stays_small() -> None:
    lines = QUICKSTART.read_text(encoding="utf-8").splitlines()
    assert len(lines) < 150


@pytest.mark.req("CONF-2", "CONF-5")
@pytest.mark.skipif(shutil.which("node") is None, reason="Node is not installed")
def test_the_quickstart_adapter_passes_its_cases(capsys: pytest.CaptureFixture[str]) -> None:
    cases = _variable("QUICKSTART_CASES")
    assert len(cases) >= 5
    ids = [arg for case in cases for arg in ("--id", case)]
    adapter = f"node {QUICKSTART}"
    assert main(["run", "--require-all", "--adapter", adapter, "--quiet", *ids]) == 0
    assert f"{len(cases)} passed, 0 failed, 0 errored, 0 skipped" in capsys.readouterr().out
    # A toy: it has no sticky TRANSIENT_FAILURE, and the suite says so (PF-16).
    assert main(["run", "--adapter", adapter, "--quiet", "--id", "pf-sticky-transient-"]) == 1
    assert "PF-16" in capsys.readouterr().out


@pytest.mark.req("CONF-8", "CONF-2")
def test_protocol_md_says_what_an_adapter_author_needs() -> None:
    from conformance.cases import AREA_PREFIXES

    text = " ".join((ROOT / "conformance" / "PROTOCOL.md").read_text(encoding="utf-8").split())
    for area, prefix in AREA_PREFIXES.items():
        if area != "selftest":  # the suite's own test area, not part of the corpus
            assert f"`{prefix}` for `{area}`" in text
    for point in (
        "`time` (required)",  # a required capability
        "An adapter that declares nothing takes each option's default",  # spec_options
        "`begin` then carries `spec_options`",  # configurable_options
        "`addresses` (required: the subchannel's addresses",  # new_subchannel.addresses
        "`metadata` (optional, default `{}`",  # pick_complete.metadata
        "**A rejected config.**",
        "**Step numbers.**",
        "`10.0.0.1:80{zone=b}`",  # attributes in messages
        "conformance/adapters/quickstart-js/",
    ):
        assert point in text, point
