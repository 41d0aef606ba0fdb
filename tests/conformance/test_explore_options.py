"""``conformance explore`` and the spec options explore itself must follow or own up to:

* ``subchannel.backoff_end`` (CONN-5, CONN-10): the alphabet's TRANSIENT_FAILURE edges
  are the ones the adapter's value allows, read from spec/connectivity.py, and the cases
  run in the profile that holds them;
* selection-only options no monitor models (``pick_first.variant``,
  ``round_robin.update_report``...): declared with another value than the default, they
  make some verdicts meaningless; explore says so in one line at the start and in the
  result, and judges everything else.

In-process only (the reference, planted bugs); each search takes seconds.
"""

from __future__ import annotations

import attrs
import pytest

from conformance import explore as explore_module
from conformance import protocol, wire
from conformance.adapters.inprocess import refimpl_transport
from conformance.adapters.refimpl import RefimplAdapter
from conformance.cases import case_from_json
from conformance.errors import CaseError
from conformance.explore import (
    MOVES,
    Bounds,
    Counterexample,
    Target,
    backoff_moves,
    backoff_profile,
    explore,
    not_meaningful,
    render,
    replay,
)
from conformance.planted import BUGS, BrokenAdapter, broken_transport
from conformance.results import Outcome
from conformance.runner import DEFAULT_STEP_TIMEOUT, AdapterSession, run_cases
from conformance.transport import InProcessTransport, Transport
from spec.connectivity import Profile, State

A1 = "10.0.0.1:80"
CONNECTING = (("subchannel.backoff_end", "connecting"),)
IF_REQUESTED = (("subchannel.backoff_end", "connecting_if_requested"),)
# pick_first on one address: the pass fails, the subchannel is in backoff.
_IN_BACKOFF: list[wire.JsonObject] = [
    {"type": "resolver_update", "endpoints": [[A1]]},
    {"type": "subchannel_state", "subchannel": A1, "state": "CONNECTING"},
    {
        "type": "subchannel_state",
        "subchannel": A1,
        "state": "TRANSIENT_FAILURE",
        "error": {"code": "UNAVAILABLE", "message": "connection refused"},
    },
]


def _moves_of_a1(inputs: tuple[wire.JsonObject, ...]) -> set[str]:
    return {
        str(i["state"]) for i in inputs if i["type"] == "subchannel_state" and i["subchannel"] == A1
    }


@pytest.mark.req("CONN-2", "CONN-3", "CONN-4", "CONN-5", "CONN-6", "CONN-7", "CONN-10")
def test_the_backoff_edges_follow_the_option_and_come_from_the_table() -> None:
    # The other edges: the current profile's, SHUTDOWN left to the policy.
    assert MOVES == {
        State.IDLE: (State.CONNECTING,),
        State.CONNECTING: (State.READY, State.TRANSIENT_FAILURE, State.IDLE),
        State.READY: (State.IDLE,),
    }
    assert backoff_moves("idle", False) == (State.IDLE,)
    assert backoff_moves("connecting", False) == (State.CONNECTING,)
    assert backoff_moves("connecting", True) == (State.CONNECTING,)
    # connecting_if_requested: CONNECTING after a request the trace shows; without one
    # both (an adapter need not report a Connect that CONN-11 makes a no-op).
    assert backoff_moves("connecting_if_requested", True) == (State.CONNECTING,)
    assert backoff_moves("connecting_if_requested", False) == (State.IDLE, State.CONNECTING)
    assert backoff_profile("idle") is Profile.CURRENT
    assert backoff_profile("connecting") is Profile.SEED
    assert backoff_profile("connecting_if_requested") is Profile.SEED


@pytest.mark.req("CONN-5", "CONN-10")
@pytest.mark.parametrize(
    ("asked", "offered"),
    [((), {"IDLE"}), (CONNECTING, {"CONNECTING"}), (IF_REQUESTED, {"IDLE", "CONNECTING"})],
)
def test_a_subchannel_in_backoff_is_offered_the_edges_of_the_adapters_value(
    asked: tuple[tuple[str, str], ...], offered: set[str]
) -> None:
    """The reference can follow every value per case (configurable); its pick_first asks
    for no connection during the backoff, so connecting_if_requested offers both."""
    bounds = explore(Bounds("pick_first", 1, 0, spec_options=asked), Target(), cover=False).bounds
    assert bounds.backoff_end == dict(asked).get("subchannel.backoff_end", "idle")
    session = AdapterSession(refimpl_transport, DEFAULT_STEP_TIMEOUT)
    try:
        visit = replay(session, bounds, _IN_BACKOFF, cover=False)
    finally:
        session.close()
    assert visit.failure is None
    assert _moves_of_a1(visit.next_inputs) == offered


@pytest.mark.req("CONN-10", "PF-16")
def test_the_seed_edge_finds_a_bug_behind_it_and_the_case_replays() -> None:
    """pf-no-sticky-tf reports CONNECTING when a subchannel retries after its backoff: with
    the seed edge offered explore finds it in 4 inputs (the retry itself), and the written
    case runs in the seed profile, failing the bug and passing the reference."""
    bug = Target(planted="pf-no-sticky-tf")
    result = explore(Bounds("pick_first", 1, 4, spec_options=CONNECTING), bug, cover=False)
    found = result.counterexample
    assert found is not None
    assert "PF-16" in found.requirements
    assert found.path[-1] == {"type": "subchannel_state", "subchannel": A1, "state": "CONNECTING"}
    data = found.to_case_json()
    assert data["channel"]["profile"] == "seed"
    case = case_from_json(data, "explore")
    on_bug, _ = run_cases([case], lambda: broken_transport("pf-no-sticky-tf"))
    on_reference, _ = run_cases([case], refimpl_transport)
    assert [r.outcome for r in on_bug] == [Outcome.FAIL]
    assert [r.outcome for r in on_reference] == [Outcome.PASS]
    assert "subchannel.backoff_end=connecting" in render(result.to_json())


@pytest.mark.req("CONN-5")
def test_the_default_value_keeps_the_current_profile() -> None:
    found = Counterexample("pick_first", False, tuple(_IN_BACKOFF), "x", ("PF-16",))
    assert "channel" not in found.to_case_json()
    clean = explore(Bounds("pick_first", 1, 2), Target(), cover=False)
    assert clean.bounds.profile is Profile.CURRENT
    assert clean.to_json()["bounds"]["backoff_end"] == "idle"


class _CurrentOnly(RefimplAdapter):
    """The reference declaring subchannel.backoff_end=connecting (not configurable) but
    only the current profile, which has no TRANSIENT_FAILURE -> CONNECTING."""

    def capabilities(self) -> protocol.Capabilities:
        caps = super().capabilities()
        options = dict(caps.spec_options) | {"subchannel.backoff_end": "connecting"}
        return attrs.evolve(
            caps,
            spec_options=tuple(sorted(options.items())),
            configurable_options=(),
            profiles=frozenset({Profile.CURRENT}),
        )


@attrs.frozen
class _CurrentOnlyTarget(Target):
    def connect(self) -> Transport:
        return InProcessTransport(_CurrentOnly().handle)


@pytest.mark.req("CONF-4")
def test_an_adapter_that_cannot_run_the_profile_of_its_backoff_is_refused() -> None:
    with pytest.raises(CaseError, match=r"backoff_end=connecting.*profile 'seed'"):
        explore(Bounds("pick_first", 1, 1), _CurrentOnlyTarget(), cover=False)


# --- Selection-only options no monitor models ---


class _OnChange(BrokenAdapter):
    """round_robin reporting after every child's report (planted rr-reports-per-child,
    RR-10), declaring grpc-java's round_robin.update_report=on_change (selection-only) and
    its round_robin.start_index=shared_counter (which explore follows: no warning)."""

    def __init__(self) -> None:
        super().__init__(BUGS["rr-reports-per-child"])

    def capabilities(self) -> protocol.Capabilities:
        caps = super().capabilities()
        options = dict(caps.spec_options) | {
            "round_robin.update_report": "on_change",
            "round_robin.start_index": "shared_counter",
        }
        return attrs.evolve(caps, spec_options=tuple(sorted(options.items())))


@attrs.frozen
class _OnChangeTarget(Target):
    def connect(self) -> Transport:
        return InProcessTransport(_OnChange().handle)


@pytest.mark.req("CONF-4", "RR-10", "PF-11")
def test_declared_unmodelled_options_are_named_at_the_start_and_in_the_result() -> None:
    said: list[str] = []
    result = explore(
        Bounds("round_robin", 2, 2),
        _OnChangeTarget(),
        keep_going=True,
        cover=False,
        notice=said.append,
    )
    assert len(said) == 1
    assert "round_robin.update_report=on_change (RR-10)" in said[0]
    assert "start_index" not in said[0]
    assert "not meaningful" in said[0]
    data = result.to_json()
    assert data["unmodelled_options"] == [
        {"option": "round_robin.update_report", "value": "on_change", "requirements": ["RR-10"]}
    ]
    assert "not meaningful: RR-10" in render(data)
    # Warned, not refused: the rest is judged and the classes stay marked.
    assert result.violations
    assert all(
        v.unmodelled == ("round_robin.update_report=on_change",)
        for v in result.violations
        if "RR-10" in v.counterexample.requirements
    )
    # Options bearing on no requirement the explored policy's monitors judge: silent.
    assert not_meaningful("round_robin", {"pick_first.variant": "legacy_single_subchannel"}) == ()
    assert not_meaningful("pick_first", {"pick_first.variant": "legacy_single_subchannel"}) == (
        ("pick_first.variant", "legacy_single_subchannel", ("PF-11",)),
    )
    # Options explore follows itself: silent.
    followed = {"subchannel.backoff_end": "connecting", "round_robin.start_index": "shared_counter"}
    assert not_meaningful("round_robin", followed) == ()
    assert not_meaningful("pick_first", followed) == ()


@pytest.mark.req("CONF-4")
def test_an_adapter_declaring_the_defaults_gets_no_warning() -> None:
    said: list[str] = []
    result = explore(Bounds("round_robin", 2, 2), Target(), cover=False, notice=said.append)
    assert said == []
    assert result.to_json()["unmodelled_options"] == []
    assert "not meaningful" not in render(result.to_json())
    assert explore_module.FOLLOWED_OPTIONS.keys() == {
        "subchannel.backoff_end",
        "round_robin.start_index",
    }
