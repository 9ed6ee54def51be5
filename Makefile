# The two commands a newcomer needs: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint pytest venv clean bench-seed bench-cdc bench-api bench-dbt

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

## Run the pipeline end to end: services, shop, API, ingestion, dbt, docs.
demo: venv
	$(BIN)/lakeshop demo

## Everything the project checks: lint, types, and the test suite (which starts its own
## private services, runs the API over HTTP and `dbt build` on DuckDB).
test: venv lint pytest

lint: venv
	$(BIN)/ruff check ingestion pytests bench
	$(BIN)/ruff format --check ingestion pytests bench
	$(BIN)/mypy

pytest: venv
	$(BIN)/pytest

bench-seed: venv
	$(BIN)/python bench/seed_1m.py

bench-cdc: venv
	$(BIN)/python bench/cdc.py

bench-api: venv
	$(BIN)/python bench/api.py

bench-dbt: venv
	$(BIN)/python bench/dbt_scale.py

clean:
	rm -rf .lakeshop target logs .pytest_cache .mypy_cache .ruff_cache
