"""What the limits for a public endpoint cost, and what they protect:

- CPU per streamed answer with every limit on (in-process counters, limits set high enough that
  nothing is refused, so every check and count runs) against the same app with them off;
- a flood: one client asking at ten times its per-minute limit while other clients (each on its
  own loopback address) stream answers, against the same clients without the flood;
- attacks on the limits themselves (`limits_abuse.py`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from bench.loadgen import StreamResult, Target, one_stream, run_load
from standins import processes

# On, but out of reach of the load: every code path of the limits runs, nothing is refused.
LIMITS_ON = {
    "CHAT_CLIENT_REQUESTS_PER_MINUTE": "1000000000",
    "CHAT_CLIENT_TOKENS_PER_DAY": "1000000000000",
    "CHAT_DAILY_TOKEN_BUDGET": "1000000000000",
    "CHAT_MAX_CONCURRENT_ANSWERS": "100000",
    "CHAT_ANSWER_TIMEOUT_SECONDS": "120",
    "CHAT_NETWORK_REQUESTS_PER_MINUTE": "1000000000",
    "CHAT_NETWORK_TOKENS_PER_DAY": "1000000000000",
    "CHAT_NETWORK_BUDGET_SHARE": "1",
}
FLOOD_LIMIT_PER_MINUTE = 600  # the flooder asks 10x this: 100 questions a second
OTHER_CLIENTS = [f"127.0.1.{n}" for n in range(1, 51)]
FLOODER = "127.0.2.1"


async def cpu_with_and_without(
    env: dict[str, str],
    target_for: Callable[[processes.AppServer], Target],
    measure: Callable[[Target, int, Any], Awaitable[dict[str, Any]]],
    pid_of: Callable[[processes.AppServer], int],
    scenario: Any,
    rounds: int = 2,
) -> dict[str, Any]:
    """CPU ms per answer, limits off and on, measured alternately `rounds` times each."""
    figures: dict[str, list[float]] = {"off": [], "on": []}
    for _ in range(rounds):
        for name, extra in (("off", {}), ("on", LIMITS_ON)):
            with processes.app_server({**env, **extra}) as app:
                result = await measure(target_for(app), pid_of(app), scenario)
                figures[name].append(result["cpu_ms_per_stream"])
    off, on = min(figures["off"]), min(figures["on"])
    return {
        "cpu_ms_per_answer_off": off,
        "cpu_ms_per_answer_on": on,
        "added_ms": round(on - off, 3),
        "runs": figures,
    }


async def flood(
    env: dict[str, str],
    target_for: Callable[[processes.AppServer], Target],
    summarise: Callable[[list[StreamResult]], dict[str, Any]],
    streams: int,
) -> dict[str, Any]:
    """Other clients' first-line p50 without and with one client flooding at 10x its limit."""
    limits = {"CHAT_CLIENT_REQUESTS_PER_MINUTE": str(FLOOD_LIMIT_PER_MINUTE)}
    with processes.app_server({**env, **limits}) as app:
        target = target_for(app)
        await run_load(target, 20, 20, sources=OTHER_CLIENTS)  # warm up
        quiet = summarise(await _others(target, streams))
        flooder = replace(target, source=FLOODER)
        stop, refused_once = asyncio.Event(), asyncio.Event()
        outcomes: list[StreamResult] = []
        flooding = asyncio.get_running_loop().create_task(
            _ask_at_rate(flooder, FLOOD_LIMIT_PER_MINUTE * 10 / 60, stop, refused_once, outcomes)
        )
        # Measure while the flooder is refused (over its limit for the rest of the minute), once
        # the answers it was allowed (about one second each) are done.
        await refused_once.wait()
        await asyncio.sleep(1.5)
        loud = summarise(await _others(target, streams))
        stop.set()
        await flooding
    refused = sum(1 for r in outcomes if r.error.startswith("status 429"))
    return {
        "others_first_line_p50_ms_quiet": quiet["first_line_p50_ms"],
        "others_first_line_p50_ms_flood": loud["first_line_p50_ms"],
        "added_ms": round(loud["first_line_p50_ms"] - quiet["first_line_p50_ms"], 1),
        "others_errors": loud["errors"],
        "flood_requests": len(outcomes),
        "flood_refused_429": refused,
    }


async def _others(target: Target, streams: int) -> list[StreamResult]:
    return await run_load(target, len(OTHER_CLIENTS), streams, sources=OTHER_CLIENTS)


async def _ask_at_rate(
    target: Target,
    per_second: float,
    stop: asyncio.Event,
    refused_once: asyncio.Event,
    outcomes: list[StreamResult],
) -> None:
    loop = asyncio.get_running_loop()
    pending: set[asyncio.Task[None]] = set()
    started = time.perf_counter()
    sent = 0

    async def ask() -> None:
        outcome = await one_stream(target, limit_s=30)
        outcomes.append(outcome)
        if outcome.error.startswith("status 429"):
            refused_once.set()

    while not stop.is_set():
        due = started + sent / per_second
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        task = loop.create_task(ask())
        pending.add(task)
        task.add_done_callback(pending.discard)
        sent += 1
    if pending:
        await asyncio.gather(*pending)
