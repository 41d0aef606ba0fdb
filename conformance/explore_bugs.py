"""Planted bugs: the depth at which ``explore`` finds each, against fuzzing (issue 18).

For every planted bug (``conformance/planted.py``) this measures

* the shortest case of the corpus that catches it (inputs, a statistical step counting
  its samples), by running the policy's cases against the bug;
* ``explore`` (health inputs and spec options as that case has them, the bounds of
  :data:`SETTINGS`), no deeper than that case, within a time budget: the depth of its
  counterexample (inputs of the alphabet, and the inputs its case sends: a burst is many
  picks) and the time taken;
* ``fuzz`` with its defaults (200 sequences of at most 30 inputs, seed 0): the time to
  a failure (shrinking included) and the shrunk length.

``python -m conformance.explore_bugs [--budget S] [--only PREFIX] [--history H]
[--endpoints K] [--implementation-state] [--jobs J] [--burst-picks N] [--out DIR]`` prints
one Markdown row per bug; the table in docs/explore.md is these rows, pasted, from the
runs named there (one run per budget and history).  It takes long (tens of minutes for
all bugs on two cores): it is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import attrs

from conformance.cases import Case, Statistical, load_cases
from conformance.cli import positive_int, whole_count
from conformance.explore import Bounds, Target, explore
from conformance.fuzz import fuzz
from conformance.planted import BUGS, broken_transport
from conformance.results import Outcome
from conformance.runner import run_cases

# Per policy: endpoints, the config every update carries (None: the policy's defaults),
# and the inputs of history in the key (Bounds.history).  pick_first and round_robin: 3
# endpoints.  weighted_round_robin and least_request: 2, the fewest over which weights or
# counts can differ (a burst needs two READY endpoints), which keeps depth 9 and 10
# within minutes (weighted_round_robin's depth 9, some 6,000 states, takes 50 to 82 s,
# its depth 11 some 39,000 states and 8 minutes: docs/explore.md gives budgets of 600 s
# and 1,500 s); weighted_round_robin with out-of-band reports on (two inputs give both
# endpoints a weight, where per-call reports take a pick and a Done each);
# least_request with one input of history, since the spec cannot tell a failed call's
# Done from a successful one's (LR-8) and the key would merge them.  Neither with health
# inputs: their bugs are not about health (wrr-per-call-reports-ignored-with-out-of-band
# checks health, and with it explore needs two more inputs, depth 11, for the same bug).
SETTINGS: dict[str, tuple[int, str | None, int]] = {
    "weighted_round_robin": (2, '{"enableOobLoadReport": true}', 0),
    "least_request_experimental": (2, None, 1),
}


@attrs.frozen
class Row:
    bug: str
    policy: str
    shortest_case: str
    case_inputs: int
    explore_depth: int | None  # None: not found
    explore_inputs: int | None  # the counterexample's inputs, a burst counted as its picks
    explore_completed: int
    explore_states: int
    explore_seconds: float
    fuzz_inputs: int | None
    fuzz_seconds: float

    def markdown(self) -> str:
        if self.explore_depth is None:
            found = f"not within depth {self.explore_completed}"
        elif self.explore_inputs != self.explore_depth:
            found = f"depth {self.explore_depth} ({self.explore_inputs} inputs)"
        else:
            found = f"depth {self.explore_depth}"
        fuzzed = f"{self.fuzz_inputs} inputs" if self.fuzz_inputs is not None else "not found"
        return (
            f"| {self.bug} | {self.shortest_case} ({self.case_inputs}) | {found} | "
            f"{self.explore_states} | {self.explore_seconds:.1f} | {fuzzed} | "
            f"{self.fuzz_seconds:.1f} |"
        )


HEADER = (
    "| planted bug | shortest catching case (inputs) | explore finds it at | states "
    "| explore s | fuzz finds (shrunk) | fuzz s |\n|---|---|---|---|---|---|---|"
)


def inputs_of(case: Case) -> int:
    return sum(s.expect.samples if isinstance(s.expect, Statistical) else 1 for s in case.steps)


def measure(
    bug: str,
    corpus: Sequence[Case],
    budget: float,
    history: int | None = None,
    endpoints: int | None = None,
    implementation_state: bool = False,
    jobs: int = 1,
    out: Path | None = None,
    burst_picks: int | None = None,
) -> Row:
    planted = BUGS[bug]
    cases = [c for c in corpus if c.policy == planted.policy]
    results, _ = run_cases(cases, lambda: broken_transport(bug))
    failing = [r.case for r in results if r.outcome is Outcome.FAIL]
    shortest = min(failing, key=lambda c: (inputs_of(c), c.id))
    depth = inputs_of(shortest)
    # The case's spec options too: a bug may show only under a value the reference can be
    # set to per case (pf-picks-shut-down-subchannel: selected_address_removed=reconnects).
    usual_endpoints, config, usual = SETTINGS.get(planted.policy, (3, None, 0))
    endpoints = usual_endpoints if endpoints is None else endpoints
    history = usual if history is None else history
    bounds = Bounds(
        planted.policy,
        endpoints,
        depth,
        shortest.channel.health_checking and planted.policy not in SETTINGS,
        spec_options=shortest.spec_options,
        config=config,
        history=history,
        implementation_state=implementation_state,
        burst_picks=burst_picks,
    )
    explore_started = time.monotonic()

    def progress(level: int, states: int, new: int) -> None:
        # A long search (an hour or more) shows how far it has got, on stderr.
        seconds = time.monotonic() - explore_started
        print(
            f"  {bug}: depth {level}: {states} states, {new} new, {seconds:.0f} s",
            file=sys.stderr,
            flush=True,
        )

    explored = explore(
        bounds, Target(planted=bug), jobs=jobs, cover=False, budget=budget, progress=progress
    )
    found = explored.counterexample
    if found is not None and out is not None:
        # `conformance run --cases DIR --adapter "python -m conformance.planted BUG"` replays it.
        print(f"  {bug}: wrote {found.write(out)}", file=sys.stderr, flush=True)
    started = time.monotonic()
    fuzzed = fuzz(lambda: broken_transport(bug), planted.policy)
    fuzz_seconds = time.monotonic() - started
    return Row(
        bug,
        planted.policy,
        shortest.id,
        depth,
        len(found.path) if found is not None else None,
        found.inputs if found is not None else None,
        explored.depth_completed,
        explored.states,
        explored.seconds,
        len(fuzzed.steps) if fuzzed is not None else None,
        fuzz_seconds,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.explore_bugs")
    parser.add_argument("--budget", type=float, default=120.0, help="explore seconds per bug")
    parser.add_argument("--only", action="append", default=[], metavar="PREFIX")
    parser.add_argument(
        "--history",
        type=whole_count,
        default=None,
        help="Bounds.history for every bug (default: SETTINGS)",
    )
    parser.add_argument(
        "--endpoints", type=positive_int, default=None, help="for every bug (default: SETTINGS)"
    )
    parser.add_argument(
        "--implementation-state",
        action="store_true",
        help="key states on the reference's own state too (Bounds.implementation_state)",
    )
    parser.add_argument(
        "--jobs", type=positive_int, default=1, help="explore's worker processes (--jobs)"
    )
    parser.add_argument(
        "--burst-picks",
        type=positive_int,
        default=None,
        metavar="N",
        help="picks in every burst (Bounds.burst_picks; default: the policy's)",
    )
    parser.add_argument(
        "--out", type=Path, default=None, metavar="DIR", help="write each counterexample found"
    )
    args = parser.parse_args(argv)
    corpus = load_cases()
    print(HEADER, flush=True)
    for bug in BUGS:
        if args.only and not any(bug.startswith(p) for p in args.only):
            continue
        row = measure(
            bug,
            corpus,
            args.budget,
            args.history,
            args.endpoints,
            args.implementation_state,
            args.jobs,
            args.out,
            args.burst_picks,
        )
        print(row.markdown(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
