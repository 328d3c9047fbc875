"""What would fail minutes into provisioning and can be seen before it starts: a soft-deleted
Azure OpenAI account of this environment (its name is taken until purged), a second Free search
service (one per subscription), and a region without the semantic ranker when search on a paid
tier asks for it. No I/O: the hook reads the subscription and hands the lists in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from scripts.choose_models.management import DeletedAccount, SearchService

PURGE_VARIABLE = "AZURE_OPENAI_PURGE_DELETED"
ON = ("true", "1", "yes", "on")
# Regions Microsoft's "Azure AI Search regions list" (checked 2026-12-07) shows without the
# semantic ranker. Partial: the list changes, and a region missing here may still lack it.
NO_SEMANTIC_RANKER = frozenset({"canadaeast", "mexicocentral"})
BASIC_COST = (
    "it bills every hour it exists, used or not: tens of US dollars a month, see the Azure AI "
    "Search pricing page for your region"
)


def resource_group(env: Mapping[str, str]) -> str:
    """The environment's resource group, as infra/main.bicep names it."""
    named = env.get("AZURE_RESOURCE_GROUP_NAME", "").strip()
    return named or env.get("AZURE_RESOURCE_GROUP", "").strip() or f"rg-{env['AZURE_ENV_NAME']}"


def purge_wanted(env: Mapping[str, str]) -> bool:
    return env.get(PURGE_VARIABLE, "").strip().lower() in ON


def deleted_in(group: str, deleted: Sequence[DeletedAccount]) -> list[DeletedAccount]:
    """Soft-deleted accounts of the environment's resource group: a new `azd up` there after
    `azd down` without `--purge` meets one of the same name."""
    return [account for account in deleted if account.resource_group.lower() == group.lower()]


def deleted_message(accounts: Sequence[DeletedAccount]) -> str:
    lines = [
        "A soft-deleted Azure OpenAI account of this environment holds its name (azd down ran "
        "without --purge), so creating the account again would fail:"
    ]
    for account in accounts:
        where = f"{account.location}, resource group {account.resource_group}"
        lines.append(f"  {account.name} ({where})")
    first = accounts[0]
    lines += [
        "Purge it, and run azd up again: either let this hook do it,",
        f"  azd env set {PURGE_VARIABLE} true",
        "or purge it yourself:",
        f"  az cognitiveservices account purge --location {first.location} "
        f"--resource-group {first.resource_group} --name {first.name}",
        "Purging deletes it for good; within 48 hours of deletion it can be recovered instead "
        "(az cognitiveservices account recover).",
    ]
    return "\n".join(lines)


def search_on(env: Mapping[str, str]) -> bool:
    return env.get("USE_AZURE_SEARCH", "false").strip().lower() in ON


def search_tier(env: Mapping[str, str]) -> str:
    return env.get("AZURE_SEARCH_SKU", "basic").strip().lower() or "basic"


def lists_search_services(env: Mapping[str, str]) -> bool:
    """Whether the subscription's search services matter: only for a Free one."""
    return search_on(env) and search_tier(env) == "free"


def search_problem(env: Mapping[str, str], services: Sequence[SearchService], group: str) -> str:
    """Why the search service asked for cannot be created; empty when nothing stands in the way."""
    if not search_on(env):
        return ""
    tier = search_tier(env)
    if tier == "free":
        ours = group.lower()
        others = [s for s in services if s.sku == "free" and s.resource_group.lower() != ours]
        if others:
            taken = others[0]
            return (
                f"The subscription already has a Free search service ({taken.name}, resource "
                f"group {taken.resource_group}), and the Free tier allows one per subscription. "
                f"Either use Basic ({BASIC_COST}; it adds the semantic ranker): "
                "azd env set AZURE_SEARCH_SKU basic; or turn search off (the app answers "
                "without retrieval, at no cost): azd env set USE_AZURE_SEARCH false. "
                "Then run azd up again."
            )
        return ""
    location = env.get("AZURE_LOCATION", "").strip().lower()
    if location in NO_SEMANTIC_RANKER:
        return (
            f"Azure AI Search on the {tier} tier gets the semantic ranker, which {location} does "
            "not offer. Choose a region that has it (azd env set AZURE_LOCATION <region>), or "
            "the Free tier, which has no ranker (azd env set AZURE_SEARCH_SKU free)."
        )
    return ""
