"""The model chooser against the subscription's quota, model families named by tier, and an
environment that already runs a model: in process, reading the stand-in management API's model
list, usages and deployments over HTTPS on loopback. No request leaves the machine."""

from __future__ import annotations

import pytest

from scripts.choose_models.asks import CHAT, EMBEDDINGS, Ask, Purpose
from scripts.choose_models.catalog import Deployed
from scripts.choose_models.management import Subscription
from scripts.choose_models.quota import MIN_CAPACITY
from scripts.choose_models.selection import Choice, NoFit, NoQuota, choose
from standins.management import StandInManagement, deployment, model_entry
from tests.integration.azd_hook import StaticToken
from tests.integration.conftest import (
    LATER,
    NOW,
    REGION,
    SOON,
    SUBSCRIPTION,
    TOKEN,
    embedding,
    late_2026_region,
)

GROUP = "rg-dev"


def usage(model: str, sku: str = "GlobalStandard") -> str:
    return f"OpenAI.{sku}.{model}"


def pick(
    management: StandInManagement,
    purpose: Purpose = CHAT,
    *,
    capacity: int = 30,
    wanted: str = "",
    deployment_name: str = "chat",
) -> Choice:
    """What the hook would choose, reading offers, usages and deployments from the stand-in."""
    with Subscription(StaticToken(), SUBSCRIPTION, resource_manager=management.base_url) as azure:
        offers, quota = azure.offers(REGION), azure.free_quota(REGION)
        deployed = azure.deployments(GROUP).get(deployment_name)
    ask = Ask("GlobalStandard", capacity, wanted, quota=quota, deployed=deployed)
    return choose(offers, purpose, ask, location=REGION, now=NOW)


# --- The usages list -------------------------------------------------------------------------


def test_free_quota_is_the_limit_less_what_is_in_use_read_with_the_token(management):
    management.quota(REGION, usage("gpt-5-mini"), used=70, limit=100)
    management.quota(REGION, usage("gpt-5.5"), used=0, limit=0)
    with Subscription(StaticToken(), SUBSCRIPTION, resource_manager=management.base_url) as azure:
        free = azure.free_quota(REGION)
    assert free == {usage("gpt-5-mini"): 30, usage("gpt-5.5"): 0}
    [request] = management.requests
    assert request["path"].endswith(f"/locations/{REGION}/usages")
    assert request["authorization"] == f"Bearer {TOKEN}"
    assert request["query"]["api-version"]


def test_a_new_environment_has_no_deployments(management):
    with Subscription(StaticToken(), SUBSCRIPTION, resource_manager=management.base_url) as azure:
        assert azure.deployments(GROUP) == {}


# --- Choosing within the quota ---------------------------------------------------------------


def test_a_model_without_quota_is_passed_over_for_the_next_one(management):
    management.offer(REGION, *late_2026_region())
    management.quota(REGION, usage("gpt-5-mini"), used=0, limit=0)
    management.quota(REGION, usage("gpt-5.5"), used=0, limit=100)
    choice = pick(management)
    assert (choice.offer.name, choice.capacity) == ("gpt-5.5", 30)
    assert "passed over for want of quota: gpt-5-mini (0 free" in choice.reason


def test_capacity_is_lowered_to_what_is_free_above_the_floor(management):
    management.offer(REGION, *late_2026_region())
    management.quota(REGION, usage("gpt-5-mini"), used=80, limit=100)
    choice = pick(management)
    assert (choice.offer.name, choice.capacity) == ("gpt-5-mini", 20)
    assert "capacity lowered from 30 to 20" in choice.reason


def test_less_free_than_the_floor_does_not_serve(management):
    management.offer(REGION, *late_2026_region())
    management.quota(REGION, usage("gpt-5-mini"), used=100 - MIN_CAPACITY + 1, limit=100)
    assert pick(management).offer.name != "gpt-5-mini"


def test_the_environments_own_deployment_counts_as_free(management):
    """Redeploying takes no new quota: what the deployment holds is in the usage already."""
    management.offer(REGION, *late_2026_region())
    management.quota(REGION, usage("gpt-5-mini"), used=30, limit=30)
    held = deployment("chat", "gpt-5-mini", "2025-08-07", sku="GlobalStandard", capacity=30)
    management.account(GROUP, "oai-x", held)
    choice = pick(management)
    assert (choice.offer.name, choice.capacity) == ("gpt-5-mini", 30)


def test_no_room_for_any_model_names_each_and_how_to_get_more(management):
    management.offer(REGION, *late_2026_region())
    for model in ("gpt-5-mini", "gpt-5.5", "o4-mini"):
        management.quota(REGION, usage(model), used=0, limit=0)
    with pytest.raises(NoQuota) as caught:
        pick(management)
    message = str(caught.value)
    assert f"No chat model fits the subscription's quota in {REGION}" in message
    for model in ("gpt-5-mini", "gpt-5.5", "o4-mini"):
        assert f"  {model}: 0 free" in message
    assert "azd env set AZURE_OPENAI_CHAT_DEPLOYMENT_CAPACITY" in message
    assert "To request more" in message


def test_a_set_model_without_quota_stops_rather_than_changing_model(management):
    management.offer(REGION, *late_2026_region())
    management.quota(REGION, usage("gpt-5.5"), used=0, limit=5)
    with pytest.raises(NoQuota, match=r"gpt-5\.5: 5 free"):
        pick(management, wanted="gpt-5.5")


def test_embeddings_check_their_own_quota(management):
    management.offer(REGION, *late_2026_region())
    management.quota(REGION, usage("text-embedding-3-small"), used=0, limit=0)
    management.quota(REGION, usage("text-embedding-3-large"), used=0, limit=350)
    assert pick(management, EMBEDDINGS).offer.name == "text-embedding-3-large"


# --- Families named by tier ------------------------------------------------------------------


def tiered_region() -> list[dict]:
    """gpt-5.6 in its three tiers, largest listed first; the minis closed to new customers."""
    return [
        model_entry("gpt-5.6-sol", "2026-06-25", retires=LATER),
        model_entry("gpt-5.6-terra", "2026-06-25", retires=LATER),
        model_entry("gpt-5.6-luna", "2026-06-25", retires=LATER),
        model_entry("gpt-5.4-mini", "2026-03-17", lifecycle="Deprecating", retires=SOON),
        model_entry("gpt-5-mini", "2025-08-07", lifecycle="Deprecating", retires=SOON),
        embedding(retires=LATER),
    ]


def test_a_family_named_by_tier_gives_its_smallest_least_expensive_tier(management):
    management.offer(REGION, *tiered_region())
    choice = pick(management)
    assert choice.offer.name == "gpt-5.6-luna"
    assert "smallest, least expensive tier (-luna)" in choice.reason


def test_without_the_small_tier_the_middle_one_comes_before_the_largest(management):
    management.offer(REGION, *tiered_region()[:2])
    assert pick(management).offer.name == "gpt-5.6-terra"


def test_a_tier_name_not_known_comes_after_the_known_ones(management):
    management.offer(
        REGION,
        model_entry("gpt-5.7-aurora", "2027-01-01", retires=LATER),
        model_entry("gpt-5.5", "2026-04-24", retires=LATER),
    )
    assert pick(management).offer.name == "gpt-5.5"


def test_the_small_tier_without_quota_gives_way_to_the_middle_one(management):
    management.offer(REGION, *tiered_region())
    management.quota(REGION, usage("gpt-5.6-luna"), used=0, limit=0)
    management.quota(REGION, usage("gpt-5.6-terra"), used=0, limit=50)
    assert pick(management).offer.name == "gpt-5.6-terra"


# --- A model closed to new customers that the environment already runs ---------------------


def closed_mini_deployed(management: StandInManagement) -> None:
    management.offer(REGION, *tiered_region())
    management.account(
        GROUP,
        "oai-x",
        deployment("chat", "gpt-5.4-mini", "2026-03-17", sku="GlobalStandard", capacity=30),
    )


def test_a_deprecating_model_already_deployed_is_kept_with_a_warning(management):
    closed_mini_deployed(management)
    choice = pick(management, wanted="gpt-5.4-mini")
    assert (choice.offer.name, choice.offer.version) == ("gpt-5.4-mini", "2026-03-17")
    assert f"retires on {SOON:%Y-%m-%d}" in choice.warning
    assert "closed to new customers" in choice.warning
    assert "azd env set AZURE_OPENAI_CHAT_DEPLOYMENT chat-2" in choice.warning


def test_a_fresh_azd_environment_keeps_what_the_account_already_runs(management):
    """A pipeline's new azd environment, with nothing set, meets the account it deployed before."""
    closed_mini_deployed(management)
    choice = pick(management)
    assert choice.offer.name == "gpt-5.4-mini"
    assert "already runs it" in choice.reason
    assert choice.warning


def test_a_new_environment_gets_a_model_open_to_new_customers(management):
    management.offer(REGION, *tiered_region())
    with pytest.raises(NoFit, match="closed to new customers"):
        pick(management, wanted="gpt-5.4-mini")
    assert pick(management).offer.name == "gpt-5.6-luna"


def test_a_deployed_model_that_has_retired_is_not_kept(management):
    management.offer(
        REGION,
        model_entry("gpt-4.1-mini", "2025-04-14", lifecycle="Deprecated", retires=SOON),
        model_entry("gpt-5.6-luna", "2026-06-25", retires=LATER),
    )
    management.account(
        GROUP,
        "oai-x",
        deployment("chat", "gpt-4.1-mini", "2025-04-14", sku="GlobalStandard", capacity=30),
    )
    with pytest.raises(NoFit, match="retired") as caught:
        pick(management)
    assert "azd env set AZURE_OPENAI_CHAT_DEPLOYMENT chat-2" in str(caught.value)


def test_another_deployment_name_is_a_new_deployment(management):
    closed_mini_deployed(management)
    with pytest.raises(NoFit, match="closed to new customers"):
        pick(management, wanted="gpt-5.4-mini", deployment_name="chat-2")


def test_the_kept_deployment_is_found_by_its_name_among_the_accounts_deployments(management):
    closed_mini_deployed(management)
    with Subscription(StaticToken(), SUBSCRIPTION, resource_manager=management.base_url) as azure:
        found = azure.deployments(GROUP)
    assert found == {"chat": Deployed("chat", "gpt-5.4-mini", "2026-03-17", "GlobalStandard", 30)}


def test_a_new_deployment_name_lets_the_hook_choose_a_model_open_to_new_customers(management):
    closed_mini_deployed(management)
    assert pick(management, deployment_name="chat-2").offer.name == "gpt-5.6-luna"
