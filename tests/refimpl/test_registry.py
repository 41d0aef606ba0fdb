"""The LB policy registry: exact names, last registration wins (grpc-go balancer/balancer.go)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refimpl import registry
from tests.refimpl.scripted_policy import ScriptedBuilder, registered


@pytest.mark.req("REG-1")
def test_lookup_is_exact_and_case_sensitive() -> None:
    builder = ScriptedBuilder("Test_Registry_Mixed")
    with registered(builder):
        assert registry.get("Test_Registry_Mixed") is builder
        assert registry.get("test_registry_mixed") is None
        assert registry.get("TEST_REGISTRY_MIXED") is None
        assert registry.get("Test_Registry_Mixed ") is None
        assert "Test_Registry_Mixed" in registry.names()
    assert registry.get("Test_Registry_Mixed") is None  # the fixture restored the registry


@pytest.mark.req("REG-2")
def test_last_registration_of_a_name_wins() -> None:
    first, second = ScriptedBuilder("test_registry_dup"), ScriptedBuilder("test_registry_dup")
    with registered(first):
        registry.register(second)
        assert registry.get("test_registry_dup") is second
    assert registry.get("test_registry_dup") is None


@pytest.mark.req("REG-3")
def test_unknown_name_finds_nothing() -> None:
    assert registry.get("test_registry_never_registered") is None


@pytest.mark.req("REG-4")
@pytest.mark.parametrize("name", ["", None, 3])
def test_builder_needs_a_non_empty_string_name(name: object) -> None:
    builder = ScriptedBuilder("placeholder")
    builder.name = name  # type: ignore[assignment]
    with pytest.raises(ValueError, match="non-empty name"):
        registry.register(builder)


_PREFIX = "test_reg_"
_NAMES = st.text(alphabet="aAbB_", min_size=1, max_size=3).map(lambda s: _PREFIX + s)


@pytest.mark.req("REG-1", "REG-2")
@given(st.lists(_NAMES, min_size=1, max_size=12))
def test_registry_behaves_like_an_exact_dict_with_overwrite(names: list[str]) -> None:
    builders = [ScriptedBuilder(name) for name in names]
    expected = {b.name: b for b in builders}  # a plain dict: exact keys, the last one wins
    with registered(*builders):
        for name, builder in expected.items():
            assert registry.get(name) is builder
        for name in expected:
            other_case = _PREFIX + name.removeprefix(_PREFIX).swapcase()
            if other_case not in expected:
                assert registry.get(other_case) is None
    for name in expected:
        assert registry.get(name) is None


_README = Path(__file__).resolve().parents[2] / "README.md"


def _policies_the_readme_names() -> set[str]:
    """The policy column of the README's "Conformance results" table, minus the total row."""
    section = _README.read_text(encoding="utf-8").split("## Conformance results", 1)[1]
    lines = section.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| policy |"))
    names = set()
    for line in lines[start + 2 :]:  # after the header and its |---| line
        if not line.startswith("|"):
            break  # the end of the table
        first = line.split("|")[1].split()[0]  # "round_robin (incl. health...)" -> round_robin
        if first != "**all**":
            names.add(first)
    return names


# Every module that makes a channel; each imports refimpl/builtin.py (refimpl/registry.py).
_CHANNELS = (
    "refimpl.driver",
    "refimpl.service_config",
    "refimpl.io.balanced_channel",
    "refimpl.io.blackbox",
)


@pytest.mark.req("REG-1")
@pytest.mark.parametrize("channel", _CHANNELS)
def test_a_fresh_process_finds_every_built_in_policy_the_readme_names(channel: str) -> None:
    """Wherever a channel is, refimpl/builtin.py has registered every built-in policy.

    In this process the test modules import the policies themselves, which would hide a
    policy dropped from refimpl/builtin.py, or a channel that no longer imports it
    (issue 19); a new interpreter imports only the channel's module and the registry.
    """
    named = _policies_the_readme_names()
    assert {"pick_first", "round_robin", "weighted_round_robin"} <= named, named
    script = (
        f"import json, {channel}; from refimpl import registry; print(json.dumps(registry.names()))"
    )
    found = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=_README.parent,
    )
    missing = named - set(json.loads(found.stdout))
    assert not missing, (
        f"built-in policies the README names but not registered after importing {channel} "
        f"(refimpl/builtin.py): {missing}"
    )
