# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DB ?= var/yangguang.db
# the catalogue to serve: this repository by default; e.g. make run CATALOG=examples/county DB=var/county.db
CATALOG ?= .

.PHONY: run test bench bench-compare lint check clean messages schemas

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

# demo-users creates the demo staff accounts once (later runs leave them alone) and
# prints their usernames, roles, departments and password before the server starts.
run: $(STAMP)
	$(BIN)/yangguang demo-users --db $(DB) --catalog $(CATALOG)
	$(BIN)/yangguang serve --db $(DB) --catalog $(CATALOG)

# the browser tests need Chromium and a CJK font: installed here when possible (root with apt-get),
# else make stops before any test with the command to run (scripts/check-browser-deps).
# Then the suite again on PostgreSQL (every test database a PostgreSQL one; the browser tests stay on
# SQLite) when a server can be had: $$YANGGUANG_TEST_PG, or a throwaway cluster the tests start with
# Debian's initdb (scripts/pg-cluster available); otherwise one line says why it was skipped, or, with
# YANGGUANG_REQUIRE_PG set (.ci/run), make fails.
PG_TESTS ?= tests/unit tests/web tests/acceptance
test: $(STAMP)
	bash scripts/check-browser-deps
	$(BIN)/python -m pytest
	@if [ -n "$${YANGGUANG_TEST_PG:-}" ] || why="$$(bash scripts/pg-cluster available)"; then \
	  echo "$(BIN)/python -m pytest -q --store=postgresql $(PG_TESTS)"; \
	  $(BIN)/python -m pytest -q --store=postgresql $(PG_TESTS); \
	elif [ -n "$${YANGGUANG_REQUIRE_PG:-}" ]; then \
	  echo "make test: YANGGUANG_REQUIRE_PG is set but no PostgreSQL server can be started: $$why" >&2; exit 1; \
	else \
	  echo "make test: the PostgreSQL run was skipped: $$why (set YANGGUANG_TEST_PG=postgresql://user@host:port)"; \
	fi

check: $(STAMP)
	$(BIN)/yangguang check --catalog $(CATALOG)

# lint-imports checks the architecture: the layers, no cycles, no private names across modules
# ([tool.importlinter] in pyproject.toml; its own contract types are in scripts/import_contracts.py)
lint: $(STAMP)
	$(BIN)/ruff check engine server.py tests bench scripts
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache --no-logo

bench: $(STAMP)
	$(BIN)/python bench/bench_cases.py
	$(BIN)/python bench/bench_check.py
	$(BIN)/python bench/bench_web.py
	$(BIN)/python bench/bench_supervision.py
	$(BIN)/python bench/bench_overlay.py
	$(BIN)/python bench/bench_search.py
	$(BIN)/python bench/bench_whatif.py
	$(BIN)/python bench/bench_interchange.py
	$(BIN)/python bench/bench_load.py --seconds 30

# every benchmark on an earlier commit and on this checkout, side by side (e.g. after a refactoring):
# make bench-compare REF=5dc81e1 [BENCHES="bench_check bench_web"]
bench-compare: $(STAMP)
	bash scripts/bench-compare $(REF) $(BENCHES)

# re-extract every string marked for translation and merge it into each language's .po
# (then translate the new entries; tests/web/test_i18n.py fails while any is untranslated)
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ --no-location --no-wrap --sort-output --omit-header -o engine/locale/messages.pot engine
	$(BIN)/pybabel update -i engine/locale/messages.pot -d engine/locale -D messages --no-fuzzy-matching --no-wrap

# schema/override.schema.json is generated from schema/item.schema.json (engine/catalogue/override_schema.py);
# tests/unit/catalogue/test_schema_tools.py fails while it is out of date
schemas: $(STAMP)
	$(BIN)/python -m engine.catalogue.override_schema

clean:
	rm -rf $(VENV) var/*.db var/*.db-wal var/*.db-shm .pytest_cache
