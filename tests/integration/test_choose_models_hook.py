"""The preprovision hook that chooses the models (`python -m scripts.choose_models`) as a process,
as azd runs it: it signs in through a stand-in `azd` on the PATH, reads a stand-in of the Azure
management API's model list on loopback, and writes its choice into the azd environment. No
request leaves the machine."""

from __future__ import annotations

from tests.integration.azd_hook import env_sets, fake_tools, run_hook
from tests.integration.conftest import REGION, TOKEN, late_2026_region


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
    regional = [r["path"] for r in management.requests if "/locations/" in r["path"]]
    assert regional
    assert all(f"/locations/{REGION}/" in path for path in regional)


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
