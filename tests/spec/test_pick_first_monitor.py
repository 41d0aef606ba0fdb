"""The pick_first monitor catches each rule broken on its own, and accepts every legal choice.

Each planted bug is a subclass of the reference balancer (or, where the driver cannot
produce the situation, a hand-written trace) that breaks exactly one rule.  Every
scenario is first run on the correct reference implementation, where the monitor must
report nothing, so the single violation reported for the buggy run is the bug's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from itertools import permutations, product
from typing import Any

import attrs
import pytest

from refimpl.balancer import (
    BadResolverStateError,
    BalancerState,
    ClientConnState,
    Complete,
    DoneInfo,
    FailPicker,
    JsonValue,
    Picker,
    PickInfo,
    PickResult,
    QueuePicker,
    SubConnState,
    unavailable,
)
from refimpl.pick_first import (
    PickFirstBalancer,
    PickFirstBuilder,
    PickFirstConfig,
    _Entry,
    deduplicate,
    enable_health_listener,
    flatten,
    interleave_by_family,
)
from spec import actions as act
from spec import events as ev
from spec.catalogue.pick_first import REQUIREMENTS, ReresolutionMode
from spec.connectivity import State
from spec.monitors.pick_first import (
    ELSEWHERE,
    FIXED_OPTIONS,
    MAX_SHUFFLED_ENDPOINTS,
    OPEN,
    PASS_INPUTS,
    PASS_PHASES,
    PICKER_RULE,
    RULES,
    Fact,
    Input,
    MonitorLimitError,
    Phase,
    PickFirstMonitor,
    RuleTableError,
    When,
    find_rule,
)
from spec.options import (
    FamilyInterleaving,
    LostSubchannel,
    SelectedAddressRemoved,
    SubchannelCreation,
    option,
)
from spec.trace import Step, judge
from spec.types import Address, Duration, Endpoint, Status, StatusCode
from tests.refimpl.test_pick_first import (
    A1,
    A2,
    A3,
    A4,
    Run,
    connects,
    fails,
    make_run,
    ms,
    new,
    sc,
    update,
)

I, C, R, TF = State.IDLE, State.CONNECTING, State.READY, State.TRANSIENT_FAILURE
SPEC_TEXT, GRPC_GO = ReresolutionMode.SPEC_TEXT, ReresolutionMode.GRPC_GO
GRPC_JS = ReresolutionMode.GRPC_JS
KEPT, RELEASED = LostSubchannel.KEPT, LostSubchannel.RELEASED
V6 = "[2001:db8::1]:80"
Scenario = Callable[[Run], None]


def pf_ids(r: Run) -> list[str]:
    return [v.requirement for v in judge(r.monitor, r.trace)]


def builder_of(balancer: type[PickFirstBalancer], **kwargs: object) -> PickFirstBuilder:
    class Buggy(PickFirstBuilder):
        balancer_type = balancer

    return Buggy(**kwargs)  # type: ignore[arg-type]


def only(
    rule: str,
    scenario: Scenario,
    bug: type[PickFirstBalancer] | PickFirstBuilder,
    *,
    health: bool = False,
    health_checking: bool = False,
) -> None:
    """The scenario is clean on the reference, and breaks exactly ``rule`` with the bug."""
    good = make_run(health=health, health_checking=health_checking)
    scenario(good)
    assert pf_ids(good) == []
    builder = bug if isinstance(bug, PickFirstBuilder) else builder_of(bug)
    bad = make_run(builder=builder, health=health, health_checking=health_checking)
    scenario(bad)
    found = pf_ids(bad)
    assert found, "the monitor missed the planted bug"
    assert set(found) == {rule}, [str(v) for v in judge(bad.monitor, bad.trace)]


def just_update(*addrs: str) -> Scenario:
    def scenario(r: Run) -> None:
        r(update(*addrs))

    return scenario


def steps(*pairs: tuple[ev.Input, Sequence[act.Output]]) -> list[Step]:
    return [Step(i, o) for i, o in pairs]


def pf(trace: list[Step], **kwargs: object) -> list[str]:
    kwargs.setdefault("lost_subchannel", KEPT)  # refimpl's value: most traces here are its
    return [v.requirement for v in judge(lambda: PickFirstMonitor(**kwargs), trace)]  # type: ignore[arg-type]


# --- One planted bug per rule ---


@pytest.mark.req("PF-1")
def test_accepting_a_bad_config() -> None:
    class AcceptsAnyConfig(PickFirstBuilder):
        def parse_config(self, config: JsonValue) -> PickFirstConfig:
            return PickFirstConfig()

    def scenario(r: Run) -> None:
        r(update(A1, config={"shuffleAddressList": 666}))

    only("PF-1", scenario, AcceptsAnyConfig())


@pytest.mark.req("PF-2")
def test_accepting_an_empty_update() -> None:
    class AcceptsEmptyUpdate(PickFirstBalancer):
        def update_client_conn_state(self, state: ClientConnState) -> None:
            with contextlib.suppress(BadResolverStateError):
                super().update_client_conn_state(state)

    def scenario(r: Run) -> None:
        r(update(A1))
        r(update())

    only("PF-2", scenario, AcceptsEmptyUpdate)


@pytest.mark.req("PF-3")
def test_sticky_after_an_empty_update() -> None:
    class RemembersTheOldList(PickFirstBalancer):
        def update_client_conn_state(self, state: ClientConnState) -> None:
            kept = self._addresses
            try:
                super().update_client_conn_state(state)
            finally:
                if not state.resolver_state.endpoints:
                    self._addresses = kept

    def scenario(r: Run) -> None:
        r(update(A1))
        fails(r, 1)
        r(update())
        r(update(A2))

    only("PF-3", scenario, RemembersTheOldList)


class _ReversesEndpoints(PickFirstBalancer):
    def _address_list(
        self, endpoints: Sequence[Endpoint], config: PickFirstConfig
    ) -> list[Address]:
        return super()._address_list(list(reversed(endpoints)), config)


@pytest.mark.req("PF-4")
def test_endpoints_out_of_order() -> None:
    only("PF-4", just_update(A1, A2), _ReversesEndpoints)


@pytest.mark.req("PF-5")
def test_shuffling_inside_an_endpoint() -> None:
    class ShufflesAddressesToo(PickFirstBalancer):
        def _address_list(
            self, endpoints: Sequence[Endpoint], config: PickFirstConfig
        ) -> list[Address]:
            if config.shuffle_address_list:
                endpoints = [attrs.evolve(e, addresses=e.addresses[::-1]) for e in endpoints]
            return super()._address_list(endpoints, config)

    def scenario(r: Run) -> None:
        eps = (Endpoint([A1, A2]), Endpoint([A3, A4]))
        r(ev.ResolverUpdate(eps, config={"shuffleAddressList": True}))

    only("PF-5", scenario, ShufflesAddressesToo)


@pytest.mark.req("PF-6")
def test_two_subchannels_for_one_address() -> None:
    """Hand-written: the reference keys subchannels by address, so it cannot show this bug."""
    good = steps(
        (update(A1, A1, A2), [act.UpdateState(C), new(1, A1), act.Connect(1)]),
        (sc(1, C), []),
        (sc(1, TF), [new(2, A2), act.Connect(2)]),
    )
    bad = [*good[:2], Step(sc(1, TF), [new(2, A1), act.Connect(2)])]
    assert pf(good) == []
    assert pf(bad) == ["PF-6"]


@pytest.mark.req("PF-7")
def test_no_interleaving() -> None:
    class DoesNotInterleave(PickFirstBalancer):
        def _address_list(
            self, endpoints: Sequence[Endpoint], config: PickFirstConfig
        ) -> list[Address]:
            return deduplicate(flatten(endpoints))

    def scenario(r: Run) -> None:
        r(update(A1, A2, V6))
        fails(r, 1)

    only("PF-7", scenario, DoesNotInterleave)


@pytest.mark.req("PF-8")
def test_restarting_while_connected_to_a_listed_address() -> None:
    class RestartsWhenReady(PickFirstBalancer):
        def update_client_conn_state(self, state: ClientConnState) -> None:
            if self._reported is State.READY:
                for entry in list(self._entries.values()):
                    entry.sc.shutdown()
                self._entries.clear()
                self._addresses = ()
            super().update_client_conn_state(state)

    def scenario(r: Run) -> None:
        r(update(A1, A2))
        connects(r, 1)
        r(update(A2, A1))

    only("PF-8", scenario, RestartsWhenReady)


@pytest.mark.req("PF-9")
def test_keeping_an_unlisted_subchannel() -> None:
    class KeepsEverything(PickFirstBalancer):
        def _shut_down_unlisted(self) -> None:
            pass

    def scenario(r: Run) -> None:
        r(update(A1, A2))
        fails(r, 1)
        r(update(A2, A3))

    only("PF-9", scenario, KeepsEverything)


@pytest.mark.req("PF-10")
def test_an_update_in_idle_starts_connecting() -> None:
    class ConnectsOnUpdateInIdle(PickFirstBalancer):
        def update_client_conn_state(self, state: ClientConnState) -> None:
            super().update_client_conn_state(state)
            self.exit_idle()

    def scenario(r: Run) -> None:
        r(update(A1))
        connects(r, 1)
        r(sc(1, I))
        r(update(A2, A1))

    only("PF-10", scenario, ConnectsOnUpdateInIdle)


@pytest.mark.req("PF-11")
def test_eager_subchannel_creation() -> None:
    class CreatesAllAtOnce(PickFirstBalancer):
        def _start_pass(self) -> None:
            for address in self._addresses:
                self._entry_for(address)
            super()._start_pass()

    only("PF-11", just_update(A1, A2, A3), CreatesAllAtOnce)


@pytest.mark.req("PF-12")
def test_no_connection_attempt_delay_timer() -> None:
    class NoTimer(PickFirstBalancer):
        def _arm_timer(self) -> None:
            pass

    def scenario(r: Run) -> None:
        r(update(A1, A2))
        r(sc(1, C))
        r(ms(250))

    only("PF-12", scenario, NoTimer)


@pytest.mark.req("PF-13")
def test_waiting_for_the_timer_after_a_failure() -> None:
    class WaitsForTheTimer(PickFirstBalancer):
        def _on_state_in_first_pass(self, entry: _Entry, update: SubConnState) -> None:
            if update.state is State.TRANSIENT_FAILURE:
                self._end_first_pass_if_done(update.error)
            else:
                super()._on_state_in_first_pass(entry, update)

    def scenario(r: Run) -> None:
        r(update(A1, A2))
        fails(r, 1)

    only("PF-13", scenario, WaitsForTheTimer)


@pytest.mark.req("PF-14")
def test_transient_failure_before_the_pass_ends() -> None:
    class FailsEarly(PickFirstBalancer):
        def _on_state_in_first_pass(self, entry: _Entry, update: SubConnState) -> None:
            if update.state is State.TRANSIENT_FAILURE:
                self._report(State.TRANSIENT_FAILURE, FailPicker(unavailable(str(update.error))))
            super()._on_state_in_first_pass(entry, update)

    def scenario(r: Run) -> None:
        r(update(A1, A2))
        fails(r, 1)

    only("PF-14", scenario, FailsEarly)


@pytest.mark.req("PF-14")
def test_reconnecting_before_the_pass_ends() -> None:
    class ReconnectsEarly(PickFirstBalancer):
        def _on_state_in_first_pass(self, entry: _Entry, update: SubConnState) -> None:
            if update.state is State.IDLE:
                entry.sc.connect()
            super()._on_state_in_first_pass(entry, update)

    def scenario(r: Run) -> None:
        r(update(A1, A2))
        fails(r, 1)
        r(sc(1, I))

    only("PF-14", scenario, ReconnectsEarly)


def _tf_picker_scenario(r: Run) -> None:
    r(update(A1, A2))
    fails(r, 1)
    r(sc(1, I))
    fails(r, 2)
    r.pick()


@pytest.mark.req("PF-15")
def test_no_reconnect_when_the_first_pass_ends() -> None:
    class ForgetsIdleSubchannels(PickFirstBalancer):
        def _end_first_pass_if_done(self, error: Status | None) -> None:
            if self._cursor < len(self._addresses):
                return
            if all(entry.failed_this_pass for entry in self._entries.values()):
                self._first_pass = False
                self._report_connection_failure(error)

    only("PF-15", _tf_picker_scenario, ForgetsIdleSubchannels)


@pytest.mark.req("PF-15")
def test_a_transient_failure_picker_without_the_error() -> None:
    class VagueErrors(PickFirstBalancer):
        def _report_connection_failure(self, error: Status | None) -> None:
            super()._report_connection_failure(Status("UNAVAILABLE", "all addresses failed"))

    only("PF-15", _tf_picker_scenario, VagueErrors)


@pytest.mark.req("PF-16")
def test_connecting_while_sticky() -> None:
    class NotSticky(PickFirstBalancer):
        def _on_state_while_sticky(self, entry: _Entry, update: SubConnState) -> None:
            if update.state is State.CONNECTING:
                self._report(State.CONNECTING, QueuePicker())
            super()._on_state_while_sticky(entry, update)

    def scenario(r: Run) -> None:
        r(update(A1))
        fails(r, 1)
        r(sc(1, I))
        r(sc(1, C))

    only("PF-16", scenario, NotSticky)


@pytest.mark.req("PF-16")
def test_reporting_every_failure_while_sticky() -> None:
    class ReportsEachFailure(PickFirstBalancer):
        def _on_state_while_sticky(self, entry: _Entry, update: SubConnState) -> None:
            if update.state is State.TRANSIENT_FAILURE:
                self._report(State.TRANSIENT_FAILURE, FailPicker(unavailable(str(update.error))))
            else:
                super()._on_state_while_sticky(entry, update)

    def scenario(r: Run) -> None:
        r(update(A1, A2))
        fails(r, 1)
        fails(r, 2)
        r(sc(1, I))
        fails(r, 1)

    only("PF-16", scenario, ReportsEachFailure)


@pytest.mark.req("PF-19")
def test_keeping_the_losers_of_the_race() -> None:
    class KeepsTheOthers(PickFirstBalancer):
        def _shut_down_all_but(self, kept: _Entry) -> None:
            if kept.raw is not State.READY:
                super()._shut_down_all_but(kept)

    def scenario(r: Run) -> None:
        r(update(A1, A2))
        r(sc(1, C))
        r(ms(250))
        connects(r, 2)

    only("PF-19", scenario, KeepsTheOthers)


@pytest.mark.req("PF-20")
def test_reconnecting_at_once_after_losing_the_connection() -> None:
    class ReconnectsAtOnce(PickFirstBalancer):
        def _lose(self, lost: _Entry) -> None:
            self._cancel_timer()
            self._shut_down_all_but(lost)
            self._cursor = 0
            self._report(State.CONNECTING, QueuePicker())
            self._request_reresolution()
            self._start_pass()

    def scenario(r: Run) -> None:
        r(update(A1))
        connects(r, 1)
        r(sc(1, I))

    only("PF-20", scenario, ReconnectsAtOnce)


@pytest.mark.req("PF-20")
def test_an_idle_picker_that_never_wakes_the_policy() -> None:
    class SleepyIdlePicker(PickFirstBalancer):
        def _report(self, state: State, picker: Picker) -> None:
            super()._report(state, QueuePicker() if state is State.IDLE else picker)

    def scenario(r: Run) -> None:
        r(update(A1))
        connects(r, 1)
        r(sc(1, I))
        r.pick()

    only("PF-20", scenario, SleepyIdlePicker)


@pytest.mark.req("PF-21")
def test_exit_idle_outside_idle() -> None:
    class AlwaysExitsIdle(PickFirstBalancer):
        def exit_idle(self) -> None:
            self._report(State.CONNECTING, QueuePicker())
            self._start_pass()

    def scenario(r: Run) -> None:
        r(update(A1))
        connects(r, 1)
        r(ev.ExitIdle())

    only("PF-21", scenario, AlwaysExitsIdle)


@pytest.mark.req("PF-22")
def test_resolver_error_overriding_a_good_list() -> None:
    class AlwaysFailsOnResolverError(PickFirstBalancer):
        def resolver_error(self, error: Status) -> None:
            self._report(State.TRANSIENT_FAILURE, FailPicker(unavailable(error.message)))

    def scenario(r: Run) -> None:
        r(update(A1))
        r(ev.ResolverError("error from name resolver"))

    only("PF-22", scenario, AlwaysFailsOnResolverError)


@pytest.mark.req("PF-23")
def test_close_leaking_subchannels() -> None:
    class LeaksOnClose(PickFirstBalancer):
        def close(self) -> None:
            self._cancel_timer()
            self._closed = True

    def scenario(r: Run) -> None:
        r(update(A1, A2))
        r(ev.Close())

    only("PF-23", scenario, LeaksOnClose)


@pytest.mark.req("PF-24")
def test_repeated_reports() -> None:
    class RepeatsItself(PickFirstBalancer):
        def _report(self, state: State, picker: Picker) -> None:
            self._reported = state
            self._cc.update_state(BalancerState(state, picker))

    def scenario(r: Run) -> None:
        r(update(A1))
        r(sc(1, C))

    only("PF-24", scenario, RepeatsItself)


@pytest.mark.req("PF-25")
def test_acting_on_a_shut_down_subchannel() -> None:
    """Hand-written: only a real channel can deliver a notification that raced with Shutdown."""
    good = steps(
        (update(A1, A2), [act.UpdateState(C), new(1, A1), act.Connect(1)]),
        (sc(1, C), []),
        (sc(1, TF), [new(2, A2), act.Connect(2)]),
        (sc(2, C), []),
        (sc(2, R), [act.Shutdown(1), act.UpdateState(R)]),
        (sc(1, I), []),
    )
    bad = [*good[:-1], Step(sc(1, I), [act.UpdateState(I)])]
    assert pf(good) == []
    assert pf(bad) == ["PF-25"]


@pytest.mark.req("PF-26")
def test_a_top_level_policy_watching_health() -> None:
    class WatchesHealth(PickFirstBalancer):
        def update_client_conn_state(self, state: ClientConnState) -> None:
            resolver_state = enable_health_listener(state.resolver_state)
            super().update_client_conn_state(attrs.evolve(state, resolver_state=resolver_state))

    only("PF-26", just_update(A1), WatchesHealth)


@pytest.mark.req("PF-26")
def test_a_leaf_ignoring_its_parent() -> None:
    class IgnoresTheAttribute(PickFirstBalancer):
        def update_client_conn_state(self, state: ClientConnState) -> None:
            resolver_state = attrs.evolve(state.resolver_state, attributes=())
            super().update_client_conn_state(attrs.evolve(state, resolver_state=resolver_state))

    from tests.refimpl.test_pick_first import HealthLeafBuilder

    class Leaf(HealthLeafBuilder):
        balancer_type = IgnoresTheAttribute

    only("PF-26", just_update(A1), Leaf(), health=True)


@pytest.mark.req("PF-27")
def test_ignoring_a_health_failure() -> None:
    class IgnoresUnhealthy(PickFirstBalancer):
        def _on_health(self, entry: _Entry, health: SubConnState) -> None:
            if health.state is not State.TRANSIENT_FAILURE:
                super()._on_health(entry, health)

    from tests.refimpl.test_pick_first import HealthLeafBuilder

    class Leaf(HealthLeafBuilder):
        balancer_type = IgnoresUnhealthy

    def scenario(r: Run) -> None:
        r(update(A1))
        connects(r, 1)
        r(ev.HealthStateChange(1, R))
        r(ev.HealthStateChange(1, TF, Status("UNAVAILABLE", "unhealthy")))

    only("PF-27", scenario, Leaf(), health=True, health_checking=True)


@pytest.mark.req("PF-28")
def test_forgetting_to_re_resolve() -> None:
    class NeverReresolves(PickFirstBalancer):
        def _request_reresolution(self, *, lost_connection: bool = False) -> None:
            pass

    def scenario(r: Run) -> None:
        r(update(A1))
        fails(r, 1)

    only("PF-28", scenario, NeverReresolves)


@pytest.mark.req("PF-28")
@pytest.mark.parametrize(("policy", "judge_as"), [(SPEC_TEXT, GRPC_GO), (GRPC_GO, SPEC_TEXT)])
def test_the_other_reresolution_mode_is_a_violation(
    policy: ReresolutionMode, judge_as: ReresolutionMode
) -> None:
    r = make_run(reresolution=policy)
    r(update(A1))
    fails(r, 1)
    connects_again = [sc(1, I), sc(1, C), sc(1, R), sc(1, I)]
    for event in connects_again:
        r(event)
    assert pf(r.trace, reresolution=policy) == []
    assert pf(r.trace, reresolution=judge_as) == ["PF-28", "PF-28"]


@pytest.mark.req("PF-29")
def test_reacting_to_an_rpc_completion() -> None:
    class DonePicker(Picker):
        def __init__(self, chosen: _Entry, done: Callable[[DoneInfo], None]) -> None:
            self.chosen, self.done = chosen, done

        def pick(self, info: PickInfo) -> PickResult:
            return Complete(self.chosen.sc, done=self.done)

    class ReportsOnDone(PickFirstBalancer):
        def _choose(self, chosen: _Entry) -> None:
            self._cancel_timer()
            self._shut_down_all_but(chosen)
            self._report(State.READY, DonePicker(chosen, self._done))

        def _done(self, info: DoneInfo) -> None:
            self._report(State.IDLE, QueuePicker())

    def scenario(r: Run) -> None:
        r(update(A1))
        connects(r, 1)
        r.pick()
        r(ev.Done(1))

    only("PF-29", scenario, ReportsOnDone)


# --- Legal nondeterminism is accepted ---


def _pass_trace(listing: ev.ResolverUpdate, order: Sequence[str]) -> list[Step]:
    """A pass that creates subchannels in ``order``, each failing before the next starts."""
    trace = [Step(listing, [act.UpdateState(C), new(1, order[0]), act.Connect(1)])]
    for ident, addr in enumerate(order[1:], start=2):
        trace += [
            Step(sc(ident - 1, C)),
            Step(sc(ident - 1, TF), [new(ident, addr), act.Connect(ident)]),
        ]
    last = len(order)
    trace += [
        Step(sc(last, C)),
        Step(sc(last, TF), [act.UpdateState(TF), act.RequestReresolution()]),
    ]
    return trace


@pytest.mark.req("PF-5")
@pytest.mark.parametrize("weights", [(None, None, None), (1, 5, 100)])
def test_every_shuffled_order_is_accepted(weights: tuple[int | None, ...]) -> None:
    eps = [Endpoint([a], weight=w) for a, w in zip((A1, A2, A3), weights, strict=True)]
    listing = ev.ResolverUpdate(eps, config={"shuffleAddressList": True})
    for order in permutations((A1, A2, A3)):
        assert pf(_pass_trace(listing, order)) == []
    unshuffled = ev.ResolverUpdate(eps)
    assert pf(_pass_trace(unshuffled, (A1, A2, A3))) == []
    assert set(pf(_pass_trace(unshuffled, (A2, A1, A3)))) == {"PF-4"}


@pytest.mark.req("PF-5", "PF-7")
def test_shuffling_still_interleaves_families() -> None:
    listing = ev.ResolverUpdate(
        [Endpoint([A1]), Endpoint([A2]), Endpoint([V6])], config={"shuffleAddressList": True}
    )
    legal = {(A1, V6, A2), (A2, V6, A1), (V6, A1, A2), (V6, A2, A1)}
    for order in permutations((A1, A2, V6)):
        assert set(pf(_pass_trace(listing, order))) == (set() if order in legal else {"PF-7"})


@pytest.mark.req("PF-5")
def test_worlds_narrow_as_the_trace_reveals_the_order() -> None:
    listing = ev.ResolverUpdate(
        [Endpoint([A1]), Endpoint([A2]), Endpoint([A3])], config={"shuffleAddressList": True}
    )
    trace = _pass_trace(listing, (A2, A3, A1))
    monitor = PickFirstMonitor()
    counts = []
    for index, step in enumerate(trace):
        assert monitor.observe(index, step) == []
        counts.append(monitor.worlds)
    assert counts[0] == 2  # A2 first leaves two orders
    assert counts[-1] == 1


@pytest.mark.req("PF-5")
def test_too_many_shuffled_endpoints_is_a_typed_error() -> None:
    many = [Endpoint([f"10.0.1.{i}:80"]) for i in range(MAX_SHUFFLED_ENDPOINTS + 1)]
    monitor = PickFirstMonitor()
    with pytest.raises(MonitorLimitError, match="at most 8"):
        monitor.observe(0, Step(ev.ResolverUpdate(many, config={"shuffleAddressList": True})))


@pytest.mark.req("PF-12", "PF-19")
def test_parallel_attempts_driven_by_the_timer_are_accepted() -> None:
    """Three attempts in flight; the first one wins."""
    trace = steps(
        (update(A1, A2, A3), [act.UpdateState(C), new(1, A1), act.Connect(1)]),
        (sc(1, C), []),
        (ms(600), [new(2, A2), act.Connect(2), new(3, A3), act.Connect(3)]),
        (sc(3, C), []),
        (sc(1, R), [act.Shutdown(2), act.Shutdown(3), act.UpdateState(R)]),
    )
    assert pf(trace) == []
    early = [*trace[:2], Step(ms(249), [new(2, A2), act.Connect(2)])]
    assert set(pf(early)) == {"PF-12"}


@pytest.mark.req("PF-17", "PF-16")
def test_grpc_go_connecting_in_a_restarted_sticky_pass_is_accepted() -> None:
    base = steps(
        (update(A1), [act.UpdateState(C), new(1, A1), act.Connect(1)]),
        (sc(1, C), []),
        (sc(1, TF), [act.UpdateState(TF), act.RequestReresolution()]),
        (update(A2, A1), [new(2, A2), act.Connect(2)]),
    )
    assert pf([*base, Step(sc(2, C), [])]) == []  # this reference: stays in TF
    assert pf([*base, Step(sc(2, C), [act.UpdateState(C)])]) == []  # grpc-go
    # A subchannel that failed before does not get that leeway.
    failed_again = [*base, Step(sc(1, I)), Step(sc(1, C), [act.UpdateState(C)])]
    assert pf(failed_again) == ["PF-16"]


@pytest.mark.req("PF-18", "PF-24")
def test_grpc_go_repeating_connecting_on_an_update_is_accepted() -> None:
    base = steps(
        (update(A1, A2), [act.UpdateState(C), new(1, A1), act.Connect(1)]),
    )
    refimpl_way = Step(update(A2, A1), [new(2, A2), act.Connect(2)])
    grpc_go_way = Step(update(A2, A1), [act.UpdateState(C), new(2, A2), act.Connect(2)])
    assert pf([*base, refimpl_way]) == []
    assert pf([*base, grpc_go_way]) == []
    # Elsewhere a repeated CONNECTING is still a violation.
    assert pf([*base, Step(sc(1, C), [act.UpdateState(C)])]) == ["PF-24"]


def test_monitor_options_are_checked() -> None:
    with pytest.raises(TypeError, match="ReresolutionMode"):
        PickFirstMonitor("spec_text")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="SubchannelCreation"):
        PickFirstMonitor(subchannel_creation="eager")  # type: ignore[arg-type]


# --- PF-11's option: when subchannels are created ---

EAGER, LAZY = SubchannelCreation.EAGER, SubchannelCreation.LAZY
BOTH = pytest.mark.parametrize("creation", list(SubchannelCreation))
FAILED = Status(StatusCode.UNAVAILABLE, "test error: connection refused")


def _first_pass(created_up_front: bool, *, connect_two: bool = False) -> list[Step]:
    """A1 fails, A2 wins; the list's subchannels created up front or as the pass goes."""
    up_front = [new(2, A2), new(3, A3)] if created_up_front else []
    extra_connect = [act.Connect(2)] if connect_two else []
    return steps(
        (
            update(A1, A2, A3),
            [act.UpdateState(C), new(1, A1), *up_front, act.Connect(1), *extra_connect],
        ),
        (sc(1, C), []),
        (sc(1, TF, FAILED), [act.Connect(2)] if created_up_front else [new(2, A2), act.Connect(2)]),
        (
            sc(2, R),
            [act.Shutdown(1), act.Shutdown(3), act.UpdateState(R)]
            if created_up_front
            else [act.Shutdown(1), act.UpdateState(R)],
        ),
    )


@pytest.mark.req("PF-11")
@BOTH
def test_a_lazy_pass_is_accepted_under_either_option(creation: SubchannelCreation) -> None:
    assert pf(_first_pass(created_up_front=False), subchannel_creation=creation) == []


@pytest.mark.req("PF-11")
def test_creating_the_whole_list_up_front_is_legal_only_under_eager() -> None:
    trace = _first_pass(created_up_front=True)
    assert pf(trace, subchannel_creation=EAGER) == []
    assert set(pf(trace, subchannel_creation=LAZY)) == {"PF-11"}
    assert pf(trace) == []  # EAGER is the default: the text's "list of subchannels"


@pytest.mark.req("PF-11", "PF-10")
@BOTH
def test_eager_creation_still_connects_one_address_at_a_time(
    creation: SubchannelCreation,
) -> None:
    trace = _first_pass(created_up_front=True, connect_two=True)
    found = pf(trace[:1], subchannel_creation=creation)
    assert "PF-10" in found  # the second Connect, whichever way subchannels were created
    assert set(found) <= {"PF-10", "PF-11"}


@pytest.mark.req("PF-11", "PF-12")
def test_eager_subchannels_still_wait_for_the_timer() -> None:
    early = steps(
        (update(A1, A2), [act.UpdateState(C), new(1, A1), new(2, A2), act.Connect(1)]),
        (ms(249), [act.Connect(2)]),
    )
    assert pf(early, subchannel_creation=EAGER) == ["PF-12"]
    on_time = [early[0], Step(ms(250), [act.Connect(2)])]
    assert pf(on_time, subchannel_creation=EAGER) == []


@pytest.mark.req("PF-11", "PF-21")
def test_leaving_idle_may_create_the_whole_list_again_under_eager() -> None:
    trace = steps(
        (update(A1, A2), [act.UpdateState(C), new(1, A1), act.Connect(1)]),
        (sc(1, C), []),
        (sc(1, R), [act.UpdateState(R)]),
        (sc(1, I), [act.UpdateState(I), act.RequestReresolution()]),
        (ev.ExitIdle(), [act.UpdateState(C), new(2, A2), act.Connect(1)]),
    )
    assert pf(trace, subchannel_creation=EAGER) == []
    assert pf(trace, subchannel_creation=LAZY) == ["PF-11"]
    assert pf([*trace[:4], Step(ev.ExitIdle(), [act.UpdateState(C), act.Connect(1)])]) == []


@pytest.mark.req("PF-11", "PF-8")
def test_an_update_keeping_the_ready_address_may_create_and_drop_the_rest_under_eager() -> None:
    base = steps(
        (update(A1, A2), [act.UpdateState(C), new(1, A1), act.Connect(1)]),
        (sc(1, C), []),
        (sc(1, R), [act.UpdateState(R)]),
    )
    churn = Step(update(A1, A2), [new(2, A2), act.Shutdown(2)])
    assert pf([*base, churn], subchannel_creation=EAGER) == []
    assert "PF-8" in pf([*base, churn], subchannel_creation=LAZY)
    kept = Step(update(A1, A2), [new(2, A2)])  # created and kept: neither option allows it
    assert pf([*base, kept], subchannel_creation=EAGER) != []


@pytest.mark.req("PF-12")
def test_the_monitor_follows_a_configured_delay() -> None:
    trace = steps(
        (update(A1, A2), [act.UpdateState(C), new(1, A1), act.Connect(1)]),
        (ms(999), []),
        (ms(1), [new(2, A2), act.Connect(2)]),
    )
    assert pf(trace, attempt_delay=Duration.of(seconds=1)) == []
    assert set(pf(trace)) == {"PF-12"}


def test_interleave_helper_matches_the_monitor() -> None:
    """Sanity: the reference's list and the monitor's agree on a mixed list (no shuffle)."""
    from spec.monitors.pick_first import address_list

    eps = [Endpoint([A1, V6]), Endpoint([A2]), Endpoint(["host.example:1"])]
    reference = tuple(interleave_by_family(deduplicate(flatten(eps))))
    # refimpl interleaves three families (its adapter declares three_families).
    assert address_list(eps, FamilyInterleaving.THREE_FAMILIES) == reference
    # pick_first.family_interleaving=two_families: the host name goes with IPv4.
    two = [a.addr for a in address_list(eps)]
    assert two == [A1, V6, A2, "host.example:1"] != [a.addr for a in reference]


@pytest.mark.req("PF-10")
def test_removing_the_selected_address_follows_the_option() -> None:
    """pick_first.selected_address_removed: IDLE (spec text) or a new pass (grpc-go)."""
    start: list[tuple[ev.Input, Sequence[act.Output]]] = [
        (update(A1), [act.UpdateState(C), new(1, A1), act.Connect(1)]),
        (sc(1, C), []),
        (sc(1, R), [act.UpdateState(R)]),
    ]
    idle = steps(*start, (update(A2), [act.Shutdown(1), act.UpdateState(I)]))
    again = steps(
        *start, (update(A2), [act.Shutdown(1), act.UpdateState(C), new(2, A2), act.Connect(2)])
    )
    goes_idle, reconnects = SelectedAddressRemoved.GOES_IDLE, SelectedAddressRemoved.RECONNECTS
    assert pf(idle, selected_address_removed=goes_idle) == []
    assert pf(again, selected_address_removed=reconnects) == []
    assert "PF-10" in pf(again, selected_address_removed=goes_idle)
    assert pf(idle, selected_address_removed=reconnects) != []
    assert pf(idle) == []  # the default is the spec text's


@pytest.mark.req("PF-20")
def test_the_lost_subchannel_follows_the_option() -> None:
    """pick_first.lost_subchannel: shut the lost subchannel down (text) or keep it."""
    start: list[tuple[ev.Input, Sequence[act.Output]]] = [
        (update(A1), [act.UpdateState(C), new(1, A1), act.Connect(1)]),
        (sc(1, C), []),
        (sc(1, R), [act.UpdateState(R)]),
    ]
    released = steps(
        *start,
        (sc(1, I), [act.UpdateState(I), act.Shutdown(1), act.RequestReresolution()]),
        # ExitIdle must create the subchannel again: there is none left to connect.
        (ev.ExitIdle(), [act.UpdateState(C), new(2, A1), act.Connect(2)]),
    )
    kept = steps(
        *start,
        (sc(1, I), [act.UpdateState(I), act.RequestReresolution()]),
        (ev.ExitIdle(), [act.UpdateState(C), act.Connect(1)]),
    )
    assert pf(released, lost_subchannel=RELEASED) == []
    assert pf(kept, lost_subchannel=KEPT) == []
    assert pf(released, lost_subchannel=KEPT) == ["PF-9"]  # an unexpected shutdown
    # the missing shutdown (PF-20), then ExitIdle connecting a subchannel that should be gone
    found = pf(kept, lost_subchannel=RELEASED)
    assert found[0] == "PF-20"
    assert set(found) == {"PF-20", "PF-21"}
    assert [v.requirement for v in judge(PickFirstMonitor, released)] == []  # the text's


@pytest.mark.req("PF-28")
def test_grpc_js_reresolution_asks_after_failures_but_not_on_a_lost_connection() -> None:
    """pick_first.reresolution=grpc_js: a request with the failed pass, none on the loss."""
    r = make_run(reresolution=GRPC_JS)
    r(update(A1))
    fails(r, 1)  # the pass failed: TRANSIENT_FAILURE and one request
    r(sc(1, I))
    connects(r, 1)
    r(sc(1, I))  # lost: IDLE and no request
    asked = [sum(isinstance(o, act.RequestReresolution) for o in s.outputs) for s in r.trace]
    assert sum(asked) == 1
    assert pf(r.trace, reresolution=GRPC_JS) == []
    assert pf(r.trace, reresolution=SPEC_TEXT) == ["PF-28"]  # missing on the loss
    assert pf(r.trace, reresolution=GRPC_GO) == ["PF-28"]  # one too many after the pass
    text = make_run(reresolution=SPEC_TEXT)
    for event in [e.input for e in r.trace]:
        text(event)
    assert pf(text.trace, reresolution=GRPC_JS) == ["PF-28"]  # one too many on the loss


# --- The rule table (issue 17): one declarative table, checked against the catalogue ---

_MONITOR_PARAMETERS = ("health_listener", "client_health_checking")


def _conditions() -> list[When]:
    rows = [w for rule in RULES for w in rule.when]
    effects = [w for rule in RULES for e in rule.effects for w in e.when]
    return [w for w in dict.fromkeys([*rows, *effects]) if w.key != "fact"]


def _value_choices() -> dict[str, tuple[str, ...]]:
    """Every value each condition key can take: a spec option's values, or a flag's."""
    choices: dict[str, tuple[str, ...]] = {}
    for when in _conditions():
        if when.key in FIXED_OPTIONS:
            choices[when.key] = (FIXED_OPTIONS[when.key],)
        elif when.key in _MONITOR_PARAMETERS:
            choices[when.key] = ("true", "false")
        else:
            choices[when.key] = option(when.key).values
    return choices


@pytest.mark.req("PF-10", "PF-16", "PF-20", "PF-22")
def test_every_phase_and_input_has_a_row_under_every_option_value() -> None:
    choices = _value_choices()
    assert {"pick_first.lost_subchannel", "pick_first.selected_address_removed"} <= set(choices)
    keys = sorted(choices)
    combos = list(product(*(choices[k] for k in keys)))
    facts = list(product((True, False), repeat=len(Fact)))
    looked_up = 0
    for phase in OPEN:
        for kind in Input:
            if kind in PASS_INPUTS and phase not in PASS_PHASES:
                continue  # judged by the pass's rows (PASS_INPUTS)
            if kind is Input.UPDATE_KEEPING_SELECTED and phase is not Phase.READY:
                continue  # only READY has a READY subchannel whose address may stay listed
            for combo in combos:
                values = dict(zip(keys, combo, strict=True))
                for truth in facts:
                    facts_held = dict(zip(Fact, truth, strict=True))

                    def holds(
                        w: When, values: dict[str, str] = values, f: Any = facts_held
                    ) -> bool:
                        return f[Fact[w.value]] if w.key == "fact" else values[w.key] == w.value

                    assert find_rule(phase, kind, holds).input is kind
                    looked_up += 1
    assert looked_up > 1000


def test_a_missing_row_is_a_typed_error() -> None:
    with pytest.raises(RuleTableError, match="no row for EXIT_IDLE in IDLE"):
        find_rule(Phase.IDLE, Input.EXIT_IDLE, lambda w: False)


@pytest.mark.req("PF-28", "PF-20", "PF-10")
def test_rows_cite_the_catalogue_and_name_real_option_values() -> None:
    ids = {r.id for r in REQUIREMENTS}
    for rule in RULES:
        assert rule.requirements or rule.blame == PICKER_RULE, rule  # a pick: its picker's
        assert set(rule.requirements) <= ids, rule
        assert rule.phases <= OPEN
    for when in _conditions():
        if when.key not in _MONITOR_PARAMETERS:
            assert when.value in option(when.key).values, when
    # Every requirement is judged: by a row, or where ELSEWHERE says.
    cited = {i for rule in RULES for i in rule.requirements}
    assert cited | set(ELSEWHERE) == ids
    assert not cited & set(ELSEWHERE)


def _phase_walk(r: Run) -> None:
    """Every phase: no list, a failing pass, sticky, a restarted pass, READY, IDLE."""
    r(ev.ResolverError("error from name resolver"))  # NO_LIST -> NO_ADDRESSES
    r(update(A1, A2))  # -> CONNECTING
    r(sc(1, C))
    r(ms(250))
    fails(r, 2)
    r(sc(1, TF, FAILED))  # -> STICKY
    r(sc(1, I))
    r(update(A2, A3))  # -> STICKY_PASS
    r(sc(3, C))
    r(sc(3, R))  # -> READY
    r.pick()
    r(update(A3, A1))  # keeps the selected address
    r(sc(3, I))  # -> IDLE
    r.pick()  # the IDLE picker leaves IDLE
    r(update())  # -> NO_ADDRESSES
    r(ev.Close())


@pytest.mark.req("PF-3", "PF-10", "PF-15", "PF-16", "PF-19", "PF-20", "PF-21")
@pytest.mark.parametrize("removed", list(SelectedAddressRemoved))
def test_the_next_column_holds_on_the_reference(removed: SelectedAddressRemoved) -> None:
    r = make_run(selected_address_removed=removed)
    _phase_walk(r)
    monitor = r.monitor()
    monitor.record_phases = True
    for index, step in enumerate(r.trace):
        assert monitor.observe(index, step) == []
    visited = set()
    for rule, before, after in monitor.followed:
        assert after in rule.next or (rule.stays and after is before), (rule, before, after)
        visited |= {before, after}
    assert visited == set(Phase)  # the walk reached every phase, so the check is not vacuous


@pytest.mark.req("PF-10", "PF-20")
def test_the_generated_page_shows_every_row_and_requirement() -> None:
    from spec.docs import render_all

    page = render_all()["pick_first_rules.md"]
    for number, rule in enumerate(RULES, start=1):
        assert f"| {number} | " in page
        assert f"| {rule.input.name} |" in page
    for requirement in REQUIREMENTS:
        assert f"| {requirement.id} | {requirement.level.name} |" in page
    assert "pick_first.lost_subchannel=released" in page  # option-dependent rows name it


# --- A Connect repeated while an earlier one is outstanding (CONN-11) ---


def _without_connects(trace: list[Step], index: int) -> list[Step]:
    """The trace with step ``index``'s Connect outputs left out."""
    step = trace[index]
    kept = tuple(o for o in step.outputs if not isinstance(o, act.Connect))
    return [*trace[:index], Step(step.input, kept), *trace[index + 1 :]]


@pytest.mark.req("PF-10")
def test_a_repeated_connect_on_a_subchannel_still_leaving_idle_may_be_left_out() -> None:
    # The reference asks A1 again when the second update starts a new pass; A1 has not
    # moved since the first Connect, so in real time the repeat would meet it CONNECTING
    # and do nothing (CONN-11): an implementation (grpc-js's adapter, which reports one
    # connect per IDLE period) may leave it out.
    r = make_run()
    r(update(A1, A2))
    r(update(A1, A2))
    repeated = [o for o in r.trace[1].outputs if isinstance(o, act.Connect)]
    assert repeated, "the reference no longer repeats the Connect: the test checks nothing"
    assert pf(r.trace) == []
    assert pf(_without_connects(r.trace, 1)) == []


@pytest.mark.req("PF-10")
def test_a_connect_never_asked_is_still_required() -> None:
    # Leaving out the first Connect is a violation; the repeat does not stand in for it
    # once the subchannel has moved (here: the first Connect is missing altogether).
    r = make_run()
    r(update(A1, A2))
    r(update(A1, A2))
    assert pf(_without_connects(r.trace, 0)) == ["PF-10"]
    # Once the subchannel has moved since (connected, then lost the connection), the
    # Connect of a new pass is required again.
    r = make_run()
    r(update(A1))
    r(sc(1, C))
    r(sc(1, R))
    r(sc(1, I))
    r(ev.ExitIdle())
    assert [o for o in r.trace[-1].outputs if isinstance(o, act.Connect)]
    assert pf(_without_connects(r.trace, len(r.trace) - 1)) == ["PF-21"]  # ExitIdle connects
