# Two commands on a fresh machine with Python 3.11: `make demo` and `make test`.
# Both install exact, hash-checked versions from requirements/*.lock (`make lock` refreshes them).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip -qq --disable-pip-version-check
RUN_STAMP := $(VENV)/.run-installed
TEST_STAMP := $(VENV)/.test-installed
LATEST := .venv-latest
UV := uv==0.13.9

.PHONY: setup demo test test-latest lint check-trees readme bench lock clean

$(BIN)/python:
	@echo "Setting up $(VENV) (once) ..." >&2
	@$(PYTHON) -m venv $(VENV)

# Runtime only: what `nsm` needs to run, pinned.
$(RUN_STAMP): requirements/run.lock pyproject.toml | $(BIN)/python
	@$(PIP) install --require-hashes -r requirements/run.lock
	@$(PIP) install --no-deps -e .
	@touch $@

# Test tools and every optional extra the tests exercise, pinned.
$(TEST_STAMP): requirements/test.lock $(RUN_STAMP)
	@$(PIP) install --require-hashes -r requirements/test.lock
	@touch $@

setup: $(TEST_STAMP)  ## create .venv with nsm, its test tools and extras (pinned)

demo: $(RUN_STAMP)  ## render the bundled example trees and rank their levers
	@$(BIN)/nsm eval trees/arpu.yaml
	@$(BIN)/nsm eval trees/arpu.yaml --scenario li_plan
	@$(BIN)/nsm eval trees/mau.yaml
	@$(BIN)/nsm rank-levers trees/mau.yaml --points
	@$(BIN)/nsm eval trees/orders.yaml --trend
	@$(BIN)/nsm eval trees/regions.yaml --by region
	@$(BIN)/nsm rank-levers trees/regions.yaml --by region --top 4

test: $(TEST_STAMP)  ## run the test suite against the pinned versions
	$(BIN)/python -m pytest

# The newest releases pyproject.toml allows, in a venv of their own: drift shows up here first.
test-latest:  ## run the test suite against the newest allowed releases
	rm -rf $(LATEST)
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip --quiet install --upgrade -e '.[test]'
	$(LATEST)/bin/python -m pytest -p no:cacheprovider

lint: $(TEST_STAMP)  ## ruff over the code and the tests
	$(BIN)/python -m ruff check .

check-trees: $(RUN_STAMP)  ## the project's own trees pass nsm check --strict
	$(BIN)/nsm check --strict trees

# README.md's ```console blocks are what their commands print (see tests/readme_blocks.py).
readme: $(RUN_STAMP)  ## rewrite README.md's output blocks by running the commands they show
	$(BIN)/python tests/readme_blocks.py --write

# Refresh both lock files from pyproject.toml (needs the package index).
lock: | $(BIN)/python  ## re-resolve requirements/*.lock (exact versions with hashes)
	$(PIP) install $(UV)
	$(BIN)/uv pip compile pyproject.toml --extra test --universal --python-version 3.11 \
	  --generate-hashes --upgrade --quiet -o requirements/test.lock
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 \
	  --generate-hashes --constraint requirements/test.lock --quiet -o requirements/run.lock

clean:
	rm -rf $(VENV) $(LATEST) .pytest_cache .ruff_cache .hypothesis *.egg-info

bench: $(TEST_STAMP)  ## run the benchmark suite and write bench/results.md
	$(BIN)/python bench/run.py
