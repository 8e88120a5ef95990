# jitbox: every target creates and uses the project's own virtual environment in .venv
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUNTIME := $(VENV)/.runtime

.PHONY: demo test lint typecheck imports unit fuzz bench serve screenshots clean

# the dev environment (tests, linters, real clients): everything
$(STAMP): pyproject.toml setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP) $(RUNTIME)

# the runtime only (what `make demo` and `make serve` need): no dev extras
$(RUNTIME): pyproject.toml setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUNTIME)

demo: $(RUNTIME)
	$(BIN)/jitbox demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# the layers (jitbox > pim_fake | scim_server > fakekit > sim) as import-linter contracts in pyproject.toml
imports: $(STAMP)
	$(BIN)/lint-imports

unit: $(STAMP)
	$(BIN)/python -m pytest -n 2 -m "not slow"

test: lint typecheck imports unit

# every slow test; tests/test_fuzz_apis.py appends one JSON line per API (requests, status_5xx) to .fuzz-report.jsonl
fuzz: $(STAMP)
	rm -f .fuzz-report.jsonl
	JITBOX_FUZZ_REPORT=.fuzz-report.jsonl HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -n 2 -m slow; \
	status=$$?; echo "API fuzz counts:"; cat .fuzz-report.jsonl 2>/dev/null; exit $$status

bench: $(STAMP)
	$(BIN)/python -m bench

# PNGs of My roles, the access portal and the dashboard at the seed's key instants (needs Debian's chromium)
screenshots: $(STAMP)
	$(BIN)/python scripts/screenshots.py --out docs/screenshots

serve: $(RUNTIME)
	$(BIN)/jitbox serve

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache
