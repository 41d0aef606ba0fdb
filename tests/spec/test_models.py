"""Validators reject bad models with messages that say what and where."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from spec.actions import NewSubchannel, PickDrop, PickFail, UpdateState
from spec.connectivity import State
from spec.errors import ModelError
from spec.events import (
    Done,
    HealthStateChange,
    Pick,
    ResolverUpdate,
    SubchannelStateChange,
    TimeAdvanced,
)
from spec.trace import Step
from spec.types import (
    Address,
    AddressFamily,
    Duration,
    Endpoint,
    OrcaLoadReport,
    Status,
    StatusCode,
)


def _raises(where: str, fn: Any, *args: Any, **kwargs: Any) -> ModelError:
    with pytest.raises(ModelError) as err:
        fn(*args, **kwargs)
    assert err.value.where == where
    assert where in str(err.value)
    return err.value


@pytest.mark.parametrize("bad", ["", "localhost", "host:", ":80", "1.2.3.4:99999", "[zz]:80", 5])
def test_address_rejects_malformed(bad: Any) -> None:
    _raises("Address.addr", Address, bad)


@pytest.mark.parametrize(
    ("addr", "family"),
    [
        ("10.0.0.1:80", AddressFamily.IPV4),
        ("[::ffff:10.0.0.1]:80", AddressFamily.IPV4),
        ("[2001:db8::1]:443", AddressFamily.IPV6),
        ("backend.example:8080", AddressFamily.UNKNOWN),
    ],
)
def test_address_family(addr: str, family: AddressFamily) -> None:
    assert Address(addr).family is family


def test_address_identity_ignores_balancer_attributes() -> None:
    a = Address("1.1.1.1:1", attributes={"k": "v"}, balancer_attributes={"x": 1})
    b = Address("1.1.1.1:1", attributes={"k": "v"}, balancer_attributes={"x": 2})
    c = Address("1.1.1.1:1", attributes={"k": "other"})
    assert a == b
    assert hash(a) == hash(b)
    assert a != c


def test_models_are_frozen() -> None:
    a = Address("1.1.1.1:1")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        a.addr = "2.2.2.2:2"  # type: ignore[misc]


def test_endpoint_rules() -> None:
    _raises("Endpoint.addresses", Endpoint, [])
    _raises("Endpoint.weight", Endpoint, ["1.1.1.1:1"], weight=0)
    e1 = Endpoint(["1.1.1.1:1", "2.2.2.2:2"])
    e2 = Endpoint(["2.2.2.2:2", "1.1.1.1:1"])
    assert e1.key == e2.key  # identity is the unordered set of addresses
    assert e1 != e2  # but the order is kept and matters to pick_first


def test_status_codes_are_grpcs_seventeen() -> None:
    assert len(StatusCode) == 17
    assert int(StatusCode.UNAVAILABLE) == 14
    assert int(StatusCode.UNAUTHENTICATED) == 16
    assert Status("UNAVAILABLE", "x").code is StatusCode.UNAVAILABLE
    assert Status(14).code is StatusCode.UNAVAILABLE
    _raises("Status.code", Status, "NOPE")
    _raises("Status.code", Status, 17)


@pytest.mark.parametrize(
    ("text", "nanos"),
    [("0s", 0), ("1s", 10**9), ("1.5s", 1_500_000_000), ("0.000000001s", 1), ("180s", 180 * 10**9)],
)
def test_duration_parses_protobuf_json(text: str, nanos: int) -> None:
    d = Duration.parse(text)
    assert d.nanos == nanos
    assert Duration.parse(d.to_json()) == d


@pytest.mark.parametrize("bad", ["1", "-1s", "1.5", "1.0000000001s", "s", 3, None])
def test_duration_rejects_bad_json(bad: Any) -> None:
    err = _raises("weightUpdatePeriod", Duration.parse, bad, "weightUpdatePeriod")
    assert repr(bad) in err.problem


def test_duration_is_non_negative() -> None:
    _raises("Duration.nanos", Duration, -1)


@pytest.mark.req("MODEL-1")
def test_transient_failure_needs_an_error() -> None:
    _raises("SubchannelStateChange.error", SubchannelStateChange, 1, State.TRANSIENT_FAILURE)
    _raises("HealthStateChange.error", HealthStateChange, 1, State.TRANSIENT_FAILURE)
    ok = SubchannelStateChange(1, State.TRANSIENT_FAILURE, Status(StatusCode.UNAVAILABLE, "x"))
    assert ok.error is not None


@pytest.mark.req("MODEL-2")
def test_health_states() -> None:
    _raises("HealthStateChange.state", HealthStateChange, 1, State.IDLE)
    assert HealthStateChange(1, State.READY).state is State.READY


@pytest.mark.req("MODEL-3")
def test_new_subchannel_needs_an_address() -> None:
    _raises("NewSubchannel.addresses", NewSubchannel, 1, [])


@pytest.mark.req("MODEL-4")
def test_failed_picks_need_a_failing_status() -> None:
    _raises("PickFail.status", PickFail, 1, Status(StatusCode.OK))
    _raises("PickDrop.status", PickDrop, 1, Status(StatusCode.OK))


def test_ids_and_other_fields() -> None:
    _raises("Pick.pick_id", Pick, 0)
    _raises("Pick.method", Pick, 1, method="no-slash")
    _raises("SubchannelStateChange.subchannel", SubchannelStateChange, True, State.READY)
    _raises("UpdateState.state", UpdateState, State.SHUTDOWN)
    _raises("OrcaLoadReport.cpu_utilization", OrcaLoadReport, cpu_utilization=-0.1)
    _raises("ResolverUpdate.endpoints[0]", ResolverUpdate, ["1.1.1.1:1"])
    _raises("Step.input", Step, "not an input")
    _raises("Step.outputs[0]", Step, TimeAdvanced(Duration(1)), ["x"])
    assert Done(1, load_report=OrcaLoadReport(rps_fractional=10)).load_report is not None


@pytest.mark.req("MODEL-5")
@pytest.mark.parametrize("code", list(StatusCode))
def test_restricted_codes_become_internal(code: StatusCode) -> None:
    from spec.types import RESTRICTED_CONTROL_PLANE_CODES, control_plane_status

    original = Status(code, "boom")
    seen = control_plane_status(original)
    if code in RESTRICTED_CONTROL_PLANE_CODES:
        assert seen.code is StatusCode.INTERNAL
        assert code.name in seen.message
    else:
        assert seen == original
