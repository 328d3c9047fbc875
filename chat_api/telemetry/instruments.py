"""The app's metrics, and what every span of an answer is recorded with."""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry import metrics, trace

# Bucket bounds in seconds, those the GenAI semantic conventions advise for a model's time to first
# token and for a model call's duration. The SDK's default bounds (0, 5, 10, 25, ... 10000) are
# made for milliseconds: in seconds nearly every answer would fall in one bucket.
# fmt: off
FIRST_TOKEN_BUCKETS = (
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)
DURATION_BUCKETS = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)
# fmt: on
# What the limits warn about (docs/observability.md; infra/ alerts on `budget_80_percent`).
LIMITS_SIGNALS = "chat.limits.signals"
LIMITS_SIGNAL = "chat.limits.signal"


class Instruments:
    """The metrics, created once. Names and units: docs/observability.md."""

    def __init__(self, meter: metrics.Meter) -> None:
        counter = meter.create_counter
        self.answers = counter(
            "chat.answers", unit="{answer}", description="Answers, by route and outcome."
        )
        self.duration = meter.create_histogram(
            "chat.answer.duration",
            unit="s",
            description="Request to last line sent.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.first_token = meter.create_histogram(
            "chat.answer.time_to_first_token",
            unit="s",
            description="Request to first text.",
            explicit_bucket_boundaries_advisory=FIRST_TOKEN_BUCKETS,
        )
        self.tokens = counter("chat.tokens", unit="{token}", description="Model tokens, by kind.")
        self.open_streams = meter.create_up_down_counter(
            "chat.streams.open", unit="{stream}", description="Streamed answers in flight."
        )
        self.retries = counter(
            "chat.upstream.retries", unit="{retry}", description="Model calls tried again."
        )
        self.throttled = counter(
            "chat.upstream.throttled",
            unit="{response}",
            description="Throttled calls (the model's 429s, the search service's 429s and 503s).",
        )
        self.refused = counter(
            "chat.requests.refused", unit="{request}", description="Requests refused, by reason."
        )
        self.declined = counter(
            "chat.answers.declined",
            unit="{answer}",
            description="Answers declined for want of a relevant source (no model asked).",
        )
        self.feedback = counter(
            "chat.feedback", unit="{rating}", description="Answers rated by visitors, by rating."
        )
        self.limits_signals = counter(
            LIMITS_SIGNALS, unit="{signal}", description="What the limits warn about, by signal."
        )


@dataclass(frozen=True, slots=True)
class Recording:
    """Where an answer's spans and measurements go, and whether texts are recorded too."""

    tracer: trace.Tracer
    instruments: Instruments
    record_content: bool
