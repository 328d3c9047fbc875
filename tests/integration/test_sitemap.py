"""`make ingest INGEST_ARGS="--sitemap URL"` against a site served on loopback: a sitemap index,
a slow page, a failing page, one that fails once, a page robots.txt excludes, a PDF."""

from __future__ import annotations

import asyncio
import contextlib
import io
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web

from chat_api.ingest.__main__ import main
from chat_api.retrieval.local import LocalRetriever

SITES = Path(__file__).resolve().parents[1] / "fixtures" / "sites"
PAGE = (SITES / "docusaurus" / "docs" / "intro" / "index.html").read_text("utf-8")
DEPLOY = (SITES / "docusaurus" / "docs" / "deploy" / "index.html").read_text("utf-8")


class LoopbackSite:
    """A live site on 127.0.0.1, in its own thread, counting the requests for each path."""

    def __init__(self) -> None:
        self.requests: dict[str, int] = {}
        self.slow_seconds = 5.0
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> LoopbackSite:
        self._thread.start()
        self._started.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_get("/{path:.*}", self._answer)
        runner = web.AppRunner(app)
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        port = runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        self._started.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())
        self._loop.close()

    def _sitemap(self, *paths: str, index: bool = False) -> web.Response:
        tag, entry = ("sitemapindex", "sitemap") if index else ("urlset", "url")
        entries = "".join(f"<{entry}><loc>{self.url}{p}</loc></{entry}>" for p in paths)
        body = f'<?xml version="1.0" encoding="UTF-8"?><{tag} xmlns="x">{entries}</{tag}>'
        return web.Response(text=body, content_type="application/xml")

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.requests[path] = self.requests.get(path, 0) + 1
        if path == "/robots.txt":
            return web.Response(text="User-agent: *\nDisallow: /private/\n")
        if path == "/sitemap.xml":
            return self._sitemap("/sitemap-docs.xml", "/sitemap-more.xml", index=True)
        if path == "/sitemap-docs.xml":
            return self._sitemap("/docs/intro/", "/docs/deploy/", "/docs/slow/", "/docs/broken/")
        if path == "/sitemap-more.xml":
            return self._sitemap("/docs/flaky/", "/private/notes/", "/files/manual.pdf")
        if path == "/docs/slow/":
            await asyncio.sleep(self.slow_seconds)
        if path == "/docs/broken/":
            return web.Response(status=500, text="oops")
        if path == "/docs/flaky/" and self.requests[path] == 1:
            return web.Response(status=503, text="busy")
        if path == "/files/manual.pdf":
            return web.Response(body=b"%PDF-1.4", content_type="application/pdf")
        if path in ("/docs/intro/", "/docs/slow/", "/docs/flaky/", "/private/notes/"):
            return web.Response(
                text=PAGE.replace("docs/intro", path.strip("/")), content_type="text/html"
            )
        if path == "/docs/deploy/":
            return web.Response(text=DEPLOY, content_type="text/html")
        return web.Response(status=404, text="not found")


def _ingest(site: LoopbackSite, index: Path, *more: str) -> int:
    return main(
        [
            "--sitemap",
            f"{site.url}/sitemap.xml",
            "--local-index",
            str(index),
            "--page-timeout",
            "1",
            "--retries",
            "2",
            "--no-progress",
            *more,
        ]
    )


def _urls(index: Path) -> set[str]:
    retriever = LocalRetriever.open(index)
    try:
        return {row[0] for row in retriever._db.execute("SELECT url FROM passages")}
    finally:
        retriever._db.close()


@contextlib.contextmanager
def _local_target() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AZURE_SEARCH_ENDPOINT", "CHAT_LOCAL_INDEX", "OPENAI_HOST"):
            patch.delenv(name, raising=False)
        yield


@dataclass
class Run:
    status: int
    out: str
    err: str
    requests: dict[str, int]
    url: str
    index: Path


@pytest.fixture(scope="module")
def ingested(tmp_path_factory) -> Run:
    """One ingestion of the loopback site into a local index: its output, what it asked."""
    index = tmp_path_factory.mktemp("sitemap") / "site.sqlite"
    out, err = io.StringIO(), io.StringIO()
    with (
        LoopbackSite() as site,
        _local_target(),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        status = _ingest(site, index)
    return Run(status, out.getvalue(), err.getvalue(), dict(site.requests), site.url, index)


def test_the_pages_of_every_listed_sitemap_are_indexed(ingested):
    assert ingested.status == 0, ingested.err
    assert _urls(ingested.index) >= {
        "https://rocket.example.org/docs/intro",
        "https://rocket.example.org/docs/deploy#build-the-image",
        "https://rocket.example.org/docs/flaky",
    }


def test_a_page_that_fails_once_is_retried(ingested):
    assert ingested.requests["/docs/flaky/"] == 2


def test_failing_and_slow_pages_are_listed_at_the_end_and_the_run_goes_on(ingested):
    lines = ingested.out.splitlines()

    assert ingested.status == 0
    assert lines[-3:] == [
        f"Failed {ingested.url}/docs/broken/: HTTP 500",
        f"Failed {ingested.url}/docs/slow/: no answer within 1 s",
        "2 pages could not be fetched and kept what they had in the index (nothing was pruned); "
        "run again to retry them",
    ]
    assert ingested.requests["/docs/broken/"] == 3  # the first try and two more


def test_a_page_robots_txt_excludes_is_never_fetched(ingested):
    assert "/private/notes/" not in ingested.requests
    assert f"Skipped {ingested.url}/private/notes/: excluded by robots.txt" in ingested.out


def test_a_listed_file_that_is_not_a_page_is_skipped(ingested):
    expected = f"Skipped {ingested.url}/files/manual.pdf: not an HTML page (application/pdf)"

    assert expected in ingested.out


def test_the_fetching_shows_a_progress_bar(tmp_path):
    with LoopbackSite() as site, _local_target(), contextlib.redirect_stderr(io.StringIO()) as err:
        site.slow_seconds = 0
        main(["--sitemap", f"{site.url}/sitemap-docs.xml", "--local-index", str(tmp_path / "i")])

    assert "Fetching" in err.getvalue()


def test_a_page_that_failed_keeps_what_it_had_in_the_index_even_with_prune(tmp_path):
    index = tmp_path / "site.sqlite"
    with LoopbackSite() as site, _local_target(), contextlib.redirect_stdout(io.StringIO()):
        site.slow_seconds = 0
        _ingest(site, index)
        site.slow_seconds = 5.0
        _ingest(site, index, "--prune")

    assert "https://rocket.example.org/docs/slow" in _urls(index)


def test_a_sitemap_that_cannot_be_read_fails_the_run(tmp_path):
    with LoopbackSite() as site, _local_target(), contextlib.redirect_stderr(io.StringIO()) as err:
        status = main(
            [
                "--sitemap",
                f"{site.url}/missing.xml",
                "--local-index",
                str(tmp_path / "x.sqlite"),
                "--no-progress",
                "--retries",
                "0",
            ]
        )

    assert status == 1
    assert "cannot read the sitemap" in err.getvalue()
