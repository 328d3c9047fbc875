"""A live site's pages, by its sitemap (sitemap indexes followed): fetched a few at a time with
aiohttp, each within a timeout and retried with backoff when the site is busy or the network
fails, never a page its robots.txt excludes. A page that cannot be fetched is listed with the
reason; the run goes on without it.
"""

from __future__ import annotations

import asyncio
import gzip
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import aiohttp
from selectolax.lexbor import LexborHTMLParser, LexborNode
from tqdm import tqdm

USER_AGENT = "chat-api-ingest"
CONCURRENCY = 4
PAGE_TIMEOUT_SECONDS = 30.0
RETRIES = 3
BACKOFF_SECONDS = 1.0
# A sitemap index may list sitemaps that are indexes themselves; no deeper than this.
MAX_SITEMAP_DEPTH = 3
RETRIED_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
_GZIP_MAGIC = b"\x1f\x8b"


class SitemapError(Exception):
    """The sitemap itself cannot be read: the run cannot start."""


class FetchFailed(Exception):
    """One page could not be fetched; says why, for people."""

    def __init__(self, reason: str, *, retry: bool = False) -> None:
        super().__init__(reason)
        self.retry = retry


@dataclass
class FetchedSite:
    pages: list[tuple[str, str]] = field(default_factory=list)  # (address, html)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (address, why)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # robots.txt, not HTML, noindex


@dataclass(frozen=True, slots=True)
class FetchOptions:
    concurrency: int = CONCURRENCY
    timeout_seconds: float = PAGE_TIMEOUT_SECONDS
    retries: int = RETRIES
    backoff_seconds: float = BACKOFF_SECONDS
    progress: bool = True


async def fetch_site(sitemap_url: str, options: FetchOptions = FetchOptions()) -> FetchedSite:
    """Every page the sitemap lists that robots.txt allows, as HTML."""
    timeout = aiohttp.ClientTimeout(total=options.timeout_seconds)
    headers = {"User-Agent": USER_AGENT}
    async with aiohttp.ClientSession(timeout=timeout, headers=headers) as session:
        fetch = _Fetcher(session, options)
        site = FetchedSite()
        addresses = []
        for address in await fetch.sitemap(sitemap_url):
            if (await fetch.robots(address)).can_fetch(USER_AGENT, address):
                addresses.append(address)
            else:
                site.skipped.append((address, "excluded by robots.txt"))
        await fetch.pages(addresses, site)
    return site


class _Fetcher:
    def __init__(self, session: aiohttp.ClientSession, options: FetchOptions) -> None:
        self.session = session
        self.options = options
        self._robots: dict[str, RobotFileParser] = {}

    async def robots(self, address: str) -> RobotFileParser:
        """The rules of the robots.txt of the address's host (read once per host); none,
        everything allowed, when it has none."""
        parts = urlsplit(address)
        host = f"{parts.scheme}://{parts.netloc}"
        if host not in self._robots:
            parser = RobotFileParser()
            try:
                text, _, _ = await self.get(f"{host}/robots.txt")
            except FetchFailed:
                text = ""
            parser.parse(text.splitlines())
            self._robots[host] = parser
        return self._robots[host]

    async def sitemap(self, url: str, depth: int = 0) -> list[str]:
        """The page addresses a sitemap lists, in its order, those of nested sitemaps included."""
        try:
            text, _, _ = await self.get(url)
        except FetchFailed as exc:
            raise SitemapError(f"cannot read the sitemap {url}: {exc}") from None
        tree = LexborHTMLParser(text)
        nested = [_text(loc) for loc in tree.css("sitemap > loc")]
        if nested and depth < MAX_SITEMAP_DEPTH:
            found: list[str] = []
            for address in nested:
                found.extend(await self.sitemap(urljoin(url, address), depth + 1))
            return list(dict.fromkeys(found))
        return list(dict.fromkeys(urljoin(url, _text(loc)) for loc in tree.css("url > loc")))

    async def pages(self, addresses: list[str], site: FetchedSite) -> None:
        limit = asyncio.Semaphore(max(1, self.options.concurrency))
        bar = tqdm(
            total=len(addresses), desc="Fetching", unit="page", disable=not self.options.progress
        )

        async def one(address: str) -> None:
            async with limit:
                try:
                    text, content_type, noindex = await self.get(address)
                except FetchFailed as exc:
                    site.failed.append((address, str(exc)))
                else:
                    if "html" not in content_type:
                        site.skipped.append((address, f"not an HTML page ({content_type})"))
                    elif noindex:
                        site.skipped.append((address, "marked noindex (X-Robots-Tag)"))
                    else:
                        site.pages.append((address, text))
                bar.update(1)

        with bar:
            await asyncio.gather(*(one(address) for address in addresses))

    async def get(self, url: str) -> tuple[str, str, bool]:
        """The body as text, its media type and whether an X-Robots-Tag says noindex; retried
        with backoff while the failure may pass."""
        return await with_retries(
            lambda: self._get_once(url), self.options.retries, self.options.backoff_seconds
        )

    async def _get_once(self, url: str) -> tuple[str, str, bool]:
        try:
            async with self.session.get(url) as response:
                if response.status != 200:
                    raise FetchFailed(
                        f"HTTP {response.status}", retry=response.status in RETRIED_STATUSES
                    )
                body = await response.read()
                media = response.content_type
                noindex = "noindex" in response.headers.get("X-Robots-Tag", "").lower()
        except TimeoutError:
            raise FetchFailed(
                f"no answer within {self.options.timeout_seconds:g} s", retry=True
            ) from None
        except aiohttp.ClientError as exc:
            raise FetchFailed(f"{type(exc).__name__}", retry=True) from None
        if body.startswith(_GZIP_MAGIC):  # a sitemap.xml.gz served as a file
            body = gzip.decompress(body)
        return body.decode("utf-8", errors="replace"), media, noindex


async def with_retries(
    attempt: Callable[[], Awaitable[tuple[str, str, bool]]], retries: int, backoff: float
) -> tuple[str, str, bool]:
    """`attempt` until it succeeds, or fails for good, or `retries` more tries failed; waiting
    twice as long after each failure (with jitter, so pages retried together spread out)."""
    tries = 0
    while True:
        try:
            return await attempt()
        except FetchFailed as exc:
            if not exc.retry or tries >= retries:
                raise
        await asyncio.sleep(backoff * 2**tries * random.uniform(0.5, 1.0))
        tries += 1


def _text(node: LexborNode) -> str:
    return node.text().strip()
