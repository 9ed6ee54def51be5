"""Short looks at the target warehouse from Python: `lakeshop build --changed-only`, the
forecast, the dashboard. DuckDB allows one process on a file at a time once a writer holds it
(another cannot even open it read-only), so nothing here keeps the file open: a connection
lives for one look and is closed before dbt or ingestion need the file."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ingestion.destinations import duckdb_path, warehouse_lock

if TYPE_CHECKING:
    import pandas as pd

# the layers dbt writes; `forecast` is the forecast's own (lakeshop forecast)
LAYERS = ("bronze", "silver", "gold", "seeds", "forecast")
UNPREFIXED_TARGETS = ("prod", "duckdb")


def layer_schema(target: str, layer: str) -> str:
    """The schema a target writes a layer to, by the rule of macros/generate_schema_name.sql:
    `prod` and the embedded `duckdb` write `gold`; any other target `<its schema>_gold`
    (`dev_gold`, or `$LAKESHOP_DEV_SCHEMA`, the schema profiles.yml.example gives it)."""
    if target in UNPREFIXED_TARGETS:
        return layer
    return f"{os.environ.get('LAKESHOP_DEV_SCHEMA', 'dev')}_{layer}"


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Warehouse:
    """One connection to the warehouse of a target type (duckdb or postgres); close it soon."""

    def __init__(self, target_type: str, *, read_only: bool = True) -> None:
        self.target_type = target_type
        if target_type == "duckdb":
            import duckdb

            self.conn: Any = duckdb.connect(str(duckdb_path()), read_only=read_only)
        elif target_type == "postgres":
            import psycopg2

            self.conn = psycopg2.connect(
                host=os.environ.get("LAKESHOP_PG_HOST", "127.0.0.1"),
                port=int(os.environ.get("LAKESHOP_PG_PORT", "5433")),
                user=os.environ.get("LAKESHOP_PG_USER", "lakeshop"),
                password=os.environ.get("LAKESHOP_PG_PASSWORD", "lakeshop"),
                dbname=os.environ.get("LAKESHOP_PG_DATABASE", "warehouse"),
            )
            if read_only:
                self.conn.set_session(readonly=True, autocommit=True)
        else:
            raise ValueError(
                f"lakeshop reads DuckDB and PostgreSQL warehouses from Python, not {target_type}"
            )

    def close(self) -> None:
        self.conn.close()

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if self.target_type == "duckdb":
            return list(self.conn.execute(sql, list(params)).fetchall())
        with self.conn.cursor() as cur:
            cur.execute(sql.replace("?", "%s"), tuple(params))
            return list(cur.fetchall())

    def frame(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        import pandas as pd

        if self.target_type == "duckdb":
            return self.conn.execute(sql, list(params)).df()
        with self.conn.cursor() as cur:
            cur.execute(sql.replace("?", "%s"), tuple(params))
            columns = [c.name for c in cur.description or []]
            return pd.DataFrame(cur.fetchall(), columns=columns)

    def existing(self) -> set[tuple[str, str]]:
        return {
            (str(s), str(t))
            for s, t in self.rows("select table_schema, table_name from information_schema.tables")
        }

    def replace_table(self, schema: str, table: str, frame: pd.DataFrame) -> None:
        """Create or replace schema.table with the frame's rows, in one transaction."""
        target = f"{quote(schema)}.{quote(table)}"
        if self.target_type == "duckdb":
            self.conn.execute(f"create schema if not exists {quote(schema)}")
            self.conn.register("lakeshop_frame", frame)
            try:
                self.conn.execute(
                    f"create or replace table {target} as select * from lakeshop_frame"
                )
            finally:
                self.conn.unregister("lakeshop_frame")
            return
        from psycopg2.extras import execute_values

        columns = ", ".join(f"{quote(c)} {_pg_type(frame[c])}" for c in frame.columns)
        with self.conn, self.conn.cursor() as cur:
            cur.execute(f"create schema if not exists {quote(schema)}")
            cur.execute(f"drop table if exists {target}")
            cur.execute(f"create table {target} ({columns})")
            values = [
                tuple(None if _missing(v) else _plain(v) for v in row)
                for row in frame.itertuples(index=False, name=None)
            ]
            execute_values(cur, f"insert into {target} values %s", values, page_size=5000)


def _pg_type(series: pd.Series) -> str:
    kind = series.dtype.kind
    if kind == "b":
        return "boolean"
    if kind in "iu":
        return "bigint"
    if kind == "f":
        return "double precision"
    if kind == "M":
        return "timestamp"
    if len(series.dropna()) and hasattr(series.dropna().iloc[0], "isoformat"):
        return "date"
    return "text"


def _missing(value: Any) -> bool:
    try:
        return bool(value != value)  # NaN, NaT
    except (TypeError, ValueError):
        return value is None


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


@contextlib.contextmanager
def writing(target_type: str) -> Iterator[Warehouse]:
    """A read-write connection under the warehouse's exclusive advisory lock (DuckDB)."""
    lock = warehouse_lock() if target_type == "duckdb" else contextlib.nullcontext()
    with lock:
        wh = Warehouse(target_type, read_only=False)
        try:
            yield wh
        finally:
            wh.close()


@contextlib.contextmanager
def looking(
    target_type: str, *, shared: bool = True, wait: float | None = None
) -> Iterator[Warehouse]:
    """A read-only connection held for one look, under the warehouse's advisory lock:
    shared among readers, so a reader waits for a writer's turn instead of failing on
    DuckDB's file lock, and a writer waits only for the look in progress. `wait`: give up
    after that many seconds (raises TimeoutError) instead of waiting for a long build."""
    lock = (
        warehouse_lock(shared=shared, wait=wait)
        if target_type == "duckdb"
        else contextlib.nullcontext()
    )
    with lock:
        wh = Warehouse(target_type)
        try:
            yield wh
        finally:
            wh.close()
