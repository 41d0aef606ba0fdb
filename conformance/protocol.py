"""Adapter protocol v1: the messages between the runner and an adapter, both directions.

JSON lines over the adapter's stdin and stdout; every runner message but
``stop`` gets exactly one reply (``conformance/PROTOCOL.md`` is the full text,
``conformance/schema/protocol/`` has one JSON Schema per message):

=========================================  ========================================
runner -> adapter                          adapter -> runner
=========================================  ========================================
``start {protocol}``                       ``started {protocol, implementation,
                                           capabilities}``
``begin {case, policy, profile,``          ``begun`` (or ``error``: e.g. unknown policy)
``health_checking, seed}``
``step {seq, input}``                      ``outputs {seq, outputs}`` (or ``error``)
``end``                                    ``ended``
``stop``                                   (exits)
=========================================  ========================================

This module builds and reads those messages for both sides: the runner uses
the ``*_message`` builders for requests and the ``read_*`` functions for
replies; a Python adapter uses :func:`read_request` and the reply builders.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

import attrs

from conformance import wire
from conformance.errors import JsonPath, WireError
from spec.connectivity import Profile

if TYPE_CHECKING:
    # Only the runner's side needs cases.  An adapter imports this module to speak the
    # protocol, and conformance.cases (with the requirement catalogue it loads) would
    # add ~10 ms (-X importtime) to every adapter start (a fresh adapter per run).
    from conformance.cases import Capability, Case

PROTOCOL_VERSION = 1
# The pseudo-policy of service config cases: the channel's whole LB layer (service config
# selection and graceful switch), its resolver updates carrying whole service configs.
SERVICE_CONFIG_POLICY = "service_config"

REQUEST_KEYS: Mapping[str, tuple[frozenset[str], frozenset[str]]] = {
    "start": (frozenset({"protocol"}), frozenset()),
    "begin": (
        frozenset({"case", "policy", "profile", "health_checking", "seed"}),
        frozenset({"spec_options"}),  # only to an adapter declaring configurable_options
    ),
    "step": (frozenset({"seq", "input"}), frozenset()),
    "end": (frozenset(), frozenset()),
    "stop": (frozenset(), frozenset()),
}
REPLY_KEYS: Mapping[str, tuple[frozenset[str], frozenset[str]]] = {
    "started": (frozenset({"protocol", "implementation", "capabilities"}), frozenset()),
    "begun": (frozenset(), frozenset()),
    "outputs": (frozenset({"seq", "outputs"}), frozenset()),
    "ended": (frozenset(), frozenset({"outputs"})),  # outputs after the last step (issue 14)
    "error": (frozenset({"message"}), frozenset({"seq"})),
}
_IMPLEMENTATION_KEYS = frozenset({"name"}), frozenset({"version", "language", "homepage"})
_CAPABILITY_KEYS = (
    frozenset({"policies", "time"}),
    frozenset(
        {
            "seedable_random",
            "health_listener",
            "orca",
            "profiles",
            "spec_options",
            "configurable_options",
            "service_config",
        }
    ),
)
TIME_MODES = ("virtual", "real")
_SPEC_OPTION = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


@attrs.frozen
class Implementation:
    """Who answered the handshake (shown in reports)."""

    name: str
    version: str = ""
    language: str = ""
    homepage: str = ""

    def __str__(self) -> str:
        extra = ", ".join(x for x in (self.language, self.version) if x)
        return f"{self.name} ({extra})" if extra else self.name


@attrs.frozen
class Capabilities:
    """What an adapter can run; a case needing anything else is SKIPPED (CONF-4)."""

    policies: frozenset[str]
    time: str = "virtual"
    seedable_random: bool = False
    health_listener: bool = False
    orca: bool = False
    profiles: frozenset[Profile] = frozenset({Profile.CURRENT})
    # Where the sources differ, which behaviour the implementation follows:
    # "<policy>.<option>" -> value, e.g. ("pick_first.reresolution", "grpc_go").
    spec_options: tuple[tuple[str, str], ...] = ()
    # The adapter can run its channel's LB layer on whole service configs: cases of the
    # pseudo-policy "service_config" (PROTOCOL.md, "Service config cases").
    service_config: bool = False
    # Options the adapter can be set to per case ("begin" carries the value): key -> every
    # value it can follow, its declared one included (PROTOCOL.md, "Spec options").
    configurable_options: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def options_for(self, case: Case) -> dict[str, str]:
        """The option values ``case`` runs and is judged with: the declared ones, each
        configurable option set to the case's value when the adapter can follow it."""
        chosen = dict(self.spec_options)
        configurable = dict(self.configurable_options)
        for key, values in case.written_for.items():
            if chosen.get(key) in values:
                continue  # the declared value is one the case holds for
            settable = [v for v in values if v in configurable.get(key, ())]
            if settable:
                chosen[key] = settable[0]
        return chosen

    @property
    def flags(self) -> frozenset[Capability]:
        from conformance.cases import Capability  # the runner's side (see the imports)

        have = {
            Capability.VIRTUAL_TIME: self.time == "virtual",
            Capability.SEEDABLE_RANDOM: self.seedable_random,
            Capability.HEALTH_LISTENER: self.health_listener,
            Capability.ORCA: self.orca,
            Capability.SERVICE_CONFIG: self.service_config,
        }
        return frozenset(cap for cap, ok in have.items() if ok)

    def missing_for(self, case: Case) -> list[str]:
        """What ``case`` needs that the adapter lacks, as readable phrases."""
        missing = []
        # The service_config capability stands for the pseudo-policy of the same name.
        if case.policy not in self.policies and case.policy != SERVICE_CONFIG_POLICY:
            missing.append(f"policy {case.policy!r}")
        if case.channel.profile not in self.profiles:
            missing.append(f"profile {case.channel.profile.value!r}")
        missing.extend(
            f"capability {cap.value!r}"
            for cap in sorted(case.capabilities - self.flags, key=lambda c: c.value)
        )
        from conformance.monitors import spec_option_default  # the runner's side

        declared = self.options_for(case)
        for key, values in case.written_for.items():
            # An option the adapter leaves out takes its default, the value the monitors
            # then judge every case by: so the cases written for it run too (CONF-4).
            has = declared.get(key, spec_option_default(key))
            if has not in values:
                said = repr(declared[key]) if key in declared else f"no value, default {has!r}"
                wanted = " or ".join(repr(v) for v in values)
                missing.append(f"spec option {key}={wanted} (it declares {said})")
        return missing


@attrs.frozen
class Hello:
    """The adapter's handshake reply."""

    protocol: int
    implementation: Implementation
    capabilities: Capabilities


# --- runner -> adapter ---


def start_message(protocol: int = PROTOCOL_VERSION) -> wire.JsonObject:
    return {"type": "start", "protocol": protocol}


def begin_message(case: Case, options: Mapping[str, str] | None = None) -> wire.JsonObject:
    """``options``: the value of each configurable option for this case (sent only to an
    adapter that declared some, so older adapters never see the key)."""
    message: wire.JsonObject = {
        "type": "begin",
        "case": case.id,
        "policy": case.policy,
        "profile": case.channel.profile.value,
        "health_checking": case.channel.health_checking,
        "seed": case.channel.seed,
    }
    if options:
        message["spec_options"] = dict(options)
    return message


def step_message(seq: int, event_json: wire.JsonObject) -> wire.JsonObject:
    return {"type": "step", "seq": seq, "input": event_json}


def end_message() -> wire.JsonObject:
    return {"type": "end"}


def stop_message() -> wire.JsonObject:
    return {"type": "stop"}


def read_request(value: wire.JsonValue) -> tuple[str, wire.JsonObject]:
    """For adapters: the kind of a runner message and the message, shape-checked."""
    return _read(value, REQUEST_KEYS, "request")


# --- adapter -> runner ---


def started_message(
    implementation: Implementation, capabilities: Capabilities, protocol: int = PROTOCOL_VERSION
) -> wire.JsonObject:
    impl: wire.JsonObject = {"name": implementation.name}
    for key in ("version", "language", "homepage"):
        if getattr(implementation, key):
            impl[key] = getattr(implementation, key)
    return {
        "type": "started",
        "protocol": protocol,
        "implementation": impl,
        "capabilities": {
            "policies": sorted(capabilities.policies),
            "time": capabilities.time,
            "seedable_random": capabilities.seedable_random,
            "health_listener": capabilities.health_listener,
            "orca": capabilities.orca,
            "profiles": sorted(p.value for p in capabilities.profiles),
            "spec_options": dict(capabilities.spec_options),
            "service_config": capabilities.service_config,
            **(
                {"configurable_options": {k: list(v) for k, v in capabilities.configurable_options}}
                if capabilities.configurable_options
                else {}
            ),
        },
    }


def begun_message() -> wire.JsonObject:
    return {"type": "begun"}


def outputs_message(seq: int, outputs: list[wire.JsonObject]) -> wire.JsonObject:
    return {"type": "outputs", "seq": seq, "outputs": outputs}


def ended_message() -> wire.JsonObject:
    return {"type": "ended"}


def error_message(message: str, seq: int | None = None) -> wire.JsonObject:
    out: wire.JsonObject = {"type": "error", "message": message}
    if seq is not None:
        out["seq"] = seq
    return out


def read_reply(value: wire.JsonValue) -> tuple[str, wire.JsonObject]:
    """For the runner: the kind of an adapter message and the message, shape-checked."""
    return _read(value, REPLY_KEYS, "reply")


def read_started(message: wire.JsonObject) -> Hello:
    """Decode a ``started`` reply (already shape-checked by :func:`read_reply`)."""
    protocol = wire.expect_int(message["protocol"], ("protocol",))
    impl = wire.expect_object(message["implementation"], ("implementation",))
    wire.check_keys(impl, ("implementation",), *_IMPLEMENTATION_KEYS)
    implementation = Implementation(
        **{k: wire.expect_str(v, ("implementation", k)) for k, v in impl.items()}
    )
    caps = wire.expect_object(message["capabilities"], ("capabilities",))
    wire.check_keys(caps, ("capabilities",), *_CAPABILITY_KEYS)
    policies = wire.expect_list(caps["policies"], ("capabilities", "policies"))
    for i, name in enumerate(policies):
        wire.expect_str(name, ("capabilities", "policies", i))
    time = wire.expect_str(caps["time"], ("capabilities", "time"))
    if time not in TIME_MODES:
        raise WireError(("capabilities", "time"), f"expected 'virtual' or 'real', got {time!r}")
    profiles = set()
    for i, name in enumerate(wire.expect_list(caps.get("profiles", ["current"]), ("profiles",))):
        try:
            profiles.add(Profile(wire.expect_str(name, ("capabilities", "profiles", i))))
        except ValueError:
            raise WireError(("capabilities", "profiles", i), f"unknown profile {name!r}") from None

    options = wire.expect_object(caps.get("spec_options", {}), ("capabilities", "spec_options"))
    for key, value in options.items():
        path = ("capabilities", "spec_options", key)
        if not _SPEC_OPTION.match(key):
            raise WireError(path, "expected '<policy>.<option>'")
        wire.expect_str(value, path)
    configurable = _configurable_options(caps.get("configurable_options", {}), options)

    def flag(key: str) -> bool:
        return wire.expect_bool(caps.get(key, False), ("capabilities", key))

    capabilities = Capabilities(
        policies=frozenset(policies),
        time=time,
        seedable_random=flag("seedable_random"),
        health_listener=flag("health_listener"),
        orca=flag("orca"),
        service_config=flag("service_config"),
        profiles=frozenset(profiles),
        spec_options=tuple(sorted(options.items())),
        configurable_options=configurable,
    )
    return Hello(protocol, implementation, capabilities)


def _configurable_options(
    value: wire.JsonValue, declared: Mapping[str, wire.JsonValue]
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``capabilities.configurable_options``: key -> a list of values that holds the
    declared one (what the implementation does unless ``begin`` says otherwise)."""
    where: JsonPath = ("capabilities", "configurable_options")
    result = []
    for key, values in wire.expect_object(value, where).items():
        path = (*where, key)
        if key not in declared:
            raise WireError(path, "a configurable option must also be in spec_options")
        listed = wire.expect_list(values, path)
        names = tuple(wire.expect_str(v, (*path, i)) for i, v in enumerate(listed))
        if declared[key] not in names or len(set(names)) != len(names):
            raise WireError(path, "expected distinct values, the declared one among them")
        result.append((key, names))
    return tuple(sorted(result))


def _read(
    value: wire.JsonValue,
    kinds: Mapping[str, tuple[frozenset[str], frozenset[str]]],
    what: str,
) -> tuple[str, wire.JsonObject]:
    obj = wire.expect_object(value, ())
    kind = wire.kind_of(obj, (), kinds, what)
    required, optional = kinds[kind]
    wire.check_keys({k: v for k, v in obj.items() if k != "type"}, (), required, optional)
    if "seq" in obj:
        wire.positive_int(obj["seq"], ("seq",))
    return kind, obj
