"""Expectations across repetitions: statistics over many pickers and updates (CONF-7).

A per-step ``statistical`` expectation sends one pick many times to one picker,
so it sees how a picker spreads picks, never how a *new* picker or a *new*
update starts.  A ``repeat`` step runs a block of steps ``repeat`` times (each
repetition builds new pickers, new address orders...) and its ``across``
expectation judges one observation per repetition:

* ``first_pick`` -- the outcome of the block's first pick: the picked
  subchannel's address, or ``queue``, ``fail``, ``drop``;
* ``first_connect`` -- the address of the first subchannel asked to connect;
* ``connect_order`` -- the addresses asked to connect, in order, each once.

Observations start at the block's ``from_step`` (1-based, default 1), so a
block can first put the channel back where it started.  Two checks, either or both:

* ``fractions`` and ``tolerance``: each observed key's share lies within
  ``tolerance`` of its fraction (keys not listed count as fraction 0);
* ``reachable`` (each a list of addresses) with ``min_probability``, or the
  shorthand ``every_order_of`` (every order of these addresses, each with
  probability ``1/k!`` under a uniform shuffle): each listed observation occurs
  at least once.

The false-alarm bound (the chance that a correct implementation, whose
repetitions draw independent random numbers, fails the expectation by bad luck)
is stated and enforced at load time: the loader refuses a block whose bound
exceeds :data:`MAX_FALSE_ALARM`.  For fractions it is Hoeffding's inequality with
a union over the keys whose fraction lies strictly between 0 and 1:
``sum 2 exp(-2 n t^2)``; for reachability a union over the listed outcomes of the
chance of never seeing one: ``len(reachable) (1 - min_probability)^n``.
"""

from __future__ import annotations

import collections
import itertools
import math
from collections.abc import Sequence

import attrs

from conformance import wire
from conformance.errors import JsonPath, WireError

# Chance that a correct implementation fails one cross-repetition expectation by bad luck.
MAX_FALSE_ALARM = 1e-6
OBSERVATIONS = ("first_pick", "first_connect", "connect_order")
_OUTCOMES = ("queue", "fail", "drop")

Observation = tuple[str, ...]


@attrs.frozen
class Across:
    """One expectation over every repetition of a repeated block (see the module text)."""

    observe: str
    repetitions: int
    steps_per_repetition: int
    from_step: int = 1  # 1-based index in the block of the first observed step
    fractions: tuple[tuple[str, float], ...] = ()
    tolerance: float = 0.0
    reachable: tuple[Observation, ...] = ()
    min_probability: float = 0.0
    at_step: int = 0  # the repeat step's index in the case file, for messages

    def false_alarm_bound(self) -> float:
        """Upper bound on the chance that a correct implementation fails this check."""
        bound = 0.0
        n = self.repetitions
        for _, fraction in self.fractions:
            if 0 < fraction < 1:
                bound += 2 * math.exp(-2 * n * self.tolerance**2)  # Hoeffding, per key
        bound += len(self.reachable) * (1 - self.min_probability) ** n
        return bound

    def check(self, observations: Sequence[Observation | None]) -> str | None:
        missing = [i + 1 for i, o in enumerate(observations) if not o]
        if missing:
            what = self.observe.replace("_", " ")
            return f"no {what} was observed in repetition {missing[0]} of {len(observations)}"
        seen = [o for o in observations if o]
        problems = []
        if self.fractions:
            counts = collections.Counter(o[0] for o in seen)
            expected = dict(self.fractions)
            for key in sorted(set(expected) | set(counts)):
                share = counts.get(key, 0) / len(seen)
                want = expected.get(key, 0.0)
                if abs(share - want) > self.tolerance + 1e-12:
                    problems.append(f"{key}: {share:.3f} (expected {want:.3f})")
            if problems:
                what = self.observe.replace("_", " ")
                problems = [
                    f"over {len(seen)} repetitions the shares of the {what} were off by more "
                    f"than {self.tolerance:g}: " + ", ".join(problems)
                ]
        never = [r for r in self.reachable if r not in set(seen)]
        if never:
            shown = "; ".join(" ".join(r) for r in never[:4])
            more = f" and {len(never) - 4} more" if len(never) > 4 else ""
            problems.append(
                f"in {len(seen)} repetitions {len(never)} of {len(self.reachable)} outcomes "
                f"that must be reachable never occurred: {shown}{more}"
            )
        return "; ".join(problems) or None

    def describe(self) -> str:
        what = self.observe.replace("_", " ")
        parts = []
        if self.fractions:
            shares = ", ".join(f"{k}: {v:g}" for k, v in self.fractions)
            parts.append(f"the {what} has shares {{{shares}}} within +-{self.tolerance:g}")
        if self.reachable:
            parts.append(f"each of {len(self.reachable)} {what}s occurs at least once")
        bound = f"(false-alarm bound {self.false_alarm_bound():.1g})"
        return f"over {self.repetitions} repetitions, " + " and ".join(parts) + f" {bound}"


def across_from_json(
    value: wire.JsonValue, path: JsonPath, repetitions: int, steps_per_repetition: int, at: int
) -> Across:
    """Parse the ``across`` object of a repeat step; refuses a bound above MAX_FALSE_ALARM."""
    obj = wire.expect_object(value, path)
    wire.check_keys(
        obj,
        path,
        frozenset({"observe"}),
        frozenset(
            {
                "from_step",
                "fractions",
                "tolerance",
                "reachable",
                "min_probability",
                "every_order_of",
            }
        ),
    )
    observe = wire.expect_str(obj["observe"], (*path, "observe"))
    if observe not in OBSERVATIONS:
        raise WireError((*path, "observe"), f"expected one of {', '.join(OBSERVATIONS)}")
    from_step = wire.positive_int(obj.get("from_step", 1), (*path, "from_step"))
    if from_step > steps_per_repetition:
        raise WireError((*path, "from_step"), f"the block has {steps_per_repetition} steps")
    fractions: list[tuple[str, float]] = []
    tolerance = 0.0
    if ("fractions" in obj) != ("tolerance" in obj):
        raise WireError(path, "give fractions and tolerance together")
    if "fractions" in obj:
        if observe == "connect_order":
            raise WireError((*path, "fractions"), "fractions need first_pick or first_connect")
        tolerance = float(wire.expect_number(obj["tolerance"], (*path, "tolerance")))
        if not 0 < tolerance < 1:
            raise WireError((*path, "tolerance"), f"expected 0 < tolerance < 1, got {tolerance}")
        for key, share in wire.expect_object(obj["fractions"], (*path, "fractions")).items():
            fpath = (*path, "fractions", key)
            if observe == "first_connect" or key not in _OUTCOMES:
                wire.address_from_json(key, fpath)
            number = float(wire.expect_number(share, fpath))
            if not 0 <= number <= 1:
                raise WireError(fpath, f"a fraction lies in [0, 1], got {number}")
            fractions.append((key, number))
        if abs(sum(f for _, f in fractions) - 1) > 1e-9:
            raise WireError((*path, "fractions"), "the fractions must add up to 1")
    reachable, min_probability = _reachable(obj, path, observe)
    if not fractions and not reachable:
        raise WireError(path, "give fractions and tolerance, reachable, or every_order_of")
    across = Across(
        observe,
        repetitions,
        steps_per_repetition,
        from_step,
        tuple(fractions),
        tolerance,
        reachable,
        min_probability,
        at,
    )
    bound = across.false_alarm_bound()
    if bound > MAX_FALSE_ALARM:
        raise WireError(
            path,
            f"a correct implementation would fail this by bad luck with probability up to "
            f"{bound:.2g} (more than {MAX_FALSE_ALARM:g}): repeat more often or widen the "
            f"tolerance",
        )
    return across


def _reachable(
    obj: dict[str, wire.JsonValue], path: JsonPath, observe: str
) -> tuple[tuple[Observation, ...], float]:
    if "every_order_of" in obj:
        if "reachable" in obj or "min_probability" in obj:
            raise WireError(path, "every_order_of replaces reachable and min_probability")
        if observe != "connect_order":
            raise WireError((*path, "every_order_of"), "every_order_of needs connect_order")
        items = wire.expect_list(obj["every_order_of"], (*path, "every_order_of"))
        addrs = [
            wire.address_from_json(wire.expect_str(a, (*path, "every_order_of", i)), path).addr
            for i, a in enumerate(items)
        ]
        if len(addrs) < 2 or len(set(addrs)) != len(addrs):
            raise WireError((*path, "every_order_of"), "give at least two distinct addresses")
        orders = tuple(itertools.permutations(addrs))
        return orders, 1 / len(orders)
    if ("reachable" in obj) != ("min_probability" in obj):
        raise WireError(path, "give reachable and min_probability together")
    if "reachable" not in obj:
        return (), 0.0
    outcomes = []
    for i, raw in enumerate(wire.expect_list(obj["reachable"], (*path, "reachable"))):
        rpath = (*path, "reachable", i)
        outcome = tuple(
            wire.expect_str(a, (*rpath, j)) for j, a in enumerate(wire.expect_list(raw, rpath))
        )
        if not outcome or (observe != "connect_order" and len(outcome) != 1):
            raise WireError(rpath, "an outcome is one key, or for connect_order a list of them")
        outcomes.append(outcome)
    probability = float(wire.expect_number(obj["min_probability"], (*path, "min_probability")))
    if not 0 < probability <= 1:
        raise WireError((*path, "min_probability"), "expected 0 < min_probability <= 1")
    return tuple(outcomes), probability
