"""Planted bugs: the reference policies with one rule wrong each; the suite must catch every one.

Not an adapter onto another implementation: each *planted bug* is the reference
itself with one small documented hook replaced (a method such as
``PickFirstBalancer._go_idle`` or ``EndpointSharding._counted_as``, or the type a
builder builds: ``PickFirstBuilder.balancer_type``, ``RoundRobinBuilder.sharding_type``,
``LeastRequestBalancer.picker_type``), the way a real implementation plausibly
gets that rule wrong, so it differs from the reference in that one place.  Its
docstring names the bug and the requirement it breaks.
``tests/conformance/test_broken_implementations.py`` runs the case corpus against
each and names the cases that catch it (a case FAILs on a missed expectation or a
monitor violation).  A bug that no case catches is a hole in the suite.

Run one as an adapter, in place of the policy it breaks::

    python -m conformance run --adapter "python -m conformance.planted pf-no-sticky-tf"
    python -m conformance.planted --list

:func:`broken_transport` attaches one in-process, for tests.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Sequence

import attrs

from conformance import protocol
from conformance.adapters.refimpl import IMPLEMENTATION, RefimplAdapter, serve
from conformance.transport import InProcessTransport
from refimpl.balancer import (
    BadResolverStateError,
    BalancerState,
    Builder,
    ClientConnState,
    DoneInfo,
    FailPicker,
    JsonValue,
    Picker,
    QueuePicker,
    SubConnState,
    unavailable,
)
from refimpl.endpoint_sharding import ChildState, EndpointSharding, EndpointShardingPicker, _Child
from refimpl.least_request import (
    LeastRequestBalancer,
    LeastRequestBuilder,
    LeastRequestPicker,
    OutstandingCounter,
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
from refimpl.round_robin import RoundRobinBuilder
from refimpl.weighted_round_robin import WeightedRoundRobinBuilder, WeightedRoundRobinConfig
from spec.catalogue.model import RequirementId
from spec.connectivity import State
from spec.types import Address, Duration, Endpoint, Status

# --- pick_first ---


class NoStickyTransientFailure(PickFirstBalancer):
    """Reports CONNECTING whenever a subchannel reconnects after the first pass failed,
    so the channel flaps between TRANSIENT_FAILURE and CONNECTING (breaks PF-16, gRFC A62)."""

    def _on_state_while_sticky(self, entry: _Entry, update: SubConnState) -> None:
        if update.state is State.CONNECTING:
            self._report(State.CONNECTING, QueuePicker())
            return
        super()._on_state_while_sticky(entry, update)


class NoTransientFailureRereport(PickFirstBalancer):
    """In sticky TRANSIENT_FAILURE never re-reports, so RPCs keep failing with the first,
    stale connection error (breaks PF-16)."""

    def _on_state_while_sticky(self, entry: _Entry, update: SubConnState) -> None:
        if update.state is State.TRANSIENT_FAILURE:
            return
        super()._on_state_while_sticky(entry, update)


class KeepsLosingAttempts(PickFirstBalancer):
    """Keeps the other Happy Eyeballs attempts alive after one subchannel became READY
    (breaks PF-19: the losers must be shut down)."""

    def _shut_down_all_but(self, kept: _Entry) -> None:
        if kept.raw is State.READY:
            return  # the bug: the winner is chosen, the losers are forgotten, not shut down
        super()._shut_down_all_but(kept)


class IgnoresEmptyUpdate(PickFirstBalancer):
    """Treats an update with no addresses as 'nothing new' and keeps going with the old
    list, never rejecting it (breaks PF-2)."""

    def update_client_conn_state(self, state: ClientConnState) -> None:
        if not state.resolver_state.endpoints:
            return
        super().update_client_conn_state(state)


class ConnectsEveryAddressAtOnce(PickFirstBalancer):
    """Starts a connection to every address as soon as a pass starts instead of one at a
    time with the 250 ms delay (breaks PF-11, PF-12)."""

    def _start_pass(self) -> None:
        super()._start_pass()
        for address in self._addresses:
            entry = self._entry_for(address)
            if entry.raw is State.IDLE:
                entry.sc.connect()


class NoHappyEyeballsTimer(PickFirstBalancer):
    """Never arms the Connection Attempt Delay timer: a hanging attempt blocks the pass
    forever (breaks PF-12)."""

    def _arm_timer(self) -> None:
        self._cancel_timer()


class KeepsDuplicateAddresses(PickFirstBalancer):
    """Does not remove repeated addresses from the list, so one address gets a second turn
    in the same pass (breaks PF-6)."""

    def _address_list(
        self, endpoints: Sequence[Endpoint], config: PickFirstConfig
    ) -> list[Address]:
        ordered = self._ordered_endpoints(endpoints, config)
        return interleave_by_family(flatten(ordered))


class NoFamilyInterleaving(PickFirstBalancer):
    """Tries addresses in the resolver's order without interleaving IPv4 and IPv6
    (breaks PF-7, RFC 8305 section 4)."""

    def _address_list(
        self, endpoints: Sequence[Endpoint], config: PickFirstConfig
    ) -> list[Address]:
        ordered = self._ordered_endpoints(endpoints, config)
        return deduplicate(flatten(ordered))


class FailsOnFirstError(PickFirstBalancer):
    """Reports TRANSIENT_FAILURE as soon as any address fails, before the pass has tried
    the others (breaks PF-14)."""

    def _on_state_in_first_pass(self, entry: _Entry, update: SubConnState) -> None:
        if update.state is State.TRANSIENT_FAILURE:
            self._report(State.TRANSIENT_FAILURE, FailPicker(unavailable(str(update.error))))
        super()._on_state_in_first_pass(entry, update)


class WaitsForTimerAfterFailure(PickFirstBalancer):
    """When the address the pass is at fails, waits for the 250 ms timer instead of moving
    on at once (breaks PF-13)."""

    def _on_state_in_first_pass(self, entry: _Entry, update: SubConnState) -> None:
        if update.state is State.TRANSIENT_FAILURE and self._is_at(entry):
            if self._timer is None:  # last address: let the pass end as usual
                super()._on_state_in_first_pass(entry, update)
            return
        super()._on_state_in_first_pass(entry, update)


class KeepsReadyPickerOnUpdate(PickFirstBalancer):
    """On an update that drops the connected address, shuts its subchannel down but does not
    report CONNECTING, so the old READY picker keeps sending RPCs to a shut-down subchannel
    (breaks PF-10 and LB-2)."""

    def _report(self, state: State, picker: Picker) -> None:
        if state is State.CONNECTING and self._reported is State.READY:
            self._reported = State.CONNECTING
            return
        super()._report(state, picker)


class ReconnectsWhenConnectionLost(PickFirstBalancer):
    """When the connected subchannel drops to IDLE, reports CONNECTING and reconnects at once
    instead of going IDLE until there is work (the older text; breaks PF-20)."""

    def _go_idle(self) -> None:
        self._report(State.CONNECTING, QueuePicker())
        self._start_pass()


class IdlePickerNeverWakes(PickFirstBalancer):
    """In IDLE installs a plain queueing picker, so RPCs wait forever: no pick ever calls
    ExitIdle (breaks PF-20)."""

    def _go_idle(self) -> None:
        self._report(State.IDLE, QueuePicker())


class ResolverErrorClobbersPicker(PickFirstBalancer):
    """Reports TRANSIENT_FAILURE on every resolver error, replacing a working READY picker
    (breaks PF-22: the last good list stays in use)."""

    def _ignores_resolver_error(self) -> bool:
        return False


class ResolverFailureIsSticky(PickFirstBalancer):
    """Treats every TRANSIENT_FAILURE as sticky, also one caused by the resolver: the next
    good update starts connecting without reporting CONNECTING (breaks PF-3)."""

    _quiet = False

    def update_client_conn_state(self, state: ClientConnState) -> None:
        self._quiet = self._reported is State.TRANSIENT_FAILURE
        try:
            super().update_client_conn_state(state)
        finally:
            self._quiet = False

    def _report(self, state: State, picker: Picker) -> None:
        if self._quiet and state is State.CONNECTING:
            return
        super()._report(state, picker)


class LeaksSubchannelsOnClose(PickFirstBalancer):
    """Close cancels the timer but leaves every subchannel running (breaks PF-23, LB-3)."""

    def close(self) -> None:
        self._closed = True
        self._cancel_timer()


class RepeatsReports(PickFirstBalancer):
    """Reports its state again whenever it computes it, even when nothing changed
    (breaks PF-24)."""

    def _is_repeat(self, state: State) -> bool:
        return False


class TopLevelWatchesHealth(PickFirstBalancer):
    """Always creates subchannels with a health listener and waits for health, also as the
    top-level policy (breaks PF-26, HEALTH-3)."""

    def update_client_conn_state(self, state: ClientConnState) -> None:
        resolver_state = enable_health_listener(state.resolver_state)
        super().update_client_conn_state(attrs.evolve(state, resolver_state=resolver_state))


class HealthFailureIgnored(PickFirstBalancer):
    """As a health-watching leaf, ignores health TRANSIENT_FAILURE and keeps the endpoint
    READY (breaks HEALTH-6, HEALTH-7)."""

    def _on_health(self, entry: _Entry, health: SubConnState) -> None:
        if health.state is State.TRANSIENT_FAILURE:
            return
        super()._on_health(entry, health)


def _pick_first_building(planted: type[PickFirstBalancer]) -> PickFirstBuilder:
    """pick_first's builder, building ``planted`` (the hook: ``balancer_type``)."""

    class Planted(PickFirstBuilder):
        balancer_type = planted

    return Planted()


class _LenientConfigBuilder(PickFirstBuilder):
    """Accepts any value of shuffleAddressList, taking its truthiness, instead of refusing a
    non-boolean (breaks PF-1)."""

    def parse_config(self, config: JsonValue) -> PickFirstConfig:
        if not isinstance(config, dict):
            return PickFirstConfig()
        return PickFirstConfig(shuffle_address_list=bool(config.get("shuffleAddressList")))


# --- round_robin (endpoint sharding over pick_first) ---


class PicksNonReadyChildren(EndpointSharding):
    """While READY, rotates over every child's picker, not only the READY ones, so some RPCs
    queue behind connecting endpoints (breaks RR-7, LB-5)."""

    def _pickers_to_rotate(
        self, child_states: Sequence[ChildState], aggregate_state: State
    ) -> list[Picker]:
        return [c.state.picker for c in child_states]


class _OffByOnePicker(EndpointShardingPicker):
    def __init__(
        self, pickers: Sequence[Picker], child_states: tuple[ChildState, ...], start: int
    ) -> None:
        # The bug: one child fewer in the rotation, so the last never gets a turn.
        super().__init__(pickers[:-1] or pickers, child_states, 0)


class OffByOneRotation(EndpointSharding):
    """The picker's index wraps at n-1 instead of n, so one READY endpoint never gets an
    RPC (breaks RR-7)."""

    picker_type = _OffByOnePicker


class IdleCountedAsIdle(EndpointSharding):
    """Aggregates with the plain rule, so a child in IDLE makes the channel IDLE instead of
    counting as CONNECTING (breaks AGG-7, RR-5)."""

    def _counted_as(self, state: State) -> State:
        return state


class NoExitIdleForIdleChildren(EndpointSharding):
    """Never asks a child that reported IDLE to exit IDLE, so a lost endpoint is not
    reconnected (breaks RR-6)."""

    def _exit_idle_soon(self, child: _Child) -> None:
        pass


class ResolverErrorFailsReadyChannel(EndpointSharding):
    """On a resolver error reports TRANSIENT_FAILURE with the resolver's error, throwing away
    the READY children's picker (breaks RR-13)."""

    def resolver_error(self, error: Status) -> None:
        super().resolver_error(error)
        self._cc.update_state(BalancerState(State.TRANSIENT_FAILURE, FailPicker(error)))


class AcceptsEmptyUpdate(EndpointSharding):
    """Accepts an update with no endpoints instead of rejecting it, so the resolver is never
    told to re-resolve (breaks RR-4)."""

    def update_client_conn_state(self, state: ClientConnState) -> None:
        try:
            super().update_client_conn_state(state)
        except BadResolverStateError:
            if state.resolver_state.endpoints:
                raise


class KeepsRemovedEndpoints(EndpointSharding):
    """Drops the children of endpoints an update removed without closing them, leaking their
    subchannels (breaks RR-3)."""

    def _close_removed(self, child: _Child) -> None:
        pass


class QueuesPicksInFailure(EndpointSharding):
    """In TRANSIENT_FAILURE queues picks instead of failing them, so RPCs hang instead of
    failing fast (breaks RR-9)."""

    def _pickers_to_rotate(
        self, child_states: Sequence[ChildState], aggregate_state: State
    ) -> list[Picker]:
        if aggregate_state is State.TRANSIENT_FAILURE:
            return [QueuePicker()]
        return super()._pickers_to_rotate(child_states, aggregate_state)


class LeaksChildrenOnClose(EndpointSharding):
    """Close marks the policy closed but does not close its children, so their subchannels
    keep running (breaks LB-3)."""

    def close(self) -> None:
        self._closed = True


class ReportsPerChild(EndpointSharding):
    """Passes every child's report straight up, also in the middle of an update, instead of
    reporting once when every child has been updated (breaks RR-10)."""

    def _on_child_state(self, child: _Child, state: BalancerState) -> None:
        holding, self._holding_reports = self._holding_reports, False
        try:
            super()._on_child_state(child, state)
        finally:
            self._holding_reports = holding


def _round_robin_building(
    sharding: type[EndpointSharding] = EndpointSharding,
    leaf: type[PickFirstBalancer] = PickFirstBalancer,
) -> RoundRobinBuilder:
    """round_robin's builder over ``sharding`` with ``leaf`` children (the hooks:
    ``sharding_type`` and ``child_builder``)."""

    class Planted(RoundRobinBuilder):
        sharding_type = sharding

        def child_builder(self) -> Builder:
            return _pick_first_building(leaf)

    return Planted()


# --- weighted_round_robin: a config field misread ---


class _MisreadWrrConfig(WeightedRoundRobinBuilder):
    """weighted_round_robin whose config parsing gets one field wrong."""

    def misread(self, config: WeightedRoundRobinConfig) -> WeightedRoundRobinConfig:
        return config

    def parse_config(self, config: JsonValue) -> WeightedRoundRobinConfig:
        return self.misread(super().parse_config(config))


class WrrIgnoresBlackout(_MisreadWrrConfig):
    """Never applies blackoutPeriod, so a fresh backend's first, misleading report counts at
    once (breaks WRR-8)."""

    def misread(self, config: WeightedRoundRobinConfig) -> WeightedRoundRobinConfig:
        return attrs.evolve(config, blackout_period=Duration.of())


class WrrWeightsNeverExpire(_MisreadWrrConfig):
    """Ignores weightExpirationPeriod, so a backend that stopped reporting keeps its old
    weight forever (breaks WRR-9)."""

    def misread(self, config: WeightedRoundRobinConfig) -> WeightedRoundRobinConfig:
        return attrs.evolve(config, weight_expiration_period=Duration.of(seconds=10**9))


class WrrIgnoresErrorPenalty(_MisreadWrrConfig):
    """Drops errorUtilizationPenalty, so a backend failing fast looks cheap and attracts more
    RPCs (breaks WRR-5)."""

    def misread(self, config: WeightedRoundRobinConfig) -> WeightedRoundRobinConfig:
        return attrs.evolve(config, error_utilization_penalty=0.0)


class WrrNeverRebuildsSchedule(_MisreadWrrConfig):
    """Builds the schedule once per picker and never again, so weights reported after the
    picker was made are never used (breaks WRR-12)."""

    def misread(self, config: WeightedRoundRobinConfig) -> WeightedRoundRobinConfig:
        return attrs.evolve(config, weight_update_period=Duration.of(seconds=10**9))


class WrrNeverListensOutOfBand(_MisreadWrrConfig):
    """Ignores enableOobLoadReport: never opens the out-of-band stream and keeps reading
    per-call reports (breaks WRR-6, WRR-7)."""

    def misread(self, config: WeightedRoundRobinConfig) -> WeightedRoundRobinConfig:
        return attrs.evolve(config, enable_oob_load_report=False)


# --- least_request_experimental: the outstanding-request accounting ---


class LrNoDecrementOnError(LeastRequestPicker):
    """Counts an RPC down only when it succeeds, so an endpoint whose RPCs fail looks ever
    busier and is starved (breaks LR-8)."""

    def _on_done(self, counter: OutstandingCounter, done_info: DoneInfo) -> None:
        if done_info.error is None:
            counter.add(-1)


class LrIgnoresOutstandingCounts(LeastRequestPicker):
    """Picks one random endpoint without comparing outstanding requests: random balancing,
    not least request (breaks LR-7, LR-10)."""

    def choose(self) -> int:
        return self._rng.randrange(len(self.targets))


class LrCountsSurviveReconnect(LeastRequestBalancer):
    """Keeps an endpoint's outstanding count when it leaves READY, so after a reconnect it
    still carries the RPCs of the old connection (breaks LR-9)."""

    def _on_sharding_state(self, state: BalancerState) -> None:
        kept = dict(self._counters)
        super()._on_sharding_state(state)
        self._counters = {**kept, **self._counters}


def _least_request_building(
    balancer: type[LeastRequestBalancer] = LeastRequestBalancer,
    picker: type[LeastRequestPicker] = LeastRequestPicker,
) -> LeastRequestBuilder:
    """least_request's builder, building ``balancer`` with ``picker`` (the hooks:
    ``balancer_type`` and ``picker_type``)."""

    class PlantedBalancer(balancer):  # type: ignore[valid-type,misc]
        picker_type = picker

    class Planted(LeastRequestBuilder):
        balancer_type = PlantedBalancer

    return Planted()


# --- the catalogue of planted bugs ---


def _requirement_ids(ids: Iterable[str]) -> tuple[RequirementId, ...]:
    return tuple(RequirementId(i) for i in ids)


@attrs.frozen
class Bug:
    """One planted bug: its name, the policy it replaces and the requirements it breaks."""

    name: str
    policy: str
    breaks: tuple[RequirementId, ...] = attrs.field(converter=_requirement_ids)
    make: Callable[[], Builder] = attrs.field(eq=False)
    summary: str

    def builder(self) -> Builder:
        return self.make()


def _doc(cls: type) -> str:
    return " ".join((cls.__doc__ or "").split())


def _pf(name: str, cls: type[PickFirstBalancer], *breaks: str) -> Bug:
    return Bug(name, "pick_first", breaks, lambda: _pick_first_building(cls), _doc(cls))


def _wrr(name: str, cls: type[_MisreadWrrConfig], *breaks: str) -> Bug:
    return Bug(name, "weighted_round_robin", breaks, cls, _doc(cls))


def _lr(name: str, make: Callable[[], Builder], cls: type, *breaks: str) -> Bug:
    return Bug(name, "least_request_experimental", breaks, make, _doc(cls))


def _rr(name: str, cls: type[EndpointSharding], *breaks: str) -> Bug:
    return Bug(name, "round_robin", breaks, lambda: _round_robin_building(sharding=cls), _doc(cls))


BUGS: dict[str, Bug] = {
    bug.name: bug
    for bug in (
        _pf("pf-no-sticky-tf", NoStickyTransientFailure, "PF-16"),
        _pf("pf-no-tf-rereport", NoTransientFailureRereport, "PF-16"),
        _pf("pf-keeps-losing-attempts", KeepsLosingAttempts, "PF-19"),
        _pf("pf-ignores-empty-update", IgnoresEmptyUpdate, "PF-2"),
        _pf("pf-connects-all-at-once", ConnectsEveryAddressAtOnce, "PF-11", "PF-12"),
        _pf("pf-no-happy-eyeballs-timer", NoHappyEyeballsTimer, "PF-12"),
        _pf("pf-keeps-duplicate-addresses", KeepsDuplicateAddresses, "PF-6"),
        _pf("pf-no-family-interleaving", NoFamilyInterleaving, "PF-7"),
        _pf("pf-fails-on-first-error", FailsOnFirstError, "PF-14"),
        _pf("pf-waits-for-timer-after-failure", WaitsForTimerAfterFailure, "PF-13"),
        _pf("pf-picks-shut-down-subchannel", KeepsReadyPickerOnUpdate, "PF-10", "LB-2"),
        _pf("pf-reconnects-when-connection-lost", ReconnectsWhenConnectionLost, "PF-20"),
        _pf("pf-idle-picker-never-wakes", IdlePickerNeverWakes, "PF-20"),
        _pf("pf-resolver-error-clobbers-picker", ResolverErrorClobbersPicker, "PF-22"),
        _pf("pf-resolver-failure-is-sticky", ResolverFailureIsSticky, "PF-3"),
        _pf("pf-leaks-subchannels-on-close", LeaksSubchannelsOnClose, "PF-23", "LB-3"),
        _pf("pf-repeats-reports", RepeatsReports, "PF-24"),
        _pf("pf-top-level-watches-health", TopLevelWatchesHealth, "PF-26", "HEALTH-3"),
        Bug(
            "pf-accepts-non-boolean-shuffle",
            "pick_first",
            ("PF-1",),
            _LenientConfigBuilder,
            _doc(_LenientConfigBuilder),
        ),
        _rr("rr-picks-non-ready-children", PicksNonReadyChildren, "RR-7", "LB-5"),
        _rr("rr-off-by-one-rotation", OffByOneRotation, "RR-7"),
        _rr("rr-idle-counted-as-idle", IdleCountedAsIdle, "AGG-7", "RR-5"),
        _rr("rr-no-exit-idle-for-idle-children", NoExitIdleForIdleChildren, "RR-6"),
        _rr("rr-resolver-error-fails-ready-channel", ResolverErrorFailsReadyChannel, "RR-13"),
        _rr("rr-accepts-empty-update", AcceptsEmptyUpdate, "RR-4"),
        _rr("rr-keeps-removed-endpoints", KeepsRemovedEndpoints, "RR-3"),
        _rr("rr-queues-picks-in-failure", QueuesPicksInFailure, "RR-9"),
        _rr("rr-leaks-children-on-close", LeaksChildrenOnClose, "LB-3"),
        _rr("rr-reports-per-child", ReportsPerChild, "RR-10"),
        Bug(
            "rr-health-failure-ignored",
            "round_robin",
            ("HEALTH-6", "HEALTH-7"),
            lambda: _round_robin_building(leaf=HealthFailureIgnored),
            _doc(HealthFailureIgnored),
        ),
        _wrr("wrr-ignores-blackout", WrrIgnoresBlackout, "WRR-8"),
        _wrr("wrr-weights-never-expire", WrrWeightsNeverExpire, "WRR-9"),
        _wrr("wrr-ignores-error-penalty", WrrIgnoresErrorPenalty, "WRR-5"),
        _wrr("wrr-never-rebuilds-schedule", WrrNeverRebuildsSchedule, "WRR-12"),
        _wrr("wrr-never-listens-out-of-band", WrrNeverListensOutOfBand, "WRR-6", "WRR-7"),
        _lr(
            "lr-no-decrement-on-error",
            lambda: _least_request_building(picker=LrNoDecrementOnError),
            LrNoDecrementOnError,
            "LR-8",
        ),
        _lr(
            "lr-ignores-outstanding-counts",
            lambda: _least_request_building(picker=LrIgnoresOutstandingCounts),
            LrIgnoresOutstandingCounts,
            "LR-7",
            "LR-10",
        ),
        _lr(
            "lr-counts-survive-reconnect",
            lambda: _least_request_building(balancer=LrCountsSurviveReconnect),
            LrCountsSurviveReconnect,
            "LR-9",
        ),
    )
}


# The scaffolding with no bug planted: it must pass every case, so that what fails under a
# bug is the bug's doing.
CONTROLS: dict[str, Bug] = {
    "pf-control": Bug(
        "pf-control",
        "pick_first",
        (),
        lambda: _pick_first_building(PickFirstBalancer),
        "pick_first built through the planted-bug scaffolding, unchanged",
    ),
    "wrr-control": Bug(
        "wrr-control",
        "weighted_round_robin",
        (),
        _MisreadWrrConfig,
        "weighted_round_robin built through the planted-bug scaffolding, unchanged",
    ),
    "lr-control": Bug(
        "lr-control",
        "least_request_experimental",
        (),
        lambda: _least_request_building(),
        "least_request_experimental built through the planted-bug scaffolding, unchanged",
    ),
    "rr-control": Bug(
        "rr-control",
        "round_robin",
        (),
        lambda: _round_robin_building(),
        "round_robin built through the planted-bug scaffolding, unchanged",
    ),
}


class BrokenAdapter(RefimplAdapter):
    """The reference adapter with one planted bug in place of the policy it breaks."""

    def __init__(self, bug: Bug) -> None:
        super().__init__()
        self.bug = bug
        self.implementation = protocol.Implementation(
            f"{IMPLEMENTATION.name} with planted bug {bug.name}",
            version=IMPLEMENTATION.version,
            language=IMPLEMENTATION.language,
        )

    def builder_for(self, policy: str) -> str | Builder:
        return self.bug.builder() if policy == self.bug.policy else policy


def broken_transport(name: str) -> InProcessTransport:
    """An in-process transport to the reference with the planted bug ``name``."""
    return InProcessTransport(BrokenAdapter({**BUGS, **CONTROLS}[name]).handle)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.planted",
        description="The reference implementation with one planted bug, as an adapter.",
    )
    parser.add_argument("bug", nargs="?", choices=sorted(BUGS), help="the planted bug")
    parser.add_argument("--list", action="store_true", help="list the planted bugs and exit")
    args = parser.parse_args(argv)
    if args.list or args.bug is None:
        for bug in BUGS.values():
            print(f"{bug.name:<40} {bug.policy:<12} {', '.join(bug.breaks):<16} {bug.summary}")
        return 0 if args.list else 2
    return serve(BrokenAdapter(BUGS[args.bug]))


if __name__ == "__main__":
    sys.exit(main())
