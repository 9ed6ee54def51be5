"""A property of the incremental design: after any batch of changes, every incremental model
built run by run equals a `--full-refresh` rebuild of the same change log, table by table.

A seeded random change stream against the MySQL shop, applied in small batches, each batch
captured by CDC and built incrementally; after every batch a copy of the warehouse is
rebuilt from scratch and compared. The stream has what broke the design before: orders moved
in time and between customers, future orders and their release, products and customers
deleted and re-inserted under the same key, rows entering and leaving quarantine, a new
snapshot generation, and batches with nothing new.

And the orders changes land in (ARRIVALS): as the ingestion writes them, or held back and
landed a batch later, after changes with a higher `_cdc_seq` (a replayed package, a
re-snapshot, a new primary), a whole table of a package held back while its other tables
are built on (a build that overlaps a load), and changes landed twice (a retried job, or a
package replayed under its old load id). Held rows are written back as the ingestion writes
rows, numbered anew once written (`_lakeshop_landed`).
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ingestion import config
from ingestion.mysql_cdc.runner import sync
from pytests.cdc_support import cdc_url, env, land_by_name
from pytests.conftest import END_DATE, make_home
from pytests.test_dbt_models import Dbt, _shop_target, _table_state
from sandbox.services import MariaDB
from sandbox.shop.generator import ShopConfig, generate
from sandbox.shop.seed import seed as seed_shop

ORDERS = 400
BATCHES = 6
SELECT = ("--select", "tag:mysql")


def _one(cur: Any, sql: str, params: tuple[Any, ...] = ()) -> Any:
    cur.execute(sql, params)
    row = cur.fetchone()
    return row[0] if row else None


def move_in_time(cur: Any, rng: random.Random) -> None:
    cur.execute(
        "UPDATE orders SET placed_at = placed_at - INTERVAL %s DAY WHERE order_id = %s",
        (rng.randint(1, 60), _one(cur, "SELECT order_id FROM orders ORDER BY RAND() LIMIT 1")),
    )


def move_between_customers(cur: Any, rng: random.Random) -> None:
    customer = _one(cur, "SELECT customer_id FROM customers ORDER BY RAND() LIMIT 1")
    order = _one(cur, "SELECT order_id FROM orders ORDER BY RAND() LIMIT 1")
    cur.execute(
        "UPDATE orders SET customer_id = %s, shipping_address_id = NULL WHERE order_id = %s",
        (customer, order),
    )


def future_order(cur: Any, rng: random.Random) -> None:
    customer = _one(cur, "SELECT customer_id FROM customers ORDER BY RAND() LIMIT 1")
    product, price = None, None
    cur.execute("SELECT product_id, price FROM products ORDER BY RAND() LIMIT 1")
    product, price = cur.fetchone()
    cur.execute(
        "INSERT INTO orders (customer_id, status, total_amount, placed_at) "
        "VALUES (%s, 'paid', %s, NOW(6) + INTERVAL 5 DAY)",
        (customer, price),
    )
    cur.execute(
        "INSERT INTO order_items (order_id, product_id, quantity, unit_price) VALUES (LAST_INSERT_ID(), %s, 1, %s)",
        (product, price),
    )


def release_future_orders(cur: Any, rng: random.Random) -> None:
    cur.execute(
        "UPDATE orders SET placed_at = NOW(6) - INTERVAL %s HOUR WHERE placed_at > NOW(6) + INTERVAL 2 DAY "
        "ORDER BY order_id LIMIT 3",
        (rng.randint(1, 48),),
    )


def reinsert(table: str, key: str) -> Callable[[Any, random.Random], None]:
    def change(cur: Any, rng: random.Random) -> None:
        cur.execute(f"SELECT * FROM {table} ORDER BY RAND() LIMIT 1")
        row = cur.fetchone()
        names = [d[0] for d in cur.description]
        cur.execute("SET foreign_key_checks = 0")  # the same key comes straight back
        cur.execute(f"DELETE FROM {table} WHERE {key} = %s", (row[names.index(key)],))
        cur.execute(
            f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))})",
            row,
        )
        cur.execute("SET foreign_key_checks = 1")

    return change


def enter_quarantine(cur: Any, rng: random.Random) -> None:
    if rng.random() < 0.5:
        cur.execute(
            "UPDATE orders SET status = 'lost_in_transit' WHERE order_id = %s",
            (_one(cur, "SELECT order_id FROM orders ORDER BY RAND() LIMIT 1"),),
        )
    else:
        cur.execute(
            "UPDATE order_items SET quantity = -quantity WHERE order_item_id = %s",
            (
                _one(
                    cur,
                    "SELECT order_item_id FROM order_items WHERE quantity > 0 ORDER BY RAND() LIMIT 1",
                ),
            ),
        )


def leave_quarantine(cur: Any, rng: random.Random) -> None:
    cur.execute(
        "UPDATE orders SET status = 'paid' WHERE status = 'lost_in_transit' ORDER BY order_id LIMIT 2"
    )
    cur.execute(
        "UPDATE order_items SET quantity = -quantity WHERE quantity < 0 ORDER BY order_item_id LIMIT 2"
    )


def delete_order(cur: Any, rng: random.Random) -> None:
    order = _one(cur, "SELECT order_id FROM orders ORDER BY RAND() LIMIT 1")
    for table in ("order_items", "payments", "shipments"):
        cur.execute(f"DELETE FROM {table} WHERE order_id = %s", (order,))
    cur.execute("DELETE FROM orders WHERE order_id = %s", (order,))


CHANGES = [
    move_in_time, move_between_customers, future_order, release_future_orders,
    reinsert("products", "product_id"), reinsert("customers", "customer_id"),
    enter_quarantine, leave_quarantine, delete_order,
]  # fmt: skip


def _change_logs(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [t for (t,) in con.execute(
        "select table_name from information_schema.columns where table_schema = 'raw_mysql' "
        "and column_name = '_cdc_seq' order by 1").fetchall()]  # fmt: skip


def _landed_through(con: duckdb.DuckDBPyConnection) -> int:
    return max(
        con.execute(f"select coalesce(max(_lakeshop_landed), 0) from raw_mysql.{t}").fetchone()[0]
        for t in _change_logs(con)
    )


def arrive(dbt: Dbt, rng: random.Random, since: int, way: str) -> str:
    """Land what an earlier batch held back, then let this batch's changes (numbered above
    ``since``) arrive ``way`` (one of ARRIVALS, or "final": nothing held any more). Returns
    what was done, for the failure message."""
    done = []
    with duckdb.connect(str(dbt.duck_path)) as con:
        con.execute("create schema if not exists held")
        held = [t for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'held'").fetchall()]  # fmt: skip
        for table in held:
            n = land_by_name(con, table, f"select * from held.{table}")
            con.execute(f"drop table held.{table}")
            done.append(f"{n} held {table} landed late")
        if way == "final":
            return ", ".join(done) or "everything landed"
        fresh = [t for t in _change_logs(con) if con.execute(
            f"select count(*) from raw_mysql.{t} where _lakeshop_landed > {since}").fetchone()[0]]  # fmt: skip
        if way == "held back" and fresh:
            for table in rng.sample(fresh, min(len(fresh), rng.randint(1, 3))):
                con.execute(f"create table held.{table} as select * from raw_mysql.{table} "
                            f"where _lakeshop_landed > {since} and hash(_lakeshop_landed + {rng.randint(0, 999)}) % 2 = 0")  # fmt: skip
                con.execute(f"delete from raw_mysql.{table} where _lakeshop_landed in "
                            f"(select _lakeshop_landed from held.{table})")  # fmt: skip
            done.append("some changes held back")
        elif way == "half landed" and fresh:
            table = rng.choice(fresh)
            con.execute(f"create table held.{table} as select * from raw_mysql.{table} "
                        f"where _lakeshop_landed > {since}")  # fmt: skip
            con.execute(f"delete from raw_mysql.{table} where _lakeshop_landed > {since}")
            done.append(f"{table} of the package held back")
        elif way == "replayed":
            table = rng.choice(_change_logs(con))
            n = land_by_name(
                con,
                table,
                f"select * from raw_mysql.{table} order by hash(_lakeshop_landed + {rng.randint(0, 999)}) limit 5",
            )
            done.append(f"{n} {table} changes landed twice")
        else:
            done.append("in order")
    return ", ".join(done)


ARRIVALS = ["in order", "held back", "half landed", "replayed"]


@pytest.fixture(scope="module")
def warehouse(mariadb: MariaDB) -> Any:
    home = make_home("lakeshop-dbt-property-")
    duck = home / "warehouse.duckdb"
    with env(LAKESHOP_HOME=str(home), LAKESHOP_DUCKDB_PATH=str(duck), LAKESHOP_WAREHOUSE="duckdb"):
        seed_shop(_shop_target(mariadb), generate(ShopConfig(orders=ORDERS, seed=23, end_date=END_DATE)),
                  reset=True)  # fmt: skip
        sync(cdc_url(mariadb, config.SHOP_DATABASE), "warehouse", quiet=True)
        dbt = Dbt(home, duck, home / "target")
        dbt.ok("build", *SELECT)
        yield dbt
    shutil.rmtree(home, ignore_errors=True)


def _rebuilt_from_scratch(dbt: Dbt) -> dict[str, list[tuple[Any, ...]]]:
    """The same change log rebuilt with --full-refresh, then the incremental warehouse put back.

    In place, on the same path and target directory: a new DuckDB path changes dbt's profile
    hash and so costs a full parse of the project (19 s against 7 s) on every batch.
    """
    kept, wal = dbt.duck_path.with_suffix(".incremental"), Path(f"{dbt.duck_path}.wal")
    with duckdb.connect(str(dbt.duck_path)) as con:
        con.execute("checkpoint")  # the file alone holds the whole warehouse
    shutil.copy(dbt.duck_path, kept)
    try:
        dbt.ok("run", "--full-refresh", *SELECT)  # the build before it ran the tests
        return _table_state(dbt)
    finally:
        wal.unlink(missing_ok=True)
        shutil.move(kept, dbt.duck_path)


def test_every_incremental_model_equals_a_full_refresh_after_every_batch(
    warehouse: Dbt, mariadb: MariaDB
) -> None:
    rng = random.Random(2026)
    url = cdc_url(mariadb, config.SHOP_DATABASE)
    applied: list[str] = []
    for batch in range(BATCHES):
        # batch 2 has nothing new; batch 4 starts a new snapshot generation of orders
        kinds = [] if batch == 2 else [rng.choice(CHANGES) for _ in range(rng.randint(3, 8))]
        with mariadb.connect(config.SHOP_DATABASE) as conn, conn.cursor() as cur:
            cur.execute("SET time_zone = '+00:00'")
            for change in kinds:
                change(cur, rng)
                conn.commit()
        applied.append(", ".join(c.__name__ for c in kinds) or "nothing new")
        with duckdb.connect(str(warehouse.duck_path), read_only=True) as con:
            since = _landed_through(con)
        with env(LAKESHOP_HOME=str(warehouse.home), LAKESHOP_DUCKDB_PATH=str(warehouse.duck_path)):
            sync(url, "warehouse", quiet=True, resnapshot=("orders",) if batch == 4 else ())
        # every way of arriving in turn; the last batch lands whatever is still held
        way = "final" if batch == BATCHES - 1 else ARRIVALS[(batch + 1) % len(ARRIVALS)]
        applied[-1] += f" [{arrive(warehouse, rng, since, way)}]"
        warehouse.ok("build", *SELECT)
        _assert_equal_to_a_full_refresh(warehouse, f"after batch {batch} ({'; '.join(applied)})")


def _assert_equal_to_a_full_refresh(warehouse: Dbt, when: str) -> None:
    incremental = _table_state(warehouse)
    refreshed = _rebuilt_from_scratch(warehouse)
    assert set(incremental) == set(refreshed)
    for name in sorted(incremental):
        if incremental[name] != refreshed[name]:
            extra = [r for r in incremental[name] if r not in set(refreshed[name])][:3]
            missing = [r for r in refreshed[name] if r not in set(incremental[name])][:3]
            pytest.fail(
                f"{when}: {name} differs from a full refresh: only incremental {extra}, "
                f"only full refresh {missing}"
            )
