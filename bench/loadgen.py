"""A load generator cheap enough not to be the bottleneck: asyncio protocols over raw sockets,
one connection per stream, timestamps taken as bytes arrive, no HTTP library in the loop.

It only scans the bytes of each read for two markers: the start of a line that carries answer
text, and the end of the answer. That works the same against the app (NDJSON) and against the
stand-in model (server-sent events), so both are measured the same way.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace
from typing import cast

CONTENT = b'"content":"'
EMPTY_CONTENT = b'"content":""'


@dataclass
class Target:
    host: str
    port: int
    path: str
    body: bytes
    end_marker: bytes  # present once the answer is complete
    text_marker: bytes = CONTENT  # starts each piece of the answer's text
    source: str | None = None  # the loopback address to connect from (one per client)

    def request(self) -> bytes:
        return (
            f"POST {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            "Content-Type: application/json\r\nAccept: */*\r\nConnection: close\r\n"
            f"Content-Length: {len(self.body)}\r\n\r\n"
        ).encode() + self.body


@dataclass
class StreamResult:
    ok: bool
    first_word_s: float | None  # from request sent to the first text line
    gaps_s: list[float] = field(default_factory=list)  # between text lines
    lines: int = 0
    error: str = ""
    first_line_s: float | None = None  # from request sent to the first line of any kind (a step)


class _StreamProtocol(asyncio.Protocol):
    def __init__(self, target: Target, done: asyncio.Future[StreamResult]) -> None:
        self.target = target
        self.done = done
        self.buffer = bytearray()
        self.scanned = 0
        self.started = 0.0
        self.last: float | None = None
        self.first: float | None = None
        self.first_any: float | None = None
        self.gaps: list[float] = []
        self.lines = 0
        self.status_checked = False
        self.ended = False  # the end marker has been seen

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.started = time.perf_counter()
        # A TCP connection: asyncio's and uvloop's both write, though uvloop's transport does not
        # subclass asyncio.WriteTransport (so no isinstance check can say so).
        writer = cast(asyncio.WriteTransport, transport)
        writer.write(self.target.request())

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        self.buffer += data
        if not self.status_checked and len(self.buffer) >= 12:
            self.status_checked = True
            if self.buffer[9:12] != b"200":
                self._finish(False, f"status {self.buffer[9:12].decode(errors='replace')}")
                return
        buffer = self.buffer
        if self.first_any is None:
            head_end = buffer.find(b"\r\n\r\n")
            if head_end >= 0 and buffer.find(b"{", head_end) >= 0:
                self.first_any = now - self.started
        marker = self.target.text_marker
        position = max(0, self.scanned - len(marker))
        while True:
            found = buffer.find(marker, position)
            if found < 0:
                break
            position = found + len(marker)
            if buffer.startswith(EMPTY_CONTENT, found):
                continue
            self.lines += 1
            if self.last is None:
                self.first = now - self.started
            else:
                self.gaps.append(now - self.last)
            self.last = now
        self.scanned = len(buffer)
        # Seen before the buffer is trimmed: a large last event could push it out of the tail.
        if not self.ended and self.target.end_marker in buffer:
            self.ended = True
        # Keep memory flat: only the tail can still hold a split marker.
        if len(buffer) > 4096:
            keep = 512
            del buffer[: len(buffer) - keep]
            self.scanned = keep

    def eof_received(self) -> bool | None:
        complete = self.ended or self.target.end_marker in self.buffer
        self._finish(complete and self.lines > 0, "" if complete else "stream ended early")
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            complete = self.ended or self.target.end_marker in self.buffer
            self._finish(complete, "" if complete else f"connection lost: {exc!r}")

    def _finish(self, ok: bool, error: str) -> None:
        if not self.done.done():
            self.done.set_result(
                StreamResult(ok, self.first, self.gaps, self.lines, error, self.first_any)
            )
        self.transport.close()


async def one_stream(target: Target, limit_s: float = 60.0) -> StreamResult:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[StreamResult] = loop.create_future()
    try:
        await loop.create_connection(
            lambda: _StreamProtocol(target, done),
            target.host,
            target.port,
            local_addr=(target.source, 0) if target.source else None,
        )
        return await asyncio.wait_for(done, limit_s)
    except (OSError, TimeoutError) as exc:
        return StreamResult(False, None, error=f"{type(exc).__name__}: {exc}")


async def run_load(
    target: Target,
    concurrency: int,
    streams: int,
    ramp_s: float = 0.0,
    sources: list[str] | None = None,
) -> list[StreamResult]:
    """`concurrency` workers each run streams back to back until `streams` have run; with
    `sources`, worker i connects from `sources[i % len(sources)]` (a client of its own)."""
    results: list[StreamResult] = []
    remaining = [streams]

    async def worker(index: int) -> None:
        if ramp_s:
            await asyncio.sleep(ramp_s * index / concurrency)
        own = replace(target, source=sources[index % len(sources)]) if sources else target
        while remaining[0] > 0:
            remaining[0] -= 1
            results.append(await one_stream(own))

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return results
