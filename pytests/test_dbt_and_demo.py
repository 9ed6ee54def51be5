"""dbt on DuckDB, and the README's demo command end to end on a fresh state folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb

from ingestion.services import free_port
from pytests.conftest import make_home

ROOT = Path(__file__).resolve().parent.parent
LAKESHOP = str(Path(sys.executable).parent / "lakeshop")


def test_dbt_build_on_duckdb() -> None:
    home = make_home("lakeshop-dbt-")
    env = {
        **os.environ,
        "LAKESHOP_HOME": str(home),
        "LAKESHOP_DUCKDB_PATH": str(home / "wh.duckdb"),
    }
    done = subprocess.run(
        [LAKESHOP, "dbt", "build"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with duckdb.connect(str(home / "wh.duckdb"), read_only=True) as con:
        statuses = [
            r[0]
            for r in con.execute(
                "select order_status from seeds.order_statuses order by sort_order"
            ).fetchall()
        ]
    assert statuses == ["pending", "paid", "shipped", "delivered", "cancelled", "returned"]


def test_demo_end_to_end() -> None:
    home = make_home("lakeshop-demo-")
    env = {
        **os.environ,
        "LAKESHOP_HOME": str(home),
        "LAKESHOP_MARIADB_PORT": str(free_port()),
        "LAKESHOP_POSTGRES_PORT": str(free_port()),
        "LAKESHOP_S3_PORT": str(free_port()),
    }
    env.pop("LAKESHOP_DUCKDB_PATH", None)
    done = subprocess.run(
        [LAKESHOP, "demo", "--orders", "3000"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "lakeshop demo finished" in out
    for line in ("warehouse", "lake", "docs site"):
        assert line in out
    assert (home / "warehouse.duckdb").exists()
    assert (ROOT / "target" / "index.html").exists()
    assert "3,000 orders" in out
    assert "cdc stream -> warehouse" in out
    parquet = list((home / "lake" / "raw_mysql" / "orders").rglob("*.parquet"))
    assert parquet and all(p.parent.name.startswith("dt=") for p in parquet)
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        ops = dict(
            con.execute("select _cdc_op, count(*) from raw_mysql.orders group by 1").fetchall()
        )
    assert ops["snapshot"] == 3000 and ops.get("insert", 0) + ops.get("update", 0) > 0
    # the demo stops what it started
    leftovers = [
        p for p in Path("/proc").iterdir() if p.name.isdigit() and str(home) in _cmdline(p)
    ]
    assert leftovers == []


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""
