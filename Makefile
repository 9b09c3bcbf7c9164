# Two commands on a fresh machine with Python 3.11: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint check-trees bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)  ## create .venv and install nsm with its test tools

demo: $(STAMP)  ## render the bundled example trees and rank their levers
	$(BIN)/nsm eval trees/arpu.yaml
	$(BIN)/nsm eval trees/arpu.yaml --scenario li_plan
	$(BIN)/nsm eval trees/mau.yaml
	$(BIN)/nsm rank-levers trees/mau.yaml --points

test: $(STAMP)  ## run the test suite
	$(BIN)/python -m pytest

lint: $(STAMP)  ## ruff over the code and the tests
	$(BIN)/python -m ruff check .

check-trees: $(STAMP)  ## the project's own trees pass nsm check --strict
	$(BIN)/nsm check --strict trees

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis *.egg-info

bench: $(STAMP)  ## run the benchmark suite and write bench/results.md
	$(BIN)/python -m pip install --quiet -e '.[test,fast]'
	$(BIN)/python bench/run.py
