"""SQL over the lake without a warehouse, against real parts: a shop captured from MariaDB's
binary log and its API served over HTTP, landed by the sources in a local lake folder and on
the SeaweedFS S3 server (through DuckDB's httpfs extension), and in DuckDB for comparison."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from ingestion import config
from ingestion.ecommerce_api.runner import sync_api
from ingestion.mysql_cdc.runner import sync
from lakeshop.dbt_runner import project_dir, venv_executable
from lakeshop.lake import LakeError, catalog, query
from pytests.cdc_support import cdc_url, env
from pytests.conftest import END_DATE, make_home
from sandbox.services import S3, MariaDB
from sandbox.shop.generator import ShopConfig, generate
from sandbox.shop.seed import seed as seed_shop
from sandbox.shop.target import MySQLTarget
from sandbox.shop_api.server import RunningApi, ShopApi
from sandbox.shop_api.world import ApiWorld


@pytest.fixture(scope="module")
def landed(mariadb: MariaDB) -> Iterator[Path]:
    """A 400-order shop and its API, in a local lake and in DuckDB."""
    home = make_home("lakeshop-lake-")
    target = MySQLTarget(
        "127.0.0.1", mariadb.port, "root", "", config.SHOP_DATABASE, str(mariadb.socket)
    )
    seed_shop(target, generate(ShopConfig(orders=400, seed=3, end_date=END_DATE)), reset=True)
    with env(LAKESHOP_HOME=str(home), LAKESHOP_DUCKDB_PATH=str(home / "warehouse.duckdb"),
             LAKESHOP_WAREHOUSE="duckdb", LAKESHOP_LAKE_URL=(home / "lake").as_uri()):  # fmt: skip
        for where in ("lake", "warehouse"):
            sync(cdc_url(mariadb, config.SHOP_DATABASE), where, quiet=True)
        with RunningApi(ShopApi(ApiWorld.from_mysql(target, seed=3))) as api:
            result = sync_api(api.url, targets=("lake",))
        (home / "raw_pages").write_text(str(result.raw_pages))
        yield home
    shutil.rmtree(home, ignore_errors=True)


def _warehouse_counts(home: Path) -> dict[str, int]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        tables = [t for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw_mysql'"
            " and table_name not like '\\_dlt%' escape '\\'").fetchall()]  # fmt: skip
        return {
            t: int(con.execute(f'select count(*) from raw_mysql."{t}"').fetchone()[0])  # type: ignore[index]
            for t in tables
        }


def test_the_lake_catalog_lists_every_table_with_its_schema(landed: Path) -> None:
    tables = {t.qualified: t for t in catalog(landed.joinpath("lake").as_uri(), count_rows=True)}
    counts = _warehouse_counts(landed)
    assert {f"raw_mysql.{t}" for t in counts} <= set(tables)
    orders = tables["raw_mysql.orders"]
    assert orders.file_format == "parquet" and orders.partitions and orders.files
    assert {"order_id", "status", "_cdc_seq", "_cdc_op"} <= set(orders.columns)
    assert orders.rows == counts["orders"]
    pages = tables["raw_ecommerce_api.raw_responses"]
    assert pages.file_format == "jsonl" and pages.columns["body"] == "json"
    assert pages.rows == int((landed / "raw_pages").read_text())


def test_query_over_local_files_matches_the_warehouse(landed: Path) -> None:
    lake = landed.joinpath("lake").as_uri()
    counts = _warehouse_counts(landed)
    sql = " union all ".join(
        f"select '{t}' as t, count(*) as n from raw_mysql.\"{t}\"" for t in sorted(counts)
    )
    columns, rows = query(sql, lake)
    assert columns == ["t", "n"] and dict(rows) == counts
    # typed from dlt's stored schema: JSON bodies are JSON, the load id text, dt a partition
    _, rows = query(
        "select count(*), count(distinct dt), min(json_array_length(body->'$.products'))"
        " from raw_ecommerce_api.raw_responses where url like '%/products%'", lake,
    )  # fmt: skip
    assert rows[0][0] > 0 and rows[0][1] >= 1 and rows[0][2] >= 0
    with duckdb.connect(str(landed / "warehouse.duckdb"), read_only=True) as con:
        revenue = con.execute(
            "select sum(total_amount) from raw_mysql.orders where _cdc_op = 'snapshot'"
        ).fetchone()[0]
    _, rows = query(
        "select sum(total_amount) from raw_mysql.orders where _cdc_op = 'snapshot'", lake
    )
    assert rows[0][0] == revenue


def test_a_bad_query_or_a_missing_table_is_one_line(landed: Path) -> None:
    lake = landed.joinpath("lake").as_uri()
    with pytest.raises(LakeError, match=r"raw_mysql\.orders"):
        query("select * from raw_mysql.no_such_table", lake)
    for sql, expected in (
        ("selec 1", "Parser Error"),
        ("select * from raw_mysql.nope", "lake tables"),
    ):
        done = subprocess.run(
            [venv_executable("lakeshop"), "query", sql, "--lake-url", lake], cwd=project_dir(),
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 1
        assert len(done.stderr.strip().splitlines()) == 1 and expected in done.stderr
        assert "Traceback" not in done.stderr
    out = subprocess.run(
        [venv_executable("lakeshop"), "query", "select count(*) as n from raw_mysql.orders",
         "--lake-url", lake, "--format", "csv"], cwd=project_dir(),
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout.splitlines()  # fmt: skip
    assert out[0] == "n" and int(out[1]) == _warehouse_counts(landed)["orders"]


def test_query_over_s3_matches_the_warehouse(landed: Path, mariadb: MariaDB, s3: S3) -> None:
    """The same tables landed on the S3 server and read through DuckDB's httpfs."""
    home = make_home("lakeshop-lake-s3-")
    lake = f"s3://{config.LAKE_BUCKET}/lake-query-{os.getpid()}"
    try:
        with env(LAKESHOP_HOME=str(home), LAKESHOP_LAKE_URL=lake, LAKESHOP_S3_ENDPOINT=s3.endpoint):
            sync(cdc_url(mariadb, config.SHOP_DATABASE), "lake", quiet=True)
            tables = {t.qualified: t for t in catalog(lake, count_rows=True)}
            counts = _warehouse_counts(landed)
            assert {t: tables[f"raw_mysql.{t}"].rows for t in counts} == counts
            assert all(f.startswith("s3://") for f in tables["raw_mysql.orders"].files)
            _, rows = query("select count(distinct order_id) from raw_mysql.orders", lake)
            _, local = query(
                "select count(distinct order_id) from raw_mysql.orders",
                landed.joinpath("lake").as_uri(),
            )
            assert rows == local
    finally:
        shutil.rmtree(home, ignore_errors=True)
