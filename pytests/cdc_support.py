"""Helpers for CDC tests: private databases, the current state a change log implies, checksums."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import random
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pymysql
from dlt.common.normalizers.naming.snake_case import NamingConvention

from ingestion import config
from ingestion.destinations import LANDED_COLUMN, number_landed_sql
from sandbox.services import MariaDB

NAMING = NamingConvention()
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CLASSICMODELS = SHARED_DATA / "classicmodels.sql"
SAKILA = SHARED_DATA / "sakila"


def land_by_name(con: duckdb.DuckDBPyConnection, table: str, rows_sql: str) -> int:
    """Write rows into a change log of raw_mysql as the ingestion does: inserted by name
    (without the landing number), then numbered once the insert committed. Returns the
    number of rows written."""
    before = con.execute(f"select count(*) from raw_mysql.{table}").fetchone()[0]
    con.execute(
        f"insert into raw_mysql.{table} by name "
        f"select * exclude ({LANDED_COLUMN}) from ({rows_sql})"
    )
    con.execute(number_landed_sql(f"raw_mysql.{table}", f"raw_mysql.{LANDED_COLUMN}"))
    return int(con.execute(f"select count(*) from raw_mysql.{table}").fetchone()[0] - before)


def open_packages(home: Path, pipeline: str) -> list[Path]:
    """A dlt pipeline's load packages not yet loaded (extracted, normalized, loading), under
    the state folder ``home``: a finished run leaves none."""
    work = home / "dlt" / pipeline
    return [p for folder in ("normalize", "normalize/extracted", "load/new", "load/normalized")
            if (work / folder).is_dir() for p in (work / folder).iterdir()
            if p.is_dir() and p.name != "extracted"]  # fmt: skip


def cdc_url(mariadb: MariaDB, database: str) -> str:
    return f"mysql://{config.CDC_USER}:{config.CDC_PASSWORD}@127.0.0.1:{mariadb.port}/{database}"


def fresh_database(mariadb: MariaDB, name: str) -> None:
    """An empty database the CDC user may read."""
    with mariadb.connect() as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        for host in ("127.0.0.1", "localhost"):
            cur.execute(f"GRANT SELECT ON `{name}`.* TO '{config.CDC_USER}'@'{host}'")


def load_classicmodels(mariadb: MariaDB, name: str = "classicmodels") -> None:
    """The shared sample database, loaded by the mariadb client into database ``name``."""
    fresh_database(mariadb, name)
    sql = CLASSICMODELS.read_text(encoding="utf-8", errors="replace")
    sql = sql.replace("`classicmodels`", f"`{name}`")
    _client(mariadb, name, sql)


def _client(mariadb: MariaDB, database: str, sql: str) -> None:
    client = (
        "mariadb"
        if subprocess.run(["which", "mariadb"], capture_output=True).returncode == 0
        else "mysql"
    )
    done = subprocess.run([client, "--socket", str(mariadb.socket), "-uroot", "--default-character-set=utf8mb4", database],
                          input=sql, text=True, capture_output=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]


def load_sakila(mariadb: MariaDB, name: str = "sakila") -> None:
    """MySQL's sakila, schema and data, into database ``name``. MariaDB skips sakila's
    version comments ``/*!50705 ... */`` (they hold address.location, a GEOMETRY, and its
    spatial index), so they are rewritten to ``/*! ... */``, which MariaDB runs."""
    fresh_database(mariadb, name)
    for part in ("sakila-mv-schema.sql", "sakila-mv-data.sql"):
        sql = (SAKILA / part).read_text(encoding="utf-8").replace("/*!50705 ", "/*! ")
        sql = re.sub(r"\bsakila\b", name, sql)
        _client(mariadb, name, sql)


def root(mariadb: MariaDB, database: str) -> pymysql.connections.Connection[Any]:
    conn = mariadb.connect(database)
    with conn.cursor() as cur:
        cur.execute("SET time_zone = '+00:00'")
    return conn


def primary_keys(mariadb: MariaDB, database: str) -> dict[str, list[str]]:
    with mariadb.connect() as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT t.table_name, k.column_name FROM information_schema.tables t LEFT JOIN "
            "information_schema.key_column_usage k ON k.table_schema = t.table_schema AND "
            "k.table_name = t.table_name AND k.constraint_name = 'PRIMARY' WHERE t.table_schema = %s "
            "AND t.table_type = 'BASE TABLE' ORDER BY t.table_name, k.ordinal_position",
            (database,),
        )
        keys: dict[str, list[str]] = {}
        for table, column in cur.fetchall():
            keys.setdefault(table, [])
            if column:
                keys[table].append(column)
        return keys


def _norm(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, Decimal):
        # BIGINT UNSIGNED lands as DECIMAL(20,0): compare integral values as integers
        return (
            int(value)
            if value == value.to_integral()
            else value.quantize(Decimal("0.000001")).normalize()
        )
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    if isinstance(value, set):
        return ",".join(sorted(value))
    return value


def source_state(
    mariadb: MariaDB, database: str, table: str, columns: list[str] | None = None
) -> list[tuple[Any, ...]]:
    """The table as the server holds it: FLOAT read exactly (as DOUBLE; its text is rounded to
    6 digits), TIME as MySQL's text."""
    with root(mariadb, database) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT column_name, data_type, numeric_precision, numeric_scale FROM information_schema.columns "
            "WHERE table_schema=%s AND table_name=%s ORDER BY ordinal_position",
            (database, table),
        )
        kinds = {}
        for name, kind, precision, scale in cur.fetchall():
            kind = str(kind).lower()
            # DECIMAL wider than Arrow's DECIMAL(38) (or finer than 10 digits) lands as its text
            wide = kind == "decimal" and (int(precision or 0) > 38 or int(scale or 0) > 10)
            kinds[str(name)] = "widedecimal" if wide else kind
        # zero and partial-zero dates cannot be represented and land as NULL (documented)
        zero_date = "IF(MONTH(`{0}`) = 0 OR DAYOFMONTH(`{0}`) = 0, NULL, `{0}`)"
        casts = {"float": "CAST(`{0}` AS DOUBLE)", "time": "CAST(`{0}` AS CHAR)", "bit": "CAST(`{0}` AS UNSIGNED)",
                 "widedecimal": "CAST(`{0}` AS CHAR)", "date": zero_date, "datetime": zero_date,
                 "timestamp": zero_date}  # fmt: skip
        cols = ", ".join(casts.get(kinds[c], "`{0}`").format(c) for c in columns or list(kinds))
        cur.execute(f"SELECT {cols} FROM `{table}`")
        return sorted((tuple(_norm(v) for v in row) for row in cur.fetchall()), key=repr)


def source_columns(mariadb: MariaDB, database: str, table: str) -> list[str]:
    with mariadb.connect() as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema=%s AND table_name=%s ORDER BY ordinal_position",
            (database, table),
        )
        return [str(r[0]) for r in cur.fetchall()]


class PgAsDuck:
    """Lets landed_state() query PostgreSQL (psycopg2) with DuckDB's `?` placeholders."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.rows: list[tuple[Any, ...]] = []

    def execute(self, sql: str, params: list[Any] | None = None) -> PgAsDuck:
        with self.conn.cursor() as cur:
            cur.execute(sql.replace("?", "%s"), params or [])
            self.rows = list(cur.fetchall()) if cur.description else []
        return self

    def fetchone(self) -> tuple[Any, ...] | None:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.rows

    def __enter__(self) -> PgAsDuck:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def landed_state(
    duck: Any, dataset: str, table: str, pk: list[str], columns: list[str]
) -> list[tuple[Any, ...]]:
    """The current state the change log implies: newest change per key since the latest
    snapshot; for a table without a primary key (``pk`` empty) the multiset of rows, each
    snapshot row or insert counting once and each delete taking one away."""
    t = NAMING.normalize_identifier(table)
    landed = {r[0] for r in duck.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
        [dataset, t]).fetchall()}  # fmt: skip
    if not landed:
        return []  # nothing landed for it (a table still empty)
    keys = ", ".join(f'"{NAMING.normalize_identifier(c)}"' for c in pk)
    # a column added to the source that no landed row has yet: NULL in every row
    cols = ", ".join(
        f'"{n}"' if n in landed else f'null as "{n}"'
        for n in (NAMING.normalize_identifier(c) for c in columns)
    )
    start = duck.execute(
        f"select max(start_seq) from {dataset}._cdc_snapshots where table_name = ? and status = 'done'",
        [table],
    ).fetchone()
    assert start is not None and start[0] is not None, f"no complete snapshot recorded for {table}"
    if not pk:
        counted = duck.execute(
            f"""
            select {cols}, sum(case when _cdc_op = 'delete' then -1 else 1 end) as n from (
                select *, row_number() over (partition by _cdc_seq) as copy
                from {dataset}.{t} where _cdc_seq >= ?
            ) as once where copy = 1 group by all
            """,
            [start[0]],
        ).fetchall()
        assert all(r[-1] >= 0 for r in counted), f"{table}: a row deleted more often than it landed"
        return sorted(
            (tuple(_norm(v) for v in r[:-1]) for r in counted for _ in range(r[-1])), key=repr
        )
    rows = duck.execute(
        f"""
        select {cols} from (
            select *, row_number() over (partition by {keys} order by _cdc_seq desc) as rn
            from {dataset}.{t} where _cdc_seq >= ?
        ) as latest where rn = 1 and _cdc_op <> 'delete'
        """,
        [start[0]],
    ).fetchall()
    return sorted((tuple(_norm(v) for v in row) for row in rows), key=repr)


def checksum(rows: list[tuple[Any, ...]]) -> str:
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:16]


def assert_equivalent(
    mariadb: MariaDB,
    database: str,
    duck_path: Path | None,
    dataset: str = "raw_mysql",
    tables: list[str] | None = None,
    connection: Any = None,
) -> dict[str, int]:
    """Every table's current state from the change log equals the source, column by column."""
    keys = primary_keys(mariadb, database)
    counts = {}
    with connection or duckdb.connect(str(duck_path), read_only=True) as duck:
        for table in tables or sorted(keys):
            cols = source_columns(mariadb, database, table)
            expected = source_state(mariadb, database, table)
            got = landed_state(duck, dataset, table, keys[table], cols)
            if checksum(expected) != checksum(got):
                missing = [r for r in expected if r not in set(got)][:3]
                extra = [r for r in got if r not in set(expected)][:3]
                raise AssertionError(
                    f"{table}: {len(expected)} source rows vs {len(got)} landed; missing {missing} extra {extra}"
                )
            counts[table] = len(expected)
    return counts


def duplicate_seqs(duck_path: Path, dataset: str = "raw_mysql") -> dict[str, int]:
    with duckdb.connect(str(duck_path), read_only=True) as duck:
        tables = [r[0] for r in duck.execute(
            "select table_name from information_schema.tables where table_schema = ? and table_name not like '\\_%' escape '\\'",
            [dataset]).fetchall()]  # fmt: skip
        out = {}
        for t in tables:
            n, d = duck.execute(
                f"select count(*), count(distinct _cdc_seq) from {dataset}.{t}"
            ).fetchone()  # type: ignore[misc]
            out[t] = n - d
        return out


def duplicate_origins(duck_path: Path, dataset: str = "raw_mysql") -> dict[str, int]:
    """Per table: distinct load packages among the copies of a repeated ``_cdc_seq``.

    1 means every repeat came from one package loaded twice (dlt retrying a load job whose
    commit landed just before a crash); more would mean a change was extracted twice."""
    with duckdb.connect(str(duck_path), read_only=True) as duck:
        tables = [r[0] for r in duck.execute(
            "select table_name from information_schema.tables where table_schema = ? and table_name not like '\\_%' escape '\\'",
            [dataset]).fetchall()]  # fmt: skip
        out = {}
        for t in tables:
            row = duck.execute(
                f"select max(packages) from (select _cdc_seq, count(distinct _dlt_load_id) as packages "
                f"from {dataset}.{t} group by 1 having count(*) > 1)"
            ).fetchone()
            out[t] = int(row[0] or 0) if row else 0
        return out


@contextmanager
def env(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def shop_workload(mariadb: MariaDB, database: str, seed: int, transactions: int = 200) -> None:
    """The hard cases: multi-row transactions, one row updated many times in a transaction,
    delete then re-insert of the same key, updates of the primary key."""
    rng = random.Random(seed)
    with root(mariadb, database) as conn, conn.cursor() as cur:
        conn.autocommit(False)
        cur.execute("SELECT MAX(order_id), MAX(customer_id) FROM orders")
        max_order, _ = cur.fetchone()  # type: ignore[misc]
        cur.execute("SELECT MAX(product_id) FROM products")
        max_product = cur.fetchone()[0]  # type: ignore[index]
        for _ in range(transactions):
            kind = rng.choice(["multi", "many_updates", "reinsert", "pk_update", "delete"])
            oid = rng.randint(1, max_order)
            if kind == "multi":
                cur.execute(
                    "UPDATE orders SET status='shipped', updated_at=NOW(6) WHERE order_id BETWEEN %s AND %s",
                    (oid, oid + 5),
                )
                cur.execute(
                    "UPDATE products SET price = price + 1 WHERE product_id = %s",
                    (rng.randint(1, max_product),),
                )
            elif kind == "many_updates":
                for status in ("paid", "shipped", "delivered", "returned"):
                    cur.execute(
                        "UPDATE orders SET status=%s, updated_at=NOW(6) WHERE order_id=%s",
                        (status, oid),
                    )
            elif kind == "reinsert":
                cur.execute("SELECT * FROM payments WHERE order_id=%s LIMIT 1", (oid,))
                row = cur.fetchone()
                if row:
                    cur.execute("DELETE FROM payments WHERE payment_id=%s", (row[0],))
                    cur.execute(
                        "INSERT INTO payments VALUES (" + ",".join(["%s"] * len(row)) + ")",
                        (*row[:3], "reinserted", *row[4:]),
                    )
            elif kind == "pk_update":
                cur.execute("SELECT MAX(shipment_id) FROM shipments")
                top = cur.fetchone()[0]  # type: ignore[index]
                cur.execute(
                    "UPDATE shipments SET shipment_id = %s WHERE shipment_id = %s",
                    (top + 1000, rng.randint(1, top)),
                )
            else:
                cur.execute("DELETE FROM order_items WHERE order_id=%s", (oid,))
            conn.commit()
