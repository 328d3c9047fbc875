"""Reading a folder of Markdown, text and PDF files into passages."""

from __future__ import annotations

import pytest

from chat_api.retrieval.documents import (
    DocumentError,
    find_documents,
    read_passages,
    source_name,
)
from tests.support.pdf import make_pdf


def test_finds_markdown_text_and_pdf_files_in_order_but_not_hidden_ones(tmp_path):
    kb = tmp_path / "kb"
    (kb / "sub").mkdir(parents=True)
    (kb / ".git").mkdir()
    for name in ["b.md", "a.txt", "sub/c.pdf", "d.markdown", "e.png", ".git/f.md", "g.docx"]:
        (kb / name).write_bytes(b"x")

    found = [source_name(p, kb) for p in find_documents(kb)]

    assert found == ["kb/a.txt", "kb/b.md", "kb/d.markdown", "kb/sub/c.pdf"]


def test_a_missing_folder_is_a_document_error(tmp_path):
    with pytest.raises(DocumentError):
        find_documents(tmp_path / "nowhere")


def test_a_pdf_is_read_page_by_page_with_page_anchors(tmp_path):
    path = tmp_path / "manual.pdf"
    path.write_bytes(make_pdf(["Unpack the box.", "Plug it in."], title="Owner's manual"))

    passages = read_passages(path, "kb/manual.pdf")

    assert [(p.title, p.source, p.text) for p in passages] == [
        ("Owner's manual, page 1", "kb/manual.pdf#page=1", "Unpack the box."),
        ("Owner's manual, page 2", "kb/manual.pdf#page=2", "Plug it in."),
    ]


def test_a_pdf_without_a_title_is_titled_by_its_file_name(tmp_path):
    path = tmp_path / "guide.pdf"
    path.write_bytes(make_pdf(["Text."]))

    assert read_passages(path, "kb/guide.pdf")[0].title == "guide, page 1"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("broken.pdf", b"%PDF-1.4 this is not really a PDF", "not a readable PDF"),
        ("empty.pdf", make_pdf([""]), "no text in the PDF"),
        ("latin1.md", "caf\xe9".encode("latin-1"), "not UTF-8"),
        ("binary.txt", b"\x00\x01\x02", "binary"),
    ],
)
def test_an_unreadable_file_is_a_document_error_saying_why(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)

    with pytest.raises(DocumentError, match=reason):
        read_passages(path, f"kb/{name}")


def test_a_text_file_is_titled_by_its_file_name(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("# not markdown here\nJust notes.", encoding="utf-8")

    passages = read_passages(path, "kb/notes.txt")

    assert [(p.title, p.source) for p in passages] == [("notes.txt", "kb/notes.txt")]
