"""`python -m scripts.choose_models`: the azd preprovision hook (scripts/preprovision.sh, .ps1).

Reads the azd environment (azd exports it to hooks); fixes the cost budget's start date and the
limits' row-key secret the first time; checks what would fail minutes into provisioning
(preflight.py); lists what the Azure OpenAI region offers and the subscription's quota there;
chooses the chat and embedding models (keeping the ones the environment already runs); writes them
with `azd env set` and says what it chose and why. Exit status: 0 chosen (or the check is off), 1
nothing fits, a preflight check failed or the management API could not be read, 2 the environment
lacks a setting.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime

from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError, ClientAuthenticationError, HttpResponseError

from scripts.choose_models import preflight
from scripts.choose_models.asks import CHAT, EMBEDDINGS, Ask, Purpose
from scripts.choose_models.budget import START_VARIABLE, start_date_to_record
from scripts.choose_models.limits_key import KEY_VARIABLE, key_to_record
from scripts.choose_models.management import PUBLIC_RESOURCE_MANAGER, Subscription
from scripts.choose_models.regions import nearby
from scripts.choose_models.selection import Choice, NoFit, NoQuota, choose

OFF = ("false", "0", "no", "off")
DEFAULT_SKU = "GlobalStandard"
DEFAULT_CAPACITY = 30


def main(env: Mapping[str, str] = os.environ) -> int:
    _fix_budget_start(env)
    _keep_limits_key(env)
    if env.get("AZURE_OPENAI_MODEL_CHECK", "true").strip().lower() in OFF:
        return _unchecked(env)
    subscription = env.get("AZURE_SUBSCRIPTION_ID", "").strip()
    location = (env.get("AZURE_OPENAI_LOCATION") or env.get("AZURE_LOCATION") or "").strip()
    if not subscription or not location or not env.get("AZURE_ENV_NAME", "").strip():
        print(
            "Choosing the models needs AZURE_ENV_NAME, AZURE_SUBSCRIPTION_ID and AZURE_LOCATION "
            "(or AZURE_OPENAI_LOCATION) in the azd environment: run azd up, or azd env set them.",
            file=sys.stderr,
        )
        return 2
    print(f"Choosing the Azure OpenAI models from what {location} offers this subscription...")
    manager = env.get("AZURE_RESOURCE_MANAGER_ENDPOINT") or PUBLIC_RESOURCE_MANAGER
    try:
        with Subscription(
            credential(env.get("AZURE_TENANT_ID") or None), subscription, resource_manager=manager
        ) as azure:
            return _preflight(azure, env) or _choose_and_write(azure, env, location)
    except AzureError as exc:
        print(f"Could not read the subscription in {location}: {explain(exc)}", file=sys.stderr)
        return 1


def _fix_budget_start(env: Mapping[str, str]) -> None:
    start = start_date_to_record(env, datetime.now(UTC).date())
    if start is not None:
        print(f"Cost budget: starts {start}, kept for later runs (Azure cannot move it)")
        set_azd_value(START_VARIABLE, start, env)


def _keep_limits_key(env: Mapping[str, str]) -> None:
    key = key_to_record(env)
    if key is not None:
        print(f"Limits: a row-key secret generated into {KEY_VARIABLE}, kept for later runs")
        set_azd_value(KEY_VARIABLE, key, env)


def _preflight(azure: Subscription, env: Mapping[str, str]) -> int:
    group = preflight.resource_group(env)
    deleted = preflight.deleted_in(group, azure.deleted_accounts())
    if deleted and not preflight.purge_wanted(env):
        print(preflight.deleted_message(deleted), file=sys.stderr)
        return 1
    for account in deleted:
        print(f"Purging the soft-deleted account {account.name} ({preflight.PURGE_VARIABLE})...")
        azure.purge(account)
    services = azure.search_services() if preflight.lists_search_services(env) else []
    problem = preflight.search_problem(env, services, group)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


def _choose_and_write(azure: Subscription, env: Mapping[str, str], location: str) -> int:
    now = datetime.now(UTC)
    offers, quota = azure.offers(location), _quota_if_readable(azure, location)
    deployed = azure.deployments(preflight.resource_group(env))
    choices: list[Choice] = []
    failures: list[str] = []
    for purpose in (CHAT, EMBEDDINGS):
        own = deployed.get(env.get(purpose.deployment_variable) or purpose.deployment)
        try:
            ask = replace(_ask(env, purpose), quota=quota, deployed=own)
            choices.append(choose(offers, purpose, ask, location=location, now=now))
        except NoQuota as exc:
            failures.append(f"{exc}\n{_quota_elsewhere(azure, env, purpose, location, now)}")
        except NoFit as exc:
            failures.append(str(exc))
    if failures:
        print("\n\n".join(failures), file=sys.stderr)
        return 1
    for choice in choices:
        _record(choice, env)
    return 0


def _quota_if_readable(azure: Subscription, location: str) -> dict[str, int] | None:
    """The region's free quota; None, with a warning, when the account may not read it (the
    deployment may still fit: Azure says so minutes into provisioning, as InsufficientQuota)."""
    try:
        return azure.free_quota(location)
    except HttpResponseError as exc:
        if exc.status_code != 403:
            raise
        print(
            f"Warning: the quota in {location} could not be read (the management API answered "
            "403), so it is not checked. Reading it needs Reader, or Cognitive Services Usages "
            "Reader, on the subscription.",
            file=sys.stderr,
        )
        return None


def _ask(env: Mapping[str, str], purpose: Purpose) -> Ask:
    return Ask(
        sku=env.get(purpose.sku_variable) or DEFAULT_SKU,
        capacity=requested_capacity(env, purpose),
        wanted=env.get(purpose.variable, "").strip(),
        wanted_version=env.get(purpose.version_variable, "").strip(),
    )


def requested_capacity(env: Mapping[str, str], purpose: Purpose) -> int:
    text = env.get(purpose.capacity_variable, "").strip()
    if not text:
        return DEFAULT_CAPACITY
    if not text.isdigit() or int(text) < 1:
        raise SystemExit(f"{purpose.capacity_variable} must be a whole number above 0, got {text}")
    return int(text)


def _quota_elsewhere(
    azure: Subscription, env: Mapping[str, str], purpose: Purpose, location: str, now: datetime
) -> str:
    """Which models have quota in the regions nearest `location`, checked one by one."""
    regions = nearby(location)
    found = []
    for region in regions:
        try:
            ask = replace(_ask(env, purpose), quota=azure.free_quota(region))
            choice = choose(azure.offers(region), purpose, ask, location=region, now=now)
        except (NoFit, AzureError):
            continue
        found.append(f"  {region}: {choice.offer.name} ({choice.capacity} thousand tokens/minute)")
    if not regions:
        return "No nearby regions are known for this one: try another with AZURE_OPENAI_LOCATION."
    if not found:
        return f"The nearest regions checked ({', '.join(regions)}) have no room either."
    use = "To use one: azd env set AZURE_OPENAI_LOCATION <region>, then azd up again."
    return "\n".join([f"Quota in the nearest regions checked ({', '.join(regions)}):", *found, use])


def _record(choice: Choice, env: Mapping[str, str]) -> None:
    purpose, offer = choice.purpose, choice.offer
    pinned = f"version {offer.version}" if choice.version else f"default version {offer.version}"
    print(f"{purpose.label.capitalize()} model: {offer.name} ({pinned})")
    print(f"  why: {choice.reason}")
    if choice.warning:
        print(f"Warning: {choice.warning}", file=sys.stderr)
    if env.get(purpose.variable, "").strip() != offer.name:
        set_azd_value(purpose.variable, offer.name, env)
    if choice.version and env.get(purpose.version_variable, "").strip() != choice.version:
        set_azd_value(purpose.version_variable, choice.version, env)
    if choice.capacity and choice.capacity != requested_capacity(env, purpose):
        set_azd_value(purpose.capacity_variable, str(choice.capacity), env)


def _unchecked(env: Mapping[str, str]) -> int:
    missing = [p.variable for p in (CHAT, EMBEDDINGS) if not env.get(p.variable, "").strip()]
    if missing:
        print(
            f"AZURE_OPENAI_MODEL_CHECK is off, so no model is chosen: set {' and '.join(missing)}"
            " with azd env set.",
            file=sys.stderr,
        )
        return 2
    print(
        "AZURE_OPENAI_MODEL_CHECK is off: deploying "
        f"{env[CHAT.variable]} and {env[EMBEDDINGS.variable]} without checking the region's offer."
    )
    return 0


def credential(tenant_id: str | None) -> TokenCredential:
    """The sign-in azd uses (azd auth login), else the Azure CLI's (az login)."""
    from azure.identity import (
        AzureCliCredential,
        AzureDeveloperCliCredential,
        ChainedTokenCredential,
    )

    return ChainedTokenCredential(
        AzureDeveloperCliCredential(tenant_id=tenant_id or "", process_timeout=60),
        AzureCliCredential(tenant_id=tenant_id or "", process_timeout=60),
    )


def explain(exc: AzureError) -> str:
    # A refused token is a ClientAuthenticationError with a status; no sign-in has none.
    status = getattr(exc, "status_code", None)
    if isinstance(exc, HttpResponseError) and status is not None:
        detail = exc.error.message if exc.error is not None and exc.error.message else exc.reason
        return (
            f"the management API answered {status} ({detail}). To skip the check and "
            "deploy the models you set yourself: azd env set AZURE_OPENAI_MODEL_CHECK false"
        )
    if isinstance(exc, ClientAuthenticationError):
        return "not signed in. Run azd auth login (or az login) and try again."
    return f"the management API could not be reached ({type(exc).__name__})."


def set_azd_value(name: str, value: str, env: Mapping[str, str]) -> None:
    """`azd env set NAME VALUE` in the environment azd runs the hook for."""
    azd = shutil.which("azd")
    if azd is None:
        raise SystemExit(f"azd is not on the PATH: cannot set {name}")  # the value may be secret
    command = [azd, "env", "set", name, value]
    if env.get("AZURE_ENV_NAME"):
        command += ["--environment", env["AZURE_ENV_NAME"]]
    subprocess.run(command, check=True)


if __name__ == "__main__":
    sys.exit(main())
