"""The monitor registry: BoundaryMonitor always; a policy's monitor when its module exists."""

from __future__ import annotations

import sys
import types

import pytest

from conformance import monitors
from spec.connectivity import Profile
from spec.monitors.boundary import BoundaryMonitor
from spec.trace import Step, Violation


class ExampleMonitor:
    def __init__(self, profile: Profile) -> None:
        self.profile = profile

    def observe(self, index: int, step: Step) -> list[Violation]:
        return []

    def finish(self) -> list[Violation]:
        return [Violation("LB-4", -1, f"profile {self.profile.value}")]


def test_a_policy_without_a_monitor_module_gets_the_boundary_monitor_alone() -> None:
    found = monitors.monitors_for("no_such_policy")
    assert found.names == ("BoundaryMonitor",)
    assert "no monitor module" in found.note
    assert isinstance(found.factories[0](), BoundaryMonitor)


def test_a_policy_monitor_is_found_by_module_and_given_the_options_it_declares(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = types.ModuleType("spec.monitors.example_policy")
    ExampleMonitor.__module__ = module.__name__
    module.ExampleMonitor = ExampleMonitor  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(monitors.POLICY_MONITOR_MODULES, "example_policy", module.__name__)
    found = monitors.monitors_for("example_policy", profile=Profile.SEED)
    assert found.names == ("BoundaryMonitor", "ExampleMonitor")
    made = found.factories[1]()
    assert made.finish() == [Violation("LB-4", -1, "profile seed")]


def test_a_missing_module_degrades_but_a_broken_one_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(monitors.POLICY_MONITOR_MODULES, "ghost", "spec.monitors.ghost_policy")
    assert monitors.monitors_for("ghost").names == ("BoundaryMonitor",)
    monkeypatch.setitem(monitors.POLICY_MONITOR_MODULES, "broken", "spec.monitors.boundary")
    found = monitors.monitors_for("broken")  # a module with one *Monitor class: it is used
    assert found.names == ("BoundaryMonitor", "BoundaryMonitor")
