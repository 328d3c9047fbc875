"""The limits against a determined caller: three attacks on an app whose limits are a hundredth of
the defaults (so a bench run reaches them), answering through a reasoning model (the Responses
API stand-in), while 50 other clients, each on a network of its own, stream answers:

- think-then-leave: one client asks, waits for the model's thinking, and leaves, again and again;
- one /24 draining: 30 addresses of one network each ask five times;
- a hanging store: the limits' table is a loopback server that accepts and never answers.

For each: what the attacker was answered and refused, the tokens the limits charged (the app's
rows in the shared table, Azurite) against the tokens the stand-in model served (its count of
prompts, thinking and text, up to where each answer ended or was left), the other clients'
first-word p50 and their errors.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from bench.loadgen import StreamResult, Target, run_load
from standins import azurite, processes

REASONING = {
    "OPENAI_API_STYLE": "responses",
    "OPENAI_CHAT_MODEL": "gpt-5.4-mini",
    "CHAT_REASONING_EFFORT": "low",
}
LIMITS = {
    "CHAT_CLIENT_REQUESTS_PER_MINUTE": "10",
    "CHAT_CLIENT_TOKENS_PER_DAY": "2000",
    "CHAT_DAILY_TOKEN_BUDGET": "50000",
    "CHAT_NETWORK_REQUESTS_PER_MINUTE": "60",
    "CHAT_NETWORK_TOKENS_PER_DAY": "10000",
    "CHAT_NETWORK_BUDGET_SHARE": "0.1",
    "CHAT_MAX_OUTPUT_TOKENS": "200",
    "CHAT_MAX_CONCURRENT_ANSWERS": "1000",
    "CHAT_LIMITS_KEY_SECRET": "bench",
}
OTHERS = [f"127.0.{10 + n}.1" for n in range(50)]  # 50 clients, 50 networks
THINKER = "127.0.2.1"
DRAINERS = [f"127.0.3.{n}" for n in range(1, 31)]
Attack = Callable[[str], Awaitable[list[int]]]


async def abuse(
    env: dict[str, str],
    model: processes.ModelServer,
    target_for: Callable[[processes.AppServer], Target],
    summarise: Callable[[list[StreamResult]], dict[str, Any]],
    streams: int,
) -> dict[str, Any]:
    env = {**env, **REASONING, **LIMITS}
    results: dict[str, Any] = {}
    with azurite.azurite_tables() as tables:
        for name, attack in (("think_then_leave", _think_then_leave), ("one_24", _drain)):
            table_env = {
                **env,
                "AZURE_STORAGE_TABLE_CONNECTION_STRING": tables.connection_string,
                "CHAT_LIMITS_TABLE": name.replace("_", ""),
            }
            results[name] = await _attack(table_env, model, target_for, summarise, streams, attack)
            results[name]["tokens_charged"] = await _charged(tables, table_env["CHAT_LIMITS_TABLE"])
            print(f"  {name}: {results[name]}", flush=True)
    results["hanging_store"] = await _hanging_store(env, target_for, summarise, streams)
    print(f"  hanging_store: {results['hanging_store']}", flush=True)
    return results


async def _attack(
    env: dict[str, str],
    model: processes.ModelServer,
    target_for: Callable[[processes.AppServer], Target],
    summarise: Callable[[list[StreamResult]], dict[str, Any]],
    streams: int,
    attack: Attack,
) -> dict[str, Any]:
    model.reset()
    with processes.app_server(env) as app:
        others = _others(target_for(app), streams)
        statuses, answered = await asyncio.gather(attack(app.url), others)
    await asyncio.sleep(0.5)  # the stand-in notices the last answers left
    seen = summarise(answered)
    return {
        "attacker_answered": statuses.count(200),
        "attacker_refused_429": statuses.count(429),
        "tokens_served": model.stats()["served_tokens"],
        "others_first_word_p50_ms": seen["first_word_p50_ms"],
        "others_errors": seen["errors"],
    }


async def _others(target: Target, streams: int) -> list[StreamResult]:
    return await run_load(target, len(OTHERS), streams, sources=OTHERS)


async def _think_then_leave(url: str, times: int = 40) -> list[int]:
    """Ask, read until the model's thinking is on the wire, leave; again."""
    statuses = []
    transport = httpx.AsyncHTTPTransport(local_address=THINKER)
    async with httpx.AsyncClient(transport=transport, timeout=30) as client:
        for _ in range(times):
            body = {"messages": [{"role": "user", "content": "Think hard about it #slow"}]}
            async with client.stream("POST", url + "/api/chat/stream", json=body) as response:
                statuses.append(response.status_code)
                async for line in response.aiter_lines():
                    if '"Thinking"' in line:
                        break  # and leave
    return statuses


async def _drain(url: str, each: int = 5) -> list[int]:
    """Every address of one /24 asks `each` times, all at once."""

    async def address(source: str) -> list[int]:
        transport = httpx.AsyncHTTPTransport(local_address=source)
        async with httpx.AsyncClient(transport=transport, timeout=60) as client:
            body = {"messages": [{"role": "user", "content": "Tell me everything"}]}
            return [
                (await client.post(url + "/api/chat/stream", json=body)).status_code
                for _ in range(each)
            ]

    per_address = await asyncio.gather(*(address(a) for a in DRAINERS))
    return [status for statuses in per_address for status in statuses]


async def _charged(tables: azurite.Azurite, table: str) -> int:
    """The app's tokens today: the sum of its rows (one per instance) in the shared table."""
    from azure.data.tables.aio import TableClient

    day = time.strftime("%Y%m%d", time.gmtime())
    async with TableClient.from_connection_string(tables.connection_string, table) as client:
        rows = client.query_entities(f"PartitionKey eq '{day}-app'")
        tokens = [int(getattr(e["tokens"], "value", e["tokens"])) async for e in rows]
    return sum(tokens)


async def _hanging_store(
    env: dict[str, str],
    target_for: Callable[[processes.AppServer], Target],
    summarise: Callable[[list[StreamResult]], dict[str, Any]],
    streams: int,
) -> dict[str, Any]:
    """Other clients' first word with the counts in memory, then with a store that hangs."""
    with processes.app_server(env) as app:
        quiet = summarise(await _others(target_for(app), streams))

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the app gives up on the connection

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    hanging = {
        **env,
        "AZURE_STORAGE_TABLE_CONNECTION_STRING": azurite.connection_string(port),
    }
    try:
        with processes.app_server(hanging) as app:
            sick = summarise(await _others(target_for(app), streams))
    finally:
        server.close()
    return {
        "others_first_word_p50_ms_memory": quiet["first_word_p50_ms"],
        "others_first_word_p50_ms_hanging_store": sick["first_word_p50_ms"],
        "others_errors": sick["errors"],
    }
