"""Re-indexing a documentation site on deploy: the azd postdeploy hook (run with `sh` in a
scratch copy of the layout, `make ingest` stubbed), and the GitHub workflow a site's repository
copies (keyless, with OpenID Connect)."""

from __future__ import annotations

import pytest
import yaml

from tests.infra.conftest import ROOT
from tests.infra.test_infra_hooks import run_hook, scratch  # noqa: F401 - the fixture

pytestmark = pytest.mark.infra

SEARCH = {"AZURE_SEARCH_ENDPOINT": "https://srch.example.net", "AZURE_SEARCH_INDEX": "docs"}
TEMPLATE = ROOT / "docs" / "workflows" / "reindex-site.yml"


def test_azd_runs_the_postdeploy_hook_on_both_platforms():
    hooks = yaml.safe_load((ROOT / "azure.yaml").read_text("utf-8"))["hooks"]["postdeploy"]

    assert hooks["posix"]["run"] == "scripts/postdeploy.sh"
    assert hooks["windows"]["run"] == "scripts/postdeploy.ps1"
    assert (ROOT / "scripts" / "postdeploy.ps1").is_file()


def test_without_a_site_the_hook_indexes_nothing(scratch):  # noqa: F811
    result = run_hook(scratch, "postdeploy.sh", **SEARCH)

    assert result.returncode == 0, result.stderr
    assert "Site re-indexing skipped" in result.stdout
    assert not (scratch / "ingest.log").exists()


def test_without_azure_search_the_hook_says_what_it_needs(scratch):  # noqa: F811
    result = run_hook(scratch, "postdeploy.sh", SITE_DIR="site")

    assert result.returncode == 0
    assert "USE_AZURE_SEARCH" in result.stderr
    assert not (scratch / "ingest.log").exists()


def test_a_built_site_is_re_indexed_at_its_address_and_pruned(scratch):  # noqa: F811
    result = run_hook(
        scratch,
        "postdeploy.sh",
        SITE_DIR="site",
        SITE_BASE_URL="https://docs.example.com",
        **SEARCH,
    )

    assert result.returncode == 0, result.stderr
    assert (scratch / "ingest.log").read_text("utf-8").split() == [
        "ingested",
        "docs",
        "site",
        "--base-url",
        "https://docs.example.com",
        "--prune",
        "--no-progress",
        "--wait-for-access",
        "300",
    ]


def test_a_live_site_is_re_indexed_by_its_sitemap(scratch):  # noqa: F811
    result = run_hook(
        scratch, "postdeploy.sh", SITE_SITEMAP_URL="https://docs.example.com/sitemap.xml", **SEARCH
    )

    assert result.returncode == 0, result.stderr
    logged = (scratch / "ingest.log").read_text("utf-8")
    assert "--sitemap https://docs.example.com/sitemap.xml --prune" in logged


def test_the_site_workflow_signs_in_with_oidc_and_no_secret():
    text = TEMPLATE.read_text("utf-8")
    workflow = yaml.safe_load(text)

    assert "secrets." not in text
    assert workflow["permissions"]["id-token"] == "write"
    steps = workflow["jobs"]["reindex"]["steps"]
    login = next(s for s in steps if s.get("uses", "").startswith("azure/login@"))
    assert set(login["with"]) == {"client-id", "tenant-id", "subscription-id"}


def test_the_site_workflow_re_indexes_after_the_login_and_prunes():
    steps = yaml.safe_load(TEMPLATE.read_text("utf-8"))["jobs"]["reindex"]["steps"]
    names = [s.get("uses", "") or s.get("run", "") for s in steps]

    login = next(i for i, n in enumerate(names) if n.startswith("azure/login@"))
    ingest = next(i for i, n in enumerate(names) if "python -m chat_api.ingest" in n)
    assert login < ingest
    assert "--base-url" in names[ingest]
    assert "--prune" in names[ingest]
