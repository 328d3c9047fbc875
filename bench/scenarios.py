"""A scenario (so many streams, so many at a time) measured against one process: its latencies
as percentiles, the CPU it spent per answer and its peak memory; and each scenario run against
the floor (the stand-in model alone), then the app in front of it, one line printed per scenario.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any

from bench.loadgen import StreamResult, Target, run_load
from bench.process import PeakMemory, cpu_seconds, rss_bytes


@dataclass
class Scenario:
    name: str
    concurrency: int
    streams: int


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summarise(results: list[StreamResult]) -> dict[str, Any]:
    firsts = [r.first_line_s for r in results if r.first_line_s is not None]
    words = [r.first_word_s for r in results if r.first_word_s is not None]
    gaps = [g for r in results for g in r.gaps_s]
    errors = [r.error for r in results if not r.ok]
    ms = 1000.0
    return {
        "streams": len(results),
        "errors": len(errors),
        "error_examples": sorted(set(errors))[:3],
        "first_line_p50_ms": _scaled(percentile(firsts, 50), ms),
        "first_line_p99_ms": _scaled(percentile(firsts, 99), ms),
        "first_word_p50_ms": _scaled(percentile(words, 50), ms),
        "first_word_p99_ms": _scaled(percentile(words, 99), ms),
        "gap_p50_ms": _scaled(percentile(gaps, 50), ms),
        "gap_p99_ms": _scaled(percentile(gaps, 99), ms),
        "lines_per_stream": statistics.mean(r.lines for r in results) if results else 0,
    }


def _scaled(value: float | None, factor: float) -> float | None:
    return None if value is None else round(value * factor, 2)


async def measure(
    target: Target, pid: int, scenario: Scenario, front_pid: int | None = None
) -> dict[str, Any]:
    """The figures for process `pid`, and the CPU of `front_pid` (a stand-in host) on its own."""
    # Warm the connection paths and caches, then measure.
    await run_load(target, min(scenario.concurrency, 20), min(scenario.concurrency, 20))
    baseline_rss = rss_bytes(pid)
    cpu_before = cpu_seconds(pid)
    front_before = cpu_seconds(front_pid) if front_pid else 0.0
    started = time.perf_counter()
    with PeakMemory(pid) as memory:
        results = await run_load(target, scenario.concurrency, scenario.streams)
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds(pid) - cpu_before
    figures = summarise(results)
    ok = max(1, figures["streams"] - figures["errors"])
    if front_pid:
        figures["front_cpu_ms_per_stream"] = round(
            (cpu_seconds(front_pid) - front_before) / ok * 1e3, 3
        )
    figures.update(
        {
            "scenario": scenario.name,
            "concurrency": scenario.concurrency,
            "seconds": round(elapsed, 2),
            "cpu_ms_per_stream": round(cpu * 1000 / ok, 3),
            "peak_rss_mb": round(memory.peak / 2**20, 1),
            "baseline_rss_mb": round(baseline_rss / 2**20, 1),
            "peak_kb_per_open_stream": round(
                (memory.peak - baseline_rss) / 1024 / scenario.concurrency, 1
            ),
        }
    )
    return figures


async def run_scenarios(
    floor: Target,
    app: Target,
    model_pid: int,
    app_pid: int,
    scenarios: list[Scenario],
    front_pid: int | None = None,
) -> list[dict[str, Any]]:
    rows = []
    for scenario in scenarios:
        floor_figures = await measure(floor, model_pid, scenario)
        app_figures = await measure(app, app_pid, scenario, front_pid)
        rows.append({"scenario": scenario.name, "floor": floor_figures, "app": app_figures})
        print(_row_line(rows[-1]), flush=True)
    return rows


def _row_line(row: dict[str, Any]) -> str:
    f, a = row["floor"], row["app"]
    return (
        f"  {row['scenario']:<24} first line p50 {a['first_line_p50_ms']} ms "
        f"(floor {f['first_line_p50_ms']}), "
        f"first word p50 {a['first_word_p50_ms']} ms (floor {f['first_word_p50_ms']}), "
        f"gap p99 {a['gap_p99_ms']} ms (floor {f['gap_p99_ms']}), "
        f"cpu {a['cpu_ms_per_stream']} ms/answer, peak {a['peak_rss_mb']} MB, "
        f"errors {a['errors']}/{a['streams']}"
    )
