"""What the limits add to one counter record: a `Delta` of tokens and of requests in a clock
minute. A delta is a change a store applies (`store.Change`), and two deltas for one record
combine into one, so updates waiting for a sick or busy store merge per record instead of
queueing one behind another.

Minutes: a delta of a newer minute resets the record's request count; one of an older minute
(another instance whose clock is a few seconds behind) never does, and is added to the count of
the newer minute (over-counting a request by a few seconds is the safe side)."""

from __future__ import annotations

from chat_api.limits.store import Counts


class Delta:
    __slots__ = ("minute", "requests", "tokens")

    def __init__(self, tokens: int = 0, requests: int = 0, minute: int = 0) -> None:
        self.tokens = tokens
        self.requests = requests
        self.minute = minute

    def __call__(self, counts: Counts) -> Counts:
        if self.requests:
            if self.minute > counts.get("minute", 0):
                counts["minute"] = self.minute
                counts["requests"] = self.requests
            else:
                counts["requests"] = counts.get("requests", 0) + self.requests
        if self.tokens:
            counts["tokens"] = counts.get("tokens", 0) + self.tokens
        return counts

    def merge(self, later: Delta) -> None:
        """This delta followed by `later`, as one: applying the result is applying both."""
        self.tokens += later.tokens
        if not later.requests:
            return
        if later.minute > self.minute:  # the later minute resets what this one counted
            self.requests = 0
            self.minute = later.minute
        self.requests += later.requests

    def __repr__(self) -> str:
        return f"Delta(tokens={self.tokens}, requests={self.requests}, minute={self.minute})"
