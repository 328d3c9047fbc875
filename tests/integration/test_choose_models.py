"""The model chooser's selection (scripts/choose_models), in process, against a stand-in of the
Azure management API's model list on loopback (HTTPS, pages, bearer token) and a static token:
how it reads the list, then which chat and embedding models it takes and why it stops. No
request leaves the machine."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError

from scripts.choose_models.asks import CHAT, EMBEDDINGS, Ask
from scripts.choose_models.management import Subscription
from scripts.choose_models.selection import NoFit, choose
from standins.management import StandInManagement, model_entry
from tests.integration.azd_hook import StaticToken
from tests.integration.conftest import (
    LATER,
    NOW,
    PAST,
    REGION,
    SOON,
    SUBSCRIPTION,
    TOKEN,
    embedding,
    late_2026_region,
)


def offers(management: StandInManagement, region: str = REGION) -> list:
    with Subscription(StaticToken(), SUBSCRIPTION, resource_manager=management.base_url) as azure:
        return azure.offers(region)


def pick(management: StandInManagement, purpose=CHAT, sku="GlobalStandard", **asked):
    """The choice for `purpose` from what the stand-in offers in REGION, asking 30 by default."""
    ask = Ask(sku=sku, capacity=asked.pop("capacity", 30), **asked)
    return choose(offers(management), purpose, ask, location=REGION, now=NOW)


# --- Reading the list ----------------------------------------------------------------------


def test_reads_every_page_with_the_bearer_token_and_an_api_version(management):
    management.offer(REGION, *late_2026_region())
    found = offers(management)
    assert len(found) == len(late_2026_region())
    assert len(management.requests) == 4  # 10 items, 3 a page
    for request in management.requests:
        assert request["authorization"] == f"Bearer {TOKEN}"
        assert request["query"]["api-version"]
        assert f"/locations/{REGION}/models" in request["path"]


def test_a_model_listed_under_both_account_kinds_counts_once(management):
    management.offer(
        REGION,
        model_entry("gpt-5-mini", "2025-08-07", kind="OpenAI", lifecycle="Deprecating"),
        model_entry("gpt-5-mini", "2025-08-07", retires=LATER),
    )
    [offer] = offers(management)
    assert offer.lifecycle == "GenerallyAvailable"
    assert offer.skus == {"GlobalStandard": None, "Standard": None}
    assert offer.retires is not None
    assert offer.retires.date() == LATER.date()


def test_a_refused_token_is_an_error_not_an_empty_list(management):
    management.token = "another-token"
    management.offer(REGION, *late_2026_region())
    with pytest.raises(HttpResponseError) as caught:
        offers(management)
    assert caught.value.status_code == 401


# --- Chat ------------------------------------------------------------------------------------


def test_chat_takes_the_small_reasoning_model_a_new_customer_can_deploy(management):
    management.offer(REGION, *late_2026_region())
    choice = pick(management)
    # Not the retired gpt-4.1-mini, the closed gpt-5.4-mini or the preview gpt-5.6-mini.
    assert choice.offer.name == "gpt-5-mini"
    assert choice.version is None, "the default version needs no pin"
    assert "AZURE_OPENAI_CHAT_MODEL is not set" in choice.reason
    assert REGION in choice.reason


def test_chat_prefers_the_newest_generation_of_small_models(management):
    management.offer(
        REGION,
        model_entry("gpt-5-mini", "2025-08-07", retires=LATER),
        model_entry("gpt-5.10-mini", "2027-01-01", retires=LATER),
        model_entry("gpt-5.4-mini", "2026-03-17", retires=LATER),
        model_entry("gpt-6", "2027-02-01", retires=LATER),
    )
    assert pick(management).offer.name == "gpt-5.10-mini"


def test_chat_needs_the_responses_api(management):
    management.offer(
        REGION,
        model_entry("gpt-5-mini", "2025-08-07", capabilities=("chatCompletion",)),
        model_entry("o4-mini", "2025-04-16", retires=LATER),
    )
    assert pick(management).offer.name == "o4-mini"


def test_chat_needs_the_deployment_sku_still_on_offer(management):
    management.offer(
        REGION,
        model_entry("gpt-5-mini", "2025-08-07", skus={"GlobalStandard": PAST}),
        model_entry("gpt-5-nano", "2025-08-07", skus={"Standard": None}),
        model_entry("gpt-5.5", "2026-04-24", skus={"GlobalStandard": LATER}),
    )
    assert pick(management).offer.name == "gpt-5.5"


def test_a_newer_version_is_pinned_when_the_default_version_is_closed(management):
    management.offer(
        REGION,
        model_entry("gpt-5-mini", "2025-08-07", lifecycle="Deprecating", default=True),
        model_entry("gpt-5-mini", "2026-02-01", default=False, retires=LATER),
    )
    choice = pick(management)
    assert (choice.offer.name, choice.version) == ("gpt-5-mini", "2026-02-01")


def test_every_candidate_closed_to_new_customers_stops_with_what_the_region_offers(management):
    management.offer(
        REGION,
        model_entry("gpt-5.4-mini", "2026-03-17", lifecycle="Deprecating", retires=SOON),
        model_entry("gpt-5.5", "2026-04-24", lifecycle="Deprecating", retires=SOON),
        model_entry("gpt-4.1-mini", "2025-04-14", lifecycle="Deprecated", retires=PAST),
        embedding(retires=LATER),
    )
    with pytest.raises(NoFit) as caught:
        pick(management)
    message = str(caught.value)
    assert "No chat model fits" in message
    assert "gpt-5.4-mini 2026-03-17: closed to new customers" in message
    assert "gpt-5.5 2026-04-24: closed to new customers" in message
    assert "gpt-4.1-mini 2025-04-14: retired" in message
    assert "text-embedding-3-small" not in message, "only models that could serve chat"
    assert "azd env set AZURE_OPENAI_LOCATION" in message
    assert "azd env set AZURE_OPENAI_CHAT_MODEL" in message


def test_a_region_without_any_chat_model_says_so(management):
    management.offer(REGION, embedding(retires=LATER))
    with pytest.raises(NoFit, match="no model that serves the Responses API"):
        pick(management)


def test_a_chosen_model_that_fits_is_kept_as_set(management):
    management.offer(REGION, *late_2026_region())
    choice = pick(management, wanted="gpt-5.5", wanted_version="2026-04-24")
    assert (choice.offer.name, choice.offer.version, choice.version) == (
        "gpt-5.5",
        "2026-04-24",
        None,
    )
    assert "AZURE_OPENAI_CHAT_MODEL is set" in choice.reason


def test_a_chosen_model_that_is_retired_stops_with_the_reason(management):
    management.offer(REGION, *late_2026_region())
    with pytest.raises(NoFit) as caught:
        pick(management, wanted="gpt-4.1-mini", wanted_version="2025-04-14")
    message = str(caught.value)
    assert message.startswith("AZURE_OPENAI_CHAT_MODEL=gpt-4.1-mini")
    assert "retired" in message
    assert "gpt-5-mini 2025-08-07: fits" in message


def test_a_chosen_model_is_checked_at_the_version_azure_would_assign(management):
    management.offer(
        REGION,
        model_entry("gpt-5.4-mini", "2026-03-17", lifecycle="Deprecating", default=True),
        model_entry("gpt-5.4-mini", "2026-01-10", default=False, retires=LATER),
    )
    with pytest.raises(NoFit, match="version 2026-03-17 cannot be deployed: closed"):
        pick(management, wanted="gpt-5.4-mini")


def test_a_chosen_model_the_region_lacks_stops(management):
    management.offer(REGION, *late_2026_region())
    with pytest.raises(NoFit, match="gpt-9-mini: not offered"):
        pick(management, wanted="gpt-9-mini")


def test_a_chosen_version_the_region_lacks_stops_with_the_versions_it_has(management):
    management.offer(REGION, *late_2026_region())
    with pytest.raises(NoFit, match=r"version not offered \(offered: 2025-08-07\)"):
        pick(management, wanted="gpt-5-mini", wanted_version="2024-01-01")


# --- Embeddings -------------------------------------------------------------------------------


def test_embeddings_take_the_small_model_as_global_standard(management):
    management.offer(REGION, *late_2026_region())
    choice = pick(management, EMBEDDINGS)
    assert (choice.offer.name, choice.version) == ("text-embedding-3-small", None)
    assert "GlobalStandard" in choice.reason


def test_embeddings_as_standard_where_the_region_lacks_it_stop(management):
    management.offer(REGION, *late_2026_region())
    with pytest.raises(NoFit) as caught:
        pick(management, EMBEDDINGS, sku="Standard", wanted="text-embedding-3-small")
    assert "not offered as Standard (offered as: GlobalStandard)" in str(caught.value)
    assert "AZURE_OPENAI_EMBEDDING_DEPLOYMENT_SKU" in str(caught.value)


def test_embeddings_fall_back_to_the_next_preferred_model(management):
    management.offer(
        REGION,
        embedding(lifecycle="Deprecating"),
        embedding("text-embedding-3-large", "1", retires=LATER),
    )
    assert pick(management, EMBEDDINGS).offer.name == "text-embedding-3-large"
