"""The optional ``update_addresses`` output (protocol v1, additive): a policy that
re-targets a live subchannel (grpc-java's ``Subchannel.updateAddresses``) is followed
by the runner's address map (CONF-1), the monitors' subchannel views and the
boundary rules (LB-1, LB-2)."""

from __future__ import annotations

import re

import pytest

from conformance import wire
from conformance.errors import CaseError, WireError
from conformance.runner import SubchannelNames
from spec import actions as act
from spec import events as ev
from spec.errors import ModelError
from spec.monitors.boundary import BoundaryMonitor
from spec.monitors.tracker import SubchannelTracker
from spec.trace import Step
from spec.types import Endpoint


@pytest.mark.req("CONF-1")
def test_later_inputs_name_a_retargeted_subchannel_by_its_new_addresses() -> None:
    names = SubchannelNames()
    ident = names.create("java-sc-1", ("10.0.0.1:80", "10.0.0.2:80"), ("outputs", 0))
    names.apply(act.UpdateAddresses(ident, ("10.0.0.3:80",)))
    assert names.by_address("10.0.0.3:80", ("input", "subchannel")) == ident
    assert names.addresses_of(ident) == ("10.0.0.3:80",)
    with pytest.raises(CaseError, match=re.escape("no live subchannel has address '10.0.0.1:80'")):
        names.by_address("10.0.0.1:80", ("input", "subchannel"))


@pytest.mark.req("CONF-9")
def test_the_output_needs_a_subchannel_and_an_address() -> None:
    with pytest.raises(WireError, match="addresses"):
        wire.output_from_json({"type": "update_addresses", "subchannel": 1})
    with pytest.raises(ModelError, match="MODEL-3"):
        act.UpdateAddresses(1, ())


@pytest.mark.req("LB-1")
def test_retargeting_a_subchannel_never_created_is_lb1() -> None:
    monitor = BoundaryMonitor()
    step = Step(ev.ExitIdle(), (act.UpdateAddresses(1, ("10.0.0.1:80",)),))
    assert [v.requirement for v in monitor.observe(0, step)] == ["LB-1"]


@pytest.mark.req("LB-2")
def test_retargeting_a_shut_down_subchannel_is_lb2() -> None:
    monitor = BoundaryMonitor()
    update = ev.ResolverUpdate([Endpoint(["10.0.0.1:80"])])
    created = Step(update, (act.NewSubchannel(1, ("10.0.0.1:80",)), act.Shutdown(1)))
    assert monitor.observe(0, created) == []
    late = Step(ev.ExitIdle(), (act.UpdateAddresses(1, ("10.0.0.2:80",)),))
    assert [v.requirement for v in monitor.observe(1, late)] == ["LB-2"]


@pytest.mark.req("LB-1")
def test_the_trackers_view_follows_the_new_addresses() -> None:
    tracker = SubchannelTracker()
    tracker.apply_output(act.NewSubchannel(1, ("10.0.0.1:80",)))
    tracker.apply_output(act.UpdateAddresses(1, ("10.0.0.2:80", "10.0.0.3:80")))
    assert [view.ident for view in tracker.by_address("10.0.0.3:80")] == [1]
    assert tracker.by_address("10.0.0.1:80") == []
