"""How long importing the app takes (`function_app`, as the Functions worker does at a cold
start), beside a bare Functions app that declares one streaming function: the median of a few
fresh interpreters each.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

BARE_APP = """
import azure.functions as func
from azurefunctions.extensions.http.fastapi import Request, StreamingResponse

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="stream", methods=["POST"])
async def stream(req: Request) -> StreamingResponse:
    async def lines():
        yield b"{}\\n"

    return StreamingResponse(lines(), media_type="application/x-ndjson")
"""


def import_seconds(module: str, cwd: Path, env: dict[str, str], runs: int = 7) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        times.append(float(out.stdout.strip()))
    return statistics.median(times)


def cold_import(tmp: Path, app_env: dict[str, str]) -> dict[str, Any]:
    (tmp / "bare_function_app.py").write_text(BARE_APP)
    base_env = {"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "0"}
    bare = import_seconds("bare_function_app", tmp, {**base_env, "PYTHONPATH": str(tmp)})
    ours = import_seconds("function_app", ROOT, {**base_env, **app_env})
    return {
        "bare_ms": round(bare * 1000, 1),
        "function_app_ms": round(ours * 1000, 1),
        "ratio": round(ours / bare, 2),
    }
