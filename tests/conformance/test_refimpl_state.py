"""``explore --implementation-state``: the reference's own state in the key.

The spec's key merges paths the spec cannot tell apart; a bug that remembers what the
spec forgets is then tested along one of them only (docs/explore.md, "Not found with
the spec's key").  These tests hold the rendering's canonical forms, show that it keeps
apart exactly the paths each such planted bug remembers differently while the reference
still merges them, and that explore then finds the pick_first one.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import attrs
import pytest

from conformance.adapters.inprocess import refimpl_transport
from conformance.adapters.refimpl import RefimplAdapter
from conformance.adapters.refimpl_state import RefimplStateError, _Walk, renderer
from conformance.cases import load_cases
from conformance.explore import Bounds, Target, explore, load_result, wrr_other_config
from conformance.runner import AdapterSession, CaseRun
from conformance.transport import InProcessTransport
from refimpl.clock import Timer, VirtualClock
from refimpl.driver import FakeSubConn
from refimpl.weighted_round_robin import EndpointWeight
from spec.types import Address, Duration
from tests.conformance.test_explore_load import (
    A1,
    A2,
    CONNECT_BOTH,
    FAILING,
    LIGHT,
    WRR,
    WRR_READY,
    advance,
    keys,
    oob,
    update,
)

HIDDEN_WRR = attrs.evolve(WRR, implementation_state=True)
SECOND = 1_000_000_000


def walk(now: int = 0, cap: int | None = None) -> _Walk:
    return _Walk(now=now, cap=cap, subconn=lambda sc: {7: 1, 9: 2}.get(sc.ident, 0))


@pytest.mark.req("CONF-10")
def test_subconns_are_the_spec_keys_numbers_and_timers_the_time_left() -> None:
    clock = VirtualClock()
    clock.advance(Duration.of(seconds=5))
    timer = clock.call_later(Duration.of(seconds=2), lambda: None)
    sc = FakeSubConn.__new__(FakeSubConn)
    sc.ident = 9
    rendered = walk(now=clock.now().nanos).value([sc, timer])
    assert rendered[0] == ("subconn", 2)
    assert rendered[1][:2] == ("timer", 2 * SECOND)  # not the deadline, 7 s
    timer.cancel()
    assert walk(now=0).value(timer)[:2] == ("timer", None)


@pytest.mark.req("CONF-10", "WRR-8", "WRR-9")
def test_weight_times_are_ages_capped_at_the_horizon() -> None:
    weight = EndpointWeight.__new__(EndpointWeight)
    weight.__dict__.update(_last_updated=100 * SECOND, _non_empty_since=None, _weight=2.0)
    exact = walk(now=300 * SECOND).value(weight)
    capped = walk(now=300 * SECOND, cap=180 * SECOND).value(weight)
    assert ("_last_updated", 200 * SECOND) in exact
    assert ("_last_updated", 180 * SECOND) in capped
    assert ("_non_empty_since", None) in capped  # no run: not an age


@pytest.mark.req("CONF-10")
def test_values_are_rendered_by_value_and_mutable_objects_by_identity() -> None:
    address = Address("10.0.0.1:80")
    shared = walk().value([address, address])
    equal = walk().value([address, Address("10.0.0.1:80")])
    assert shared == equal  # one Address object or two equal ones: the same state
    box: list[int] = []
    assert walk().value([box, box]) != walk().value([box, []])  # aliasing is state


@pytest.mark.req("CONF-10")
def test_an_object_without_a_canonical_form_is_refused() -> None:
    """Rather than a rendering by address, which would make every state new."""
    with pytest.raises(RefimplStateError, match="no canonical form for a memoryview"):
        walk().value([memoryview(b"x")])
    assert walk().value(threading.Lock()) == ("token", "lock")


class _WallTimer(Timer):
    def __init__(self) -> None:
        self.deadline = 0  # on no virtual clock: not an age the key may hold

    def cancel(self) -> None:
        pass


@pytest.mark.req("CONF-10")
def test_a_timer_of_another_clock_is_refused() -> None:
    with pytest.raises(RefimplStateError, match="a _WallTimer is not virtual"):
        walk().value(_WallTimer())


class _Forwarding:
    """An in-process adapter that is not the reference: it only passes messages on."""

    def __init__(self) -> None:
        self.inner = RefimplAdapter()

    def handle(self, message: Any) -> Any:
        return self.inner.handle(message)


@pytest.mark.req("CONF-10")
@pytest.mark.parametrize(
    ("connect", "found"),
    [
        (refimpl_transport, True),
        (lambda: InProcessTransport(_Forwarding().handle), False),  # its state is not seen
    ],
)
def test_only_the_reference_in_process_has_a_renderer(connect: Any, found: bool) -> None:
    session = AdapterSession(connect, 5.0)
    run = CaseRun(load_cases()[0], session)
    assert renderer(run) is None  # nothing attached yet
    try:
        run.start()
        assert (renderer(run) is not None) == found
    finally:
        run.end_quietly()
        session.close()


@pytest.mark.req("CONF-10", "WRR-1", "WRR-5", "WRR-9")
@pytest.mark.parametrize(
    ("bug", "apart"),
    [
        (None, (False, False)),
        ("wrr-config-update-skips-kept-endpoints", (True, False)),
        ("wrr-expiry-keeps-blackout-run", (False, True)),
    ],
)
def test_the_key_keeps_apart_the_paths_a_bug_remembers_differently(
    bug: str | None, apart: tuple[bool, bool]
) -> None:
    """The two merges of test_wrr_key_merges_what_the_spec_forgets: the spec's key merges
    both on every implementation; with the implementation's state, the reference still
    merges both (it forgets what the spec forgets) and each bug keeps its own apart."""
    other = wrr_other_config({"enableOobLoadReport": True})  # errorUtilizationPenalty 0
    readded, direct = [update(other), *CONNECT_BOTH, WRR_READY[0]], WRR_READY
    reported = [*WRR_READY, oob(A1, LIGHT), oob(A2, FAILING)]
    renewed = [*reported, advance("181s"), oob(A1, LIGHT), oob(A2, FAILING)]
    spec = keys(WRR, readded, direct, renewed, reported, bug=bug)
    assert (spec[0] != spec[1], spec[2] != spec[3]) == (False, False)
    hidden = keys(HIDDEN_WRR, readded, direct, renewed, reported, bug=bug)
    assert (hidden[0] != hidden[1], hidden[2] != hidden[3]) == apart


def fail(addr: str) -> list[dict[str, Any]]:
    refused = {"code": "UNAVAILABLE", "message": "connection refused"}
    return [
        {"type": "subchannel_state", "subchannel": addr, "state": "CONNECTING"},
        {
            "type": "subchannel_state",
            "subchannel": addr,
            "state": "TRANSIENT_FAILURE",
            **{"error": refused},
        },
    ]


def idle(addr: str) -> dict[str, Any]:
    return {"type": "subchannel_state", "subchannel": addr, "state": "IDLE"}


PF_UPDATE = {"type": "resolver_update", "endpoints": [[A1], [A2]]}
PF_STICKY = "pf-sticky-count-survives-new-pass"


@pytest.mark.req("CONF-10", "PF-16")
@pytest.mark.parametrize("bug", [None, PF_STICKY])
def test_the_key_keeps_apart_a_failure_count_the_spec_resets(bug: str | None) -> None:
    """pf-sticky-count-survives-new-pass keeps the sticky failure count across an
    update's new pass.  Its case's first 9 inputs (a failed pass, a third failure, the
    update) reach the spec state of a 5-input path (a failed pass), which the search
    meets first and expands instead; with the implementation's state the reference
    still merges the two, and the bug keeps them apart."""
    case = next(c for c in load_cases() if c.id == "pf-sticky-failure-count-restarts-after-update")
    bounds = Bounds("pick_first", 2, 12, spec_options=case.spec_options)
    third_failure = [PF_UPDATE, *fail(A1), idle(A1), *fail(A2), *fail(A1), PF_UPDATE]
    failed_pass = [PF_UPDATE, *fail(A1), *fail(A2)]
    spec = keys(bounds, third_failure, failed_pass, bug=bug)
    assert spec[0] == spec[1]
    hidden = keys(
        attrs.evolve(bounds, implementation_state=True), third_failure, failed_pass, bug=bug
    )
    assert (hidden[0] != hidden[1]) == (bug is not None)
    if bug is not None:  # and from the state the bug keeps apart, 3 more inputs find it
        found = explore(
            attrs.evolve(bounds, depth=3, implementation_state=True),
            Target(planted=bug),
            cover=False,
            prefix=third_failure,
        )
        assert found.counterexample is not None
        assert len(found.counterexample.path) == 12
        assert "PF-16" in found.counterexample.requirements


@pytest.mark.req("CONF-10")
def test_a_result_names_the_implementation_state_only_when_it_is_in_the_key(
    tmp_path: Any,
) -> None:
    plain = explore(Bounds("pick_first", 2, 1), Target(), cover=False).to_json()
    hidden = explore(
        Bounds("pick_first", 2, 1, implementation_state=True), Target(), cover=False
    ).to_json()
    assert "implementation_state" not in plain["bounds"]  # results written before it load
    assert hidden["bounds"]["implementation_state"] is True
    for name, data in (("plain", plain), ("hidden", hidden)):
        (tmp_path / f"{name}.json").write_text(json.dumps(data))
        loaded = load_result(tmp_path / f"{name}.json")
        assert loaded["bounds"] == json.loads(json.dumps(data["bounds"]))
