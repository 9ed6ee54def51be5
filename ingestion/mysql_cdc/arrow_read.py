"""Snapshot chunks read straight into Arrow by connectorx (Rust), whenever that read is exact.

connectorx opens connections of its own, so it cannot read inside the snapshot's
transaction. It does not have to while nothing is written: the snapshot's view sees exactly
the transactions the binary log holds before its position P; a read that starts later sees
at least those, and no more than the binary log holds when the read ends (a transaction is
written to the binary log before it becomes visible). So when the log still ends at P after
the read, the read saw the state at P, the very state the snapshot's own transaction sees.
When it does not (a write anywhere on the server), that chunk and the rest of the snapshot
are read inside the transaction, as without connectorx.

Values are the ones the transaction's own read gives: integers are selected as BIGINT,
strings as they are, binary columns as bytes, and everything else as the text MySQL writes
for it, cast by Arrow exactly as the pymysql path casts it (``cast_text``). Not used: without
connectorx installed, with ``LAKESHOP_CDC_ARROW_READER=0``, for a table with a type outside
the list below or a key that is not an integer or a string, and for TIMESTAMP columns when
the server's time zone is not UTC (connectorx's session cannot be set to UTC).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote as url_quote

import pyarrow as pa
import pymysql.cursors
from pymysqlreplication import BinLogStreamReader
from pymysqlreplication.event import QueryEvent, XidEvent
from pymysqlreplication.row_event import DeleteRowsEvent, UpdateRowsEvent, WriteRowsEvent

from ingestion.mysql_cdc.helpers import (
    Column,
    MySqlConn,
    Position,
    TableInfo,
    cast_text,
    quote,
    select_expression,
)

try:
    import connectorx
except ImportError:  # an optional speed-up: the snapshot reads through pymysql without it
    connectorx = None  # type: ignore[assignment]

INTEGERS = {"tinyint", "smallint", "mediumint", "int", "integer", "bigint", "year"}
STRINGS = {"char", "varchar", "tinytext", "text", "mediumtext", "longtext"}
BINARY = {"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"}
GEOMETRY = {"geometry", "point"}  # as bytes: the SRID, then WKB, as pymysql reads them
AS_TEXT = {"decimal", "numeric", "float", "double", "real", "date", "datetime", "timestamp",
           "time", "enum", "set", "json"}  # fmt: skip
UTC_ZONES = {"+00:00", "UTC", "GMT", "Etc/UTC", "Universal", "Zulu"}


def _integer(col: Column) -> bool:
    return col.data_type in INTEGERS and col.arrow == pa.int64()


class WrittenSince:
    """What the binary log holds after a position: the tables with row events (in the
    snapshot's database) and whether any statement other than a transaction's own came by (a
    DDL anywhere may change what a later read sees). Read as a replica reads it, from where the
    last look stopped to the log's end, each look on a connection of its own."""

    def __init__(self, conn: MySqlConn, server_id: int, start: Position) -> None:
        self.conn, self.server_id, self.position = conn, server_id, start
        self.tables: set[str] = set()
        self.statements = False

    def look(self) -> None:
        stream = BinLogStreamReader(
            connection_settings=self.conn.replication_settings(), server_id=self.server_id,
            resume_stream=True, log_file=self.position.file, log_pos=self.position.pos,
            blocking=False, is_mariadb=False, enable_logging=False,
            only_events=[WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent, QueryEvent, XidEvent],
        )  # fmt: skip
        try:
            for event in stream:
                if isinstance(event, QueryEvent):
                    text = str(event.query).strip().upper()
                    if text not in {"BEGIN", "COMMIT", "ROLLBACK"} and not text.startswith("XA "):
                        self.statements = True
                elif not isinstance(event, XidEvent):  # a row event
                    if event.schema == self.conn.database:
                        self.tables.add(str(event.table))
                    continue
                # the next look starts after a commit or a statement, never inside a
                # transaction, where its row events would come without their table map
                self.position = Position(str(stream.log_file), int(event.packet.log_pos))
        finally:
            stream.close()


class ArrowChunks:
    """Reads snapshot chunks with connectorx for one snapshot session."""

    def __init__(
        self, conn: MySqlConn, cur: pymysql.cursors.Cursor, start: Position, server_id: int,
        cascades: Mapping[str, Sequence[Any]],
    ) -> None:  # fmt: skip
        self.conn, self.start, self.server_id = conn, start, server_id
        # child table -> the tables whose changes can change it without a row event of its
        # own (MariaDB logs none for a foreign key's cascade), transitively
        self.parents: dict[str, set[str]] = {}
        for parent, keys in cascades.items():
            for key in keys:
                self.parents.setdefault(str(key.child), set()).add(parent)
        for child in self.parents:
            todo = list(self.parents[child])
            while todo:
                for grand in self.parents.get(todo.pop(), set()) - self.parents[child]:
                    self.parents[child].add(grand)
                    todo.append(grand)
        self.written: WrittenSince | None = None
        self.url = (
            f"mysql://{url_quote(conn.user, safe='')}:{url_quote(conn.password, safe='')}"
            f"@{conn.host}:{conn.port}/{url_quote(conn.database, safe='')}"
        )
        self.rows = 0
        self.disabled = ""  # why no chunk is read this way
        self.fallbacks: list[str] = []  # why a table's chunks went back into the transaction
        if connectorx is None:
            self.disabled = "connectorx is not installed"
        elif os.environ.get("LAKESHOP_CDC_ARROW_READER", "1") == "0":
            self.disabled = "LAKESHOP_CDC_ARROW_READER=0"
        self.utc, self.foreign = False, set[str]()
        if self.disabled:
            return
        cur.execute("SELECT @@global.time_zone, @@system_time_zone")
        zone, system = cur.fetchone() or ("", "")
        self.utc = str(zone) in UTC_ZONES or (str(zone) == "SYSTEM" and str(system) in UTC_ZONES)
        # a foreign key into another database: its cascades are not looked for here
        cur.execute(
            "SELECT DISTINCT table_name FROM information_schema.key_column_usage WHERE "
            "table_schema = %s AND referenced_table_schema IS NOT NULL "
            "AND referenced_table_schema <> %s",
            (conn.database, conn.database),
        )
        self.foreign = {str(r[0]) for r in cur.fetchall()}

    def unchanged(self, table: TableInfo, end: Position) -> bool:
        """Whether ``table`` is as it was at the snapshot's position, now that the binary log
        ends at ``end``: nothing was written at all, or nothing that can change the table (a
        row event of its own or of a table cascading into it, or any other statement)."""
        if end.key() == self.start.key():
            return True
        if table.name in self.foreign:
            return False
        if self.written is None:
            # a replica id of its own: the stream's connection may be open beside it
            self.written = WrittenSince(self.conn, (self.server_id ^ 0x2A5A5A5) or 1, self.start)
        self.written.look()
        touching = {table.name} | self.parents.get(table.name, set())
        return not self.written.statements and not touching & self.written.tables

    def usable(self, table: TableInfo) -> bool:
        if self.disabled:
            return False
        names = {c.name: c for c in table.columns}
        for col in table.columns:
            if col.data_type not in INTEGERS | STRINGS | BINARY | GEOMETRY | AS_TEXT | {"bit"}:
                return False
            if col.data_type == "timestamp" and not self.utc:
                return False
        return all(names[k].data_type in INTEGERS | STRINGS for k in table.primary_key)

    @staticmethod
    def expression(col: Column) -> str:
        name = quote(col.name)
        if _integer(col) or col.data_type == "bit":
            return f"CAST({name} AS {'UNSIGNED' if col.data_type == 'bit' else 'SIGNED'})"
        if col.data_type in STRINGS | BINARY:
            return name
        if col.data_type in GEOMETRY:
            return f"CAST({name} AS BINARY)"  # connectorx has no GEOMETRY type
        return f"CAST({select_expression(col)} AS CHAR)"

    def read(self, table: TableInfo, tail: str) -> tuple[pa.Table, int] | None:
        """The rows of ``SELECT ... FROM table`` + ``tail`` (a WHERE/ORDER BY/LIMIT with its
        values inlined), typed as the pymysql path types them; None when connectorx fails."""
        # aliases of their own: an alias named as its column would be what ORDER BY sorts
        # (an id cast to text sorts 1, 10, 100, ... and the chunks would skip keys)
        cols = ", ".join(f"{self.expression(c)} AS _cx{i}" for i, c in enumerate(table.columns))
        assert connectorx is not None
        try:
            got = connectorx.read_sql(
                self.url, f"SELECT {cols} FROM {quote(table.name)}{tail}", return_type="arrow"
            )
            arrays: list[pa.Array] = []
            invalid = 0
            for i, col in enumerate(table.columns):
                values = got.column(f"_cx{i}").combine_chunks()
                if col.arrow == pa.binary() or _integer(col) or col.data_type == "bit":
                    arrays.append(values.cast(col.arrow))
                    continue
                array, bad = cast_text(col, values.cast(pa.string()))
                arrays.append(array)
                invalid += bad
        except BaseException as exc:  # any failure (a Rust panic too): the exact path reads it
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            said = (str(exc).splitlines() or [type(exc).__name__])[0][:200].replace(self.url, "")
            if self.conn.password:
                said = said.replace(self.conn.password, "***")
            self.fallbacks.append(f"connectorx failed on {table.name}: {said}")
            return None
        return pa.Table.from_arrays(arrays, names=table.column_names), invalid

    @staticmethod
    def last_key(batch: pa.Table, primary_key: list[str]) -> list[Any]:
        """The batch's last key as the pymysql path keeps it: text."""
        return [str(batch.column(k)[-1].as_py()) for k in primary_key]
