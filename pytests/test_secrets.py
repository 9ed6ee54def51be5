"""Credentials from a secrets manager, and no secret anywhere after a run.

moto's Secrets Manager (a real HTTP endpoint speaking the AWS protocol; AWS itself cannot be
reached here) holds the MySQL CDC credentials of a user made for this test with a random
password, as dlt's AWS Secrets Manager provider reads them (a `dlt/sources` TOML fragment).
`lakeshop ingest mysql`, given no URL, opens the real MariaDB binlog with them; a random PII
salt and the provider's own secret key are set too. Then every file the run left (logs, the
lake, the dlt state, the run report, dbt's target/ with the docs site) and every text value
in the warehouse is searched for each secret: none is found.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator

import boto3
import duckdb
import pytest

from ingestion import config
from lakeshop.dbt_runner import dbt_env, project_dir, venv_executable
from pytests.conftest import END_DATE, make_home
from sandbox.services import MariaDB, free_port
from sandbox.shop.generator import ShopConfig, generate
from sandbox.shop.seed import seed as seed_shop
from sandbox.shop.target import MySQLTarget


@pytest.fixture()
def secrets_manager() -> Iterator[dict[str, str]]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    key = "AKIA" + secrets.token_hex(8).upper()
    provider_secret = secrets.token_urlsafe(24)
    env = {
        "PROVIDERS__ENABLE_AWS_SECRETS": "true",
        "PROVIDERS__AWS_SECRETS__CREDENTIALS__AWS_ACCESS_KEY_ID": key,
        "PROVIDERS__AWS_SECRETS__CREDENTIALS__AWS_SECRET_ACCESS_KEY": provider_secret,
        "PROVIDERS__AWS_SECRETS__CREDENTIALS__REGION_NAME": "eu-west-1",
        # botocore's own setting for the service's endpoint (dlt's provider passes none)
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": f"http://127.0.0.1:{port}",
    }
    yield env
    server.stop()


def _client(env: dict[str, str]) -> object:
    return boto3.client(
        "secretsmanager", endpoint_url=env["AWS_ENDPOINT_URL_SECRETS_MANAGER"],
        region_name="eu-west-1",
        aws_access_key_id=env["PROVIDERS__AWS_SECRETS__CREDENTIALS__AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["PROVIDERS__AWS_SECRETS__CREDENTIALS__AWS_SECRET_ACCESS_KEY"],
    )  # fmt: skip


def test_a_secret_from_secrets_manager_opens_mysql_and_appears_nowhere(
    mariadb: MariaDB, secrets_manager: dict[str, str]
) -> None:
    home = make_home("lakeshop-secrets-")
    password = "pw-" + secrets.token_urlsafe(18)
    salt = "salt-" + secrets.token_urlsafe(18)
    user = "lakeshop_cdc_vault"
    target = MySQLTarget(
        "127.0.0.1", mariadb.port, "root", "", config.SHOP_DATABASE, str(mariadb.socket)
    )
    seed_shop(target, generate(ShopConfig(orders=300, seed=4, end_date=END_DATE)), reset=True)
    with mariadb.connect() as conn, conn.cursor() as cur:
        for host in ("127.0.0.1", "localhost"):
            cur.execute(f"DROP USER IF EXISTS '{user}'@'{host}'")
            cur.execute(f"CREATE USER '{user}'@'{host}' IDENTIFIED BY '{password}'")
            cur.execute(f"GRANT SELECT ON `{config.SHOP_DATABASE}`.* TO '{user}'@'{host}'")
            cur.execute(f"GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO '{user}'@'{host}'")
    url = f"mysql://{user}:{password}@127.0.0.1:{mariadb.port}/{config.SHOP_DATABASE}"
    _client(secrets_manager).create_secret(  # type: ignore[attr-defined]
        Name="dlt/sources", SecretString=f'[sources.mysql_cdc]\ncredentials = "{url}"\n'
    )
    run_env = {
        **os.environ, **secrets_manager, "LAKESHOP_HOME": str(home),
        "LAKESHOP_DUCKDB_PATH": str(home / "warehouse.duckdb"), "LAKESHOP_WAREHOUSE": "duckdb",
        "LAKESHOP_PII_SALT": salt, "DBT_TARGET_PATH": str(home / "target"),
    }  # fmt: skip
    run_env.pop("LAKESHOP_CDC_URL", None)
    logs = home / "logs"
    logs.mkdir()
    try:
        steps = [
            ("ingest", "mysql", "--to", "lake", "warehouse"),
            ("build", "--select", "tag:mysql", "--alert-on", "never"),
            ("docs", "--no-serve"),
        ]
        for n, args in enumerate(steps):
            done = subprocess.run(
                [venv_executable("lakeshop"), *args], cwd=project_dir(),
                env=dbt_env(run_env),
                capture_output=True, text=True, timeout=900, check=False,
            )  # fmt: skip
            (logs / f"{n}-{args[0]}.log").write_text(done.stdout + done.stderr)
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
            orders = con.execute("select count(*) from raw_mysql.orders").fetchone()[0]
            assert orders >= 300  # landed through the credentials from the secrets manager
            wanted = {
                "the CDC password": password,
                "the PII salt": salt,
                "the provider's secret key": secrets_manager[
                    "PROVIDERS__AWS_SECRETS__CREDENTIALS__AWS_SECRET_ACCESS_KEY"
                ],
            }
            text_columns = con.execute(
                "select table_schema, table_name, column_name from information_schema.columns"
                " where data_type in ('VARCHAR', 'JSON')"
            ).fetchall()
            for schema, table, column in text_columns:
                for what, value in wanted.items():
                    hits = con.execute(
                        f'select count(*) from "{schema}"."{table}" where "{column}" like ?',
                        [f"%{value}%"],
                    ).fetchone()[0]
                    assert hits == 0, f"{what} in {schema}.{table}.{column}"
        scanned = 0
        for path in [*home.rglob("*"), *(project_dir() / "logs").glob("*.log")]:
            if not path.is_file() or path.name.endswith(".sock"):
                continue
            data = path.read_bytes()
            scanned += 1
            for what, value in wanted.items():
                assert value.encode() not in data, f"{what} in {path}"
        assert scanned > 50 and (home / "target" / "static_index.html").exists()
        assert any((home / "lake").rglob("*.parquet")) and any((home / "reports").glob("*.md"))
    finally:
        shutil.rmtree(home, ignore_errors=True)
        with mariadb.connect() as conn, conn.cursor() as cur:
            for host in ("127.0.0.1", "localhost"):
                cur.execute(f"DROP USER IF EXISTS '{user}'@'{host}'")
