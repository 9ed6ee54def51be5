"""Consistent, resumable snapshots: primary-key chunks read as Arrow batches."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pyarrow as pa
import pymysql
import pymysql.converters
import pymysql.cursors

from ingestion.mysql_cdc.arrow_read import ArrowChunks
from ingestion.mysql_cdc.helpers import (
    CdcError,
    MySqlConn,
    Position,
    TableInfo,
    master_position,
    quote,
    select_expression,
    text_to_arrow,
)


class SnapshotSession:
    """One consistent read view and the binlog position that matches it exactly.

    MariaDB: ``START TRANSACTION WITH CONSISTENT SNAPSHOT`` plus the ``binlog_snapshot_file``
    / ``binlog_snapshot_position`` status variables, no lock at all. MySQL 8 has no such
    variables; there the position is taken under a brief ``FLUSH TABLES WITH READ LOCK``
    (needs RELOAD), released as soon as the transaction has started.
    """

    def __init__(
        self, conn: MySqlConn, arrow: bool = False, server_id: int = 0,
        cascades: Mapping[str, Sequence[Any]] | None = None,
    ) -> None:  # fmt: skip
        # no decoders (values arrive as text and Arrow casts them in C); encoders stay so
        # query parameters are still escaped
        self.db = conn.connect(conv=dict(pymysql.converters.encoders))
        self.db.autocommit(False)
        self.arrow: ArrowChunks | None = None
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
            if arrow:  # chunks straight into Arrow while they are exact (arrow_read)
                self.arrow = ArrowChunks(conn, cur, self.position, server_id, cascades or {})

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
        key is read whole in one query (it cannot be resumed inside). With ``arrow``, chunks
        are read by connectorx while they are exactly the state at the snapshot's position
        (``arrow_read``); the first one that may not be, and the rest of the table, are read
        here inside the transaction.
        """
        names = table.column_names
        cols = ", ".join(select_expression(c) for c in table.columns)
        pk = table.primary_key
        pk_index = [names.index(c) for c in pk]
        order = ", ".join(quote(c) for c in pk)
        keys = f"({order}) > ({', '.join(['%s'] * len(pk))})"
        left = limit
        arrow = self.arrow if self.arrow is not None and self.arrow.usable(table) else None
        with self.db.cursor(pymysql.cursors.Cursor) as cur:
            while left > 0:
                size = min(chunk, left) if pk else 0
                tail = ""
                params: list[Any] = []
                if pk:
                    if after is not None:
                        tail += f" WHERE {keys}"
                        params = list(after)
                    tail += f" ORDER BY {order} LIMIT {int(size)}"
                if arrow is not None:
                    fast = arrow.read(table, cur.mogrify(tail, params) if params else tail)
                    if fast is not None and not arrow.unchanged(table, master_position(cur)):
                        arrow.fallbacks.append(f"{table.name} changed during the snapshot")
                        fast = None
                    if fast is None:
                        arrow = None  # this chunk and the rest: inside the transaction
                    else:
                        batch, invalid = fast
                        if not batch.num_rows:
                            return
                        arrow.rows += batch.num_rows
                        after = arrow.last_key(batch, pk) if pk else None
                        yield batch, after, invalid
                        left -= batch.num_rows
                        if not pk or batch.num_rows < size:
                            return
                        continue
                cur.execute(f"SELECT {cols} FROM {quote(table.name)}{tail}", params)
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
