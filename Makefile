# Two commands set everything up: `make run` (the whole service) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint migrate bench clean

$(STAMP): pyproject.toml clients/python/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet -e ./clients/python
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/greenlight run

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Greenlight against the limit (no-op Celery, trivial FastAPI) and a naive pipeline: bench/README.md.
bench: $(STAMP)
	$(BIN)/python -m bench $(if $(QUICK),--quick,)

migrate: $(STAMP)
	$(BIN)/greenlight migrate

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
