from __future__ import annotations

from chat_api.retrieval import Passage, page_address
from chat_api.retrieval.local import (
    DEFAULT_KNOWLEDGE_BASE,
    HeadingIndex,
    LocalRetriever,
    keywords,
    match_expression,
    split_document,
)

DOC = """# Configuration

Intro text.

## Azure OpenAI

Set AZURE_OPENAI_ENDPOINT to use Azure OpenAI without keys.

## Streaming

Set CHAT_STREAMING to false behind proxies that buffer.
"""


def test_keywords_drop_stopwords_and_repeats():
    assert keywords("How do I set the the streaming flag?") == ["set", "streaming", "flag"]


def test_modal_verbs_and_reflexive_pronouns_are_not_keywords():
    assert keywords("Should I build it myself, or must someone else?") == ["build"]


def test_what_a_contraction_leaves_of_its_verb_is_not_a_keyword():
    assert keywords("Why doesn't streaming work? Don't proxies buffer?") == [
        "streaming",
        "work",
        "proxies",
        "buffer",
    ]


async def test_a_rare_function_word_in_the_question_does_not_make_a_passage_irrelevant():
    # "should" is in no passage: as a keyword it would weigh as the rarest word of all.
    retriever = LocalRetriever([("docs/configuration.md", DOC)], min_match=0.7)

    found = await retriever.search("Should proxies buffer streaming?", top=1)

    assert found[0].title == "Configuration: Streaming"
    assert found[0].relevant is True


def test_user_text_never_becomes_query_syntax():
    assert match_expression('NEAR(quick) OR "fox" * -jumps') == (
        '"near" OR "quick" OR "fox" OR "jumps" OR NEAR("near" "quick", 8) '
        'OR NEAR("near" "fox", 8) OR NEAR("near" "jumps", 8) OR NEAR("quick" "fox", 8) '
        'OR NEAR("quick" "jumps", 8) OR NEAR("fox" "jumps", 8)'
    )


async def test_search_survives_text_full_of_query_operators():
    retriever = LocalRetriever([("docs/configuration.md", DOC)])

    found = await retriever.search('streaming" OR NEAR( * -"proxies', top=3)

    assert found[0].title == "Configuration: Streaming"


def test_documents_split_into_titled_sections_with_anchors():
    passages = split_document("docs/configuration.md", DOC)

    assert [p.title for p in passages] == [
        "Configuration",
        "Configuration: Azure OpenAI",
        "Configuration: Streaming",
    ]
    assert passages[1].source == "docs/configuration.md#azure-openai"
    assert passages[1].text.startswith("Set AZURE_OPENAI_ENDPOINT")


async def test_search_ranks_the_matching_section_first():
    retriever = LocalRetriever([("docs/configuration.md", DOC)])

    found = await retriever.search("turn streaming off behind a proxy", top=2)

    assert found[0].title == "Configuration: Streaming"


async def test_search_finds_nothing_for_unrelated_words():
    retriever = LocalRetriever([("docs/configuration.md", DOC)])

    assert await retriever.search("giraffe", top=3) == []
    assert await retriever.search("???", top=3) == []


async def test_the_bundled_documentation_answers_how_to_configure_azure_openai():
    retriever = LocalRetriever.from_folder(DEFAULT_KNOWLEDGE_BASE)

    found = await retriever.search("configure Azure OpenAI endpoint", top=3)

    assert retriever.size > 10
    assert any("AZURE_OPENAI_ENDPOINT" in p.text for p in found)


def _site() -> LocalRetriever:
    retriever = LocalRetriever()
    retriever.add(
        [
            Passage(
                "1",
                "Deploy: Azure",
                "site/deploy#azure",
                "Deploy to Azure with azd up, then deploy again to update the deployment.",
                url="https://docs.example.com/deploy/#azure",
            ),
            Passage(
                "2",
                "Guide: Deploy",
                "site/guide#deploy",
                "You can deploy it.",
                url="https://docs.example.com/guide/#deploy",
            ),
            Passage(
                "3",
                "Guide: Cost",
                "site/guide#cost",
                "It costs little.",
                url="https://docs.example.com/guide/#cost",
            ),
        ]
    )
    retriever.commit()
    return retriever


async def test_the_visitors_page_comes_first_when_it_matches():
    found = await _site().search("deploy", top=2, page="https://docs.example.com/guide/index.html")

    assert [passage.id for passage in found] == ["2", "1"]


async def test_a_page_without_a_match_changes_nothing():
    found = await _site().search("deploy azure", top=3, page="https://docs.example.com/other/")

    assert [passage.id for passage in found] == ["1", "2"]


def test_page_addresses_compare_without_fragment_query_case_or_index():
    assert page_address("https://Docs.Example.com/guide/index.html?x=1#top") == page_address(
        "https://docs.example.com/guide"
    )
    assert page_address("docs/guide.md") == ""


async def test_a_passage_holding_the_question_s_keywords_is_relevant():
    retriever = LocalRetriever([("docs/configuration.md", DOC)])

    found = await retriever.search("streaming behind proxies", top=1)

    assert found[0].relevant is True


async def test_a_passage_missing_the_question_s_rarest_word_is_not_relevant():
    retriever = LocalRetriever([("docs/configuration.md", DOC)])

    found = await retriever.search("giraffe streaming", top=1)

    assert found[0].title == "Configuration: Streaming"
    assert found[0].relevant is False


async def test_the_share_of_keywords_needed_is_configurable():
    retriever = LocalRetriever([("docs/configuration.md", DOC)], min_match=0.1)

    found = await retriever.search("giraffe streaming", top=1)

    assert found[0].relevant is True


async def test_a_long_section_comes_back_once_as_its_best_chunk():
    long_section = "# Guide\n\n## Streaming\n\n" + "Streaming sends lines as they come. " * 120
    retriever = LocalRetriever([("docs/guide.md", long_section), ("docs/configuration.md", DOC)])

    found = await retriever.search("streaming", top=3)

    assert [p.source for p in found] == [
        "docs/guide.md#streaming",
        "docs/configuration.md#streaming",
    ]


def test_only_a_passage_s_own_heading_counts_not_its_document_s_title():
    headings = HeadingIndex()

    scores = headings.scores(
        match_expression("which metrics"),
        {
            1: "Observability: traces, metrics and logs: Metrics",
            2: "Observability: traces, metrics and logs: Sampling",
        },
    )

    assert list(scores) == [1]
    assert scores[1] > 0


async def test_keywords_found_close_together_rank_above_keywords_far_apart():
    near = "# Near\n\nEach request has a body, checked as JSON.\n"
    apart = (
        "# Apart\n\nA request is logged with its time, route, status, size and duration. "
        "Another request and another request follow, each logged; the body of the page shows "
        "them. The body.\n"
    )
    retriever = LocalRetriever([("docs/apart.md", apart), ("docs/near.md", near)])

    found = await retriever.search("request body", top=2)

    assert found[0].source == "docs/near.md#near"


async def test_keywords_apart_in_the_question_still_count_as_a_pair_found_together():
    # "request" and "body" are not neighbours in the question; one passage has them side by
    # side, the other has "request" twice but "body" far away.
    filler = "Logs are kept for a week and rotated daily by the host. "
    together = "# Together\n\nEach request has a body. " + filler * 2 + "Answers are JSON.\n"
    apart = (
        "# Apart\n\nA request is logged, and a request is timed. "
        + filler
        + "The body is sent. "
        + filler
        + "Answers are JSON.\n"
    )
    retriever = LocalRetriever(
        [("docs/apart.md", apart), ("docs/together.md", together), ("docs/configuration.md", DOC)]
    )

    found = await retriever.search("request JSON body", top=2)

    assert found[0].source == "docs/together.md#together"
