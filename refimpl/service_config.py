"""Service config JSON -> which LB policy the channel runs, with its parsed config.

The rules (requirement IDs in ``spec/catalogue/service_config.py``, area SC):

* ``loadBalancingConfig`` is a list of one-key objects ``{name: config}``.  The
  entries are read in order and the first whose name is registered wins
  (SC-1); entries after it are not looked at (SC-2).  An entry read before the
  winner that is not an object with exactly one key makes the whole service
  config invalid (SC-3).  The winner's ``parse_config`` runs on its value; if it
  fails, the whole service config is invalid (SC-4).  No registered name, or an
  empty list, is an error (SC-5).  (grpc-go ``internal/balancer/gracefulswitch/
  config.go``, ``ParseConfig``; ``internal/serviceconfig/serviceconfig.go``,
  ``BalancerConfig.UnmarshalJSON``; gRFC A24.)
* The deprecated ``loadBalancingPolicy`` (a policy name) counts only when
  ``loadBalancingConfig`` is absent; a name nobody registered falls back to
  ``pick_first``; with neither field the policy is ``pick_first`` (SC-6, SC-7).
  The chosen policy's parser then runs on ``{}``, exactly as grpc-go turns the
  name into ``[{"name": {}}]`` (grpc-go ``service_config.go``,
  ``parseServiceConfig``).
* ``healthCheckConfig.serviceName`` is read into the result; an unset
  ``serviceName`` means health checking is off (SC-8; gRFC A17).
* A JSON ``null`` for any of these fields means the field is absent (grpc-go
  decodes them into pointers, which stay nil for ``null``).

Every problem raises a :class:`ServiceConfigError` whose ``path`` names the
place in the JSON (``loadBalancingConfig[1].weighted_round_robin.blackoutPeriod``),
never an exception from deep inside a parser (SC-9).  That includes input no JSON
reader of an implementation takes either: NaN and Infinity, a number no double
holds (``1e400``, a 5000-digit integer), and nesting deeper than
:data:`MAX_NESTING` (which would otherwise end in Python's RecursionError).

Where implementations differ, this module picks one and says so:

* The value under a policy name goes to that policy's parser whatever its JSON
  type, as in grpc-go; C-core wants an object (``lb_policy_registry.cc``).
* Entries after the winner are not examined (SC-2), as in C-core; grpc-go
  decodes the whole list first, so a non-object entry anywhere fails there.
* ``healthCheckConfig: {}`` means no health checking (gRFC A17); grpc-go checks
  whenever ``healthCheckConfig`` is present.  ``ServiceConfig.health_check``
  keeps the difference visible (None vs. an object without a service name).
* Field names must match exactly, as in C-core; Go's ``encoding/json`` also
  accepts other capitalisations of the top-level names.

Fields other than the three above (``methodConfig``, ``retryThrottling``...)
are not validated here; grpc-go also rejects a service config when those are
invalid.
"""

from __future__ import annotations

import enum
import json
import math
import re
import sys
from collections.abc import Callable
from typing import Any

import attrs

import refimpl.builtin  # noqa: F401  (registers the built-in policies)
from refimpl import registry
from refimpl.balancer import Builder, ConfigError, ConfigParser, JsonValue

DEFAULT_POLICY = "pick_first"  # client_channel_specification.md: the default policy
# Far deeper than any real service config (a few childPolicy levels), far below
# Python's recursion limit, so that no recursive policy parser can overflow.
MAX_NESTING = 64
_MAX_DOUBLE = int(sys.float_info.max)

Lookup = Callable[[str], Builder | None]


# --- Errors ---


class ServiceConfigError(ConfigError):
    """The service config is invalid; ``path`` says where, ``problem`` says what."""


class ServiceConfigSyntaxError(ServiceConfigError):
    """The service config text is not JSON.  ``line`` and ``column`` count from 1."""

    def __init__(self, problem: str, line: int, column: int) -> None:
        self.line = line
        self.column = column
        super().__init__(f"line {line} column {column}", problem)


class NoSupportedPolicyError(ServiceConfigError):
    """``loadBalancingConfig`` names no registered policy (or is empty)."""

    def __init__(self, path: str, names: tuple[str, ...]) -> None:
        self.names = names
        problem = (
            f"no registered policy among {list(names)}"
            if names
            else "the list is empty, so there is no policy to choose"
        )
        super().__init__(path, problem)


class PolicyConfigError(ServiceConfigError):
    """The chosen policy's ``parse_config`` rejected its config (SC-4)."""

    def __init__(self, path: str, policy: str, problem: str) -> None:
        self.policy = policy
        super().__init__(path, f"invalid config for policy {policy!r}: {problem}")


# --- Results ---


class SelectionSource(enum.Enum):
    """Which part of the service config chose the policy."""

    LOAD_BALANCING_CONFIG = "loadBalancingConfig"
    LOAD_BALANCING_POLICY = "loadBalancingPolicy"
    DEFAULT = "default"


@attrs.frozen
class LbPolicySelection:
    """The policy the channel should run and the config its parser returned."""

    name: str = attrs.field(validator=attrs.validators.instance_of(str))
    builder: Builder = attrs.field(eq=False, repr=False)
    # What the builder's parse_config returned; None when it has no parser.
    config: Any = attrs.field(eq=False)
    source: SelectionSource = attrs.field(validator=attrs.validators.instance_of(SelectionSource))
    index: int | None = None  # the winning position in loadBalancingConfig


@attrs.frozen
class HealthCheckConfig:
    """``healthCheckConfig`` (gRFC A17).  ``service_name`` None: checking is off."""

    service_name: str | None = None


@attrs.frozen
class ServiceConfig:
    """The parts of a service config this project uses."""

    lb_policy: LbPolicySelection
    health_check: HealthCheckConfig | None = None
    raw: JsonValue = attrs.field(default=None, eq=False, repr=False)

    @property
    def health_check_service_name(self) -> str | None:
        """The service to health-check, or None when checking is off (SC-8)."""
        return None if self.health_check is None else self.health_check.service_name


# --- Parsing ---

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def join_path(path: str, key: str | int) -> str:
    """``a`` + ``b`` -> ``a.b``; ``a`` + 3 -> ``a[3]``; odd keys are quoted: ``a["x.y"]``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _IDENTIFIER.match(key) is None:
        return f"{path}[{json.dumps(key)}]"
    return f"{path}.{key}" if path else key


def _under(path: str, sub_path: str) -> str:
    """Append a policy's own error path (``"choiceCount"``, ``"[0].x"``) to ``path``."""
    if not sub_path:
        return path
    if sub_path.startswith("["):
        return path + sub_path
    return f"{path}.{sub_path}"


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class _NonJsonConstantError(ValueError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"{name} is not valid JSON")


def _reject_constant(name: str) -> float:
    raise _NonJsonConstantError(name)


class _OutOfRangeNumber:
    """A number token no double holds; :func:`_check_json` reports it with its path."""

    def __init__(self, text: str) -> None:
        self.text = text if len(text) <= 24 else f"{text[:12]}... ({len(text)} digits)"


def _parse_int(text: str) -> int | _OutOfRangeNumber:
    # int() refuses more than 4300 digits with a ValueError of its own; a double holds
    # at most 309 digits before the point.
    if len(text) > 310:
        return _OutOfRangeNumber(text)
    number = int(text)
    return number if abs(number) <= _MAX_DOUBLE else _OutOfRangeNumber(text)


def _parse_float(text: str) -> float | _OutOfRangeNumber:
    number = float(text)
    return number if math.isfinite(number) else _OutOfRangeNumber(text)  # 1e400 -> inf


def _line_column(text: str, name: str) -> tuple[int, int]:
    """Where the bare token ``name`` first occurs outside a string (1-based)."""
    in_string = escaped = False
    for index, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif text.startswith(name, index):
            return text.count("\n", 0, index) + 1, index - text.rfind("\n", 0, index)
    return 1, 1  # not reached: the decoder only asks about tokens it found


def load_json(text: str) -> JsonValue:
    """Parse JSON text strictly (no NaN/Infinity); errors give line and column."""
    try:
        return json.loads(
            text, parse_constant=_reject_constant, parse_int=_parse_int, parse_float=_parse_float
        )
    except RecursionError:
        raise ServiceConfigSyntaxError(
            f"not valid JSON: nested deeper than {MAX_NESTING} levels", 1, 1
        ) from None
    except json.JSONDecodeError as err:
        raise ServiceConfigSyntaxError(
            f"not valid JSON: {err.msg}", err.lineno, err.colno
        ) from None
    except _NonJsonConstantError as err:
        line, column = _line_column(text, err.name)
        raise ServiceConfigSyntaxError(f"not valid JSON: {err}", line, column) from None


def _run_parser(builder: Builder, name: str, value: JsonValue, path: str) -> Any:
    """The builder's parse_config on ``value``; any rejection becomes a PolicyConfigError."""
    if not isinstance(builder, ConfigParser):
        return None  # grpc-go: a builder without ParseConfig takes no config
    try:
        return builder.parse_config(value)
    except ConfigError as err:
        raise PolicyConfigError(_under(path, err.path), name, err.problem) from err
    except (ValueError, TypeError, ArithmeticError) as err:  # ModelError is a ValueError
        raise PolicyConfigError(path, name, str(err) or type(err).__name__) from err


def parse_load_balancing_config(
    entries: JsonValue, *, path: str = "loadBalancingConfig", lookup: Lookup = registry.get
) -> LbPolicySelection:
    """Choose from a ``loadBalancingConfig``-style list (SC-1..SC-5).

    Also usable by a parent policy for a nested ``childPolicy`` list: pass its ``path``.
    """
    if not isinstance(entries, list):
        raise ServiceConfigError(
            path, f"must be a list of one-key objects, got {_json_type(entries)}"
        )
    tried: list[str] = []
    for index, entry in enumerate(entries):
        entry_path = join_path(path, index)
        if not isinstance(entry, dict):  # SC-3
            raise ServiceConfigError(
                entry_path,
                f"must be an object with exactly one key (the policy name), "
                f"got {_json_type(entry)}",
            )
        if len(entry) != 1:  # SC-3
            raise ServiceConfigError(
                entry_path,
                f"must have exactly one key (the policy name), got {len(entry)}: {sorted(entry)}",
            )
        ((name, value),) = entry.items()
        builder = lookup(name)
        if builder is None:
            tried.append(name)
            continue  # SC-1: unregistered names are skipped
        config = _run_parser(builder, name, value, join_path(entry_path, name))  # SC-4
        return LbPolicySelection(
            name, builder, config, SelectionSource.LOAD_BALANCING_CONFIG, index
        )  # SC-2: later entries are never read
    raise NoSupportedPolicyError(path, tuple(tried))  # SC-5


def _select_by_name(name: str, source: SelectionSource, lookup: Lookup) -> LbPolicySelection:
    if lookup(name) is None:
        name, source = DEFAULT_POLICY, SelectionSource.DEFAULT  # SC-6: unknown name
    builder = lookup(name)
    if builder is None:
        # grpc-go reaches "no supported policies" here too: the default is not registered.
        raise NoSupportedPolicyError("loadBalancingPolicy", (name,))
    config = _run_parser(builder, name, {}, "loadBalancingPolicy")
    return LbPolicySelection(name, builder, config, source)


def _parse_health_check(value: JsonValue) -> HealthCheckConfig | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ServiceConfigError("healthCheckConfig", f"must be an object, got {_json_type(value)}")
    service_name = value.get("serviceName")
    if service_name is not None and not isinstance(service_name, str):  # gRFC A17, Validation
        raise ServiceConfigError(
            "healthCheckConfig.serviceName", f"must be a string, got {_json_type(service_name)}"
        )
    return HealthCheckConfig(service_name)


def parse_service_config(value: str | JsonValue, *, lookup: Lookup = registry.get) -> ServiceConfig:
    """Parse a service config, given as JSON text or as already-parsed JSON.

    Raises :class:`ServiceConfigError` (or a subclass) naming the JSON path at fault.
    """
    document = load_json(value) if isinstance(value, str) else value
    _check_json(document, "")
    if not isinstance(document, dict):
        raise ServiceConfigError(
            "", f"a service config is a JSON object, got {_json_type(document)}"
        )
    lb_config = document.get("loadBalancingConfig")
    lb_policy = document.get("loadBalancingPolicy")
    if lb_config is not None:
        selection = parse_load_balancing_config(lb_config, lookup=lookup)
    elif lb_policy is not None:  # SC-6: only when loadBalancingConfig is absent
        if not isinstance(lb_policy, str):
            raise ServiceConfigError(
                "loadBalancingPolicy", f"must be a policy name, got {_json_type(lb_policy)}"
            )
        selection = _select_by_name(lb_policy, SelectionSource.LOAD_BALANCING_POLICY, lookup)
    else:  # SC-7
        selection = _select_by_name(DEFAULT_POLICY, SelectionSource.DEFAULT, lookup)
    health = _parse_health_check(document.get("healthCheckConfig"))
    return ServiceConfig(selection, health, document)


def _check_json(document: object, root: str) -> None:
    """Already-parsed input must be plain JSON data (dict with str keys, list, scalars),
    its numbers finite doubles, nested at most MAX_NESTING deep.  Iterative, so that
    nesting cannot overflow the check itself."""
    stack: list[tuple[object, str, int]] = [(document, root, 0)]
    while stack:
        value, path, depth = stack.pop()
        if value is None or isinstance(value, str | bool):
            continue
        if isinstance(value, _OutOfRangeNumber):
            raise ServiceConfigError(path, f"the number {value.text} is out of range")
        if isinstance(value, int):
            if abs(value) > _MAX_DOUBLE:
                raise ServiceConfigError(path, "the number is out of range (no double holds it)")
            continue
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ServiceConfigError(path, f"{value} is not a JSON number")
            continue
        if not isinstance(value, list | dict):
            raise ServiceConfigError(path, f"not JSON data: {type(value).__name__}")
        if depth >= MAX_NESTING:
            raise ServiceConfigError(path, f"nested deeper than {MAX_NESTING} levels")
        if isinstance(value, list):
            children = [(item, join_path(path, index)) for index, item in enumerate(value)]
        else:
            children = []
            for key, item in value.items():
                if not isinstance(key, str):
                    raise ServiceConfigError(path, f"object keys must be strings, got {key!r}")
                children.append((item, join_path(path, key)))
        stack.extend((item, where, depth + 1) for item, where in reversed(children))
