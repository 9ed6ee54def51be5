"""MySQL CDC against a real private MariaDB binary log: equivalence, resumption, landing."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ingestion import config
from ingestion.mysql_cdc.helpers import ServerSettingError
from ingestion.mysql_cdc.runner import sync, verify_target
from ingestion.mysql_cdc.stream import DDL_TABLE
from pytests.cdc_support import (
    NAMING,
    PgAsDuck,
    _norm,
    assert_equivalent,
    cdc_url,
    duplicate_origins,
    duplicate_seqs,
    env,
    fresh_database,
    landed_state,
    load_classicmodels,
    root,
    shop_workload,
    source_columns,
    source_state,
)
from pytests.conftest import END_DATE, make_home
from sandbox.services import S3, MariaDB, Postgres, free_port
from sandbox.shop.generator import ShopConfig, generate
from sandbox.shop.seed import seed
from sandbox.shop.simulate import SimConfig, simulate

LAKESHOP = str(Path(sys.executable).parent / "lakeshop")


def seed_shop(mariadb: MariaDB, database: str, orders: int = 3_000, seed_value: int = 7) -> None:
    from sandbox.shop.target import MySQLTarget

    fresh_database(mariadb, database)
    target = MySQLTarget("127.0.0.1", mariadb.port, "root", "", database, str(mariadb.socket))
    seed(
        target, generate(ShopConfig(orders=orders, seed=seed_value, end_date=END_DATE)), quiet=True
    )


def test_shop_snapshot_then_changes_equal_the_source(mariadb: MariaDB, workdir: Path) -> None:
    from sandbox.shop.target import MySQLTarget

    seed_shop(mariadb, "cdc_shop")
    url = cdc_url(mariadb, "cdc_shop")
    first = sync(url, "warehouse", quiet=True)
    assert first.snapshot_rows > 15_000 and first.change_rows == 0
    assert_equivalent(mariadb, "cdc_shop", workdir / "warehouse.duckdb")

    target = MySQLTarget("127.0.0.1", mariadb.port, "root", "", "cdc_shop", str(mariadb.socket))
    simulate(
        target,
        SimConfig(rate=10_000, duration=60, seed=3, dirt=0.1, max_transactions=300),
        quiet=True,
    )
    shop_workload(mariadb, "cdc_shop", seed=1)
    second = sync(url, "warehouse", quiet=True)
    assert second.snapshot_rows == 0 and second.change_rows > 500
    counts = assert_equivalent(mariadb, "cdc_shop", workdir / "warehouse.duckdb")
    assert counts["orders"] > 3_000
    assert duplicate_seqs(workdir / "warehouse.duckdb") == dict.fromkeys(counts, 0)

    with duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True) as duck:
        ops = dict(
            duck.execute("select _cdc_op, count(*) from raw_mysql.orders group by 1").fetchall()
        )
        assert set(ops) >= {"snapshot", "insert", "update"}
        deletes = duck.execute(
            "select count(*) from raw_mysql.order_items where _cdc_op='delete' and product_id is not null"
        ).fetchone()
        assert deletes[0] > 0  # deletes carry the before image, not just the key
        meta = duck.execute(
            "select distinct _cdc_database, _cdc_server like '%:%' from raw_mysql.orders"
        ).fetchall()
        assert meta == [("cdc_shop", True)]

    third = sync(url, "warehouse", quiet=True)  # nothing new: nothing landed
    assert third.snapshot_rows == 0 and third.change_rows == 0


def test_classicmodels_equivalence(mariadb: MariaDB, workdir: Path) -> None:
    load_classicmodels(mariadb, "cdc_classic")
    url = cdc_url(mariadb, "cdc_classic")
    sync(url, "warehouse", quiet=True)
    counts = assert_equivalent(mariadb, "cdc_classic", workdir / "warehouse.duckdb")
    assert counts["orderdetails"] == 2996 and counts["customers"] == 122

    with root(mariadb, "cdc_classic") as conn, conn.cursor() as cur:
        conn.autocommit(False)
        # several rows, several tables, one transaction
        cur.execute(
            "UPDATE products SET quantityInStock = quantityInStock - 1 WHERE productLine = 'Motorcycles'"
        )
        cur.execute("UPDATE customers SET creditLimit = creditLimit * 1.1 WHERE country = 'France'")
        conn.commit()
        # the same row updated many times in one transaction
        for i in range(5):
            cur.execute("UPDATE customers SET phone = %s WHERE customerNumber = 103", (f"+33 {i}",))
        conn.commit()
        # delete then re-insert the same composite key
        cur.execute(
            "SELECT * FROM orderdetails WHERE orderNumber = 10100 AND productCode = 'S18_1749'"
        )
        row = cur.fetchone()
        cur.execute(
            "DELETE FROM orderdetails WHERE orderNumber = 10100 AND productCode = 'S18_1749'"
        )
        cur.execute(
            "INSERT INTO orderdetails VALUES (%s, %s, %s, %s, %s)",
            (row[0], row[1], row[2] + 7, row[3], row[4]),
        )
        conn.commit()
        # an update of the primary key (composite) and of a single-column key
        cur.execute(
            "UPDATE orderdetails SET orderLineNumber = 99, productCode = 'S10_1678' WHERE orderNumber = 10101 AND productCode = 'S18_2325'"
        )
        cur.execute(
            "UPDATE payments SET checkNumber = 'NEWCHECK1' WHERE customerNumber = 103 AND checkNumber = 'HQ336336'"
        )
        cur.execute("DELETE FROM payments WHERE customerNumber = 112")
        cur.execute(
            "INSERT INTO productlines (productLine, textDescription) VALUES ('Drones', 'Flying things')"
        )
        # latin1 beyond ASCII, including bytes 0x80-0x9F (cp1252's euro sign, quotes)
        cur.execute("UPDATE customers SET contactFirstName = 'Zoë “€”' WHERE customerNumber = 103")
        conn.commit()
    result = sync(url, "warehouse", quiet=True)
    assert result.change_rows > 20
    # no foreign key of classicmodels cascades, so every row event (latin1 text, composite
    # keys, key changes) went through the compiled decoder
    assert result.compiled_row_events == result.row_events > 5, result
    counts = assert_equivalent(mariadb, "cdc_classic", workdir / "warehouse.duckdb")
    assert counts["productlines"] == 8


def test_snapshot_resumes_from_its_last_chunk(mariadb: MariaDB, workdir: Path) -> None:
    seed_shop(mariadb, "cdc_resume", orders=2_000)
    url = cdc_url(mariadb, "cdc_resume")
    first = sync(url, "warehouse", max_rows_per_run=2_500, max_runs=2, quiet=True)
    assert first.snapshot_rows == 5_000  # two bounded runs, each committed with its state
    rest = sync(url, "warehouse", max_rows_per_run=2_500, quiet=True)
    with root(mariadb, "cdc_resume") as conn, conn.cursor() as cur:
        total = 0
        for t in (
            "addresses",
            "categories",
            "customers",
            "order_items",
            "orders",
            "payments",
            "products",
            "shipments",
        ):
            cur.execute(f"SELECT COUNT(*) FROM {t}")
            total += cur.fetchone()[0]
    assert first.snapshot_rows + rest.snapshot_rows == total  # continued, never started over
    assert_equivalent(mariadb, "cdc_resume", workdir / "warehouse.duckdb")
    assert set(duplicate_seqs(workdir / "warehouse.duckdb").values()) == {0}


def _ingest_process(url: str, home: Path, max_rows: int) -> subprocess.Popen[bytes]:
    environ = {**os.environ, "LAKESHOP_HOME": str(home), "LAKESHOP_DUCKDB_PATH": str(home / "warehouse.duckdb"),
               "LAKESHOP_CDC_URL": url}  # fmt: skip
    log = open(home / "ingest.log", "ab")  # noqa: SIM115 - the child process owns it
    return subprocess.Popen([LAKESHOP, "ingest", "mysql", "--to", "warehouse", "--max-rows-per-run", str(max_rows)],
                            env=environ, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip


def _state_version(home: Path) -> int:
    """dlt's local pipeline state version: it goes up with every extracted package."""
    state = home / "dlt" / "lakeshop_mysql_warehouse" / "state.json"
    try:
        return int(json.loads(state.read_text())["_state_version"])
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return 0


def _kill_at(url: str, home: Path, max_rows: int, jitters: list[float]) -> list[str]:
    """Start the ingestion; once it has committed a package in this life, SIGKILL it after
    ``jitter`` seconds, which lands somewhere in a later package's extract, normalize or load.
    Says for each kill whether it hit a running process."""
    hits = []
    for jitter in jitters:
        before = _state_version(home)
        proc = _ingest_process(url, home, max_rows)
        deadline = time.monotonic() + 60
        while (
            proc.poll() is None and _state_version(home) <= before and time.monotonic() < deadline
        ):
            time.sleep(0.01)
        time.sleep(jitter)
        hits.append(
            "killed mid-run"
            if proc.poll() is None
            else f"already finished (exit {proc.returncode})"
        )
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    return hits


def test_sigkill_during_snapshot_and_streaming_loses_and_duplicates_nothing(
    mariadb: MariaDB, workdir: Path
) -> None:
    from sandbox.shop.target import MySQLTarget

    rng = random.Random(2026)
    seed_shop(mariadb, "cdc_crash", orders=30_000)
    url = cdc_url(mariadb, "cdc_crash")
    snapshot_jitters = [round(rng.uniform(0.0, 0.6), 3) for _ in range(6)]
    hits = _kill_at(url, workdir, 10_000, snapshot_jitters)
    assert hits.count("killed mid-run") >= 5, hits

    target = MySQLTarget("127.0.0.1", mariadb.port, "root", "", "cdc_crash", str(mariadb.socket))
    simulate(
        target,
        SimConfig(rate=10_000, duration=120, seed=9, dirt=0.1, max_transactions=3_000),
        quiet=True,
    )
    shop_workload(mariadb, "cdc_crash", seed=5, transactions=300)
    stream_jitters = [round(rng.uniform(0.0, 0.6), 3) for _ in range(6)]
    hits += _kill_at(url, workdir, 400, stream_jitters)
    assert hits.count("killed mid-run") >= 10, (hits, (workdir / "ingest.log").read_text()[-3000:])
    assert len(set(snapshot_jitters + stream_jitters)) == 12  # twelve distinct kill points

    done = subprocess.run([LAKESHOP, "ingest", "mysql", "--to", "warehouse"], capture_output=True, text=True, check=False,
                          env={**os.environ, "LAKESHOP_HOME": str(workdir), "LAKESHOP_CDC_URL": url,
                               "LAKESHOP_DUCKDB_PATH": str(workdir / "warehouse.duckdb")})  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    counts = assert_equivalent(mariadb, "cdc_crash", workdir / "warehouse.duckdb")
    assert counts["orders"] > 30_000
    # No change was extracted twice: a repeated _cdc_seq can only be a load job that dlt
    # retried after its commit (at-least-once loading); _cdc_seq is the idempotency key.
    print("repeated _cdc_seq rows per table:", duplicate_seqs(workdir / "warehouse.duckdb"))
    origins = duplicate_origins(workdir / "warehouse.duckdb")
    assert set(origins.values()) <= {0, 1}, (origins, _extracted_twice(workdir), hits)


def test_a_kill_between_package_commit_and_state_save_extracts_nothing_twice(
    mariadb: MariaDB, workdir: Path
) -> None:
    """dlt commits an extracted package (which carries the new state) before it saves the
    pipeline's local state file. A kill between the two leaves a pending package whose state is
    newer than the local one; the next process loads that package first (dlt's run() then
    returns without extracting), and its following run must extract after that package's
    state, not from the stale local one. Recreated exactly: extract, then restore the old
    local state file."""
    from ingestion.mysql_cdc import mysql_cdc
    from ingestion.mysql_cdc.runner import cdc_pipeline

    seed_shop(mariadb, "cdc_window", orders=2_000)
    url = cdc_url(mariadb, "cdc_window")
    sync(url, "warehouse", include=("order_items",), max_rows_per_run=1_000, max_runs=1, quiet=True)
    pipe = cdc_pipeline("warehouse")
    state_file = Path(pipe.working_dir) / "state.json"
    before = state_file.read_bytes()
    pipe.extract(
        mysql_cdc(credentials=url, include=["order_items"], max_rows=1_000, chunk_rows=500)
    )
    assert state_file.read_bytes() != before and pipe.has_pending_data
    state_file.write_bytes(before)  # what the kill leaves: a committed package, the old state

    sync(url, "warehouse", include=("order_items",), max_rows_per_run=1_000, quiet=True)
    assert duplicate_seqs(workdir / "warehouse.duckdb")["order_items"] == 0
    assert_equivalent(mariadb, "cdc_window", workdir / "warehouse.duckdb", tables=["order_items"])


@pytest.mark.parametrize("window", ["normalize", "load"])
def test_a_kill_inside_a_dlt_package_move_is_finished_not_stuck(
    mariadb: MariaDB, workdir: Path, window: str
) -> None:
    """Two of dlt's package moves are two steps; a kill between them used to leave the
    pipeline failing on every later run. normalize: the normalized package is renamed into the
    load folder, then the extracted one is deleted (a kill between leaves both: "Directory not
    empty" on every retry). load: a "completed" marker is written, then the package moves to
    loaded/ (LoadPackageAlreadyCompleted). Each window is recreated exactly on disk."""
    from ingestion.mysql_cdc import mysql_cdc
    from ingestion.mysql_cdc.runner import cdc_pipeline

    seed_shop(mariadb, f"cdc_{window}_window", orders=2_000)
    url = cdc_url(mariadb, f"cdc_{window}_window")
    sync(url, "warehouse", include=("order_items",), max_rows_per_run=1_000, max_runs=1, quiet=True)
    pipe = cdc_pipeline("warehouse")
    pipe.extract(
        mysql_cdc(credentials=url, include=["order_items"], max_rows=1_000, chunk_rows=500)
    )
    work = Path(pipe.working_dir)
    (extracted,) = (work / "normalize" / "extracted").iterdir()
    load_id = extracted.name
    if window == "normalize":
        shutil.copytree(extracted, workdir / "extracted-copy")
        pipe.normalize()
        assert not extracted.exists() and (work / "load" / "normalized" / load_id).is_dir()
        shutil.copytree(workdir / "extracted-copy", extracted)  # the kill: both are present
    else:
        pipe.normalize()
        pipe.load()
        # the kill: marked completed (data and _dlt_loads row committed) but not yet moved
        (work / "load" / "loaded" / load_id).rename(work / "load" / "normalized" / load_id)

    result = sync(url, "warehouse", include=("order_items",), max_rows_per_run=1_000,
                  quiet=True, retries=0)  # fmt: skip
    assert any(load_id in message for message in result.messages), result.messages
    assert (work / "load" / "loaded" / load_id).is_dir()
    assert not pipe.has_pending_data
    assert duplicate_seqs(workdir / "warehouse.duckdb")["order_items"] == 0
    assert_equivalent(
        mariadb, f"cdc_{window}_window", workdir / "warehouse.duckdb", tables=["order_items"]
    )


def test_a_load_job_run_again_after_a_kill_leaves_no_second_copy(
    mariadb: MariaDB, workdir: Path
) -> None:
    """dlt loads each job at least once: a kill after a job's rows committed but before dlt
    marked the job done makes the next process load it again, under the same load id (the
    real-schema trial found 16 such rows). Recreated exactly: load a package, then put the
    package back as it was before loading."""
    url = _a_job_loaded_but_not_marked_done(mariadb, workdir, "cdc_twice")
    result = sync(url, "warehouse", include=("order_items",), max_rows_per_run=1_000,
                  quiet=True, retries=0)  # fmt: skip
    assert any("loaded twice" in m for m in result.messages), result.messages
    assert duplicate_seqs(workdir / "warehouse.duckdb")["order_items"] == 0
    assert_equivalent(mariadb, "cdc_twice", workdir / "warehouse.duckdb", tables=["order_items"])


class Killed(BaseException):
    """Stands for a SIGKILL inside the process: nothing after it runs."""


def test_a_kill_after_the_reload_but_before_the_copy_is_removed_leaves_no_second_copy(
    mariadb: MariaDB, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run that loads the job again completes its package and only then removes the second
    copy. A kill between the two used to leave the copy for good (the chaos test found 1,500
    repeated changes): the next run no longer saw the package as partly loaded."""
    from ingestion import destinations

    url = _a_job_loaded_but_not_marked_done(mariadb, workdir, "cdc_twice_killed")

    def killed(*args: object) -> list[str]:
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(destinations, "drop_reloaded_copies", killed)
        with pytest.raises(Killed):
            sync(url, "warehouse", include=("order_items",), max_rows_per_run=1_000,
                 quiet=True, retries=0)  # fmt: skip
    assert duplicate_seqs(workdir / "warehouse.duckdb")["order_items"] > 0  # the copy is there
    result = sync(url, "warehouse", include=("order_items",), max_rows_per_run=1_000,
                  quiet=True, retries=0)  # fmt: skip
    assert any("loaded twice" in m for m in result.messages), result.messages
    assert duplicate_seqs(workdir / "warehouse.duckdb")["order_items"] == 0
    assert_equivalent(
        mariadb, "cdc_twice_killed", workdir / "warehouse.duckdb", tables=["order_items"]
    )


def _a_job_loaded_but_not_marked_done(mariadb: MariaDB, workdir: Path, database: str) -> str:
    from ingestion.mysql_cdc import mysql_cdc
    from ingestion.mysql_cdc.runner import cdc_pipeline

    seed_shop(mariadb, database, orders=2_000)
    url = cdc_url(mariadb, database)
    sync(url, "warehouse", include=("order_items",), max_rows_per_run=1_000, max_runs=1, quiet=True)
    pipe = cdc_pipeline("warehouse")
    pipe.extract(
        mysql_cdc(credentials=url, include=["order_items"], max_rows=1_000, chunk_rows=500)
    )
    pipe.normalize()
    work = Path(pipe.working_dir)
    (package,) = (work / "load" / "normalized").iterdir()
    shutil.copytree(package, workdir / "package-before-load")
    pipe.load()
    shutil.rmtree(work / "load" / "loaded" / package.name)
    shutil.copytree(workdir / "package-before-load", package)  # the kill: loaded, not marked
    return url


def _extracted_twice(workdir: Path) -> str:
    """For a failure message: which packages hold a repeated change, and the runs' log."""
    with duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True) as duck:
        rows = duck.execute(
            "select _dlt_load_id, _cdc_op, count(*), min(_cdc_seq), max(_cdc_seq) from raw_mysql.order_items "
            "where _cdc_seq in (select _cdc_seq from raw_mysql.order_items group by 1 having count(distinct _dlt_load_id) > 1) "
            "group by 1, 2 order by 1"
        ).fetchall()
    log = (workdir / "ingest.log").read_text() if (workdir / "ingest.log").exists() else ""
    return f"packages: {rows}\nlog tail:\n{log[-6000:]}"


# -- schema drift ----------------------------------------------------------------------------
def _exec(mariadb: MariaDB, database: str, *statements: str) -> None:
    with root(mariadb, database) as conn, conn.cursor() as cur:
        for sql in statements:
            cur.execute(sql)


def test_drift_added_dropped_widened_columns_keep_streaming(
    mariadb: MariaDB, workdir: Path
) -> None:
    load_classicmodels(mariadb, "cdc_drift")
    url = cdc_url(mariadb, "cdc_drift")
    sync(url, "warehouse", quiet=True)
    _exec(
        mariadb, "cdc_drift",
        "ALTER TABLE customers ADD COLUMN loyaltyTier VARCHAR(16) NULL",
        "UPDATE customers SET loyaltyTier = 'gold' WHERE customerNumber < 150",
        "ALTER TABLE offices DROP COLUMN addressLine2",
        "UPDATE offices SET phone = CONCAT(phone, ' ext 1') WHERE officeCode = '1'",
        "ALTER TABLE products MODIFY quantityInStock BIGINT NOT NULL",
        "ALTER TABLE products MODIFY productName VARCHAR(255) NOT NULL",
        "UPDATE products SET quantityInStock = 5000000000, productName = CONCAT(productName, ' (long name)') WHERE productCode = 'S10_1678'",
        "ALTER TABLE payments MODIFY amount DECIMAL(14,4) NOT NULL",
        "UPDATE payments SET amount = amount + 0.1234 WHERE customerNumber = 103",
    )  # fmt: skip
    result = sync(url, "warehouse", quiet=True)
    # a nullable column added or a column dropped leaves every row's values as they were:
    # streaming goes on. A MODIFY may rewrite rows without row events (a narrowing rounds or
    # cuts them; lakeshop does not guess which from the schemas around it, which may be long
    # gone by the time the stream reads the ALTER): products and payments are read again.
    assert result.snapshot_rows == 110 + 273, result
    assert result.rows.get("customers") == 15 and result.rows.get("offices") == 1, result.rows
    assert_equivalent(mariadb, "cdc_drift", workdir / "warehouse.duckdb",
                      tables=["customers", "products", "payments", "orders", "orderdetails"])  # fmt: skip
    with duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True) as duck:
        gold = duck.execute(
            "select count(*) from raw_mysql.customers where loyalty_tier = 'gold'"
        ).fetchone()[0]
        assert gold > 0
        # the dropped column keeps its history; the table's other columns still match
        assert duck.execute("select count(address_line2) from raw_mysql.offices").fetchone()[0] > 0
    cols = [c for c in source_columns(mariadb, "cdc_drift", "offices")]
    with duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True) as duck:
        got = landed_state(duck, "raw_mysql", "offices", ["officeCode"], cols)
    assert got == source_state(mariadb, "cdc_drift", "offices")


def test_drift_renamed_column_loses_nothing(mariadb: MariaDB, workdir: Path) -> None:
    load_classicmodels(mariadb, "cdc_rename")
    url = cdc_url(mariadb, "cdc_rename")
    sync(url, "warehouse", quiet=True)
    _exec(mariadb, "cdc_rename",
          "ALTER TABLE employees RENAME COLUMN jobTitle TO job_title_v2",
          "UPDATE employees SET job_title_v2 = 'Chief Everything' WHERE employeeNumber = 1002")  # fmt: skip
    result = sync(url, "warehouse", quiet=True)
    # every row not changed since would keep its title under the old name only (the current
    # state had NULL under the new one): the table is captured again
    assert result.change_rows == 1 and result.snapshot_rows == 23, result
    assert_equivalent(mariadb, "cdc_rename", workdir / "warehouse.duckdb", tables=["employees"])


def test_new_table_in_selection_and_new_primary_key_trigger_snapshots(
    mariadb: MariaDB, workdir: Path
) -> None:
    load_classicmodels(mariadb, "cdc_pk")
    url = cdc_url(mariadb, "cdc_pk")
    sync(url, "warehouse", quiet=True)
    _exec(
        mariadb, "cdc_pk",
        "CREATE TABLE promotions (promoId INT PRIMARY KEY, productCode VARCHAR(15), pct DECIMAL(5,2))",
        "INSERT INTO promotions VALUES (1, 'S10_1678', 10.00), (2, 'S10_1949', 15.50)",
        "UPDATE promotions SET pct = 12.00 WHERE promoId = 1",
        "ALTER TABLE productlines DROP PRIMARY KEY, ADD PRIMARY KEY (productLine, textDescription(20))",
        "UPDATE productlines SET htmlDescription = '<p>new</p>' WHERE productLine = 'Ships'",
        "TRUNCATE TABLE payments",
        "INSERT INTO payments VALUES (103, 'AFTER1', '2026-01-01', 10.00)",
    )  # fmt: skip
    result = sync(url, "warehouse", quiet=True)
    notes = " ".join(result.messages)
    assert "promotions: new table in the selection" in notes
    assert "productlines: primary key changed" in notes and "re-snapshotting" in notes
    assert "payments: truncated" in notes
    assert_equivalent(mariadb, "cdc_pk", workdir / "warehouse.duckdb",
                      tables=["promotions", "payments", "customers", "orders"])  # fmt: skip
    with duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True) as duck:
        reasons = {
            r[0] for r in duck.execute("select reason from raw_mysql._cdc_snapshots").fetchall()
        }
    assert {
        "initial snapshot",
        "new table in the selection",
        "primary key changed",
        "truncated",
    } <= reasons
    cols = source_columns(mariadb, "cdc_pk", "productlines")
    with duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True) as duck:
        got = landed_state(duck, "raw_mysql", "productlines", ["productLine"], cols)
    assert got == source_state(mariadb, "cdc_pk", "productlines")


def test_include_and_exclude_patterns(mariadb: MariaDB, workdir: Path) -> None:
    load_classicmodels(mariadb, "cdc_patterns")
    result = sync(
        cdc_url(mariadb, "cdc_patterns"),
        "warehouse",
        include=("order*", "pay*"),
        exclude=("orderdetails",),
        quiet=True,
    )
    assert set(result.rows) == {"orders", "payments"}


# -- faults ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("variable", "bad", "fix"),
    [
        ("binlog_format", "STATEMENT", "SET GLOBAL binlog_format = 'ROW';"),
        ("binlog_row_image", "MINIMAL", "SET GLOBAL binlog_row_image = 'FULL';"),
        ("binlog_row_metadata", "MINIMAL", "SET GLOBAL binlog_row_metadata = 'FULL';"),
    ],
)
def test_wrong_server_setting_stops_before_reading(
    mariadb: MariaDB, workdir: Path, variable: str, bad: str, fix: str
) -> None:
    load_classicmodels(mariadb, "cdc_settings")
    with mariadb.connect() as conn, conn.cursor() as cur:
        cur.execute(f"SET GLOBAL {variable} = %s", (bad,))
    try:
        with pytest.raises(ServerSettingError) as err:
            sync(cdc_url(mariadb, "cdc_settings"), "warehouse", quiet=True)
    finally:
        with mariadb.connect() as conn, conn.cursor() as cur:
            cur.execute(
                f"SET GLOBAL {variable} = %s", ("ROW" if variable == "binlog_format" else "FULL",)
            )
    assert f"{variable} is {bad}" in str(err.value) and fix in str(err.value)
    assert not (workdir / "warehouse.duckdb").exists() or "customers" not in _landed_tables(workdir)


def _landed_tables(workdir: Path) -> set[str]:
    with duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True) as duck:
        return {
            r[0]
            for r in duck.execute("select table_name from information_schema.tables").fetchall()
        }


def test_missing_grants_are_named_with_the_grant_to_run(mariadb: MariaDB, workdir: Path) -> None:
    load_classicmodels(mariadb, "cdc_grants")
    with mariadb.connect() as conn, conn.cursor() as cur:
        cur.execute("DROP USER IF EXISTS 'reader'@'127.0.0.1'")
        cur.execute("CREATE USER 'reader'@'127.0.0.1' IDENTIFIED BY 'pw'")
        cur.execute("GRANT SELECT ON cdc_grants.* TO 'reader'@'127.0.0.1'")
    url = f"mysql://reader:pw@127.0.0.1:{mariadb.port}/cdc_grants"
    with pytest.raises(ServerSettingError) as err:
        sync(url, "warehouse", quiet=True)
    text = str(err.value)
    assert "GRANT REPLICATION SLAVE ON *.* TO 'reader'@'127.0.0.1';" in text
    assert "GRANT BINLOG MONITOR ON *.* TO 'reader'@'127.0.0.1';" in text


def test_binlog_off_is_explained() -> None:
    home = make_home("lakeshop-nobinlog-")
    server = MariaDB(home / "mariadb", free_port(), binlog=False)
    server.start()
    try:
        with pytest.raises(ServerSettingError, match=r"log_bin=OFF.*--log-bin"):
            sync(
                f"mysql://root@127.0.0.1:{server.port}/shop",
                "warehouse",
                quiet=True,
                pipeline=_unused_pipeline(home),
            )
    finally:
        server.stop()


def _unused_pipeline(home: Path) -> Any:
    import dlt

    return dlt.pipeline(
        pipeline_name="unused", destination="duckdb", pipelines_dir=str(home / "dlt")
    )


def test_purged_binlog_position_triggers_a_resnapshot(mariadb: MariaDB, workdir: Path) -> None:
    load_classicmodels(mariadb, "cdc_purge")
    url = cdc_url(mariadb, "cdc_purge")
    sync(url, "warehouse", quiet=True)
    _exec(
        mariadb,
        "cdc_purge",
        "UPDATE customers SET phone = 'before purge' WHERE customerNumber = 103",
    )
    with mariadb.connect() as conn, conn.cursor() as cur:
        cur.execute("SHOW MASTER STATUS")
        old = cur.fetchone()[0]
        cur.execute("FLUSH BINARY LOGS")
        cur.execute(
            "UPDATE cdc_purge.customers SET phone = 'after purge' WHERE customerNumber = 112"
        )
        # MariaDB keeps a binlog until its checkpoint has moved on; retry until it is gone
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            cur.execute("SHOW MASTER STATUS")
            cur.execute(f"PURGE BINARY LOGS TO '{cur.fetchone()[0]}'")
            cur.execute("SHOW BINARY LOGS")
            if old not in {r[0] for r in cur.fetchall()}:
                break
            cur.execute("FLUSH BINARY LOGS")
            time.sleep(0.2)
        else:
            pytest.fail(f"MariaDB would not purge {old}")
    result = sync(url, "warehouse", quiet=True)
    assert any(
        "was purged from the server" in m and "re-snapshotting" in m for m in result.messages
    ), result.messages
    assert result.snapshot_rows > 3_000
    assert_equivalent(mariadb, "cdc_purge", workdir / "warehouse.duckdb")


def _during_stream(mariadb: MariaDB, action: str) -> threading.Thread:
    """Once the CDC user's binlog dump thread shows up, kill it or restart the server."""

    def run() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with mariadb.connect() as conn, conn.cursor() as cur:
                cur.execute(
                    "SELECT id FROM information_schema.processlist WHERE command LIKE 'Binlog Dump%%' AND user = %s",
                    (config.CDC_USER,),
                )
                row = cur.fetchone()
                if row and action == "kill":
                    cur.execute(f"KILL {row[0]}")
                    return
            if row:
                mariadb.stop()
                time.sleep(1.0)
                mariadb.start()
                return
            time.sleep(0.01)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("action", ["kill", "restart"])
def test_lost_connection_and_server_restart_resume_from_last_commit(
    mariadb: MariaDB, workdir: Path, action: str
) -> None:
    from sandbox.shop.target import MySQLTarget

    database = f"cdc_{action}"
    seed_shop(mariadb, database, orders=1_000)
    url = cdc_url(mariadb, database)
    sync(url, "warehouse", quiet=True)
    target = MySQLTarget("127.0.0.1", mariadb.port, "root", "", database, str(mariadb.socket))
    simulate(
        target, SimConfig(rate=10_000, duration=120, seed=4, max_transactions=6_000), quiet=True
    )
    thread = _during_stream(mariadb, action)
    result = sync(url, "warehouse", quiet=True, backoff=0.3)
    thread.join(timeout=60)
    assert result.reconnects + sum("retry" in m for m in result.messages) >= 1, result
    assert_equivalent(mariadb, database, workdir / "warehouse.duckdb")
    assert set(duplicate_origins(workdir / "warehouse.duckdb").values()) <= {0, 1}


# -- landing ------------------------------------------------------------------------------------
def _lake_as_duckdb(files_by_table: dict[str, list[str]]) -> duckdb.DuckDBPyConnection:
    duck = duckdb.connect()
    duck.execute("create schema raw_mysql")
    for table, files in files_by_table.items():
        listed = ", ".join(f"'{f}'" for f in files)
        duck.execute(
            f"create view raw_mysql.{table} as select * from read_parquet([{listed}], union_by_name = true)"
        )
    return duck


def test_lake_parquet_with_date_partitions_equals_the_source(
    mariadb: MariaDB, workdir: Path
) -> None:
    load_classicmodels(mariadb, "cdc_lake")
    url = cdc_url(mariadb, "cdc_lake")
    sync(url, "lake", quiet=True)
    _exec(
        mariadb,
        "cdc_lake",
        "UPDATE customers SET city = 'Lyon' WHERE customerNumber = 103",
        "DELETE FROM payments WHERE customerNumber = 112",
    )
    second = sync(url, "lake", quiet=True)
    assert second.change_rows == 4
    root_dir = workdir / "lake" / "raw_mysql"
    files: dict[str, list[str]] = {}
    today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    for path in root_dir.rglob("*.parquet"):
        table = path.relative_to(root_dir).parts[0]
        assert path.parent.name == f"dt={today}", path  # one date partition per load day
        files.setdefault(table, []).append(str(path))
    assert {"customers", "payments", "orderdetails", "_cdc_snapshots"} <= set(files)
    assert len(files["customers"]) == 2  # immutable: a second load adds a file, never rewrites
    assert_equivalent(mariadb, "cdc_lake", None, connection=_lake_as_duckdb(files))


def test_lake_on_an_s3_endpoint(mariadb: MariaDB, s3: S3, workdir: Path) -> None:
    load_classicmodels(mariadb, "cdc_s3")
    with env(
        LAKESHOP_LAKE_URL=f"s3://{config.LAKE_BUCKET}/tests", LAKESHOP_S3_ENDPOINT=s3.endpoint
    ):
        result = sync(cdc_url(mariadb, "cdc_s3"), "lake", quiet=True)
    client = s3.client()
    keys = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=config.LAKE_BUCKET, Prefix="tests/raw_mysql/")
            for o in page.get("Contents", [])]  # fmt: skip
    parquet = [k for k in keys if k.endswith(".parquet")]
    assert any(k.startswith("tests/raw_mysql/orderdetails/dt=") for k in parquet)
    local: dict[str, list[str]] = {}
    for key in parquet:
        target = workdir / "s3copy" / key
        target.parent.mkdir(parents=True, exist_ok=True)
        client.download_file(config.LAKE_BUCKET, key, str(target))
        local.setdefault(key.split("/")[2], []).append(str(target))
    client.close()
    counts = assert_equivalent(mariadb, "cdc_s3", None, connection=_lake_as_duckdb(local))
    assert sum(counts.values()) == result.snapshot_rows


def test_postgres_warehouse(mariadb: MariaDB, postgres: Postgres, workdir: Path) -> None:
    import psycopg2

    load_classicmodels(mariadb, "cdc_pg")
    url = cdc_url(mariadb, "cdc_pg")
    with env(LAKESHOP_WAREHOUSE="postgres", LAKESHOP_PG_URL=postgres.address()):
        sync(url, "warehouse", quiet=True)
        _exec(mariadb, "cdc_pg", "UPDATE orders SET status = 'Disputed' WHERE orderNumber = 10100",
              "UPDATE orderdetails SET productCode = 'S10_1678' WHERE orderNumber = 10100 AND productCode = 'S18_1749'")  # fmt: skip
        result = sync(url, "warehouse", quiet=True)
        verified = verify_target(url, "warehouse")  # its landed-state queries on PostgreSQL
    assert result.change_rows == 3  # one update, and a key update as delete + insert
    assert verified.differing == 0 and verified.checks["orderdetails"].rows == 2996, [
        c.line() for c in verified.checks.values()
    ]
    conn = psycopg2.connect(postgres.address())
    try:
        assert_equivalent(mariadb, "cdc_pg", None, connection=PgAsDuck(conn))
    finally:
        conn.close()


def test_optional_current_state_tables_by_merge(mariadb: MariaDB, workdir: Path) -> None:
    load_classicmodels(mariadb, "cdc_current")
    url = cdc_url(mariadb, "cdc_current")
    sync(url, "warehouse", current_state=True, quiet=True)
    _exec(mariadb, "cdc_current", "DELETE FROM payments WHERE customerNumber = 103",
          "UPDATE customers SET creditLimit = 1 WHERE customerNumber = 112", "UPDATE customers SET creditLimit = 2 WHERE customerNumber = 112")  # fmt: skip
    sync(url, "warehouse", current_state=True, quiet=True)
    with duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True) as duck:
        for table in ("payments", "customers", "orderdetails"):
            cols = source_columns(mariadb, "cdc_current", table)
            names = ", ".join(NAMING.normalize_identifier(c) for c in cols)
            got = sorted(
                (
                    tuple(_norm(v) for v in r)
                    for r in duck.execute(
                        f"select {names} from raw_mysql.{table}__current"
                    ).fetchall()
                ),
                key=repr,
            )
            assert got == source_state(mariadb, "cdc_current", table), table


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("CREATE DATABASE IF NOT EXISTS shop", None),
        ("CREATE INDEX ix_orders_x ON orders (x)", None),
        ("DROP VIEW v_orders", None),
        ("CREATE USER bob", None),
        ("ALTER TABLE `shop`.`orders` ADD COLUMN x int", ("alter", "`shop`.`orders`")),
        ("CREATE TABLE IF NOT EXISTS orders2 (id int)", ("create", "orders2")),
        ("CREATE OR REPLACE TABLE t (a int)", ("create", "t")),
        ("TRUNCATE orders", ("truncate", "orders")),
        ("TRUNCATE TABLE shop.orders", ("truncate", "shop.orders")),
        ("RENAME TABLE a TO b", ("rename", "a")),
        ("/* gh-ost */ DROP TEMPORARY TABLE IF EXISTS t", ("drop", "t")),
        ("ALTER ONLINE IGNORE TABLE t ADD x int", ("alter", "t")),
    ],
)
def test_only_statements_on_tables_count_as_table_ddl(
    statement: str, expected: tuple[str, str] | None
) -> None:
    """The binlog's query events as MariaDB writes them. Before the TABLE keyword was
    required, `CREATE DATABASE IF NOT EXISTS shop` read as a table named DATABASE, and the
    stream scheduled a snapshot of it (seen in the 1M benchmark)."""
    match = DDL_TABLE.match(statement)
    found = None if match is None else ((match.group(1) or match.group(2)).lower(), match.group(3))
    assert found == expected
