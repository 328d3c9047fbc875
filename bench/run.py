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
from bench.telemetry_cost import telemetry_cost
from tests.support import processes

REASONING_MODEL = "gpt-5.4-mini"
RESULTS = Path(__file__).resolve().parent / "results"


def chat_body(question: str) -> bytes:
    return json.dumps({"messages": [{"role": "user", "content": question}]}).encode()


def model_body(question: str) -> bytes:
    return json.dumps(
        {
            "model": "bench",
            "stream": True,
            "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": question}],
        }
    ).encode()


def responses_body(question: str, model: str = "bench") -> bytes:
    """What the app sends the Responses API for an answer, minus the instructions; a reasoning
    model is asked for summaries of its thinking."""
    body: dict[str, Any] = {
        "model": model,
        "stream": True,
        "store": False,
        "max_output_tokens": 1024,
        "input": [{"role": "user", "content": question}],
    }
    if model != "bench":
        body["reasoning"] = {"summary": "auto"}
    return json.dumps(body).encode()


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def answer_target(app: processes.AppServer) -> Target:
    """A streamed answer from `app`, done when its end line has arrived."""
    return Target(
        "127.0.0.1", _port(app.url), "/api/chat/stream", chat_body("bench"), b"finish_reason"
    )


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
        default="streaming,telemetry on,responses,thinking,streaming off,offline,limits,"
        "functions runtime",
        help="comma-separated modes to run (default: all)",
    )
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        return asyncio.run(_main(args))
    return uvloop.run(_main(args))


async def _main(args: argparse.Namespace) -> int:
    from bench import report, soak

    RESULTS.mkdir(parents=True, exist_ok=True)
    model_options = (
        "--chunks", str(args.chunks),
        "--chunk-gap-ms", str(args.chunk_gap_ms),
        "--first-token-ms", str(args.first_token_ms),
    )  # fmt: skip
    scale = 0.2 if args.quick else 1.0
    scenarios = [
        Scenario("1 stream", 1, max(5, int(20 * scale))),
        Scenario("100 concurrent", 100, int(300 * scale)),
        Scenario("500 concurrent", 500, int(1500 * scale)),
        Scenario("1000 concurrent", 1000, int(2000 * scale)),
    ]
    results: dict[str, Any] = {
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
    print("Benchmarks: the stand-in model alone (floor) and the app in front of it", flush=True)
    with ExitStack() as stack:
        model = stack.enter_context(processes.model_server(*model_options))
        host, model_port = "127.0.0.1", _port(model.url)
        floor = Target(host, model_port, "/v1/chat/completions", model_body("bench"), b"[DONE]")
        # The Responses API: the same answer as the service's events (larger, and more of
        # them: created, in progress, output item and content part added, 40 text deltas,
        # their done events, completed with the whole response).
        responses_floor = Target(
            host,
            model_port,
            "/v1/responses",
            responses_body("bench"),
            b"event: response.completed",
            b"event: response.output_text.delta",
        )
        # A reasoning model: some 25 thinking deltas (streamed as steps) before the 40 words.
        thinking_floor = Target(
            host,
            model_port,
            "/v1/responses",
            responses_body("bench", REASONING_MODEL),
            b"event: response.completed",
            b"event: response.output_text.delta",
        )
        chat = {
            "OPENAI_BASE_URL": model.base_url,
            "OPENAI_API_KEY": "bench",
            "OPENAI_CHAT_MODEL": "bench",
        }
        sink = stack.enter_context(processes.collector_server())
        modes = {
            "streaming": chat,
            # Every answer traced, measured and exported over OTLP/HTTP to a local sink.
            "telemetry on": {**chat, "OTEL_EXPORTER_OTLP_ENDPOINT": sink.url},
            "responses": {**chat, "OPENAI_API_STYLE": "responses"},
            "thinking": {
                **chat,
                "OPENAI_API_STYLE": "responses",
                "OPENAI_CHAT_MODEL": REASONING_MODEL,
            },
            "streaming off": {**chat, "CHAT_STREAMING": "false"},
            "offline": {},
        }
        floors = {"responses": responses_floor, "thinking": thinking_floor}
        wanted = {m.strip() for m in args.modes.split(",")}
        for mode, env in modes.items():
            if mode not in wanted:
                continue
            with processes.app_server(env) as app:
                target = answer_target(app)
                print(f"\nMode: {mode}", flush=True)
                chosen = scenarios if mode == "streaming" else scenarios[1:3]
                results[mode] = await run_scenarios(
                    floors.get(mode, floor),
                    target,
                    model.process.popen.pid,
                    app.process.popen.pid,
                    chosen,
                )
                if mode == "streaming" and args.soak:
                    print("\nSoak", flush=True)
                    pid = app.process.popen.pid
                    results["soak"] = await soak.run(target, pid, args.soak_streams)
                    print(f"  {results['soak']}", flush=True)
        model_env = chat
        if "limits" in wanted:
            results.update(await _limits(model_env, model, scale))
        if "functions runtime" in wanted:
            from bench.functions_runtime import RUNTIME_MODE, runtime_scenarios

            results[RUNTIME_MODE], results["soak, Functions runtime"] = await runtime_scenarios(
                floor, model, model_env, scenarios, args.soak_streams if args.soak else 0
            )
        results["cold_import"] = cold_import(RESULTS, model_env)
        print(f"\nCold import: {results['cold_import']}", flush=True)
        if "telemetry on" in wanted:
            print("\nTelemetry cost: off and on in turns", flush=True)
            # Not so many at once that the machine is saturated: then the CPU an answer takes
            # depends on how the load happens to bunch up, more than on what the app does.
            results["telemetry_cost"] = await telemetry_cost(answer_target, chat, sink.url, 100)
            telemetry_env = {**chat, "OTEL_EXPORTER_OTLP_ENDPOINT": sink.url}
            results["cold_import_telemetry_on"] = cold_import(RESULTS, telemetry_env)
            print(f"Cold import, telemetry on: {results['cold_import_telemetry_on']}", flush=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"bench-{stamp}.json").write_text(json.dumps(results, indent=2))
    summary = report.markdown(results)
    (RESULTS / f"bench-{stamp}.md").write_text(summary)
    (RESULTS / "latest.md").write_text(summary)
    print("\n" + summary)
    return 0


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
