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
from typing import Any
from urllib.parse import quote as url_quote

import pyarrow as pa
import pymysql.cursors

from ingestion.mysql_cdc.helpers import (
    Column,
    MySqlConn,
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


class ArrowChunks:
    """Reads snapshot chunks with connectorx for one snapshot session."""

    def __init__(self, conn: MySqlConn, cur: pymysql.cursors.Cursor) -> None:
        self.url = (
            f"mysql://{url_quote(conn.user, safe='')}:{url_quote(conn.password, safe='')}"
            f"@{conn.host}:{conn.port}/{url_quote(conn.database, safe='')}"
        )
        self.password = conn.password
        self.rows = 0
        self.unused = ""  # why a chunk was read inside the transaction instead, once
        if connectorx is None:
            self.unused = "connectorx is not installed"
        elif os.environ.get("LAKESHOP_CDC_ARROW_READER", "1") == "0":
            self.unused = "LAKESHOP_CDC_ARROW_READER=0"
        cur.execute("SELECT @@global.time_zone, @@system_time_zone")
        zone, system = cur.fetchone() or ("", "")
        self.utc = str(zone) in UTC_ZONES or (str(zone) == "SYSTEM" and str(system) in UTC_ZONES)

    def usable(self, table: TableInfo) -> bool:
        if self.unused:
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
            if self.password:
                said = said.replace(self.password, "***")
            self.unused = f"connectorx failed on {table.name}: {said}"
            return None
        return pa.Table.from_arrays(arrays, names=table.column_names), invalid

    @staticmethod
    def last_key(batch: pa.Table, primary_key: list[str]) -> list[Any]:
        """The batch's last key as the pymysql path keeps it: text."""
        return [str(batch.column(k)[-1].as_py()) for k in primary_key]
