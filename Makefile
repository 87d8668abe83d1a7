# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint check clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/yangguang serve --db var/yangguang.db

test: $(STAMP)
	$(BIN)/python -m pytest

check: $(STAMP)
	$(BIN)/yangguang check

lint: $(STAMP)
	$(BIN)/ruff check engine server.py tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/bench_cases.py
	$(BIN)/python bench/bench_check.py

clean:
	rm -rf $(VENV) var/*.db .pytest_cache
