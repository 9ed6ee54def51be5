"""MySQL CDC on schemas nobody here wrote: sakila's cascades, ALTERs with defaults, re-snapshots.

Each test first reproduces a finding of the real-schema trial (the current state rebuilt
from the change log differed from the source, silently) and then asserts that the landed
state equals the source value by value, in the warehouse and in the lake.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import duckdb

from ingestion.mysql_cdc.runner import sync
from pytests.cdc_support import (
    assert_equivalent,
    cdc_url,
    duplicate_seqs,
    load_sakila,
    root,
)
from sandbox.services import MariaDB


def lake_connection(workdir: Path) -> duckdb.DuckDBPyConnection:
    """The lake's parquet files as one DuckDB view per table (union of every load's files)."""
    duck = duckdb.connect()
    duck.execute("create schema raw_mysql")
    base = workdir / "lake" / "raw_mysql"
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        files = sorted(str(f) for f in folder.rglob("*.parquet"))
        if files:
            listed = ", ".join(f"'{f}'" for f in files)
            duck.execute(
                f"create view raw_mysql.{folder.name} as select * from read_parquet([{listed}], union_by_name = true)"
            )
    return duck


def both(url: str, **kw: Any) -> tuple[Any, Any]:
    return sync(url, "warehouse", quiet=True, **kw), sync(url, "lake", quiet=True, **kw)


def assert_both_equal(mariadb: MariaDB, database: str, workdir: Path) -> dict[str, int]:
    counts = assert_equivalent(mariadb, database, workdir / "warehouse.duckdb")
    assert assert_equivalent(mariadb, database, None, connection=lake_connection(workdir)) == counts
    return counts


def execute(mariadb: MariaDB, database: str, *statements: str) -> None:
    with root(mariadb, database) as conn, conn.cursor() as cur:
        for sql in statements:
            cur.execute(sql)
        conn.commit()


def _landed_facts(path: Path) -> dict[str, Any]:
    """What the warehouse holds of the snapshot bookkeeping, for a failure message."""
    with duckdb.connect(str(path), read_only=True) as duck:
        return {
            "snapshots": duck.execute(
                "select table_name, snapshot_id, status, start_seq, rows from raw_mysql._cdc_snapshots order by all"
            ).fetchall(),
            "products": duck.execute(
                "select count(*), min(_cdc_seq), max(_cdc_seq) from raw_mysql.products"
            ).fetchall(),
        }


def test_sakila_cascades_and_alter_defaults_land_as_in_the_source(
    mariadb: MariaDB, workdir: Path
) -> None:
    load_sakila(mariadb, "cdc_sakila")
    execute(
        mariadb, "cdc_sakila",
        # a table of ours with ON DELETE CASCADE (sakila has ON UPDATE CASCADE and SET NULL)
        "CREATE TABLE rental_note (note_id INT PRIMARY KEY, rental_id INT NOT NULL, note VARCHAR(40), "
        "CONSTRAINT fk_note_rental FOREIGN KEY (rental_id) REFERENCES rental (rental_id) ON DELETE CASCADE ON UPDATE CASCADE)",
        "INSERT INTO rental_note SELECT rental_id, rental_id, CONCAT('note ', rental_id) FROM rental WHERE rental_id BETWEEN 4400 AND 4420",
    )  # fmt: skip
    url = cdc_url(mariadb, "cdc_sakila")
    first = both(url)
    counts = assert_both_equal(mariadb, "cdc_sakila", workdir)
    assert counts["rental"] == 16044 and counts["film_actor"] == 5462
    # the server was quiet: every snapshot row (GEOMETRY, YEAR, SET, BLOB) came by connectorx
    assert all(r.arrow_rows == r.snapshot_rows > 47_000 for r in first), first

    execute(
        mariadb, "cdc_sakila",
        # ON UPDATE CASCADE: rental and payment rows of customer 533 follow the new id
        "UPDATE customer SET customer_id = 60002 WHERE customer_id = 533",
        # ON DELETE SET NULL on payment.rental_id, and our ON DELETE CASCADE
        "DELETE FROM rental WHERE rental_id = 4409",
        # a key column of film_actor's primary key changes by cascade: (52, f) -> (61001, f)
        "UPDATE actor SET actor_id = 61001 WHERE actor_id = 52",
        # the defaults existing rows get write no row events
        "ALTER TABLE inventory ADD COLUMN condition_grade VARCHAR(8) NOT NULL DEFAULT 'good'",
        "ALTER TABLE film ADD COLUMN votes INT NOT NULL DEFAULT 0",
        "UPDATE film SET votes = 7 WHERE film_id = 1",
        # tables no foreign key cascades from
        "UPDATE payment SET amount = amount + 1 WHERE payment_id <= 5",
        "UPDATE rental_note SET note = 'changed' WHERE note_id = 4401",
    )  # fmt: skip
    warehouse, _ = both(url)
    # row events of the tables cascades start from are decoded in Python (cascade() reads
    # their rows and before images); those of the others by the compiled decoder
    assert 2 <= warehouse.compiled_row_events < warehouse.row_events, warehouse
    notes = " ".join(warehouse.messages)
    assert "ON DELETE CASCADE from rental" in notes, notes
    assert "a column with a default was added" in notes, notes
    with duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True) as duck:
        assert (
            duck.execute(
                "select count(*) from raw_mysql.rental where customer_id = 60002"
            ).fetchone()[0]
            > 0
        )
    assert_both_equal(mariadb, "cdc_sakila", workdir)
    assert set(duplicate_seqs(workdir / "warehouse.duckdb").values()) == {0}

    # on demand, while streaming: a new generation of one table, nothing else re-read
    execute(mariadb, "cdc_sakila", "UPDATE film SET votes = 9 WHERE film_id = 2")
    again = sync(url, "warehouse", quiet=True, resnapshot=("language",))
    assert again.snapshot_rows == 6 and again.change_rows >= 1, again
    with duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True) as duck:
        generations = duck.execute(
            "select count(*) from raw_mysql._cdc_snapshots where table_name = 'language' and status = 'done'"
        ).fetchone()[0]
    assert generations == 2
    assert_equivalent(mariadb, "cdc_sakila", workdir / "warehouse.duckdb")


def test_verify_reports_zero_then_finds_and_repairs_a_corrupted_row(
    mariadb: MariaDB, workdir: Path
) -> None:
    from ingestion.mysql_cdc.runner import verify_target
    from pytests.cdc_support import load_classicmodels

    load_classicmodels(mariadb, "cdc_verify")
    url = cdc_url(mariadb, "cdc_verify")
    runs = both(url)
    clean = verify_target(url, "warehouse")
    # on a difference, what the runs said too (a CI run once found products missing here)
    assert clean.differing == 0, (
        [c.line() for c in clean.checks.values()],
        runs,
        _landed_facts(workdir / "warehouse.duckdb"),
    )
    assert clean.checks["orderdetails"].rows == 2996
    assert verify_target(url, "lake").differing == 0

    # corrupt the warehouse behind the pipeline's back: one value, one lost row, one ghost
    with duckdb.connect(str(workdir / "warehouse.duckdb")) as duck:
        duck.execute("update raw_mysql.customers set credit_limit = 1 where customer_number = 103")
        duck.execute(
            "delete from raw_mysql.payments where customer_number = 112 and check_number = 'BO864823'"
        )
        duck.execute(
            "insert into raw_mysql.offices select * replace ('99' as office_code, substr(_cdc_seq, 1, 21) || '0000000099' as _cdc_seq) "
            "from raw_mysql.offices where office_code = '1'"
        )
    found = verify_target(url, "warehouse")
    assert found.checks["customers"].different == [(103,)], found.checks["customers"].line()
    assert found.checks["payments"].missing == [(112, "BO864823")]
    assert found.checks["offices"].extra == [("99",)]
    assert found.differing == 3
    repaired = verify_target(url, "warehouse", repair=True)
    assert repaired.repaired == {"customers": 1, "payments": 1, "offices": 1}, repaired.repaired
    assert repaired.differing == 0
    assert verify_target(url, "warehouse").differing == 0
    assert_equivalent(mariadb, "cdc_verify", workdir / "warehouse.duckdb")

    # on a live source: the landed state is compared as of each table's check position
    from pytests.test_mysql_cdc_chaos import Workload, classic_step

    workload = Workload(mariadb, "cdc_verify", 5, classic_step)
    workload.start()
    try:
        time.sleep(1)
        live = verify_target(url, "warehouse", rounds=1)
    finally:
        workload.stop.set()
        workload.join(timeout=30)
    assert workload.error is None and workload.done > 20, (workload.done, workload.error)
    assert live.differing == 0, [c.line() for c in live.checks.values() if c.keys]


def test_verify_as_of_a_position_before_a_later_generation(mariadb: MariaDB, workdir: Path) -> None:
    """A source snapshot taken at P, then an ALTER with a default (a new generation of the
    table, read after P): the landed state as of P is the old generation's. Before, the new
    generation's start, later than P, cut every row off (the live verify in CI: 110 of 110
    products missing)."""
    from ingestion.mysql_cdc.helpers import MySqlConn
    from ingestion.mysql_cdc.runner import cdc_pipeline
    from ingestion.mysql_cdc.verify import Landed, compare_table, source_snapshot, tables_to_check
    from pytests.cdc_support import load_classicmodels

    load_classicmodels(mariadb, "cdc_asof")
    url = cdc_url(mariadb, "cdc_asof")
    sync(url, "warehouse", quiet=True)
    conn = MySqlConn.from_url(url)
    info = tables_to_check(conn, ("products",), ())["products"]
    before = source_snapshot(conn, info, 10_000, None)
    execute(
        mariadb, "cdc_asof",
        "ALTER TABLE products ADD COLUMN warehouse_code CHAR(2) NOT NULL DEFAULT 'EU'",
    )  # fmt: skip
    report = sync(url, "warehouse", quiet=True)
    assert "a column with a default was added" in " ".join(report.messages), report.messages
    pipe = cdc_pipeline("warehouse")
    with pipe.sql_client() as client:
        check = compare_table(conn, info, Landed(client), 10_000, None, before)
    assert check.rows == 110 and not check.keys, check.line()
    # and as of now, the new generation: equal to the source with its new column
    assert_equivalent(mariadb, "cdc_asof", workdir / "warehouse.duckdb")


def test_follow_feeds_every_target_and_two_followers_coexist(
    mariadb: MariaDB, workdir: Path
) -> None:
    import os
    import signal
    import subprocess
    import sys

    from pytests.cdc_support import load_classicmodels

    load_classicmodels(mariadb, "cdc_follow")
    url = cdc_url(mariadb, "cdc_follow")
    lakeshop = str(Path(sys.executable).parent / "lakeshop")
    followers = {}
    for name in ("first", "second"):
        home = workdir / name
        home.mkdir()
        environ = {**os.environ, "LAKESHOP_HOME": str(home), "LAKESHOP_CDC_URL": url,
                   "LAKESHOP_DUCKDB_PATH": str(home / "warehouse.duckdb")}  # fmt: skip
        log = open(home / "follow.log", "wb")  # noqa: SIM115 - the child process owns it
        followers[name] = (home, subprocess.Popen(
            [lakeshop, "ingest", "mysql", "--to", "lake", "warehouse", "--follow", "--flush-seconds", "1"],
            env=environ, stdout=log, stderr=subprocess.STDOUT))  # fmt: skip

    def lake_files(home: Path) -> int:
        return len(list((home / "lake" / "raw_mysql" / "customers").rglob("*.parquet")))

    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not all(lake_files(h) for h, _ in followers.values()):
            time.sleep(0.5)
        execute(
            mariadb,
            "cdc_follow",
            "UPDATE customers SET city = 'Followed' WHERE customerNumber = 103",
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all(
            lake_files(h) >= 2 for h, _ in followers.values()
        ):
            time.sleep(0.5)
        time.sleep(6)  # several more turns of both targets
    finally:
        for _, proc in followers.values():
            proc.send_signal(signal.SIGINT)
        for _, proc in followers.values():
            proc.wait(timeout=60)  # a first SIGINT ends the turn at a commit, lands it, exits
    for name, (home, _) in followers.items():
        log = (home / "follow.log").read_text(errors="replace")
        assert "4052" not in log and "same server_uuid" not in log, log[-3000:]
        assert lake_files(home) >= 2, (name, log[-3000:])
        with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as duck:
            cities = duck.execute(
                "select city from raw_mysql.customers where customer_number = 103 order by _cdc_seq"
            ).fetchall()
        assert cities[-1] == ("Followed",), (name, cities, log[-3000:])
        with lake_connection(home) as lake:
            cities = lake.execute(
                "select city from raw_mysql.customers where customer_number = 103 order by _cdc_seq"
            ).fetchall()
        assert cities[-1] == ("Followed",), (name, cities)


def test_a_table_created_just_before_a_run_is_captured_once(
    mariadb: MariaDB, workdir: Path
) -> None:
    from pytests.cdc_support import load_classicmodels

    load_classicmodels(mariadb, "cdc_once")
    url = cdc_url(mariadb, "cdc_once")
    sync(url, "warehouse", quiet=True)
    # the run finds the table at its start, and its stream then meets the CREATE
    execute(mariadb, "cdc_once",
            "CREATE TABLE promo (promo_id INT PRIMARY KEY, pct DECIMAL(5,2))",
            "INSERT INTO promo VALUES (1, 10.00), (2, 12.50)")  # fmt: skip
    result = sync(url, "warehouse", quiet=True)
    with duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True) as duck:
        generations = duck.execute(
            "select count(distinct snapshot_id) from raw_mysql._cdc_snapshots where table_name = 'promo'"
        ).fetchone()[0]
    assert generations == 1, result.messages
    assert_equivalent(mariadb, "cdc_once", workdir / "warehouse.duckdb", tables=["promo"])


def test_binlog_retention_and_checkpoint_age_are_shown_and_warned(
    mariadb: MariaDB, workdir: Path
) -> None:

    from ingestion.mysql_cdc.helpers import binlog_retention

    with mariadb.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT @@global.binlog_expire_logs_seconds")
        before = cur.fetchone()[0]
        cur.execute("SET GLOBAL binlog_expire_logs_seconds = 7200")
        try:
            fresh = binlog_retention(cur, time.time() - 60)
            stale = binlog_retention(cur, time.time() - 5400)
        finally:
            cur.execute(f"SET GLOBAL binlog_expire_logs_seconds = {int(before)}")
    assert fresh.warning is None and "kept 2.0 h" in fresh.describe(), fresh.describe()
    assert (
        stale.warning
        and "1.5 h old" in stale.warning
        and "binlog_expire_logs_seconds" in stale.warning
    )
    from pytests.cdc_support import load_classicmodels

    load_classicmodels(mariadb, "cdc_retention")
    result = sync(cdc_url(mariadb, "cdc_retention"), "warehouse", quiet=True)
    assert result.retention is not None and "binary logs kept" in result.retention.describe()


def test_rows_read_while_streaming_land_in_seq_order(
    mariadb: MariaDB, workdir: Path, monkeypatch: Any
) -> None:
    """A cascade's child rows are read at position P, after the stream's end; a change to
    another child row committed just before that read (between the stream's end and P) comes
    from the stream. Incremental dbt models read changes above the highest _cdc_seq seen, so
    the child rows must not land before that change: they wait for the stream to pass P."""
    from ingestion.mysql_cdc.incremental import Reader
    from pytests.test_mysql_cdc_chaos import _landed_out_of_order

    load_sakila(mariadb, "cdc_order")
    url = cdc_url(mariadb, "cdc_order")
    sync(url, "warehouse", quiet=True)
    execute(mariadb, "cdc_order", "UPDATE customer SET customer_id = 60001 WHERE customer_id = 1")
    original = Reader.read
    concurrent = {"done": False}

    def read_after_a_concurrent_write(self: Reader, *args: Any, **kw: Any) -> Any:
        if not concurrent["done"]:
            concurrent["done"] = True
            execute(
                mariadb, "cdc_order", "UPDATE rental SET return_date = NOW() WHERE rental_id = 2"
            )
        return original(self, *args, **kw)

    monkeypatch.setattr(Reader, "read", read_after_a_concurrent_write)
    sync(url, "warehouse", quiet=True, max_runs=1)
    monkeypatch.setattr(Reader, "read", original)
    sync(url, "warehouse", quiet=True)
    assert concurrent["done"]
    with duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True) as duck:
        assert _landed_out_of_order(duck) == {}
    assert_equivalent(
        mariadb, "cdc_order", workdir / "warehouse.duckdb", tables=["rental", "payment"]
    )
