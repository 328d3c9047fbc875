# make run   - install what is missing and serve the app at http://127.0.0.1:$(PORT)
#              (RUNTIME=functions: the API in the Azure Functions Python runtime, Python 3.13)
# make test  - install what is missing and run the whole suite
# make bench - the benchmarks (not part of make test)
# make test-stress - the suite STRESS_RUNS times (default 10) with every core busy; reports
#               each test that failed at least once (not part of make test)
# make ingest - fill the search index from docs/ (or INGEST_ARGS="FOLDER ... [--prune]", a built
#               site: INGEST_ARGS="SITE --base-url https://docs.example.com", a live one:
#               INGEST_ARGS="--sitemap URL"): Azure AI Search when AZURE_SEARCH_ENDPOINT is set,
#               else the local index file
# make eval  - retrieval quality on a labelled question set (docs/eval/questions.jsonl, or
#               EVAL_ARGS="--questions FILE"): recall@3, MRR, unanswerable questions declined,
#               answerable ones wrongly declined; fails when one misses its target
# make report - what visitors asked, per UTC day (REPORT_ARGS="--days N", default 7): answers,
#               declined questions, thumbs up and down, the pages they came from, and the kept
#               questions (CHAT_KEEP_QUESTIONS=true). Reads the Azure table when the deployment's
#               values are loaded (AZURE_STORAGE_TABLE_ENDPOINT), else asks the app `make run`
#               serves at REPORT_URL (default http://127.0.0.1:7071)

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 7071

.PHONY: run test test-stress lint bench ingest eval report clean install web

# --- Python environment ------------------------------------------------------
$(VENV)/.installed: requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed

# checkov for the infrastructure checks, in its own environment: its pins clash with the app's.
$(VENV)-infra/.installed: requirements-infra.txt
	@test -x $(VENV)-infra/bin/python || $(PYTHON) -m venv $(VENV)-infra
	$(VENV)-infra/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-infra.txt
	@touch $@

# The Azure Functions Python runtime (azure-functions-runtime, Python 3.13+) runs function_app.py
# in the tests and in `make bench` as it does in Azure, behind a stand-in Functions host. It needs
# the Python that Azure runs (3.13; a 3.14 serves too): from the PATH, or pyenv's. Without one the
# environment stays empty and those tests are skipped. requirements-functions.txt is its lock:
# requirements.txt resolved for Python 3.13 (azure-functions 2.x and the pinned runtime) + protobuf.
PYTHON_FUNCTIONS ?= $(shell for v in 3.13 3.14; do \
	  if python$$v -c '' 2>/dev/null; then command -v python$$v; break; fi; \
	  p=$$(pyenv root 2>/dev/null)/versions/$$(pyenv versions --bare 2>/dev/null | grep "^$$v" | tail -1)/bin/python3; \
	  if [ -x "$$p" ]; then echo "$$p"; break; fi; \
	done)

$(VENV)-functions/.installed: requirements-functions.txt
	@mkdir -p $(VENV)-functions
	@if [ -n "$(PYTHON_FUNCTIONS)" ]; then \
	  test -x $(VENV)-functions/bin/python || $(PYTHON_FUNCTIONS) -m venv $(VENV)-functions; \
	  $(VENV)-functions/bin/python -m pip install --quiet --disable-pip-version-check \
	    -r requirements-functions.txt; \
	fi
	@touch $@

# --- Commands ------------------------------------------------------------------
# `make run RUNTIME=functions`: the API (no page) inside the Azure Functions Python runtime, as
# Azure runs it, behind the stand-in Functions host the tests use. Needs Python 3.13.
ifeq ($(RUNTIME),functions)
run: $(VENV)-functions/.installed
	@test -x $(VENV)-functions/bin/python || { \
	  echo "RUNTIME=functions needs Python 3.13: install it, or set PYTHON_FUNCTIONS" >&2; exit 1; }
	@echo "Serving the API at http://127.0.0.1:$(PORT)/api in the Azure Functions Python runtime"
	$(VENV)-functions/bin/python -m standins.functions_host --port $(PORT)
else
run: install web
	$(PY) -m devhost --port $(PORT)
endif

ingest: install
	$(PY) -m chat_api.ingest $(INGEST_ARGS)

eval: install
	$(PY) -m chat_api.evaluate $(EVAL_ARGS)

report: install
	$(PY) -m chat_api.visits $(if $(REPORT_URL),--url $(REPORT_URL)) $(REPORT_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# What the suite needs, made side by side (the installs wait on the network and the disk more
# than on the CPU); each step's output is printed whole once it ends. Then the suite on
# TEST_WORKERS pytest-xdist workers, each test file whole on one worker, so a module's fixtures
# (an app process, a Functions runtime) start once. Most tests wait on sockets and other
# processes, so more workers than cores pay off; the files are handed out in collection order,
# the slow browser and integration files first, the many quick unit files last (docs/testing.md).
TEST_JOBS    ?= 6
TEST_WORKERS ?= 4
PYTEST_PARALLEL := -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

.PHONY: test-needs
test-needs: install web lint $(VENV)-infra/.installed $(VENV)-functions/.installed browser-deps \
            web-test azurite

test:
	@$(MAKE) --no-print-directory -j $(TEST_JOBS) --output-sync=target test-needs
	$(PY) -m pytest $(PYTEST_PARALLEL)

# The suite, run again and again while one CPU-burning process per core runs beside it.
STRESS_RUNS ?= 10
test-stress: install web $(VENV)-infra/.installed $(VENV)-functions/.installed browser-deps azurite
	$(PY) scripts/stress_tests.py --runs $(STRESS_RUNS) -- $(PYTEST_PARALLEL)

bench: install web $(VENV)-functions/.installed
	$(PY) -m bench.run --soak $(BENCH_ARGS)

# --- Chat page (static_web/) ------------------------------------------------------
.PHONY: browser-deps web-test
WEB     := static_web
# Everything the build reads: a change to one of these rebuilds the page, nothing else does.
WEB_SRC := $(WEB)/index.html $(WEB)/404.html $(WEB)/vite.config.js $(WEB)/swa-config.js $(WEB)/package.json \
           $(WEB)/staticwebapp.template.json $(shell find $(WEB)/src $(WEB)/public -type f 2>/dev/null)

# npm ci only when the lock file changed.
$(WEB)/node_modules/.installed: $(WEB)/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "The chat page needs Node.js 22 LTS (or 20.19+) with npm" >&2; exit 1; }
	cd $(WEB) && npm ci --no-audit --no-fund
	@touch $@

# The build is its own stamp: a second run with nothing changed does nothing.
$(WEB)/dist/index.html: $(WEB)/node_modules/.installed $(WEB_SRC)
	cd $(WEB) && npm run --silent build
	@touch $@

web: $(WEB)/dist/index.html

# The page's unit tests (stream reader, reveal scheduler, ...) and its size budget.
web-test: $(WEB)/node_modules/.installed
	cd $(WEB) && npm test

# Headless Chromium for the browser tests: one on the PATH, else Debian's package when root,
# else Playwright's own build (only that one needs the Python environment first).
SYSTEM_CHROMIUM := $(or $(CHROMIUM_PATH),$(shell command -v chromium || command -v chromium-browser))
APT_AS_ROOT     := $(shell [ "$$(id -u)" = 0 ] && command -v apt-get)
browser-deps: $(if $(SYSTEM_CHROMIUM)$(APT_AS_ROOT),,install)
	@if [ -n "$$CHROMIUM_PATH" ] || command -v chromium >/dev/null 2>&1 \
	    || command -v chromium-browser >/dev/null 2>&1; then \
	  true; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	    && echo "Installing Chromium for the browser tests" \
	    && apt-get update -qq \
	    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; then \
	  true; \
	else \
	  echo "Installing Playwright's Chromium for the browser tests"; \
	  $(PY) -m playwright install chromium; \
	fi

# Azurite, the Azure Storage emulator, for the tests of the shared limits store (npm ci only
# when its lock file changed; no install scripts run).
AZURITE := standins/azurite
$(AZURITE)/node_modules/.installed: $(AZURITE)/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "The tests need Node.js 20+ with npm for Azurite" >&2; exit 1; }
	cd $(AZURITE) && npm ci --no-audit --no-fund --ignore-scripts
	@touch $@

.PHONY: azurite
azurite: $(AZURITE)/node_modules/.installed

clean:
	rm -rf $(VENV) $(VENV)-infra $(VENV)-functions .pytest_cache .ruff_cache $(WEB)/node_modules $(WEB)/dist \
	  $(AZURITE)/node_modules
