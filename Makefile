# Two commands do all the set-up: `make demo` (the main job on the embedded defaults) and
# `make test` (the whole suite). Both create .venv; each installs only what it runs: the demo the
# package itself, the tests its [test] extras and pywb as well.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SUM := $(shell cat pyproject.toml | cksum | cut -d' ' -f1)
RUNTIME := $(VENV)/.runtime-$(SUM)
STAMP := $(VENV)/.installed-$(SUM)

.PHONY: install runtime system-packages demo test lint bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

runtime: $(RUNTIME)

$(RUNTIME): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	rm -f $(VENV)/.runtime-*; touch $@

install: $(STAMP)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	# pywb (the replay tool tests/test_warc.py checks WARC exports with) in an environment of its
	# own: its brotlipy would shadow the brotli module Scrapy decodes `br` answers with.
	$(PYTHON) -m venv $(VENV)/pywb
	$(VENV)/pywb/bin/python -m pip install --quiet 'pywb>=2.9,<3'
	rm -f $(VENV)/.installed-* $(VENV)/.runtime-*; touch $@ $(RUNTIME)

system-packages:
	./scripts/install-system-packages.sh

demo: runtime
	$(PY) scripts/demo.py

test: install system-packages
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

bench: install
	$(PY) bench/pipeline_vs_bare.py

clean:
	rm -rf $(VENV) var .pytest_cache
