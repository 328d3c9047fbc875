"""`make ingest` against the stand-in Azure AI Search service and the stand-in model, as a
process: the index it creates, what it uploads, and that a second run changes nothing."""

from __future__ import annotations

import itertools
import shutil
import subprocess

import httpx
import pytest

from standins.processes import ROOT, run_ingest
from tests.conftest import model_env, search_env
from tests.support.pdf import make_pdf

_names = itertools.count()


@pytest.fixture
def kb(tmp_path):
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "guide.md").write_text(
        "# Guide\n\n## Install\n\nRun the installer.\n\n## Use\n\nOpen the app.\n", "utf-8"
    )
    (folder / "notes.txt").write_text("Support answers within a day.", encoding="utf-8")
    (folder / "manual.pdf").write_bytes(make_pdf(["The warranty lasts two years."], "Manual"))
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    return folder


@pytest.fixture
def index_env(search_server, model_server):
    """A fresh index name for each test, on the shared stand-in services."""
    name = f"ingest-{next(_names)}"
    return name, {**model_env(model_server), **search_env(search_server, name)}


def test_creates_the_index_with_its_fields_vector_profile_and_semantic_configuration(
    kb, index_env, search_server
):
    name, env = index_env

    result = run_ingest(env, str(kb), "--no-progress")

    assert result.returncode == 0, result.stderr
    definition = search_server.stats()["indexes"][name]["definition"]
    fields = {f["name"]: f for f in definition["fields"]}
    assert set(fields) == {"id", "title", "content", "source", "url", "document", "embedding"}
    assert fields["id"]["key"] is True
    assert fields["content"]["searchable"] is True
    assert fields["embedding"]["type"] == "Collection(Edm.Single)"
    assert fields["embedding"]["dimensions"] == 64
    assert fields["embedding"]["vectorSearchProfile"] == "vector-profile"
    (algorithm,) = definition["vectorSearch"]["algorithms"]
    assert algorithm["kind"] == "hnsw"
    (semantic,) = definition["semantic"]["configurations"]
    assert semantic["name"] == "default"
    assert semantic["prioritizedFields"]["titleField"] == {"fieldName": "title"}


def test_uploads_every_chunk_with_its_embedding_and_shows_progress(
    kb, index_env, search_server, model_server
):
    name, env = index_env
    model_server.reset()

    result = run_ingest(env, str(kb))

    assert result.returncode == 0, result.stderr
    assert search_server.stats()["indexes"][name]["documents"] == 4
    assert model_server.stats()["embeddings"] == 4
    assert f"Azure AI Search index {name}: 4 files; 1 skipped, 4 chunks: 4 added" in result.stdout
    assert "Uploading" in result.stderr  # the progress bar


def test_a_second_run_changes_nothing_and_embeds_nothing(
    kb, index_env, search_server, model_server
):
    name, env = index_env
    run_ingest(env, str(kb), "--no-progress")
    model_server.reset()
    search_server.reset()

    again = run_ingest(env, str(kb), "--no-progress")

    assert again.returncode == 0, again.stderr
    assert "4 chunks: 0 added, 4 unchanged, 0 removed" in again.stdout
    assert model_server.stats()["embeddings"] == 0
    assert search_server.stats()["index_actions"] == 0
    assert search_server.stats()["indexes"][name]["documents"] == 4


def test_an_edited_file_replaces_its_chunks(kb, index_env, search_server):
    name, env = index_env
    run_ingest(env, str(kb), "--no-progress")
    (kb / "notes.txt").write_text("Support answers within an hour.", encoding="utf-8")

    result = run_ingest(env, str(kb), "--no-progress")

    assert "1 added, 3 unchanged, 1 removed" in result.stdout
    assert search_server.stats()["indexes"][name]["documents"] == 4


def test_bad_files_are_reported_and_skipped(kb, index_env):
    _, env = index_env

    result = run_ingest(env, str(kb), "--no-progress")

    assert result.returncode == 0
    assert "Skipped kb/broken.pdf: not a readable PDF" in result.stdout
    assert "Traceback" not in result.stderr


def test_a_rejected_key_fails_with_a_clear_message(kb, index_env):
    _, env = index_env

    result = run_ingest({**env, "AZURE_SEARCH_API_KEY": "wrong"}, str(kb), "--no-progress")

    assert result.returncode == 1
    assert "access denied (403)" in result.stderr
    assert "Search Index Data Contributor" in result.stderr
    assert "Traceback" not in result.stderr


def test_waits_out_a_role_assignment_that_is_not_applied_yet(kb, index_env, search_server):
    name, env = index_env
    search_server.deny(2)

    result = run_ingest(env, str(kb), "--no-progress", "--wait-for-access", "60")

    assert result.returncode == 0, result.stderr
    assert result.stderr.count("access denied (403)") == 2
    assert "trying again in 5 s" in result.stderr
    assert "trying again in 10 s" in result.stderr
    assert search_server.stats()["indexes"][name]["documents"] == 4


def test_stops_waiting_for_access_at_the_deadline(kb, index_env, search_server):
    _, env = index_env
    search_server.deny(1000)

    result = run_ingest(env, str(kb), "--no-progress", "--wait-for-access", "4")

    search_server.deny(0)
    assert result.returncode == 1
    assert "trying again" not in result.stderr
    assert "Search Index Data Contributor" in result.stderr


def test_waits_out_an_embedding_role_that_is_not_applied_yet(
    kb, index_env, search_server, model_server
):
    name, env = index_env
    model_server.deny(1)

    result = run_ingest(env, str(kb), "--no-progress", "--wait-for-access", "60")

    assert result.returncode == 0, result.stderr
    assert result.stderr.count("The embedding model: access denied (403)") == 1
    assert "trying again in 5 s" in result.stderr
    assert search_server.stats()["indexes"][name]["documents"] == 4


def test_an_embedding_model_that_keeps_refusing_names_the_role_it_needs(
    kb, index_env, model_server
):
    _, env = index_env
    model_server.deny(1000)

    result = run_ingest(env, str(kb), "--no-progress")

    model_server.deny(0)
    assert result.returncode == 1
    assert "embedding model refused access (403)" in result.stderr
    assert "Cognitive Services OpenAI User" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_embedding_model_is_a_configuration_error(kb, search_server):
    result = run_ingest(search_env(search_server, "unused"), str(kb), "--no-progress")

    assert result.returncode == 2
    assert "embeds every chunk" in result.stderr


def test_make_ingest_runs_the_ingestion_module():
    result = subprocess.run(
        ["make", "-n", "ingest"], cwd=ROOT, capture_output=True, text=True, check=True
    )

    assert "-m chat_api.ingest" in result.stdout


# --- A built site -----------------------------------------------------------------------------

SITES = ROOT / "tests" / "fixtures" / "sites"


def _indexed_urls(search_server, name: str) -> set[str]:
    response = httpx.post(
        f"{search_server.url}/indexes('{name}')/docs/search.post.search",
        params={"api-version": "2024-07-01"},
        headers={"api-key": search_server.api_key},
        json={"search": "*", "select": "url", "top": 1000},
    )
    return {document["url"] for document in response.json()["value"]}


@pytest.fixture
def site(tmp_path):
    folder = tmp_path / "site"
    shutil.copytree(SITES / "docusaurus", folder)
    return folder


def _ingest_site(env, site, *more: str) -> subprocess.CompletedProcess[str]:
    return run_ingest(
        env, str(site), "--base-url", "https://rocket.example.org", "--no-progress", *more
    )


def test_a_built_site_is_indexed_section_by_section_at_its_pages_addresses(
    site, index_env, search_server
):
    name, env = index_env

    result = _ingest_site(env, site)

    assert result.returncode == 0, result.stderr
    assert _indexed_urls(search_server, name) == {
        "https://rocket.example.org/docs/deploy",
        "https://rocket.example.org/docs/deploy#build-the-image",
        "https://rocket.example.org/docs/deploy#environment",
        "https://rocket.example.org/docs/intro",
    }
    assert "Skipped site/404.html: a not-found page" in result.stdout
    assert "Skipped site/search/index.html: marked noindex" in result.stdout


def test_re_ingesting_an_unchanged_site_embeds_nothing(
    site, index_env, search_server, model_server
):
    _, env = index_env
    _ingest_site(env, site)
    model_server.reset()
    search_server.reset()

    again = _ingest_site(env, site)

    assert "0 added, 4 unchanged, 0 removed" in again.stdout
    assert model_server.stats()["embeddings"] == 0
    assert search_server.stats()["index_actions"] == 0


def test_a_changed_page_is_embedded_again(site, index_env, model_server):
    _, env = index_env
    _ingest_site(env, site)
    page = site / "docs" / "intro" / "index.html"
    page.write_text(page.read_text("utf-8").replace("small web apps", "tiny web apps"), "utf-8")
    model_server.reset()

    again = _ingest_site(env, site)

    assert "1 added, 3 unchanged, 1 removed" in again.stdout
    assert model_server.stats()["embeddings"] == 1


def test_a_page_gone_from_the_site_is_pruned(site, index_env, search_server):
    name, env = index_env
    _ingest_site(env, site)
    shutil.rmtree(site / "docs" / "intro")

    pruned = _ingest_site(env, site, "--prune")

    assert "1 removed" in pruned.stdout
    assert "https://rocket.example.org/docs/intro" not in _indexed_urls(search_server, name)
