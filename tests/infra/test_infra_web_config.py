"""What `azd deploy` hands the SWA CLI for the page: the static_web folder (azure.yaml's `web`
project) with its build in dist/. The SWA CLI keeps whichever staticwebapp.config.json its walk
of that folder finds last, so the built page must hold the only one, and it must let the page
reach the deployed API (the API's origin in the Content-Security-Policy's connect-src).
Builds a scratch copy of the page with Vite, as `npm run build` does under `azd deploy`."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.infra.conftest import ROOT

pytestmark = pytest.mark.infra

WEB = ROOT / "static_web"
CONFIG_NAME = "staticwebapp.config.json"
API = "https://func-api-abc123.azurewebsites.net"
BUILD = "import { build } from 'vite'; await build({ root: process.cwd(), logLevel: 'silent' });"


def configs_under(folder: Path) -> list[str]:
    """Every config file the SWA CLI's walk of `folder` can meet (node_modules aside)."""
    return sorted(
        path.relative_to(folder).as_posix()
        for path in folder.rglob(CONFIG_NAME)
        if "node_modules" not in path.relative_to(folder).parts
    )


@pytest.fixture(scope="module")
def deployed_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of static_web/ built with the API's address in public/config.json."""
    if not (WEB / "node_modules" / "vite").is_dir() or shutil.which("node") is None:
        pytest.skip("the page's dependencies are not installed (make web)")
    copy = tmp_path_factory.mktemp("page") / "static_web"
    shutil.copytree(WEB, copy, ignore=shutil.ignore_patterns("node_modules", "dist"))
    (copy / "node_modules").symlink_to(WEB / "node_modules", target_is_directory=True)
    (copy / "public" / "config.json").write_text(json.dumps({"apiBaseUrl": API}), "utf-8")
    subprocess.run(["node", "--input-type=module", "-e", BUILD], cwd=copy, check=True, timeout=300)
    return copy


def test_azd_deploys_the_static_web_folder_built_into_dist():
    web = yaml.safe_load((ROOT / "azure.yaml").read_text(encoding="utf-8"))["services"]["web"]
    assert (web["project"], web["dist"]) == ("static_web", "dist")


def test_the_page_source_holds_no_web_config_of_the_deployed_name():
    assert [name for name in configs_under(WEB) if not name.startswith("dist/")] == []


def test_the_deployed_folder_holds_exactly_one_web_config_in_the_build(deployed_folder):
    assert configs_under(deployed_folder) == [f"dist/{CONFIG_NAME}"]


def test_the_deployed_web_config_lets_the_page_reach_the_api(deployed_folder):
    config = json.loads((deployed_folder / "dist" / CONFIG_NAME).read_text(encoding="utf-8"))
    directives = [d.strip() for d in config["globalHeaders"]["Content-Security-Policy"].split(";")]
    assert f"connect-src 'self' {API}" in directives
