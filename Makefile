# Two commands do all the set-up: `make demo` (the main job on the embedded defaults) and
# `make test` (the whole suite). Both create .venv and install everything they need.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: install system-packages demo test lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	# pywb (the replay tool tests/test_warc.py checks WARC exports with) in an environment of its
	# own: its brotlipy would shadow the brotli module Scrapy decodes `br` answers with.
	$(PYTHON) -m venv $(VENV)/pywb
	$(VENV)/pywb/bin/python -m pip install --quiet 'pywb>=2.9,<3'
	rm -f $(VENV)/.installed-*; touch $@

system-packages:
	./scripts/install-system-packages.sh

demo: install
	$(PY) scripts/demo.py

test: install system-packages
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .

bench: install
	$(PY) bench/pipeline_vs_bare.py

clean:
	rm -rf $(VENV) var .pytest_cache
