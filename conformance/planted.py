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
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NoReturn

import attrs

from conformance import protocol
from conformance.adapters.refimpl import IMPLEMENTATION, RefimplAdapter, serve
from conformance.protocol import SERVICE_CONFIG_POLICY
from conformance.transport import InProcessTransport
from refimpl.balancer import (
    BadResolverStateError,
    Balancer,
    BalancerState,
    Builder,
    BuildOptions,
    ClientConn,
    ClientConnState,
    Complete,
    ConfigError,
    DoneInfo,
    FailPicker,
    JsonValue,
    NewSubConnOptions,
    Picker,
    PickInfo,
    PickResult,
    QueuePicker,
    RandomSource,
    SubConn,
    SubConnState,
    unavailable,
)
from refimpl.endpoint_sharding import (
    ChildState,
    EndpointSharding,
    EndpointShardingPicker,
    _Child,
    child_states_from_picker,
)
from refimpl.graceful_switch import GracefulSwitchBalancer, SwitchConfig
from refimpl.graceful_switch import _Child as _SwitchChild
from refimpl.least_request import (
    LeastRequestBalancer,
    LeastRequestBuilder,
    LeastRequestConfig,
    LeastRequestPicker,
    OutstandingCounter,
    PickTarget,
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
from refimpl.service_config import ServiceConfig, ServiceConfigError
from refimpl.service_config_channel import ServiceConfigChannel, ServiceConfigChannelBuilder
from refimpl.weighted_round_robin import (
    EndpointWeight,
    WeightedRoundRobinBalancer,
    WeightedRoundRobinBuilder,
    WeightedRoundRobinConfig,
    load_report_weight,
)
from spec.catalogue.model import RequirementId
from spec.connectivity import State
from spec.types import Address, Duration, Endpoint, OrcaLoadReport, Status

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


class IgnoresShuffle(PickFirstBalancer):
    """Parses shuffleAddressList but never shuffles: every client of a service connects to
    the resolver's first address (breaks PF-5)."""

    def _ordered_endpoints(
        self, endpoints: Sequence[Endpoint], config: PickFirstConfig
    ) -> list[Endpoint]:
        return list(endpoints)


class FisherYatesStopsEarly(PickFirstBalancer):
    """Shuffles with a Fisher-Yates loop that stops one step early (grpc-js 1.14.7: the first
    two endpoints are never swapped with each other), so some orders never occur and the
    first endpoint is not uniform (breaks PF-5)."""

    def _ordered_endpoints(
        self, endpoints: Sequence[Endpoint], config: PickFirstConfig
    ) -> list[Endpoint]:
        shuffled = list(endpoints)
        if config.shuffle_address_list:
            for i in range(len(shuffled) - 1, 1, -1):  # the bug: stops at 2, not at 1
                j = self._options.random.randrange(i + 1)
                shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
        return shuffled


class ShuffleIgnoresWeights(PickFirstBalancer):
    """Shuffles uniformly, ignoring endpoint weights, so a heavy endpoint comes first no more
    often than a light one (breaks PF-5, gRFC A113)."""

    def _ordered_endpoints(
        self, endpoints: Sequence[Endpoint], config: PickFirstConfig
    ) -> list[Endpoint]:
        unweighted = [attrs.evolve(e, weight=None) for e in endpoints]
        # By identity, not equality: two repeated endpoints stay two entries.
        original = {id(u): e for u, e in zip(unweighted, endpoints, strict=True)}
        return [original[id(u)] for u in super()._ordered_endpoints(unweighted, config)]


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


class _FirstChildPicker(EndpointShardingPicker):
    def __init__(
        self, pickers: Sequence[Picker], child_states: tuple[ChildState, ...], start: int
    ) -> None:
        super().__init__(pickers, child_states, 0)  # the bug: the random start is dropped


class PickerStartsAtFirstChild(EndpointSharding):
    """Starts every new picker at its first READY child instead of a random one (grpc-go
    #2580), so after every change the first RPCs of all clients go to the same endpoint
    (breaks RR-7)."""

    picker_type = _FirstChildPicker


class _FirstDrawZero:
    """A random source whose first randrange returns 0; everything else is the real one's."""

    def __init__(self, rng: RandomSource) -> None:
        self._rng = rng
        self._first = True

    def random(self) -> float:
        return self._rng.random()

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        if self._first:
            self._first = False
            return 0
        if stop is None:
            return self._rng.randrange(start)
        return self._rng.randrange(start, stop, step)

    def shuffle(self, x: list[Any]) -> None:
        self._rng.shuffle(x)


class NeverRotates(EndpointSharding):
    """Builds the children in the resolver's order instead of rotating the endpoint list by
    a random amount, so every client given the same list connects to its first endpoint
    first (breaks RR-12)."""

    def update_client_conn_state(self, state: ClientConnState) -> None:
        options = self._options  # the rotation (rotate_endpoints) is the update's first draw
        self._options = attrs.evolve(options, random=_FirstDrawZero(options.random))
        try:
            super().update_client_conn_state(state)
        finally:
            self._options = options


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


class _MisdefaultedWrrConfig(WeightedRoundRobinBuilder):
    """weighted_round_robin with a wrong default for one field left out of the config."""

    field = ""

    def default(self, config: WeightedRoundRobinConfig) -> WeightedRoundRobinConfig:
        return config

    def parse_config(self, config: JsonValue) -> WeightedRoundRobinConfig:
        parsed = super().parse_config(config)
        absent = not isinstance(config, dict) or config.get(self.field) is None
        return self.default(parsed) if absent else parsed


class WrrDefaultBlackoutZero(_MisdefaultedWrrConfig):
    """Defaults an absent blackoutPeriod to 0 instead of 10 s, so a fresh backend's first,
    misleading reports count at once (breaks WRR-1)."""

    field = "blackoutPeriod"

    def default(self, config: WeightedRoundRobinConfig) -> WeightedRoundRobinConfig:
        return attrs.evolve(config, blackout_period=Duration.of())


class WrrDefaultExpirationTenSeconds(_MisdefaultedWrrConfig):
    """Defaults an absent weightExpirationPeriod to 10 s (the blackout's default) instead of
    3 minutes, so weights of backends that report every minute keep expiring (breaks WRR-1)."""

    field = "weightExpirationPeriod"

    def default(self, config: WeightedRoundRobinConfig) -> WeightedRoundRobinConfig:
        return attrs.evolve(config, weight_expiration_period=Duration.of(seconds=10))


class WrrDefaultUpdatePeriodThirtySeconds(_MisdefaultedWrrConfig):
    """Defaults an absent weightUpdatePeriod to 30 s instead of 1 s, so new weights take half
    a minute to be used (breaks WRR-1)."""

    field = "weightUpdatePeriod"

    def default(self, config: WeightedRoundRobinConfig) -> WeightedRoundRobinConfig:
        return attrs.evolve(config, weight_update_period=Duration.of(seconds=30))


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


@attrs.frozen
class _MisreadLrConfig(LeastRequestConfig):
    """The parsed config plus the choiceCount a planted bug uses instead (unvalidated)."""

    used_choice_count: int = attrs.field(kw_only=True)


class _UsesMisreadChoiceCount(LeastRequestBalancer):
    def update_client_conn_state(self, state: ClientConnState) -> None:
        super().update_client_conn_state(state)
        if isinstance(state.config, _MisreadLrConfig):
            self._choice_count = state.config.used_choice_count


class _MisreadLrChoiceCount(LeastRequestBuilder):
    """least_request_experimental whose choiceCount handling gets one thing wrong."""

    balancer_type = _UsesMisreadChoiceCount

    def misread(self, raw: JsonValue, parsed: int) -> int:
        return parsed

    def parse_config(self, config: JsonValue) -> LeastRequestConfig:
        parsed = super().parse_config(config)
        used = self.misread(config, parsed.choice_count)
        return _MisreadLrConfig(parsed.choice_count, used_choice_count=used)


class LrChoiceCountNotClamped(_MisreadLrChoiceCount):
    """Uses a choiceCount above 10 as given instead of clamping it to 10, so a config of 100
    draws a hundred endpoints per pick (breaks LR-3)."""

    def misread(self, raw: JsonValue, parsed: int) -> int:
        given = raw.get("choiceCount") if isinstance(raw, dict) else None
        return given if isinstance(given, int) and given > parsed else parsed


class LrDefaultChoiceCountTen(_MisreadLrChoiceCount):
    """Defaults an absent choiceCount to the maximum, 10, instead of 2 (breaks LR-1)."""

    def misread(self, raw: JsonValue, parsed: int) -> int:
        absent = not isinstance(raw, dict) or raw.get("choiceCount") is None
        return 10 if absent else parsed


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


# --- service_config: the channel's LB layer (service config selection, graceful switch) ---


class ScInvalidConfigIgnored(ServiceConfigChannelBuilder):
    """Treats an invalid service config as if there were none: the default config (first
    update) or the config in force runs, and the update is never rejected, so a broken config
    goes unnoticed (breaks SC-10, SC-11)."""

    def parse_config(self, config: JsonValue) -> ServiceConfig:
        try:
            return super().parse_config(config)
        except ServiceConfigError:
            return self.default_config()


class ScBadPolicyConfigTriesNextEntry(ServiceConfigChannelBuilder):
    """When the selected policy rejects its config, moves on to the next loadBalancingConfig
    entry instead of failing the whole service config (breaks SC-4)."""

    def parse_config(self, config: JsonValue) -> ServiceConfig:
        try:
            return super().parse_config(config)
        except ServiceConfigError as err:
            try:
                parsed = json.loads(config) if isinstance(config, str) else config
            except ValueError:
                raise err from None
            entries = parsed.get("loadBalancingConfig") if isinstance(parsed, dict) else None
            if not isinstance(entries, list) or len(entries) < 2:
                raise
            return self.parse_config({**parsed, "loadBalancingConfig": entries[1:]})


class _SwitchesAtOnce(GracefulSwitchBalancer):
    def _child_update_state(self, child: _SwitchChild, state: BalancerState) -> None:
        if child is self.pending:
            child.last_state = state
            self._swap()  # the bug: even CONNECTING while the channel is READY
            return
        super()._child_update_state(child, state)


class GsSwapsOnConnecting(ServiceConfigChannelBuilder):
    """Swaps a pending policy in on its first report, also CONNECTING while the old policy is
    READY, so a policy switch makes RPCs queue until the new one connects (breaks GS-6)."""

    def build(self, cc: ClientConn, options: BuildOptions) -> Balancer:
        channel = ServiceConfigChannel(cc, options, self)
        channel.switch = _SwitchesAtOnce(cc, options)
        return channel


class _ForwardsEveryReresolution(_SwitchChild):
    def resolve_now(self) -> None:
        self.gsb.cc.resolve_now()  # the bug: also for a policy that is no longer the latest


class _SwitchForwardingStaleRequests(GracefulSwitchBalancer):
    def switch_to(self, builder: Builder) -> Balancer:
        balancer = super().switch_to(builder)
        child = self._latest()
        assert child is not None
        child.__class__ = _ForwardsEveryReresolution
        return balancer


class GsForwardsStaleReresolution(ServiceConfigChannelBuilder):
    """Passes every child policy's request to re-resolve to the channel, also one from a policy
    that a newer one is replacing (breaks GS-9)."""

    def build(self, cc: ClientConn, options: BuildOptions) -> Balancer:
        channel = ServiceConfigChannel(cc, options, self)
        channel.switch = _SwitchForwardingStaleRequests(cc, options)
        return channel


# --- Bugs an outside implementer wrote (issue 15): from PROTOCOL.md and the gRFCs, not from
# the list above.  Each differs from the reference in one rule; see its docstring.

# pick_first


class PfTimerSurvivesReady(PickFirstBalancer):
    """Forgets to cancel the Happy Eyeballs timer when a SubConn becomes READY, so the timer
    later starts a connection to the next address behind the chosen one (breaks PF-19)."""

    def _choose(self, chosen: _Entry) -> None:
        timer = self._timer
        self._timer = None  # the bug: super()._choose cancels nothing
        super()._choose(chosen)
        self._timer = timer


class PfLostKeepsCursor(PickFirstBalancer):
    """After the chosen connection is lost, the next pass starts from the address that was
    chosen instead of the first one (breaks PF-20, PF-21)."""

    def _lose(self, lost: _Entry) -> None:
        cursor = self._cursor
        super()._lose(lost)
        self._cursor = cursor  # the bug: the pass resumes where the chosen address was


class PfExitIdleRestartsPass(PickFirstBalancer):
    """ExitIdle in TRANSIENT_FAILURE starts a new pass and reports CONNECTING, as if IDLE, so
    a channel asked to connect leaves sticky TRANSIENT_FAILURE (breaks PF-21, PF-16)."""

    def exit_idle(self) -> None:
        if not self._closed and self._reported is State.TRANSIENT_FAILURE:
            self._cancel_timer()
            self._cursor = 0
            self._reported = State.IDLE  # the bug: acts as if IDLE
        super().exit_idle()


class PfResolverErrorIgnoredOnlyWhenReady(PickFirstBalancer):
    """Keeps the last good list on a resolver error only while READY, so an error while
    CONNECTING or IDLE reports TRANSIENT_FAILURE although addresses are in use (breaks
    PF-22)."""

    def _ignores_resolver_error(self) -> bool:
        return self._reported is State.READY and bool(self._addresses)


class PfStickyIdleNotReconnected(PickFirstBalancer):
    """In sticky TRANSIENT_FAILURE, leaves a SubConn that backed off to IDLE alone instead of
    connecting it again, so the policy stops trying (breaks PF-16)."""

    def _on_state_while_sticky(self, entry: _Entry, update: SubConnState) -> None:
        if update.state is State.IDLE:
            return  # the bug: no reconnection
        super()._on_state_while_sticky(entry, update)


class PfDedupByHostPort(PickFirstBalancer):
    """De-duplicates the list by host:port only, dropping an address that differs from an
    earlier one by server name or attributes (breaks PF-6)."""

    def _address_list(
        self, endpoints: Sequence[Endpoint], config: PickFirstConfig
    ) -> list[Address]:
        seen: set[str] = set()
        kept: list[Address] = []
        for address in flatten(self._ordered_endpoints(endpoints, config)):
            if address.addr not in seen:  # the bug: server name and attributes ignored
                seen.add(address.addr)
                kept.append(address)
        return interleave_by_family(kept)


class PfFailsBeforeAllFailed(PickFirstBalancer):
    """Reports TRANSIENT_FAILURE as soon as the pass reaches the end of the list, while an
    earlier address's attempt (started by the Happy Eyeballs timer) is still running (breaks
    PF-14)."""

    def _end_first_pass_if_done(self, error: Status | None) -> None:
        if self._cursor < len(self._addresses):
            return
        for entry in self._entries.values():
            entry.failed_this_pass = True  # the bug: running attempts count as failed
        super()._end_first_pass_if_done(error)


class PfUpdateWhileConnectingNoPass(PickFirstBalancer):
    """An update while CONNECTING replaces the list but starts no pass over it, trusting the
    running pass, so after the running address is removed nothing connects (breaks PF-10)."""

    _skip_pass = False

    def update_client_conn_state(self, state: ClientConnState) -> None:
        self._skip_pass = self._reported is State.CONNECTING and bool(self._addresses)
        try:
            super().update_client_conn_state(state)
        finally:
            self._skip_pass = False

    def _start_pass(self) -> None:
        if not self._skip_pass:  # the bug: the running pass is assumed to cover the new list
            super()._start_pass()


# round_robin (endpoint sharding)


class RrEmptyUpdateKeepsChildren(EndpointSharding):
    """Rejects an update with no endpoints and reports TRANSIENT_FAILURE before touching the
    children, so the old children and their connections stay open (breaks RR-4, RR-3)."""

    def update_client_conn_state(self, state: ClientConnState) -> None:
        if not state.resolver_state.endpoints:
            message = "the resolver produced zero endpoints: no children to pick from"
            self._cc.update_state(
                BalancerState(State.TRANSIENT_FAILURE, FailPicker(unavailable(message)))
            )
            raise BadResolverStateError(message)  # the bug: children not closed
        super().update_client_conn_state(state)


class _OnlyFirstUpdate(Balancer):
    """A child balancer that passes on only its first resolver update."""

    def __init__(self, inner: Balancer) -> None:
        self.inner = inner
        self.updated = False

    def update_client_conn_state(self, state: ClientConnState) -> None:
        if not self.updated:  # the bug
            self.updated = True
            self.inner.update_client_conn_state(state)

    def resolver_error(self, error: Status) -> None:
        self.inner.resolver_error(error)

    def exit_idle(self) -> None:
        self.inner.exit_idle()

    def close(self) -> None:
        self.inner.close()


class RrExistingChildrenNotUpdated(EndpointSharding):
    """Sends a resolver update only to the children it builds, as an optimisation, so a kept
    endpoint's child never sees the endpoint's new address order (breaks RR-2)."""

    def _build_child(self, endpoint: Endpoint) -> _Child:
        child = super()._build_child(endpoint)
        balancer = child.balancer
        assert balancer is not None
        child.balancer = _OnlyFirstUpdate(balancer)
        return child


class RrDuplicateEndpointLastWins(EndpointSharding):
    """Collapses repeated endpoints into a map keyed by address set, so the last repeat's
    address order, not the first's, reaches the child (breaks RR-2)."""

    def update_client_conn_state(self, state: ClientConnState) -> None:
        endpoints = state.resolver_state.endpoints
        last = {e.key: e for e in endpoints}  # the bug: a later repeat overwrites
        resolver_state = attrs.evolve(
            state.resolver_state, endpoints=tuple(last[e.key] for e in endpoints)
        )
        super().update_client_conn_state(attrs.evolve(state, resolver_state=resolver_state))


# weighted_round_robin


class _WrrBuilding(WeightedRoundRobinBuilder):
    """weighted_round_robin's builder building ``balancer_type`` (a subclass with one bug)."""

    balancer_type: type[WeightedRoundRobinBalancer] = WeightedRoundRobinBalancer

    def build(self, cc: ClientConn, options: BuildOptions) -> Balancer:
        return self.balancer_type(
            cc, options, _pick_first_building(PickFirstBalancer), self.scheduler, self.ratio_caps
        )


class _CpuFirstWeight(EndpointWeight):
    def on_load_report(self, report: OrcaLoadReport, now: Duration) -> None:
        if report.cpu_utilization:  # the bug: cpu_utilization wins over application's
            report = attrs.evolve(report, application_utilization=report.cpu_utilization)
        super().on_load_report(report, now)


class _CpuFirst(WeightedRoundRobinBalancer):
    endpoint_weight_type = _CpuFirstWeight


class WrrCpuUtilizationFirst(_WrrBuilding):
    """Takes cpu_utilization whenever it is set and application_utilization only as a
    fallback, the wrong way round (breaks WRR-5)."""

    balancer_type = _CpuFirst


class _BlackoutEveryReportWeight(EndpointWeight):
    def on_load_report(self, report: OrcaLoadReport, now: Duration) -> None:
        super().on_load_report(report, now)
        if load_report_weight(report, self.config.error_utilization_penalty) is not None:
            with self._lock:
                self._non_empty_since = now.nanos  # the bug: every report restarts the run


class _BlackoutEveryReport(WeightedRoundRobinBalancer):
    endpoint_weight_type = _BlackoutEveryReportWeight


class WrrBlackoutFromLastReport(_WrrBuilding):
    """Measures the blackout from the latest report instead of the first of the run, so an
    endpoint reporting more often than blackoutPeriod never gets a weight (breaks WRR-8)."""

    balancer_type = _BlackoutEveryReport


class _ExpiresFromFirstReportWeight(EndpointWeight):
    def weight_at(self, now: int, expiration: int, blackout: int) -> float:
        with self._lock:
            since = self._non_empty_since
        if since is not None and now - since >= expiration:
            with self._lock:  # the bug: expiry measured from the run's first report
                self._non_empty_since = None
                self._last_updated = None
            return 0.0
        return super().weight_at(now, expiration, blackout)


class _ExpiresFromFirstReport(WeightedRoundRobinBalancer):
    endpoint_weight_type = _ExpiresFromFirstReportWeight


class WrrExpiryFromFirstReport(_WrrBuilding):
    """Expires a weight weightExpirationPeriod after the first report of its run rather than
    after the last one, so a steadily reporting endpoint loses its weight (breaks WRR-9)."""

    balancer_type = _ExpiresFromFirstReport


# least_request


class _OneSampleShort(LeastRequestPicker):
    def choose(self) -> int:
        chosen = self._rng.randrange(len(self.targets))
        fewest = self.count(chosen)
        for _ in range(self.choice_count - 2):  # the bug: one sample too few
            sample = self._rng.randrange(len(self.targets))
            outstanding = self.count(sample)
            if outstanding < fewest:
                chosen, fewest = sample, outstanding
        return chosen


class LrOneSampleShort(_OneSampleShort):
    """Draws choiceCount - 1 samples, an off-by-one that with the default of 2 picks uniformly
    at random (breaks LR-7)."""


class LrCountsResetEveryPicker(LeastRequestBalancer):
    """Starts every endpoint's count from zero with each new picker, so a picker update
    forgets the RPCs in flight (breaks LR-9)."""

    def _on_sharding_state(self, state: BalancerState) -> None:
        self._counters = {}  # the bug
        super()._on_sharding_state(state)


class _MinChoiceCountRaised(LeastRequestBuilder):
    def parse_config(self, config: JsonValue) -> LeastRequestConfig:
        if isinstance(config, dict):
            value = config.get("choiceCount")
            if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2:
                config = {**config, "choiceCount": 2}  # the bug: raised, not rejected
        return super().parse_config(config)


class LrChoiceCountBelowTwoRaised(_MinChoiceCountRaised):
    """Raises a choiceCount below 2 to 2 instead of rejecting the config (breaks LR-2)."""


# service config / graceful switch


class _CurrentNeverYields(GracefulSwitchBalancer):
    def _child_update_state(self, child: _SwitchChild, state: BalancerState) -> None:
        if child is self.current and self.pending is not None:
            child.last_state = state
            self.cc.update_state(state)  # the bug: no swap when the current leaves READY
            return
        super()._child_update_state(child, state)


class GsCurrentLeavingReadyNotSwapped(ServiceConfigChannelBuilder):
    """Keeps passing the current policy's reports up when it leaves READY while a new policy is
    pending, instead of swapping the pending one in (breaks GS-5)."""

    def build(self, cc: ClientConn, options: BuildOptions) -> Balancer:
        channel = ServiceConfigChannel(cc, options, self)
        channel.switch = _CurrentNeverYields(cc, options)
        return channel


class _SwapsOnlyOnReady(GracefulSwitchBalancer):
    def _child_update_state(self, child: _SwitchChild, state: BalancerState) -> None:
        if child is self.pending and state.state is not State.READY:
            current = self.current
            if current is not None and current.last_state.state is State.READY:
                child.last_state = state  # the bug: TRANSIENT_FAILURE and IDLE held back too
                return
        super()._child_update_state(child, state)


class GsSwapsOnlyOnReady(ServiceConfigChannelBuilder):
    """Holds a pending policy back until it is READY while the current one is READY, so a new
    policy that fails or goes IDLE never replaces the old one (breaks GS-6)."""

    def build(self, cc: ClientConn, options: BuildOptions) -> Balancer:
        channel = ServiceConfigChannel(cc, options, self)
        channel.switch = _SwapsOnlyOnReady(cc, options)
        return channel


class PfLostKeepsRacingAttempts(PickFirstBalancer):
    """When a connecting SubConn drops back to IDLE (counted as a lost connection), goes IDLE
    but leaves the other attempts of the pass running (breaks PF-20)."""

    def _shut_down_all_but(self, kept: _Entry) -> None:
        if kept.raw is State.IDLE:
            return  # the bug: only the READY path shuts the others down
        super()._shut_down_all_but(kept)


class PfHealthFailureAsConnecting(PickFirstBalancer):
    """As a health-watching leaf, reports a health TRANSIENT_FAILURE as CONNECTING, so its
    parent queues RPCs for an unhealthy endpoint instead of failing over (breaks PF-27,
    HEALTH-6)."""

    def _on_health(self, entry: _Entry, health: SubConnState) -> None:
        if health.state is State.TRANSIENT_FAILURE:
            health = SubConnState(State.CONNECTING)  # the bug
        super()._on_health(entry, health)


class PfEmptyUpdateKeepsSubchannels(PickFirstBalancer):
    """Rejects an update with no addresses and reports TRANSIENT_FAILURE, but leaves its
    SubConns connected (breaks PF-2)."""

    def _reject_empty_update(self) -> NoReturn:
        self._entries.clear()  # the bug: forgotten, not shut down
        self._addresses, self._cursor = (), 0
        message = "name resolver error: produced zero addresses"
        self._report(State.TRANSIENT_FAILURE, FailPicker(unavailable(message)))
        raise BadResolverStateError(message)


class RrChildrenLoseResolverAttributes(EndpointSharding):
    """Gives each child its endpoint but not the resolver's attributes, so the pick_first
    leaves never learn they must watch health (breaks RR-1, HEALTH-4)."""

    def update_client_conn_state(self, state: ClientConnState) -> None:
        stripped = attrs.evolve(state.resolver_state, attributes=())
        had_health = bool(state.resolver_state.attributes)
        super().update_client_conn_state(
            attrs.evolve(state, resolver_state=stripped) if had_health else state
        )


class _ReleasesLatestPick(LeastRequestPicker):
    latest: tuple[list[OutstandingCounter | None], ...] = ([None],)  # _SharingLatestPick's
    _chosen = 0

    def choose(self) -> int:
        self._chosen = super().choose()
        return self._chosen

    def pick(self, info: PickInfo) -> PickResult:
        result = super().pick(info)
        if isinstance(result, Complete):
            self.latest[0][0] = self.targets[self._chosen].counter
        return result

    def _on_done(self, counter: OutstandingCounter, done_info: DoneInfo) -> None:
        (self.latest[0][0] or counter).add(-1)  # the bug: the latest pick's endpoint, not its own


class _SharingLatestPick(ClientConn):
    """The parent's ClientConn, giving every picker of one policy the same 'latest pick' slot."""

    def __init__(self, parent: ClientConn) -> None:
        self.parent = parent
        self.latest: list[OutstandingCounter | None] = [None]

    def new_subconn(self, addresses: tuple[Address, ...], options: NewSubConnOptions) -> SubConn:
        return self.parent.new_subconn(addresses, options)

    def update_state(self, state: BalancerState) -> None:
        if isinstance(state.picker, _ReleasesLatestPick):
            state.picker.latest = (self.latest,)
        self.parent.update_state(state)

    def resolve_now(self) -> None:
        self.parent.resolve_now()


class LrDoneReleasesLatestPick(LeastRequestBalancer):
    """Counts a finished RPC down on the endpoint of the policy's latest pick instead of the
    RPC's own (state shared where a per-RPC closure was needed), so counts drift from one
    endpoint to another (breaks LR-8)."""

    def __init__(
        self, cc: ClientConn, options: BuildOptions, child_builder: Builder, selection: Any
    ) -> None:
        super().__init__(_SharingLatestPick(cc), options, child_builder, selection)


class _PenaltyOverUtilizationWeight(EndpointWeight):
    def on_load_report(self, report: OrcaLoadReport, now: Duration) -> None:
        utilization = report.application_utilization or report.cpu_utilization
        if utilization and report.rps_fractional:
            # the bug: eps / utilization instead of eps / qps
            eps = report.eps / utilization * report.rps_fractional
            report = attrs.evolve(report, eps=eps)
        super().on_load_report(report, now)


class _PenaltyOverUtilization(WeightedRoundRobinBalancer):
    endpoint_weight_type = _PenaltyOverUtilizationWeight


class WrrPenaltyOverUtilization(_WrrBuilding):
    """Computes the error penalty as eps / utilization instead of eps / qps (breaks WRR-5)."""

    balancer_type = _PenaltyOverUtilization


class _ExpiryKeepsRunWeight(EndpointWeight):
    def weight_at(self, now: int, expiration: int, blackout: int) -> float:
        with self._lock:
            since = self._non_empty_since
        weight = super().weight_at(now, expiration, blackout)
        with self._lock:
            if self._non_empty_since is None and since is not None:
                self._non_empty_since = since  # the bug: an expired lookup keeps the run
        return weight


class _ExpiryKeepsRun(WeightedRoundRobinBalancer):
    endpoint_weight_type = _ExpiryKeepsRunWeight


class WrrExpiryKeepsBlackoutRun(_WrrBuilding):
    """Returns 0 for an expired weight but keeps the run going, so the next report counts at
    once with no new blackout (breaks WRR-9)."""

    balancer_type = _ExpiryKeepsRun


class _NewConfigForNewEndpointsOnly(WeightedRoundRobinBalancer):
    def _update_endpoints(
        self, endpoints: Sequence[Endpoint], config: WeightedRoundRobinConfig
    ) -> None:
        old = {key: entry.weight.config for key, entry in self._endpoints.items()}
        super()._update_endpoints(endpoints, config)
        for key, entry in self._endpoints.items():
            if key in old:
                entry.weight.update_config(old[key])  # the bug: kept endpoints keep their config


class WrrConfigUpdateSkipsKeptEndpoints(_WrrBuilding):
    """Applies a new config's errorUtilizationPenalty only to endpoints the update adds, so
    endpoints that stay keep computing weights with the old penalty (breaks WRR-5, WRR-1)."""

    balancer_type = _NewConfigForNewEndpointsOnly


class _NeverClosesSwappedOut(GracefulSwitchBalancer):
    def _close_retired(self, child: _SwitchChild) -> None:
        if child in self._retired:
            self._retired.remove(child)  # the bug: forgotten, never closed


class GsSwappedOutPolicyNotClosed(ServiceConfigChannelBuilder):
    """Swaps the pending policy in but never closes the one it replaced, so the old policy's
    connections stay open (breaks GS-7)."""

    def build(self, cc: ClientConn, options: BuildOptions) -> Balancer:
        channel = ServiceConfigChannel(cc, options, self)
        channel.switch = _NeverClosesSwappedOut(cc, options)
        return channel


class _ComparesWithCurrent(GracefulSwitchBalancer):
    def update_client_conn_state(self, state: ClientConnState) -> None:
        config = state.config
        current, pending = self.current, self.pending
        if (
            isinstance(config, SwitchConfig)
            and current is not None
            and current.balancer is not None
            and pending is not None
            and config.name == current.name
        ):
            # the bug: the name is compared with the current child, not the latest
            current.balancer.update_client_conn_state(
                attrs.evolve(state, config=config.child_config)
            )
            return
        super().update_client_conn_state(state)


class GsUpdateComparedWithCurrent(ServiceConfigChannelBuilder):
    """Compares a new config's policy name with the current policy rather than the latest
    (pending) one, so switching back to the running policy while another is pending updates
    the running one in place and leaves the pending switch going ahead (breaks GS-1, GS-2)."""

    def build(self, cc: ClientConn, options: BuildOptions) -> Balancer:
        channel = ServiceConfigChannel(cc, options, self)
        channel.switch = _ComparesWithCurrent(cc, options)
        return channel


def _json_or_none(config: JsonValue) -> JsonValue:
    """A service config as JSON, or None for text that is not JSON (left to the real parser)."""
    if not isinstance(config, str):
        return config
    try:
        parsed: JsonValue = json.loads(config)
    except ValueError:
        return None
    return parsed


class ScValidatesEveryEntry(ServiceConfigChannelBuilder):
    """Checks the shape of every loadBalancingConfig entry before selecting one, so a malformed
    entry after the selected policy makes the service config invalid (breaks SC-2)."""

    def parse_config(self, config: JsonValue) -> ServiceConfig:
        parsed = _json_or_none(config)
        if isinstance(parsed, dict) and isinstance(parsed.get("loadBalancingConfig"), list):
            for index, entry in enumerate(parsed["loadBalancingConfig"]):
                if not isinstance(entry, dict) or len(entry) != 1:  # the bug: all entries
                    raise ServiceConfigError(
                        f"loadBalancingConfig[{index}]", "must have exactly one key"
                    )
        return super().parse_config(config)


class ScMultiKeyEntryTakesFirstKey(ServiceConfigChannelBuilder):
    """Reads an examined loadBalancingConfig entry with several keys by its first key instead
    of rejecting the service config (breaks SC-3)."""

    def parse_config(self, config: JsonValue) -> ServiceConfig:
        parsed = _json_or_none(config)
        if isinstance(parsed, dict) and isinstance(parsed.get("loadBalancingConfig"), list):
            entries = [
                dict([next(iter(e.items()))]) if isinstance(e, dict) and e else e
                for e in parsed["loadBalancingConfig"]
            ]  # the bug: extra keys dropped
            return super().parse_config({**parsed, "loadBalancingConfig": entries})
        return super().parse_config(config)


class WrrLenientOobFlag(_MisreadWrrConfig):
    """Takes enableOobLoadReport by its truthiness, accepting a string or a number instead of
    rejecting the config (breaks WRR-3)."""

    def parse_config(self, config: JsonValue) -> WeightedRoundRobinConfig:
        if isinstance(config, dict) and "enableOobLoadReport" in config:
            flag = config["enableOobLoadReport"]
            if flag is not None and not isinstance(flag, bool):
                config = {**config, "enableOobLoadReport": bool(flag)}  # the bug
        return super().parse_config(config)


class _NullChoiceCountRejected(LeastRequestBuilder):
    def parse_config(self, config: JsonValue) -> LeastRequestConfig:
        if isinstance(config, dict) and "choiceCount" in config and config["choiceCount"] is None:
            raise ConfigError("choiceCount", "must be an integer, got null")  # the bug
        return super().parse_config(config)


class LrNullChoiceCountRejected(_NullChoiceCountRejected):
    """Rejects "choiceCount": null instead of taking the default 2 (breaks LR-1)."""


class PfStickyCountSurvivesNewPass(PickFirstBalancer):
    """Does not reset the count of failures in sticky TRANSIENT_FAILURE when a new pass
    starts, so after an update the next re-report comes after the wrong number of failures
    (breaks PF-16)."""

    def _start_pass(self) -> None:
        failures = self._failures
        super()._start_pass()
        self._failures = failures  # the bug


class PfNullShuffleRejected(PickFirstBuilder):
    """Rejects "shuffleAddressList": null instead of taking it as absent (breaks PF-1)."""

    def parse_config(self, config: JsonValue) -> PickFirstConfig:
        if isinstance(config, dict) and config.get("shuffleAddressList", False) is None:
            raise ConfigError("shuffleAddressList", "must be a boolean, got null")  # the bug
        return super().parse_config(config)


class PfAttemptDelayHalfSecond(PickFirstBuilder):
    """Uses a Connection Attempt Delay of 500 ms instead of the default 250 ms (breaks
    PF-12)."""

    def __init__(self) -> None:
        super().__init__(attempt_delay=Duration.of(millis=500))  # the bug


class PfKeepsReadyOnlyAtSamePosition(PickFirstBalancer):
    """On an update while READY keeps the connection only when its address is still first in
    the new list; anywhere else it drops it (breaks PF-8)."""

    def update_client_conn_state(self, state: ClientConnState) -> None:
        previous = self._current_entry()
        endpoints = state.resolver_state.endpoints
        if (
            previous is not None
            and previous.raw is State.READY
            and endpoints
            and endpoints[0].addresses[0] != previous.address
        ):
            # the bug: treated as removed, as if only the first address could be kept
            others = [e for e in endpoints if previous.address not in e.addresses] or list(
                endpoints
            )
            state = attrs.evolve(
                state,
                resolver_state=attrs.evolve(state.resolver_state, endpoints=tuple(others)),
            )
            super().update_client_conn_state(state)
            return
        super().update_client_conn_state(state)


class _PicksConnectingToo(LeastRequestBalancer):
    def _on_sharding_state(self, state: BalancerState) -> None:
        children = child_states_from_picker(state.picker) or ()
        if self._closed or not any(c.state.state is State.READY for c in children):
            super()._on_sharding_state(state)
            return
        targets = []
        for child in children:  # the bug: every child, not only the READY ones
            counter = self._counters.setdefault(child.key, OutstandingCounter())
            targets.append(PickTarget(child.state.picker, counter))
        picker = self.picker_type(
            targets, self._choice_count, self._options.random, self._selection
        )
        self._cc.update_state(BalancerState(State.READY, picker))


class LrPicksConnectingEndpoints(_PicksConnectingToo):
    """Samples among every endpoint once one is READY, including those still connecting, so
    some RPCs queue behind a connecting endpoint (breaks LR-6, LR-7)."""


class _HoldsPendingIdle(GracefulSwitchBalancer):
    def _child_update_state(self, child: _SwitchChild, state: BalancerState) -> None:
        current = self.current
        if (
            child is self.pending
            and state.state is State.IDLE
            and current is not None
            and current.last_state.state is State.READY
        ):
            child.last_state = state  # the bug: IDLE held back like CONNECTING
            return
        super()._child_update_state(child, state)


class GsHoldsPendingIdle(ServiceConfigChannelBuilder):
    """Holds a pending policy's IDLE report back like CONNECTING while the current policy is
    READY, so a pending policy that went IDLE never takes over (breaks GS-6)."""

    def build(self, cc: ClientConn, options: BuildOptions) -> Balancer:
        channel = ServiceConfigChannel(cc, options, self)
        channel.switch = _HoldsPendingIdle(cc, options)
        return channel


class RrAttributeChangeRebuildsChild(EndpointSharding):
    """Treats an endpoint whose attributes changed as a new endpoint: closes its child and
    builds another, dropping a working connection on an attribute-only update (breaks
    RR-2)."""

    def update_client_conn_state(self, state: ClientConnState) -> None:
        for endpoint in state.resolver_state.endpoints:
            child = self._children.get(endpoint.key)
            if child is not None and child.endpoint.attributes != endpoint.attributes:
                child.close()  # the bug: attributes count in the endpoint's identity
                del self._children[endpoint.key]
        super().update_client_conn_state(state)


class PfHealthConnectingAsReady(PickFirstBalancer):
    """As a health-watching leaf, reports READY while the health state is still CONNECTING
    (the check has not answered yet), so RPCs go to an endpoint not known healthy (breaks
    PF-27, HEALTH-6)."""

    def _on_health(self, entry: _Entry, health: SubConnState) -> None:
        if health.state is State.CONNECTING:
            health = SubConnState(State.READY)  # the bug
        super()._on_health(entry, health)


class PfHealthErrorDropped(PickFirstBalancer):
    """As a health-watching leaf, fails picks with a fixed 'unhealthy' message instead of the
    health check's error (breaks HEALTH-6)."""

    def _on_health(self, entry: _Entry, health: SubConnState) -> None:
        if health.state is State.TRANSIENT_FAILURE:
            # the bug: the error is replaced
            health = SubConnState(State.TRANSIENT_FAILURE, unavailable("endpoint unhealthy"))
        super()._on_health(entry, health)


class RrExitIdleOncePerChild(EndpointSharding):
    """Asks a child to exit IDLE only the first time it reports IDLE, so an endpoint that loses
    its connection a second time is never reconnected (breaks RR-6)."""

    def _exit_idle_soon(self, child: _Child) -> None:
        asked: set[int] = self.__dict__.setdefault("_asked", set())
        if id(child) in asked:
            return  # the bug
        asked.add(id(child))
        super()._exit_idle_soon(child)


class RrResolverErrorBeforeUpdateIgnored(EndpointSharding):
    """Ignores a resolver error that arrives before the first update, leaving the channel
    CONNECTING with queued RPCs instead of failing them (breaks RR-13)."""

    def resolver_error(self, error: Status) -> None:
        if self._children:
            super().resolver_error(error)  # the bug: nothing happens without children


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


def _wrr(
    name: str, cls: type[_MisreadWrrConfig] | type[_MisdefaultedWrrConfig], *breaks: str
) -> Bug:
    return Bug(name, "weighted_round_robin", breaks, cls, _doc(cls))


def _wrr2(name: str, cls: type[_WrrBuilding], *breaks: str) -> Bug:
    return Bug(name, "weighted_round_robin", breaks, cls, _doc(cls))


def _sc(name: str, cls: type[ServiceConfigChannelBuilder], *breaks: str) -> Bug:
    return Bug(name, SERVICE_CONFIG_POLICY, breaks, cls, _doc(cls))


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
        _pf("pf-ignores-shuffle", IgnoresShuffle, "PF-5"),
        _pf("pf-fisher-yates-stops-early", FisherYatesStopsEarly, "PF-5"),
        _pf("pf-shuffle-ignores-weights", ShuffleIgnoresWeights, "PF-5"),
        Bug(
            "pf-accepts-non-boolean-shuffle",
            "pick_first",
            ("PF-1",),
            _LenientConfigBuilder,
            _doc(_LenientConfigBuilder),
        ),
        _rr("rr-picks-non-ready-children", PicksNonReadyChildren, "RR-7", "LB-5"),
        _rr("rr-off-by-one-rotation", OffByOneRotation, "RR-7"),
        _rr("rr-picker-starts-at-first-child", PickerStartsAtFirstChild, "RR-7"),
        _rr("rr-never-rotates", NeverRotates, "RR-12"),
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
        _wrr("wrr-default-blackout-zero", WrrDefaultBlackoutZero, "WRR-1"),
        _wrr("wrr-default-expiration-ten-seconds", WrrDefaultExpirationTenSeconds, "WRR-1"),
        _wrr(
            "wrr-default-update-period-thirty-seconds",
            WrrDefaultUpdatePeriodThirtySeconds,
            "WRR-1",
        ),
        _sc("sc-invalid-config-ignored", ScInvalidConfigIgnored, "SC-10", "SC-11"),
        _sc("sc-bad-policy-config-tries-next-entry", ScBadPolicyConfigTriesNextEntry, "SC-4"),
        _sc("gs-swaps-on-connecting", GsSwapsOnConnecting, "GS-6"),
        _sc("gs-forwards-stale-reresolution", GsForwardsStaleReresolution, "GS-9"),
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
            "lr-choice-count-not-clamped", LrChoiceCountNotClamped, LrChoiceCountNotClamped, "LR-3"
        ),
        _lr(
            "lr-default-choice-count-ten", LrDefaultChoiceCountTen, LrDefaultChoiceCountTen, "LR-1"
        ),
        _lr(
            "lr-counts-survive-reconnect",
            lambda: _least_request_building(balancer=LrCountsSurviveReconnect),
            LrCountsSurviveReconnect,
            "LR-9",
        ),
        # Written by an outside implementer (issue 15).
        _pf("pf-timer-survives-ready", PfTimerSurvivesReady, "PF-19"),
        _pf("pf-lost-keeps-cursor", PfLostKeepsCursor, "PF-20", "PF-21"),
        _pf("pf-exit-idle-restarts-pass", PfExitIdleRestartsPass, "PF-21", "PF-16"),
        _pf(
            "pf-resolver-error-ignored-only-when-ready",
            PfResolverErrorIgnoredOnlyWhenReady,
            "PF-22",
        ),
        _pf("pf-sticky-idle-not-reconnected", PfStickyIdleNotReconnected, "PF-16"),
        _pf("pf-dedup-by-host-port", PfDedupByHostPort, "PF-6"),
        _pf("pf-fails-before-all-failed", PfFailsBeforeAllFailed, "PF-14"),
        _pf("pf-update-while-connecting-no-pass", PfUpdateWhileConnectingNoPass, "PF-10"),
        _rr("rr-empty-update-keeps-children", RrEmptyUpdateKeepsChildren, "RR-4", "RR-3"),
        _rr("rr-existing-children-not-updated", RrExistingChildrenNotUpdated, "RR-2"),
        _rr("rr-duplicate-endpoint-last-wins", RrDuplicateEndpointLastWins, "RR-2"),
        _wrr2("wrr-cpu-utilization-first", WrrCpuUtilizationFirst, "WRR-5"),
        _wrr2("wrr-blackout-from-last-report", WrrBlackoutFromLastReport, "WRR-8"),
        _wrr2("wrr-expiry-from-first-report", WrrExpiryFromFirstReport, "WRR-9"),
        _lr(
            "lr-one-sample-short",
            lambda: _least_request_building(picker=LrOneSampleShort),
            LrOneSampleShort,
            "LR-7",
        ),
        _lr(
            "lr-counts-reset-every-picker",
            lambda: _least_request_building(balancer=LrCountsResetEveryPicker),
            LrCountsResetEveryPicker,
            "LR-9",
        ),
        _lr(
            "lr-choice-count-below-two-raised",
            LrChoiceCountBelowTwoRaised,
            LrChoiceCountBelowTwoRaised,
            "LR-2",
        ),
        _sc("gs-current-leaving-ready-not-swapped", GsCurrentLeavingReadyNotSwapped, "GS-5"),
        _sc("gs-swaps-only-on-ready", GsSwapsOnlyOnReady, "GS-6"),
        _pf("pf-lost-keeps-racing-attempts", PfLostKeepsRacingAttempts, "PF-20"),
        Bug(
            "pf-health-failure-as-connecting",
            "round_robin",
            ("PF-27", "HEALTH-6"),
            lambda: _round_robin_building(leaf=PfHealthFailureAsConnecting),
            _doc(PfHealthFailureAsConnecting),
        ),
        _pf("pf-empty-update-keeps-subchannels", PfEmptyUpdateKeepsSubchannels, "PF-2"),
        _rr(
            "rr-children-lose-resolver-attributes",
            RrChildrenLoseResolverAttributes,
            "RR-1",
            "HEALTH-4",
        ),
        _lr(
            "lr-done-releases-latest-pick",
            lambda: _least_request_building(LrDoneReleasesLatestPick, _ReleasesLatestPick),
            LrDoneReleasesLatestPick,
            "LR-8",
        ),
        _wrr2("wrr-penalty-over-utilization", WrrPenaltyOverUtilization, "WRR-5"),
        _wrr2("wrr-expiry-keeps-blackout-run", WrrExpiryKeepsBlackoutRun, "WRR-9"),
        _wrr2(
            "wrr-config-update-skips-kept-endpoints",
            WrrConfigUpdateSkipsKeptEndpoints,
            "WRR-5",
            "WRR-1",
        ),
        _sc("gs-swapped-out-policy-not-closed", GsSwappedOutPolicyNotClosed, "GS-7"),
        _sc("gs-update-compared-with-current", GsUpdateComparedWithCurrent, "GS-1", "GS-2"),
        _sc("sc-validates-every-entry", ScValidatesEveryEntry, "SC-2"),
        _sc("sc-multi-key-entry-takes-first-key", ScMultiKeyEntryTakesFirstKey, "SC-3"),
        Bug(
            "wrr-lenient-oob-flag",
            "weighted_round_robin",
            ("WRR-3",),
            WrrLenientOobFlag,
            _doc(WrrLenientOobFlag),
        ),
        _lr(
            "lr-null-choice-count-rejected",
            LrNullChoiceCountRejected,
            LrNullChoiceCountRejected,
            "LR-1",
        ),
        _pf("pf-sticky-count-survives-new-pass", PfStickyCountSurvivesNewPass, "PF-16"),
        Bug(
            "pf-null-shuffle-rejected",
            "pick_first",
            ("PF-1",),
            PfNullShuffleRejected,
            _doc(PfNullShuffleRejected),
        ),
        Bug(
            "pf-attempt-delay-half-second",
            "pick_first",
            ("PF-12",),
            PfAttemptDelayHalfSecond,
            _doc(PfAttemptDelayHalfSecond),
        ),
        _pf("pf-keeps-ready-only-at-same-position", PfKeepsReadyOnlyAtSamePosition, "PF-8"),
        _lr(
            "lr-picks-connecting-endpoints",
            lambda: _least_request_building(balancer=LrPicksConnectingEndpoints),
            LrPicksConnectingEndpoints,
            "LR-6",
            "LR-7",
        ),
        _sc("gs-holds-pending-idle", GsHoldsPendingIdle, "GS-6"),
        _rr("rr-attribute-change-rebuilds-child", RrAttributeChangeRebuildsChild, "RR-2"),
        Bug(
            "pf-health-connecting-as-ready",
            "round_robin",
            ("PF-27", "HEALTH-6"),
            lambda: _round_robin_building(leaf=PfHealthConnectingAsReady),
            _doc(PfHealthConnectingAsReady),
        ),
        Bug(
            "pf-health-error-dropped",
            "round_robin",
            ("HEALTH-6",),
            lambda: _round_robin_building(leaf=PfHealthErrorDropped),
            _doc(PfHealthErrorDropped),
        ),
        _rr("rr-exit-idle-once-per-child", RrExitIdleOncePerChild, "RR-6"),
        _rr(
            "rr-resolver-error-before-update-ignored",
            RrResolverErrorBeforeUpdateIgnored,
            "RR-13",
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
        return self.bug.builder() if policy == self.bug.policy else super().builder_for(policy)


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
