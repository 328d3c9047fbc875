"""Azurite, the Azure Storage emulator (npm package `azurite`, installed by `make test` from
tests/support/azurite/package.json), serving the Table service on a free loopback port."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support import processes

FOLDER = Path(__file__).resolve().parent / "azurite"
EXECUTABLE = FOLDER / "node_modules" / ".bin" / "azurite-table"
# Azurite's documented development account: public, and accepted only by the emulator.
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


@dataclass
class Azurite:
    port: int
    popen: subprocess.Popen[bytes] | None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"TableEndpoint={self.endpoint};"
        )

    def stop(self) -> None:
        if self.popen is not None:
            processes.terminate(self.popen)
            self.popen = None


def available() -> bool:
    return EXECUTABLE.is_file() and shutil.which("node") is not None


@contextlib.contextmanager
def azurite_tables() -> Iterator[Azurite]:
    """Azurite's Table service, in memory, on loopback only; stopped (and forgotten) after."""
    port = _free_port()
    workspace = tempfile.mkdtemp(prefix="azurite-")
    popen = subprocess.Popen(
        [
            str(EXECUTABLE),
            "--tableHost",
            "127.0.0.1",
            "--tablePort",
            str(port),
            "--inMemoryPersistence",
            "--skipApiVersionCheck",
            "--disableTelemetry",
            "--silent",
        ],
        cwd=workspace,  # anything it writes stays in a folder removed after
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = Azurite(port, popen)
    try:
        _wait_until_ready(server)
        yield server
    finally:
        server.stop()
        shutil.rmtree(workspace, ignore_errors=True)


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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
