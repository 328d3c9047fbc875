"""Cutting documents into passages: Markdown by heading into titled sections, and each section
into overlapping chunks that end on sentence boundaries. The local index and the Azure AI Search
index are built from the same passages, with the same stable ids."""

from __future__ import annotations

import hashlib
import re

from chat_api.retrieval import Passage

MAX_CHUNK_CHARS = 1500
OVERLAP_CHARS = 250

_HEADING = re.compile(r"^(#{1,3})\s+(.+?)\s*#*\s*$", re.MULTILINE)
_FENCE = re.compile(r"^\s*(```|~~~)", re.MULTILINE)
# Where a chunk may end: a blank line (kept as a paragraph break), a line that starts a list
# item, quote, table row, heading or code fence, or the space after a sentence's end.
_BOUNDARY = re.compile(
    r"(\n[ \t]*\n\s*"
    r"|\n(?=[ \t]*(?:[-*+>|]\s|\d+[.)]\s|#{1,6}\s|```|~~~))"
    r"|(?<=[.!?\u3002\uff01\uff1f])[ \t\n]+"
    r"|(?<=[.!?][\"'\u201d\u2019)\]])[ \t\n]+)"
)


def passage_id(source: str, title: str, text: str, url: str = "") -> str:
    """A stable id from where a chunk comes from and what it says: the same chunk always gets
    the same id, a changed chunk a new one. Letters and digits only, as search keys need."""
    key = f"{source}\n{title}\n{text}" + (f"\n{url}" if url else "")
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:40]


def make_passage(source: str, title: str, text: str) -> Passage:
    return Passage(id=passage_id(source, title, text), title=title, source=source, text=text)


def split_units(text: str, limit: int = MAX_CHUNK_CHARS) -> list[tuple[str, str]]:
    """The text as (separator before, sentence) pairs; joining them gives the text back with
    its whitespace normalised. Sentences longer than a chunk are cut between words."""
    parts = _BOUNDARY.split(text.strip())
    units: list[tuple[str, str]] = []
    separator = ""
    for index, part in enumerate(parts):
        if index % 2:  # a captured boundary
            separator = _normalise(part)
            continue
        piece = part.strip()
        if not piece:
            continue
        for cut in _cut_long(piece, limit):
            units.append((separator if units else "", cut))
            separator = " "
    return units


def _normalise(boundary: str) -> str:
    newlines = boundary.count("\n")
    return "\n\n" if newlines >= 2 else "\n" if newlines else " "


def _cut_long(sentence: str, limit: int) -> list[str]:
    if len(sentence) <= limit:
        return [sentence]
    pieces: list[str] = []
    current = ""
    for word in sentence.split(" "):
        while len(word) > limit:  # one unbroken run of characters (a URL, a hash)
            if current:
                pieces.append(current)
                current = ""
            pieces.append(word[:limit])
            word = word[limit:]
        if current and len(current) + 1 + len(word) > limit:
            pieces.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        pieces.append(current)
    return pieces


def chunk_text(
    text: str, *, max_chars: int = MAX_CHUNK_CHARS, overlap_chars: int = OVERLAP_CHARS
) -> list[str]:
    """Overlapping chunks of at most `max_chars`, each ending on a sentence boundary; each chunk
    after the first starts with the last sentences (up to `overlap_chars`) of the one before."""
    units = split_units(text, max_chars)
    chunks: list[str] = []
    current: list[tuple[str, str]] = []
    for unit in units:
        if current and _size([*current, unit]) > max_chars:
            chunks.append(_join(current))
            current = _overlap(current, overlap_chars)
            while current and _size([*current, unit]) > max_chars:
                current.pop(0)
        current.append(unit)
    if current:
        chunks.append(_join(current))
    return chunks


def _overlap(units: list[tuple[str, str]], limit: int) -> list[tuple[str, str]]:
    tail: list[tuple[str, str]] = []
    for unit in reversed(units[1:]):  # never the whole chunk again
        if _size([unit, *tail]) > limit:
            break
        tail.insert(0, unit)
    return tail


def _size(units: list[tuple[str, str]]) -> int:
    return len(_join(units))


def _join(units: list[tuple[str, str]]) -> str:
    return "".join(
        text if index == 0 else separator + text for index, (separator, text) in enumerate(units)
    )


def split_document(source: str, text: str) -> list[Passage]:
    """Markdown into titled sections by heading (levels 1 to 3, never inside code blocks),
    each section into overlapping chunks. A passage's source links to its section."""
    doc_title = source
    headings = [m for m in _HEADING.finditer(text) if not _inside_fence(text, m.start())]
    if headings and len(headings[0].group(1)) == 1:
        doc_title = headings[0].group(2)
    starts = [m.start() for m in headings]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    passages: list[Passage] = []
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else len(text)
        section = text[start:end].strip()
        if not section:
            continue
        heading = _HEADING.match(section)
        title = heading.group(2) if heading else doc_title
        body = section[heading.end() :].strip() if heading else section
        if not body:
            continue
        full_title = title if title == doc_title else f"{doc_title}: {title}"
        anchor = f"{source}#{_anchor(title)}"
        passages.extend(make_passage(anchor, full_title, chunk) for chunk in chunk_text(body))
    return passages


def split_plain_text(source: str, title: str, text: str) -> list[Passage]:
    """A document without structure (plain text, a PDF page): overlapping chunks only."""
    return [make_passage(source, title, chunk) for chunk in chunk_text(text)]


def _inside_fence(text: str, position: int) -> bool:
    return len(_FENCE.findall(text, 0, position)) % 2 == 1


def _anchor(title: str) -> str:
    return re.sub(r"[^\w\- ]", "", title.lower()).strip().replace(" ", "-")
