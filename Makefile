# The two commands a newcomer needs: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SQL_DIRS := models macros tests analyses
# apt-get as root, else through sudo
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: demo test test-fast lint quality compile-offline browser node-tools pytest venv clean soak bench-seed bench-cdc bench-api bench-dbt bench-freshness bench-dashboard

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

## Run the pipeline end to end: services, shop, API, ingestion, dbt, docs.
demo: venv
	$(BIN)/lakeshop demo

## Everything the project checks: the pre-commit hooks over every file (sqlfluff, ruff,
## mypy, YAML, private keys), the dbt quality gate, and the test suite (which starts its own
## private services, runs the API over HTTP, `dbt build` on DuckDB and PostgreSQL, and the
## docs site in headless Chromium).
test: venv browser node-tools lint quality pytest

## The pre-commit hooks over every tracked file (the same hooks run on `git commit`), then
## sqlfluff again with the Redshift and SQL Server branches rendered, in their dialects.
lint: venv
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/pre-commit run --all-files --show-diff-on-failure
	LAKESHOP_SQLFLUFF_TARGET=redshift $(BIN)/sqlfluff lint --dialect redshift --processes 0 $(SQL_DIRS)
	LAKESHOP_SQLFLUFF_TARGET=sqlserver $(BIN)/sqlfluff lint --dialect tsql --processes 0 $(SQL_DIRS)

## dbt project quality gate: dbt-score on the manifest, thresholds in pyproject.toml.
quality: venv
	$(BIN)/lakeshop quality

## Render every model for Redshift and SQL Server without a connection (profiles.yml.example).
compile-offline: venv
	$(BIN)/lakeshop dbt compile --target redshift --no-populate-cache --vars '{offline_compile: true}' --quiet
	$(BIN)/lakeshop dbt compile --target sqlserver --no-populate-cache --vars '{offline_compile: true}' --quiet
	$(BIN)/lakeshop dbt compile --target redshift --no-populate-cache --vars '{offline_compile: true, offline_incremental: true}' --quiet
	$(BIN)/lakeshop dbt compile --target sqlserver --no-populate-cache --vars '{offline_compile: true, offline_incremental: true}' --quiet

## Debian's Chromium for the docs-site browser test (playwright drives it; its own browser
## download cannot work offline). Installs with apt when missing.
browser:
	@command -v chromium >/dev/null || { \
	  echo "installing Debian chromium for the browser tests"; \
	  $(SUDO) apt-get install -y -qq chromium >/dev/null || { \
	    $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null; }; }

## From npm: json-server, the third-party API server the API source is tested against, and
## Azurite 3.35.0 (the newest on Node 20), the Azure Blob server the lake copy is tested on.
node-tools:
	@test -x $(VENV)/node/node_modules/.bin/json-server -a -x $(VENV)/node/node_modules/.bin/azurite-blob || \
	  npm install --no-audit --no-fund --silent --prefix $(VENV)/node json-server@0.17.4 azurite@3.35.0

## Two workers (PYTEST_WORKERS=0 runs serially): each takes whole test modules, longest first
## (pytests/conftest.py), with services and dbt artefacts of its own.
PYTEST_WORKERS ?= 2
pytest: venv
	$(BIN)/pytest --durations=30 $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder)

## The tests that need no server (no MariaDB, PostgreSQL, S3 or browser): about 2 minutes.
test-fast: venv
	$(BIN)/pytest -q pytests/test_dbt_static.py pytests/test_generator.py pytests/test_orchestration_alerts.py pytests/test_landing_order.py pytests/test_api_canonical_json.py pytests/test_cli_help.py pytests/test_run_report_scope.py

## The CDC generator for as long as asked, on a private MariaDB: seeds, statements, DDL, kills
## and findings (each with its shrunk reproduction as SQL). make soak MINUTES=60
MINUTES ?= 60
soak: venv
	$(BIN)/python -m pytests.cdc_soak --minutes $(MINUTES)

bench-seed: venv
	$(BIN)/python bench/seed_1m.py

bench-cdc: venv
	$(BIN)/python bench/cdc.py

bench-api: venv
	$(BIN)/python bench/api.py

bench-dbt: venv
	$(BIN)/python bench/dbt_scale.py

bench-freshness: venv
	$(BIN)/python bench/freshness.py

clean:
	rm -rf .lakeshop target logs .pytest_cache .mypy_cache .ruff_cache

## the dashboard's render times and the forecast on a built warehouse:
## make bench-dashboard HOME_DIR=/path/to/lakeshop/home (bench/dbt_scale.py --keep makes one)
bench-dashboard: venv
	$(BIN)/python bench/dashboard.py --home $(HOME_DIR)
