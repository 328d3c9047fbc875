"""The preprovision hook, as azd runs it, on what would otherwise fail minutes into `azd up` or on a
later run: a soft-deleted account, a second Free search service, a region without the semantic
ranker, no quota (and where there is some), a model closed to new customers that the environment
runs, and the cost budget's start date and the limits' row-key secret, each fixed once. Stand-in
`azd` and management API; nothing leaves the machine."""

from __future__ import annotations

from datetime import UTC, datetime

from standins.management import deployment, model_entry
from tests.integration.azd_hook import env_sets, run_hook
from tests.integration.conftest import LATER, SOON, embedding, late_2026_region

GROUP = "rg-dev"  # the environment "dev"'s resource group, as infra/main.bicep names it


def offer_everything(management, region: str = "eastus2") -> None:
    management.offer(region, *late_2026_region())


# --- A soft-deleted account ------------------------------------------------------------------


def test_a_soft_deleted_account_of_the_environment_stops_with_how_to_purge(management, azd_bin):
    offer_everything(management)
    management.deleted_account("eastus2", GROUP, "oai-abc123")
    result = run_hook(management, azd_bin)
    assert result.returncode == 1
    assert "oai-abc123" in result.stderr
    assert "azd env set AZURE_OPENAI_PURGE_DELETED true" in result.stderr
    assert (
        "az cognitiveservices account purge --location eastus2 --resource-group rg-dev "
        "--name oai-abc123" in result.stderr
    )
    assert management.deleted, "nothing is purged unless asked"
    assert env_sets(azd_bin) == []


def test_the_hook_purges_it_when_asked_and_goes_on(management, azd_bin):
    offer_everything(management)
    management.deleted_account("eastus2", GROUP, "oai-abc123")
    result = run_hook(management, azd_bin, AZURE_OPENAI_PURGE_DELETED="true")
    assert result.returncode == 0, result.stderr
    assert management.deleted == []
    purges = [r for r in management.requests if r["method"] == "DELETE"]
    assert len(purges) == 1
    assert purges[0]["path"].endswith("/resourceGroups/rg-dev/deletedAccounts/oai-abc123")
    assert "AZURE_OPENAI_CHAT_MODEL gpt-5-mini --environment dev" in env_sets(azd_bin)


def test_another_environments_deleted_account_is_left_alone(management, azd_bin):
    offer_everything(management)
    management.deleted_account("eastus2", "rg-other", "oai-zzz")
    result = run_hook(management, azd_bin)
    assert result.returncode == 0, result.stderr


# --- Azure AI Search -------------------------------------------------------------------------


def test_a_second_free_search_service_stops_with_basic_and_its_cost_or_search_off(
    management, azd_bin
):
    offer_everything(management)
    management.search_service("rg-blog", "srch-blog", "free")
    result = run_hook(management, azd_bin, USE_AZURE_SEARCH="true", AZURE_SEARCH_SKU="free")
    assert result.returncode == 1
    assert "srch-blog" in result.stderr
    assert "one per subscription" in result.stderr
    assert "azd env set AZURE_SEARCH_SKU basic" in result.stderr
    assert "US dollars a month" in result.stderr
    assert "azd env set USE_AZURE_SEARCH false" in result.stderr


def test_the_environments_own_free_search_service_is_no_obstacle(management, azd_bin):
    offer_everything(management)
    management.search_service(GROUP, "srch-dev", "free")
    result = run_hook(management, azd_bin, USE_AZURE_SEARCH="true", AZURE_SEARCH_SKU="free")
    assert result.returncode == 0, result.stderr


def test_search_services_are_not_listed_unless_a_free_one_is_asked_for(management, azd_bin):
    offer_everything(management)
    result = run_hook(management, azd_bin, USE_AZURE_SEARCH="true")
    assert result.returncode == 0, result.stderr
    assert not any("Microsoft.Search" in r["path"] for r in management.requests)


def test_a_region_without_the_semantic_ranker_stops_when_search_would_use_it(management, azd_bin):
    offer_everything(management, "canadaeast")
    result = run_hook(management, azd_bin, AZURE_LOCATION="canadaeast", USE_AZURE_SEARCH="true")
    assert result.returncode == 1
    assert "semantic ranker" in result.stderr
    assert "canadaeast" in result.stderr


# --- Quota -----------------------------------------------------------------------------------


def test_lowered_capacity_is_written_into_the_environment(management, azd_bin):
    offer_everything(management)
    management.quota("eastus2", "OpenAI.GlobalStandard.gpt-5-mini", used=85, limit=100)
    result = run_hook(management, azd_bin)
    assert result.returncode == 0, result.stderr
    assert "AZURE_OPENAI_CHAT_DEPLOYMENT_CAPACITY 15 --environment dev" in env_sets(azd_bin)
    assert "capacity lowered from 30 to 15" in result.stdout


def test_no_quota_in_the_region_names_models_with_quota_in_the_nearest_regions(management, azd_bin):
    management.offer(
        "swedencentral",
        model_entry("gpt-5-mini", "2025-08-07", retires=LATER),
        embedding(retires=LATER),
    )
    management.quota("swedencentral", "OpenAI.GlobalStandard.gpt-5-mini", used=0, limit=0)
    management.offer("norwayeast", model_entry("gpt-5-mini", "2025-08-07", retires=LATER))
    management.quota("norwayeast", "OpenAI.GlobalStandard.gpt-5-mini", used=0, limit=0)
    management.offer("germanywestcentral", model_entry("gpt-5.5", "2026-04-24", retires=LATER))
    management.quota("germanywestcentral", "OpenAI.GlobalStandard.gpt-5.5", used=0, limit=200)
    result = run_hook(management, azd_bin, AZURE_LOCATION="swedencentral")
    assert result.returncode == 1
    assert "No chat model fits the subscription's quota in swedencentral" in result.stderr
    assert "Quota in the nearest regions checked (norwayeast, germanywestcentral" in result.stderr
    assert "  germanywestcentral: gpt-5.5 (30 thousand tokens/minute)" in result.stderr
    assert "norwayeast: gpt-5-mini" not in result.stderr
    assert "azd env set AZURE_OPENAI_LOCATION <region>" in result.stderr
    assert "To request more" in result.stderr
    assert env_sets(azd_bin) == []


def test_quota_the_account_may_not_read_is_left_unchecked_with_a_warning(management, azd_bin):
    offer_everything(management)
    management.forbidden.add("/usages")
    result = run_hook(management, azd_bin)
    assert result.returncode == 0, result.stderr
    assert "Warning: the quota in eastus2 could not be read" in result.stderr
    assert "403" in result.stderr
    assert "AZURE_OPENAI_CHAT_MODEL gpt-5-mini --environment dev" in env_sets(azd_bin)


# --- A model closed to new customers that the environment runs -------------------------------


def closing_mini_deployed(management) -> None:
    """An account in the environment's group whose chat deployment runs a closing model."""
    management.offer(
        "eastus2",
        model_entry("gpt-5.4-mini", "2026-03-17", lifecycle="Deprecating", retires=SOON),
        model_entry("gpt-5.6-luna", "2026-06-25", retires=LATER),
        embedding(retires=LATER),
    )
    management.account(
        GROUP,
        "oai-abc123",
        deployment("chat", "gpt-5.4-mini", "2026-03-17", sku="GlobalStandard", capacity=30),
        deployment("embedding", "text-embedding-3-small", "1", sku="GlobalStandard", capacity=30),
    )


def test_a_deprecating_model_the_environment_runs_is_kept_with_its_retirement_date(
    management, azd_bin
):
    closing_mini_deployed(management)
    result = run_hook(management, azd_bin, AZURE_OPENAI_CHAT_MODEL="gpt-5.4-mini")
    assert result.returncode == 0, result.stderr
    assert "Warning: gpt-5.4-mini 2026-03-17 is closed to new customers" in result.stderr
    assert f"retires on {SOON:%Y-%m-%d}" in result.stderr
    assert "Chat model: gpt-5.4-mini" in result.stdout


def test_a_fresh_azd_environment_writes_what_the_account_already_runs(management, azd_bin):
    """A pipeline's new azd environment, nothing set, meeting the account an earlier run made."""
    closing_mini_deployed(management)
    result = run_hook(management, azd_bin)
    assert result.returncode == 0, result.stderr
    assert env_sets(azd_bin) == [
        "AZURE_OPENAI_CHAT_MODEL gpt-5.4-mini --environment dev",
        "AZURE_OPENAI_EMBEDDING_MODEL text-embedding-3-small --environment dev",
    ]
    assert "retires on" in result.stderr


# --- The cost budget -------------------------------------------------------------------------


def test_a_budget_gets_its_start_date_fixed_the_first_time(management, azd_bin):
    offer_everything(management)
    result = run_hook(management, azd_bin, AZURE_BUDGET_ALERT_EMAIL="ops@example.com")
    assert result.returncode == 0, result.stderr
    first = datetime.now(UTC).date().replace(day=1).isoformat()
    assert f"AZURE_BUDGET_START_DATE {first} --environment dev" in env_sets(azd_bin)


def test_a_fixed_start_date_is_kept(management, azd_bin):
    offer_everything(management)
    result = run_hook(
        management,
        azd_bin,
        AZURE_BUDGET_ALERT_EMAIL="ops@example.com",
        AZURE_BUDGET_START_DATE="2026-01-01",
    )
    assert result.returncode == 0, result.stderr
    assert not any(line.startswith("AZURE_BUDGET_START_DATE") for line in env_sets(azd_bin))


# --- The limits' row-key secret --------------------------------------------------------------


def _written_keys(azd_bin) -> list[str]:
    return [
        line.split()[1] for line in env_sets(azd_bin) if line.startswith("CHAT_LIMITS_KEY_SECRET ")
    ]


def test_the_limits_key_is_generated_once_and_a_second_run_keeps_it(management, azd_bin):
    offer_everything(management)
    first = run_hook(management, azd_bin, CHAT_LIMITS_KEY_SECRET="")  # a new environment
    assert first.returncode == 0, first.stderr
    (key,) = _written_keys(azd_bin)

    second = run_hook(management, azd_bin, CHAT_LIMITS_KEY_SECRET=key)

    assert second.returncode == 0, second.stderr
    assert _written_keys(azd_bin) == [key]
    assert len(bytes.fromhex(key)) == 32
    assert key not in first.stdout + first.stderr  # said to be written, never shown
