"""Shared fixtures: private services on free ports in a throwaway state folder."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from ingestion import config
from sandbox.services import S3, MariaDB, Postgres, free_port
from sandbox.shop.target import MySQLTarget

END_DATE = dt.date(2026, 10, 31)
# for modules that add live traffic (simulate, utc_timestamp()) and forecast: a history
# ending on the fixed END_DATE would leave a gap before today that the forecast refuses
LIVE_END_DATE = dt.datetime.now(dt.UTC).date()


OURS = ("LAKESHOP_", "DBT_", "PG")  # the settings lakeshop, dbt and libpq read
_ENV_AT_START = dict(os.environ)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Importing a test module must not change a setting every later test inherits
    (importing the Dagster definitions once set LAKESHOP_DUCKDB_PATH to ./.lakeshop for a whole
    xdist worker: stop 34's CI failure). Libraries' own import-time defaults (dlt's writer
    options, connectorx's paths) are meant process-wide and stay."""
    changed = sorted(k for k in {*os.environ, *_ENV_AT_START}
                     if k.startswith(OURS) and os.environ.get(k) != _ENV_AT_START.get(k))  # fmt: skip
    if changed:
        raise pytest.UsageError(
            "importing the test modules changed the environment: "
            + ", ".join(changed)
            + "; import what sets them inside a test or fixture"
        )


def make_home(prefix: str = "lakeshop-test-") -> Path:
    """A state folder the postgres user can enter (pytest's tmp dirs are 0700)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    return path


@pytest.fixture(scope="session")
def home() -> Iterator[Path]:
    path = make_home()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def ports() -> dict[str, int]:
    return {"mariadb": free_port(), "postgres": free_port(), "s3": free_port(), "api": free_port()}


@pytest.fixture(scope="session", autouse=True)
def _env(home: Path, ports: dict[str, int]) -> Iterator[None]:
    """Point every lakeshop setting at the test's own folder and ports."""
    saved = dict(os.environ)
    os.environ.update(
        LAKESHOP_HOME=str(home),
        LAKESHOP_MARIADB_PORT=str(ports["mariadb"]),
        LAKESHOP_POSTGRES_PORT=str(ports["postgres"]),
        LAKESHOP_S3_PORT=str(ports["s3"]),
        LAKESHOP_API_PORT=str(ports["api"]),
        # dbt's artefacts and logs per session: parallel workers (pytest -n) share the project
        DBT_TARGET_PATH=str(home / "target"),
        DBT_LOG_PATH=str(home / "logs"),
    )
    os.environ.pop("LAKESHOP_MYSQL_URL", None)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(autouse=True)
def _environ_per_test() -> Iterator[None]:
    """The settings a test sets end with it: one left behind steers every later test of the
    same xdist worker (stop 34's CI failure: a leaked LAKESHOP_DUCKDB_PATH sent `lakeshop
    forecast` to ./.lakeshop). Libraries' own import-time defaults are process-wide and stay."""
    saved = {k: v for k, v in os.environ.items() if k.startswith(OURS)}
    yield
    for k in [k for k in os.environ if k.startswith(OURS) and k not in saved]:
        del os.environ[k]
    os.environ.update(saved)


@pytest.fixture(scope="session")
def mariadb(home: Path, ports: dict[str, int]) -> Iterator[MariaDB]:
    service = MariaDB(home / "mariadb", ports["mariadb"])
    service.start()
    yield service
    service.stop()


@pytest.fixture(scope="session")
def postgres(home: Path, ports: dict[str, int]) -> Iterator[Postgres]:
    service = Postgres(home / "postgres", ports["postgres"])
    service.start()
    yield service
    service.stop()


@pytest.fixture(scope="session")
def s3(home: Path, ports: dict[str, int]) -> Iterator[S3]:
    service = S3(home / "s3", ports["s3"])
    service.start()
    yield service
    service.stop()


@pytest.fixture()
def workdir() -> Iterator[Path]:
    """A state folder of its own for one test: dlt pipelines, the DuckDB warehouse, the lake."""
    from pytests.cdc_support import env

    path = make_home("lakeshop-work-")
    with env(
        LAKESHOP_HOME=str(path),
        LAKESHOP_DUCKDB_PATH=str(path / "warehouse.duckdb"),
        LAKESHOP_WAREHOUSE="duckdb",
    ):
        yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture()
def shop_target(mariadb: MariaDB) -> MySQLTarget:
    return MySQLTarget(
        "127.0.0.1", mariadb.port, "root", "", config.SHOP_DATABASE, str(mariadb.socket)
    )


class WebhookReceiver(http.server.BaseHTTPRequestHandler):
    """A local alert receiver: every JSON body POSTed to it, in order."""

    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        WebhookReceiver.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture()
def webhook() -> Iterator[str]:
    WebhookReceiver.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), WebhookReceiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/lakeshop"
    server.shutdown()


# -- parallel runs ----------------------------------------------------------------------------
# `make test` runs `pytest -n 2 --dist loadfile`: each test module goes whole to one worker
# (its module fixtures are built once), which has its own services, state folder and dbt
# target (the fixtures above). Modules start longest first (seconds each module took in a
# full run), so the workers finish close together. (`--dist loadgroup` would allow
# finer groups, but pytest-xdist 3.8 tags a group on `item._nodeid`, which pytest 9 no longer
# reads: every test became its own group.)
SECONDS = {  # the full run of 2026-12-03 on 2 workers (other work beside it)
    "test_dbt_models.py": 870,
    "test_orchestration.py": 710,
    "test_mysql_cdc_chaos.py": 570,
    "test_mysql_cdc.py": 330,
    "test_dbt_incremental_property.py": 325,
    "test_analyst_workflow.py": 270,
    "test_ecommerce_api.py": 270,
    "test_ecommerce_api_real.py": 250,
    "test_event_files.py": 215,
    "test_dbt_and_demo.py": 210,
    "test_dbt_governance.py": 100,
    "test_secrets.py": 80,
    "test_mysql_cdc_generated.py": 120,  # measured alone on 2026-12-07
    "test_mysql_cdc_real.py": 65,
    "test_ecommerce_api_paging.py": 50,
    "test_mysql_cdc_classes.py": 30,
    "test_cli.py": 37,
    "test_services.py": 28,
    "test_dbt_static.py": 75,  # no server (make test-fast)
    "test_landing_order.py": 8,  # no server (make test-fast)
    "test_api_canonical_json.py": 25,  # no server (make test-fast)
    "test_cli_help.py": 2,  # no server (make test-fast)
    "test_run_report_scope.py": 3,  # no server (make test-fast)
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: -SECONDS.get(item.path.name, 0))  # stable: file order within
