# The two set-up commands of the README are `make demo` and `make test`.
# Both create the environment on first use: torch==2.13.0 first (the CPU wheel),
# then the project in editable mode with its test extra.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.rather-installed
DEMO_OUT ?= demo-out

.PHONY: env browser demo test test-all bench clean

env: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=23" "setuptools>=64"
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

demo: $(STAMP)
	$(BIN)/rather demo --out $(DEMO_OUT)

# The report's browser test drives Debian's Chromium; installed here when missing,
# and skipped (with the reason) where it cannot be installed.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; } \
	    >/dev/null 2>&1; } || \
	  echo "make: Chromium could not be installed here; the report's browser test will be skipped"

test: $(STAMP) browser
	$(BIN)/python -m pytest

test-all: $(STAMP) browser
	$(BIN)/python -m pytest -m ""

bench: $(STAMP)
	$(BIN)/rather bench core

clean:
	rm -rf $(VENV) $(DEMO_OUT) build *.egg-info
