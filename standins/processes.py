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

from standins.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]
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
    "CHAT_LIMITS_STORE",
    "AZURE_STORAGE_TABLE_ENDPOINT",
    "AZURE_STORAGE_TABLE_CONNECTION_STRING",
    "WEBSITE_INSTANCE_ID",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
)


@dataclass
class Process:
    url: str
    popen: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    def log(self) -> str:
        return "".join(self.output)


def _start(
    args: list[str], env: Mapping[str, str], timeout: float = 90.0, python: str = sys.executable
) -> Process:
    """Start a server and wait for the line it prints once it listens, which names its port:
    each server binds port 0 itself, so no other process can take the port in between."""
    full_env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    full_env.update(env)
    full_env["PYTHONUNBUFFERED"] = "1"
    popen = subprocess.Popen(
        [python, *args],
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

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    if not found.wait(timeout) or not port:
        popen.kill()
        popen.wait()
        raise RuntimeError(f"{args} did not start:\n{''.join(output)}")
    return Process(f"http://127.0.0.1:{port[0]}", popen, output, reader)


def terminate(popen: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    """Ask a process to stop; kill it when it has not stopped within ten seconds."""
    popen.terminate()
    try:
        popen.wait(10)
    except subprocess.TimeoutExpired:
        popen.kill()
        popen.wait(5)


def _stop(process: Process) -> None:
    terminate(process.popen)
    if process.reader is not None:
        process.reader.join(5)  # the rest of the output, up to the end of the pipe
    if process.popen.stdout is not None:
        process.popen.stdout.close()


class ControlledStandIn:
    """What the tests ask a stand-in through the control routes it serves beside its API."""

    @property
    def url(self) -> str:
        raise NotImplementedError

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = httpx.get(self.url + "/_stats", timeout=5).json()
        return stats

    def reset(self) -> None:
        httpx.post(self.url + "/_reset", timeout=5)

    def deny(self, count: int) -> None:
        """Refuse the next `count` requests with 403, as before a role assignment applies."""
        httpx.post(self.url + "/_deny", json={"count": count}, timeout=5)

    def release(self) -> None:
        """Let a held answer (`#held`, `#thinkheld`, `#queryheld`, `#lockstep`) send its next
        part, or a held search (`#searchheld`) answer."""
        httpx.post(self.url + "/_release", timeout=5)


@dataclass
class ModelServer(ControlledStandIn):
    process: Process

    @property
    def url(self) -> str:
        return self.process.url

    @property
    def base_url(self) -> str:
        """What OPENAI_BASE_URL points at."""
        return self.process.url + "/v1"


@dataclass
class SearchServer(ControlledStandIn):
    process: Process
    api_key: str

    @property
    def url(self) -> str:
        """What AZURE_SEARCH_ENDPOINT points at."""
        return self.process.url


@dataclass
class AppServer:
    process: Process

    @property
    def url(self) -> str:
        return self.process.url

    def log(self) -> str:
        return self.process.log()

    def log_once_it_has(self, text: str) -> str:
        """The log, once `text` is in it: a line the app wrote before answering may still be
        on its way through the pipe when the answer has arrived."""
        assert wait_until(lambda: text in self.log()), f"{text!r} never logged:\n{self.log()}"
        return self.log()


@contextlib.contextmanager
def model_server(*options: str, env: Mapping[str, str] | None = None) -> Iterator[ModelServer]:
    process = _start(["-m", "standins.model", "--port", "0", *options], env or {})
    try:
        yield ModelServer(process)
    finally:
        _stop(process)


@contextlib.contextmanager
def search_server(api_key: str = "search-test-key") -> Iterator[SearchServer]:
    process = _start(["-m", "standins.search", "--port", "0", "--api-key", api_key], {})
    try:
        yield SearchServer(process, api_key)
    finally:
        _stop(process)


# The limits for a public endpoint are off in test apps (every test comes from one address);
# the tests of the limits turn them on.
NO_LIMITS = {
    "CHAT_CLIENT_REQUESTS_PER_MINUTE": "0",
    "CHAT_CLIENT_TOKENS_PER_DAY": "0",
    "CHAT_DAILY_TOKEN_BUDGET": "0",
    "CHAT_MAX_CONCURRENT_ANSWERS": "0",
    "CHAT_NETWORK_REQUESTS_PER_MINUTE": "0",
    "CHAT_NETWORK_TOKENS_PER_DAY": "0",
    "CHAT_NETWORK_BUDGET_SHARE": "0",
}


@contextlib.contextmanager
def collector_server() -> Iterator[Process]:
    """The stand-in OpenTelemetry collector as a process of its own: a sink for `make bench`."""
    process = _start(["-m", "standins.collector", "--port", "0"], {})
    try:
        yield process
    finally:
        _stop(process)


@contextlib.contextmanager
def app_server(env: Mapping[str, str]) -> Iterator[AppServer]:
    process = _start(["-m", "devhost", "--port", "0"], {**NO_LIMITS, **env})
    try:
        yield AppServer(process)
    finally:
        _stop(process)


# The Python 3.13+ environment with the Azure Functions Python runtime (`make test` builds it
# where such a Python exists).
FUNCTIONS_PYTHON = ROOT / ".venv-functions" / "bin" / "python"


@contextlib.contextmanager
def functions_host(env: Mapping[str, str], *options: str) -> Iterator[AppServer]:
    """The app in the real Functions Python runtime, behind the stand-in Functions host."""
    process = _start(
        ["-m", "standins.functions_host", "--port", "0", *options],
        {**NO_LIMITS, **env},
        timeout=90,
        python=str(FUNCTIONS_PYTHON),
    )
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
