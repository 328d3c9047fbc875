"""One built HTML page (MkDocs Material, Docusaurus, Sphinx, Hugo, ...) as what a site's
visitor reads: its title, its address and the sections of its main content, each with its
heading's anchor. Navigation, headers, footers, sidebars, tables of contents, "edit this page"
links, cookie banners, scripts and styles are dropped; code blocks and tables stay readable.

Parsed with selectolax (the Lexbor HTML5 parser, the way browsers parse): CSS selectors find the
content area each generator writes and the boilerplate around it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from chat_api.retrieval import Passage
from chat_api.retrieval.chunking import chunk_text, passage_id

# The content area, most specific first: the first that matches is the page's content.
CONTENT_SELECTORS = (
    "[itemprop=articleBody]",  # Sphinx, Read the Docs theme
    ".theme-doc-markdown",  # Docusaurus
    "article.md-content__inner",  # MkDocs Material
    "#body-inner",  # Hugo, Learn and Relearn themes
    "main article",
    "article",
    "[role=main]",
    "main",
    "body",
)
# What surrounds the content in every generator, and what never reads as text.
BOILERPLATE = ", ".join(
    (
        "script, style, noscript, template, svg, button, form, iframe, select, input",
        "nav, aside, footer, [role=navigation], [role=banner], [role=contentinfo]",
        "[role=complementary], [role=search], [hidden]",
        ".headerlink, .hash-link, a.anchor, .toc, #toc, #TableOfContents, .table-of-contents",
        ".breadcrumbs, .wy-breadcrumbs, .theme-doc-breadcrumbs, .md-source-file",
        ".md-content__button, .theme-edit-this-page, .edit-page, .edit-this-page",
        ".md-consent, [id*=cookie], [class*=cookie], [id*=consent], [class*=consent]",
        ".pagination-nav, .rst-footer-buttons, .sr-only, .visually-hidden",
    )
)
_EDIT_LINK = re.compile(r"^\s*(edit this page|edit on \w+|improve this page)", re.IGNORECASE)
_NOT_FOUND_TITLE = re.compile(r"^\s*(404\b|page not found|not found)", re.IGNORECASE)
HEADING_LEVELS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
# Headings at or above this level start a section; deeper ones stay in their section's text.
SECTION_LEVEL = 4
BLOCK_TAGS = frozenset(
    """p div section article main header ul ol li dl dt dd blockquote figure figcaption details
    summary pre table hr address center""".split()  # noqa: SIM905 - a word list reads best as words
) | frozenset(HEADING_LEVELS)
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Section:
    heading: str  # "" for the text before the first heading
    anchor: str  # the heading's id ("" when it has none)
    text: str


@dataclass(frozen=True, slots=True)
class Page:
    url: str
    title: str
    sections: list[Section] = field(default_factory=list)
    # Why the page is not indexed (noindex, a redirect, a not-found page); "" when it is.
    skip_reason: str = ""


@dataclass(frozen=True, slots=True)
class _Heading:
    level: int
    text: str
    anchor: str


def read_page(html: str, url: str) -> Page:
    """The page at `url` (its address when it names no canonical one), or a Page with the
    reason it is not to be indexed."""
    tree = LexborHTMLParser(html)
    title = _text(tree.css_first("title"))
    reason = _skip_reason(tree, url, title)
    if reason:  # a redirect's canonical link names its target: the page keeps its own address
        return Page(url, title, skip_reason=reason)
    url = _canonical(tree, url)
    content = next((n for s in CONTENT_SELECTORS if (n := tree.css_first(s)) is not None), None)
    if content is None:
        return Page(url, title, skip_reason="no content")
    _drop_boilerplate(content)
    blocks: list[str | _Heading] = []
    _collect(content, blocks)
    first_h1 = next((b for b in blocks if isinstance(b, _Heading) and b.level == 1), None)
    title = first_h1.text if first_h1 is not None else title or url
    return Page(url, title, _sections(blocks))


def page_passages(page: Page) -> list[Passage]:
    """The page's sections cut into chunks, each linked to its section: `url#anchor`."""
    passages: list[Passage] = []
    for section in page.sections:
        link = f"{page.url}#{section.anchor}" if section.anchor else page.url
        heading = section.heading
        title = page.title if not heading or heading == page.title else f"{page.title}: {heading}"
        for chunk in chunk_text(section.text):
            passages.append(
                Passage(
                    id=passage_id(link, title, chunk, link),
                    title=title,
                    source=link,
                    text=chunk,
                    url=link,
                )
            )
    return passages


def _canonical(tree: LexborHTMLParser, url: str) -> str:
    link = tree.css_first("link[rel~=canonical]")
    href = (link.attributes.get("href") or "").strip() if link is not None else ""
    return urljoin(url, href).split("#", 1)[0] if href else url


def _skip_reason(tree: LexborHTMLParser, url: str, title: str) -> str:
    for meta in tree.css("meta"):
        attributes = meta.attributes
        name = (attributes.get("name") or "").lower()
        content = (attributes.get("content") or "").lower()
        if name in ("robots", "googlebot") and "noindex" in content:
            return "marked noindex"
        if (attributes.get("http-equiv") or "").lower() == "refresh" and "url=" in content:
            return "a redirect (meta refresh)"
    path = urlsplit(url).path
    if path.rsplit("/", 1)[-1] in ("404.html", "404") or _NOT_FOUND_TITLE.match(title):
        return "a not-found page"
    return ""


def _drop_boilerplate(content: LexborNode) -> None:
    # Innermost first (reversed document order): no node is removed after its ancestor was.
    for node in reversed(content.css(BOILERPLATE)):
        node.decompose()
    for header in reversed(content.css("header")):
        # A page's own header holds its h1 (Docusaurus); a site's header holds none.
        if header.css_first(", ".join(HEADING_LEVELS)) is None:
            header.decompose()
    for link in reversed(content.css("a")):
        if _EDIT_LINK.match(link.text()):
            link.decompose()


def _collect(node: LexborNode, out: list[str | _Heading]) -> None:
    """The node's content as blocks in reading order: headings, and paragraphs of text."""
    inline: list[str] = []
    for child in node.iter(include_text=True):
        tag = child.tag or ""
        if child.is_text_node:
            inline.append(child.text_content or "")
        elif tag == "br":
            inline.append("\n")
        elif tag not in BLOCK_TAGS:
            inline.append(child.text())
            continue
        else:
            _flush(inline, out)
            _collect_block(child, tag, out)
    _flush(inline, out)


def _collect_block(node: LexborNode, tag: str, out: list[str | _Heading]) -> None:
    if tag in HEADING_LEVELS:
        out.append(_Heading(HEADING_LEVELS[tag], _text(node).rstrip("¶#§ "), _anchor(node)))
    elif tag == "pre":
        out.append(_code_block(node))
    elif tag == "table":
        out.append(_table(node))
    elif tag in ("ul", "ol"):
        for number, item in enumerate(node.css("li"), start=1):
            if item.parent is not None and item.parent.mem_id == node.mem_id:
                _collect_item(item, f"{number}. " if tag == "ol" else "- ", out)
    else:
        _collect(node, out)


def _collect_item(item: LexborNode, marker: str, out: list[str | _Heading]) -> None:
    inner: list[str | _Heading] = []
    _collect(item, inner)
    for index, block in enumerate(inner):
        out.append(marker + block if index == 0 and isinstance(block, str) else block)


def _flush(inline: list[str], out: list[str | _Heading]) -> None:
    text = " ".join(" ".join(line.split()) for line in "".join(inline).split("\n")).strip()
    if text:
        out.append(text)
    inline.clear()


def _code_block(pre: LexborNode) -> str:
    code = pre.css_first("code")
    classes = " ".join(n.attributes.get("class") or "" for n in (pre, code) if n is not None)
    language = next(
        (
            name.removeprefix("language-")
            for name in classes.split()
            if name.startswith("language-")
        ),
        "",
    )
    # Some highlighters end each line with <br> rather than a newline (Docusaurus).
    lines = "".join(
        "\n" if n.tag == "br" else (n.text_content or "") if n.is_text_node else ""
        for n in pre.traverse(include_text=True)
    )
    return f"```{language}\n{lines.strip(chr(10))}\n```"


def _table(table: LexborNode) -> str:
    rows = [
        [_text(cell).replace("|", "\\|") for cell in row.css("th, td")] for row in table.css("tr")
    ]
    lines = ["| " + " | ".join(cells) + " |" for cells in rows if cells]
    if len(lines) > 1 and table.css_first("th") is not None:
        lines.insert(1, "|" + " --- |" * len(rows[0]))
    return "\n".join(lines)


def _anchor(heading: LexborNode) -> str:
    """The heading's id; else a named link inside it; else the id of the section it heads
    (Sphinx puts the id on the enclosing <section>)."""
    if heading.id:
        return heading.id
    named = heading.css_first("a[id], a[name]")
    if named is not None:
        return named.attributes.get("id") or named.attributes.get("name") or ""
    parent = heading.parent
    while parent is not None and parent.tag in ("section", "div"):
        first = parent.css_first(", ".join(HEADING_LEVELS))
        if first is None or first.mem_id != heading.mem_id:
            break
        if parent.id:
            return parent.id
        parent = parent.parent
    return ""


def _sections(blocks: list[str | _Heading]) -> list[Section]:
    sections: list[Section] = []
    heading, anchor = "", ""
    parts: list[str] = []
    for block in blocks:
        if isinstance(block, _Heading) and block.level <= SECTION_LEVEL:
            if parts:
                sections.append(Section(heading, anchor, "\n\n".join(parts)))
            # A page's title links to the page itself, each section below it to its anchor.
            heading, anchor, parts = block.text, block.anchor if block.level > 1 else "", []
        elif isinstance(block, _Heading):
            parts.append(block.text)
        else:
            parts.append(block)
    if parts:
        sections.append(Section(heading, anchor, "\n\n".join(parts)))
    return sections


def _text(node: LexborNode | None) -> str:
    return _SPACES.sub(" ", node.text()).strip() if node is not None else ""
