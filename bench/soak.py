"""A bounded soak: many streams at moderate concurrency; memory must settle, errors stay zero."""

from __future__ import annotations

import time
from typing import Any

from bench.loadgen import Target, run_load


def _rss_mb(pid: int) -> float:
    from bench.process import rss_bytes

    return round(rss_bytes(pid) / 2**20, 1)


async def run(target: Target, pid: int, streams: int, concurrency: int = 200) -> dict[str, Any]:
    warmup = max(concurrency * 2, streams // 10)
    started = time.perf_counter()
    first = await run_load(target, concurrency, warmup)
    after_warmup = _rss_mb(pid)
    rest = await run_load(target, concurrency, streams - warmup)
    end = _rss_mb(pid)
    errors = sum(not r.ok for r in first + rest)
    return {
        "streams": streams,
        "concurrency": concurrency,
        "seconds": round(time.perf_counter() - started, 1),
        "errors": errors,
        "rss_after_warmup_mb": after_warmup,
        "rss_end_mb": end,
        "growth_percent": round((end - after_warmup) / after_warmup * 100, 1),
    }
