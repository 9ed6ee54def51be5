"""Create the shop schema and bulk-load a generated shop into MySQL/MariaDB."""

from __future__ import annotations

import queue
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pymysql

from ingestion.progress import Progress
from sandbox.shop.generator import LOAD_ORDER, ShopData
from sandbox.shop.target import MySQLTarget

MONEY_COLUMNS = {"price", "cost", "total_amount", "unit_price", "discount_amount", "amount"}
CHUNK_ROWS = 250_000


class SeedError(RuntimeError):
    """The shop could not be seeded; the message says what to do."""


def connect(target: MySQLTarget, database: bool = True) -> pymysql.connections.Connection:
    try:
        return pymysql.connect(
            host=target.host,
            port=target.port,
            user=target.user,
            password=target.password,
            database=target.database if database else None,
            unix_socket=target.unix_socket,
            autocommit=True,
            local_infile=True,
            charset="utf8mb4",
        )
    except pymysql.err.OperationalError as exc:
        raise SeedError(
            f"cannot connect to {target.describe()}: {exc.args[-1]}. "
            "Start the private MariaDB with `lakeshop services start`, or set "
            "LAKESHOP_MYSQL_URL=mysql://user:password@host:3306/shop."
        ) from exc


def schema_statements() -> list[str]:
    text = resources.files("sandbox.shop").joinpath("schema.sql").read_text()
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in body.split(";") if s.strip()]


def existing_orders(cur: pymysql.cursors.Cursor, database: str) -> int | None:
    cur.execute(
        "select count(*) from information_schema.tables where table_schema=%s and table_name='orders'",
        (database,),
    )
    row = cur.fetchone()
    if not row or row[0] == 0:
        return None
    cur.execute("select count(*) from orders")
    row = cur.fetchone()
    return int(row[0]) if row else 0


def create_schema(target: MySQLTarget, reset: bool = False) -> None:
    """Create the shop tables. Refuses to touch a shop holding orders unless ``reset``."""
    with connect(target, database=False) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE IF NOT EXISTS `{target.database}` CHARACTER SET utf8mb4")
        cur.execute(f"USE `{target.database}`")
        have = existing_orders(cur, target.database)
        if have and not reset:
            raise SeedError(
                f"{target.describe()} already holds a shop with {have} orders. "
                "Pass --reset to drop and recreate its tables (this deletes them), "
                "or seed another database with --mysql-url."
            )
        cur.execute("SET SESSION foreign_key_checks = 0")
        for table in reversed(LOAD_ORDER):
            cur.execute(f"DROP TABLE IF EXISTS `{table}`")
        for stmt in schema_statements():
            cur.execute(stmt)


def _as_text(table: pa.Table) -> pa.Table:
    """Every column as MySQL LOAD DATA text: decimals from cents, NULL as \\N."""
    cols = []
    for name in table.column_names:
        col = table[name]
        if name in MONEY_COLUMNS:
            col = pc.divide(pc.cast(col, pa.float64()), 100.0)
        col = pc.cast(col, pa.string())
        cols.append(pc.fill_null(col, "\\N"))
    return pa.table(cols, names=table.column_names)


def _load_chunk(cur: pymysql.cursors.Cursor, name: str, chunk: pa.Table, path: Path) -> None:
    columns = ", ".join(f"`{c}`" for c in chunk.column_names)
    pcsv.write_csv(
        _as_text(chunk),
        path,
        pcsv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none"),
    )
    try:
        cur.execute(
            f"LOAD DATA LOCAL INFILE %s INTO TABLE `{name}` CHARACTER SET utf8mb4 "
            f"FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({columns})",
            (str(path),),
        )
    except pymysql.err.OperationalError as exc:
        if exc.args[0] not in (1148, 3948, 2068):  # local infile disabled on server/client
            raise
        _insert_rows(cur, name, chunk)
    _check_warnings(cur, name)


def _check_warnings(cur: pymysql.cursors.Cursor, name: str) -> None:
    """LOAD DATA truncates or coerces silently into warnings; treat any as an error."""
    cur.execute("SHOW WARNINGS LIMIT 5")
    warnings = cur.fetchall()
    if warnings:
        shown = "; ".join(str(w[2]) for w in warnings)
        raise SeedError(f"loading {name} produced warnings (data would be altered): {shown}")


def _insert_rows(cur: pymysql.cursors.Cursor, name: str, table: pa.Table) -> None:
    """Fallback for servers with local_infile off: multi-row INSERTs."""
    text = _as_text(table).to_pylist()
    columns = ", ".join(f"`{c}`" for c in table.column_names)
    marks = ", ".join(["%s"] * table.num_columns)
    rows = [tuple(None if v == "\\N" else v for v in r.values()) for r in text]
    cur.executemany(f"INSERT INTO `{name}` ({columns}) VALUES ({marks})", rows)


def seed(
    target: MySQLTarget, data: ShopData, reset: bool = False, quiet: bool = False, workers: int = 2
) -> dict[str, float]:
    """Create the schema and load ``data``. Returns rows per table plus timing figures.

    Chunks of every table go through a queue to ``workers`` connections: the server parses
    and indexes one chunk per connection while Python prepares the next.
    """
    started = time.monotonic()
    create_schema(target, reset=reset)
    total = sum(t.num_rows for t in data.tables.values())
    progress = Progress("seed", total=total, quiet=quiet)
    chunks: queue.Queue[tuple[str, pa.Table]] = queue.Queue()
    for name in LOAD_ORDER:
        table = data.tables[name]
        for offset in range(0, table.num_rows, CHUNK_ROWS):
            chunks.put((name, table.slice(offset, CHUNK_ROWS)))
    lock = threading.Lock()

    def work(slot: int, tmp: Path) -> None:
        with connect(target) as conn, conn.cursor() as cur:
            # Bulk load like a migration: constraints are declared, checked by the app later.
            cur.execute("SET SESSION foreign_key_checks = 0, unique_checks = 0")
            while True:
                try:
                    name, chunk = chunks.get_nowait()
                except queue.Empty:
                    return
                _load_chunk(cur, name, chunk, tmp / f"chunk-{slot}.tsv")
                with lock:
                    progress.advance(chunk.num_rows, extra=name)

    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(work, slot, Path(tmp)) for slot in range(max(1, workers))]
        for future in futures:
            future.result()  # re-raise the first loader error
    progress.close()
    elapsed = time.monotonic() - started
    figures: dict[str, float] = {k: float(v) for k, v in data.rows().items()}
    figures["seconds"] = elapsed
    figures["rows_per_second"] = total / elapsed if elapsed else 0.0
    return figures
