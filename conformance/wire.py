"""The JSON codec between spec models and the conformance protocol, in both directions.

Every value that crosses the adapter boundary or sits in a case file has one
JSON form, defined here and in ``conformance/schema/defs.schema.json``:

* a :class:`~spec.types.Status` is ``{"code": "UNAVAILABLE", "message": "..."}``
  (a code name; numbers are accepted on input);
* a :class:`~spec.types.Duration` is protobuf JSON, ``"0.25s"``;
* an :class:`~spec.types.Address` is ``"10.0.0.1:80"``, or an object when it
  carries a server name or attributes;
* an :class:`~spec.types.Endpoint` is a list of addresses, or an object when it
  carries a weight or attributes;
* inputs (:mod:`spec.events`) and outputs (:mod:`spec.actions`) are objects
  tagged by ``"type"`` (``"subchannel_state"``, ``"pick_complete"``...).

Subchannels are named three ways: by address in cases, by the adapter's own
handle on the wire, by creation-order :data:`~spec.events.SubchannelId` in
traces (LB-6).  So the codec never decides how a subchannel is named: the
caller passes ``subchannel`` hooks that turn a spec ID into JSON and back
(:func:`spec_id_to_json`, :func:`spec_id_from_json` are the identity form).

Decoding is strict: an unknown key, a missing key or a wrong type raises
:class:`~conformance.errors.WireError` naming the JSON path; the case loader
adds the file and line (:func:`line_of`).
"""

from __future__ import annotations

import bisect
import functools
import json
import math
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import attrs

from conformance.errors import JsonPath, WireError
from spec import actions as act
from spec import events as ev
from spec.connectivity import State
from spec.errors import ModelError
from spec.types import (
    Address,
    Attributes,
    Duration,
    Endpoint,
    OrcaLoadReport,
    Status,
    StatusCode,
)

JsonValue = Any
_T = TypeVar("_T")
JsonObject = dict[str, Any]
SubchannelToJson = Callable[[int], JsonValue]
SubchannelFromJson = Callable[[JsonValue, JsonPath], int]


def spec_id_to_json(ident: int) -> JsonValue:
    """Name a subchannel by its spec ID (the form traces use)."""
    return ident


def spec_id_from_json(value: JsonValue, path: JsonPath) -> int:
    """Read a subchannel named by its spec ID: a positive integer."""
    return positive_int(value, path)


# --- scalar helpers ---


def expect_object(value: JsonValue, path: JsonPath) -> JsonObject:
    if not isinstance(value, dict):
        raise WireError(path, f"expected an object, got {_show(value)}")
    return value


def expect_list(value: JsonValue, path: JsonPath) -> list[Any]:
    if not isinstance(value, list):
        raise WireError(path, f"expected a list, got {_show(value)}")
    return value


def expect_str(value: JsonValue, path: JsonPath) -> str:
    if not isinstance(value, str):
        raise WireError(path, f"expected a string, got {_show(value)}")
    return value


def expect_bool(value: JsonValue, path: JsonPath) -> bool:
    if not isinstance(value, bool):
        raise WireError(path, f"expected true or false, got {_show(value)}")
    return value


def expect_int(value: JsonValue, path: JsonPath) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise WireError(path, f"expected an integer, got {_show(value)}")
    return value


def positive_int(value: JsonValue, path: JsonPath) -> int:
    number = expect_int(value, path)
    if number < 1:
        raise WireError(path, f"expected a positive integer, got {number}")
    return number


def expect_number(value: JsonValue, path: JsonPath) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise WireError(path, f"expected a number, got {_show(value)}")
    if not math.isfinite(value):
        raise WireError(path, f"expected a finite number, got {value!r}")
    return value


def check_keys(
    obj: JsonObject, path: JsonPath, required: frozenset[str], optional: frozenset[str]
) -> None:
    """Every required key present, no key outside ``required | optional``."""
    missing = sorted(required - obj.keys())
    if missing:
        raise WireError(path, f"missing key {missing[0]!r}")
    unknown = sorted(obj.keys() - required - optional)
    if unknown:
        allowed = ", ".join(sorted(required | optional))
        raise WireError((*path, unknown[0]), f"unknown key (allowed here: {allowed})")


def _show(value: JsonValue) -> str:
    text = json.dumps(value) if _jsonable(value) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _jsonable(value: JsonValue) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _model(path: JsonPath, build: Callable[[], _T]) -> _T:
    """Build a spec model; its :class:`ModelError` becomes a WireError at ``path``."""
    try:
        return build()
    except ModelError as err:
        raise WireError(path, err.problem) from None


# --- value types ---


def state_to_json(state: State) -> str:
    return state.name


def state_from_json(value: JsonValue, path: JsonPath) -> State:
    name = expect_str(value, path)
    try:
        return State[name]
    except KeyError:
        names = ", ".join(s.name for s in State)
        raise WireError(path, f"unknown connectivity state {name!r} (one of {names})") from None


def status_to_json(status: Status) -> JsonObject:
    out: JsonObject = {"code": status.code.name}
    if status.message:
        out["message"] = status.message
    return out


def status_from_json(value: JsonValue, path: JsonPath) -> Status:
    obj = expect_object(value, path)
    check_keys(obj, path, frozenset({"code"}), frozenset({"message"}))
    code = obj["code"]
    if isinstance(code, str):
        if code not in StatusCode.__members__:
            raise WireError((*path, "code"), f"unknown status code name {code!r}")
    elif expect_int(code, (*path, "code")) not in {c.value for c in StatusCode}:
        raise WireError((*path, "code"), f"unknown status code number {code}")
    message = expect_str(obj.get("message", ""), (*path, "message"))
    return _model(path, lambda: Status(code, message))


def duration_to_json(duration: Duration) -> str:
    return duration.to_json()


def duration_from_json(value: JsonValue, path: JsonPath) -> Duration:
    return _model(path, lambda: Duration.parse(value, "duration"))


def attributes_to_json(attributes: Attributes) -> JsonObject:
    return dict(attributes)


def attributes_from_json(value: JsonValue, path: JsonPath) -> Attributes:
    obj = expect_object(value, path)
    for key, val in obj.items():
        if isinstance(val, float) and not math.isfinite(val):
            raise WireError((*path, key), f"expected a finite number, got {val!r}")
        if not isinstance(val, str | int | float | bool):
            raise WireError((*path, key), f"expected a string, number or boolean, got {val!r}")
    return tuple(sorted(obj.items()))


def address_to_json(address: Address) -> JsonValue:
    if not (address.server_name or address.attributes or address.balancer_attributes):
        return address.addr
    out: JsonObject = {"addr": address.addr}
    if address.server_name:
        out["server_name"] = address.server_name
    if address.attributes:
        out["attributes"] = attributes_to_json(address.attributes)
    if address.balancer_attributes:
        out["balancer_attributes"] = attributes_to_json(address.balancer_attributes)
    return out


_ADDRESS_KEYS = frozenset({"server_name", "attributes", "balancer_attributes"})


def address_from_json(value: JsonValue, path: JsonPath) -> Address:
    if isinstance(value, str):
        return _model(path, lambda: _plain_address(value))
    obj = expect_object(value, path)
    check_keys(obj, path, frozenset({"addr"}), _ADDRESS_KEYS)
    addr = expect_str(obj["addr"], (*path, "addr"))
    server_name = expect_str(obj.get("server_name", ""), (*path, "server_name"))
    attrs_ = attributes_from_json(obj.get("attributes", {}), (*path, "attributes"))
    balancer = attributes_from_json(
        obj.get("balancer_attributes", {}), (*path, "balancer_attributes")
    )
    return _model(path, lambda: Address(addr, server_name, attrs_, balancer))


@functools.lru_cache(maxsize=4096)  # the same few addresses, in every update of every case
def _plain_address(addr: str) -> Address:
    return Address(addr)  # frozen: one instance may serve every update


def addresses_from_json(value: JsonValue, path: JsonPath) -> tuple[Address, ...]:
    return tuple(address_from_json(a, (*path, i)) for i, a in enumerate(expect_list(value, path)))


def endpoint_to_json(endpoint: Endpoint) -> JsonValue:
    addresses = [address_to_json(a) for a in endpoint.addresses]
    if endpoint.weight is None and not endpoint.attributes:
        return addresses
    out: JsonObject = {"addresses": addresses}
    if endpoint.weight is not None:
        out["weight"] = endpoint.weight
    if endpoint.attributes:
        out["attributes"] = attributes_to_json(endpoint.attributes)
    return out


def endpoint_from_json(value: JsonValue, path: JsonPath) -> Endpoint:
    if isinstance(value, list):
        addresses = addresses_from_json(value, path)
        return _model(path, lambda: Endpoint(addresses))
    obj = expect_object(value, path)
    check_keys(obj, path, frozenset({"addresses"}), frozenset({"weight", "attributes"}))
    addresses = addresses_from_json(obj["addresses"], (*path, "addresses"))
    weight = obj.get("weight")
    if weight is not None:
        weight = positive_int(weight, (*path, "weight"))
    attrs_ = attributes_from_json(obj.get("attributes", {}), (*path, "attributes"))
    return _model(path, lambda: Endpoint(addresses, weight, attrs_))


_ORCA_FIELDS = (
    "cpu_utilization",
    "application_utilization",
    "mem_utilization",
    "rps_fractional",
    "eps",
)


def orca_to_json(report: OrcaLoadReport) -> JsonObject:
    return {name: getattr(report, name) for name in _ORCA_FIELDS if getattr(report, name)}


def orca_from_json(value: JsonValue, path: JsonPath) -> OrcaLoadReport:
    obj = expect_object(value, path)
    check_keys(obj, path, frozenset(), frozenset(_ORCA_FIELDS))
    fields = {k: expect_number(v, (*path, k)) for k, v in obj.items()}
    return _model(path, lambda: OrcaLoadReport(**fields))


# --- inputs ---


@attrs.frozen
class MessageKind:
    """One kind of input or output on the wire: its ``type`` name, the model it carries
    and its keys ("type" aside).  The tables below are the one description of each kind;
    the JSON Schemas under conformance/schema/ must agree (tests/conformance/test_wire.py)."""

    name: str
    model: type
    required: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()


def _kind(name: str, model: type, required: str = "", optional: str = "") -> MessageKind:
    return MessageKind(name, model, frozenset(required.split()), frozenset(optional.split()))


INPUTS: tuple[MessageKind, ...] = (
    _kind("resolver_update", ev.ResolverUpdate, "endpoints", "config resolution_note"),
    _kind("resolver_error", ev.ResolverError, "message"),
    _kind("subchannel_state", ev.SubchannelStateChange, "subchannel state", "error"),
    _kind("health_state", ev.HealthStateChange, "subchannel state", "error"),
    _kind("exit_idle", ev.ExitIdle),
    _kind("close", ev.Close),
    _kind("pick", ev.Pick, "pick_id", "method wait_for_ready"),
    _kind("done", ev.Done, "pick_id", "error trailer load_report"),
    _kind("advance_time", ev.TimeAdvanced, "by"),
    _kind("oob_load_report", ev.OobLoadReport, "subchannel report"),
)
OUTPUTS: tuple[MessageKind, ...] = (
    _kind("new_subchannel", act.NewSubchannel, "subchannel addresses", "health_listener"),
    _kind("connect", act.Connect, "subchannel"),
    _kind("shutdown", act.Shutdown, "subchannel"),
    _kind("update_state", act.UpdateState, "state"),
    _kind("request_reresolution", act.RequestReresolution),
    _kind("update_rejected", act.UpdateRejected, "reason"),
    _kind("pick_complete", act.PickComplete, "pick_id subchannel", "metadata"),
    _kind("pick_queue", act.PickQueue, "pick_id"),
    _kind("pick_fail", act.PickFail, "pick_id status"),
    _kind("pick_drop", act.PickDrop, "pick_id status"),
    _kind("update_addresses", act.UpdateAddresses, "subchannel addresses"),
)

# Views of the two tables, by model type and by name.
INPUT_KINDS: Mapping[type, str] = {k.model: k.name for k in INPUTS}
OUTPUT_KINDS: Mapping[type, str] = {k.model: k.name for k in OUTPUTS}
INPUT_TYPES_BY_KIND = {k.name: k.model for k in INPUTS}
OUTPUT_TYPES_BY_KIND = {k.name: k.model for k in OUTPUTS}
INPUT_KEYS: Mapping[str, tuple[frozenset[str], frozenset[str]]] = {
    k.name: (k.required, k.optional) for k in INPUTS
}
OUTPUT_KEYS: Mapping[str, tuple[frozenset[str], frozenset[str]]] = {
    k.name: (k.required, k.optional) for k in OUTPUTS
}


def kind_of(obj: JsonObject, path: JsonPath, kinds: Mapping[str, object], what: str) -> str:
    """The ``"type"`` tag of ``obj``; a WireError lists the known tags."""
    if "type" not in obj:
        raise WireError(path, f"missing key 'type' (the {what} kind)")
    kind = expect_str(obj["type"], (*path, "type"))
    if kind not in kinds:
        raise WireError((*path, "type"), f"unknown {what} {kind!r} (one of {', '.join(kinds)})")
    return kind


def input_to_json(event: ev.Input, subchannel: SubchannelToJson = spec_id_to_json) -> JsonObject:
    """A spec input as JSON, naming subchannels with ``subchannel``."""
    kind = INPUT_KINDS[type(event)]
    out: JsonObject = {"type": kind}
    if isinstance(event, ev.ResolverUpdate):
        out["endpoints"] = [endpoint_to_json(e) for e in event.endpoints]
        if event.config is not None:
            out["config"] = event.config
        if event.resolution_note:
            out["resolution_note"] = event.resolution_note
    elif isinstance(event, ev.ResolverError):
        out["message"] = event.message
    elif isinstance(event, ev.SubchannelStateChange | ev.HealthStateChange):
        out["subchannel"] = subchannel(event.subchannel)
        out["state"] = state_to_json(event.state)
        if event.error is not None:
            out["error"] = status_to_json(event.error)
    elif isinstance(event, ev.Pick):
        out["pick_id"] = event.pick_id
        out["method"] = event.method
        if event.wait_for_ready:
            out["wait_for_ready"] = True
    elif isinstance(event, ev.Done):
        out["pick_id"] = event.pick_id
        if event.error is not None:
            out["error"] = status_to_json(event.error)
        if event.trailer:
            out["trailer"] = attributes_to_json(event.trailer)
        if event.load_report is not None:
            out["load_report"] = orca_to_json(event.load_report)
    elif isinstance(event, ev.TimeAdvanced):
        out["by"] = duration_to_json(event.by)
    elif isinstance(event, ev.OobLoadReport):
        out["subchannel"] = subchannel(event.subchannel)
        out["report"] = orca_to_json(event.report)
    return out


def input_from_json(
    value: JsonValue, path: JsonPath = (), subchannel: SubchannelFromJson = spec_id_from_json
) -> ev.Input:
    """Read one input; subchannel references go through ``subchannel``."""
    obj = expect_object(value, path)
    kind = kind_of(obj, path, INPUT_KEYS, "input")
    required, optional = INPUT_KEYS[kind]
    check_keys({k: v for k, v in obj.items() if k != "type"}, path, required, optional)

    def error(key: str = "error") -> Status | None:
        return None if obj.get(key) is None else status_from_json(obj[key], (*path, key))

    if kind == "resolver_update":
        raw = expect_list(obj["endpoints"], (*path, "endpoints"))
        endpoints = [endpoint_from_json(e, (*path, "endpoints", i)) for i, e in enumerate(raw)]
        note = expect_str(obj.get("resolution_note", ""), (*path, "resolution_note"))
        return ev.ResolverUpdate(endpoints, obj.get("config"), note)
    if kind == "resolver_error":
        return ev.ResolverError(expect_str(obj["message"], (*path, "message")))
    if kind in ("subchannel_state", "health_state"):
        ident = subchannel(obj["subchannel"], (*path, "subchannel"))
        state = state_from_json(obj["state"], (*path, "state"))
        cls = ev.SubchannelStateChange if kind == "subchannel_state" else ev.HealthStateChange
        status = error()
        return _model(path, lambda: cls(ident, state, status))
    if kind == "exit_idle":
        return ev.ExitIdle()
    if kind == "close":
        return ev.Close()
    if kind == "pick":
        pick_id = positive_int(obj["pick_id"], (*path, "pick_id"))
        method = expect_str(obj.get("method", ev.Pick(1).method), (*path, "method"))
        wait = expect_bool(obj.get("wait_for_ready", False), (*path, "wait_for_ready"))
        return _model(path, lambda: ev.Pick(pick_id, method, wait))
    if kind == "done":
        pick_id = positive_int(obj["pick_id"], (*path, "pick_id"))
        trailer = attributes_from_json(obj.get("trailer", {}), (*path, "trailer"))
        load = obj.get("load_report")
        report = None if load is None else orca_from_json(load, (*path, "load_report"))
        return ev.Done(pick_id, error(), trailer, report)
    if kind == "advance_time":
        return ev.TimeAdvanced(duration_from_json(obj["by"], (*path, "by")))
    ident = subchannel(obj["subchannel"], (*path, "subchannel"))
    return ev.OobLoadReport(ident, orca_from_json(obj["report"], (*path, "report")))


# --- outputs ---


def output_to_json(
    output: act.Output, subchannel: SubchannelToJson = spec_id_to_json
) -> JsonObject:
    """A spec output as JSON, naming subchannels with ``subchannel``."""
    out: JsonObject = {"type": OUTPUT_KINDS[type(output)]}
    if isinstance(output, act.NewSubchannel):
        out["subchannel"] = subchannel(output.subchannel)
        out["addresses"] = [address_to_json(a) for a in output.addresses]
        out["health_listener"] = output.health_listener
    elif isinstance(output, act.Connect | act.Shutdown):
        out["subchannel"] = subchannel(output.subchannel)
    elif isinstance(output, act.UpdateAddresses):
        out["subchannel"] = subchannel(output.subchannel)
        out["addresses"] = [address_to_json(a) for a in output.addresses]
    elif isinstance(output, act.UpdateState):
        out["state"] = state_to_json(output.state)
    elif isinstance(output, act.UpdateRejected):
        out["reason"] = output.reason
    elif isinstance(output, act.PickComplete):
        out["pick_id"] = output.pick_id
        out["subchannel"] = subchannel(output.subchannel)
        if output.metadata:
            out["metadata"] = attributes_to_json(output.metadata)
    elif isinstance(output, act.PickQueue):
        out["pick_id"] = output.pick_id
    elif isinstance(output, act.PickFail | act.PickDrop):
        out["pick_id"] = output.pick_id
        out["status"] = status_to_json(output.status)
    return out


def output_from_json(
    value: JsonValue, path: JsonPath = (), subchannel: SubchannelFromJson = spec_id_from_json
) -> act.Output:
    """Read one output; subchannel references go through ``subchannel``."""
    obj = expect_object(value, path)
    kind = kind_of(obj, path, OUTPUT_KEYS, "output")
    required, optional = OUTPUT_KEYS[kind]
    check_keys({k: v for k, v in obj.items() if k != "type"}, path, required, optional)

    def pick_id() -> int:
        return positive_int(obj["pick_id"], (*path, "pick_id"))

    if kind == "new_subchannel":
        addresses = addresses_from_json(obj["addresses"], (*path, "addresses"))
        listener = expect_bool(obj.get("health_listener", False), (*path, "health_listener"))
        ident = subchannel(obj["subchannel"], (*path, "subchannel"))
        return _model(path, lambda: act.NewSubchannel(ident, addresses, listener))
    if kind == "update_addresses":
        ident = subchannel(obj["subchannel"], (*path, "subchannel"))
        addresses = addresses_from_json(obj["addresses"], (*path, "addresses"))
        return _model(path, lambda: act.UpdateAddresses(ident, addresses))
    if kind in ("connect", "shutdown"):
        ident = subchannel(obj["subchannel"], (*path, "subchannel"))
        return act.Connect(ident) if kind == "connect" else act.Shutdown(ident)
    if kind == "update_state":
        state = state_from_json(obj["state"], (*path, "state"))
        return _model(path, lambda: act.UpdateState(state))
    if kind == "request_reresolution":
        return act.RequestReresolution()
    if kind == "update_rejected":
        return act.UpdateRejected(expect_str(obj["reason"], (*path, "reason")))
    if kind == "pick_complete":
        ident = subchannel(obj["subchannel"], (*path, "subchannel"))
        metadata = attributes_from_json(obj.get("metadata", {}), (*path, "metadata"))
        return act.PickComplete(pick_id(), ident, metadata)
    if kind == "pick_queue":
        return act.PickQueue(pick_id())
    status = status_from_json(obj["status"], (*path, "status"))
    cls = act.PickFail if kind == "pick_fail" else act.PickDrop
    pid = pick_id()
    return _model(path, lambda: cls(pid, status))


# --- where a JSON path sits in a file ---

_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_WS = " \t\n\r"


def line_of(text: str, path: JsonPath) -> int | None:
    """The 1-based line where the value at ``path`` starts in the JSON ``text``.

    For a path that does not exist (a missing key) the line of the deepest
    existing parent is returned; ``None`` when ``text`` is not JSON.
    """
    return lines_of(text, [path])[path]


def lines_of(text: str, paths: Iterable[JsonPath]) -> dict[JsonPath, int | None]:
    """:func:`line_of` for each of ``paths``, scanning ``text`` once: a case's every step
    (12,000 in a long explore counterexample) in time linear in the file, not quadratic."""
    try:
        positions = _positions(text)
    except (ValueError, IndexError, RecursionError):
        return dict.fromkeys(paths)
    newlines = [match.start() for match in re.finditer("\n", text)]
    lines: dict[JsonPath, int | None] = {}
    for path in paths:
        lines[path] = None
        for depth in range(len(path), -1, -1):
            found = positions.get(tuple(path[:depth]))
            if found is not None:
                lines[path] = bisect.bisect_left(newlines, found) + 1  # newlines before it
                break
    return lines


def _positions(text: str) -> dict[JsonPath, int]:
    """Offsets of every value in ``text``, keyed by JSON path (and of keys, for objects)."""
    found: dict[JsonPath, int] = {}
    decoder = json.JSONDecoder()

    def skip(i: int) -> int:
        while i < len(text) and text[i] in _WS:
            i += 1
        return i

    def value(i: int, path: JsonPath) -> int:
        i = skip(i)
        found[path] = i
        char = text[i]
        if char == "{":
            i = skip(i + 1)
            if text[i] == "}":
                return i + 1
            while True:
                key_start = skip(i)
                key, i = json.decoder.scanstring(text, key_start + 1)  # type: ignore[attr-defined]
                i = skip(i)
                if text[i] != ":":
                    raise ValueError("expected ':'")
                found[(*path, key)] = key_start  # the key's line, overwritten by the value
                i = value(i + 1, (*path, key))
                i = skip(i)
                if text[i] == "}":
                    return i + 1
                i += 1  # ','
        if char == "[":
            i = skip(i + 1)
            if text[i] == "]":
                return i + 1
            index = 0
            while True:
                i = skip(value(i, (*path, index)))
                index += 1
                if text[i] == "]":
                    return i + 1
                i += 1
        if char == '"':
            return int(json.decoder.scanstring(text, i + 1)[1])  # type: ignore[attr-defined]
        match = _NUMBER.match(text, i)
        if match and match.end() > i:
            return match.end()
        _, end = decoder.raw_decode(text, i)  # true, false, null
        return int(end)

    value(0, ())
    return found


# Deeper than any case, message or service config needs, and far below Python's
# recursion limit, so that no recursive reader of the parsed value can overflow.
MAX_JSON_DEPTH = 64
# A number must fit an IEEE double (what every implementation's JSON reader uses):
# 1e400 or a 5000-digit integer is refused where it stands, not turned into inf.
_MAX_NUMBER_TEXT = 400


class _OutOfRange:
    """A number token that no double can hold; :func:`check_json_value` names its path."""

    made = 0  # how many were ever made: parse_json walks the value only when this moved

    def __init__(self, text: str) -> None:
        _OutOfRange.made += 1
        self.text = text if len(text) <= 24 else f"{text[:12]}...({len(text)} characters)"


def _parse_int(text: str) -> int | _OutOfRange:
    if len(text) > _MAX_NUMBER_TEXT:
        return _OutOfRange(text)  # int() itself refuses > 4300 digits, with a ValueError
    number = int(text)
    if len(text) > 300 and abs(number) > _MAX_DOUBLE:
        return _OutOfRange(text)
    return number


_MAX_DOUBLE = int(sys.float_info.max)


def _parse_float(text: str) -> float | _OutOfRange:
    number = float(text)
    return number if math.isfinite(number) else _OutOfRange(text)


def _parse_constant(name: str) -> _OutOfRange:
    return _OutOfRange(name)  # NaN, Infinity, -Infinity: not JSON (RFC 8259, section 6)


# Built once: json.loads with hooks builds a decoder per call, which costs more than the
# parse of a protocol message.
_DECODER = json.JSONDecoder(
    parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant
)


def check_json_value(value: JsonValue, path: JsonPath = ()) -> None:
    """Raise WireError at the first value nested deeper than MAX_JSON_DEPTH, or a number
    out of a double's range (NaN, Infinity, 1e400).  Iterative: depth cannot overflow it."""
    stack: list[tuple[JsonValue, JsonPath]] = [(value, tuple(path))]
    while stack:
        item, where = stack.pop()
        if isinstance(item, _OutOfRange):
            raise WireError(where, f"the number {item.text} is out of range (not a finite double)")
        if isinstance(item, float) and not math.isfinite(item):
            raise WireError(where, f"{item} is not a JSON number")
        if isinstance(item, dict | list):
            if len(where) - len(path) >= MAX_JSON_DEPTH:
                raise WireError(where, f"nested deeper than {MAX_JSON_DEPTH} levels")
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            stack.extend((v, (*where, k)) for k, v in reversed(list(pairs)))


def _loads(text: str) -> JsonValue:
    """JSON text with out-of-range numbers marked; raises WireError (line in ``line``)."""
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as err:
        raise WireError((), f"not valid JSON: {err.msg}", line=err.lineno) from None
    except RecursionError:
        problem = f"not valid JSON: nested deeper than {MAX_JSON_DEPTH} levels"
        raise WireError((), problem) from None


def parse_json(text: str) -> JsonValue:
    """JSON text, strictly: raises WireError (path ``$``, or the value's path) for a syntax
    error, nesting too deep, NaN/Infinity or a number no double holds.

    Protocol messages pass here at every step, so the value is walked only when it may
    fail (an out-of-range number was seen, or it has enough brackets to nest too deep).
    """
    seen = _OutOfRange.made
    data = _loads(text)
    if _OutOfRange.made != seen or text.count("{") + text.count("[") > MAX_JSON_DEPTH:
        check_json_value(data)
    return data


def load_json_file(path: Path, read: Callable[[JsonValue], _T]) -> tuple[_T, str]:
    """``read`` applied to the JSON file at ``path``, and the file's text.

    A file that cannot be read, is not UTF-8 or not JSON, or a WireError from ``read``,
    is raised naming the file and the line of the offending value.
    """
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise WireError((), f"cannot read the file: {err.strerror}", file=str(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise WireError((), f"not UTF-8 text ({err.reason})", file=str(path), line=line) from None
    try:
        data = _loads(text)
    except WireError as err:
        raise err.located(str(path), err.line) from None
    try:
        check_json_value(data)
        return read(data), text
    except WireError as err:
        raise err.located(str(path), line_of(text, err.path)) from None
