"""``python -m bench run | report``: run the suite, then summarise it.

* ``run`` runs ``bench/suite.py`` under pyperf into a fresh raw file, then does
  what ``report --write`` does.  ``--only PREFIX`` (repeatable) runs a subset
  and writes nothing; other options after ``--`` go to pyperf (``--fast``,
  ``--rigorous``, ``--processes N``...).
* ``report [RAW]`` prints the table for a raw pyperf file (default: the
  committed one); ``--write`` also writes ``bench/results.json`` and the
  README's Benchmarks block.

``make bench`` is ``python -m bench run``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench import report

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RAW = HERE / "pyperf.json"
RESULTS = HERE / "results.json"
README = ROOT / "README.md"


def _summarise(raw: Path, write: bool) -> int:
    samples, context = report.load_samples(raw)
    summary = report.summarise(samples)
    table = report.render(summary, report.context_line(context))
    sys.stdout.write(table)
    if write:
        if raw != RAW:
            shutil.copyfile(raw, RAW)
        results = {"context": context, **summary.to_json()}
        RESULTS.write_text(json.dumps(results, indent=2, sort_keys=False) + "\n")
        README.write_text(report.splice_readme(README.read_text(), table))
        print(f"wrote {RESULTS.relative_to(ROOT)}, {RAW.relative_to(ROOT)} and README.md")
    return 0


def _run(only: Sequence[str], pyperf_args: Sequence[str]) -> int:
    with tempfile.TemporaryDirectory() as scratch:
        raw = Path(scratch) / "pyperf.json"
        command = [sys.executable, "-m", "bench.suite", "--quiet", "-o", str(raw)]
        for prefix in only:
            command += ["--only", prefix]
        command += list(pyperf_args)
        status = subprocess.run(command, cwd=ROOT, check=False).returncode
        if status != 0:
            print(f"bench: the suite failed (exit status {status})", file=sys.stderr)
            return status
        return _summarise(raw, write=not only)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the suite and write the results")
    run.add_argument("--only", action="append", default=[], metavar="PREFIX")
    run.add_argument("pyperf_args", nargs="*", help="options for pyperf, after --")
    show = sub.add_parser("report", help="summarise a raw pyperf file")
    show.add_argument("raw", nargs="?", type=Path, default=RAW)
    show.add_argument("--write", action="store_true", help="write results.json and README")
    args = parser.parse_args(argv)
    if args.command == "run":
        return _run(args.only, args.pyperf_args)
    return _summarise(args.raw, write=args.write)


if __name__ == "__main__":
    sys.exit(main())
