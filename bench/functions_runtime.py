"""`make bench` through the Azure Functions Python runtime: the streaming scenarios with the app
in `azure-functions-runtime` (Python 3.13) behind the stand-in Functions host, as Azure runs it."""

from __future__ import annotations

import re
from typing import Any

from bench import report
from bench.loadgen import Target
from bench.scenarios import Scenario, run_scenarios
from bench.targets import streamed_answer
from standins import processes

RUNTIME_MODE = report.RUNTIME_MODE


async def runtime_scenarios(
    floor: Target,
    model: processes.ModelServer,
    env: dict[str, str],
    scenarios: list[Scenario],
    soak_streams: int = 0,
) -> tuple[list[dict[str, Any]] | None, dict[str, Any] | None]:
    """The streaming scenarios with the app in the real Functions Python runtime (Python 3.13),
    behind the stand-in Functions host, as Azure runs it. CPU and memory are the worker's (the
    runtime and the app: what an instance spends); the stand-in host's CPU is reported apart,
    since Azure's host is another program. Latencies include the host's extra hop."""
    if not processes.FUNCTIONS_PYTHON.exists():
        print(f"\n{RUNTIME_MODE}: skipped, no Python 3.13+ environment", flush=True)
        return None, None
    with processes.functions_host(env) as app:
        worker_pid = _worker_pid(app.log())
        target = streamed_answer(app.url)
        print(f"\nMode: {RUNTIME_MODE}", flush=True)
        rows = await run_scenarios(
            floor, target, model.process.popen.pid, worker_pid, scenarios, app.process.popen.pid
        )
        if not soak_streams:
            return rows, None
        from bench import soak

        print(f"\nSoak, {RUNTIME_MODE}", flush=True)
        soaked = await soak.run(target, worker_pid, soak_streams)
        print(f"  {soaked}", flush=True)
        return rows, soaked


def _worker_pid(host_log: str) -> int:
    """The worker's process id, which the stand-in host logs when it starts the worker."""
    found = re.search(r"worker pid=(\d+)", host_log)
    if found is None:
        raise RuntimeError("the stand-in Functions host did not say which worker it started")
    return int(found.group(1))
