"""`make eval` with Azure AI Search configured: the questions go through the stand-in model (the
query, its embedding) and the stand-in Azure AI Search service, as the app's would."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from standins.processes import ROOT
from tests.conftest import model_env, search_env
from tests.integration.conftest import INDEX

QUESTIONS = [
    {"question": "What does the basic plan cost?", "answers": ["kb/pricing.md#basic-plan"]},
    {"question": "Are returns free?", "answers": ["kb/returns.md"]},
    {"question": "Explain photosynthesis", "answers": []},
]


def test_the_evaluation_searches_azure_ai_search_when_it_is_configured(
    filled_search, model_server, tmp_path
):
    questions = tmp_path / "questions.jsonl"
    questions.write_text("\n".join(json.dumps(q) for q in QUESTIONS) + "\n", "utf-8")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "OPENAI_"))},
        **model_env(model_server),
        **search_env(filled_search, INDEX),
    }
    searches = filled_search.stats()["searches"]

    result = subprocess.run(
        [sys.executable, "-m", "chat_api.evaluate", "--questions", str(questions), "--no-targets"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert "(azure retrieval): 2 answerable and 1 unanswerable questions" in result.stdout
    assert "  recall@3                           1.000" in result.stdout
    assert "  unanswerable questions declined    1.000" in result.stdout
    assert filled_search.stats()["searches"] == searches + 3
