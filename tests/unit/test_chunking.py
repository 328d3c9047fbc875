"""Cutting documents into overlapping chunks on sentence boundaries, with stable ids."""

from __future__ import annotations

import itertools
import re

from chat_api.retrieval.chunking import (
    chunk_text,
    passage_id,
    split_document,
    split_plain_text,
    split_units,
)

SENTENCES = [f"Sentence number {n} says something about topic {n}." for n in range(1, 41)]
TEXT = " ".join(SENTENCES)


def test_sentences_keep_their_punctuation_and_paragraph_breaks():
    units = split_units('He said "stop." Then he left!\n\nA new paragraph?\n- a list item')

    assert units == [
        ("", 'He said "stop."'),
        (" ", "Then he left!"),
        ("\n\n", "A new paragraph?"),
        ("\n", "- a list item"),
    ]


def test_a_short_text_is_one_chunk():
    assert chunk_text("One sentence. Two sentences.") == ["One sentence. Two sentences."]


def test_chunks_stay_under_the_limit_and_end_on_a_sentence_boundary():
    chunks = chunk_text(TEXT, max_chars=300, overlap_chars=80)

    assert len(chunks) > 5
    for chunk in chunks:
        assert len(chunk) <= 300
        assert chunk.startswith("Sentence number ")
        assert chunk.endswith(".")


def test_each_chunk_starts_with_the_last_sentences_of_the_one_before():
    chunks = chunk_text(TEXT, max_chars=300, overlap_chars=80)

    for before, after in itertools.pairwise(chunks):
        first_sentence = re.match(r"[^.]*\.", after).group(0)
        assert before.endswith(first_sentence)
        assert len(first_sentence) <= 80


def test_every_sentence_is_in_some_chunk():
    chunks = chunk_text(TEXT, max_chars=300, overlap_chars=80)

    for sentence in SENTENCES:
        assert any(sentence in chunk for chunk in chunks), sentence


def test_a_sentence_longer_than_a_chunk_is_cut_between_words():
    long_sentence = " ".join(["word"] * 500) + "."

    chunks = chunk_text(long_sentence, max_chars=200, overlap_chars=0)

    assert all(len(c) <= 200 for c in chunks)
    assert " ".join(chunks).split() == long_sentence.split()


def test_markdown_splits_into_titled_sections_linked_by_anchor():
    text = "# Guide\n\nIntro.\n\n## Install it\n\nRun the installer.\n"

    passages = split_document("docs/guide.md", text)

    assert [(p.title, p.source, p.text) for p in passages] == [
        ("Guide", "docs/guide.md#guide", "Intro."),
        ("Guide: Install it", "docs/guide.md#install-it", "Run the installer."),
    ]


def test_a_comment_inside_a_code_block_is_not_a_heading():
    text = "# Guide\n\n## Shell\n\n```sh\n# not a heading\nmake run\n```\n\nDone.\n"

    passages = split_document("docs/guide.md", text)

    assert [p.title for p in passages] == ["Guide: Shell"]
    assert "# not a heading" in passages[0].text


def test_plain_text_has_one_title_for_all_its_chunks():
    passages = split_plain_text("notes/a.txt", "a.txt", TEXT)

    assert len(passages) > 1
    assert {p.title for p in passages} == {"a.txt"}
    assert {p.source for p in passages} == {"notes/a.txt"}


def test_ids_are_stable_and_change_with_the_content():
    first = split_document("docs/a.md", "# A\n\nSame text.")
    again = split_document("docs/a.md", "# A\n\nSame text.")
    changed = split_document("docs/a.md", "# A\n\nOther text.")
    moved = split_document("docs/b.md", "# A\n\nSame text.")

    assert first[0].id == again[0].id
    assert first[0].id != changed[0].id
    assert first[0].id != moved[0].id


def test_ids_use_only_characters_search_keys_allow():
    key = passage_id("docs/ä b.md#x?", "Tïtle", "text ✓")

    assert re.fullmatch(r"[0-9a-f]{40}", key)
