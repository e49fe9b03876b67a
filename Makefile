# Sportello: `make run` serves on http://127.0.0.1:8000, `make test` runs every test.
VENV    ?= .venv
PY      := $(VENV)/bin/python
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-stamp
PYTHON  ?= python3

.PHONY: install run test check lint typecheck bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first, pinned: a looser pin pulls a multi-GB CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/sportello db upgrade
	$(BIN)/sportello kb ingest
	$(BIN)/sportello desk seed-demo --if-empty
	$(BIN)/sportello serve

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check sportello tests bench
	$(BIN)/ruff format --check sportello tests bench

typecheck: install
	$(BIN)/mypy

check: lint typecheck test

bench: install
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
