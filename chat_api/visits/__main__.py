"""`make report`: what visitors asked, per UTC day.

With the deployment's values in the environment (`AZURE_STORAGE_TABLE_ENDPOINT`, and
`CHAT_LIMITS_TABLE` when not the default; keyless through azure-identity, as the app reads
them) it reads the Azure table the app writes to. Otherwise, or with `--url`, it asks the local
process that `make run` serves (`GET /api/report`, served on loopback only)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import urllib.error
import urllib.request
from typing import Any

from chat_api import process
from chat_api.limits import StoreUnavailable
from chat_api.limits.table import create_table_store
from chat_api.settings import Settings, SettingsError
from chat_api.visits.report import as_text, report

LOCAL_URL = "http://127.0.0.1:7071"
# A day's partition is read whole, page after page: far longer than one counter's update.
READ_TIMEOUT_SECONDS = 300.0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="make report", description=__doc__.splitlines()[0])
    p.add_argument("--days", type=int, default=7, help="how many UTC days, today first")
    p.add_argument("--url", default="", help=f"the local app to ask (default {LOCAL_URL})")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    process.quiet_sdk_loggers()
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"Cannot report: {exc}", file=sys.stderr)
        return 2
    table = bool(
        settings.azure_storage_table_endpoint
        or settings.azure_storage_table_connection_string.get_secret_value()
    )
    try:
        if table and not args.url:
            data = asyncio.run(_from_table(settings, args.days))
        else:
            data = _from_app(args.url or LOCAL_URL, args.days)
    except (OSError, ValueError, StoreUnavailable) as exc:
        print(f"Cannot report: {exc}", file=sys.stderr)
        return 1
    print(as_text(data), end="")
    return 0


async def _from_table(settings: Settings, days: int) -> dict[str, Any]:
    store = create_table_store(
        endpoint=settings.azure_storage_table_endpoint,
        connection_string=settings.azure_storage_table_connection_string.get_secret_value(),
        table=settings.limits_table,
        client_id=settings.azure_client_id,
        timeout_seconds=READ_TIMEOUT_SECONDS,
    )
    try:
        return await report(store, days)
    finally:
        await store.aclose()


def _from_app(url: str, days: int) -> dict[str, Any]:
    address = f"{url.rstrip('/')}/api/report?days={days}"
    try:
        with urllib.request.urlopen(address, timeout=30) as response:
            data: dict[str, Any] = json.load(response)
    except urllib.error.HTTPError as exc:
        raise ValueError(f"{address} answered {exc.code}") from None
    except urllib.error.URLError as exc:
        raise OSError(
            f"{address} cannot be reached ({exc.reason}); is `make run` running?"
        ) from None
    return data


if __name__ == "__main__":
    sys.exit(main())
