"""Every generated Mermaid diagram parses with Mermaid's own parser and shows exactly the
spec's states and edges (issue 16: a ';' in a label cut the CONN-4 edge and drew two
phantom states, and nothing noticed).

Needs Node and ``tests/mermaid/node_modules`` (``make check-diagrams`` installs the pinned
parser and runs this with REQUIRE_MERMAID=1, so that in CI it fails instead of skipping).
``make check`` never needs Node: without it these tests skip, saying why.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from spec.connectivity import CHANNEL_TRANSITIONS, Profile, State, transitions
from spec.docs import mermaid_label, render_all

MERMAID_DIR = Path(__file__).resolve().parents[1] / "mermaid"
_BLOCK = re.compile(r"```mermaid\n(.*?)```", re.DOTALL)


def _why_not_runnable() -> str | None:
    if shutil.which("node") is None:
        return "Node is not installed (make check-diagrams needs it)"
    if not (MERMAID_DIR / "node_modules" / "mermaid").is_dir():
        return "the Mermaid parser is not installed: run `make check-diagrams`"
    return None


@pytest.fixture(scope="module")
def parse() -> Any:
    reason = _why_not_runnable()
    if reason is not None:
        if os.environ.get("REQUIRE_MERMAID") == "1":
            pytest.fail(f"REQUIRE_MERMAID=1 but {reason}")
        pytest.skip(reason)

    @functools.cache
    def run(texts: tuple[str, ...]) -> list[dict[str, Any]]:
        done = subprocess.run(
            ["node", str(MERMAID_DIR / "parse.mjs")],
            input=json.dumps(list(texts)),
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        results: list[dict[str, Any]] = json.loads(done.stdout)
        return results

    return run


def _diagrams() -> list[tuple[str, str]]:
    """(where, text) of every Mermaid block in every generated page."""
    return [
        (f"docs/{name}#{index}", block)
        for name, content in sorted(render_all().items())
        for index, block in enumerate(_BLOCK.findall(content))
    ]


def _decode(label: str) -> str:
    """Mermaid keeps entity codes (``#59;``) as placeholders until it renders; undo both."""
    return re.sub(r"ﬂ°°(\d+)¶ß", lambda m: chr(int(m.group(1))), label)


def test_every_generated_diagram_parses(parse: Any) -> None:
    diagrams = _diagrams()
    assert len(diagrams) >= 3  # the two subchannel profiles and the channel
    results = parse(tuple(text for _, text in diagrams))
    errors = {
        where: r["error"] for (where, _), r in zip(diagrams, results, strict=True) if "error" in r
    }
    assert errors == {}


@pytest.mark.req("CONN-4")
def test_the_diagrams_show_exactly_the_spec_states_and_edges(parse: Any) -> None:
    diagrams = dict(_diagrams())
    texts = tuple(diagrams.values())
    results = dict(zip(diagrams, parse(texts), strict=True))
    expected: dict[str, set[tuple[str, str]]] = {}
    for index, profile in enumerate((Profile.CURRENT, Profile.SEED)):
        edges = {(t.source.name, t.target.name) for t in transitions(profile)}
        edges = {e for e in edges if e[1] != State.SHUTDOWN.name}
        expected[f"docs/connectivity.md#{index}"] = edges | {("ANY", "SHUTDOWN")}
    expected["docs/connectivity.md#2"] = {
        (t.source.name, t.target.name) for t in CHANNEL_TRANSITIONS
    }
    for where, edges in expected.items():
        got = results[where]
        drawn = {(a, b) for a, b, _ in got["edges"] if a != "root_start" and b != "root_end"}
        assert drawn == edges, where
        states = {s for edge in edges for s in edge}
        assert set(got["states"]) == states, f"{where}: phantom or missing states"
        for a, b, label in got["edges"]:
            if a != "root_start" and b != "root_end":
                assert re.search(r"\((CONN|CHAN)-\d+\)$", _decode(label)), (where, label)


def test_a_label_with_a_semicolon_is_escaped_and_parses_whole(parse: Any) -> None:
    label = mermaid_label('every address failed; "the" state: #1 {x} <y> [z] | a\\b')
    text = f"stateDiagram-v2\n    [*] --> A\n    A --> B: {label}\n"
    (result,) = parse((text,))
    assert "error" not in result, result
    assert set(result["states"]) == {"A", "B"}
    (edge,) = [e for e in result["edges"] if e[0] == "A"]
    assert _decode(edge[2]) == 'every address failed; "the" state: #1 {x} <y> [z] | a\\b'


def test_labels_are_escaped_without_mermaid() -> None:
    # Runs in `make check` (no Node): no statement-ending character appears raw in a label.
    assert mermaid_label("a; b") == "a#59; b"
    for where, text in _diagrams():
        for line in text.splitlines()[1:]:
            _, _, label = line.partition(": ")
            assert ";" not in re.sub(r"#\d+;", "", label), (where, line)


def test_edge_labels_are_short_and_a_profile_diagram_never_mentions_the_other() -> None:
    diagrams = dict(_diagrams())
    for where, text in diagrams.items():
        for line in text.splitlines()[1:]:
            _, _, label = line.partition(": ")
            assert len(label) <= 45, (where, label)  # the table beside it has the sentence
    current = diagrams["docs/connectivity.md#0"]
    assert "seed" not in current
    assert "older" not in current
