"""How much of telemetry's cost is the recording itself: in one process, without HTTP, the CPU
an answer takes with telemetry off and on, beside the pipeline by itself doing what one answer
needs (the request's and the model's spans with the same attributes, through the app's tracer;
the two histogram records) through the same exporters. Each measurement runs in a fresh
interpreter:

    python -m bench.telemetry_floor app-off|app-on|app-sampled|pipeline [answers]

prints the CPU milliseconds per answer (every thread of the process, the exporter's included).
OTEL_EXPORTER_OTLP_ENDPOINT names the collector that app-on and pipeline export to. `app-sampled` is
app-on keeping one trace in ten (`SAMPLED`); its metrics still count every answer. `app-azure`
sends everything to Application Insights instead (APPLICATIONINSIGHTS_CONNECTION_STRING names
the ingestion; `in_process_costs` starts the tests' stand-in for it), every answer traced.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("app-off", "app-on", "app-sampled", "pipeline", "app-azure")
# The standard sampler settings that keep one root trace in ten (and follow a caller's choice).
SAMPLED = {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"}
ANSWERS = 5000
WARM_UP = 300
DELTAS = 40  # as the stand-in model streams in the HTTP scenarios
MODEL = "bench"
ROUTE = "/api/chat/stream"


def in_process_costs(sink_url: str, runs: int = 5) -> dict[str, Any]:
    """Each kind `runs` times, in turns; the median of each."""
    from tests.support.standin_appinsights import app_insights

    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": sink_url}
    env.pop("APPLICATIONINSIGHTS_CONNECTION_STRING", None)
    samples: dict[str, list[float]] = {kind: [] for kind in KINDS}
    with tempfile.TemporaryDirectory() as folder, app_insights(Path(folder)) as ingestion:
        # Every answer traced, as on the OTLP path: the distro otherwise keeps about five traces
        # a second, far fewer than these answers.
        azure = {**env, **ingestion.app_env(), "OTEL_TRACES_SAMPLER": "always_on"}
        del azure["OTEL_EXPORTER_OTLP_ENDPOINT"]
        kind_env = {"app-sampled": {**env, **SAMPLED}, "app-azure": azure}
        for _ in range(runs):
            for kind in KINDS:
                out = subprocess.run(
                    [sys.executable, "-m", "bench.telemetry_floor", kind],
                    cwd=ROOT,
                    env=kind_env.get(kind, env),
                    capture_output=True,
                    text=True,
                    check=True,
                )
                samples[kind].append(float(out.stdout.strip()))
    median = {kind: statistics.median(values) for kind, values in samples.items()}
    return {
        "answers": ANSWERS,
        "runs": runs,
        "cpu_ms_off": round(median["app-off"], 3),
        "cpu_ms_on": round(median["app-on"], 3),
        "added_ms": round(median["app-on"] - median["app-off"], 3),
        "added_ms_sampled": round(median["app-sampled"] - median["app-off"], 3),
        "added_ms_azure": round(median["app-azure"] - median["app-off"], 3),
        "pipeline_ms": round(median["pipeline"], 3),
    }


# ---- In the measured process -----------------------------------------------------------------


class _CountingHost:
    """A model host that streams `DELTAS` words at once, then End with usage."""

    name = "bench"
    model = MODEL
    reasoning = False

    async def stream_answer(self, prompt: object) -> AsyncIterator[Any]:
        from chat_api.events import End, TextDelta

        for index in range(DELTAS):
            yield TextDelta(f"w{index} ")
        yield End("stop", {"prompt_tokens": 20, "completion_tokens": DELTAS}, MODEL)

    async def aclose(self) -> None:
        return None


def _app_answer(telemetry_on: bool) -> tuple[Callable[[], None], Callable[[], None]]:
    """One streamed answer through the service, and what flushes its telemetry."""
    import orjson

    from chat_api.service import ChatService
    from chat_api.settings import Settings
    from chat_api.telemetry import create_telemetry

    env = dict(os.environ)
    if not telemetry_on:
        env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    settings = Settings.from_env(env)
    telemetry = create_telemetry(settings)
    service = ChatService(settings, _CountingHost(), telemetry=telemetry)  # type: ignore[arg-type]
    body = orjson.dumps({"messages": [{"role": "user", "content": "hello there"}]})
    loop = asyncio.new_event_loop()

    async def answer() -> None:
        reply = await service.stream("application/json", body)
        async for _ in reply.body:  # type: ignore[union-attr]
            pass

    return lambda: loop.run_until_complete(answer()), telemetry.shutdown


def _pipeline_answer() -> tuple[Callable[[], None], Callable[[], None]]:
    """What one answer asks of the tracer and the SDK's metrics, set up by the app's own
    exporters, and nothing else of the app."""
    from opentelemetry import metrics, trace
    from opentelemetry.trace import SpanKind

    from chat_api.settings import Settings
    from chat_api.telemetry.exporters import start_exporters
    from chat_api.telemetry.tracer import app_tracer

    shutdown = start_exporters(Settings.from_env())
    tracer = app_tracer(trace.get_tracer("chat_api"))
    meter = metrics.get_meter("chat_api")
    duration = meter.create_histogram("chat.answer.duration", unit="s")
    first_token = meter.create_histogram("chat.answer.time_to_first_token", unit="s")
    route = {"http.route": ROUTE}

    def answer() -> None:
        request = tracer.start_span(
            f"POST {ROUTE}",
            kind=SpanKind.SERVER,
            attributes={"http.request.method": "POST", "http.route": ROUTE, "url.path": ROUTE},
        )
        model = tracer.start_span(
            f"chat {MODEL}",
            context=trace.set_span_in_context(request),
            kind=SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": MODEL,
                "chat.stage": "answer",
            },
        )
        model.set_attribute("chat.time_to_first_token_ms", 0.1)
        model.set_attributes(
            {
                "gen_ai.response.model": MODEL,
                "gen_ai.usage.input_tokens": 20,
                "gen_ai.usage.output_tokens": DELTAS,
                "gen_ai.response.finish_reasons": ("stop",),
            }
        )
        model.end()
        first_token.record(0.0001, route)
        duration.record(0.001, {**route, "chat.outcome": "complete"})
        request.set_attributes(
            {
                "chat.ref": format(request.get_span_context().trace_id, "032x")[:12],
                "http.response.status_code": 200,
                "chat.lines": DELTAS + 2,
                "chat.outcome": "complete",
                "chat.time_to_first_token_ms": 0.1,
            }
        )
        request.end()

    return answer, shutdown


def _flush_spans() -> None:
    if "opentelemetry.trace" in sys.modules:
        from opentelemetry import trace

        flush = getattr(trace.get_tracer_provider(), "force_flush", None)
        if flush is not None:
            flush()


def _cpu_ms_per_answer(kind: str, answers: int) -> float:
    from chat_api import process

    answer, shutdown = _pipeline_answer() if kind == "pipeline" else _app_answer(kind != "app-off")
    process.tune_for_serving()  # as the app does once it serves
    for _ in range(WARM_UP):
        answer()
    _flush_spans()  # the warm-up's spans not counted
    started = time.process_time()
    for _ in range(answers):
        answer()
    shutdown()  # the last spans exported: their cost is the answers' too
    return (time.process_time() - started) * 1000 / answers


def main(argv: list[str]) -> int:
    kind = argv[0] if argv else ""
    if kind not in KINDS:
        print(__doc__, file=sys.stderr)
        return 2
    destination = {"app-azure": "APPLICATIONINSIGHTS_CONNECTION_STRING"}.get(
        kind, "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    if kind != "app-off" and not os.environ.get(destination):
        print(f"{destination} must name where to export to", file=sys.stderr)
        return 2
    answers = int(argv[1]) if len(argv) > 1 else ANSWERS
    print(f"{_cpu_ms_per_answer(kind, answers):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
