"""The least_request_experimental monitor (area LR; gRFC A48), written from the spec alone.

It keeps the outstanding-request count of every endpoint the way LR-8 and LR-9
define it -- +1 for each pick completed on the endpoint, -1 when that RPC's
Done arrives, and a fresh count of zero each time the endpoint becomes READY
again -- and judges the picks against it:

* LR-1..LR-5: config outcomes (invalid or missing configs are rejected, valid
  ones are not).
* LR-6: while a least-request picker is installed, every pick completes on one
  of the endpoints that were READY when it was built.
* LR-10 (statistical, the default ``selection="sample"``): with k =
  choiceCount, n endpoints and these counts, endpoint i is chosen with
  probability ``((a/n)**k - (b/n)**k) / m``, where a, b and m are the numbers
  of endpoints whose count is >=, > and == that of i (the earliest sample of the
  smallest sampled count wins, LR-7).  For each endpoint, and for "the pick was
  not of a least-loaded endpoint", the observed number of picks over the whole
  trace must stay within :func:`freedman_bound` of the sum of these
  probabilities.  Freedman's inequality for martingales holds whatever the
  history, so the bound is valid for any number of picks; it only needs many
  picks to have power (about 1000 picks tell 1/4 from 1/2 or 0).
* LR-11 (``selection="full_scan"``, the project seed's variant): every pick is of
  a least-loaded endpoint.  This is where the accounting of LR-8/LR-9 is judged
  exactly: a policy that forgot a decrement, or let an old RPC's Done touch a
  new count, soon picks an endpoint the trace says is more loaded.

Option ``count_lifetime`` (:class:`CountLifetime`): LR-9 as A48 states it (a
count is dropped as soon as its endpoint is not READY), or as grpc-go does it
(dropped only when a picker with some READY endpoint is next built); an adapter
declares ``least_request_experimental.count_lifetime=grpc_go``.

Once two endpoints of an update share an address the trace no longer says
which endpoint a subchannel serves, and picks are not judged from then on
(:mod:`spec.monitors.ready_endpoints`).

How this monitor is derived
---------------------------
An independent statement, not a mirror of ``refimpl/least_request.py`` (issue
17).  The reference samples choiceCount random endpoints (or scans them all) and
keeps one atomic counter per endpoint that its pickers share.  The monitor never
samples: for ``sample`` it computes each endpoint's exact LR-10 probability
from the counts and bounds the observed picks with Freedman's inequality
(statistics over the whole trace); for ``full_scan`` it checks the LR-11
invariant that every pick is of a least-loaded endpoint.  The counts are the
LR-8/LR-9 text (+1 per completed pick, -1 per Done of that pick, fresh when the
endpoint is READY again).  Here the shape is shared: ``_new_picker`` keeps the
counts of READY endpoints and starts the others at zero, as the reference's
``_on_sharding_state`` does, because both state the one LR-9 sentence; the
monitor adds the lifetimes grpc-go and grpc-java use (option count_lifetime),
and the verdicts built on the counts (LR-10, LR-11) are its own.  LR-6 is a
membership invariant;
LR-1..LR-5 are judged by the monitor's own config reading.

"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import attrs

from spec import actions as act
from spec import events as ev
from spec.connectivity import State
from spec.errors import ModelError
from spec.monitors.ready_endpoints import EndpointKey, IdentityNumbering, ReadyEndpoints
from spec.options import CountLifetime as CountLifetime  # re-exported: its old home
from spec.trace import Step, Violation

DEFAULT_CHOICE_COUNT = 2  # LR-1
MAX_CHOICE_COUNT = 10  # LR-3
_UINT32_MAX = 2**32 - 1
CONFIDENCE = 1e-9  # LR-10: chance that a correct policy is flagged, per statistic

Selection = Literal["sample", "full_scan"]


def parse_choice_count(raw: Any) -> int:
    """LR-1..LR-4.  Raises :class:`ModelError` naming the field for a bad config."""
    if not isinstance(raw, dict):
        raise ModelError("least_request_experimental", f"config must be a JSON object, got {raw!r}")
    value = raw.get("choiceCount")
    if value is None:
        return DEFAULT_CHOICE_COUNT
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _UINT32_MAX:
        raise ModelError("choiceCount", f"must be an unsigned 32-bit integer, got {value!r}")
    if value < 2:
        raise ModelError("choiceCount", f"must be >= 2, got {value}")
    return min(value, MAX_CHOICE_COUNT)


def choice_probabilities(counts: list[int], choice_count: int) -> list[float]:
    """LR-10: the chance that a pick chooses each endpoint, given the counts."""
    n = len(counts)
    probabilities = []
    for c in counts:
        at_least = sum(1 for x in counts if x >= c)
        above = sum(1 for x in counts if x > c)
        probabilities.append(
            ((at_least / n) ** choice_count - (above / n) ** choice_count) / (at_least - above)
        )
    return probabilities


def _same(ident: int) -> int:
    return ident


def freedman_bound(variance: float) -> float:
    """How far a sum of picks may stray from its expectation (LR-10).

    Freedman's inequality: for a martingale with steps bounded by 1 and summed
    conditional variance at most v, P(|S| >= t) <= 2 exp(-t^2 / (2 (v + t/3))).
    Rounding v up to a power of two and a union over the 32 powers keeps it valid
    when v is the observed variance; ``L = ln(64 / CONFIDENCE)``.
    """
    v = 1.0
    while v < variance:
        v *= 2
    big_l = math.log(64 / CONFIDENCE)
    return big_l / 3 + math.sqrt(big_l * big_l / 9 + 2 * v * big_l)


@attrs.define
class _Count:
    """One endpoint's outstanding RPCs since it last became READY."""

    value: int = 0


@attrs.define
class _Tally:
    """Observed and expected picks of one statistic, and the summed variance."""

    observed: int = 0
    expected: float = 0.0
    variance: float = 0.0

    def add(self, happened: bool, probability: float) -> None:
        self.observed += happened
        self.expected += probability
        self.variance += probability * (1 - probability)


@attrs.define
class _Picker:
    keys: list[EndpointKey]
    counts: list[_Count]
    choice_count: int


class LeastRequestMonitor:
    """Judges the least_request_experimental rules of a trace."""

    def __init__(
        self,
        *,
        selection: Selection = "sample",
        count_lifetime: CountLifetime = CountLifetime.WHILE_READY,
        health_checking: bool = False,
    ) -> None:
        if selection not in ("sample", "full_scan"):
            raise ModelError("LeastRequestMonitor.selection", f"unknown selection {selection!r}")
        if not isinstance(count_lifetime, CountLifetime):
            raise ModelError("LeastRequestMonitor.count_lifetime", f"got {count_lifetime!r}")
        self.selection = selection
        self.count_lifetime = count_lifetime
        self.view = ReadyEndpoints(health_checking=health_checking)
        self.choice_count: int | None = None
        self.counts: dict[EndpointKey, _Count] = {}
        self.picker: _Picker | None = None
        self.outstanding: dict[int, _Count] = {}  # pick id -> the count its Done lowers
        self.per_endpoint: dict[EndpointKey, _Tally] = {}
        self.not_least: _Tally = _Tally()
        self.violations: list[Violation] = []

    def observe(self, index: int, step: Step) -> list[Violation]:
        self.violations = []
        event = step.input
        outcome = self._resolver_update(event) if isinstance(event, ev.ResolverUpdate) else None
        if isinstance(event, ev.Done):
            count = self.outstanding.pop(event.pick_id, None)
            if count is not None:
                count.value -= 1  # LR-8: whatever the status
        self.view.apply_input(event)
        rejected = False
        for output in step.outputs:
            self.view.apply_output(output)
            rejected |= isinstance(output, act.UpdateRejected)
            if isinstance(output, act.UpdateState):
                self._new_picker(output.state)
            elif isinstance(output, act.PickComplete | act.PickQueue | act.PickFail | act.PickDrop):
                self._pick(index, output)
        if outcome is not None:
            must_reject, requirement, what = outcome
            if must_reject != rejected:
                verb = "was rejected" if rejected else "was not rejected"
                self.violations.append(Violation(requirement, index, f"{what} {verb}"))
        if isinstance(event, ev.Close):
            self.picker = None
        return self.violations

    def finish(self) -> list[Violation]:
        if self.selection != "sample":
            return []
        found = []
        tallies = [(f"picks of endpoint {sorted(k)}", t) for k, t in self.per_endpoint.items()]
        tallies.append(("picks not of a least-loaded endpoint", self.not_least))
        for what, tally in tallies:
            bound = freedman_bound(tally.variance)
            if abs(tally.observed - tally.expected) >= bound:
                found.append(
                    Violation(
                        "LR-10",
                        -1,
                        f"{what}: observed {tally.observed}, expected {tally.expected:.1f} "
                        f"(tolerance {bound:.1f} for variance {tally.variance:.1f})",
                    )
                )
        return found

    def canonical_state(
        self, name: Callable[[int], int], pick: Callable[[int], int] = _same
    ) -> tuple[Any, ...]:
        """What later judging depends on, subchannels renamed by ``name`` and the IDs of
        unfinished picks by ``pick`` (conformance explore; docs/explore.md argues it).

        A count may be shared (the endpoint's, a picker's, an unfinished pick's whose Done
        lowers it) and may outlive its endpoint; each is rendered once, in a canonical
        order, and referred to by its place.  The LR-10 tallies are kept exactly: the
        verdict at the end of the trace reads them.
        """
        counts: IdentityNumbering[_Count] = IdentityNumbering()
        ref = counts.number

        by_key = tuple(
            (key, ref(c))
            for key, c in sorted((tuple(sorted(k)), c) for k, c in self.counts.items())
        )
        picker: tuple[Any, ...] | None = None
        if self.picker is not None:
            p = self.picker
            keys = tuple(tuple(sorted(k)) for k in p.keys)
            picker = (keys, tuple(ref(c) for c in p.counts), p.choice_count)
        outstanding = tuple((pick(i), ref(c)) for i, c in sorted(self.outstanding.items()))
        tallies = tuple(
            sorted(
                (tuple(sorted(k)), t.observed, t.expected, t.variance)
                for k, t in self.per_endpoint.items()
            )
        )
        nl = self.not_least
        return (
            self.view.canonical_state(name),
            self.selection,
            self.count_lifetime,
            self.choice_count,
            by_key,
            picker,
            tuple(sorted(outstanding)),
            tuple(c.value for c in counts.seen),
            tallies,
            (nl.observed, nl.expected, nl.variance),
        )

    def _resolver_update(self, event: ev.ResolverUpdate) -> tuple[bool, str, str] | None:
        if event.config is None:
            return True, "LR-5", "an update without a config"
        try:
            choice_count = parse_choice_count(event.config)
        except ModelError as err:
            small = isinstance(event.config, dict) and _is_small_int(
                event.config.get("choiceCount")
            )
            outcome = True, "LR-2" if small else "LR-4", f"invalid config ({err})"
            if self.choice_count is None:
                return outcome  # the channel never calls the policy
        else:
            self.choice_count = choice_count
            outcome = False, "LR-1", f"a valid config {event.config!r}"
        self.view.set_endpoints(event.endpoints)
        # An update without endpoints is rejected by endpointsharding (round_robin's rules).
        return outcome if self.view.endpoints else None

    def _new_picker(self, state: State) -> None:
        ready = self.view.ready_keys()
        # LR-9: a count lives while its endpoint stays READY (grpc-go: until a picker
        # with some READY endpoint is built without it; grpc-java: while the endpoint's
        # child exists, LeastRequestLoadBalancer.java LeastRequestLbState).
        if self.count_lifetime is CountLifetime.CHILD_LIFETIME:
            listed = {e.key for e in self.view.endpoints}
            self.counts = {k: c for k, c in self.counts.items() if k in listed}
        elif self.count_lifetime is CountLifetime.WHILE_READY or ready:
            self.counts = {k: c for k, c in self.counts.items() if k in ready}
        self.picker = None
        if state is State.READY and ready and self.choice_count is not None:
            counts = [self.counts.setdefault(k, _Count()) for k in ready]
            self.picker = _Picker(ready, counts, self.choice_count)

    def _pick(self, index: int, outcome: act.PickOutcome) -> None:
        picker = self.picker
        if picker is None or self.view.ambiguous:
            return  # the round_robin picker passes through, or the trace cannot tell
        if not isinstance(outcome, act.PickComplete):
            self.violations.append(
                Violation(
                    "LR-6",
                    index,
                    f"pick {outcome.pick_id} got {type(outcome).__name__} from a "
                    "least-request picker over READY endpoints",
                )
            )
            return
        key = self.view.endpoint_of.get(outcome.subchannel)
        if key not in picker.keys:
            self.violations.append(
                Violation(
                    "LR-6",
                    index,
                    f"pick {outcome.pick_id} chose subchannel {outcome.subchannel}, not one of "
                    "the picker's READY endpoints",
                )
            )
            return
        slot = picker.keys.index(key)
        counts = [c.value for c in picker.counts]
        least = min(counts)
        if self.selection == "full_scan":
            if counts[slot] != least:
                self.violations.append(
                    Violation(
                        "LR-11",
                        index,
                        f"pick {outcome.pick_id} chose an endpoint with {counts[slot]} "
                        f"outstanding RPCs; counts were {counts}",
                    )
                )
        else:
            probabilities = choice_probabilities(counts, picker.choice_count)
            for i, k in enumerate(picker.keys):
                self.per_endpoint.setdefault(k, _Tally()).add(i == slot, probabilities[i])
            above = sum(1 for c in counts if c > least)
            self.not_least.add(counts[slot] != least, (above / len(counts)) ** picker.choice_count)
        picker.counts[slot].value += 1  # LR-8
        self.outstanding[outcome.pick_id] = picker.counts[slot]


def _is_small_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2


MONITOR = LeastRequestMonitor  # for conformance/monitors.py
