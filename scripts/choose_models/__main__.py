"""`python -m scripts.choose_models`: the azd preprovision hook (scripts/preprovision.sh, .ps1).

Reads the azd environment (azd exports it to hooks), lists what the Azure OpenAI region offers,
chooses the chat and embedding models, writes them with `azd env set` and says what it chose and
why. Exit status: 0 chosen (or the check is off), 1 nothing fits or the list could not be read,
2 the environment lacks the subscription or region.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime

from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError, ClientAuthenticationError, HttpResponseError

from scripts.choose_models.catalog import PUBLIC_RESOURCE_MANAGER, Offer, list_offers
from scripts.choose_models.selection import CHAT, EMBEDDINGS, Choice, NoFit, choose

OFF = ("false", "0", "no", "off")
DEFAULT_SKU = "GlobalStandard"


def main(env: Mapping[str, str] = os.environ) -> int:
    if env.get("AZURE_OPENAI_MODEL_CHECK", "true").strip().lower() in OFF:
        return _unchecked(env)
    subscription = env.get("AZURE_SUBSCRIPTION_ID", "").strip()
    location = (env.get("AZURE_OPENAI_LOCATION") or env.get("AZURE_LOCATION") or "").strip()
    if not subscription or not location:
        print(
            "Choosing the models needs AZURE_SUBSCRIPTION_ID and AZURE_LOCATION (or "
            "AZURE_OPENAI_LOCATION) in the azd environment: run azd up, or azd env set them.",
            file=sys.stderr,
        )
        return 2
    print(f"Choosing the Azure OpenAI models from what {location} offers this subscription...")
    try:
        offers = list_offers(
            credential(env.get("AZURE_TENANT_ID") or None),
            subscription,
            location,
            resource_manager=env.get("AZURE_RESOURCE_MANAGER_ENDPOINT") or PUBLIC_RESOURCE_MANAGER,
        )
    except AzureError as exc:
        print(f"Could not list the models offered in {location}: {explain(exc)}", file=sys.stderr)
        return 1
    return _choose_and_write(offers, env, location)


def _choose_and_write(offers: list[Offer], env: Mapping[str, str], location: str) -> int:
    now = datetime.now(UTC)
    choices: list[Choice] = []
    failures: list[str] = []
    for purpose in (CHAT, EMBEDDINGS):
        try:
            choices.append(
                choose(
                    offers,
                    purpose,
                    sku=env.get(purpose.sku_variable) or DEFAULT_SKU,
                    location=location,
                    now=now,
                    wanted=env.get(purpose.variable, "").strip(),
                    wanted_version=env.get(purpose.version_variable, "").strip(),
                )
            )
        except NoFit as exc:
            failures.append(str(exc))
    if failures:
        print("\n\n".join(failures), file=sys.stderr)
        return 1
    for choice in choices:
        _record(choice, env)
    return 0


def _record(choice: Choice, env: Mapping[str, str]) -> None:
    purpose, offer = choice.purpose, choice.offer
    pinned = f"version {offer.version}" if choice.version else f"default version {offer.version}"
    print(f"{purpose.label.capitalize()} model: {offer.name} ({pinned})")
    print(f"  why: {choice.reason}")
    if env.get(purpose.variable, "").strip() != offer.name:
        set_azd_value(purpose.variable, offer.name, env)
    if choice.version and env.get(purpose.version_variable, "").strip() != choice.version:
        set_azd_value(purpose.version_variable, choice.version, env)


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
        raise SystemExit(f"azd is not on the PATH: cannot set {name}={value}")
    command = [azd, "env", "set", name, value]
    if env.get("AZURE_ENV_NAME"):
        command += ["--environment", env["AZURE_ENV_NAME"]]
    subprocess.run(command, check=True)


if __name__ == "__main__":
    sys.exit(main())
