"""Seeding and simulating the shop on the private MariaDB (binary log on)."""

from __future__ import annotations

from decimal import Decimal

import pyarrow.compute as pc
import pytest

from pytests.conftest import END_DATE
from sandbox.services import MariaDB
from sandbox.shop.generator import LOAD_ORDER, ShopConfig, generate
from sandbox.shop.seed import SeedError, connect, seed
from sandbox.shop.simulate import SimConfig, simulate
from sandbox.shop.target import MySQLTarget

CFG = ShopConfig(orders=4_000, seed=3, end_date=END_DATE, dirt=0.05)


def table_counts(target: MySQLTarget) -> dict[str, int]:
    with connect(target) as conn, conn.cursor() as cur:
        counts = {}
        for name in LOAD_ORDER:
            cur.execute(f"select count(*) from `{name}`")
            counts[name] = int(cur.fetchone()[0])
        return counts


def test_seed_loads_exactly_what_was_generated(shop_target: MySQLTarget) -> None:
    data = generate(CFG)
    figures = seed(shop_target, data, reset=True, quiet=True)
    assert table_counts(shop_target) == data.rows()
    assert figures["rows_per_second"] > 0
    with connect(shop_target) as conn, conn.cursor() as cur:
        cur.execute(
            "select sum(total_amount), sum(customer_id), count(distinct binary status) from orders"
        )
        total, cust_sum, statuses = cur.fetchone()
        cur.execute("select count(*) from customers where email is null")
        null_emails = cur.fetchone()[0]
        cur.execute("select first_name, last_name from customers where customer_id = 1")
        first_row = cur.fetchone()
    orders = data.tables["orders"]
    assert total == Decimal(pc.sum(orders["total_amount"]).as_py()) / 100
    assert cust_sum == pc.sum(orders["customer_id"]).as_py()
    assert statuses == pc.count_distinct(orders["status"]).as_py()
    assert null_emails == data.tables["customers"]["email"].null_count
    customers = data.tables["customers"]
    assert first_row == (customers["first_name"][0].as_py(), customers["last_name"][0].as_py())


def test_seed_refuses_to_overwrite_without_reset(shop_target: MySQLTarget) -> None:
    seed(shop_target, generate(CFG), reset=True, quiet=True)
    with pytest.raises(SeedError, match="--reset"):
        seed(shop_target, generate(CFG), quiet=True)
    assert table_counts(shop_target)["orders"] == CFG.orders  # nothing was lost


def test_seed_reaches_the_binlog(shop_target: MySQLTarget, mariadb: MariaDB) -> None:
    with mariadb.connect() as conn, conn.cursor() as cur:
        cur.execute("show master status")
        before = cur.fetchone()
    seed(
        shop_target,
        generate(ShopConfig(orders=500, seed=9, end_date=END_DATE)),
        reset=True,
        quiet=True,
    )
    with mariadb.connect() as conn, conn.cursor() as cur:
        cur.execute("show master status")
        after = cur.fetchone()
    assert (after[0], after[1]) > (before[0], before[1])


def test_unreachable_database_names_the_fix() -> None:
    target = MySQLTarget("127.0.0.1", 1, "root", "", "shop")
    with pytest.raises(SeedError, match="lakeshop services start"):
        seed(target, generate(ShopConfig(orders=100, seed=1, end_date=END_DATE)), quiet=True)


def _state(target: MySQLTarget) -> tuple[dict[str, int], list[tuple]]:
    with connect(target) as conn, conn.cursor() as cur:
        cur.execute(
            "select order_id, status, total_amount from orders order by order_id desc limit 50"
        )
        return table_counts(target), list(cur.fetchall())


def test_simulate_writes_every_kind_of_change(shop_target: MySQLTarget) -> None:
    seed(shop_target, generate(CFG), reset=True, quiet=True)
    before = table_counts(shop_target)
    stats = simulate(
        shop_target,
        SimConfig(rate=10_000, duration=120, seed=4, dirt=0.2, max_transactions=600),
        quiet=True,
    )
    after = table_counts(shop_target)
    assert stats.transactions == 600
    assert stats.inserted > 0 and stats.updated > 0 and stats.deleted > 0
    assert {"new_order", "advance_status", "cancel_order", "price_change", "new_customer",
            "delete_customer", "rapid_updates"} <= set(stats.operations)  # fmt: skip
    assert after["orders"] > before["orders"] and after["order_items"] > before["order_items"]
    assert stats.dirt["unknown_status"] > 0 and stats.dirt["orphan_product"] > 0
    with connect(shop_target) as conn, conn.cursor() as cur:
        # deleted customers took their addresses with them and had no orders
        cur.execute(
            "select count(*) from addresses a left join customers c using (customer_id) where c.customer_id is null"
        )
        assert cur.fetchone()[0] == 0
        cur.execute(
            "select count(*) from orders where status = 'cancelled' and updated_at > created_at"
        )
        assert cur.fetchone()[0] > 0


def test_simulate_is_deterministic_under_seed(shop_target: MySQLTarget) -> None:
    runs = []
    for _ in range(2):
        seed(shop_target, generate(CFG), reset=True, quiet=True)
        stats = simulate(
            shop_target,
            SimConfig(rate=10_000, duration=60, seed=8, max_transactions=150),
            quiet=True,
        )
        runs.append(
            (stats.operations, stats.inserted, stats.updated, stats.deleted, _state(shop_target))
        )
    assert runs[0] == runs[1]


def test_simulate_on_an_empty_database_says_what_to_do(
    shop_target: MySQLTarget, mariadb: MariaDB
) -> None:
    with mariadb.connect() as conn, conn.cursor() as cur:
        cur.execute("create database if not exists empty_shop")
    empty = MySQLTarget(
        shop_target.host, shop_target.port, "root", "", "empty_shop", shop_target.unix_socket
    )
    from sandbox.shop.seed import create_schema

    create_schema(empty)
    with pytest.raises(RuntimeError, match="lakeshop shop seed"):
        simulate(empty, SimConfig(max_transactions=1), quiet=True)
