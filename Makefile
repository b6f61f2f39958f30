# Two commands from a fresh clone: `make demo` and `make test`. Everything they need is installed
# into .venv by the targets below, so a machine needs only Python 3.11+, pip and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo serve test test-fast docs lint typecheck bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/calroulette match --config members.toml
	$(BIN)/calroulette send --config members.toml

# The member pages of the demo community at http://127.0.0.1:8000 (Ctrl-C stops). The key that
# signs links is made once into .secret-key (a real server keeps its own: docs/organizer.md).
serve: $(STAMP)
	@test -s .secret-key || (umask 077 && $(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(32))' > .secret-key)
	CALROULETTE_SECRET_KEY="$$(cat .secret-key)" $(BIN)/calroulette serve --config members.toml

test: $(STAMP)
	$(BIN)/python -m pytest -q
	$(MAKE) --no-print-directory lint typecheck

# The tests that need no subprocess, server process or process pool: a quick loop while editing.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

# Rewrite the generated parts of README.md and docs/organizer.md (example output, command
# reference) from the program; tests/test_docs.py fails when they are out of date.
docs: $(STAMP)
	$(BIN)/cog -r -I docs README.md docs/organizer.md

lint: $(STAMP)
	$(BIN)/ruff check src tests bench docs
	$(BIN)/ruff format --check src tests bench docs
	@out=$$($(BIN)/lint-imports --no-cache 2>&1) && echo "lint-imports: contracts kept" || { echo "$$out"; exit 1; }

typecheck: $(STAMP)
	$(BIN)/mypy

# The benchmarks of docs/benchmarks.md, one command each: `make bench` (end to end, 100 to 10,000
# members with the naive baseline, ~15 min on two cores; ARGS="--sizes 100,1000" for a quick
# one), `make bench-phases` (where a `run`'s CPU goes), `make bench-fetch`, `make bench-matching`,
# `make bench-startup`; the generator and the baseline alone: `make bench-community
# ARGS="1000 --out DIR"`, `make bench-naive ARGS=FILE`.
bench: $(STAMP)
	$(BIN)/python bench/e2e.py $(ARGS)

bench-%: $(STAMP) bench/%.py
	$(BIN)/python bench/$*.py $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .cache outbox *.sqlite *.sqlite-wal *.sqlite-shm *.send-lock *.lock .secret-key tests/js/node_modules
