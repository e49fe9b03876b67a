# Sportello: `make run` serves on http://127.0.0.1:8000, `make test` runs the tests,
# `make trust` the trust suite (tests/trust).
VENV    ?= .venv
PY      := $(VENV)/bin/python
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-stamp
PYTHON  ?= python3

.PHONY: install run test test-at trust check lint typecheck bench clean clean-data

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

# One worker per core (`--dist loadfile`: a module's tests stay together, with its fixtures).
test: install
	$(BIN)/pytest -n auto --dist loadfile --ignore=tests/trust

# The whole suite with the real clock shifted to another moment (what a fresh clone meets on
# that day): make test-at AT=2027-03-28T03:30:00+02:00
test-at: install
	SPORTELLO_CLOCK_OFFSET=$$($(PY) -c 'import sys, datetime as d; print((d.datetime.fromisoformat(sys.argv[1]) - d.datetime.now(d.UTC)).total_seconds())' '$(AT)') \
		$(BIN)/pytest tests

# The trust suite: hostile input, prompt injection, API fuzzing, access control, races,
# crashes and faults, privacy. Ends with a table of cases tried and failures per category.
trust: install
	$(BIN)/pytest tests/trust

lint: install
	$(BIN)/ruff check sportello tests bench
	$(BIN)/ruff format --check sportello tests bench

typecheck: install
	$(BIN)/mypy

check: lint typecheck test trust

bench: install
	$(PY) -m bench.run

# `clean` never touches data/ (database, index, uploads): `clean-data` does, after asking.
clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

clean-data:
	@test -e data || { echo "data/ does not exist: nothing to delete."; exit 0; }; \
	printf 'Delete data/ (database, index, staff uploads) for good? Type "yes": '; \
	read answer; \
	if [ "$$answer" = yes ]; then rm -rf data && echo "data/ deleted."; else echo "Kept data/."; fi
