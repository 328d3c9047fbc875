"""Azurite, the Azure Storage emulator (npm package `azurite`, installed by `make test` from
standins/azurite/package.json), serving the Table service on a loopback port it picks."""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from standins import processes
from standins.waiting import wait_until

FOLDER = Path(__file__).resolve().parent / "azurite"
EXECUTABLE = FOLDER / "node_modules" / ".bin" / "azurite"
_TABLE_LISTENING = re.compile(r"Table service is successfully listening at http://[\d.]+:(\d+)")
# Azurite's documented development account: public, and accepted only by the emulator.
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


@dataclass
class Azurite:
    port: int
    popen: subprocess.Popen[str] | None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return connection_string(self.port)

    def stop(self) -> None:
        if self.popen is not None:
            processes.terminate(self.popen)
            self.popen = None


def available() -> bool:
    return EXECUTABLE.is_file() and shutil.which("node") is not None


@contextlib.contextmanager
def azurite_tables() -> Iterator[Azurite]:
    """Azurite's Table service, in memory, on loopback only; stopped (and forgotten) after.
    Azurite binds port 0 itself and prints the port it got, so no other process can take the
    port in between (its Blob and Queue services start beside it, on ports of their own)."""
    workspace = tempfile.mkdtemp(prefix="azurite-")
    arguments = []
    for service in ("blob", "queue", "table"):
        arguments += [f"--{service}Host", "127.0.0.1", f"--{service}Port", "0"]
    popen = subprocess.Popen(
        [
            str(EXECUTABLE),
            *arguments,
            "--inMemoryPersistence",
            "--skipApiVersionCheck",
            "--disableTelemetry",
            "--silent",
        ],
        cwd=workspace,  # anything it writes stays in a folder removed after
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = Azurite(0, popen)
    found: list[int] = []
    reader = threading.Thread(target=_read_port, args=(popen, found), daemon=True)
    reader.start()
    try:
        server.port = _listening_port(popen, found)
        _wait_until_ready(server)
        yield server
    finally:
        server.stop()
        reader.join(10)  # its output, up to the end of the pipe, before the pipe is closed
        if popen.stdout is not None:
            popen.stdout.close()
        shutil.rmtree(workspace, ignore_errors=True)


def _read_port(popen: subprocess.Popen[str], found: list[int]) -> None:
    """Read Azurite's output to its end (so it never blocks on a full pipe), noting the Table
    service's port from the line it prints once it listens."""
    assert popen.stdout is not None
    for line in popen.stdout:
        match = _TABLE_LISTENING.search(line)
        if match and not found:
            found.append(int(match.group(1)))


def _listening_port(popen: subprocess.Popen[str], found: list[int]) -> int:
    """The Table service's port once Azurite has printed it; fails if Azurite exits first."""
    wait_until(lambda: bool(found) or popen.poll() is not None, timeout=60)
    if not found:
        raise RuntimeError(f"Azurite did not start (exit status {popen.poll()})")
    return found[0]


def _wait_until_ready(server: Azurite, timeout: float = 30.0) -> None:
    """Until the Table service answers HTTP (any status), or the process has died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.popen is not None
        if server.popen.poll() is not None:
            raise RuntimeError(f"Azurite exited with status {server.popen.returncode}")
        try:
            httpx.get(server.endpoint + "/Tables", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError("Azurite did not start")


def connection_string(port: int) -> str:
    """A connection string to Azurite's account at a loopback port (or to a server that stands
    in for a sick one there)."""
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
        f"TableEndpoint=http://127.0.0.1:{port}/{ACCOUNT};"
    )
