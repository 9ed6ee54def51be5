"""Consistent, resumable snapshots: primary-key chunks read as Arrow batches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pymysql
import pymysql.converters
import pymysql.cursors

from ingestion.mysql_cdc.helpers import (
    CdcError,
    Column,
    MySqlConn,
    Position,
    TableInfo,
    master_position,
    quote,
    text_to_arrow,
)


def select_expression(column: Column) -> str:
    """How a column is selected so its text is its exact value: a FLOAT's text is rounded to
    6 digits (123456789 reads as 1.23457e8), the float32 it stores reads exactly as DOUBLE, as
    the binary log carries it."""
    if column.data_type == "float":
        return f"CAST({quote(column.name)} AS DOUBLE)"
    return quote(column.name)


class SnapshotSession:
    """One consistent read view and the binlog position that matches it exactly.

    MariaDB: ``START TRANSACTION WITH CONSISTENT SNAPSHOT`` plus the ``binlog_snapshot_file``
    / ``binlog_snapshot_position`` status variables, no lock at all. MySQL 8 has no such
    variables; there the position is taken under a brief ``FLUSH TABLES WITH READ LOCK``
    (needs RELOAD), released as soon as the transaction has started.
    """

    def __init__(self, conn: MySqlConn) -> None:
        # no decoders (values arrive as text and Arrow casts them in C); encoders stay so
        # query parameters are still escaped
        self.db = conn.connect(conv=dict(pymysql.converters.encoders))
        self.db.autocommit(False)
        with self.db.cursor(pymysql.cursors.Cursor) as cur:
            cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
            cur.execute("SHOW STATUS LIKE 'binlog_snapshot_%'")
            status = {str(k).lower(): str(v) for k, v in cur.fetchall()}
            if status.get("binlog_snapshot_file"):
                self.position = Position(
                    status["binlog_snapshot_file"], int(status["binlog_snapshot_position"])
                )
            else:
                self.position = self._locked_position(cur)

    def _locked_position(self, cur: pymysql.cursors.Cursor) -> Position:
        cur.execute("ROLLBACK")
        try:
            cur.execute("FLUSH TABLES WITH READ LOCK")
        except pymysql.err.OperationalError as exc:
            raise CdcError(
                "this server does not report the binlog position of a consistent snapshot "
                "(binlog_snapshot_file is MariaDB's) and the CDC user may not take the brief "
                "read lock MySQL needs instead: GRANT RELOAD ON *.* TO the CDC user."
            ) from exc
        try:
            cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
            position = master_position(cur)
        finally:
            cur.execute("UNLOCK TABLES")
        return position

    def read(
        self, table: TableInfo, after: list[Any] | None, limit: int, chunk: int
    ) -> Iterator[tuple[pa.Table, list[Any] | None, int]]:
        """Rows with primary key > ``after``, in key order, ``chunk`` rows at a time, ``limit`` in all.

        Each chunk is one keyset query (``WHERE (pk) > (last) ORDER BY pk LIMIT chunk``) inside
        the snapshot's transaction, read buffered: pymysql parses a buffered result much faster
        than row-by-row streaming, and a chunk bounds the memory. Yields (batch, last primary
        key in the batch, values that could not be represented). A table without a primary
        key is read whole in one query (it cannot be resumed inside).
        """
        names = table.column_names
        cols = ", ".join(select_expression(c) for c in table.columns)
        pk = table.primary_key
        pk_index = [names.index(c) for c in pk]
        order = ", ".join(quote(c) for c in pk)
        keys = f"({order}) > ({', '.join(['%s'] * len(pk))})"
        left = limit
        with self.db.cursor(pymysql.cursors.Cursor) as cur:
            while left > 0:
                size = min(chunk, left) if pk else 0
                sql = f"SELECT {cols} FROM {quote(table.name)}"
                params: list[Any] = []
                if pk:
                    if after is not None:
                        sql += f" WHERE {keys}"
                        params = list(after)
                    sql += f" ORDER BY {order} LIMIT {int(size)}"
                cur.execute(sql, params)
                rows = cur.fetchall()
                if not rows:
                    return
                arrays, invalid = text_to_arrow(table.columns, rows)
                after = [rows[-1][i] for i in pk_index] if pk else None
                yield pa.Table.from_arrays(arrays, names=names), after, invalid
                left -= len(rows)
                if not pk or len(rows) < size:
                    return

    def close(self) -> None:
        try:
            self.db.rollback()
        finally:
            self.db.close()
