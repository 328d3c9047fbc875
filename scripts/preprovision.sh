#!/bin/sh
# azd preprovision hook (Linux, macOS): checks what would fail minutes into provisioning, and
# chooses the chat and embedding models the Azure OpenAI region offers this subscription and
# writes them into the azd environment (python -m scripts.choose_models; docs/deploy.md, "Which
# models azd up deploys"). Runs in its own small environment, .venv-azd, installed from
# requirements-azd.txt, made with the Python in $PYTHON (python3 by default).
set -eu

root=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
venv="$root/.venv-azd"
python=${PYTHON:-python3}

if [ ! -x "$venv/bin/python" ]; then
    if ! command -v "$python" >/dev/null 2>&1; then
        echo "The preprovision hook needs Python 3.11 or newer, and '$python' is not on the PATH." \
            "Install Python 3.11+ (or point PYTHON at one: PYTHON=python3.13 azd up)." >&2
        exit 1
    fi
    if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
        found=$("$python" -c 'import platform; print(platform.python_version())' 2>/dev/null || echo unknown)
        echo "The preprovision hook needs Python 3.11 or newer; '$python' is $found." \
            "Install Python 3.11+ (or point PYTHON at one: PYTHON=python3.13 azd up)." >&2
        exit 1
    fi
    if ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
        echo "The preprovision hook makes a virtual environment, and '$python' has no venv" \
            "module with pip (Debian and Ubuntu ship it apart: sudo apt install python3-venv)." >&2
        exit 1
    fi
    if ! "$python" -m venv "$venv"; then
        rm -rf "$venv"
        echo "Could not create $venv with '$python' (see above)." >&2
        exit 1
    fi
fi
# Install again only when the lock changed.
if ! cmp -s "$root/requirements-azd.txt" "$venv/requirements-azd.txt"; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$root/requirements-azd.txt"
    cp "$root/requirements-azd.txt" "$venv/requirements-azd.txt"
fi

cd "$root"
exec "$venv/bin/python" -m scripts.choose_models
