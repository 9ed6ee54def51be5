"""The real-schema proof: sakila and classicmodels under a seeded random workload of our own
(cascades, ALTERs with defaults, TRUNCATE, binlog rotations) while the capture into the lake
and the warehouse is SIGKILLed again and again. After the final run the current state rebuilt
from either target equals the source value by value for every table, no `_cdc_seq` repeats,
no working folder is left behind, and `--verify` agrees.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pymysql

from ingestion.mysql_cdc.incremental import READ_ROW_BASE
from ingestion.mysql_cdc.runner import verify_target
from pytests.cdc_support import (
    assert_equivalent,
    cdc_url,
    duplicate_seqs,
    load_classicmodels,
    load_sakila,
    open_packages,
    root,
)
from pytests.test_mysql_cdc_real import lake_connection
from sandbox.services import MariaDB

LAKESHOP = str(Path(sys.executable).parent / "lakeshop")
PIPELINES = ("lakeshop_mysql_lake", "lakeshop_mysql_warehouse")


def _state_versions(home: Path) -> int:
    total = 0
    for name in PIPELINES:
        with contextlib.suppress(FileNotFoundError, json.JSONDecodeError, KeyError):
            state = json.loads((home / "dlt" / name / "state.json").read_text())
            total += int(state["_state_version"])
    return total


def _environ(home: Path, url: str) -> dict[str, str]:
    return {**os.environ, "LAKESHOP_HOME": str(home), "LAKESHOP_CDC_URL": url,
            "LAKESHOP_DUCKDB_PATH": str(home / "warehouse.duckdb")}  # fmt: skip


def _kill_loop(home: Path, url: str, kills: int, rng: random.Random,
               extra: tuple[str, ...] = (), max_rows: int = 1500) -> list[str]:  # fmt: skip
    """Start the capture into both targets; once it has committed a package in this life,
    SIGKILL it after a random delay (somewhere in a later extract, normalize or load)."""
    outcomes = []
    log = open(home / "ingest.log", "ab")  # noqa: SIM115 - shared with the children
    try:
        for _ in range(kills):
            before = _state_versions(home)
            proc = subprocess.Popen(
                [LAKESHOP, "ingest", "mysql", "--to", "lake", "warehouse", "--max-rows-per-run", str(max_rows), "--quiet", *extra],
                env=_environ(home, url), stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
            deadline = time.monotonic() + 60
            while (
                proc.poll() is None
                and _state_versions(home) <= before
                and time.monotonic() < deadline
            ):
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.8))
            outcomes.append("killed" if proc.poll() is None else f"exit {proc.returncode}")
            proc.send_signal(signal.SIGKILL)
            proc.wait()
    finally:
        log.close()
    return outcomes


class Workload(threading.Thread):
    """Random transactions against one database until stopped; statements the schema refuses
    (a foreign key that blocks a delete) are rolled back and counted."""

    def __init__(self, mariadb: MariaDB, database: str, seed: int, step: Callable[[Any, random.Random, int], None]) -> None:  # fmt: skip
        super().__init__(daemon=True)
        self.mariadb, self.database, self.rng, self.step = (
            mariadb,
            database,
            random.Random(seed),
            step,
        )
        self.stop = threading.Event()
        self.done = self.refused = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with root(self.mariadb, self.database) as conn:
                conn.autocommit(False)
                n = 0
                while not self.stop.is_set():
                    n += 1
                    with conn.cursor() as cur:
                        try:
                            self.step(cur, self.rng, n)
                            conn.commit()
                            self.done += 1
                        except pymysql.err.IntegrityError:
                            conn.rollback()
                            self.refused += 1
                    time.sleep(0.01)
        except BaseException as exc:  # surfaced by the test
            self.error = exc


def _one(cur: Any, sql: str, params: tuple[Any, ...] = ()) -> Any:
    cur.execute(sql, params)
    row = cur.fetchone()
    return row[0] if row else None


def sakila_step(cur: Any, rng: random.Random, n: int) -> None:
    if n % 150 == 0:
        cur.execute("FLUSH BINARY LOGS")
    if n in (120, 420, 800):
        table = {120: "inventory", 420: "film", 800: "customer"}[n]
        cur.execute(f"ALTER TABLE {table} ADD COLUMN extra_{n} INT NOT NULL DEFAULT {n}")
        return
    if n in (300, 900):
        cur.execute("TRUNCATE TABLE rental_note")
        return
    kind = rng.choice(
        [
            "rent",
            "return",
            "unrent",
            "customer_id",
            "actor_id",
            "note",
            "film",
            "pay",
            "unpay",
            "city_id",
        ]
    )
    if kind == "rent":
        inventory = _one(cur, "SELECT inventory_id FROM inventory ORDER BY RAND() LIMIT 1")
        customer = _one(cur, "SELECT customer_id FROM customer ORDER BY RAND() LIMIT 1")
        cur.execute("INSERT INTO rental (rental_date, inventory_id, customer_id, staff_id) VALUES (NOW() - INTERVAL %s SECOND, %s, %s, %s)",
                    (rng.randint(0, 10**7), inventory, customer, rng.randint(1, 2)))  # fmt: skip
        cur.execute("INSERT INTO payment (customer_id, staff_id, rental_id, amount, payment_date) VALUES (%s, %s, LAST_INSERT_ID(), %s, NOW())",
                    (customer, rng.randint(1, 2), round(rng.uniform(0.5, 11.99), 2)))  # fmt: skip
    elif kind == "return":
        cur.execute(
            "UPDATE rental SET return_date = NOW() WHERE rental_id = %s", (rng.randint(1, 16049),)
        )
    elif kind == "unrent":  # payment.rental_id ON DELETE SET NULL, rental_note ON DELETE CASCADE
        cur.execute("DELETE FROM rental WHERE rental_id = %s", (rng.randint(1, 16049),))
    elif kind == "customer_id":  # ON UPDATE CASCADE into rental and payment
        top = _one(cur, "SELECT MAX(customer_id) FROM customer")
        cur.execute(
            "UPDATE customer SET customer_id = %s WHERE customer_id = %s",
            (top + 1, rng.randint(1, top)),
        )
    elif kind == "actor_id":  # ON UPDATE CASCADE into film_actor's primary key
        top = _one(cur, "SELECT MAX(actor_id) FROM actor")
        cur.execute(
            "UPDATE actor SET actor_id = %s WHERE actor_id = %s", (top + 1, rng.randint(1, top))
        )
    elif kind == "note":
        rental = _one(cur, "SELECT rental_id FROM rental ORDER BY RAND() LIMIT 1")
        cur.execute(
            "INSERT INTO rental_note (rental_id, note) VALUES (%s, %s)", (rental, f"note {n}")
        )
    elif kind == "film":
        cur.execute("UPDATE film SET rental_rate = rental_rate + 0.01, special_features = %s WHERE film_id = %s",
                    (rng.choice(["", "Trailers", "Trailers,Deleted Scenes"]), rng.randint(1, 1000)))  # fmt: skip
    elif kind == "pay":
        cur.execute(
            "UPDATE payment SET amount = amount + 1 WHERE payment_id = %s", (rng.randint(1, 16049),)
        )
    elif kind == "unpay":
        cur.execute("DELETE FROM payment WHERE payment_id = %s", (rng.randint(1, 16049),))
    else:  # ON UPDATE CASCADE into address
        top = _one(cur, "SELECT MAX(city_id) FROM city")
        cur.execute(
            "UPDATE city SET city_id = %s WHERE city_id = %s", (top + 1, rng.randint(1, top))
        )


def classic_step(cur: Any, rng: random.Random, n: int) -> None:
    if n % 120 == 0:
        cur.execute("FLUSH BINARY LOGS")
    if n == 200:
        cur.execute("ALTER TABLE products ADD COLUMN warehouse_code CHAR(2) NOT NULL DEFAULT 'EU'")
        return
    if n == 500:
        cur.execute("TRUNCATE TABLE payments")
        return
    kind = rng.choice(["status", "line", "unline", "rekey", "pay", "credit"])
    order = _one(cur, "SELECT orderNumber FROM orders ORDER BY RAND() LIMIT 1")
    if kind == "status":
        cur.execute("UPDATE orders SET status = %s, comments = %s WHERE orderNumber = %s",
                    (rng.choice(["Shipped", "On Hold", "Disputed"]), f"step {n}", order))  # fmt: skip
    elif kind == "line":
        product = _one(cur, "SELECT productCode FROM products ORDER BY RAND() LIMIT 1")
        cur.execute("INSERT IGNORE INTO orderdetails VALUES (%s, %s, %s, %s, %s)",
                    (order, product, rng.randint(1, 90), round(rng.uniform(10, 200), 2), rng.randint(1, 18)))  # fmt: skip
    elif kind == "unline":
        cur.execute("DELETE FROM orderdetails WHERE orderNumber = %s LIMIT 1", (order,))
    elif kind == "rekey":
        cur.execute(
            "UPDATE IGNORE orderdetails SET orderLineNumber = orderLineNumber + 100 WHERE orderNumber = %s",
            (order,),
        )
    elif kind == "pay":
        customer = _one(cur, "SELECT customerNumber FROM customers ORDER BY RAND() LIMIT 1")
        cur.execute(
            "INSERT INTO payments VALUES (%s, %s, CURDATE(), %s)",
            (customer, f"CH{n:06d}", round(rng.uniform(1, 999), 2)),
        )
    else:
        cur.execute(
            "UPDATE customers SET creditLimit = creditLimit + 100 WHERE customerNumber = (SELECT customerNumber FROM orders WHERE orderNumber = %s)",
            (order,),
        )


def _leftovers(home: Path) -> list[str]:
    """Working folders a finished run should not leave: extracts that never committed,
    packages not yet normalized or loaded."""
    return [str(p.relative_to(home)) for name in PIPELINES for p in open_packages(home, name)]


def _landed_out_of_order(duck: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Per table, load packages whose lowest _cdc_seq is below the highest of an earlier one.

    Incremental dbt models read changes above the highest _cdc_seq they have seen, so every
    change log must land in _cdc_seq order; rows read while streaming wait for the stream to
    reach their position. Only a snapshot taken before streaming (the first one, resumed over
    several runs while the source changes; its rows are numbered below READ_ROW_BASE) is
    allowed to be ahead of the stream."""
    tables = [r[0] for r in duck.execute(
        "select table_name from information_schema.tables where table_schema = 'raw_mysql' "
        "and table_name not like '\\_%' escape '\\' and table_name not like '%\\_\\_current' escape '\\'"
    ).fetchall()]  # fmt: skip
    out = {}
    for t in tables:
        n = duck.execute(
            f"""
            with per_load as (
                select _dlt_load_id, min(_cdc_seq) as lo, max(_cdc_seq) as hi from raw_mysql.{t}
                where not (_cdc_op = 'snapshot' and cast(substr(_cdc_seq, 22) as bigint) < {READ_ROW_BASE})
                group by 1
            )
            select count(*) from (
                select lo, max(hi) over (order by _dlt_load_id rows between unbounded preceding and 1 preceding) as before
                from per_load
            ) where lo < before
            """
        ).fetchone()[0]
        if n:
            out[t] = n
    return out


def _prove(mariadb: MariaDB, workdir: Path, database: str, seed: int, kills: int,
           step: Callable[[Any, random.Random, int], None]) -> None:  # fmt: skip
    url = cdc_url(mariadb, database)
    workload = Workload(mariadb, database, seed, step)
    workload.start()
    try:
        outcomes = _kill_loop(workdir, url, kills, random.Random(seed))
    finally:
        workload.stop.set()
        workload.join(timeout=60)
    assert workload.error is None, workload.error
    assert outcomes.count("killed") >= kills * 0.8, outcomes
    final = subprocess.run([LAKESHOP, "ingest", "mysql", "--to", "lake", "warehouse", "--quiet"],
                           env=_environ(workdir, url), capture_output=True, text=True, check=False)  # fmt: skip
    assert final.returncode == 0, final.stderr[-3000:]
    log = (workdir / "ingest.log").read_text(errors="replace")
    print(f"{database}: {outcomes.count('killed')} SIGKILLs, {workload.done} transactions "
          f"({workload.refused} refused by the schema)")  # fmt: skip
    counts = assert_equivalent(mariadb, database, workdir / "warehouse.duckdb")
    assert assert_equivalent(mariadb, database, None, connection=lake_connection(workdir)) == counts
    repeated = duplicate_seqs(workdir / "warehouse.duckdb")
    assert set(repeated.values()) == {0}, (repeated, log[-4000:])
    assert not _leftovers(workdir), _leftovers(workdir)
    with duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True) as duck:
        twice = duck.execute(
            "select table_name, start_seq, count(distinct snapshot_id) from raw_mysql._cdc_snapshots "
            "where status = 'done' group by 1, 2 having count(distinct snapshot_id) > 1"
        ).fetchall()
        out_of_order = _landed_out_of_order(duck)
    assert not twice, f"generations read twice from one position: {twice}"
    assert not out_of_order, f"loads whose _cdc_seq starts below an earlier load's: {out_of_order}"
    for target in ("warehouse", "lake"):  # the workdir fixture points LAKESHOP_HOME here
        verified = verify_target(url, target)
        assert verified.differing == 0, [c.line() for c in verified.checks.values() if c.keys]


def test_sakila_under_a_random_workload_and_50_sigkills(mariadb: MariaDB, workdir: Path) -> None:
    load_sakila(mariadb, "cdc_chaos_sakila")
    with root(mariadb, "cdc_chaos_sakila") as conn, conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE rental_note (note_id INT AUTO_INCREMENT PRIMARY KEY, rental_id INT NOT NULL, note VARCHAR(40), "
            "CONSTRAINT fk_note_rental FOREIGN KEY (rental_id) REFERENCES rental (rental_id) ON DELETE CASCADE ON UPDATE CASCADE)"
        )
        conn.commit()
    _prove(mariadb, workdir, "cdc_chaos_sakila", seed=13, kills=50, step=sakila_step)


def test_classicmodels_under_a_random_workload_and_sigkills(
    mariadb: MariaDB, workdir: Path
) -> None:
    load_classicmodels(mariadb, "cdc_chaos_classic")
    _prove(mariadb, workdir, "cdc_chaos_classic", seed=29, kills=20, step=classic_step)
