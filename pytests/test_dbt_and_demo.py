"""The README's demo command end to end on a fresh state folder (dbt itself: test_dbt_models)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb

from pytests.conftest import make_home
from sandbox.services import free_port

ROOT = Path(__file__).resolve().parent.parent
LAKESHOP = str(Path(sys.executable).parent / "lakeshop")


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
    # the docs site goes where dbt writes its artefacts ($DBT_TARGET_PATH, else target/)
    assert (Path(os.environ.get("DBT_TARGET_PATH", ROOT / "target")) / "index.html").exists()
    assert "3,000 orders" in out
    assert "cdc stream -> warehouse" in out
    parquet = list((home / "lake" / "raw_mysql" / "orders").rglob("*.parquet"))
    assert parquet and all(p.parent.name.startswith("dt=") for p in parquet)
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        ops = dict(
            con.execute("select _cdc_op, count(*) from raw_mysql.orders group by 1").fetchall()
        )
        gold = {
            t: con.execute(f"select count(*) from gold.{t}").fetchone()[0]  # type: ignore[index]
            for t in ("fct_orders", "fct_order_items", "dim_customers", "agg_daily_product_sales")
        }
        api_products = con.execute("select count(*) from raw_ecommerce_api.products").fetchone()
    assert ops["snapshot"] == 3000 and ops.get("insert", 0) + ops.get("update", 0) > 0
    assert all(n > 0 for n in gold.values()), gold
    assert api_products is not None and api_products[0] > 0
    assert "api -> lake + warehouse" in out
    assert list((home / "lake" / "raw_ecommerce_api" / "raw_responses").rglob("*.jsonl.gz"))
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
