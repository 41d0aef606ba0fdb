"""Inputs: everything that crosses the balancer boundary *into* a policy.

A trace (:mod:`spec.trace`) is a sequence of these inputs, each followed by
the outputs (:mod:`spec.actions`) the policy produced in response.

Subchannels are named by a :data:`SubchannelId` that the *trace* assigns in the
order the policy created them (the ``NewSubchannel`` action), never by an
implementation's own handle; picks are named by the ``pick_id`` the driver
chose, so that a later ``Done`` can say which pick finished.

Rules enforced here:

* A subchannel or health state of TRANSIENT_FAILURE carries an error
  (MODEL-1; grpc-go balancer/subconn.go, ``SubConnState.ConnectionError``).
* A health state is CONNECTING, READY or TRANSIENT_FAILURE (MODEL-2;
  grpc-go health/producer.go).
* Identifiers are positive integers; method names look like ``/service/method``.
"""

from __future__ import annotations

from typing import Any

import attrs

from spec.connectivity import State
from spec.errors import ModelError
from spec.types import Attributes, Duration, Endpoint, OrcaLoadReport, Status, freeze_attributes

SubchannelId = int
PickId = int
JsonValue = Any  # what json.loads returns; validated by the policy's config parser


def positive_id(where: str) -> Any:
    def check(_inst: object, _a: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ModelError(where, f"must be a positive integer, got {value!r}")

    return check


def _to_endpoints(value: Any) -> tuple[Endpoint, ...]:
    return tuple(value)


@attrs.frozen
class ResolverUpdate:
    """A resolver result: endpoints, the policy's JSON config and a resolution note."""

    endpoints: tuple[Endpoint, ...] = attrs.field(converter=_to_endpoints)
    # The policy's config as JSON (the value under its name in loadBalancingConfig);
    # None when the service config gave none.  Not hashable, so not in __hash__.
    config: JsonValue = attrs.field(default=None, hash=False)
    resolution_note: str = attrs.field(default="", validator=attrs.validators.instance_of(str))

    @endpoints.validator
    def _check(
        self, _a: attrs.Attribute[tuple[Endpoint, ...]], value: tuple[Endpoint, ...]
    ) -> None:
        for i, e in enumerate(value):
            if not isinstance(e, Endpoint):
                raise ModelError(
                    f"ResolverUpdate.endpoints[{i}]", f"expected an Endpoint, got {e!r}"
                )


@attrs.frozen
class ResolverError:
    """The resolver failed to produce a result."""

    message: str = attrs.field(validator=attrs.validators.instance_of(str))


def _state_change_check(model: str) -> Any:
    def check(inst: Any, _a: attrs.Attribute[Status | None], value: Status | None) -> None:
        if inst.state is State.TRANSIENT_FAILURE and value is None:
            raise ModelError(f"{model}.error", "TRANSIENT_FAILURE must carry an error (MODEL-1)")
        if value is not None and not isinstance(value, Status):
            raise ModelError(f"{model}.error", f"expected a Status, got {value!r}")

    return check


@attrs.frozen
class SubchannelStateChange:
    """A subchannel's connectivity state changed (the SubConn's StateListener fired)."""

    subchannel: SubchannelId = attrs.field(
        validator=positive_id("SubchannelStateChange.subchannel")
    )
    state: State = attrs.field(converter=State)
    error: Status | None = attrs.field(
        default=None, validator=_state_change_check("SubchannelStateChange")
    )


_HEALTH_STATES = frozenset({State.CONNECTING, State.READY, State.TRANSIENT_FAILURE})


@attrs.frozen
class HealthStateChange:
    """A subchannel's health changed (the health listener fired; gRFC A17)."""

    subchannel: SubchannelId = attrs.field(validator=positive_id("HealthStateChange.subchannel"))
    state: State = attrs.field(converter=State)
    error: Status | None = attrs.field(
        default=None, validator=_state_change_check("HealthStateChange")
    )

    @state.validator
    def _check_state(self, _a: attrs.Attribute[State], value: State) -> None:
        if value not in _HEALTH_STATES:
            raise ModelError(
                "HealthStateChange.state",
                "a health state is CONNECTING, READY or TRANSIENT_FAILURE, "
                f"got {value.name} (MODEL-2)",
            )


@attrs.frozen
class ExitIdle:
    """The channel asks the policy to leave IDLE and start connecting."""


@attrs.frozen
class Close:
    """The channel closes the policy; it must shut every subchannel down."""


@attrs.frozen
class Pick:
    """The channel asks the current picker to route one RPC."""

    pick_id: PickId = attrs.field(validator=positive_id("Pick.pick_id"))
    method: str = attrs.field(default="/grpc.testing.TestService/UnaryCall")
    wait_for_ready: bool = False

    @method.validator
    def _check_method(self, _a: attrs.Attribute[str], value: str) -> None:
        if not isinstance(value, str) or not value.startswith("/") or value.count("/") != 2:
            raise ModelError("Pick.method", f"expected '/package.Service/Method', got {value!r}")


@attrs.frozen
class Done:
    """An RPC that a Complete pick started has finished."""

    pick_id: PickId = attrs.field(validator=positive_id("Done.pick_id"))
    error: Status | None = None
    trailer: Attributes = attrs.field(default=(), converter=freeze_attributes)
    load_report: OrcaLoadReport | None = None


@attrs.frozen
class TimeAdvanced:
    """Time passed; due timers fire in order (virtual time) or it was waited for (real time)."""

    by: Duration = attrs.field(validator=attrs.validators.instance_of(Duration))


@attrs.frozen
class OobLoadReport:
    """An out-of-band ORCA load report arrived on a READY subchannel (gRFC A58)."""

    subchannel: SubchannelId = attrs.field(validator=positive_id("OobLoadReport.subchannel"))
    report: OrcaLoadReport = attrs.field(validator=attrs.validators.instance_of(OrcaLoadReport))


Input = (
    ResolverUpdate
    | ResolverError
    | SubchannelStateChange
    | HealthStateChange
    | ExitIdle
    | Close
    | Pick
    | Done
    | TimeAdvanced
    | OobLoadReport
)

INPUT_TYPES: tuple[type, ...] = (
    ResolverUpdate,
    ResolverError,
    SubchannelStateChange,
    HealthStateChange,
    ExitIdle,
    Close,
    Pick,
    Done,
    TimeAdvanced,
    OobLoadReport,
)
