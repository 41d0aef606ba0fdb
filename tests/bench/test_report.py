"""The benchmark summary: medians, ratios, growth, targets and the README block.

Synthetic values only: nothing here runs or times a benchmark.
"""

from __future__ import annotations

import pytest

from bench import report
from bench.report import Ratio, Stat, summarise


def test_stat_is_median_and_quartiles() -> None:
    stat = Stat.of([5.0, 1.0, 3.0, 2.0, 4.0])
    assert (stat.median, stat.q1, stat.q3, stat.n) == (3.0, 2.0, 4.0, 5)
    assert Stat.of([7.0]) == Stat(7.0, 7.0, 7.0, 1)
    with pytest.raises(ValueError, match="no values"):
        Stat.of([])


def test_rate_swaps_quartile_ends() -> None:
    rate = Stat(0.5, 0.25, 1.0, 3).per_second()
    assert (rate.median, rate.q1, rate.q3) == (2.0, 1.0, 4.0)


def test_ratio_range_is_the_widest_the_quartiles_allow() -> None:
    ratio = Ratio.of(Stat(6.0, 5.0, 8.0, 3), Stat(2.0, 1.0, 4.0, 3))
    assert (ratio.value, ratio.low, ratio.high) == (3.0, 1.25, 8.0)


def test_growth_exponent_is_one_for_linear_and_two_for_quadratic() -> None:
    small = Stat(1.0, 1.0, 1.0, 1)
    assert report.growth_exponent(small, Stat(100.0, 100.0, 100.0, 1), 100, 10_000) == 1.0
    assert report.growth_exponent(small, Stat(1e4, 1e4, 1e4, 1), 100, 10_000) == 2.0


def _samples(**overrides: float) -> dict[str, list[float]]:
    base = {
        "floor/empty_method_call": 30e-9,
        "pick/round_robin/3": 60e-9,
        "pick/round_robin/10": 60e-9,
        "pick/round_robin/100": 75e-9,
        "pick/round_robin/10000": 90e-9,
        "rebuild/round_robin/100": 50e-6,
        "rebuild/round_robin/1000": 500e-6,
        "rebuild/round_robin/10000": 5e-3,
        "corpus/in_process": 1e-3,
        "corpus/subprocess": 5e-3,
        "corpus/subprocess_started": 1.5e-3,
    }
    base.update({k.replace("__", "/"): v for k, v in overrides.items()})
    return {name: [value] * 3 for name, value in base.items()}


def _target(summary: report.Summary, name: str) -> report.Target:
    return next(t for t in summary.targets if t.name.startswith(name))


def test_targets_follow_the_measurements() -> None:
    summary = summarise(_samples())
    # The pick benchmarks are measurements without a target (issue 17).
    assert not any("pick" in t.name for t in summary.targets)
    assert summary.ratios["pick/round_robin/10000 vs floor"].value == pytest.approx(3.0)
    assert _target(summary, "rebuild round_robin at 10,000").met
    assert _target(summary, "rebuild round_robin: growth").measured == pytest.approx(1.0)
    assert not _target(summary, "corpus subprocess:").met  # 5x
    assert _target(summary, "corpus subprocess_started").met  # 1.5x
    slow = summarise(_samples(pick__round_robin__3=100e-9, rebuild__round_robin__10000=50e-3))
    assert not _target(slow, "rebuild round_robin at 10,000").met
    assert not _target(slow, "rebuild round_robin: growth").met  # 50 ms is n^1.5


def test_unmeasured_targets_are_listed_as_missing() -> None:
    summary = summarise(_samples())
    assert not any("pick" in m for m in summary.missing)
    assert "BalancedChannel vs grpcio round_robin" in summary.missing
    # Paired values are time-per-RPC ratios to grpcio's; the target is on throughput.
    both = summarise(_samples(channel_vs_grpcio__balanced__round_robin=1.02))
    channel = _target(both, "BalancedChannel")
    assert channel.measured == pytest.approx(1 / 1.02)
    assert channel.met  # >= 0.97
    slow = summarise(_samples(channel_vs_grpcio__balanced__round_robin=1.05))
    assert not _target(slow, "BalancedChannel").met  # 0.952
    assert "BalancedChannel vs grpcio round_robin" not in both.missing


def test_explore_rows_and_speed_up_only_when_measured() -> None:
    assert "**Explore**" not in report.render(summarise(_samples()), {})
    samples = _samples(explore__pick_first_k3_d4__replay=8.0, explore__pick_first_k3_d4__fork=2.0)
    summary = summarise(samples)
    assert summary.ratios["explore/pick_first_k3_d4 replay vs fork"].value == 4.0
    table = report.render(summary, {})
    assert "| pick_first_k3_d4 | 8 s (8 s-8 s) | 2 s (2 s-2 s) | 4.00x" in table


def test_table_and_readme_block() -> None:
    table = report.render(summarise(_samples()), {"load average": "0.1-0.2"})
    assert "| round_robin | 60 ns (60 ns-60 ns) |" in table
    assert "| rebuild round_robin at 10,000 |" in table
    readme = f"# X\n\n## Benchmarks\n\n{report.README_BEGIN}\nold\n{report.README_END}\n\nafter\n"
    spliced = report.splice_readme(readme, table)
    assert "old" not in spliced
    assert spliced.endswith(f"{table}{report.README_END}\n\nafter\n")
    with pytest.raises(ValueError, match="bench:begin"):
        report.splice_readme("# no block\n", table)
