# The two set-up commands of the README are `make demo` and `make test`.
# Both create the environment on first use: torch==2.13.0 first (the CPU wheel),
# then the project in editable mode with its test extra.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.rather-installed
DEMO_OUT ?= demo-out

.PHONY: env demo test test-all bench clean

env: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=23" "setuptools>=64"
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

demo: $(STAMP)
	$(BIN)/rather demo --out $(DEMO_OUT)

test: $(STAMP)
	$(BIN)/python -m pytest

test-all: $(STAMP)
	$(BIN)/python -m pytest -m ""

bench: $(STAMP)
	$(BIN)/rather bench core

clean:
	rm -rf $(VENV) $(DEMO_OUT) build *.egg-info
