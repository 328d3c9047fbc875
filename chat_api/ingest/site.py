"""Built sites: the HTML pages of a folder a site generator wrote (or of a live site's sitemap),
each at the address the site serves it from, cut into sections that link to their anchors."""

from __future__ import annotations

from pathlib import Path

from chat_api.retrieval import Passage
from chat_api.retrieval.documents import DocumentError, source_name
from chat_api.retrieval.html_pages import page_passages, read_page

PAGE_SUFFIXES = frozenset({".html", ".htm"})
INDEX_PAGE = "index.html"


def page_address(path: Path, folder: Path, base_url: str) -> str:
    """Where the site serves the page: the base URL plus its path in the folder, `index.html`
    dropped (`guide/index.html` is `guide/`). Without a base URL, its path from the folder's
    parent, as files are named."""
    relative = path.relative_to(folder).as_posix()
    if relative == INDEX_PAGE or relative.endswith("/" + INDEX_PAGE):
        relative = relative[: -len(INDEX_PAGE)]
    if base_url:
        return f"{base_url.rstrip('/')}/{relative}"
    return f"{folder.resolve().name}/{relative}"


def read_page_file(path: Path) -> str:
    """A page's HTML; DocumentError when it cannot be read."""
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise DocumentError(exc.strerror or "cannot be read") from None


class PageReader:
    """Pages in, passages out: what each page adds to the index, which documents were read
    (their stale chunks may go) and which pages were skipped, with why."""

    def __init__(self) -> None:
        self.passages: list[Passage] = []
        self.read: set[str] = set()
        self.skipped: list[tuple[str, str]] = []
        self.pages = 0

    def add(self, where: str, address: str, html: str) -> None:
        """One page: `where` names it in reports (its file, or its address)."""
        self.pages += 1
        page = read_page(html, address)
        # A page now skipped (noindex, a redirect) loses what it had in the index.
        self.read.add(page.url)
        if page.skip_reason:
            self.skipped.append((where, page.skip_reason))
            return
        passages = page_passages(page)
        if not passages:
            self.skipped.append((where, "no text in its main content"))
        self.passages.extend(passages)

    def add_file(self, path: Path, folder: Path, base_url: str) -> None:
        """A page of a built site's folder (which the site serves under `base_url`)."""
        where = source_name(path, folder)
        try:
            html = read_page_file(path)
        except DocumentError as exc:  # it keeps what it had in the index, as a file does
            self.pages += 1
            self.skipped.append((where, str(exc)))
            return
        self.add(where, page_address(path, folder, base_url), html)
