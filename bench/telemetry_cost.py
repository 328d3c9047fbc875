"""The CPU telemetry adds to a streamed answer: the app with telemetry off and the app with every
answer traced, measured and exported over OTLP/HTTP to a local sink, both up at once and loaded
in short turns (one wave of streams each, the order swapped every wave), a round being several
waves. What else the machine does drifts slowly, so it falls on both alike; two longer runs one
after the other differed by as much as the cost itself."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from typing import Any

from bench.loadgen import Target, run_load
from bench.process import cpu_seconds
from bench.telemetry_floor import in_process_costs
from standins import processes

ROUNDS = 5  # the median of five holds against one or two rounds the machine disturbed
WAVES = 10  # per app and round


async def telemetry_cost(
    target_for: Callable[[processes.AppServer], Target],
    chat_env: Mapping[str, str],
    sink_url: str,
    concurrency: int,
) -> dict[str, Any]:
    """A wave is `concurrency` streams at once, each `target_for` the app."""
    with ExitStack() as stack:
        off = stack.enter_context(processes.app_server(chat_env))
        on = stack.enter_context(
            processes.app_server({**chat_env, "OTEL_EXPORTER_OTLP_ENDPOINT": sink_url})
        )
        apps = [("off", target_for(off), _pid(off)), ("on", target_for(on), _pid(on))]
        for _, aimed, _ in apps:  # warm both
            await run_load(aimed, concurrency, concurrency)
        rounds = []
        for _ in range(ROUNDS):
            # Each app's CPU over the whole round, the other's waves included: the exporter sends
            # its batches in the background, often while the other app is being loaded.
            before = {name: cpu_seconds(pid) for name, _, pid in apps}
            for wave in range(WAVES):
                for _, aimed, _ in apps if wave % 2 == 0 else apps[::-1]:
                    await run_load(aimed, concurrency, concurrency)
            cpu = {name: cpu_seconds(pid) - before[name] for name, _, pid in apps}
            per_answer = {
                name: round(s * 1000 / (WAVES * concurrency), 3) for name, s in cpu.items()
            }
            added = round(per_answer["on"] - per_answer["off"], 3)
            rounds.append(
                {"cpu_ms_off": per_answer["off"], "cpu_ms_on": per_answer["on"], "added_ms": added}
            )
            print(f"  round {len(rounds)}: {rounds[-1]}", flush=True)
    in_process = in_process_costs(sink_url)  # with both apps stopped
    print(f"  in one process, without HTTP: {in_process}", flush=True)
    return {
        "scenario": f"waves of {concurrency} streams at once, {WAVES} waves of each app a round",
        "rounds": rounds,
        "added_ms_median": round(statistics.median(r["added_ms"] for r in rounds), 3),
        "in_process": in_process,
    }


def _pid(app: processes.AppServer) -> int:
    return int(app.process.popen.pid)
