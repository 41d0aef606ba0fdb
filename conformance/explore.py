"""Bounded exhaustive exploration: every legal input sequence up to a depth, judged by the monitors.

Where ``fuzz`` samples input sequences, ``explore`` visits every abstract state an
implementation can reach in at most ``depth`` inputs from a small *alphabet*
(:func:`alphabet`), breadth-first, in the style of explicit-state model checkers
(TLC, stateright):

* **graph, not tree**: each state gets a canonical key (:func:`state_key`): the spec
  monitors' own canonical state, subchannels renamed and times made relative.  A
  state seen before is not expanded again.  docs/explore.md argues why this is sound.
  For the reference in-process, ``Bounds.implementation_state`` adds the reference's
  own state (conformance/adapters/refimpl_state.py), so that paths it remembers differently are
  not merged.
* **shortest counterexamples**: the search goes level by level and stops at the first
  level with a violation, so the violating sequence it writes out as a case file (which
  ``conformance run`` replays) is a shortest one.
* **black boxes**: an implementation is only reached through the adapter protocol
  (v1, unchanged).  A state is re-entered by replaying its shortest path in a fresh
  case (``begin`` ... ``end``); so the adapter must have virtual time and seedable
  randomness, or a replay would not reach the same state.
* **scale**: ``jobs`` worker processes expand one level's states in parallel;
  ``shard=(i, n)`` explores a deterministic ``n``-th of the search (split at the
  first level with enough states), and shard results merge (:func:`merge`).

The bounds (policy, endpoints, depth, the alphabet) are part of every result: a clean
result is the claim "no sequence of at most ``depth`` inputs from this alphabet, on
these endpoints, violates the spec", nothing more.
"""

from __future__ import annotations

import argparse
import enum
import functools
import hashlib
import inspect
import itertools
import json
import multiprocessing
import re
import shlex
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from conformance import snapshot, wire
from conformance.across import across_from_json
from conformance.cases import Capability, Case, CaseStep, ChannelOptions, capabilities_needed
from conformance.errors import AdapterError, CaseError, UsageError
from conformance.runner import DEFAULT_STEP_TIMEOUT, AdapterSession, CaseFailedError, CaseRun
from conformance.transport import SubprocessTransport, Transport
from spec import actions as act
from spec import events as ev
from spec.connectivity import (
    SUBCHANNEL_TRANSITIONS,
    BackoffEnd,
    Profile,
    State,
    Transition,
    backoff_end_values,
    transitions,
)
from spec.errors import ModelError
from spec.monitors import weighted_round_robin as wrr_spec  # (the name parse_config is ours)
from spec.monitors.boundary import BoundaryMonitor
from spec.options import option as spec_option
from spec.trace import Monitor, Step
from spec.types import Address, Duration, Status, StatusCode

ADAPTER_FAILED = "CONF-10"  # the input was legal and the adapter failed on it
SHARD_SPLIT_FACTOR = 4  # split the search where a level has at least 4 states per shard

# --- The alphabet: every input the explorer may send, per state ---

CONNECTION_ERROR = {"code": "UNAVAILABLE", "message": "connection refused"}
HEALTH_ERROR = {"code": "UNAVAILABLE", "message": "health check failed"}
INVALID_PF_CONFIG = {"shuffleAddressList": "yes"}  # PF-1: not a boolean
NULL_PF_CONFIG = {"shuffleAddressList": None}  # PF-1: null counts as absent
INVALID_WRR_FLAG = {"enableOobLoadReport": "yes"}  # WRR-3: not a boolean, rejected
# PF-6: the same host:port with a server name is another address (pick_first's lists only).
SERVER_NAME = "backend.example"
# Timer periods of each policy, in case-file durations: time advances by one of these,
# so a timer set by the policy fires exactly (pick_first's Happy Eyeballs delay, PF-12).
# weighted_round_robin's come from its config (time_steps): the update period, and the
# blackout and the expiry each plus one update period, so that the scheduler rebuilt
# after the blackout ended or the weight expired is in force (WRR-8, WRR-9, WRR-12),
# and the expiry minus one update period, the last rebuild before a weight reported now
# expires, so that a weight reported later than another is still in force when the
# other has expired (WRR-9 counts from the last report).
DEFAULT_TIME_STEPS = ("0.25s",)
# Load reports (gRFC A51) the alphabet sends, per call with a Done or out of band: a
# light backend (weight 100 / 0.1 = 1000) and one as light that fails half of its calls
# (errors per second 100: weight 100 / (0.1 + 100 / 100 * penalty), 90.9 with the default
# penalty 1, WRR-5).  Two reporting endpoints then have weights 11 to 1, far from equal.
# The light one also reports a CPU utilization of 0.9, which WRR-5 ignores since the
# application utilization is set (gRFC A58): read the other way round, its weight is 111
# and the two are about equal.
LOAD_REPORTS: tuple[wire.JsonObject, ...] = (
    {"rps_fractional": 100, "application_utilization": 0.1, "cpu_utilization": 0.9},
    {"rps_fractional": 100, "application_utilization": 0.1, "eps": 100},
)
# A *burst*: many picks in one input of the alphabet, for the rules that judge a run of
# picks rather than one (WRR-13 and WRR-16: windows of a scheduler's picks; LR-10: the
# law of the picks, at the end of the trace).  Offered only while the channel is READY
# with at least two READY subchannels (with one, every such rule holds trivially), and
# always as the last input of a sequence: its end state is judged, not explored further.
# weighted_round_robin: wrr_burst_picks, from the weights the alphabet's reports give
# (61 picks with the default config): the lightest endpoint is due more picks than
# WRR-16's tolerance plus one, so a scheduler that serves it once or never (its weight
# off by an order of magnitude) leaves the tolerance; with weights 11 to 1 served in
# equal shares (or the reverse) each pick adds 0.42 to the deviation, and 10 picks leave
# WRR-13's tolerance (2) or WRR-16's (4 and the rounding term).  These windows are
# bounds for any correct scheduler, so this is no statistics.
# least_request: 1000 picks, each finished at once (a Done), so the counts stay as the
# sequence left them: a share of 3/4 where the spec says 1/2 (or the reverse) misses by
# about 250 picks, against LR-10's Freedman tolerance of 121.5 (variance 250, below 256;
# false alarms below 1e-9 per statistic), about ten standard deviations.
BURST = "burst"  # the alphabet's own input type, expanded into picks (expand)
BURSTS: dict[str, tuple[int, bool]] = {  # policy -> (picks, each finished by a Done)
    "least_request_experimental": (1000, True),
}  # weighted_round_robin: (wrr_burst_picks(config), False), see burst_of
# The config every resolver update carries, for policies that need one (and the monitors).
POLICY_CONFIGS: dict[str, wire.JsonValue] = {
    "least_request_experimental": {"choiceCount": 2},
    "weighted_round_robin": {},  # the defaults: 10 s blackout, 1 s update period, 3 min expiry
}
# least_request: besides the config above, the alphabet's every-endpoint list also comes
# with no choiceCount (the default, 2: LR-1), a null one (the default too, LR-1), one above
# the maximum (20, clamped to 10: LR-3) and one below the minimum (1, rejected: LR-2), so
# that a wrong default, a missing clamp or a wrong check is within reach.
LR_EXTRA_CONFIGS: tuple[wire.JsonObject, ...] = (
    {},
    {"choiceCount": None},
    {"choiceCount": 20},
    {"choiceCount": 1},
)
# weighted_round_robin: besides the config above, the every-endpoint list also comes with
# the explored config's errorUtilizationPenalty changed (to 0, or to the default 1 if it
# is 0; WRR-1, WRR-5, gRFC A58), so that an update changing how kept endpoints' reports
# weigh is within reach: under penalty 0 the failing report weighs 1000 like the light one.
WRR_OTHER_PENALTY = (0, 1)  # the first that differs from the explored config's
LOAD_REPORTING = frozenset({"weighted_round_robin", "least_request_experimental"})
# An *across probe*: a block of inputs repeated many times as one input of the alphabet,
# judged by a cross-repetition expectation (conformance/across.py, PROTOCOL.md "Across
# repetitions"), for the rules that only a distribution over many pickers or updates
# shows (RR-7's random start of each picker, RR-12's rotation, RR-2's first repeat under
# that rotation, PF-5's shuffle).  Like a burst, always the last input of a sequence.  Each
# share probe's false-alarm bound is Hoeffding's, 2 x keys x exp(-2 n t^2) with n = 400,
# t = 0.15: 9.1e-8 for three keys, 6.1e-8 for two; the reachability probe's is
# (1 - 1/2)^400; all under across.MAX_FALSE_ALARM (1e-6).
ACROSS = "across"  # the alphabet's own input type, expanded into a repeat block
ACROSS_REPETITIONS = 400
ACROSS_TOLERANCE = 0.15
# An address outside every explored list: an update to it alone makes the next update
# build every child (round_robin) or address list (pick_first) anew, as the corpus does.
OTHER_ADDRESS = "192.0.2.1:80"
# pick_first's shuffle probe weighs the last endpoint 4 and the others 1 (gRFC A113): a
# shuffle that ignores weights, or one that does not shuffle, or one that stops early
# (the first two never swapped), each misses the weighted shares by 0.17 or more.
HEAVY_WEIGHT = 4
# Subchannel state changes the alphabet offers, from spec/connectivity.py's table: the
# ``current`` profile's edges (IDLE -> CONNECTING only after a Connect, CONN-2, which the
# boundary monitor tracks), except where a backoff ends: the TRANSIENT_FAILURE edges
# follow the adapter's ``subchannel.backoff_end`` (backoff_moves).  SHUTDOWN is the
# policy's to cause, never an input.
BACKOFF_END = "subchannel.backoff_end"
MOVES: dict[State, tuple[State, ...]] = {
    source: tuple(
        t.target
        for t in transitions(Profile.CURRENT)
        if t.source is source and t.target is not State.SHUTDOWN
    )
    for source in (State.IDLE, State.CONNECTING, State.READY)
}


def backoff_edges(value: str) -> tuple[Transition, ...]:
    """The table's edges out of TRANSIENT_FAILURE a backoff may end on under ``value`` of
    ``subchannel.backoff_end`` (spec/connectivity.py ``backoff_end_values``, CONN-5,
    CONN-10), in table order: IDLE for ``idle``, CONNECTING for ``connecting``, either
    for ``connecting_if_requested``."""
    end = BackoffEnd(value)
    return tuple(
        t
        for t in SUBCHANNEL_TRANSITIONS
        if t.source is State.TRANSIENT_FAILURE
        and t.target is not State.SHUTDOWN
        and end in backoff_end_values(t.target)
    )


def backoff_profile(value: str) -> Profile:
    """The first profile holding every edge ``value`` may take: ``current`` for ``idle``,
    ``seed`` (which has TRANSIENT_FAILURE -> CONNECTING) for the other two.  The alphabet
    never offers the seed profile's other edge, READY -> TRANSIENT_FAILURE."""
    edges = backoff_edges(value)
    return next(p for p in Profile if all(p in t.profiles for t in edges))


def backoff_moves(value: str, requested: bool) -> tuple[State, ...]:
    """Where a subchannel in TRANSIENT_FAILURE may go next under ``value``.

    ``connecting_if_requested`` goes CONNECTING when a connection was requested during
    the backoff (BackoffEnd's definition): when the trace shows such a request (a
    ``connect`` output after the subchannel entered TRANSIENT_FAILURE) only CONNECTING;
    otherwise both, since an adapter need not report a Connect that CONN-11 makes a no-op
    (grpc-js's reports one only for an IDLE subchannel): it refuses the one its hidden
    request rules out."""
    targets = tuple(t.target for t in backoff_edges(value))
    if requested and BackoffEnd(value) is BackoffEnd.CONNECTING_IF_REQUESTED:
        targets = tuple(t for t in targets if BackoffEnd.CONNECTING in backoff_end_values(t))
    return targets


def backoff_requests(run: CaseRun) -> frozenset[int]:
    """Live subchannels in TRANSIENT_FAILURE that the policy asked to connect since they
    entered it (a ``connect`` output at that step or later)."""
    since: dict[int, int] = {}
    for index, step in enumerate(run.trace):
        given = step.input
        if isinstance(given, ev.SubchannelStateChange):
            since[given.subchannel] = index
    asked = set()
    for view in _boundary(run).tracker.live():
        if view.state is not State.TRANSIENT_FAILURE or view.ident not in since:
            continue
        for step in run.trace[since[view.ident] :]:
            if any(isinstance(o, act.Connect) and o.subchannel == view.ident for o in step.outputs):
                asked.add(view.ident)
                break
    return frozenset(asked)


def addresses(endpoints: int) -> tuple[str, ...]:
    """``endpoints`` addresses; the last is IPv6 once there are three (PF-7 interleaving)."""
    v6 = ("[2001:db8::1]:443",) if endpoints >= 3 else ()
    v4 = tuple(f"10.0.0.{i}:80" for i in range(1, endpoints + 1 - len(v6)))
    return v4 + v6


def resolver_updates(
    policy: str, endpoints: int, config: wire.JsonValue = None
) -> tuple[wire.JsonObject, ...]:
    """The resolver results of the alphabet: every endpoint, none, the first alone, an
    overlapping list, a duplicate address, an address-attribute-only difference; for
    round_robin also an endpoint-attribute-only difference and a two-address endpoint
    repeated in the other order; for pick_first also the first address twice, once with a
    server name, and a bad, a null and a shuffling config; for weighted_round_robin a bad
    config and every endpoint with another error penalty (wrr_other_config); for
    least_request the configs of LR_EXTRA_CONFIGS."""
    addrs = addresses(endpoints)
    every: list[wire.JsonValue] = [[a] for a in addrs]
    first_with_attrs = {"addresses": [{"addr": addrs[0], "attributes": {"zone": "b"}}]}
    lists: list[list[wire.JsonValue]] = [
        every,
        [],
        [[addrs[0]]],
        every[1:] if endpoints > 1 else [[addrs[0]], [addrs[0]]],
        [[addrs[0]], [addrs[0]], *every[1:2]],
        [first_with_attrs, *every[1:]],
    ]
    distinct: list[list[wire.JsonValue]] = []
    for endpoint_list in lists:  # with one address, some of the lists coincide
        if endpoint_list not in distinct:
            distinct.append(endpoint_list)
    updates: list[wire.JsonObject] = [{"type": "resolver_update", "endpoints": e} for e in distinct]
    if config is None:
        config = POLICY_CONFIGS.get(policy)
    if config is not None:
        updates = [{**u, "config": config} for u in updates]
    if policy == "round_robin":
        # RR-2: endpoints are keyed by their address set, so new endpoint attributes make no
        # new endpoint (its child and subchannel stay), and a repeat within one update gets
        # a child of its own or is skipped, as round_robin.repeated_endpoint says: an endpoint
        # of two addresses, repeated in the other order (under first_wins and last_wins the
        # across probe repeat_order judges which order the one child gets, which one trace
        # cannot: RR-12's rotation decides).
        with_endpoint_attrs = {"addresses": [addrs[0]], "attributes": {"zone": "b"}}
        updates.append({"type": "resolver_update", "endpoints": [with_endpoint_attrs, *every[1:]]})
        if endpoints > 1:
            pair = [addrs[0], addrs[1]]
            # Alone: with the other endpoints too, round_robin k3 grows 34% at depth 6 (590
            # to 792 states), alone 12% (661).
            repeated: list[wire.JsonValue] = [pair, pair[::-1]]
            updates.append({"type": "resolver_update", "endpoints": repeated})
    if policy == "pick_first":
        with_name = {"addresses": [{"addr": addrs[0], "server_name": SERVER_NAME}]}
        updates.append({"type": "resolver_update", "endpoints": [[addrs[0]], with_name]})
        for config in (INVALID_PF_CONFIG, NULL_PF_CONFIG, {"shuffleAddressList": True}):
            updates.append({"type": "resolver_update", "endpoints": every, "config": config})
    if policy == "weighted_round_robin":
        invalid = {**config, **INVALID_WRR_FLAG} if isinstance(config, dict) else INVALID_WRR_FLAG
        updates.append({"type": "resolver_update", "endpoints": every, "config": invalid})
        other = wrr_other_config(config)
        updates.append({"type": "resolver_update", "endpoints": every, "config": other})
    if policy == "least_request_experimental":
        for config in LR_EXTRA_CONFIGS:
            updates.append({"type": "resolver_update", "endpoints": every, "config": config})
    return tuple(updates)


def alphabet(bounds: Bounds, run: CaseRun) -> list[wire.JsonObject]:
    """Every input of the alphabet the channel could send in the state ``run`` is in."""
    boundary = _boundary(run)
    tracker = boundary.tracker
    if tracker.closed:
        return []
    inputs: list[wire.JsonObject] = []
    requests = backoff_requests(run) if _tracks_requests(bounds) else frozenset()
    for view in sorted(tracker.live(), key=lambda v: v.ident):
        addr = run.names.unique_address(view.ident)
        if addr is None:
            continue  # a case names subchannels by address: this one cannot be named
        if view.state is State.TRANSIENT_FAILURE:
            requested = view.ident in requests
            targets = backoff_moves(bounds.backoff_value, requested)
        else:
            targets = MOVES[view.state]
        for target in targets:
            if view.state is State.IDLE and not boundary.may_connect(view.ident):
                continue
            move: wire.JsonObject = {
                "type": "subchannel_state",
                "subchannel": addr,
                "state": target.name,
            }
            if target is State.TRANSIENT_FAILURE:
                move["error"] = CONNECTION_ERROR
            inputs.append(move)
        if bounds.health_checking and view.state is State.READY and view.health_listener:
            inputs.append({"type": "health_state", "subchannel": addr, "state": "READY"})
            # The check restarts (a health stream broke): not known healthy (HEALTH-6).
            inputs.append({"type": "health_state", "subchannel": addr, "state": "CONNECTING"})
            inputs.append(
                {
                    "type": "health_state",
                    "subchannel": addr,
                    "state": "TRANSIENT_FAILURE",
                    "error": HEALTH_ERROR,
                }
            )
    inputs.extend(resolver_updates(bounds.policy, bounds.endpoints, bounds.config_json()))
    inputs.append({"type": "resolver_error", "message": "name resolution failed"})
    pick_id = len(run.trace) + 1  # unique along a path; the key renames it
    inputs.append({"type": "pick", "pick_id": pick_id})
    if bounds.policy in LOAD_REPORTING:
        for outstanding in _outstanding_picks(run)[:1]:  # the oldest: picks are alike
            inputs.append({"type": "done", "pick_id": outstanding})
            if bounds.policy == "weighted_round_robin":  # WRR-5, WRR-6: the report counts
                for report in LOAD_REPORTS:
                    inputs.append({"type": "done", "pick_id": outstanding, "load_report": report})
            else:  # LR-8: a failed call lowers the count as a successful one does
                inputs.append(
                    {"type": "done", "pick_id": outstanding, "error": {"code": "UNAVAILABLE"}}
                )
    if bounds.policy == "weighted_round_robin" and _oob_enabled(bounds):
        for view in sorted(tracker.live(), key=lambda v: v.ident):  # WRR-7
            addr = run.names.unique_address(view.ident)
            if addr is not None and view.state is State.READY:
                for report in LOAD_REPORTS:
                    inputs.append({"type": "oob_load_report", "subchannel": addr, "report": report})
    inputs.append({"type": "exit_idle"})
    for by in time_steps(bounds):
        inputs.append({"type": "advance_time", "by": by})
    burst = burst_of(bounds)
    if burst is not None and _may_burst(run):
        picks, finished = burst
        inputs.append({"type": BURST, "pick_id": pick_id, "picks": picks, "done": finished})
    inputs.extend(across_probes(bounds, run, pick_id))
    inputs.append({"type": "close"})
    return inputs


def across_probes(bounds: Bounds, run: CaseRun, pick_id: int) -> list[wire.JsonObject]:
    """The across probes legal and meaningful in this state (ACROSS).

    * ``start_index`` (round_robin, RR-7, when the monitors judge by
      ``round_robin.start_index = random_per_picker``): while the channel is READY over two
      READY subchannels or more, without health checking: the last READY subchannel goes
      IDLE, CONNECTING, READY (a new picker over the same READY set), then one pick; the
      first pick of each repetition is uniform over the READY addresses.
    * ``rotation`` (round_robin, RR-12): an update to another address, then every
      endpoint: the first subchannel asked to connect is uniform over them.
    * ``repeat_order`` (round_robin, RR-2 with RR-12): an update to another address, then
      one endpoint of two addresses listed twice, ``[a1, a2]`` then ``[a2, a1]``: the child
      gets the order of the repeat met first, which RR-12's rotation makes either (each
      with probability 1/2; the first always without a rotation), and connects its first
      address first (PF-3): ``a1`` is the first subchannel asked to connect in at least
      one repetition.  One trace cannot tell: a child given the last repeat's order is
      what the rotation that meets ``[a2, a1]`` first gives.  Under
      ``round_robin.repeated_endpoint=last_wins`` (grpc-java) ``a2`` is connected first in
      every repetition; under ``every_copy`` each repeat has a child and the probe is not
      offered.
    * ``shuffle`` (pick_first with ``shuffleAddressList``, which the alphabet sends; PF-5;
      for the leaf variant, which the corpus's shuffle cases are written for): an update to
      another address, then every endpoint, weighted, shuffled: the first address asked to
      connect follows the weights.

    ``rotation``, ``repeat_order`` and ``shuffle`` start every repetition afresh, so the
    state they start in matters only for the first; they are offered where the channel has
    no live subchannel and is not IDLE (the start, or after an update left none), which keeps
    their cost (one replay of some 800 inputs each) to a few states.
    """
    tracker = _boundary(run).tracker
    options = dict(run.session.ensure_started().capabilities.options_for(run.case))
    probes: list[wire.JsonObject] = []
    # No live subchannel, and not IDLE: an IDLE pick_first (goes_idle after its address was
    # removed) waits for a pick before it connects, so the block would observe nothing.
    afresh = (
        bounds.endpoints >= 2 and not tracker.live() and tracker.channel_state is not State.IDLE
    )
    if bounds.policy == "round_robin":
        start = options.get("round_robin.start_index", "random_per_picker")
        ready = sorted(
            a
            for v in tracker.live()
            if v.state is State.READY and (a := run.names.unique_address(v.ident)) is not None
        )
        if (
            start == "random_per_picker"
            and not bounds.health_checking
            and tracker.channel_state is State.READY
            and len(ready) >= 2
        ):
            probes.append(
                {"type": ACROSS, "probe": "start_index", "pick_id": pick_id, "ready": ready}
            )
        if afresh:
            probes.append({"type": ACROSS, "probe": "rotation", "pick_id": pick_id})
            # RR-2 (round_robin.repeated_endpoint): which repeat's order the one child gets;
            # under every_copy each repeat has a child, so there is no order to judge.
            key = "round_robin.repeated_endpoint"
            repeated = options.get(key) or spec_option(key).default
            if repeated == "first_wins":
                probes.append({"type": ACROSS, "probe": "repeat_order", "pick_id": pick_id})
            elif repeated == "last_wins":
                probes.append(
                    {"type": ACROSS, "probe": "repeat_order", "pick_id": pick_id, "last": True}
                )
    if (
        bounds.policy == "pick_first"
        and options.get("pick_first.variant", "leaf") == "leaf"
        and afresh
    ):
        probes.append({"type": ACROSS, "probe": "shuffle", "pick_id": pick_id})
    return probes


def probe_block(
    raw: wire.JsonObject, bounds_endpoints: int, config: wire.JsonValue
) -> tuple[list[wire.JsonObject], wire.JsonObject]:
    """An across probe's block (inputs, picks without IDs) and its ``across`` expectation."""
    probe = raw["probe"]
    addrs = addresses(bounds_endpoints)
    uniform = {a: 1 / len(addrs) for a in addrs}

    def update(endpoints: list[wire.JsonValue], with_config: wire.JsonValue) -> wire.JsonObject:
        out: wire.JsonObject = {"type": "resolver_update", "endpoints": endpoints}
        if with_config is not None:
            out["config"] = with_config
        return out

    if probe == "start_index":
        ready = [str(a) for a in wire.expect_list(raw["ready"], ("ready",))]
        cycled = ready[-1]
        block: list[wire.JsonObject] = [
            {"type": "subchannel_state", "subchannel": cycled, "state": s}
            for s in ("IDLE", "CONNECTING", "READY")
        ]
        block.append({"type": "pick"})
        across: wire.JsonObject = {
            "observe": "first_pick",
            "fractions": {a: 1 / len(ready) for a in ready},
            "tolerance": ACROSS_TOLERANCE,
        }
        return block, across
    if probe == "repeat_order":
        pair: list[wire.JsonValue] = [addrs[0], addrs[1]]
        block = [update([[OTHER_ADDRESS]], config), update([pair, pair[::-1]], config)]
        if raw.get("last") is True:
            # RR-2 under last_wins (grpc-java MultiChildLoadBalancer.java:87-99): the child
            # always gets the last repeat's order, so addrs[1] is always connected first.
            return block, {
                "observe": "first_connect",
                "from_step": 2,
                "fractions": {addrs[1]: 1.0},
                "tolerance": ACROSS_TOLERANCE,
            }
        # RR-2 with RR-12: addrs[0] first with probability 1/2 at least, so over 400
        # repetitions a correct policy never shows it with probability 2^-400.
        return block, {
            "observe": "first_connect",
            "from_step": 2,
            "reachable": [[addrs[0]]],
            "min_probability": 0.5,
        }
    if probe == "rotation":
        block = [update([[OTHER_ADDRESS]], config), update([[a] for a in addrs], config)]
        fractions: wire.JsonObject = dict(uniform)
    else:  # shuffle
        shuffled = {"shuffleAddressList": True}
        weights = [1] * (len(addrs) - 1) + [HEAVY_WEIGHT]
        weighted: list[wire.JsonValue] = [
            {"addresses": [a], "weight": w} for a, w in zip(addrs, weights, strict=True)
        ]
        block = [update([[OTHER_ADDRESS]], shuffled), update(weighted, shuffled)]
        fractions = {a: w / sum(weights) for a, w in zip(addrs, weights, strict=True)}
    across = {
        "observe": "first_connect",
        "from_step": 2,
        "fractions": fractions,
        "tolerance": ACROSS_TOLERANCE,
    }
    return block, across


def time_steps(bounds: Bounds) -> tuple[str, ...]:
    """How far time may advance in one input: each period a timer of the policy uses.

    weighted_round_robin's, from its config (gRFC A58's periods), in increasing order:
    the update period (a rebuild, WRR-12; inside the blackout), the blackout plus it (the
    first rebuild after a blackout that started now has ended, WRR-8), the expiry minus
    it (the last rebuild before a weight reported now expires, WRR-9) and the expiry plus
    it (the first rebuild after it expired).  The third is the only way, short of sixteen
    11 s steps, to a rebuild at which a weight reported early has expired and one
    reported later has not.  A period that is not positive is left out.
    """
    if bounds.policy != "weighted_round_robin":
        return DEFAULT_TIME_STEPS
    config = wrr_spec.parse_config(bounds.config_json() or {})
    update = config.weight_update_period.nanos
    expiry = config.weight_expiration_period.nanos
    periods = sorted(
        {update, config.blackout_period.nanos + update, expiry - update, expiry + update}
    )
    return tuple(f"{nanos / 1e9:g}s" for nanos in periods if nanos > 0)


def wrr_other_config(config: wire.JsonValue) -> wire.JsonObject:
    """The explored config with another errorUtilizationPenalty (WRR_OTHER_PENALTY)."""
    explored = config if isinstance(config, dict) else {}
    penalty = wrr_spec.parse_config(explored).error_utilization_penalty
    other = next(p for p in WRR_OTHER_PENALTY if p != penalty)
    return {**explored, "errorUtilizationPenalty": other}


@functools.cache  # parsed once per exploration, not once per state
def wrr_horizon(bounds: Bounds) -> Duration | None:
    """weighted_round_robin's age horizon: the longest blackout or expiration of the configs
    the alphabet puts in force (wrr_configs).  None for the other policies."""
    if bounds.policy != "weighted_round_robin":
        return None
    configs = wrr_configs(bounds.config_json())
    periods = [d for c in configs for d in (c.blackout_period, c.weight_expiration_period)]
    return max(periods, key=lambda d: d.nanos)


def wrr_configs(config: wire.JsonValue) -> tuple[wrr_spec.WrrConfig, ...]:
    """The valid configs weighted_round_robin's alphabet puts in force: the explored one
    and wrr_other_config (its invalid config is rejected and keeps the one in force)."""
    explored = config if isinstance(config, dict) else {}
    return wrr_spec.parse_config(explored), wrr_spec.parse_config(wrr_other_config(explored))


def wrr_burst_picks(config: wire.JsonValue) -> int:
    """The picks of a weighted_round_robin burst: the fewest W for which the lightest
    endpoint's due picks exceed WRR-16's tolerance over W picks by one pick or more.

    The lightest share is that of two endpoints reporting the two LOAD_REPORTS, under
    each valid config the alphabet sends (the explored one and wrr_other_config): 1/12
    with the default penalty (weights 1000 and 90.9).  WRR-16's tolerance over W picks of
    n = 2 endpoints is 4(n - 1) + W(n + 1)/65534; a scheduler that gives the lightest
    endpoint at most one pick (a weight ratio an order of magnitude off) then leaves it.
    A round-robin fallback (equal weights) only asks for W/2 >= 2 + 1 (WRR-13), less.
    """
    lightest = 0.5
    for parsed in wrr_configs(config):
        penalty = parsed.error_utilization_penalty
        weights = []
        for report in LOAD_REPORTS:
            weight = wrr_spec.report_weight(wire.orca_from_json(report, ("report",)), penalty)
            weights.append(0.0 if weight is None else weight)
        shares, _ = wrr_spec.scheduler_shares(weights, None)
        lightest = min(lightest, *shares)
    endpoints = 2
    picks = 1
    while picks * lightest < 4 * (endpoints - 1) + picks * (endpoints + 1) / wrr_spec.SCALE + 1:
        picks += 1
    return picks


def burst_of(bounds: Bounds) -> tuple[int, bool] | None:
    """The policy's burst, (picks, each finished by a Done), or None: no bursts.
    ``bounds.burst_picks``, when set, replaces the policy's number of picks."""
    if bounds.policy == "weighted_round_robin":
        burst: tuple[int, bool] | None = (wrr_burst_picks(bounds.config_json()), False)
    else:
        burst = BURSTS.get(bounds.policy)
    if burst is None or bounds.burst_picks is None:
        return burst
    return bounds.burst_picks, burst[1]


def _oob_enabled(bounds: Bounds) -> bool:
    config = bounds.config_json()
    return isinstance(config, dict) and config.get("enableOobLoadReport") is True


def _may_burst(run: CaseRun) -> bool:
    """A burst is offered while the channel is READY over two READY subchannels or more."""
    tracker = _boundary(run).tracker
    ready = [v for v in tracker.live() if v.state is State.READY]
    return tracker.channel_state is State.READY and len(ready) >= 2


def expand(
    path: Sequence[wire.JsonObject], endpoints: int = 0, config: wire.JsonValue = None
) -> list[wire.JsonObject]:
    """The path as case inputs: each burst becomes its picks (and their Dones), an across
    probe its block, repeated (picks numbered on from the probe's ``pick_id``)."""
    return [step.input for step in case_steps(path, endpoints, config)]


def case_steps(
    path: Sequence[wire.JsonObject], endpoints: int, config: wire.JsonValue
) -> list[CaseStep]:
    """The path as the runner's steps: an across probe's steps carry its expectation."""
    steps: list[CaseStep] = []
    for raw in path:
        if raw["type"] != ACROSS:
            steps.extend(CaseStep(i) for i in _expand_burst(raw))
            continue
        block, expect = probe_block(raw, endpoints, config)
        across = across_from_json(expect, ("across",), ACROSS_REPETITIONS, len(block), len(steps))
        pick_id = int(str(raw["pick_id"]))
        for repetition in range(ACROSS_REPETITIONS):
            for position, inner in enumerate(block, start=1):
                if inner["type"] == "pick":
                    inner = {**inner, "pick_id": pick_id}
                    pick_id += 1
                steps.append(
                    CaseStep(inner, across=across, repetition=repetition, position=position)
                )
    return steps


def _expand_burst(raw: wire.JsonObject) -> list[wire.JsonObject]:
    """One input of the path as case inputs: a burst becomes its picks (and Dones)."""
    if raw["type"] != BURST:
        return [raw]
    inputs: list[wire.JsonObject] = []
    first, picks, finished = int(str(raw["pick_id"])), int(str(raw["picks"])), raw["done"]
    for pick_id in range(first, first + picks):
        inputs.append({"type": "pick", "pick_id": pick_id})
        if finished:
            inputs.append({"type": "done", "pick_id": pick_id})
    return inputs


def ends_in_burst(path: Sequence[wire.JsonObject]) -> bool:
    """A burst or an across probe ends its sequence: judged, not explored further."""
    return bool(path) and path[-1]["type"] in (BURST, ACROSS)


def _outstanding_picks(run: CaseRun) -> list[int]:
    done = {s.input.pick_id for s in run.trace if isinstance(s.input, ev.Done)}
    return [
        o.pick_id
        for s in run.trace
        for o in s.outputs
        if isinstance(o, act.PickComplete) and o.pick_id not in done
    ]


# --- The canonical abstract state ---


def state_key(
    run: CaseRun,
    recent: Sequence[wire.JsonObject] = (),
    requests: frozenset[int] | None = None,
    horizon: Duration | None = None,
    hidden: Callable[[Callable[[int], int]], Any] | None = None,
) -> bytes:
    """The state's canonical key: every monitor's canonical state, subchannels renamed.

    Live subchannels are renamed 1, 2, ... in the order of (addresses, creation), shut-down
    ones all become 0; a monitor without a ``canonical_state`` hook contributes its whole
    state, unrenamed (sound, only less sharing).  docs/explore.md says why this is sound.
    ``recent``: the last inputs of the path (``Bounds.history``), pick IDs left out; they
    only split states, for implementations whose hidden state remembers them.
    ``requests``: under ``subchannel.backoff_end = connecting_if_requested``, the
    subchannels in TRANSIENT_FAILURE asked to connect (backoff_requests), which decide
    which backoff edges the alphabet offers; None under the other values.
    ``horizon``: passed to a hook that takes one (weighted_round_robin's: the longest
    period of the alphabet's configs, wrr_horizon); None, exact ages.
    ``hidden``: the implementation's own state given the subchannels' numbers
    (``Bounds.implementation_state``); None, the spec's state alone.
    """
    tracker = _boundary(run).tracker
    live = sorted(tracker.live(), key=lambda v: (repr(v.addresses), v.ident))
    names = {view.ident: number for number, view in enumerate(live, start=1)}

    def name(ident: int) -> int:
        return names.get(ident, 0)

    # Unfinished picks are renamed by age (0 the oldest): the alphabet finishes the oldest.
    outstanding = _outstanding_picks(run)
    ranks = {p: rank for rank, p in enumerate(outstanding)}

    def pick(pick_id: int) -> int:
        return ranks.get(pick_id, -pick_id)  # a pick the monitor holds that is finished: kept

    parts = [_canonical(monitor, name, pick, horizon) for monitor in run.monitors]
    if run.case.policy in LOAD_REPORTING:  # the alphabet offers a Done for these picks
        by_pick = {
            o.pick_id: o.subchannel
            for s in run.trace
            for o in s.outputs
            if isinstance(o, act.PickComplete)
        }
        parts.append(tuple(name(by_pick[p]) for p in outstanding))
    if run.case.policy == "least_request_experimental":
        # The config of the last update as sent: the spec keeps only the choiceCount it
        # parses (LR-1, LR-3), so {} and {"choiceCount": 2}, or 20 and 10, are one spec
        # state, but an implementation that misreads a config is not in one state.
        updates = [s.input.config for s in run.trace if isinstance(s.input, ev.ResolverUpdate)]
        parts.append(repr(updates[-1:]))
    parts.append([{k: v for k, v in raw.items() if k != "pick_id"} for raw in recent])
    if requests is not None:
        parts.append(sorted(name(ident) for ident in requests))
    if hidden is not None:
        parts.append(hidden(name))
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).digest()


def _canonical(
    monitor: Monitor,
    name: Callable[[int], int],
    pick: Callable[[int], int],
    horizon: Duration | None,
) -> Any:
    hook = getattr(monitor, "canonical_state", None)
    if hook is None:
        return _snapshot(monitor)
    takes = _hook_takes(type(monitor))
    extra = {"pick": pick, "horizon": horizon}  # pick: a monitor that keeps pick IDs
    return hook(name, **{k: v for k, v in extra.items() if k in takes})


@functools.cache  # inspect.signature costs more than the hook (one call per state)
def _hook_takes(monitor_type: type) -> frozenset[str]:
    return frozenset(inspect.signature(monitor_type.canonical_state).parameters)  # type: ignore[attr-defined]


def _snapshot(value: Any, seen: dict[int, int] | None = None) -> Any:
    """A deterministic rendering of a monitor's object graph.

    An object met again (a shared or cyclic reference) becomes ``("ref", n)``, n its
    place in the walk; ``id()`` only recognises it and never enters the rendering, nor
    does any address (functions render as their qualified names).
    """
    seen = {} if seen is None else seen
    if isinstance(value, str | int | float | bool | type(None) | enum.Enum):
        return value
    if isinstance(value, type):
        return ("type", value.__qualname__)
    if id(value) in seen:
        return ("ref", seen[id(value)])
    seen[id(value)] = len(seen)
    if isinstance(value, functools.partial):
        return ("partial", *(_snapshot(v, seen) for v in (value.func, value.args, value.keywords)))
    if inspect.isroutine(value):
        return render_routine(value, lambda v: _snapshot(v, seen))
    if isinstance(value, list | tuple):
        return tuple(_snapshot(v, seen) for v in value)
    if isinstance(value, set | frozenset):
        return tuple(sorted(repr(_snapshot(v, seen)) for v in value))
    if isinstance(value, dict):
        return tuple((_snapshot(k, seen), _snapshot(v, seen)) for k, v in value.items())
    if attrs.has(type(value)):
        fields = attrs.fields(type(value))
        return (type(value).__name__, *(_snapshot(getattr(value, f.name), seen) for f in fields))
    if hasattr(value, "__dict__"):
        return (type(value).__name__, *(_snapshot(v, seen) for v in vars(value).items()))
    return repr(value)


def render_routine(value: Any, render: Callable[[Any], Any]) -> tuple[Any, ...]:
    """A function or method as its name, what it is bound to and what it closes over,
    each through ``render``; never its address (a module it is bound to is left out)."""
    bound = getattr(value, "__self__", None)
    cells = getattr(value, "__closure__", None) or ()
    return (
        "routine",
        getattr(value, "__qualname__", type(value).__qualname__),
        None if bound is None or inspect.ismodule(bound) else render(bound),
        tuple(render(c.cell_contents) for c in cells),
    )


def _boundary(run: CaseRun) -> BoundaryMonitor:
    boundary = run.monitors[0]
    assert isinstance(boundary, BoundaryMonitor)
    return boundary


# --- The spec options the monitors judge by ---

SpecOptions = tuple[tuple[str, str], ...]


def judging_options(policy: str, declared: Mapping[str, str]) -> SpecOptions:
    """Every spec option the policy's monitors take (spec/options.py), with the value they
    judge by: the one the adapter declares, else the registry's default.

    ``CaseRun.start`` builds the monitors from the adapter's handshake exactly so
    (conformance/monitors.py); this names those values in the result and the
    counterexample, since a clean result or a violation holds only under them.
    """
    from conformance.monitors import spec_option_default
    from spec.options import OPTIONS_LIST

    chosen = []
    for option in OPTIONS_LIST:
        if policy in option.monitor_policies:
            default = spec_option_default(option.key) or option.default
            chosen.append((option.key, declared.get(option.key, default)))
    return tuple(sorted(chosen))


def unmodelled_options(declared: Mapping[str, str]) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """Selection-only options (no monitor takes them, spec/options.py) the adapter declares
    with another value than the default, with the requirements each concerns.

    The corpus skips a case written for the default on such an adapter; a replay in
    explore cannot be skipped, so the monitors judge those requirements by the default:
    a violation of them may be the declared choice, not a divergence (keep_going marks it).
    """
    from spec.options import OPTIONS_LIST

    return tuple(
        (o.key, declared[o.key], tuple(o.requirements))
        for o in OPTIONS_LIST
        if o.monitor_parameter is None and declared.get(o.key, o.default) != o.default
    )


# Selection-only options whose other values explore follows itself, so that the monitors'
# verdicts stay meaningful under them (not_meaningful leaves them out).
FOLLOWED_OPTIONS: dict[str, str] = {
    BACKOFF_END: "the alphabet's TRANSIENT_FAILURE edges follow it (backoff_moves)",
    "round_robin.start_index": "the start_index probe is offered only under "
    "random_per_picker, and RR-7's monitor accepts any start",
}

Unjudged = tuple[tuple[str, str, tuple[str, ...]], ...]


def not_meaningful(policy: str, declared: Mapping[str, str]) -> Unjudged:
    """The selection-only options the adapter declares with another value than the default
    (unmodelled_options) that bear on requirements the policy's monitors judge, each with
    those requirements: the monitors judge them by the default, so their verdicts say
    nothing about the implementation.  Options explore follows (FOLLOWED_OPTIONS) are left
    out."""
    judged = judged_requirements(policy)
    chosen = []
    for key, value, reqs in unmodelled_options(declared):
        bearing = tuple(r for r in reqs if r in judged)
        if key not in FOLLOWED_OPTIONS and bearing:
            chosen.append((key, value, bearing))
    return tuple(chosen)


def not_meaningful_line(implementation: str, unjudged: Unjudged) -> str:
    """The one line explore prints at the start when ``unjudged`` is not empty."""
    options = ", ".join(f"{key}={value} ({', '.join(reqs)})" for key, value, reqs in unjudged)
    reqs = ", ".join(dict.fromkeys(r for _, _, rs in unjudged for r in rs))
    return (
        f"explore: {implementation} declares {options}, which no monitor models: the "
        f"verdicts on {reqs} judge the default values and are not meaningful; every other "
        "requirement is judged (--keep-going marks those classes and goes on)"
    )


# --- Replaying a path: the one way a state is (re-)entered ---


@attrs.frozen
class Bounds:
    """What one exploration covers: the claim a clean result makes."""

    policy: str
    endpoints: int
    depth: int
    health_checking: bool = False
    seed: int = 0
    # Values asked of an adapter that can follow them per case (its configurable_options,
    # PROTOCOL.md "Spec options"); the rest are the values it declares.
    spec_options: tuple[tuple[str, str], ...] = ()
    # The policy config every resolver update of the alphabet carries, as JSON text;
    # None: POLICY_CONFIGS (the defaults).
    config: str | None = None
    # How many of a path's last inputs are part of its state's key: 0, the spec state
    # alone; more splits states that the spec cannot tell apart but an implementation's
    # hidden state may (a Done with an error, where the spec says it counts as any Done).
    history: int = 0
    # The adapter's subchannel.backoff_end (declared, or asked by spec_options), which the
    # alphabet's TRANSIENT_FAILURE edges follow (backoff_moves); explore fills it in from
    # the handshake.  None: not yet known, taken as the default, idle.
    backoff_end: str | None = None
    # The reference in-process only: the key also holds the implementation's own state
    # (conformance/adapters/refimpl_state.py), so that paths it remembers differently stay
    # apart.  Left out of a result's JSON when False (results written before it).
    implementation_state: bool = False
    # The picks of every burst (BURSTS), for a policy whose alphabet has one; None: the
    # policy's own (burst_of).  More picks give a statistical rule (LR-10) more power, at
    # their cost in every state that offers a burst.  Left out of a result's JSON when None.
    burst_picks: int | None = None

    @property
    def backoff_value(self) -> str:
        return self.backoff_end or BackoffEnd.IDLE.value

    @property
    def profile(self) -> Profile:
        """The subchannel profile the cases run in: the one holding the backoff's edges."""
        return backoff_profile(self.backoff_value)

    def config_json(self) -> wire.JsonValue:
        if self.config is None:
            return POLICY_CONFIGS.get(self.policy)
        value: wire.JsonValue = json.loads(self.config)
        return value


@attrs.frozen
class Target:
    """How to reach the implementation; picklable, so that worker processes can rebuild it.

    ``adapter``: a command line (a subprocess adapter); None: the reference in-process,
    after importing ``load``.  ``planted``: a planted bug's name (tests and the bug table).
    """

    adapter: str | None = None
    load: tuple[str, ...] = ()
    planted: str | None = None
    step_timeout: float = DEFAULT_STEP_TIMEOUT

    def connect(self) -> Transport:
        if self.adapter is not None:
            return SubprocessTransport(self.adapter)
        if self.planted is not None:
            from conformance.planted import broken_transport

            return broken_transport(self.planted)
        from conformance.adapters.inprocess import refimpl_transport

        return refimpl_transport(self.load)


@attrs.frozen
class Visit:
    """One replayed path: its state key, the inputs legal next, and any violation."""

    path: tuple[wire.JsonObject, ...]
    key: bytes
    next_inputs: tuple[wire.JsonObject, ...]
    failure: str | None = None
    requirements: tuple[str, ...] = ()
    exercised: tuple[tuple[str, str], ...] = ()  # (requirement, channel state) pairs


def _case(bounds: Bounds) -> Case:
    return Case(
        "explore",
        "explore",
        "explore",
        bounds.policy,
        (),
        (),
        config=bounds.config_json(),
        channel=ChannelOptions(
            profile=bounds.profile, health_checking=bounds.health_checking, seed=bounds.seed
        ),
        # weighted_round_robin's alphabet sends load reports (LOAD_REPORTS).
        capabilities=frozenset({Capability.ORCA})
        if bounds.policy == "weighted_round_robin"
        else frozenset(),
        spec_options=bounds.spec_options,
    )


def replay(
    session: AdapterSession, bounds: Bounds, path: Sequence[wire.JsonObject], *, cover: bool
) -> Visit:
    """Run ``path`` as one fresh case; judge every step; describe the state it ends in.

    ``cover``: also work out which requirements judged the last step (:func:`exercised`).
    """
    run = CaseRun(_case(bounds), session)
    missing = run.start()
    if missing:  # a policy, a capability, or a spec option it cannot be set to
        raise CaseError(f"explore: the adapter lacks {', '.join(missing)}")
    return _visit(run, bounds, path, 0, cover=cover)


def fork(
    session: AdapterSession,
    bounds: Bounds,
    path: Sequence[wire.JsonObject],
    next_inputs: Sequence[wire.JsonObject],
    *,
    cover: bool,
) -> list[Visit]:
    """``replay(path + [i])`` for each ``i`` of ``next_inputs``, in order, for an in-process
    implementation: ``path`` is replayed once and the run copied (conformance/snapshot.py)
    for each input, which is fed to the copy alone.  A run that cannot be copied is
    replayed as before."""
    if not next_inputs:
        return []
    run = CaseRun(_case(bounds), session)
    run.start()  # explore checked what the adapter lacks with the root's replay
    steps = case_steps(path, bounds.endpoints, bounds.config_json())
    saved = monitors = None
    try:
        for index, step in enumerate(steps):
            run.feed(index, step)  # judged clean when this state was reached
        saved = snapshot.take(run)
        # What every copy's monitors are before its one input (coverage), taken once.
        monitors = snapshot.take(run.monitors) if cover else None
    except snapshot.SnapshotError:
        pass
    finally:
        run.end_quietly()  # the session's own adapter is free for the next case
    if saved is None:
        return [replay(session, bounds, (*path, i), cover=cover) for i in next_inputs]
    return [
        _visit(
            snapshot.restore(saved), bounds, (*path, i), len(steps), cover=cover, before=monitors
        )
        for i in next_inputs
    ]


def _visit(
    run: CaseRun,
    bounds: Bounds,
    path: Sequence[wire.JsonObject],
    start: int,
    *,
    cover: bool,
    before: snapshot.Snapshot | None = None,
) -> Visit:
    """Feed ``run`` the path's steps from ``start`` on, judging each, end the case, and
    describe the state it ends in.  ``before``: the monitors as the last step will find
    them, when the caller has them already (coverage)."""
    burst = ends_in_burst(path)
    steps = case_steps(path, bounds.endpoints, bounds.config_json())
    view = _implementation_state(run) if bounds.implementation_state else None
    try:
        for index in range(start, len(steps)):
            if cover and not burst and index == len(steps) - 1 and before is None:
                before = snapshot.take(run.monitors)  # the monitors as the last step found them
            run.feed(index, steps[index])
        run.finish()
    except CaseFailedError as failure:
        run.end_quietly()
        requirements = tuple(dict.fromkeys(v.requirement for v in failure.violations))
        message = "\n".join([str(failure), *(str(v) for v in failure.violations)])
        return Visit(tuple(path), b"", (), message, requirements or (ADAPTER_FAILED,))
    except AdapterError as err:
        return Visit(tuple(path), b"", (), str(err), (ADAPTER_FAILED,))
    if burst:  # judged, not explored further: the state after it is not a state of the search
        return Visit(tuple(path), b"", ())
    last = len(run.trace) - 1
    covered = exercised(before, run.trace[last], last, bounds) if cover and before else ()
    next_inputs = tuple(alphabet(bounds, run))
    recent = path[len(path) - bounds.history :] if bounds.history else ()
    requests = backoff_requests(run) if _tracks_requests(bounds) else None
    horizon = wrr_horizon(bounds)
    hidden = None if view is None else functools.partial(view, horizon=horizon)
    key = state_key(run, recent, requests, horizon, hidden)
    return Visit(tuple(path), key, next_inputs, None, (), covered)


def _implementation_state(run: CaseRun) -> Callable[..., Any]:
    """What renders the reference's own state (Bounds.implementation_state)."""
    # Imported here: it reads refimpl's objects, which a subprocess run never loads.
    from conformance.adapters.refimpl_state import renderer

    found = renderer(run)
    if found is None:
        raise CaseError("explore: implementation_state needs the reference in-process")
    return found


def _tracks_requests(bounds: Bounds) -> bool:
    """Whether the alphabet reads the backoff's connection requests (backoff_moves)."""
    return BackoffEnd(bounds.backoff_value) is BackoffEnd.CONNECTING_IF_REQUESTED


# --- Requirement coverage: which rules had a say in a step ---


def exercised(
    monitors_before: snapshot.Snapshot, last: Step, index: int, bounds: Bounds
) -> tuple[tuple[str, str], ...]:
    """The requirements the monitors would report if the last step's outputs were wrong.

    Each small perturbation of the outputs (one dropped or changed; a report, connect,
    shutdown or re-resolution added; another pick outcome) that a monitor objects to
    shows that the step was judged under the requirement it names.  Each is paired with
    the channel state the step started in: requirement x policy-state coverage.
    """
    monitors: list[Monitor] = snapshot.restore(monitors_before)
    boundary = monitors[0]
    assert isinstance(boundary, BoundaryMonitor)
    before = boundary.tracker.channel_state
    column = before.name if before is not None else "START"
    live = [v.ident for v in boundary.tracker.live()]
    found: set[tuple[str, str]] = set()
    for outputs in _perturbations(last, live, addresses(bounds.endpoints)):
        trial: list[Monitor] = snapshot.restore(monitors_before)
        step = Step(last.input, outputs)
        for monitor in trial:
            for violation in monitor.observe(index, step):
                found.add((violation.requirement, column))
    return tuple(sorted(found))


def _perturbations(
    step: Step, live: Sequence[int], addrs: Sequence[str]
) -> Iterator[tuple[act.Output, ...]]:
    outputs = step.outputs
    for i, output in enumerate(outputs):
        yield outputs[:i] + outputs[i + 1 :]
        if isinstance(output, act.NewSubchannel):  # another address, or the other health flag
            flipped = attrs.evolve(output, health_listener=not output.health_listener)
            others = [attrs.evolve(output, addresses=(Address(a),)) for a in addrs]
            for other in (flipped, *others):
                if other != output:
                    yield (*outputs[:i], other, *outputs[i + 1 :])
    for state in (State.IDLE, State.CONNECTING, State.READY, State.TRANSIENT_FAILURE):
        yield (*outputs, act.UpdateState(state))
    for ident in live:
        yield (*outputs, act.Connect(ident))
        yield (*outputs, act.Shutdown(ident))
    yield (*outputs, act.RequestReresolution())
    if isinstance(step.input, ev.Pick):
        pick_id = step.input.pick_id
        rest = tuple(o for o in outputs if not isinstance(o, act.PickOutcome))
        failure = Status(StatusCode.UNAVAILABLE, "perturbed")
        outcomes: list[act.Output] = [act.PickQueue(pick_id), act.PickFail(pick_id, failure)]
        outcomes.extend(act.PickComplete(pick_id, ident) for ident in live)
        for outcome in outcomes:
            yield (*rest, outcome)


# --- The breadth-first search ---


@attrs.frozen
class Counterexample:
    """A shortest violating sequence, ready to be written as a case file."""

    policy: str
    health_checking: bool
    path: tuple[wire.JsonObject, ...]
    message: str
    requirements: tuple[str, ...]
    spec_options: SpecOptions = ()  # the values the monitors judged by (judging_options)
    seed: int = 0
    config: str | None = None  # Bounds.config: JSON text, None for POLICY_CONFIGS
    endpoints: int = 0  # Bounds.endpoints: an across probe's block names them
    profile: Profile = Profile.CURRENT  # Bounds.profile: seed where a backoff may end CONNECTING

    def _config(self) -> wire.JsonValue:
        if self.config is None:
            return POLICY_CONFIGS.get(self.policy)
        value: wire.JsonValue = json.loads(self.config)
        return value

    @property
    def inputs(self) -> int:
        """How many inputs the case sends (a burst is its picks and Dones, an across probe
        its block, repeated)."""
        return len(expand(self.path, self.endpoints, self._config()))

    def _steps(self) -> list[dict[str, Any]]:
        """The case file's steps: an across probe is a ``repeat`` block."""
        steps: list[dict[str, Any]] = []
        for raw in self.path:
            if raw["type"] != ACROSS:
                steps.extend({"input": i} for i in _expand_burst(raw))
                continue
            block, across = probe_block(raw, self.endpoints, self._config())
            steps.append(
                {
                    "repeat": ACROSS_REPETITIONS,
                    "steps": [{"input": i} for i in block],
                    "expect": {"across": across},
                }
            )
        return steps

    @property
    def case_id(self) -> str:
        body = json.dumps(list(self.path), sort_keys=True)
        digest = hashlib.sha256(f"{self.policy}\n{body}".encode()).hexdigest()[:8]
        return f"explore-{self.policy.replace('_', '-')}-{digest}"

    def to_case_json(self) -> dict[str, Any]:
        lines = self.message.splitlines() or ["failure"]
        headline = lines[1] if len(lines) > 1 else lines[0]
        case: dict[str, Any] = {
            "id": self.case_id,
            "title": f"explore: {self.policy}: {headline[:80]}",
            "description": (
                "Found by `python -m conformance explore` (breadth-first, so no shorter "
                "sequence of the alphabet violates the spec). The steps carry no "
                "expectations: the spec monitors judge the trace. Verdict when found: "
                + self.message
            ),
            "requirements": list(self.requirements),
            "policy": self.policy,
            "steps": self._steps(),
        }
        channel: dict[str, Any] = {}
        if self.profile is not Profile.CURRENT:
            channel["profile"] = self.profile.value
        if self.health_checking:
            channel["health_checking"] = True
        capabilities = capabilities_needed(
            self.policy, self.health_checking, expand(self.path, self.endpoints, self._config())
        )
        if capabilities:
            case["capabilities"] = capabilities
        if self.seed:
            channel["seed"] = self.seed
        if channel:
            case["channel"] = channel
        config = self._config()
        if config is not None:
            case["config"] = config
        if self.spec_options:
            # Written for these values: an adapter declaring others skips it (CONF-4).
            case["spec_options"] = dict(self.spec_options)
        return case

    def write(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.case_id}.json"
        path.write_text(json.dumps(self.to_case_json(), indent=2) + "\n", encoding="utf-8")
        return path


# --- keep_going: violations grouped into classes ---

# What differs between two paths that hit the same violation: step numbers, pick IDs,
# subchannel IDs (the spec's numbers, or an adapter's own names such as js-sc-2; integers
# in a list are taken as subchannel IDs) and addresses.  Subchannels and addresses are
# renamed by first mention (S1, S2...; <A1>, <A2>...), so that "subchannel 2 ... subchannel
# 2" and "subchannel 2 ... subchannel 3" stay apart.
_ADDRESS = re.compile(r"\[[0-9A-Fa-f:]+\]:\d+|\d{1,3}(?:\.\d{1,3}){3}:\d+")
_STEP = re.compile(r"\bsteps? \d+")
_PICK = re.compile(r"\b(picks? |pick_id=)\d+")
_SUBCHANNEL = re.compile(
    r"\b(subchannels? |subchannel=|ID )([A-Za-z_-]*\d+)\b|(?<=[\[{(, ])(\d+)(?=[\]}),])"
)


def canonical_message(message: str) -> str:
    """A violation's message with what differs between paths renamed (see above)."""
    names: dict[str, str] = {}

    def rename(kind: str, value: str) -> str:
        number = sum(k.startswith(kind) for k in names) + 1
        return names.setdefault(f"{kind} {value}", f"<A{number}>" if kind == "A" else f"S{number}")

    text = _ADDRESS.sub(lambda m: rename("A", m.group()), message)
    text = _STEP.sub("step N", text)
    text = _PICK.sub(lambda m: f"{m.group(1)}P", text)
    return _SUBCHANNEL.sub(
        lambda m: m.group(1) + rename("S", m.group(2)) if m.group(2) else rename("S", m.group(3)),
        text,
    )


def violation_signature(requirements: Sequence[str], message: str) -> str:
    """A violating step's class: its requirement IDs and its violations' messages,
    canonical (``canonical_message``), one per line, sorted; the step's own line (which
    names its input) is left out when the monitors named violations."""
    lines = message.splitlines()
    details = lines[1:] if len(lines) > 1 else lines
    said = sorted({canonical_message(line) for line in details})
    return "\n".join([" ".join(sorted(set(requirements))), *said])


@attrs.frozen
class ViolationClass:
    """One kind of violation (``violation_signature``): its first path in BFS order, a
    shortest one, and how many violating paths had this signature."""

    signature: str
    counterexample: Counterexample
    paths: int = 1
    # Selection-only options the adapter holds another value of, whose requirements this
    # class violates (unmodelled_options): "KEY=VALUE" each; the violation may be that choice.
    unmodelled: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "signature": self.signature.splitlines(),
            "paths": self.paths,
            "shortest": len(self.counterexample.path),
            "unmodelled_options": list(self.unmodelled),
            "case": self.counterexample.to_case_json(),
        }


@attrs.frozen
class Result:
    """What one exploration (or one shard of it) did, and what it found."""

    bounds: Bounds
    implementation: str
    states: int  # distinct abstract states reached, the initial one included
    transitions: int  # inputs sent from expanded states (each a replayed case)
    depth_completed: int  # every state at this depth or less was reached
    level_sizes: tuple[int, ...]  # new states per depth
    seconds: float
    counterexample: Counterexample | None
    exercised: tuple[tuple[str, str], ...]  # (requirement, channel state) pairs
    shard: tuple[int, int] = (0, 1)
    keys: frozenset[bytes] = frozenset()
    spec_options: SpecOptions = ()  # the values the monitors judged by (judging_options)
    # keep_going: each distinct violation (ViolationClass), in the order BFS met them; the
    # violating paths, and those of them the search would have extended (shorter than the
    # depth, not ending in a burst): the states behind these were not explored.
    keep_going: bool = False
    violations: tuple[ViolationClass, ...] = ()
    violating_paths: int = 0
    pruned: int = 0
    # Declared selection-only options judged by their defaults (not_meaningful).
    unjudged: Unjudged = ()

    @property
    def states_per_second(self) -> float:
        return self.states / self.seconds if self.seconds > 0 else 0.0

    def to_json(self, *, timings: bool = True) -> dict[str, Any]:
        """The result as JSON; ``timings=False`` leaves out ``seconds``, the one field that
        differs between two runs on an adapter with virtual time and seeded randomness."""
        data = self._to_json()
        if self.keep_going:
            data["keep_going"] = {
                "violating_paths": self.violating_paths,
                "pruned": self.pruned,
                "classes": [v.to_json() for v in self.violations],
            }
        if not timings:
            del data["seconds"]
        return data

    def _to_json(self) -> dict[str, Any]:
        return {
            "bounds": attrs.asdict(self.bounds, filter=_written),
            "implementation": self.implementation,
            "states": self.states,
            "transitions": self.transitions,
            "depth_completed": self.depth_completed,
            "level_sizes": list(self.level_sizes),
            "seconds": round(self.seconds, 3),
            "counterexample": None
            if self.counterexample is None
            else self.counterexample.to_case_json(),
            "exercised": [list(pair) for pair in self.exercised],
            "spec_options": dict(self.spec_options),
            "unmodelled_options": [
                {"option": key, "value": value, "requirements": list(reqs)}
                for key, value, reqs in self.unjudged
            ],
            "shard": list(self.shard),
            "keys": sorted(k.hex() for k in self.keys),
        }


def _written(attribute: attrs.Attribute[Any], value: Any) -> bool:
    """Bounds fields a result writes: implementation_state and burst_picks only when set
    (results written before them have neither)."""
    if attribute.name == "implementation_state":
        return bool(value)
    return attribute.name != "burst_picks" or value is not None


_WORKER: tuple[AdapterSession, Bounds, bool] | None = None


def _start_worker(target: Target, bounds: Bounds, cover: bool) -> None:
    global _WORKER
    _WORKER = (AdapterSession(target.connect, target.step_timeout), bounds, cover)


def _expand(path: tuple[wire.JsonObject, ...]) -> Visit:
    """Worker side: replay one path (a state's shortest path plus one input)."""
    assert _WORKER is not None
    session, bounds, cover = _WORKER
    return replay(session, bounds, path, cover=cover)


def _expand_state(
    state: tuple[tuple[wire.JsonObject, ...], tuple[wire.JsonObject, ...]],
) -> list[Visit]:
    """Worker side: every path from one state (its shortest path, the inputs legal next), forked."""
    assert _WORKER is not None
    session, bounds, cover = _WORKER
    path, next_inputs = state
    return fork(session, bounds, path, next_inputs, cover=cover)


def _check_adapter(
    session: AdapterSession, bounds: Bounds
) -> tuple[str, SpecOptions, Mapping[str, str]]:
    """The implementation's name and the spec options its monitors judge by; a one-line
    CaseError for an adapter that cannot be explored."""
    policy = bounds.policy
    hello = session.ensure_started()
    caps = hello.capabilities
    if caps.time != "virtual" or not caps.seedable_random:
        raise CaseError(
            f"explore needs an adapter with virtual time and seedable_random (replaying a "
            f"path must reach the same state); {hello.implementation.name} declares "
            f"time={caps.time}, seedable_random={str(caps.seedable_random).lower()}"
        )
    if policy not in caps.policies:
        offered = ", ".join(sorted(caps.policies))
        raise CaseError(
            f"explore: {hello.implementation.name} does not offer policy {policy!r} "
            f"(it offers: {offered})"
        )
    # The values CaseRun.start builds the monitors with for every replayed case: the
    # declared ones, and those --spec-option asked of a configurable adapter.
    declared = caps.options_for(_case(bounds))
    return hello.implementation.name, judging_options(policy, declared), declared


def _check_profile(session: AdapterSession, bounds: Bounds) -> None:
    """A one-line CaseError when the adapter cannot run the profile its backoff needs."""
    hello = session.ensure_started()
    if bounds.profile not in hello.capabilities.profiles:
        raise CaseError(
            f"explore: {hello.implementation.name} declares {BACKOFF_END}="
            f"{bounds.backoff_value}, whose TRANSIENT_FAILURE -> CONNECTING edge is in "
            f"profile {bounds.profile.value!r}, which it cannot run"
        )


def explore(
    bounds: Bounds,
    target: Target,
    *,
    jobs: int = 1,
    shard: tuple[int, int] = (0, 1),
    keep_keys: bool = False,
    cover: bool = True,
    budget: float | None = None,
    progress: Callable[[int, int, int], None] | None = None,
    prefix: Sequence[wire.JsonObject] = (),
    keep_going: bool = False,
    notice: Callable[[str], None] | None = None,
    fork_in_process: bool = True,
) -> Result:
    """Breadth-first search of every abstract state within ``bounds.depth`` inputs.

    Stops at the first level with a violation; the violating path first in the level's
    (deterministic) order is the counterexample.  ``progress(depth, states, frontier)``
    is called after each level.  ``budget``: seconds after which the search stops, even
    within a level (the result says which depth was completed).  ``prefix``: search from
    the state these inputs reach rather than from the start (depths count after it; the
    counterexample's path includes it).  ``keep_going``: a violating path is recorded
    (grouped by ``violation_signature``) and not extended, and the search goes on; the
    counterexample is then the first class's.  ``notice(line)`` is called once before the
    search when the adapter declares selection-only options the monitors judge by their
    defaults (not_meaningful); the result records them either way.  ``fork_in_process``:
    False replays every path even in-process (the tests compare the two).
    """
    started = time.monotonic()
    session = AdapterSession(target.connect, target.step_timeout)
    try:
        implementation, options, declared = _check_adapter(session, bounds)
        bounds = attrs.evolve(bounds, backoff_end=declared.get(BACKOFF_END, BackoffEnd.IDLE.value))
        _check_profile(session, bounds)
        unjudged = not_meaningful(bounds.policy, declared)
        if unjudged and notice is not None:
            notice(not_meaningful_line(implementation, unjudged))
        root = replay(session, bounds, tuple(prefix), cover=False)
        if root.failure is not None:
            raise CaseError(f"explore: the prefix itself violates the spec: {root.failure}")
    finally:
        session.close()
    seen = {root.key}
    frontier = [root]
    levels = [1]
    transitions = 0
    covered: set[tuple[str, str]] = set()
    found: Counterexample | None = None
    classes: dict[str, ViolationClass] = {}  # keep_going, in the order met
    violating = pruned = 0
    index, count = shard
    split = count == 1
    pool = (
        multiprocessing.get_context("spawn").Pool(jobs, _start_worker, (target, bounds, cover))
        if jobs > 1
        else None
    )
    if pool is None:
        _start_worker(target, bounds, cover)
    # The reference and the planted bugs are forked rather than replayed (fork; same
    # results, and test_explore_fork.py shows it); a subprocess adapter can only be
    # replayed, and a --load'ed policy is, since it may keep state (module globals) that
    # a copy of the run would share instead of copying.
    forking = target.adapter is None and not target.load and fork_in_process
    depth = 0
    out_of_time = False
    try:
        while depth < bounds.depth and frontier and found is None and not out_of_time:
            if not split and len(frontier) >= SHARD_SPLIT_FACTOR * count:
                frontier = frontier[index::count]  # every shard computes the same levels so far
                split = True
            visits: Iterable[Visit]
            if forking:  # one task per state: its path is replayed once (fork)
                states = [(v.path, v.next_inputs) for v in frontier]
                forked = pool.imap(_expand_state, states) if pool else map(_expand_state, states)
                visits = itertools.chain.from_iterable(forked)
            else:
                paths = [(*v.path, step) for v in frontier for step in v.next_inputs]
                visits = pool.imap(_expand, paths, chunksize=16) if pool else map(_expand, paths)
            next_frontier = []
            for visit in visits:
                if budget is not None and time.monotonic() - started > budget:
                    out_of_time = True  # this level is not complete
                    break
                transitions += 1
                covered.update(visit.exercised)
                if visit.failure is not None:
                    # Visits come in the level's order (imap keeps it): the first violation
                    # is the first of the level, a shortest one; the rest of the level
                    # cannot give another answer (unless keep_going).
                    hit = Counterexample(
                        bounds.policy,
                        bounds.health_checking,
                        visit.path,
                        visit.failure,
                        visit.requirements,
                        options,
                        bounds.seed,
                        bounds.config,
                        bounds.endpoints,
                        bounds.profile,
                    )
                    if not keep_going:
                        found = hit
                        break
                    # Recorded, not extended: the first of a class in BFS order is a
                    # shortest one.  A path shorter than the depth would have been
                    # extended: the states behind it are not explored (counted).
                    violating += 1
                    pruned += depth + 1 < bounds.depth and not ends_in_burst(visit.path)
                    signature = violation_signature(visit.requirements, visit.failure)
                    known = classes.get(signature)
                    if known is None:
                        unmodelled = tuple(
                            f"{key}={value}"
                            for key, value, reqs in unjudged
                            if set(reqs) & set(visit.requirements)
                        )
                        classes[signature] = ViolationClass(signature, hit, 1, unmodelled)
                    else:
                        classes[signature] = attrs.evolve(known, paths=known.paths + 1)
                    continue
                if ends_in_burst(visit.path) or visit.key in seen:
                    continue  # a burst ends its sequence (BURSTS)
                seen.add(visit.key)
                next_frontier.append(visit)
            if out_of_time:
                break
            if found is not None:
                levels.append(len(next_frontier))  # the part of the level searched
                break
            frontier = next_frontier
            depth += 1
            levels.append(len(frontier))
            if progress is not None:
                progress(depth, len(seen), len(frontier))
    finally:
        if pool is not None:
            if out_of_time or found is not None:
                pool.terminate()
            else:
                pool.close()
            pool.join()
    completed = depth if found is None else len(found.path) - len(prefix) - 1
    if classes:
        found = next(iter(classes.values())).counterexample
    return Result(
        bounds,
        implementation,
        len(seen),
        transitions,
        completed,
        tuple(levels),
        time.monotonic() - started,
        found,
        tuple(sorted(covered)),
        shard,
        frozenset(seen) if keep_keys or shard[1] > 1 else frozenset(),
        options,
        keep_going,
        tuple(classes.values()),
        violating,
        pruned,
        unjudged,
    )


def merge(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Shard results (``Result.to_json``) of one exploration, merged: distinct states are
    the union of the shards' keys; the counterexample is a shortest one of any shard."""
    if not results:
        raise CaseError("explore --merge: no shard results given")
    bounds = results[0]["bounds"]
    shards = sorted(r["shard"][0] for r in results)
    total = results[0]["shard"][1]
    if any(r["bounds"] != bounds or r["shard"][1] != total for r in results):
        raise CaseError("explore --merge: the shard results are of different explorations")
    if any(r["spec_options"] != results[0]["spec_options"] for r in results):
        raise CaseError("explore --merge: the shards were judged with different spec options")
    if any(r.get("unmodelled_options") != results[0].get("unmodelled_options") for r in results):
        raise CaseError("explore --merge: the shards declare different unmodelled options")
    if shards != list(range(total)):
        raise CaseError(f"explore --merge: have shards {shards} of {total}")
    keys = {k for r in results for k in r["keys"]}
    found = [r["counterexample"] for r in results if r["counterexample"] is not None]
    return {
        "bounds": bounds,
        "implementation": results[0]["implementation"],
        "states": len(keys),
        "transitions": sum(r["transitions"] for r in results),
        "depth_completed": min(r["depth_completed"] for r in results),
        "seconds": round(sum(r["seconds"] for r in results), 3),
        "counterexample": min(found, key=lambda c: len(c["steps"])) if found else None,
        "exercised": sorted({tuple(p) for r in results for p in r["exercised"]}),
        "spec_options": results[0]["spec_options"],
        "unmodelled_options": results[0].get("unmodelled_options", []),
        "shard": [0, 1],
        "merged_from": total,
    }


# --- The command line (``python -m conformance explore``; the parser is in cli.py) ---

# What a result file (Result.to_json) holds, for --merge: each key and its JSON type.
_RESULT_FIELDS: dict[str, type | tuple[type, ...]] = {
    "bounds": dict,
    "implementation": str,
    "states": int,
    "transitions": int,
    "depth_completed": int,
    "seconds": (int, float),
    "counterexample": (dict, type(None)),
    "exercised": list,
    "spec_options": dict,
    "shard": list,
    "keys": list,
}


def load_result(path: Path) -> dict[str, Any]:
    """A shard's result file (``explore --out``), checked enough to merge; one-line
    CaseError naming the file otherwise."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise CaseError(f"explore --merge {path}: cannot read it: {err}") from None
    if not isinstance(data, dict):
        raise CaseError(f"explore --merge {path}: not an explore result (not a JSON object)")
    for key, kind in _RESULT_FIELDS.items():
        if key not in data:
            raise CaseError(f"explore --merge {path}: not an explore result (no {key!r})")
        if not isinstance(data[key], kind) or isinstance(data[key], bool):
            raise CaseError(f"explore --merge {path}: {key!r} has the wrong type")
    optional = {"implementation_state", "burst_picks"}  # written only when set (_written)
    if set(data["bounds"]) | optional != {f.name for f in attrs.fields(Bounds)}:
        raise CaseError(f"explore --merge {path}: 'bounds' is not an explore result's bounds")
    found = data["counterexample"]
    if found is not None and not (
        isinstance(found.get("steps"), list) and isinstance(found.get("title"), str)
    ):
        raise CaseError(f"explore --merge {path}: 'counterexample' is not a case")
    shard = data["shard"]
    if not (len(shard) == 2 and all(type(n) is int for n in shard) and 0 <= shard[0] < shard[1]):
        raise CaseError(f"explore --merge {path}: 'shard' is not [I, N] with 0 <= I < N")
    return data


AREA_OF_POLICY = {
    "pick_first": "PF",
    "round_robin": "RR",
    "weighted_round_robin": "WRR",
    "least_request_experimental": "LR",
}


def parse_spec_option(text: str) -> tuple[str, str]:
    """``KEY=VALUE``, a value the registry knows (spec/options.py); an argparse type."""
    from spec.errors import ModelError
    from spec.options import check_value

    key, equals, value = text.partition("=")
    if not equals:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        check_value(key, value)
    except ModelError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return key, value


def parse_config(text: str) -> str:
    """``--config JSON``: a policy config, as canonical JSON text; an argparse type."""
    try:
        value = json.loads(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"not JSON: {err}") from None
    return json.dumps(value, sort_keys=True)


def parse_shard(text: str) -> tuple[int, int]:
    """``I/N`` (0 <= I < N) as a pair; an argparse type (a one-line UsageError)."""
    index, _, count = text.partition("/")
    if not (index.isdigit() and count.isdigit()) or not 0 <= int(index) < int(count):
        raise argparse.ArgumentTypeError(f"expected I/N with 0 <= I < N, got {text!r}")
    return int(index), int(count)


def render(result: dict[str, Any]) -> str:
    """A result (``Result.to_json`` or :func:`merge`) for the terminal."""
    b = result["bounds"]
    seconds = result.get("seconds")  # None: written with --no-timings
    rate = result["states"] / seconds if seconds else 0.0
    took = "time not recorded" if seconds is None else f"{seconds:.1f} s ({rate:.0f} states/s)"
    shard = result.get("shard", [0, 1])
    part = f" (shard {shard[0]}/{shard[1]})" if shard[1] > 1 else ""
    lines = [
        f"explore {b['policy']}{part}: {b['endpoints']} endpoints, depth {b['depth']}, "
        f"health_checking={str(b['health_checking']).lower()}, seed {b['seed']}, "
        + (f"config {b['config']}, " if b.get("config") is not None else "")
        + (f"history {b['history']}, " if b.get("history") else "")
        + ("the implementation's state in the key, " if b.get("implementation_state") else "")
        + (f"bursts of {b['burst_picks']} picks, " if b.get("burst_picks") else "")
        + f"on {result['implementation']}",
        f"  {result['states']} states, {result['transitions']} transitions, "
        f"depth {result['depth_completed']} completed, {took}",
    ]
    if b.get("backoff_end") not in (None, BackoffEnd.IDLE.value):
        lines.append(
            f"  {BACKOFF_END}={b['backoff_end']}: the alphabet's TRANSIENT_FAILURE edges go to "
            + " and ".join(t.name for t in backoff_moves(b["backoff_end"], False))
            + f" (profile {backoff_profile(b['backoff_end']).value})"
        )
    unjudged = result.get("unmodelled_options") or []
    if unjudged:  # declared selection-only options: those verdicts are not meaningful
        reqs = ", ".join(dict.fromkeys(r for u in unjudged for r in u["requirements"]))
        said = ", ".join(f"{u['option']}={u['value']}" for u in unjudged)
        lines.append(f"  not meaningful: {reqs}, judged by the defaults of the declared {said}")
    options = result["spec_options"]
    if options:  # the values the monitors judged by: the claim holds under these only
        said = ", ".join(f"{k}={v}" for k, v in sorted(options.items()))
        lines.append(f"  judged with the spec options (declared, else default): {said}")
    if "level_sizes" in result:
        lines.append("  new states per depth: " + " ".join(map(str, result["level_sizes"])))
    pairs = [tuple(p) for p in result["exercised"]]
    if pairs:
        area = AREA_OF_POLICY.get(b["policy"], "")
        reached = sorted({r for r, _ in pairs}, key=_requirement_order)
        own = [r for r in reached if r.startswith(area + "-")]
        lines.append(f"  requirements exercised ({len(reached)}): {', '.join(reached)}")
        if area:
            from spec.catalogue import CATALOGUE

            judged = judged_requirements(b["policy"])
            ids = [r for r in CATALOGUE if r.startswith(area + "-")]
            missing = [r for r in ids if r in judged and r not in own]
            unjudged = [r for r in ids if r not in judged]
            lines.append(
                f"  {area}: {len(own)} of the {len(own) + len(missing)} the monitors judge "
                f"exercised; not reached: {', '.join(missing) or 'none'}; judged by no "
                f"monitor: {', '.join(unjudged) or 'none'}"
            )
        columns = sorted({c for _, c in pairs})
        lines.append("  requirement x channel state: " + " ".join(columns))
        for req in reached:
            marks = " ".join("x" if (req, c) in pairs else "." for c in columns)
            lines.append(f"    {req:<10} {marks}")
    found = result["counterexample"]
    kept = result.get("keep_going")
    if kept is not None:  # --keep-going: every class, and what was left unexplored
        classes = kept["classes"]
        lines.append(
            f"  keep-going: {len(classes)} violation classes over {kept['violating_paths']} "
            f"violating paths; {kept['pruned']} of them shorter than the depth were not "
            "extended: the states behind them were not explored"
        )
        for number, one in enumerate(classes, start=1):
            lines.append(
                f"  class {number}: {one['paths']} paths, shortest {one['shortest']} inputs "
                f"({one['case']['id']}): {one['signature'][0]}"
            )
            if one["unmodelled_options"]:  # judged by the default of an option it declares
                lines.append(
                    "      (the adapter declares "
                    + ", ".join(one["unmodelled_options"])
                    + ", which no monitor models: judged by the default)"
                )
            lines.extend(f"      {said}" for said in one["signature"][1:])
        if classes:
            lines.append(
                f"  no other violation: every other sequence of at most "
                f"{result['depth_completed']} inputs of the alphabet that does not extend a "
                "violating one satisfies the spec"
            )
            return "\n".join(lines) + "\n"
    if found is None:
        lines.append(
            f"  no violation: no sequence of at most {result['depth_completed']} inputs of the "
            "alphabet violates the spec"
        )
    else:
        lines.append(f"  VIOLATION in {len(found['steps'])} steps: {found['title']}")
    return "\n".join(lines) + "\n"


def judged_requirements(policy: str) -> frozenset[str]:
    """The requirement IDs the policy's monitors can report: those their source names."""
    import re

    from conformance.monitors import find_policy_monitor

    cls, _ = find_policy_monitor(policy)
    sources = [inspect.getsource(BoundaryMonitor)]
    if cls is not None:
        sources.append(inspect.getsource(inspect.getmodule(cls) or cls))
    return frozenset(m for text in sources for m in re.findall(r'"([A-Z]+-[0-9]+)"', text))


def _requirement_order(req: str) -> tuple[str, int]:
    area, _, number = req.rpartition("-")
    return area, int(number) if number.isdigit() else 0


def command(args: Any) -> int:
    """``python -m conformance explore``: 0 clean, 1 a violation found, 2 bad input.

    The parser (cli.py) has checked each option's type; this checks how they combine.
    """
    import sys

    if args.out is not None:
        _make_directory(args.out)
    if args.merge:
        if args.policy is not None or args.adapter is not None or args.in_process:
            raise UsageError("explore --merge: takes result files only (no --policy, --adapter)")
        merged = merge([load_result(Path(path)) for path in args.merge])
        sys.stdout.write(render(merged))
        if args.out is not None:
            (args.out / "merged.json").write_text(json.dumps(merged, indent=2) + "\n")
        return 0 if merged["counterexample"] is None else 1
    if args.policy is None or args.depth is None:
        raise UsageError("explore: --policy and --depth are required (or --merge FILE...)")
    if (args.adapter is None) == (not args.in_process):
        raise UsageError("explore: give exactly one of --in-process and --adapter COMMAND")
    if args.load and not args.in_process:
        raise UsageError("explore: --load MODULE goes with --in-process")
    if args.shard is not None and (args.keep_going or args.no_timings):
        # Shards repeat the subtrees they share (paths would be counted twice), and --merge
        # adds up their seconds.
        raise UsageError("explore: --keep-going and --no-timings do not go with --shard")
    bounds = Bounds(
        args.policy,
        args.endpoints,
        args.depth,
        args.health_checking,
        args.seed,
        tuple(sorted(dict(args.spec_option).items())),
        args.config,
        args.history,
        implementation_state=args.implementation_state,
        burst_picks=args.burst_picks,
    )
    if args.implementation_state and not args.in_process:
        raise UsageError("explore: --implementation-state goes with --in-process")
    try:
        time_steps(bounds)  # weighted_round_robin reads its periods from the config
    except ModelError as err:
        raise UsageError(f"explore --config: {err}") from None
    if args.burst_picks is not None and burst_of(bounds) is None:
        raise UsageError(f"explore --burst-picks: {args.policy}'s alphabet has no burst")
    target = Target(args.adapter, tuple(args.load), None, args.timeout)
    shard = args.shard or (0, 1)

    def progress(depth: int, states: int, frontier: int) -> None:
        print(f"  depth {depth}: {states} states, {frontier} new", file=sys.stderr, flush=True)

    result = explore(
        bounds,
        target,
        jobs=args.jobs,
        shard=shard,
        cover=not args.no_coverage,
        progress=progress,
        keep_going=args.keep_going,
        notice=lambda line: print(line, file=sys.stderr, flush=True),
    )
    data = result.to_json()
    sys.stdout.write(render(data))
    if args.out is not None:
        suffix = f"-shard-{shard[0]}-of-{shard[1]}" if shard[1] > 1 else ""
        name = f"explore-{bounds.policy}-k{bounds.endpoints}-d{bounds.depth}{suffix}.json"
        written = result.to_json(timings=not args.no_timings)
        (args.out / name).write_text(json.dumps(written, indent=2) + "\n", encoding="utf-8")
        print(f"explore: wrote {args.out / name}")
    if result.counterexample is not None:
        # DIR/explore/<id>.json, never among the result files at DIR's top: `conformance run
        # --cases DIR/explore` replays it.  Without --out, a new temporary folder (as fuzz).
        cases = (
            args.out / "explore"
            if args.out is not None
            else Path(tempfile.mkdtemp(prefix="conformance-explore-"))
        )
        found = [v.counterexample for v in result.violations] or [result.counterexample]
        for counterexample in found:
            print(f"explore: wrote {counterexample.write(cases)}")
        how = "--in-process" if args.in_process else f"--adapter {shlex.quote(args.adapter)}"
        print(f"explore: replay it with: python -m conformance run --cases {cases} {how}")
        return 1
    return 0


def _make_directory(path: Path) -> None:
    """--out DIR, created before the search rather than failing after it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"explore --out {path}: cannot make a directory there: {err}") from None
