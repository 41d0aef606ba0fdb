"""Which spec monitors judge a case: BoundaryMonitor always, plus the policy's own if it has one.

Per-policy monitors live in ``spec/monitors/<module>.py``, written from the spec
alone.  :data:`POLICY_MONITOR_MODULES` maps a policy name to that module; the
monitor class is the module's ``MONITOR`` attribute if it has one, else the one
class defined there whose name ends in ``Monitor``.  A policy with no module yet
is judged by BoundaryMonitor alone, and :func:`monitors_for` says so.

A monitor class is built with no arguments, or with any of the keyword
arguments ``config``, ``profile`` and ``health_checking`` (also offered as
``client_health_checking``) it declares: the case's policy config,
:class:`~spec.connectivity.Profile` and channel option.

Where the sources differ, the spec makes the behaviour an option
(:mod:`spec.options`, one registry) and an implementation says which one it
follows: the adapter's handshake lists ``spec_options`` such as
``{"pick_first.reresolution": "grpc_go"}``.  A key or value the registry does
not know is a case error.  The value goes to the registry entry's
``monitor_parameter`` of the monitor of each policy in its ``monitor_policies``
(``<policy>.<param>`` -> that policy's ``param``), converted to the parameter's
type (an enum by value, or bool, int, str).  Options with no monitor parameter
(``service_config.*``, and those the monitors encode at their default value)
only select cases.
"""

from __future__ import annotations

import enum
import functools
import importlib
import inspect
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from conformance.errors import CaseError
from spec.connectivity import Profile
from spec.errors import ModelError
from spec.monitors.boundary import BoundaryMonitor
from spec.options import check_value
from spec.trace import Monitor

POLICY_MONITOR_MODULES: dict[str, str] = {
    "pick_first": "spec.monitors.pick_first",
    "round_robin": "spec.monitors.round_robin",
    "weighted_round_robin": "spec.monitors.weighted_round_robin",
    "least_request_experimental": "spec.monitors.least_request",
    # Service config cases (PROTOCOL.md): the channel's LB layer, judged by graceful switch.
    "service_config": "spec.monitors.graceful_switch",
}

MonitorFactory = Callable[[], Monitor]


@attrs.frozen
class MonitorSet:
    """The monitor factories for one policy, and their names for reports."""

    factories: tuple[MonitorFactory, ...]
    names: tuple[str, ...]
    note: str = ""  # why a policy monitor is missing, when it is


def find_policy_monitor(policy: str) -> tuple[type[Any] | None, str]:
    """The policy's monitor class, or None and the reason there is none."""
    module_name = POLICY_MONITOR_MODULES.get(policy)
    if module_name is None:
        return None, f"no monitor module is registered for policy {policy!r}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name != module_name:
            raise  # the module exists but its own import failed: a real bug
        return None, f"{module_name} does not exist yet"
    explicit = getattr(module, "MONITOR", None)
    if isinstance(explicit, type):
        return explicit, ""
    found = [
        cls
        for name, cls in vars(module).items()
        if inspect.isclass(cls)
        and cls.__module__ == module_name
        and name.endswith("Monitor")
        and callable(getattr(cls, "observe", None))
        and callable(getattr(cls, "finish", None))
    ]
    if len(found) != 1:
        names = sorted(c.__name__ for c in found)
        return None, f"{module_name} defines {names or 'no'} monitor classes; set MONITOR"
    return found[0], ""


def _convert(value: str, hint: Any, key: str) -> Any:
    """A declared spec option's text, as the monitor parameter's type."""
    try:
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            return hint(value)
        if hint is bool:
            if value not in ("true", "false"):
                raise ValueError(value)
            return value == "true"
        if hint is int:
            return int(value)
    except ValueError:
        allowed = ""
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            allowed = " (one of " + ", ".join(str(m.value) for m in hint) + ")"
        raise CaseError(f"the adapter declares spec option {key}={value!r}{allowed}") from None
    return value


# Introspection costs more than a short case, and explore runs one case per transition.
_PARAMETERS: dict[type[Any], tuple[Mapping[str, inspect.Parameter], dict[str, Any]]] = {}


def _parameters(cls: type[Any]) -> tuple[Mapping[str, inspect.Parameter], dict[str, Any]]:
    """The monitor class's constructor parameters and their type hints (worked out once)."""
    if cls not in _PARAMETERS:
        _PARAMETERS[cls] = inspect.signature(cls).parameters, typing.get_type_hints(cls.__init__)
    return _PARAMETERS[cls]


def monitors_for(
    policy: str,
    *,
    config: Any = None,
    profile: Profile = Profile.CURRENT,
    health_checking: bool = False,
    spec_options: Mapping[str, str] | None = None,
    known_policies: Iterable[str] = (),
) -> MonitorSet:
    """BoundaryMonitor, plus the policy's monitor when there is one."""
    factories: list[MonitorFactory] = [functools.partial(BoundaryMonitor, profile)]
    names = ["BoundaryMonitor"]
    cls, note = find_policy_monitor(policy)
    if cls is not None:
        offered: dict[str, Any] = {
            "config": config,
            "profile": profile,
            "health_checking": health_checking,
            "client_health_checking": health_checking,
            # The policies the adapter registered: which one a service config selects (SC-1).
            "known_policies": frozenset(known_policies),
        }
        params, hints = _parameters(cls)
        for key, value in (spec_options or {}).items():
            try:
                option = check_value(key, value)
            except ModelError as err:
                raise CaseError(
                    f"the adapter declares spec option {key}={value!r}: {err}"
                ) from None
            if policy not in option.monitor_policies or option.monitor_parameter is None:
                continue  # selection-only, or another policy's option (spec/options.py)
            name = option.monitor_parameter
            if name not in params:
                raise CaseError(f"the {cls.__name__} has no parameter {name!r} (for {key!r})")
            offered[name] = _convert(value, hints.get(name), key)
        kwargs = {k: v for k, v in offered.items() if k in params}

        def make(cls: type[Any] = cls, kwargs: dict[str, Any] = kwargs) -> Monitor:
            monitor: Monitor = cls(**kwargs)
            return monitor

        factories.append(make)
        names.append(cls.__name__)
    return MonitorSet(tuple(factories), tuple(names), note)


def spec_option_default(key: str) -> str | None:
    """The value ``"<policy>.<option>"`` takes for an adapter that declares none: the
    registry's default (spec/options.py), which is also the default of the monitor
    parameter that takes it, so the monitor judges every case by it.  An option the
    registry lacks: the monitor parameter's default; None when there is none either."""
    from spec.options import OPTIONS

    if key in OPTIONS:
        return OPTIONS[key].default
    policy, _, name = key.partition(".")
    cls, _ = find_policy_monitor(policy)
    if cls is None:
        return None
    param = inspect.signature(cls).parameters.get(name)
    if param is None or param.default is inspect.Parameter.empty:
        return None
    default = param.default
    if isinstance(default, enum.Enum):
        return str(default.value)
    if isinstance(default, bool):
        return "true" if default else "false"
    return str(default)
