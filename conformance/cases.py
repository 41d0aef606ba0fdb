"""Conformance cases: plain JSON files, loaded into frozen models and checked with file and line.

A case (``conformance/cases/<area>/<id>.json``; the format is specified in
``conformance/PROTOCOL.md`` and ``conformance/schema/case.schema.json``) names
a policy and its config, the capabilities it needs, the requirements it checks
and a list of steps: one input each, and what must be observed after it.

Cases name subchannels by address (``"10.0.0.1:80"``), never by an
implementation's handle; the runner resolves each address to the one live
subchannel that has it (CONF-1).  Expectations come in five forms:

* ``outputs`` -- exactly these outputs, in this order;
* ``any_of`` -- exactly one of these output lists (a set of acceptable outcomes);
* ``unordered`` -- exactly these outputs, in any order;
* ``includes`` / ``excludes`` -- these outputs appear (any order, others allowed),
  and none matching an ``excludes`` pattern does;
* ``statistical`` -- the step's pick is sent ``samples`` times and each
  outcome's share must lie within ``tolerance`` of the stated fraction (CONF-7).

``ignore`` (with the first three) drops outputs of the named kinds before
matching, for outputs the sources disagree on (re-resolution requests).
A step without ``expect`` is judged by the monitors alone.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from conformance import wire
from conformance.across import Across, across_from_json
from conformance.errors import CaseError, JsonPath, WireError
from conformance.protocol import SERVICE_CONFIG_POLICY
from spec import actions as act
from spec.catalogue import CATALOGUE, RequirementId
from spec.connectivity import BackoffEnd, Profile, State, backoff_end_values
from spec.types import Address, Attributes, StatusCode

CASES_DIR = Path(__file__).resolve().parent / "cases"

# Lower-case words joined by hyphens; the first word is the area's prefix (CONF-8).
CASE_ID = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)+$")


class Capability(enum.Enum):
    """Optional abilities an adapter declares in its handshake and a case may need."""

    VIRTUAL_TIME = "virtual_time"  # time moves only when told; exact timer boundaries
    SEEDABLE_RANDOM = "seedable_random"  # the case's seed makes random choices repeat
    HEALTH_LISTENER = "health_listener"  # health states can be delivered (gRFC A17)
    ORCA = "orca"  # load reports per call and out of band (gRFC A51, A58)
    # Whole service configs through the channel's LB layer (policy "service_config").
    SERVICE_CONFIG = "service_config"


@attrs.frozen
class ChannelOptions:
    """How the adapter's channel behaves for one case."""

    profile: Profile = Profile.CURRENT
    health_checking: bool = False  # health comes from health_state inputs, not the channel
    seed: int = 0


# --- output patterns ---

PICK_KINDS = frozenset({"pick_complete", "pick_queue", "pick_fail", "pick_drop"})
_PATTERN_KEYS: Mapping[str, frozenset[str]] = {
    "new_subchannel": frozenset({"addresses", "health_listener"}),
    "connect": frozenset({"subchannel"}),
    "shutdown": frozenset({"subchannel"}),
    "update_state": frozenset({"state"}),
    "request_reresolution": frozenset(),
    "update_rejected": frozenset({"reason_contains"}),
    "pick_complete": frozenset({"pick_id", "subchannel", "metadata"}),
    "pick_queue": frozenset({"pick_id"}),
    "pick_fail": frozenset({"pick_id", "status"}),
    "pick_drop": frozenset({"pick_id", "status"}),
    "update_addresses": frozenset({"subchannel"}),
}

AddressesOf = Callable[[int], tuple[str, ...]]


@attrs.frozen
class OutputPattern:
    """What one expected output must look like; a field left ``None`` is not compared."""

    kind: str
    subchannel: str | None = None  # an address the subchannel has
    addresses: tuple[str, ...] | None = None
    health_listener: bool | None = None
    state: State | None = None
    pick_id: int | None = None
    code: StatusCode | None = None
    contains: str | None = None  # in the status message (picks) or the reason (rejection)
    metadata: Attributes | None = None

    def matches(self, output: act.Output, addresses_of: AddressesOf) -> bool:
        if wire.OUTPUT_KINDS[type(output)] != self.kind:
            return False
        ident = getattr(output, "subchannel", None)
        checks = (
            self.subchannel is None
            or (ident is not None and self.subchannel in addresses_of(ident)),
            self.addresses is None
            or tuple(a.addr for a in getattr(output, "addresses", ())) == self.addresses,
            self.health_listener is None
            or getattr(output, "health_listener", None) == self.health_listener,
            self.state is None or getattr(output, "state", None) is self.state,
            self.pick_id is None or getattr(output, "pick_id", None) == self.pick_id,
            self.code is None
            or getattr(getattr(output, "status", None), "code", None) is self.code,
            self.contains is None or self.contains in _text_of(output),
            self.metadata is None or getattr(output, "metadata", None) == self.metadata,
        )
        return all(checks)

    def describe(self) -> str:
        parts = [self.kind]
        if self.addresses is not None:
            parts.append("[" + ", ".join(self.addresses) + "]")
        if self.subchannel is not None:
            parts.append(self.subchannel)
        if self.state is not None:
            parts.append(self.state.name)
        if self.code is not None:
            parts.append(self.code.name)
        if self.contains is not None:
            parts.append(f"containing {self.contains!r}")
        if self.health_listener:
            parts.append("(health listener)")
        if self.pick_id is not None:
            parts.append(f"(pick {self.pick_id})")
        return " ".join(parts)


def _text_of(output: act.Output) -> str:
    if isinstance(output, act.UpdateRejected):
        return output.reason
    status = getattr(output, "status", None)
    return status.message if status is not None else ""


def address_label(address: Address) -> str:
    """An address as messages show it: ``10.0.0.1:80``, with its server name and attributes
    when it has any (``10.0.0.1:80{zone=b}``), so that two addresses that differ only in
    them never read alike."""
    extras = [f"server_name={address.server_name}"] if address.server_name else []
    extras += [f"{key}={value}" for key, value in address.attributes]
    return address.addr + ("{" + ", ".join(extras) + "}" if extras else "")


def describe_output(output: act.Output, addresses_of: AddressesOf) -> str:
    """One output in case vocabulary: subchannels by address (``addresses_of`` may give
    :func:`address_label` forms)."""
    kind = wire.OUTPUT_KINDS[type(output)]
    if isinstance(output, act.NewSubchannel):
        listener = " (health listener)" if output.health_listener else ""
        return f"{kind} [{', '.join(address_label(a) for a in output.addresses)}]{listener}"
    if isinstance(output, act.Connect | act.Shutdown | act.PickComplete):
        return f"{kind} {', '.join(addresses_of(output.subchannel)) or '?'}"
    if isinstance(output, act.UpdateAddresses):
        was = ", ".join(addresses_of(output.subchannel)) or "?"
        return f"{kind} {was} -> [{', '.join(a.addr for a in output.addresses)}]"
    if isinstance(output, act.UpdateState):
        return f"{kind} {output.state.name}"
    if isinstance(output, act.UpdateRejected):
        return f"{kind} {output.reason!r}"
    if isinstance(output, act.PickFail | act.PickDrop):
        return f"{kind} {output.status}"
    return kind


# --- expectations ---


def _assign(
    patterns: Sequence[OutputPattern], outputs: Sequence[act.Output], addresses_of: AddressesOf
) -> bool:
    """Can every pattern take a distinct output it matches?  (Small lists: backtracking.)"""
    taken = [False] * len(outputs)

    def place(index: int) -> bool:
        if index == len(patterns):
            return True
        for j, output in enumerate(outputs):
            if not taken[j] and patterns[index].matches(output, addresses_of):
                taken[j] = True
                if place(index + 1):
                    return True
                taken[j] = False
        return False

    return place(0)


def _in_order(
    patterns: Sequence[OutputPattern], outputs: Sequence[act.Output], addresses_of: AddressesOf
) -> bool:
    return len(patterns) == len(outputs) and all(
        p.matches(o, addresses_of) for p, o in zip(patterns, outputs, strict=True)
    )


def _listing(patterns: Iterable[OutputPattern]) -> str:
    return "[" + "; ".join(p.describe() for p in patterns) + "]"


@attrs.frozen
class Expect:
    """A per-step expectation other than statistical.  ``check`` returns a problem or None."""

    mode: str  # "outputs" | "any_of" | "unordered" | "includes"
    choices: tuple[tuple[OutputPattern, ...], ...]  # one list, except for any_of
    excludes: tuple[OutputPattern, ...] = ()
    ignore: frozenset[str] = frozenset()

    def check(self, outputs: Sequence[act.Output], addresses_of: AddressesOf) -> str | None:
        kept = [o for o in outputs if wire.OUTPUT_KINDS[type(o)] not in self.ignore]
        if self.mode == "includes":
            if not _assign(self.choices[0], kept, addresses_of):
                return f"expected outputs including {_listing(self.choices[0])}"
            for pattern in self.excludes:
                for output in kept:
                    if pattern.matches(output, addresses_of):
                        return f"expected no output matching {pattern.describe()}"
            return None
        if self.mode == "unordered":
            pats = self.choices[0]
            if len(pats) == len(kept) and _assign(pats, kept, addresses_of):
                return None
            return f"expected exactly, in any order, {_listing(pats)}"
        if any(_in_order(c, kept, addresses_of) for c in self.choices):
            return None
        if self.mode == "any_of":
            return "expected one of " + " or ".join(_listing(c) for c in self.choices)
        return f"expected exactly {_listing(self.choices[0])}"

    def describe(self) -> str:
        ignoring = f" (ignoring {', '.join(sorted(self.ignore))})" if self.ignore else ""
        if self.mode == "includes":
            parts = []
            if self.choices[0]:
                parts.append(f"outputs including {_listing(self.choices[0])}")
            if self.excludes:
                parts.append(f"no output matching {_listing(self.excludes)}")
            return " and ".join(parts) or "nothing in particular"
        if self.mode == "unordered":
            return f"exactly these outputs in any order: {_listing(self.choices[0])}{ignoring}"
        if self.mode == "any_of":
            options = " or ".join(_listing(c) for c in self.choices)
            return f"exactly one of: {options}{ignoring}"
        return f"exactly {_listing(self.choices[0])}{ignoring}"


QUEUE, FAIL, DROP = "queue", "fail", "drop"


@attrs.frozen
class Statistical:
    """``samples`` picks; each outcome's share within ``tolerance`` of its fraction (CONF-7).

    Outcome keys are addresses (a Complete pick on the subchannel with that
    address) or ``queue``, ``fail``, ``drop``; an outcome not listed counts as 0.
    """

    samples: int
    tolerance: float
    fractions: tuple[tuple[str, float], ...]

    def check(self, counts: Mapping[str, int]) -> str | None:
        expected = dict(self.fractions)
        problems = []
        for key in sorted(set(expected) | set(counts)):
            share = counts.get(key, 0) / self.samples
            want = expected.get(key, 0.0)
            if abs(share - want) > self.tolerance + 1e-12:
                problems.append(f"{key}: {share:.3f} (expected {want:.3f})")
        if problems:
            return (
                f"over {self.samples} picks the shares were off by more than "
                f"{self.tolerance}: " + ", ".join(problems)
            )
        return None

    def describe(self) -> str:
        shares = ", ".join(f"{k}: {v:g}" for k, v in self.fractions)
        return f"over {self.samples} picks, shares {{{shares}}} within +-{self.tolerance:g}"


Expectation = Expect | Statistical


@attrs.frozen
class CaseStep:
    """One input (case vocabulary: subchannels by address) and what must follow it."""

    input: wire.JsonObject
    expect: Expectation | None = None
    note: str = ""
    requirements: tuple[RequirementId, ...] = ()
    line: int | None = None
    # A step of a ``repeat`` block (conformance/across.py): the block's expectation over
    # every repetition, which repetition (0-based) and which step of the block (1-based).
    across: Across | None = None
    repetition: int = 0
    position: int = 0
    origin: JsonPath = ()  # where the step is written in the file (blocks write it once)

    def number(self, index: int) -> int:
        """This step's number in its case file, from 1, given its index in the expanded
        steps: every step of a repeat block has the block's number."""
        return int(self.origin[1]) + 1 if len(self.origin) >= 2 else index + 1

    @property
    def kind(self) -> str:
        return str(self.input["type"])

    @property
    def closes_block(self) -> bool:
        """The last step of the last repetition: the block's expectation is judged here."""
        across = self.across
        return (
            across is not None
            and self.repetition == across.repetitions - 1
            and self.position == across.steps_per_repetition
        )


@attrs.frozen
class Case:
    id: str
    title: str
    area: str
    policy: str
    requirements: tuple[RequirementId, ...]
    steps: tuple[CaseStep, ...]
    config: wire.JsonValue = attrs.field(default=None, eq=False)
    channel: ChannelOptions = ChannelOptions()
    capabilities: frozenset[Capability] = frozenset()
    description: str = ""
    path: Path | None = attrs.field(default=None, eq=False)
    # Where the sources allow several behaviours, the one this case is written for:
    # "<policy>.<option>" -> value; adapters declaring another value (or none) skip it.
    spec_options: tuple[tuple[str, str], ...] = ()
    # Options the case holds for under several values (a JSON list in the file):
    # "<policy>.<option>" -> those values; an adapter with any of them runs it.
    spec_option_sets: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def written_for(self) -> dict[str, tuple[str, ...]]:
        """Every option the case names -> the values it holds for (one or several), and
        ``subchannel.backoff_end`` when its inputs end a backoff (:func:`implied_options`)."""
        chosen: dict[str, tuple[str, ...]] = {key: (value,) for key, value in self.spec_options}
        chosen.update(self.spec_option_sets)
        for key, values in implied_options(self.steps, self.channel.profile).items():
            chosen[key] = tuple(v for v in chosen.get(key, values) if v in values)
        return dict(sorted(chosen.items()))

    @property
    def location(self) -> str:
        return str(self.path) if self.path is not None else self.id


BACKOFF_END = "subchannel.backoff_end"


def implied_options(steps: Iterable[CaseStep], profile: Profile) -> dict[str, tuple[str, ...]]:
    """The option values a case's inputs assume: a subchannel input leaving
    TRANSIENT_FAILURE for IDLE, or in the ``seed`` profile for CONNECTING, is where the
    backoff ends, so the case holds only for the ``subchannel.backoff_end`` values that
    take that edge (spec/connectivity.py ``backoff_end_values``; CONN-5, CONN-10).
    Cases name subchannels by address: in the ``current`` profile, which has no
    TRANSIENT_FAILURE -> CONNECTING, such a pair is a new subchannel for the address."""
    last: dict[str, str] = {}
    values = set(BackoffEnd)
    ends = False
    targets = ("IDLE", "CONNECTING") if profile is Profile.SEED else ("IDLE",)
    for step in steps:
        given = step.input
        if given.get("type") != "subchannel_state":
            continue
        name, state = json.dumps(given.get("subchannel")), str(given.get("state"))
        if last.get(name) == "TRANSIENT_FAILURE" and state in targets:
            values &= backoff_end_values(State[state])
            ends = True
        last[name] = state
    if not ends:
        return {}
    return {BACKOFF_END: tuple(v.value for v in BackoffEnd if v in values)}


# --- loading ---

_CASE_REQUIRED = frozenset({"id", "title", "requirements", "policy", "steps"})
_CASE_OPTIONAL = frozenset({"description", "config", "channel", "capabilities", "spec_options"})
_SPEC_OPTION = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
_STEP_OPTIONAL = frozenset({"expect", "note", "requirements"})
_REPEAT_KEYS = frozenset({"repeat", "steps", "expect"})
MAX_REPETITIONS = 5000
_EXPECT_MODES = ("outputs", "any_of", "unordered", "includes", "statistical")


def _address(value: wire.JsonValue, path: JsonPath) -> str:
    """A subchannel reference in a case: one address string."""
    return wire.address_from_json(wire.expect_str(value, path), path).addr


def _validating_subchannel(value: wire.JsonValue, path: JsonPath) -> int:
    _address(value, path)
    return 1  # a placeholder ID: loading only checks the shape


def _pattern(value: wire.JsonValue, path: JsonPath) -> OutputPattern:
    obj = wire.expect_object(value, path)
    kind = wire.kind_of(obj, path, _PATTERN_KEYS, "output")
    rest = {k: v for k, v in obj.items() if k != "type"}
    wire.check_keys(rest, path, frozenset(), _PATTERN_KEYS[kind])
    fields: dict[str, Any] = {}
    if "subchannel" in rest:
        fields["subchannel"] = _address(rest["subchannel"], (*path, "subchannel"))
    if "addresses" in rest:
        addrs = wire.expect_list(rest["addresses"], (*path, "addresses"))
        if not addrs:
            raise WireError((*path, "addresses"), "a subchannel has at least one address")
        fields["addresses"] = tuple(
            _address(a, (*path, "addresses", i)) for i, a in enumerate(addrs)
        )
    if "health_listener" in rest:
        fields["health_listener"] = wire.expect_bool(
            rest["health_listener"], (*path, "health_listener")
        )
    if "state" in rest:
        fields["state"] = wire.state_from_json(rest["state"], (*path, "state"))
        if fields["state"] is State.SHUTDOWN:
            raise WireError((*path, "state"), "a policy never reports SHUTDOWN")
    if "pick_id" in rest:
        fields["pick_id"] = wire.positive_int(rest["pick_id"], (*path, "pick_id"))
    if "reason_contains" in rest:
        fields["contains"] = wire.expect_str(rest["reason_contains"], (*path, "reason_contains"))
    if "metadata" in rest:
        fields["metadata"] = wire.attributes_from_json(rest["metadata"], (*path, "metadata"))
    if "status" in rest:
        spath = (*path, "status")
        status = wire.expect_object(rest["status"], spath)
        wire.check_keys(status, spath, frozenset(), frozenset({"code", "message_contains"}))
        if "code" in status:
            code = wire.expect_str(status["code"], (*spath, "code"))
            if code not in StatusCode.__members__ or code == "OK":
                raise WireError(
                    (*spath, "code"), f"expected a non-OK status code name, got {code!r}"
                )
            fields["code"] = StatusCode[code]
        if "message_contains" in status:
            fields["contains"] = wire.expect_str(
                status["message_contains"], (*spath, "message_contains")
            )
    return OutputPattern(kind, **fields)


def _patterns(value: wire.JsonValue, path: JsonPath) -> tuple[OutputPattern, ...]:
    items = wire.expect_list(value, path)
    return tuple(_pattern(p, (*path, i)) for i, p in enumerate(items))


def _expectation(value: wire.JsonValue, path: JsonPath) -> Expectation:
    obj = wire.expect_object(value, path)
    modes = [m for m in _EXPECT_MODES if m in obj]
    if len(modes) != 1:
        raise WireError(
            path, f"give exactly one of {', '.join(_EXPECT_MODES)}; got {modes or 'none'}"
        )
    mode = modes[0]
    if mode == "statistical":
        wire.check_keys(obj, path, frozenset({"statistical"}), frozenset())
        return _statistical(obj["statistical"], (*path, "statistical"))
    optional = frozenset({"excludes"}) if mode == "includes" else frozenset({"ignore"})
    wire.check_keys(obj, path, frozenset({mode}), optional)
    ignore: frozenset[str] = frozenset()
    if "ignore" in obj:
        kinds = wire.expect_list(obj["ignore"], (*path, "ignore"))
        for i, kind in enumerate(kinds):
            if wire.expect_str(kind, (*path, "ignore", i)) not in wire.OUTPUT_TYPES_BY_KIND:
                raise WireError((*path, "ignore", i), f"unknown output kind {kind!r}")
        ignore = frozenset(kinds)
    if mode == "any_of":
        options = wire.expect_list(obj["any_of"], (*path, "any_of"))
        if len(options) < 2:
            raise WireError((*path, "any_of"), "give at least two acceptable output lists")
        choices = tuple(_patterns(o, (*path, "any_of", i)) for i, o in enumerate(options))
        return Expect(mode, choices, ignore=ignore)
    excludes = _patterns(obj.get("excludes", []), (*path, "excludes"))
    return Expect(mode, (_patterns(obj[mode], (*path, mode)),), excludes, ignore)


def _statistical(value: wire.JsonValue, path: JsonPath) -> Statistical:
    obj = wire.expect_object(value, path)
    wire.check_keys(obj, path, frozenset({"samples", "tolerance", "fractions"}), frozenset())
    samples = wire.positive_int(obj["samples"], (*path, "samples"))
    tolerance = wire.expect_number(obj["tolerance"], (*path, "tolerance"))
    if not 0 <= tolerance < 1:
        raise WireError((*path, "tolerance"), f"expected 0 <= tolerance < 1, got {tolerance}")
    raw = wire.expect_object(obj["fractions"], (*path, "fractions"))
    fractions = []
    for key, share in raw.items():
        fpath = (*path, "fractions", key)
        if key not in (QUEUE, FAIL, DROP):
            _address(key, fpath)
        number = wire.expect_number(share, fpath)
        if not 0 <= number <= 1:
            raise WireError(fpath, f"a fraction lies in [0, 1], got {number}")
        fractions.append((key, float(number)))
    if abs(sum(f for _, f in fractions) - 1) > 1e-9:
        raise WireError((*path, "fractions"), "the fractions must add up to 1")
    return Statistical(samples, float(tolerance), tuple(fractions))


def _channel(value: wire.JsonValue, path: JsonPath) -> ChannelOptions:
    obj = wire.expect_object(value, path)
    wire.check_keys(obj, path, frozenset(), frozenset({"profile", "health_checking", "seed"}))
    profile_name = wire.expect_str(obj.get("profile", "current"), (*path, "profile"))
    try:
        profile = Profile(profile_name)
    except ValueError:
        names = ", ".join(p.value for p in Profile)
        raise WireError((*path, "profile"), f"unknown profile {profile_name!r} ({names})") from None
    checking = wire.expect_bool(obj.get("health_checking", False), (*path, "health_checking"))
    seed = wire.expect_int(obj.get("seed", 0), (*path, "seed"))
    return ChannelOptions(profile, checking, seed)


SpecOptionValues = tuple[tuple[str, str], ...]
SpecOptionSets = tuple[tuple[str, tuple[str, ...]], ...]


def _spec_options(value: wire.JsonValue, path: JsonPath) -> tuple[SpecOptionValues, SpecOptionSets]:
    """``{"<policy>.<option>": value or [values]}``: the one value, or the several values,
    the case holds for.  A registered option's values must be among its own
    (spec/options.py); a list names at least two distinct values."""
    from spec.options import OPTIONS  # the registry: spec/ imports nothing from here

    obj = wire.expect_object(value, path)
    single: list[tuple[str, str]] = []
    several: list[tuple[str, tuple[str, ...]]] = []
    for key, option in sorted(obj.items()):
        where = (*path, key)
        if not _SPEC_OPTION.match(key):
            raise WireError(where, f"a spec option is named '<policy>.<option>', got {key!r}")
        if isinstance(option, list):
            values = tuple(wire.expect_str(v, (*where, i)) for i, v in enumerate(option))
            if len(set(values)) != len(values) or len(values) < 2:
                raise WireError(
                    where,
                    "a list of values names at least two distinct values (write one as a string)",
                )
        else:
            values = (wire.expect_str(option, where),)
        registered = OPTIONS.get(key)
        for value_ in values:
            if registered is not None and value_ not in registered.values:
                raise WireError(where, f"{value_!r} is not one of {', '.join(registered.values)}")
        if isinstance(option, list):
            several.append((key, values))
        else:
            single.append((key, values[0]))
    return tuple(single), tuple(several)


def _requirements(
    value: wire.JsonValue, path: JsonPath, *, allow_empty: bool
) -> tuple[RequirementId, ...]:
    items = wire.expect_list(value, path)
    if not items and not allow_empty:
        raise WireError(path, "a case checks at least one requirement")
    found = []
    for i, item in enumerate(items):
        known = CATALOGUE.get(wire.expect_str(item, (*path, i)))
        if known is None:
            raise WireError((*path, i), f"no requirement {item!r} in the catalogue")
        found.append(known.id)
    return tuple(found)


def case_from_json(value: wire.JsonValue, area: str, path: Path | None = None) -> Case:
    """Build a case from its JSON; raises WireError (path only) or CaseError."""
    obj = wire.expect_object(value, ())
    wire.check_keys(obj, (), _CASE_REQUIRED, _CASE_OPTIONAL)
    case_id = wire.expect_str(obj["id"], ("id",))
    if not CASE_ID.match(case_id):
        raise WireError(("id",), f"expected lower-case words joined by '-', got {case_id!r}")
    if path is not None and path.stem != case_id:
        raise WireError(("id",), f"the file is named {path.name}; name it {case_id}.json")
    title = wire.expect_str(obj["title"], ("title",))
    policy = wire.expect_str(obj["policy"], ("policy",))
    requirements = _requirements(obj["requirements"], ("requirements",), allow_empty=False)
    channel = _channel(obj.get("channel", {}), ("channel",))
    caps_raw = wire.expect_list(obj.get("capabilities", []), ("capabilities",))
    capabilities = set()
    for i, cap in enumerate(caps_raw):
        try:
            capabilities.add(Capability(wire.expect_str(cap, ("capabilities", i))))
        except ValueError:
            names = ", ".join(c.value for c in Capability)
            raise WireError(("capabilities", i), f"unknown capability {cap!r} ({names})") from None
    if (policy == SERVICE_CONFIG_POLICY) != (Capability.SERVICE_CONFIG in capabilities):
        raise WireError(
            ("capabilities",),
            f"policy {SERVICE_CONFIG_POLICY!r} and capability {SERVICE_CONFIG_POLICY!r} go "
            "together: the case's resolver updates carry whole service configs",
        )
    config = obj.get("config")
    raw_steps = wire.expect_list(obj["steps"], ("steps",))
    if not raw_steps:
        raise WireError(("steps",), "a case has at least one step")
    steps = _steps(raw_steps, config, capabilities, channel)
    spec_options, spec_option_sets = _spec_options(obj.get("spec_options", {}), ("spec_options",))
    declared = {k: (v,) for k, v in spec_options} | dict(spec_option_sets)
    for key, values in implied_options(steps, channel.profile).items():
        if key in declared and not set(declared[key]) & set(values):
            raise WireError(
                ("spec_options", key),
                f"the case's subchannel inputs end a backoff as only {' or '.join(values)} do",
            )
    return Case(
        id=case_id,
        title=title,
        area=area,
        policy=policy,
        requirements=requirements,
        steps=tuple(steps),
        config=config,
        channel=channel,
        capabilities=frozenset(capabilities),
        description=wire.expect_str(obj.get("description", ""), ("description",)),
        path=path,
        spec_options=spec_options,
        spec_option_sets=spec_option_sets,
    )


def capabilities_needed(
    policy: str, health_checking: bool, inputs: Iterable[wire.JsonObject]
) -> list[str]:
    """The capabilities a generated case (fuzz, explore) must list for these inputs, as the
    loader below demands them (in the order of :class:`Capability`)."""
    needed = set()
    if health_checking:
        needed.add(Capability.HEALTH_LISTENER)
    if any(i.get("type") == "oob_load_report" or "load_report" in i for i in inputs):
        needed.add(Capability.ORCA)
    if policy == SERVICE_CONFIG_POLICY:
        needed.add(Capability.SERVICE_CONFIG)
    return [cap.value for cap in Capability if cap in needed]


def _steps(
    raw_steps: list[Any],
    config: wire.JsonValue,
    capabilities: set[Capability],
    channel: ChannelOptions,
) -> list[CaseStep]:
    def need(cap: Capability, path: JsonPath, why: str) -> None:
        if cap not in capabilities:
            raise WireError(path, f"{why}: add {cap.value!r} to the case's capabilities")

    if channel.health_checking:
        need(Capability.HEALTH_LISTENER, ("channel", "health_checking"), "health checking")
    picks: set[int] = set()
    next_pick = 1
    steps = []

    def one(raw: wire.JsonValue, path: JsonPath, in_block: bool) -> CaseStep:
        nonlocal next_pick
        obj = wire.expect_object(raw, path)
        wire.check_keys(obj, path, frozenset({"input"}), _STEP_OPTIONAL)
        given = wire.expect_object(obj["input"], (*path, "input"))
        inp = dict(given)
        kind = wire.kind_of(inp, (*path, "input"), wire.INPUT_KEYS, "input")
        expect = None if "expect" not in obj else _expectation(obj["expect"], (*path, "expect"))
        if in_block and (kind == "done" or "pick_id" in given):
            # Pick numbers differ in every repetition: a block cannot name one.
            raise WireError((*path, "input"), "a step in a repeat block cannot name a pick_id")
        if in_block and isinstance(expect, Statistical):
            raise WireError((*path, "expect"), "a repeat block's steps cannot be statistical")
        if kind == "pick" and "pick_id" not in inp:
            inp["pick_id"] = next_pick
        if kind == "resolver_update" and "config" not in inp and config is not None:
            inp["config"] = config
        event = wire.input_from_json(inp, (*path, "input"), _validating_subchannel)
        if kind == "pick":
            if inp["pick_id"] in picks:
                raise WireError(
                    (*path, "input", "pick_id"), f"pick {inp['pick_id']} was used before"
                )
            picks.add(inp["pick_id"])
            next_pick = max(picks) + 1
        if kind == "done" and inp["pick_id"] not in picks:
            raise WireError((*path, "input", "pick_id"), f"no earlier pick {inp['pick_id']}")
        if kind == "health_state":
            need(Capability.HEALTH_LISTENER, (*path, "input"), "health states")
            if not channel.health_checking:
                raise WireError(
                    (*path, "input"), "health states need channel.health_checking = true"
                )
        if kind == "oob_load_report" or getattr(event, "load_report", None) is not None:
            need(Capability.ORCA, (*path, "input"), "load reports")
        if isinstance(expect, Statistical):
            if kind != "pick" or "pick_id" in given:
                raise WireError(
                    (*path, "expect"), "a statistical step sends a pick input without pick_id"
                )
            next_pick = max(picks) + expect.samples  # the runner numbers the samples
            picks.update(range(inp["pick_id"], next_pick))
        requirements = _requirements(
            obj.get("requirements", []), (*path, "requirements"), allow_empty=True
        )
        note = wire.expect_str(obj.get("note", ""), (*path, "note"))
        return CaseStep(inp, expect, note, requirements, origin=path)

    for index, raw in enumerate(raw_steps):
        path: JsonPath = ("steps", index)
        if isinstance(raw, dict) and "repeat" in raw:
            steps.extend(_repeat_block(raw, path, index, one))
        else:
            steps.append(one(raw, path, in_block=False))
    return steps


def _repeat_block(
    obj: dict[str, Any],
    path: JsonPath,
    index: int,
    one: Callable[[wire.JsonValue, JsonPath, bool], CaseStep],
) -> list[CaseStep]:
    """A ``repeat`` step, expanded: its block once per repetition (conformance/across.py)."""
    wire.check_keys(obj, path, _REPEAT_KEYS, frozenset({"note", "requirements"}))
    times = wire.positive_int(obj["repeat"], (*path, "repeat"))
    if not 2 <= times <= MAX_REPETITIONS:
        raise WireError((*path, "repeat"), f"repeat between 2 and {MAX_REPETITIONS} times")
    block = wire.expect_list(obj["steps"], (*path, "steps"))
    if not block:
        raise WireError((*path, "steps"), "a repeat block has at least one step")
    for j, inner in enumerate(block):
        if isinstance(inner, dict) and "repeat" in inner:
            raise WireError((*path, "steps", j), "repeat blocks do not nest")
    epath = (*path, "expect")
    expect = wire.expect_object(obj["expect"], epath)
    wire.check_keys(expect, epath, frozenset({"across"}), frozenset())
    across = across_from_json(expect["across"], (*epath, "across"), times, len(block), index)
    requirements = _requirements(
        obj.get("requirements", []), (*path, "requirements"), allow_empty=True
    )
    note = wire.expect_str(obj.get("note", ""), (*path, "note"))
    expanded = []
    for repetition in range(times):
        for j, inner in enumerate(block):
            step = one(inner, (*path, "steps", j), True)
            if j == len(block) - 1:  # the block's note and requirements go with its verdict
                step = attrs.evolve(
                    step, note=step.note or note, requirements=step.requirements + requirements
                )
            expanded.append(
                attrs.evolve(step, across=across, repetition=repetition, position=j + 1)
            )
    return expanded


# Each area's ID prefix (CONF-8).  An area not listed here (a new folder) may use any
# prefix that no listed area owns, the same one for all its cases.
AREA_PREFIXES: Mapping[str, str] = {
    "pick_first": "pf",
    "round_robin": "rr",
    "weighted_round_robin": "wrr",
    "least_request": "lr",
    "health": "health",
    "aggregation": "agg",
    "service_config": "sc",
    "fuzz": "fuzz",
    "explore": "explore",  # cases written by conformance explore (issue 18)
    "selftest": "selftest",
}
_AREA_OF_PREFIX = {prefix: area for area, prefix in AREA_PREFIXES.items()}


def _check_prefix(case: Case) -> None:
    """The ID's first word is its area's prefix (CONF-8): a ``pf-`` case under
    ``round_robin/`` would otherwise run as a round_robin case."""
    prefix = case.id.split("-")[0]
    want = AREA_PREFIXES.get(case.area)
    owner = _AREA_OF_PREFIX.get(prefix)
    if want is not None and prefix != want:
        problem = f"a case in area {case.area!r} has an ID starting {want + '-'!r}"
    elif want is None and owner is not None:
        problem = f"the prefix {prefix + '-'!r} belongs to area {owner!r}, not {case.area!r}"
    else:
        return
    raise WireError(("id",), f"{problem}; got {case.id!r}")


def area_of(path: Path) -> str:
    """The area of the case file at ``path``: its folder when that is a known area (or the
    file sits in ``<area>/`` under a case root), else the area its ID prefix names."""
    if path.parent.name in AREA_PREFIXES:
        return path.parent.name
    prefix = path.stem.split("-")[0]
    return _AREA_OF_PREFIX.get(prefix, path.parent.name)


def load_case(path: Path, area: str | None = None) -> Case:
    """Load one case file; errors name the file and line."""

    def read(data: wire.JsonValue) -> Case:
        case = case_from_json(data, area or path.parent.name, path)
        _check_prefix(case)
        return case

    case, text = wire.load_json_file(path, read)
    origins = [step.origin or ("steps", i) for i, step in enumerate(case.steps)]
    lines = wire.lines_of(text, dict.fromkeys(origins))  # a repeat block's steps share one
    steps = tuple(attrs.evolve(s, line=lines[o]) for s, o in zip(case.steps, origins, strict=True))
    return attrs.evolve(case, steps=steps)


def case_files(root: Path = CASES_DIR) -> Iterator[Path]:
    """Every case file under ``root``, in a stable order (area, then file name)."""
    yield from sorted(root.glob("*/*.json"))


def load_cases(root: Path = CASES_DIR) -> list[Case]:
    """Load the cases at ``root``: a case root (``<area>/<id>.json``), a flat folder of case
    files (what ``fuzz --out`` writes; each file's area is that of its ID prefix), or one
    case file.  Finding no case at all is a CaseError, never an empty run; so is a
    duplicate ID (naming both files) or an area with two prefixes (CONF-8)."""
    if root.is_file():
        return [load_case(root, area_of(root))]
    if not root.is_dir():
        raise CaseError(f"{root}: no such case file or directory")
    nested = list(case_files(root))
    flat = sorted(root.glob("*.json"))
    if not nested and not flat:
        raise CaseError(
            f"{root}: no case files here (expected <area>/<id>.json or <id>.json files)"
        )
    cases = [load_case(path) for path in nested] + [load_case(p, area_of(p)) for p in flat]
    seen: dict[str, Case] = {}
    for case in cases:
        if case.id in seen:
            raise CaseError(
                f"case ID {case.id!r} is used by {seen[case.id].location} and {case.location}"
            )
        seen[case.id] = case
    prefixes: dict[str, Case] = {}
    for case in cases:
        first = prefixes.setdefault(case.area, case)
        if first.id.split("-")[0] != case.id.split("-")[0]:
            raise CaseError(
                f"area {case.area!r} has two ID prefixes: {first.location} and {case.location}"
                " (CONF-8: one prefix per area)"
            )
    return cases
