"""Validated value types that cross the balancer boundary.

Rules stated once, here:

* An :class:`Address` is ``host:port`` (``[v6]:port`` for IPv6); its identity
  is ``addr``, ``server_name`` and ``attributes``, but not
  ``balancer_attributes`` (grpc-go ``resolver/resolver.go``, ``Address.Equal``).
* An :class:`Endpoint` is a non-empty ordered list of addresses plus
  attributes; two endpoints are the same endpoint when their *sets* of
  address strings are equal (grpc-go ``resolver/map.go``, ``EndpointMap``).
* A :class:`StatusCode` is one of the 17 gRPC codes (grpc/grpc
  ``doc/statuscodes.md``).
* A :class:`Duration` is a non-negative whole number of nanoseconds; the
  protobuf JSON form ``"1.5s"`` parses to it.
"""

from __future__ import annotations

import enum
import functools
import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from spec.errors import ModelError

AttributeValue = str | int | float | bool
Attributes = tuple[tuple[str, AttributeValue], ...]


def freeze_attributes(value: Mapping[str, AttributeValue] | Iterable[Any]) -> Attributes:
    """Turn a mapping (or pairs) into the sorted tuple form models store."""
    items = value.items() if isinstance(value, Mapping) else value
    pairs = []
    for item in items:
        key, val = tuple(item)
        if not isinstance(key, str) or not key:
            raise ModelError("attributes", f"keys must be non-empty strings, got {key!r}")
        if not isinstance(val, str | int | float | bool):
            raise ModelError("attributes", f"value of {key!r} must be a scalar, got {val!r}")
        pairs.append((key, val))
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ModelError("attributes", f"duplicate keys in {keys!r}")
    return tuple(sorted(pairs, key=lambda kv: kv[0]))


class AddressFamily(enum.Enum):
    """Families for Happy Eyeballs interleaving (gRFC A61; RFC 8305 section 4)."""

    IPV4 = "ipv4"  # includes IPv4-mapped IPv6 addresses
    IPV6 = "ipv6"
    UNKNOWN = "unknown"  # host names, unix sockets, anything not an IP literal


_HOST_PORT = re.compile(r"^(?:\[(?P<v6>[^\]]+)\]|(?P<host>[^:\[\]]+)):(?P<port>\d{1,5})$")


@attrs.frozen
class Address:
    """One network address a subchannel can connect to."""

    addr: str = attrs.field()
    server_name: str = ""
    attributes: Attributes = attrs.field(default=(), converter=freeze_attributes)
    # Not part of identity: grpc-go compares addresses without BalancerAttributes.
    balancer_attributes: Attributes = attrs.field(
        default=(), converter=freeze_attributes, eq=False, hash=False
    )

    @addr.validator
    def _check_addr(self, _attribute: attrs.Attribute[str], value: str) -> None:
        match = _HOST_PORT.match(value) if isinstance(value, str) else None
        if match is None:
            raise ModelError(
                "Address.addr", f"expected 'host:port' or '[ipv6]:port', got {value!r}"
            )
        if not 0 < int(match["port"]) < 65536:
            raise ModelError("Address.addr", f"port out of range in {value!r}")
        if match["v6"] is not None:
            try:
                ipaddress.IPv6Address(match["v6"])
            except ValueError:
                raise ModelError("Address.addr", f"bad IPv6 literal in {value!r}") from None

    @property
    def host(self) -> str:
        match = _HOST_PORT.match(self.addr)
        assert match is not None  # guaranteed by the validator
        return match["v6"] or match["host"]

    @property
    def family(self) -> AddressFamily:
        """The family used for Happy Eyeballs interleaving (gRFC A61)."""
        return _family_of_host(self.host)


@functools.lru_cache(maxsize=4096)  # monitors ask for every address at every update
def _family_of_host(host: str) -> AddressFamily:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return AddressFamily.UNKNOWN
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
        return AddressFamily.IPV6
    return AddressFamily.IPV4


def _to_addresses(value: Iterable[Address | str]) -> tuple[Address, ...]:
    return tuple(a if isinstance(a, Address) else Address(a) for a in value)


@attrs.frozen
class Endpoint:
    """An ordered, non-empty list of addresses that reach the same backend."""

    addresses: tuple[Address, ...] = attrs.field(converter=_to_addresses)
    # The per-endpoint weight attribute (xDS; used by pick_first's weighted
    # shuffle, gRFC A61/A42). ``None`` means "not set", which counts as 1.
    weight: int | None = attrs.field(default=None)
    attributes: Attributes = attrs.field(default=(), converter=freeze_attributes)

    @addresses.validator
    def _check_addresses(
        self, _a: attrs.Attribute[tuple[Address, ...]], value: tuple[Address, ...]
    ) -> None:
        if not value:
            raise ModelError("Endpoint.addresses", "an endpoint needs at least one address")

    @weight.validator
    def _check_weight(self, _a: attrs.Attribute[int | None], value: int | None) -> None:
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise ModelError("Endpoint.weight", f"must be a positive integer, got {value!r}")

    @property
    def key(self) -> frozenset[str]:
        """Endpoint identity: the unordered set of address strings (grpc-go resolver/map.go)."""
        return frozenset(a.addr for a in self.addresses)


class StatusCode(enum.IntEnum):
    """The 17 gRPC status codes, by name and number (grpc/grpc doc/statuscodes.md)."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


# gRFC A54: codes a control plane (and so an LB policy's Fail/Drop) may not
# produce; the channel rewrites them to INTERNAL.
RESTRICTED_CONTROL_PLANE_CODES = frozenset(
    {
        StatusCode.OK,
        StatusCode.INVALID_ARGUMENT,
        StatusCode.NOT_FOUND,
        StatusCode.ALREADY_EXISTS,
        StatusCode.FAILED_PRECONDITION,
        StatusCode.ABORTED,
        StatusCode.OUT_OF_RANGE,
        StatusCode.DATA_LOSS,
    }
)


def control_plane_status(status: Status) -> Status:
    """The status an RPC sees for a policy's Fail/Drop: restricted codes become INTERNAL (MODEL-5).

    gRFC A54; grpc-go picker_wrapper.go does the same rewrite.
    """
    if status.code not in RESTRICTED_CONTROL_PLANE_CODES:
        return status
    return Status(
        StatusCode.INTERNAL,
        f"LB pick returned a restricted status ({status.code.name}: {status.message})",
    )


def _to_status_code(value: StatusCode | int | str) -> StatusCode:
    if isinstance(value, StatusCode):
        return value
    if isinstance(value, str):
        try:
            return StatusCode[value]
        except KeyError:
            raise ModelError("Status.code", f"unknown status code name {value!r}") from None
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return StatusCode(value)
        except ValueError:
            raise ModelError("Status.code", f"unknown status code number {value!r}") from None
    raise ModelError("Status.code", f"expected a code name or number, got {value!r}")


@attrs.frozen
class Status:
    """An RPC status: a code and a human-readable message."""

    code: StatusCode = attrs.field(converter=_to_status_code)
    message: str = attrs.field(default="", validator=attrs.validators.instance_of(str))

    def __str__(self) -> str:
        return f"{self.code.name}: {self.message}" if self.message else self.code.name


_NANOS_PER_SECOND = 1_000_000_000
_PROTO_DURATION = re.compile(r"^(?P<secs>\d+)(?:\.(?P<frac>\d{1,9}))?s$")


@attrs.frozen(order=True)
class Duration:
    """A non-negative span of time, held exactly in nanoseconds."""

    nanos: int = attrs.field()

    @nanos.validator
    def _check_nanos(self, _a: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ModelError("Duration.nanos", f"must be an integer, got {value!r}")
        if value < 0:
            raise ModelError("Duration.nanos", f"must not be negative, got {value}")

    @classmethod
    def of(cls, *, seconds: float = 0, millis: float = 0) -> Duration:
        return cls(round(seconds * _NANOS_PER_SECOND + millis * 1_000_000))

    @classmethod
    def parse(cls, text: object, where: str = "duration") -> Duration:
        """Parse protobuf JSON (``"10s"``, ``"0.25s"``); errors name ``where``."""
        match = _PROTO_DURATION.match(text) if isinstance(text, str) else None
        if match is None:
            raise ModelError(
                where, f"expected a protobuf JSON duration such as '1.5s', got {text!r}"
            )
        frac = (match["frac"] or "").ljust(9, "0")
        return cls(int(match["secs"]) * _NANOS_PER_SECOND + int(frac))

    @property
    def seconds(self) -> float:
        return self.nanos / _NANOS_PER_SECOND

    def to_json(self) -> str:
        secs, frac = divmod(self.nanos, _NANOS_PER_SECOND)
        return f"{secs}.{frac:09d}".rstrip("0").rstrip(".") + "s"

    def __add__(self, other: Duration) -> Duration:
        return Duration(self.nanos + other.nanos)


def _unit_interval_or_more(name: str) -> Any:
    def check(_inst: object, _a: attrs.Attribute[float], value: float) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ModelError(f"OrcaLoadReport.{name}", f"must be a number >= 0, got {value!r}")

    return check


@attrs.frozen
class OrcaLoadReport:
    """The fields of xds ``OrcaLoadReport`` that balancers read (gRFC A51, A58)."""

    cpu_utilization: float = attrs.field(
        default=0.0, validator=_unit_interval_or_more("cpu_utilization")
    )
    application_utilization: float = attrs.field(
        default=0.0, validator=_unit_interval_or_more("application_utilization")
    )
    mem_utilization: float = attrs.field(
        default=0.0, validator=_unit_interval_or_more("mem_utilization")
    )
    rps_fractional: float = attrs.field(
        default=0.0, validator=_unit_interval_or_more("rps_fractional")
    )
    eps: float = attrs.field(default=0.0, validator=_unit_interval_or_more("eps"))
