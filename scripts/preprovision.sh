#!/bin/sh
# azd preprovision hook (Linux, macOS): chooses the chat and embedding models the Azure OpenAI
# region offers this subscription and writes them into the azd environment
# (python -m scripts.choose_models; docs/deploy.md, "Which models azd up deploys").
# Runs in its own small environment, .venv-azd, installed from requirements-azd.txt.
set -eu

root=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
venv="$root/.venv-azd"
python=${PYTHON:-python3}

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
# Install again only when the lock changed.
if ! cmp -s "$root/requirements-azd.txt" "$venv/requirements-azd.txt"; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$root/requirements-azd.txt"
    cp "$root/requirements-azd.txt" "$venv/requirements-azd.txt"
fi

cd "$root"
exec "$venv/bin/python" -m scripts.choose_models
