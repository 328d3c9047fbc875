"""Configuration has no dead ends: every variable the settings read is documented in
docs/configuration.md and listed in local.settings.sample.json, nothing is documented or listed
that is not read, and every setting is used by the app."""

from __future__ import annotations

import json
import re
from pathlib import Path

from chat_api.settings import Limits, Settings

ROOT = Path(__file__).resolve().parents[2]
# What the Functions host itself reads from local.settings.json, not the app.
PLATFORM = {"AzureWebJobsStorage", "FUNCTIONS_WORKER_RUNTIME", "PYTHON_ENABLE_INIT_INDEXING"}
# What Azure sets for the app (never the user), read to tell where the app runs.
SET_BY_AZURE = {"WEBSITE_INSTANCE_ID"}


class RecordingEnvironment(dict[str, str]):
    """An empty environment that remembers every name asked of it."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key, default=None):
        self.asked.add(key)
        return super().get(key, default)


def _read_by_settings() -> set[str]:
    env = RecordingEnvironment()
    Settings.from_env(env)
    return env.asked


def test_every_variable_read_is_documented_and_every_documented_one_is_read():
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]{2,})`", _text("docs/configuration.md")))

    assert _read_by_settings() == documented


def test_the_sample_local_settings_list_exactly_the_variables_read():
    listed = set(json.loads(_text("local.settings.sample.json"))["Values"]) - PLATFORM

    assert listed == _read_by_settings() - SET_BY_AZURE


def test_the_sample_local_settings_grant_cors_to_listed_origins_only():
    origins = json.loads(_text("local.settings.sample.json"))["Host"]["CORS"].split(",")

    assert origins
    assert all(origin.startswith(("http://localhost:", "http://127.0.0.1:")) for origin in origins)


def test_every_setting_is_used_by_the_app():
    sources = "\n".join(
        path.read_text("utf-8")
        for path in [*(ROOT / "chat_api").rglob("*.py"), *(ROOT / "devhost").rglob("*.py")]
        if path.name != "settings.py"
    ) + _text("function_app.py")
    # A field may be read through one of the settings' own properties (`embedding_model`).
    derived = _text("chat_api/settings.py")
    names = [name for name in Settings.model_fields if name != "limits"]
    names += [f"limits.{name}" for name in Limits.model_fields]
    unused = [
        name
        for name in names
        if f".{name.rsplit('.', 1)[-1]}" not in sources and f"self.{name}" not in derived
    ]

    assert unused == []


def _text(relative: str) -> str:
    return (ROOT / relative).read_text("utf-8")
