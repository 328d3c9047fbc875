# make run   - install what is missing and serve the app at http://127.0.0.1:$(PORT)
# make test  - install what is missing and run the whole suite
# make bench - the benchmarks (not part of make test)

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 7071

.PHONY: run test lint bench ingest clean install web

# --- Python environment ------------------------------------------------------
$(VENV)/.installed: requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed

# --- Commands ------------------------------------------------------------------
run: install web
	$(PY) -m devhost --port $(PORT)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: install web lint
	$(PY) -m pytest

# --- Chat page (static_web/) ------------------------------------------------------
web:
	@true

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
