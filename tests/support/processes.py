"""Start the stand-in model server, the stand-in search service and the app as real processes
on free loopback ports."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
_READY_PORT = re.compile(r"(?:READY port=|Chat app ready at http://[\d.]+:)(\d+)")

# Settings that would make the app leave this machine are never inherited by test processes.
_SCRUBBED = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_HOST",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "AZURE_SEARCH_ENDPOINT",
    "AZURE_SEARCH_API_KEY",
    "CHAT_RETRIEVAL",
    "CHAT_STREAMING",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
)


@dataclass
class Process:
    url: str
    popen: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)

    def log(self) -> str:
        return "".join(self.output)


def _start(args: list[str], env: Mapping[str, str], timeout: float = 30.0) -> Process:
    full_env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    full_env.update(env)
    full_env["PYTHONUNBUFFERED"] = "1"
    popen = subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    found = threading.Event()
    port: list[str] = []

    def pump() -> None:
        assert popen.stdout is not None
        for line in popen.stdout:
            output.append(line)
            match = _READY_PORT.search(line)
            if match and not found.is_set():
                port.append(match.group(1))
                found.set()
        found.set()

    threading.Thread(target=pump, daemon=True).start()
    if not found.wait(timeout) or not port:
        popen.kill()
        raise RuntimeError(f"{args} did not start:\n{''.join(output)}")
    return Process(f"http://127.0.0.1:{port[0]}", popen, output)


def _stop(process: Process) -> None:
    process.popen.terminate()
    try:
        process.popen.wait(10)
    except subprocess.TimeoutExpired:
        process.popen.kill()
        process.popen.wait(5)
    if process.popen.stdout is not None:
        process.popen.stdout.close()


@dataclass
class ModelServer:
    process: Process

    @property
    def url(self) -> str:
        return self.process.url

    @property
    def base_url(self) -> str:
        """What OPENAI_BASE_URL points at."""
        return self.process.url + "/v1"

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = httpx.get(self.url + "/_stats", timeout=5).json()
        return stats

    def reset(self) -> None:
        httpx.post(self.url + "/_reset", timeout=5)

    def deny(self, count: int) -> None:
        """Refuse the next `count` requests with 403, as before a role assignment applies."""
        httpx.post(self.url + "/_deny", json={"count": count}, timeout=5)


@dataclass
class SearchServer:
    process: Process
    api_key: str

    @property
    def url(self) -> str:
        """What AZURE_SEARCH_ENDPOINT points at."""
        return self.process.url

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = httpx.get(self.url + "/_stats", timeout=5).json()
        return stats

    def reset(self) -> None:
        httpx.post(self.url + "/_reset", timeout=5)

    def deny(self, count: int) -> None:
        """Refuse the next `count` requests with 403, as before a role assignment applies."""
        httpx.post(self.url + "/_deny", json={"count": count}, timeout=5)


@dataclass
class AppServer:
    process: Process

    @property
    def url(self) -> str:
        return self.process.url

    def log(self) -> str:
        return self.process.log()


@contextlib.contextmanager
def model_server(*options: str, env: Mapping[str, str] | None = None) -> Iterator[ModelServer]:
    process = _start(["-m", "tests.support.standin_model", "--port", "0", *options], env or {})
    try:
        yield ModelServer(process)
    finally:
        _stop(process)


@contextlib.contextmanager
def search_server(api_key: str = "search-test-key") -> Iterator[SearchServer]:
    process = _start(
        ["-m", "tests.support.standin_search", "--port", "0", "--api-key", api_key], {}
    )
    try:
        yield SearchServer(process, api_key)
    finally:
        _stop(process)


@contextlib.contextmanager
def collector_server() -> Iterator[Process]:
    """The stand-in OpenTelemetry collector as a process of its own: a sink for `make bench`."""
    process = _start(["-m", "tests.support.standin_collector", "--port", "0"], {})
    try:
        yield process
    finally:
        _stop(process)


@contextlib.contextmanager
def app_server(env: Mapping[str, str]) -> Iterator[AppServer]:
    process = _start(["-m", "devhost", "--port", "0"], env)
    try:
        yield AppServer(process)
    finally:
        _stop(process)


def run_ingest(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m chat_api.ingest ARGS` to completion, with only the given service settings."""
    full_env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    return subprocess.run(
        [sys.executable, "-m", "chat_api.ingest", *args],
        cwd=ROOT,
        env={**full_env, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
