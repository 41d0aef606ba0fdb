"""The benchmark suite: ``make bench`` (see README, Benchmarks, and bench/NOTES.md)."""
