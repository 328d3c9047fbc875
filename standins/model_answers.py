"""What the stand-in model says, whichever API it is asked through: the default answer, the
canned ones a directive asks for (`#xss`, `#markdown`), the events of a shape no model should
send (`#shape-X`), a reasoning model's thoughts, the search query it writes, and deterministic
embeddings. The directives themselves are listed in `model.py`.
"""

from __future__ import annotations

import hashlib
import math
import re

XSS_ANSWER = (
    "Here is the answer. <script>window.__xss=1</script> "
    '<img src=x onerror="window.__xss=1"> '
    '[click](javascript:window.__xss=1) and <a href="javascript:window.__xss=1">this</a> done.'
)
MARKDOWN_ANSWER = (
    "## Streaming\n\nNDJSON has **three** properties:\n\n- one value per line\n- UTF-8\n"
    "- no framing\n\n```python\nprint('hello')\n```\n\nSee [the spec](https://example.org/ndjson)."
)

# Events of a shape no model should send, each one `data:` payload.
MALFORMED_EVENTS = {
    "null": b"null",
    "string": b'"hello"',
    "choices": b'{"choices": "x"}',
    "choice": b'{"choices": [7]}',
    "delta": b'{"choices": [{"index": 0, "delta": "text"}]}',
    "number": b'{"choices": [{"index": 0, "delta": {"content": 42}}]}',
    "list": b'{"choices": [{"index": 0, "delta": {"content": ["a"]}}]}',
    "finish": b'{"choices": [{"index": 0, "delta": {}, "finish_reason": {"x": 1}}]}',
}


def answer_words(question: str, chunks: int) -> list[str]:
    """The default answer: it names the question, then filler up to `chunks` pieces."""
    head = re.sub(r"#\w+", "", question).split()[:6]
    words = ["Answer", "to:", *head]
    words[-1] += "."
    words += [f"word{i}" for i in range(max(0, chunks - len(words)))]
    return [w if i == 0 else " " + w for i, w in enumerate(words)]


def query_for(question: str) -> str:
    """The search query the stand-in writes for a question."""
    return " ".join(re.findall(r"#?\w+", question.lower()))


def pieces_of(text: str) -> list[str]:
    return re.findall(r"\s*\S+", text)


def thoughts_for(question: str) -> list[str]:
    """A reasoning model's summary: two parts, as the service writes them (a bold heading)."""
    topic = " ".join(re.sub(r"#\w+", "", question).split()[:6]) or "the question"
    return [
        f"**Reading the question**\n\nThe user asks: {topic}. I should answer briefly.",
        "**Planning the answer**\n\nI will state the answer first, then one detail.",
    ]


def seconds(directive: str, question: str) -> float:
    """N from a `#directiveN` in the question; 0 when there is none."""
    found = re.search(rf"#{directive}(\d+(?:\.\d+)?)", question)
    return float(found.group(1)) if found else 0.0


def embed(text: str, dimensions: int = 64) -> list[float]:
    """A deterministic unit vector from the text's words: similar texts get similar vectors."""
    vector = [0.0] * dimensions
    for word in re.findall(r"\w+", text.lower()):
        digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
        vector[int.from_bytes(digest, "little") % dimensions] += 1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]
