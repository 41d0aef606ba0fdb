"""Outputs: everything a policy does across the balancer boundary.

The first group are calls a policy makes on its ClientConn / SubConns
(grpc-go balancer/balancer.go, balancer/subconn.go); ``UpdateRejected`` is the
error ``UpdateClientConnState`` returns (``ErrBadResolverState``); the last
group are the four pick outcomes of client_channel_specification.md, "Picker
API" (Complete / Queue / Fail / Drop).

Rules enforced here:

* A new subchannel has at least one address (MODEL-3).
* Fail and Drop carry a non-OK status (MODEL-4).
"""

from __future__ import annotations

from typing import Any

import attrs

from spec.connectivity import State
from spec.errors import ModelError
from spec.events import PickId, SubchannelId, positive_id
from spec.types import Address, Attributes, Status, StatusCode, freeze_attributes


def _to_addresses(value: Any) -> tuple[Address, ...]:
    return tuple(a if isinstance(a, Address) else Address(a) for a in value)


@attrs.frozen
class NewSubchannel:
    """The policy created a subchannel (ClientConn.NewSubConn)."""

    subchannel: SubchannelId = attrs.field(validator=positive_id("NewSubchannel.subchannel"))
    addresses: tuple[Address, ...] = attrs.field(converter=_to_addresses)
    health_listener: bool = False  # the policy will watch health (gRFC A17 / A61)

    @addresses.validator
    def _check(self, _a: attrs.Attribute[tuple[Address, ...]], value: tuple[Address, ...]) -> None:
        if not value:
            raise ModelError("NewSubchannel.addresses", "a subchannel needs an address (MODEL-3)")


@attrs.frozen
class UpdateAddresses:
    """The policy gave a live subchannel a new address list (grpc-java
    ``Subchannel.updateAddresses``; grpc-go's deprecated ``SubConn.UpdateAddresses``).

    The subchannel keeps its connection when the address it is connected to is still
    listed.  Only adapters whose implementation re-targets subchannels report it.
    """

    subchannel: SubchannelId = attrs.field(validator=positive_id("UpdateAddresses.subchannel"))
    addresses: tuple[Address, ...] = attrs.field(converter=_to_addresses)

    @addresses.validator
    def _check(self, _a: attrs.Attribute[tuple[Address, ...]], value: tuple[Address, ...]) -> None:
        if not value:
            raise ModelError("UpdateAddresses.addresses", "a subchannel needs an address (MODEL-3)")


@attrs.frozen
class Connect:
    """The policy asked a subchannel to connect (SubConn.Connect)."""

    subchannel: SubchannelId = attrs.field(validator=positive_id("Connect.subchannel"))


@attrs.frozen
class Shutdown:
    """The policy shut a subchannel down (SubConn.Shutdown)."""

    subchannel: SubchannelId = attrs.field(validator=positive_id("Shutdown.subchannel"))


@attrs.frozen
class UpdateState:
    """The policy reported a connectivity state and installed a new picker."""

    state: State = attrs.field(converter=State)

    @state.validator
    def _check(self, _a: attrs.Attribute[State], value: State) -> None:
        if value is State.SHUTDOWN:
            raise ModelError("UpdateState.state", "a policy never reports SHUTDOWN")


@attrs.frozen
class RequestReresolution:
    """The policy asked the resolver to re-resolve (ClientConn.ResolveNow)."""


@attrs.frozen
class UpdateRejected:
    """UpdateClientConnState returned an error (ErrBadResolverState in grpc-go)."""

    reason: str = attrs.field(validator=attrs.validators.instance_of(str))


@attrs.frozen
class PickComplete:
    """The picker chose a subchannel for the RPC."""

    pick_id: PickId = attrs.field(validator=positive_id("PickComplete.pick_id"))
    subchannel: SubchannelId = attrs.field(validator=positive_id("PickComplete.subchannel"))
    metadata: Attributes = attrs.field(default=(), converter=freeze_attributes)


@attrs.frozen
class PickQueue:
    """The picker has no subchannel yet; the RPC waits for the next picker."""

    pick_id: PickId = attrs.field(validator=positive_id("PickQueue.pick_id"))


def _failing_status(model: str) -> Any:
    def check(_inst: object, _a: attrs.Attribute[Status], value: Status) -> None:
        if not isinstance(value, Status):
            raise ModelError(f"{model}.status", f"expected a Status, got {value!r}")
        if value.code is StatusCode.OK:
            raise ModelError(f"{model}.status", "a failed pick cannot have status OK (MODEL-4)")

    return check


@attrs.frozen
class PickFail:
    """The pick failed; a wait_for_ready RPC would wait instead."""

    pick_id: PickId = attrs.field(validator=positive_id("PickFail.pick_id"))
    status: Status = attrs.field(validator=_failing_status("PickFail"))


@attrs.frozen
class PickDrop:
    """The pick failed even for wait_for_ready RPCs."""

    pick_id: PickId = attrs.field(validator=positive_id("PickDrop.pick_id"))
    status: Status = attrs.field(validator=_failing_status("PickDrop"))


Output = (
    NewSubchannel
    | Connect
    | Shutdown
    | UpdateState
    | RequestReresolution
    | UpdateRejected
    | PickComplete
    | PickQueue
    | PickFail
    | PickDrop
    | UpdateAddresses
)
PickOutcome = PickComplete | PickQueue | PickFail | PickDrop

OUTPUT_TYPES: tuple[type, ...] = (
    NewSubchannel,
    Connect,
    Shutdown,
    UpdateState,
    RequestReresolution,
    UpdateRejected,
    PickComplete,
    PickQueue,
    PickFail,
    PickDrop,
    UpdateAddresses,
)
