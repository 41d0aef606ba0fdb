"""Do two JSON reports of one adapter say the same thing?  (determinism of seeded adapters)

``python -m conformance.adapters.same_report A.json B.json`` exits 0 when the two
reports are identical once their wall-clock ``seconds`` fields are dropped (the
only thing a run of an adapter with virtual time and seeded randomness may
change), and 1, naming the first differing case, when they are not.  A report
with no results is refused: identical empty reports prove nothing.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any


def without_timings(value: Any) -> Any:
    """``value`` with every ``seconds`` key removed, at any depth."""
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if k != "seconds"}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


def compare(first: Any, second: Any) -> str | None:
    """Why the two reports differ (``None`` when they do not)."""
    a, b = without_timings(first), without_timings(second)
    if not a.get("results"):
        return "the first report has no results"
    if a == b:
        return None
    for left, right in zip(a.get("results", []), b.get("results", []), strict=False):
        if left != right:
            return f"case {left.get('id')!r} differs"
    return "the reports differ outside their results"


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if len(args) != 2:
        print("usage: python -m conformance.adapters.same_report A.json B.json", file=sys.stderr)
        return 2
    reports = []
    for path in args:
        try:
            with open(path, encoding="utf-8") as f:
                reports.append(json.load(f))
        except (OSError, ValueError) as err:
            print(f"{path}: cannot read a JSON report: {err}", file=sys.stderr)
            return 2
    problem = compare(reports[0], reports[1])
    if problem is not None:
        print(f"{args[0]} and {args[1]}: two runs gave different reports: {problem}")
        return 1
    count = len(reports[0]["results"])
    print(f"{args[0]} and {args[1]}: identical ({count} results; timings aside)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
