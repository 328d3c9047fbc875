"""A server-sent events decoder for model streams: bytes in as they are read, events out.

It follows the HTML standard's event-stream rules: lines end in `\\n`, `\\r\\n` or a bare `\\r`
(also when a `\\r\\n` pair is split across two reads); a line starting with `:` is a comment;
`field:value` takes one optional space after the colon; several `data` lines join with `\\n`; a
blank line ends an event. Unlike a browser, it also hands over a last event whose closing blank
line (or newline) never came, when the stream ends: a model's final event is then not lost.

The buffer is bounded: a line or an event longer than `max_bytes` raises SSEError instead of
growing without end. Events are `(event name, data)` pairs of bytes, so the hot path can choose
what to do from the name and decode only the data it needs.
"""

from __future__ import annotations

ServerSentEvent = tuple[bytes, bytes]
"""(the `event` field, empty when absent; the joined `data` lines)."""

MAX_EVENT_BYTES = 4 * 1024 * 1024  # a Responses "completed" event repeats the whole prompt


class SSEError(ValueError):
    """The stream is not one a model would send (a line or event over the size bound)."""


class SSEDecoder:
    __slots__ = ("_data", "_data_bytes", "_event", "_max", "_parts", "_pending", "_trailing_cr")

    def __init__(self, max_bytes: int = MAX_EVENT_BYTES) -> None:
        self._max = max_bytes
        self._pending = b""  # the start of a line whose end has not arrived
        self._parts: list[bytes] = []  # more of it, when it spans many reads
        self._trailing_cr = False
        self._event = b""
        self._data: list[bytes] = []
        self._data_bytes = 0

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """The events completed by this chunk of the stream, in order."""
        if self._trailing_cr and chunk[:1] == b"\n":
            chunk = chunk[1:]  # the second half of a \r\n that straddled two reads
        self._trailing_cr = chunk[-1:] == b"\r"
        if b"\r" in chunk:
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if b"\n" not in chunk:
            self._hold(chunk)
            return []
        if self._parts:
            chunk = b"".join((self._pending, *self._parts, chunk))
            self._parts.clear()
        elif self._pending:
            chunk = self._pending + chunk
        *lines, self._pending = chunk.split(b"\n")
        if len(self._pending) > self._max:
            raise SSEError("a server-sent event line is over the size limit")
        return self._lines(lines)

    def close(self) -> list[ServerSentEvent]:
        """At the end of the stream: the last event, if its final newlines never came."""
        line = b"".join((self._pending, *self._parts))
        self._pending, self._parts = b"", []
        events = self._lines([line]) if line else []
        if self._data:
            events += self._lines([b""])
        return events

    def _hold(self, chunk: bytes) -> None:
        if not chunk:
            return
        if not self._pending:
            self._pending = chunk
        else:
            self._parts.append(chunk)
        if len(self._pending) + sum(map(len, self._parts)) > self._max:
            raise SSEError("a server-sent event line is over the size limit")

    def _lines(self, lines: list[bytes]) -> list[ServerSentEvent]:
        events: list[ServerSentEvent] = []
        for line in lines:
            if not line:
                if self._data:
                    data = self._data[0] if len(self._data) == 1 else b"\n".join(self._data)
                    events.append((self._event, data))
                    self._data = []
                    self._data_bytes = 0
                self._event = b""
                continue
            if line[0] == 58:  # ":" starts a comment (keep-alives)
                continue
            name, _, value = line.partition(b":")
            if value[:1] == b" ":
                value = value[1:]
            if name == b"data":
                self._data_bytes += len(value) + 1
                if self._data_bytes > self._max:
                    raise SSEError("a server-sent event is over the size limit")
                self._data.append(value)
            elif name == b"event":
                self._event = value
            # `id` and `retry` are for browsers reconnecting; a model stream is not resumed.
        return events
