"""What the limits warn about, as one counter: `chat.limits.signals`, by `chat.limits.signal`
(`callers_look_alike.unknown`, `.private`, `.one_address`; `budget_80_percent`;
`store_unavailable`). docs/observability.md lists it; infra/ alerts on `budget_80_percent`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from chat_api.telemetry import Telemetry

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider

NAME = "chat.limits.signals"
ATTRIBUTE = "chat.limits.signal"


def limits_signal_counter(
    telemetry: Telemetry, meter_provider: MeterProvider | None = None
) -> Callable[[str], None]:
    """A function that counts one signal; with telemetry off, one that does nothing."""
    if not telemetry.enabled:
        return _nothing
    from opentelemetry import metrics

    meter = metrics.get_meter(__name__, meter_provider=meter_provider)
    counter = meter.create_counter(NAME, "{signal}", "What the limits warn about, by signal.")

    def count(signal: str) -> None:
        counter.add(1, {ATTRIBUTE: signal})

    return count


def _nothing(signal: str) -> None:
    return None
