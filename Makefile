# The two commands a new user needs: `make run` and `make test`.
# Each creates .venv when missing and installs only when pyproject.toml or
# constraints.txt changed, so they are fast once set up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin

# Nothing phones home.
export MLFLOW_DISABLE_TELEMETRY := true
export DVC_NO_ANALYTICS := 1
export DO_NOT_TRACK := 1
export PATH := $(BIN):$(PATH)

.PHONY: run test test-fast lint ui install dev exp

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e .
	touch $@

# The tests cover both engines, so they install the Spark extra too (it needs Java to run).
$(VENV)/.installed-dev: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,spark]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
dev: $(VENV)/.installed-dev

## run: install, reproduce the pipeline on the configured data, print the headline numbers
run: install
	@churn check >/dev/null
	@dvc repro --quiet
	@churn summary

## exp: a DVC experiment with the venv on PATH, e.g. make exp ARGS="-S train.num_leaves=63"
exp: install
	@churn check >/dev/null
	dvc exp run $(ARGS)

## test: install with the dev and spark extras, lint, and run the whole test suite
test: lint
	pytest

## test-fast: the unit tests only (no DVC pipeline runs, no Spark), in about a minute
test-fast: dev
	pytest -m "not e2e and not spark"

## lint: ruff's lint rules and format check (pyproject.toml, [tool.ruff])
lint: dev
	ruff check .
	ruff format --check .

## ui: the MLflow UI over mlflow.db, on 127.0.0.1 only
ui: install
	MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false mlflow ui \
		--backend-store-uri sqlite:///$(CURDIR)/mlflow.db \
		--host 127.0.0.1 --port 5000 --workers 1
