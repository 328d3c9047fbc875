"""Telemetry's cost: the CPU one streamed answer takes in the app, in one process and without
HTTP, with telemetry off, on with every answer traced, and on keeping one trace in ten (the
metrics still count every answer); traces and metrics exported over OTLP/HTTP to a local sink.
Each figure is measured in a fresh interpreter, the kinds in turns, the median of a few runs.

    python -m bench.telemetry [--runs 5] [--answers 2000] [--against /path/to/another/checkout]

`--against` measures another checkout of the app beside this one, in the same turns.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from chat_api.hosts import ModelHost

ROOT = Path(__file__).resolve().parents[1]
# The standard sampler settings that keep one root trace in ten (and follow a caller's choice).
SAMPLED = {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"}
KINDS = ("off", "on", "sampled")
ANSWERS = 2000
WARM_UP = 300
DELTAS = 40  # as the stand-in model streams in the HTTP scenarios


def telemetry_cost(
    sink_url: str, runs: int = 5, answers: int = ANSWERS, roots: tuple[Path, ...] = (ROOT,)
) -> dict[str, Any]:
    """CPU ms per answer for each kind (and each checkout in `roots`), medians of `runs`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "APPLICATIONINS"))}
    kind_env = {
        "off": env,
        "on": {**env, "OTEL_EXPORTER_OTLP_ENDPOINT": sink_url},
        "sampled": {**env, "OTEL_EXPORTER_OTLP_ENDPOINT": sink_url, **SAMPLED},
    }
    samples: dict[tuple[Path, str], list[float]] = {(r, k): [] for r in roots for k in KINDS}
    for run in range(runs):
        # Each kind of every checkout side by side, the checkouts' order swapped every run.
        for root, kind in [(r, k) for k in KINDS for r in (roots[::-1] if run % 2 else roots)]:
            out = subprocess.run(
                [sys.executable, __file__, kind, str(answers)],
                cwd=root,
                env={**kind_env[kind], "PYTHONPATH": str(root)},  # that checkout's app
                capture_output=True,
                text=True,
                check=True,
            )
            samples[root, kind].append(float(out.stdout.strip()))
    figures = {
        str(root): {kind: round(statistics.median(samples[root, kind]), 3) for kind in KINDS}
        for root in roots
    }
    return {"answers": answers, "runs": runs, "cpu_ms_per_answer": figures}


# ---- In the measured process (the app of the checkout it runs in) -----------------------------


class _CountingHost:
    """A model host that streams `DELTAS` words at once, then End with usage."""

    name = "bench"
    model = "bench"
    reasoning = False

    async def stream_answer(self, prompt: object) -> AsyncIterator[Any]:
        from chat_api.events import End, TextDelta

        for index in range(DELTAS):
            yield TextDelta(f"w{index} ")
        yield End("stop", {"prompt_tokens": 20, "completion_tokens": DELTAS}, "bench")

    async def aclose(self) -> None:
        return None


def _app_answer() -> tuple[Callable[[], None], Callable[[], None]]:
    """One streamed answer through the service, and what flushes its telemetry."""
    import orjson

    from chat_api.service import ChatService
    from chat_api.settings import Settings
    from chat_api.telemetry import create_telemetry

    settings = Settings.from_env(os.environ)
    telemetry = create_telemetry(settings)
    host = cast("ModelHost", _CountingHost())  # a host in all the pipeline asks of it here
    service = ChatService(settings, host, telemetry=telemetry)
    body = orjson.dumps({"messages": [{"role": "user", "content": "hello there"}]})
    loop = asyncio.new_event_loop()

    async def answer() -> None:
        reply = await service.stream("application/json", body)
        assert not isinstance(reply.body, bytes)  # a streamed answer
        async for _ in reply.body:
            pass

    return lambda: loop.run_until_complete(answer()), telemetry.shutdown


def _cpu_ms_per_answer(answers: int) -> float:
    from chat_api import process

    answer, shutdown = _app_answer()
    process.tune_for_serving()  # as the app does once it serves
    for _ in range(WARM_UP):
        answer()
    started = time.process_time()
    for _ in range(answers):
        answer()
    shutdown()  # the last spans and metrics exported: their cost is the answers' too
    return (time.process_time() - started) * 1000 / answers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--answers", type=int, default=ANSWERS)
    parser.add_argument("--against", type=Path, action="append", default=[])
    args = parser.parse_args()
    from standins import processes

    with processes.collector_server() as sink:
        roots = (ROOT, *(path.resolve() for path in args.against))
        figures = telemetry_cost(sink.url, args.runs, args.answers, roots)
    print(f"CPU ms per streamed answer ({args.answers} answers, median of {args.runs} runs):")
    for root, kinds in figures["cpu_ms_per_answer"].items():
        print(f"  {root}: " + ", ".join(f"{kind} {ms}" for kind, ms in kinds.items()))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in KINDS:  # the measured process
        print(f"{_cpu_ms_per_answer(int(sys.argv[2])):.4f}")
        sys.exit(0)
    sys.exit(main())
