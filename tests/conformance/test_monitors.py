"""The monitor registry: BoundaryMonitor always; a policy's monitor when its module exists."""

from __future__ import annotations

import enum
import sys
import types

import attrs
import pytest

from conformance import monitors
from conformance.errors import CaseError
from spec import options
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


class Mode(enum.Enum):
    STRICT = "strict"
    LAX = "lax"


class OptionMonitor:
    def __init__(self, mode: Mode = Mode.STRICT, *, client_health_checking: bool = False) -> None:
        self.mode = mode
        self.client_health_checking = client_health_checking

    def observe(self, index: int, step: Step) -> list[Violation]:
        return []

    def finish(self) -> list[Violation]:
        return [Violation("LB-4", -1, f"{self.mode.value} {self.client_health_checking}")]


@pytest.fixture
def option_policy(monkeypatch: pytest.MonkeyPatch) -> str:
    module = types.ModuleType("spec.monitors.option_policy")
    OptionMonitor.__module__ = module.__name__
    module.MONITOR = OptionMonitor  # type: ignore[attr-defined]
    module.Mode = Mode  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(monitors.POLICY_MONITOR_MODULES, "option_policy", module.__name__)
    unchecked = {impl: options.NOT_CHECKED for impl in options.IMPLEMENTATIONS}
    for name in ("mode", "colour"):  # colour: an option the monitor lacks a parameter for
        key = f"option_policy.{name}"
        entry = options.SpecOption(key, ("strict", "lax", "sloppy"), "test", "test", unchecked)
        monkeypatch.setitem(options.OPTIONS, key, attrs.evolve(entry, monitor_parameter=name))
    return "option_policy"


@pytest.mark.req("PF-28")
def test_declared_spec_options_reach_the_policy_monitor(option_policy: str) -> None:
    found = monitors.monitors_for(
        option_policy,
        health_checking=True,
        spec_options={"option_policy.mode": "lax", "pick_first.reresolution": "grpc_go"},
    )
    assert found.factories[1]().finish() == [Violation("LB-4", -1, "lax True")]


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"option_policy.mode": "sloppy"}, r"mode='sloppy' \(one of strict, lax\)"),
        ({"option_policy.mode": "odd"}, "'odd' is not one of strict, lax, sloppy"),
        ({"option_policy.colour": "red"}, "'red' is not one of"),
        ({"option_policy.colour": "lax"}, "has no parameter 'colour'"),
        ({"round_robin.spin": "left"}, "no option 'round_robin.spin'"),
    ],
)
def test_bad_spec_options_are_case_errors(
    option_policy: str, options: dict[str, str], problem: str
) -> None:
    with pytest.raises(CaseError, match=problem):
        monitors.monitors_for(option_policy, spec_options=options)
