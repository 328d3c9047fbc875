"""`python -m chat_api.ingest [FOLDER ...]` (what `make ingest` runs): fill the search index
from folders of documents and built sites' HTML pages (default: the knowledge base, `docs/`).

The target is Azure AI Search when AZURE_SEARCH_ENDPOINT is set (chunks embedded with the
configured model host), else the local index file the app serves with CHAT_LOCAL_INDEX.
Re-running changes nothing unless the documents changed. Exit status: 0 when the index is up to
date (unreadable files are reported and skipped), 1 when the run failed, 2 on bad settings.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from chat_api import ingest, process
from chat_api.errors import ChatError
from chat_api.ingest.sitemap import (
    CONCURRENCY,
    PAGE_TIMEOUT_SECONDS,
    RETRIES,
    FetchOptions,
    SitemapError,
    fetch_site,
)
from chat_api.retrieval.documents import DocumentError
from chat_api.retrieval.local import DEFAULT_KNOWLEDGE_BASE
from chat_api.settings import Settings, SettingsError

if TYPE_CHECKING:
    from chat_api.hosts.openai_compatible import OpenAICompatibleHost

DEFAULT_LOCAL_INDEX = Path(".index") / "knowledge-base.sqlite"
# Ingestion meets throttling more than a chat does: give the embedding calls time to retry.
INGEST_RETRY_SECONDS = 120.0
# --wait-for-access: the first wait, doubled after each refusal up to the longest wait.
ACCESS_RETRY_FIRST_SECONDS = 5.0
ACCESS_RETRY_MAX_SECONDS = 30.0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m chat_api.ingest", description=__doc__)
    p.add_argument("folders", nargs="*", type=Path, help="folders of documents (default: docs/)")
    p.add_argument(
        "--target",
        choices=("auto", "azure", "local"),
        default="auto",
        help="auto: Azure AI Search when AZURE_SEARCH_ENDPOINT is set, else the local index",
    )
    p.add_argument("--local-index", type=Path, help="the local index file to write")
    p.add_argument("--url-prefix", default="", help="link citations under this address")
    p.add_argument(
        "--base-url",
        default="",
        help="where the built site in the folders is served: an HTML page without a canonical "
        "link is this address plus its path (index.html dropped)",
    )
    p.add_argument(
        "--prune", action="store_true", help="also remove chunks of files no longer in the folders"
    )
    live = p.add_argument_group("a live site, by its sitemap")
    live.add_argument("--sitemap", metavar="URL", help="read the pages this sitemap lists")
    live.add_argument("--concurrency", type=int, default=CONCURRENCY, help="pages fetched at once")
    live.add_argument(
        "--page-timeout", type=float, default=PAGE_TIMEOUT_SECONDS, help="seconds per page"
    )
    live.add_argument("--retries", type=int, default=RETRIES, help="tries again per page")
    p.add_argument("--batch-size", type=int, default=ingest.UPLOAD_BATCH, help="chunks per upload")
    p.add_argument(
        "--embed-batch", type=int, default=ingest.EMBED_BATCH, help="texts per embedding call"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument(
        "--wait-for-access",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="while Azure AI Search or the embedding model refuses access (401/403), try again "
        "for up to this long: role assignments made by azd provision take minutes to apply "
        "(default: 0)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    process.quiet_sdk_loggers()
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    target = args.target
    if target == "auto":
        target = "azure" if settings.azure_search_endpoint else "local"
    if target == "azure" and not settings.azure_search_endpoint:
        print("Configuration error: --target azure needs AZURE_SEARCH_ENDPOINT", file=sys.stderr)
        return 2
    if target == "azure" and not settings.embedding_model:
        print(
            "Configuration error: Azure AI Search ingestion embeds every chunk; configure a model "
            "host with embeddings (AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_EMBEDDING_DEPLOYMENT, "
            "or OPENAI_BASE_URL or OPENAI_API_KEY and OPENAI_EMBEDDING_MODEL)",
            file=sys.stderr,
        )
        return 2
    default_folders = (
        [] if args.sitemap else [Path(settings.knowledge_base_dir or DEFAULT_KNOWLEDGE_BASE)]
    )
    folders = args.folders or default_folders
    try:
        return asyncio.run(_run(args, settings, target, folders))
    except KeyboardInterrupt:
        return 130


async def _run(
    args: argparse.Namespace, settings: Settings, target: str, folders: list[Path]
) -> int:
    progress = not args.no_progress
    try:
        documents = ingest.read_folders(
            folders, url_prefix=args.url_prefix, base_url=args.base_url, progress=progress
        )
        if args.sitemap:
            documents += await _live_site(args, progress)
    except DocumentError as exc:
        print(f"Cannot read the documents: {exc}", file=sys.stderr)
        return 2
    except SitemapError as exc:
        print(f"Cannot read the site: {exc}", file=sys.stderr)
        return 1
    deadline = time.monotonic() + max(args.wait_for_access, 0.0)
    delay = ACCESS_RETRY_FIRST_SECONDS
    while True:
        index, host = _target(args, settings, target)
        try:
            summary = await ingest.ingest(
                documents,
                index,
                embed=host.embed if host is not None else None,
                upload_batch=args.batch_size,
                embed_batch=args.embed_batch,
                prune=args.prune,
                progress=progress,
            )
            break
        except Exception as exc:
            status = _access_denied(exc)
            if status is None or time.monotonic() + delay > deadline:
                print(f"{index.description}: ingestion failed: {_explain(exc)}", file=sys.stderr)
                return 1
            print(
                f"{_refuser(exc, index)}: access denied ({status}). Role assignments take a few "
                f"minutes to apply after provisioning; trying again in {delay:.0f} s.",
                file=sys.stderr,
            )
        finally:
            await index.aclose()
            if host is not None:
                await host.aclose()
        await asyncio.sleep(delay)
        delay = min(delay * 2, ACCESS_RETRY_MAX_SECONDS)
    for line in summary.lines():
        print(line)
    if target == "local" and not settings.local_index:
        print(
            f"Serve it with CHAT_LOCAL_INDEX={getattr(index, 'path', '')} and CHAT_RETRIEVAL=local"
        )
    for line in summary.failure_lines():
        print(line)
    return 0


async def _live_site(args: argparse.Namespace, progress: bool) -> ingest.Documents:
    options = FetchOptions(
        concurrency=args.concurrency,
        timeout_seconds=args.page_timeout,
        retries=max(args.retries, 0),
        progress=progress,
    )
    return ingest.read_fetched_site(await fetch_site(args.sitemap, options))


def _target(
    args: argparse.Namespace, settings: Settings, target: str
) -> tuple[ingest.Target, OpenAICompatibleHost | None]:
    """The index to fill and, for Azure AI Search, the host that embeds: new for each attempt."""
    if target != "azure":
        return ingest.LocalTarget(
            args.local_index or Path(settings.local_index or DEFAULT_LOCAL_INDEX)
        ), None
    from chat_api.hosts.openai_compatible import create_host
    from chat_api.ingest.search_index import AzureSearchTarget

    retry = max(settings.model_retry_seconds, INGEST_RETRY_SECONDS)
    host = create_host(settings.model_copy(update={"model_retry_seconds": retry}))
    return AzureSearchTarget(settings, embed=host.embed), host


def _access_denied(exc: BaseException) -> int | None:
    """401 or 403 from Azure AI Search or the embedding model (a role not applied yet), else
    None."""
    if isinstance(exc, ChatError):
        return exc.upstream_status if exc.upstream_status in (401, 403) else None
    from azure.core import exceptions as azure_errors

    status = getattr(exc, "status_code", None)
    if isinstance(exc, azure_errors.HttpResponseError) and status in (401, 403):
        return int(status)
    return None


def _refuser(exc: BaseException, index: ingest.Target) -> str:
    """Which service refused: the embedding model, or the search index."""
    return "The embedding model" if isinstance(exc, ChatError) else index.description


def _explain(exc: BaseException) -> str:
    """What went wrong and what to do, for the person running the command."""
    if isinstance(exc, ingest.IngestError):
        return str(exc)
    if isinstance(exc, ChatError):
        if exc.upstream_status in (401, 403):
            return (
                f"the embedding model refused access ({exc.upstream_status}). Keyless "
                "ingestion needs the Cognitive Services OpenAI User role on the Azure OpenAI "
                "account (azd up grants it to you), or set AZURE_OPENAI_API_KEY."
            )
        return f"the embedding model failed: {exc.message}"
    from azure.core import exceptions as azure_errors

    status = getattr(exc, "status_code", None)
    if isinstance(exc, azure_errors.HttpResponseError) and status in (401, 403):
        return (
            f"access denied ({status}). Keyless ingestion needs the Search Index Data "
            "Contributor and Search Service Contributor roles (azd up grants them to you), "
            "or set AZURE_SEARCH_API_KEY."
        )
    if isinstance(exc, azure_errors.ClientAuthenticationError):
        return "no credential: sign in with azd auth login or az login, or set AZURE_SEARCH_API_KEY"
    if isinstance(exc, azure_errors.HttpResponseError):
        message = (exc.message or "").splitlines()[0] if exc.message else ""
        return f"the search service answered {exc.status_code}: {message}"
    if isinstance(exc, azure_errors.AzureError):
        return f"the search service could not be reached ({type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}"


if __name__ == "__main__":
    sys.exit(main())
