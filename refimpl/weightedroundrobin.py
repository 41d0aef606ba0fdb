"""The weighted_round_robin policy (gRFC A58): round robin weighted by ORCA load reports.

Requirements WRR-1..WRR-19 (``spec/catalogue/weighted_round_robin.py``);
grpc-go ``balancer/weightedroundrobin`` (balancer.go, scheduler.go, config.go)
restated:

* Config (WRR-1..WRR-4): A58's fields and defaults; durations are protobuf
  JSON (``"1.5s"``) parsed by :meth:`spec.types.Duration.parse`;
  ``weightUpdatePeriod`` is raised to at least 100 ms; a negative
  ``errorUtilizationPenalty`` is an error.
* Weights (WRR-5..WRR-11): each endpoint keeps an :class:`EndpointWeight` fed by
  ORCA load reports, per call (the Done callback's ``DoneInfo.load_report``)
  or out of band (``SubConn.register_oob_listener`` on its READY subchannel).
  weight = qps / (utilization + eps / qps * penalty).  The blackout, the
  expiry and the reset when the endpoint's subchannel becomes READY again all
  read the injected clock.
* Scheduler (WRR-12..WRR-18): the picker serves the READY endpoints; it builds
  a scheduler when made and rebuilds it every ``weightUpdatePeriod`` through
  ``BuildOptions.clock.call_later``.  The scheduler is gRPC's static stride
  scheduler by default, or the project seed's smooth weighted round robin
  (:mod:`refimpl.wrr_scheduler`, which says why gRPC prefers the former).

Where this reference departs from grpc-go (each allowed by the spec): weights
are clamped to [0.01, 10] x their mean as grpc C++ does (WRR-15, so a pick is
O(1) amortised); durations must be non-negative with digits before the point
(WRR-3); an update without a config raises :class:`BadResolverStateError`
where grpc-go returns a plain error (WRR-4).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence

import attrs

from refimpl.balancer import (
    Complete,
    ConfigError,
    DoneInfo,
    JsonValue,
    Picker,
    PickInfo,
    PickResult,
)
from refimpl.clock import Clock, Timer
from refimpl.wrr_scheduler import (
    CPP_RATIO_CAPS,
    RatioCaps,
    Scheduler,
    SchedulerKind,
    SequenceCounter,
    build_scheduler,
)
from spec.errors import ModelError
from spec.types import Duration, OrcaLoadReport

NAME = "weighted_round_robin"
MIN_WEIGHT_UPDATE_PERIOD = Duration.of(millis=100)  # WRR-2
# google.protobuf.Duration's range (grpc-go internal/serviceconfig/duration.go, maxProtoSeconds).
_MAX_DURATION = Duration.of(seconds=315_576_000_000)


def _check_penalty(_inst: object, _a: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError("errorUtilizationPenalty", f"must be a number, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ConfigError("errorUtilizationPenalty", f"must be >= 0, got {value!r}")  # WRR-3


def _check_duration(_inst: object, attribute: attrs.Attribute[Duration], value: Duration) -> None:
    if not isinstance(value, Duration):
        raise ConfigError(attribute.name, f"must be a Duration, got {value!r}")


def _at_least_min_update_period(value: Duration) -> Duration:
    """WRR-2: a shorter weightUpdatePeriod is raised to 100 ms."""
    if isinstance(value, Duration) and value < MIN_WEIGHT_UPDATE_PERIOD:
        return MIN_WEIGHT_UPDATE_PERIOD
    return value


_TEN_SECONDS = Duration.of(seconds=10)


@attrs.frozen
class WeightedRoundRobinConfig:
    """The parsed config (WRR-1); ``weight_update_period`` is at least 100 ms (WRR-2)."""

    enable_oob_load_report: bool = attrs.field(
        default=False, validator=attrs.validators.instance_of(bool)
    )
    oob_reporting_period: Duration = attrs.field(default=_TEN_SECONDS, validator=_check_duration)
    blackout_period: Duration = attrs.field(default=_TEN_SECONDS, validator=_check_duration)
    weight_expiration_period: Duration = attrs.field(
        default=Duration.of(seconds=180), validator=_check_duration
    )
    weight_update_period: Duration = attrs.field(
        default=Duration.of(seconds=1),
        converter=_at_least_min_update_period,
        validator=_check_duration,
    )
    error_utilization_penalty: float = attrs.field(default=1.0, validator=_check_penalty)


def _duration_field(raw: dict[str, JsonValue], name: str, default: Duration) -> Duration:
    text = raw.get(name)
    if text is None:
        return default
    try:
        duration = Duration.parse(text, name)
    except ModelError as err:
        raise ConfigError(name, err.problem) from None
    if duration > _MAX_DURATION:
        raise ConfigError(name, f"beyond the protobuf Duration range: {text!r}")
    return duration


def parse_config(raw: JsonValue) -> WeightedRoundRobinConfig:
    """Parse the JSON config (WRR-1..WRR-3); a bad one raises :class:`ConfigError`.

    Unknown fields are ignored; JSON null means "not set" (protobuf JSON).
    """
    if not isinstance(raw, dict):
        raise ConfigError("", f"weighted_round_robin config must be a JSON object: {raw!r}")
    defaults = WeightedRoundRobinConfig()
    enable = raw.get("enableOobLoadReport")
    if enable is None:
        enable = defaults.enable_oob_load_report
    elif not isinstance(enable, bool):
        raise ConfigError("enableOobLoadReport", f"must be true or false, got {enable!r}")
    penalty = raw.get("errorUtilizationPenalty")
    return WeightedRoundRobinConfig(
        enable_oob_load_report=enable,
        oob_reporting_period=_duration_field(
            raw, "oobReportingPeriod", defaults.oob_reporting_period
        ),
        blackout_period=_duration_field(raw, "blackoutPeriod", defaults.blackout_period),
        weight_expiration_period=_duration_field(
            raw, "weightExpirationPeriod", defaults.weight_expiration_period
        ),
        weight_update_period=_duration_field(
            raw, "weightUpdatePeriod", defaults.weight_update_period
        ),
        error_utilization_penalty=(
            defaults.error_utilization_penalty if penalty is None else penalty
        ),
    )


def load_report_weight(report: OrcaLoadReport, penalty: float) -> float | None:
    """WRR-5: the weight a report gives, or None when it must be ignored."""
    utilization = report.application_utilization
    if utilization == 0:
        utilization = report.cpu_utilization
    qps = report.rps_fractional
    if utilization == 0 or qps == 0:
        return None
    return qps / (utilization + report.eps / qps * penalty)


class EndpointWeight:
    """One endpoint's weight and the two timestamps of A58's GetWeight (WRR-5..WRR-10).

    Reports arrive from Done callbacks (any thread) and OOB listeners; the
    scheduler reads the weight on timer callbacks.  A lock keeps them apart.
    """

    def __init__(self, config: WeightedRoundRobinConfig) -> None:
        self._lock = threading.Lock()
        self.config = config
        self._weight = 0.0
        self._last_updated: Duration | None = None
        self._non_empty_since: Duration | None = None

    def update_config(self, config: WeightedRoundRobinConfig) -> None:
        with self._lock:
            self.config = config

    def on_load_report(self, report: OrcaLoadReport, now: Duration) -> None:
        """WRR-5: accept or ignore one report."""
        with self._lock:
            weight = load_report_weight(report, self.config.error_utilization_penalty)
            if weight is None:
                return
            self._weight = weight
            self._last_updated = now
            if self._non_empty_since is None:
                self._non_empty_since = now  # the run starts (WRR-8)

    def on_ready(self) -> None:
        """WRR-10: the endpoint's subchannel became READY again; forget the old run."""
        with self._lock:
            self._last_updated = None
            self._non_empty_since = None

    def weight(self, now: Duration, expiration: Duration, blackout: Duration) -> float:
        """The effective weight (WRR-8, WRR-9); 0 means unknown."""
        with self._lock:
            if self._last_updated is None:
                return 0.0
            if now.nanos - self._last_updated.nanos >= expiration.nanos:
                self._non_empty_since = None  # WRR-9: the next report starts a new blackout
                return 0.0
            since = self._non_empty_since
            if blackout.nanos and (since is None or now.nanos - since.nanos < blackout.nanos):
                return 0.0
            return self._weight


@attrs.frozen
class WeightedTarget:
    """A READY endpoint as the picker sees it: its child's picker and its weight."""

    picker: Picker
    weight: EndpointWeight


class WeightedRoundRobinPicker(Picker):
    """Serves the READY endpoints through a scheduler rebuilt on a timer (WRR-12).

    :meth:`start` builds the first scheduler and, with two or more endpoints,
    arms the rebuild timer; :meth:`stop` cancels it.  ``pick`` reads the current
    scheduler once, so a concurrent rebuild never mixes two schedulers in a pick.
    """

    def __init__(
        self,
        targets: Sequence[WeightedTarget],
        config: WeightedRoundRobinConfig,
        clock: Clock,
        start: int,
        kind: SchedulerKind = SchedulerKind.STATIC_STRIDE,
        caps: RatioCaps | None = CPP_RATIO_CAPS,
    ) -> None:
        if not targets:
            raise ValueError("a weighted picker needs at least one READY endpoint")
        self.targets = tuple(targets)
        self.config = config
        self._clock = clock
        self._counter = SequenceCounter(start)  # shared by every scheduler of this picker
        self._kind = kind
        self._caps = caps
        self._timer: Timer | None = None
        self._stopped = False
        self.scheduler: Scheduler = self._build()

    def weights(self) -> list[float]:
        """Every endpoint's effective weight now (each read may end an expired run, WRR-9)."""
        now = self._clock.now()
        cfg = self.config
        return [
            t.weight.weight(now, cfg.weight_expiration_period, cfg.blackout_period)
            for t in self.targets
        ]

    def _build(self) -> Scheduler:
        return build_scheduler(self._kind, self.weights(), self._counter, self._caps)

    def start(self) -> None:
        """Arm the rebuild timer (WRR-12); a single endpoint needs none."""
        if len(self.targets) >= 2 and not self._stopped:
            self._timer = self._clock.call_later(self.config.weight_update_period, self._rebuild)

    def stop(self) -> None:
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _rebuild(self) -> None:
        if self._stopped:
            return
        self.scheduler = self._build()
        self._timer = self._clock.call_later(self.config.weight_update_period, self._rebuild)

    def pick(self, info: PickInfo) -> PickResult:
        target = self.targets[self.scheduler.next_index()]
        result = target.picker.pick(info)
        if not isinstance(result, Complete) or self.config.enable_oob_load_report:
            return result  # WRR-6: with OOB reporting on, per-call reports are not read
        weight, clock, child_done = target.weight, self._clock, result.done

        def done(done_info: DoneInfo) -> None:
            if done_info.load_report is not None:
                weight.on_load_report(done_info.load_report, clock.now())  # WRR-6
            if child_done is not None:
                child_done(done_info)

        return attrs.evolve(result, done=done)
