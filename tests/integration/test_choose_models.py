"""The preprovision hook that chooses the models (scripts/choose_models), against a stand-in of
the Azure management API's model list on loopback (HTTPS, pages, bearer token). In-process tests
use a static token; the hook as a process signs in through a stand-in `azd` on the PATH, as it
does under azd. No request leaves the machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError

from scripts.choose_models.catalog import list_offers
from scripts.choose_models.selection import CHAT, EMBEDDINGS, NoFit, choose
from tests.support.standin_management import (
    EMBEDDING_CAPABILITIES,
    StandInManagement,
    model_entry,
    running,
)

ROOT = Path(__file__).resolve().parents[2]
SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
TOKEN = "stand-in-token"
REGION = "swedencentral"
NOW = datetime.now(UTC)
PAST = NOW - timedelta(days=30)
SOON = NOW + timedelta(days=120)
LATER = NOW + timedelta(days=400)


class StaticToken:
    """A credential that hands out one fixed token and calls nobody."""

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        return AccessToken(TOKEN, int(NOW.timestamp()) + 3600)


def embedding(name: str = "text-embedding-3-small", version: str = "1", **kw: object) -> dict:
    return model_entry(name, version, capabilities=EMBEDDING_CAPABILITIES, **kw)  # type: ignore[arg-type]


def late_2026_region() -> list[dict]:
    """Roughly what a region offered at the end of 2026."""
    return [
        model_entry("gpt-4.1-mini", "2025-04-14", lifecycle="Deprecated", retires=PAST),
        model_entry("gpt-5.4-mini", "2026-03-17", lifecycle="Deprecating", retires=SOON),
        model_entry("gpt-5.6-mini", "2026-11-01", lifecycle="Preview", retires=LATER),
        model_entry("gpt-5-mini", "2025-08-07", retires=LATER),
        model_entry("gpt-5.5", "2026-04-24", retires=LATER),
        model_entry("o4-mini", "2025-04-16", retires=LATER),
        model_entry("gpt-4o", "2024-11-20", capabilities=("chatCompletion",), retires=LATER),
        embedding(skus={"GlobalStandard": None}, retires=LATER),
        embedding("text-embedding-3-large", "1", retires=LATER),
        embedding("text-embedding-ada-002", "2", lifecycle="Legacy", retires=SOON),
    ]


@pytest.fixture
def management(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInManagement]:
    ca = tmp_path / "ca.pem"
    with running(StandInManagement(SUBSCRIPTION, TOKEN), ca) as standin:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        standin.ca_bundle = ca  # type: ignore[attr-defined]
        yield standin


def offers(management: StandInManagement, region: str = REGION) -> list:
    return list_offers(StaticToken(), SUBSCRIPTION, region, resource_manager=management.base_url)


def pick(management: StandInManagement, purpose=CHAT, sku="GlobalStandard", **wanted: str):
    return choose(offers(management), purpose, sku=sku, location=REGION, now=NOW, **wanted)


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


# --- The hook as azd runs it ------------------------------------------------------------------


@pytest.fixture
def azd_bin(tmp_path: Path) -> Path:
    """A stand-in `azd` (token and `env set`) and an `az` that is never signed in."""
    return fake_tools(tmp_path, {"token": TOKEN, "expiresOn": "2099-01-01T00:00:00Z"})


def fake_tools(tmp_path: Path, token_answer: dict[str, str] | None) -> Path:
    """`azd` that hands out `token_answer` (or refuses: not signed in) and records `env set`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "azd-env-set.log"
    if token_answer:
        answer = "printf '%s\\n' '" + json.dumps(token_answer) + "'"
    else:
        answer = "echo 'not logged in, run `azd auth login` to login' >&2; exit 1"
    (bin_dir / "azd").write_text(
        "#!/bin/sh\n"
        'case "$1 $2" in\n'
        f"  'auth token') {answer} ;;\n"
        f"  'env set') shift 2; printf '%s\\n' \"$*\" >> '{log}' ;;\n"
        "  *) exit 1 ;;\n"
        "esac\n",
        encoding="utf-8",
    )
    (bin_dir / "az").write_text("#!/bin/sh\necho 'Please run az login' >&2\nexit 1\n")
    for tool in ("azd", "az"):
        (bin_dir / tool).chmod(0o755)
    return bin_dir


def run_hook(management: StandInManagement, azd_bin: Path, **env: str):
    clean = {
        "PATH": f"{azd_bin}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": str(azd_bin.parent),
        "REQUESTS_CA_BUNDLE": str(management.ca_bundle),  # type: ignore[attr-defined]
        "NO_PROXY": "127.0.0.1",
        "AZURE_RESOURCE_MANAGER_ENDPOINT": management.base_url,
        "AZURE_SUBSCRIPTION_ID": SUBSCRIPTION,
        "AZURE_LOCATION": "eastus2",
        "AZURE_ENV_NAME": "dev",
    }
    return subprocess.run(
        [sys.executable, "-m", "scripts.choose_models"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def env_sets(azd_bin: Path) -> list[str]:
    log = azd_bin.parent / "azd-env-set.log"
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def test_hook_writes_the_choice_into_the_azd_environment_and_says_why(management, azd_bin):
    management.offer("eastus2", *late_2026_region())
    result = run_hook(management, azd_bin)
    assert result.returncode == 0, result.stderr
    assert env_sets(azd_bin) == [
        "AZURE_OPENAI_CHAT_MODEL gpt-5-mini --environment dev",
        "AZURE_OPENAI_EMBEDDING_MODEL text-embedding-3-small --environment dev",
    ]
    assert "Chat model: gpt-5-mini (default version 2025-08-07)" in result.stdout
    assert "why: AZURE_OPENAI_CHAT_MODEL is not set" in result.stdout
    # Signed in through azd, as under `azd up`; the token went to the stand-in only.
    assert {r["authorization"] for r in management.requests} == {f"Bearer {TOKEN}"}


def test_hook_asks_the_azure_openai_region_when_it_differs(management, azd_bin):
    management.offer(REGION, *late_2026_region())
    result = run_hook(management, azd_bin, AZURE_OPENAI_LOCATION=REGION)
    assert result.returncode == 0, result.stderr
    assert all(f"/locations/{REGION}/" in r["path"] for r in management.requests)


def test_hook_keeps_a_set_model_that_still_fits_without_rewriting_it(management, azd_bin):
    management.offer("eastus2", *late_2026_region())
    result = run_hook(
        management,
        azd_bin,
        AZURE_OPENAI_CHAT_MODEL="gpt-5.5",
        AZURE_OPENAI_EMBEDDING_MODEL="text-embedding-3-small",
    )
    assert result.returncode == 0, result.stderr
    assert env_sets(azd_bin) == []
    assert "Chat model: gpt-5.5" in result.stdout


def test_hook_stops_on_a_retired_model_and_writes_nothing(management, azd_bin):
    management.offer("eastus2", *late_2026_region())
    result = run_hook(management, azd_bin, AZURE_OPENAI_CHAT_MODEL="gpt-4.1-mini")
    assert result.returncode == 1
    assert "AZURE_OPENAI_CHAT_MODEL=gpt-4.1-mini" in result.stderr
    assert "gpt-5-mini 2025-08-07: fits" in result.stderr
    assert env_sets(azd_bin) == []
    assert "Traceback" not in result.stderr


def test_hook_explains_a_refused_sign_in(management, azd_bin):
    management.token = "another-token"
    result = run_hook(management, azd_bin)
    assert result.returncode == 1
    assert "the management API answered 401" in result.stderr
    assert "AZURE_OPENAI_MODEL_CHECK false" in result.stderr
    assert TOKEN not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_hook_asks_to_sign_in_when_neither_azd_nor_az_is(management, tmp_path):
    management.offer("eastus2", *late_2026_region())
    signed_out = fake_tools(tmp_path, None)
    result = run_hook(management, signed_out)
    assert result.returncode == 1
    assert "not signed in. Run azd auth login" in result.stderr
    assert management.requests == []
    assert "Traceback" not in result.stderr


def test_hook_needs_the_region(management, azd_bin):
    result = run_hook(management, azd_bin, AZURE_LOCATION="")
    assert result.returncode == 2
    assert "AZURE_LOCATION" in result.stderr
    assert management.requests == []


def test_hook_can_be_told_not_to_check(management, azd_bin):
    result = run_hook(
        management,
        azd_bin,
        AZURE_OPENAI_MODEL_CHECK="false",
        AZURE_OPENAI_CHAT_MODEL="my-model",
        AZURE_OPENAI_EMBEDDING_MODEL="my-embedding",
    )
    assert result.returncode == 0, result.stderr
    assert "without checking" in result.stdout
    assert management.requests == []
    assert env_sets(azd_bin) == []
