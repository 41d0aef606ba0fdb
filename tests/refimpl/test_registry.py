"""The LB policy registry: exact names, last registration wins (grpc-go balancer/balancer.go)."""

from __future__ import annotations

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
