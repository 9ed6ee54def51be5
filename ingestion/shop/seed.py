"""Create the shop schema and bulk-load a generated shop into MySQL/MariaDB."""

from __future__ import annotations

import tempfile
import time
from importlib import resources
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pymysql

from ingestion.config import MySQLTarget
from ingestion.progress import Progress
from ingestion.shop.generator import LOAD_ORDER, ShopData

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
    text = resources.files("ingestion.shop").joinpath("schema.sql").read_text()
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


def load_table(
    cur: pymysql.cursors.Cursor, name: str, table: pa.Table, workdir: Path, progress: Progress
) -> None:
    columns = ", ".join(f"`{c}`" for c in table.column_names)
    path = workdir / f"{name}.tsv"
    for offset in range(0, table.num_rows, CHUNK_ROWS):
        chunk = _as_text(table.slice(offset, CHUNK_ROWS))
        pcsv.write_csv(
            chunk,
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
            if exc.args[0] in (1148, 3948, 2068):  # local infile disabled on server/client
                _insert_rows(cur, name, table.slice(offset, CHUNK_ROWS))
            else:
                raise
        _check_warnings(cur, name)
        progress.advance(chunk.num_rows, extra=name)


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
    target: MySQLTarget, data: ShopData, reset: bool = False, quiet: bool = False
) -> dict[str, float]:
    """Create the schema and load ``data``. Returns rows per table plus timing figures."""
    started = time.monotonic()
    create_schema(target, reset=reset)
    total = sum(t.num_rows for t in data.tables.values())
    progress = Progress("seed", total=total, quiet=quiet)
    with connect(target) as conn, conn.cursor() as cur, tempfile.TemporaryDirectory() as tmp:
        # Bulk load like a migration would: constraints are declared, checked by the app later.
        cur.execute("SET SESSION foreign_key_checks = 0, unique_checks = 0")
        for name in LOAD_ORDER:
            load_table(cur, name, data.tables[name], Path(tmp), progress)
        cur.execute("SET SESSION foreign_key_checks = 1, unique_checks = 1")
    progress.close()
    elapsed = time.monotonic() - started
    figures: dict[str, float] = {k: float(v) for k, v in data.rows().items()}
    figures["seconds"] = elapsed
    figures["rows_per_second"] = total / elapsed if elapsed else 0.0
    return figures
