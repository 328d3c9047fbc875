"""`make bench`: the stand-in model alone (the floor) and the app in front of it, in one run.

    python -m bench.run [--quick] [--soak] [--modes streaming,responses,...,limits] [--chunks 40]
        [--chunk-gap-ms 20] [--first-token-ms 200]

Prints a table of the figures with ratios to the floor, writes the raw figures as JSON and a
short Markdown summary under bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.cold_import import cold_import
from bench.loadgen import Target
from bench.scenarios import Scenario, measure, run_scenarios, summarise
from bench.targets import REASONING_MODEL, answer_target, model_floors
from bench.telemetry import telemetry_cost
from standins import processes

RESULTS = Path(__file__).resolve().parent / "results"
ALL_MODES = "streaming,telemetry,responses,thinking,streaming off,offline,limits,functions runtime"


# ---- The run ------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=40)
    parser.add_argument("--chunk-gap-ms", type=float, default=20.0)
    parser.add_argument("--first-token-ms", type=float, default=200.0)
    parser.add_argument("--quick", action="store_true", help="smaller scenarios, for a smoke run")
    parser.add_argument("--soak", action="store_true", help="also run the 10,000-stream soak")
    parser.add_argument("--soak-streams", type=int, default=10_000)
    parser.add_argument(
        "--modes",
        default=ALL_MODES,
        help="comma-separated modes to run (default: all)",
    )
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        return asyncio.run(_main(args))
    return uvloop.run(_main(args))


async def _main(args: argparse.Namespace) -> int:
    RESULTS.mkdir(parents=True, exist_ok=True)
    scale = 0.2 if args.quick else 1.0
    scenarios = _scenarios(scale)
    results = _run_header(args)
    wanted = {m.strip() for m in args.modes.split(",")}
    print("Benchmarks: the stand-in model alone (floor) and the app in front of it", flush=True)
    with ExitStack() as stack:
        model = stack.enter_context(processes.model_server(*_model_options(args)))
        floor, floors = model_floors(model.url)
        chat = {
            "OPENAI_BASE_URL": model.base_url,
            "OPENAI_API_KEY": "bench",
            "OPENAI_CHAT_MODEL": "bench",
        }
        sink = stack.enter_context(processes.collector_server())
        soak_streams = args.soak_streams if args.soak else 0
        for mode, env in _app_modes(chat).items():
            if mode in wanted:
                app_floor = floors.get(mode, floor)
                chosen = scenarios if mode == "streaming" else scenarios[1:3]
                results.update(await _app_mode(mode, env, app_floor, model, chosen, soak_streams))
        if "limits" in wanted:
            results.update(await _limits(chat, model, scale))
        if "functions runtime" in wanted:
            from bench.functions_runtime import RUNTIME_MODE, runtime_scenarios

            results[RUNTIME_MODE], results["soak, Functions runtime"] = await runtime_scenarios(
                floor, model, chat, scenarios, soak_streams
            )
        results["cold_import"] = cold_import(RESULTS, chat)
        print(f"\nCold import: {results['cold_import']}", flush=True)
        if "telemetry" in wanted:
            print("\nTelemetry: CPU per answer off, on, sampled", flush=True)
            results["telemetry"] = telemetry_cost(sink.url)
            print(f"  {results['telemetry']}", flush=True)
    _write(results)
    return 0


def _scenarios(scale: float) -> list[Scenario]:
    return [
        Scenario("1 stream", 1, max(5, int(20 * scale))),
        Scenario("100 concurrent", 100, int(300 * scale)),
        Scenario("500 concurrent", 500, int(1500 * scale)),
        Scenario("1000 concurrent", 1000, int(2000 * scale)),
    ]


def _model_options(args: argparse.Namespace) -> tuple[str, ...]:
    return (
        "--chunks", str(args.chunks),
        "--chunk-gap-ms", str(args.chunk_gap_ms),
        "--first-token-ms", str(args.first_token_ms),
    )  # fmt: skip


def _run_header(args: argparse.Namespace) -> dict[str, Any]:
    """When, on what machine, and with what stand-in model the run measures."""
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "stand_in": {
            "chunks": args.chunks,
            "chunk_gap_ms": args.chunk_gap_ms,
            "first_token_ms": args.first_token_ms,
        },
    }


def _app_modes(chat: dict[str, str]) -> dict[str, dict[str, str]]:
    """The app's environment in each mode measured against the floor."""
    return {
        "streaming": chat,
        "responses": {**chat, "OPENAI_API_STYLE": "responses"},
        "thinking": {**chat, "OPENAI_API_STYLE": "responses", "OPENAI_CHAT_MODEL": REASONING_MODEL},
        "streaming off": {**chat, "CHAT_STREAMING": "false"},
        "offline": {},
    }


async def _app_mode(
    mode: str,
    env: dict[str, str],
    floor: Target,
    model: processes.ModelServer,
    scenarios: list[Scenario],
    soak_streams: int,
) -> dict[str, Any]:
    """One mode's scenarios, app against floor; the streaming mode is also soaked if asked."""
    from bench import soak

    figures: dict[str, Any] = {}
    with processes.app_server(env) as app:
        target = answer_target(app)
        print(f"\nMode: {mode}", flush=True)
        app_pid = app.process.popen.pid
        figures[mode] = await run_scenarios(
            floor, target, model.process.popen.pid, app_pid, scenarios
        )
        if mode == "streaming" and soak_streams:
            print("\nSoak", flush=True)
            figures["soak"] = await soak.run(target, app_pid, soak_streams)
            print(f"  {figures['soak']}", flush=True)
    return figures


def _write(results: dict[str, Any]) -> None:
    """The raw figures as JSON and the summary as Markdown, under bench/results/."""
    from bench import report

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"bench-{stamp}.json").write_text(json.dumps(results, indent=2))
    summary = report.markdown(results)
    (RESULTS / f"bench-{stamp}.md").write_text(summary)
    (RESULTS / "latest.md").write_text(summary)
    print("\n" + summary)


async def _limits(
    env: dict[str, str], model: processes.ModelServer, scale: float
) -> dict[str, Any]:
    from bench import limits, limits_abuse

    print("\nLimits for a public endpoint", flush=True)
    scenario = Scenario("100 concurrent", 100, int(300 * scale))
    cpu = await limits.cpu_with_and_without(
        env, answer_target, measure, lambda app: app.process.popen.pid, scenario
    )
    print(f"  CPU per answer, limits off and on: {cpu}", flush=True)
    flood = await limits.flood(env, answer_target, summarise, int(500 * scale))
    print(f"  flood: {flood}", flush=True)
    abuse = await limits_abuse.abuse(env, model, answer_target, summarise, int(100 * scale))
    return {"limits_cpu": cpu, "limits_flood": flood, "limits_abuse": abuse}


if __name__ == "__main__":
    sys.exit(main())
