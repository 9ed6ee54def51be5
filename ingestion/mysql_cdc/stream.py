"""Read row changes and DDL from the binary log, checkpointing only at transaction commits."""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any

import pyarrow as pa
import pymysql
import pymysqlreplication.binlogstream as _binlogstream
from pymysqlreplication import BinLogStreamReader
from pymysqlreplication.constants import FIELD_TYPE, NONE_SOURCE
from pymysqlreplication.event import (
    HeartbeatLogEvent,
    QueryEvent,
    RotateEvent,
    XAPrepareEvent,
    XidEvent,
)
from pymysqlreplication.row_event import DeleteRowsEvent, RowsEvent, UpdateRowsEvent, WriteRowsEvent

from ingestion.mysql_cdc import rowimage
from ingestion.mysql_cdc.helpers import (
    CDC_COLUMNS,
    TS_NAIVE,
    TS_UTC,
    UTC,
    Column,
    MySqlConn,
    Position,
    _bits,
    _text,
    binlog_index,
    decimal_type,
    seq,
    seq_array,
    time_text,
    to_arrow,
)

log = logging.getLogger("lakeshop.mysql_cdc")

# pymysqlreplication reconnects by itself on errors 2006/2013 and resumes at its last *event*,
# which can sit inside a transaction: the rest of that transaction then arrives without its
# TABLE_MAP event and is dropped without a word. Let those errors reach BinlogReader, which
# resumes at the last commit instead.
_binlogstream.MYSQL_EXPECTED_ERROR_CODES = []


def _read_time2(event: RowsEvent, column: Any) -> dt.timedelta:
    """TIME(fsp) as MySQL reads it (my_time_packed_from_binary): a negative value with a
    fraction stores that fraction counted back from the next second. pymysqlreplication adds
    it as it stands, so '-00:00:00.01' read as '-00:00:00.99'."""
    fsp_bytes = (column.fsp + 1) // 2
    raw = event.packet.read(3 + fsp_bytes)
    intpart = int.from_bytes(raw[:3], "big") - 0x800000
    if fsp_bytes in (1, 2):
        frac = int.from_bytes(raw[3:], "big")
        if intpart < 0 and frac:
            intpart += 1
            frac -= 1 << (8 * fsp_bytes)
        packed = (intpart << 24) + frac * (10_000 if fsp_bytes == 1 else 100)
    elif fsp_bytes == 3:
        packed = int.from_bytes(raw, "big") - (0x800000 << 24)
    else:
        packed = intpart << 24
    sign, packed = (-1 if packed < 0 else 1), abs(packed)
    hms, micros = packed >> 24, packed % (1 << 24)
    return sign * dt.timedelta(
        hours=(hms >> 12) % 1024, minutes=(hms >> 6) % 64, seconds=hms % 64, microseconds=micros
    )


RowsEvent._RowsEvent__read_time2 = _read_time2

# Statements on tables only: ALTER/CREATE/DROP/RENAME need the TABLE keyword (so CREATE
# DATABASE, CREATE INDEX or DROP VIEW are not read as a table named DATABASE, INDEX, VIEW);
# TRUNCATE's is optional.
DDL_TABLE = re.compile(
    r"^\s*(?:/\*.*?\*/\s*)*(?:(ALTER|CREATE|DROP|RENAME)\s+"
    r"(?:ONLINE\s+|IGNORE\s+|TEMPORARY\s+|OR\s+REPLACE\s+)*TABLE\s+|(TRUNCATE)\s+(?:TABLE\s+)?)"
    r"(?:IF\s+(?:NOT\s+)?EXISTS\s+)?((?:`[^`]+`|\w+)(?:\.(?:`[^`]+`|\w+))?)",
    re.IGNORECASE | re.DOTALL,
)
RENAME_TO = re.compile(r"\bTO\s+((?:`[^`]+`|\w+)(?:\.(?:`[^`]+`|\w+))?)", re.IGNORECASE)
PRIMARY_KEY_CHANGE = re.compile(
    r"\b(ADD|DROP)\s+(CONSTRAINT\s+\S+\s+)?PRIMARY\s+KEY\b", re.IGNORECASE
)
RETRYABLE = (
    pymysql.err.OperationalError,
    pymysql.err.InterfaceError,
    ConnectionError,
    OSError,
    EOFError,
)


def _unquote(name: str) -> tuple[str | None, str]:
    parts = [p.strip("`") for p in re.findall(r"`[^`]+`|\w+", name)]
    return (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])


@dataclass
class DdlChange:
    """A schema change the stream saw, for the tables it concerns."""

    kind: str  # alter | create | drop | truncate | rename
    table: str
    new_name: str | None
    primary_key_changed: bool
    position: Position
    sql: str


@dataclass
class Unlogged:
    """Rows changed in the binary log without their row images: a statement-format change, a
    partial row image, an XA transaction prepared before the stream began. ``tables`` None:
    any table of the database may have changed."""

    tables: list[str] | None
    position: Position  # the commit the change belongs to
    why: str
    writer_fault: bool = True  # False: nothing the user can fix (then always captured again)


# XA transactions as MariaDB logs them: XA START X'..',X'..',n ... XA END ...; an
# XA_PREPARE_LOG_EVENT ends the prepared part; later, in a group of its own, XA COMMIT or
# XA ROLLBACK with the same xid (XA COMMIT ... ONE PHASE is logged as an ordinary transaction).
XA_STATEMENT = re.compile(r"^\s*XA\s+(START|BEGIN|COMMIT|ROLLBACK)\s+(.*?)\s*$", re.I | re.S)
# statement-format (or MIXED) row changes: their rows are not in the log
DML_STATEMENT = re.compile(
    r"^\s*(?:/\*.*?\*/\s*)*(INSERT|UPDATE|DELETE|REPLACE|LOAD\s+DATA|LOAD\s+XML)\b", re.I | re.S
)


def xa_id(text: str) -> str:
    """An xid as one canonical text: X'gtrid',X'bqual',formatID (MariaDB's own notation)."""
    return re.sub(r"\s+", "", text.split(" ONE PHASE")[0]).lower()


def xa_prepare_id(event: XAPrepareEvent) -> str:
    return f"x'{event.xid_gtrid.hex()}',x'{event.xid_bqual.hex()}',{event.xid_format_id}"


MOVED = "moved"


@dataclass
class Batch:
    """Committed changes of one table with one column set, ready to land.

    Events the compiled decoder reads go into ``decoder`` (Arrow buffers); the others are
    decoded in Python into ``rows``. ``parts`` keeps what came before the latest switch
    between the two, in binlog order."""

    table: str
    columns: list[Column]
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    ops: list[str] = field(default_factory=list)
    seqs: list[str] = field(default_factory=list)
    committed: list[dt.datetime] = field(default_factory=list)
    # for tables other tables reference with a cascading foreign key: the before image of
    # each update (and of the insert half of a key change; MOVED marks its delete half)
    befores: list[Any] = field(default_factory=list)
    decoder: Any = None
    parts: list[tuple[str, Any]] = field(default_factory=list)
    num_rows: int = 0
    # an XA transaction's rows land at its XA COMMIT (file index, position, first row number)
    sequence_at: tuple[int, int, int] | None = None

    def feed(self, span: tuple[bytes, int, int], op: int, prefix: str, committed_us: int) -> int:
        """Decode one event's row images (compiled); returns its row count. A ValueError
        (bytes the decoder does not take) leaves the batch as it was."""
        if self.rows:
            self._seal_rows()
        before = self.decoder.rows
        count = int(self.decoder.feed(*span, op, prefix, committed_us))
        self.num_rows += self.decoder.rows - before
        return count

    def append(self, values: tuple[Any, ...], op: str, seq_: str, when: dt.datetime) -> None:
        if self.decoder is not None and self.decoder.rows:
            self.seal()
        self.rows.append(values)
        self.ops.append(op)
        self.seqs.append(seq_)
        self.committed.append(when)
        self.num_rows += 1

    def seal(self) -> int:
        """Take what the decoder holds into ``parts``; returns its count of values that could
        not be represented (zero dates), which land as NULL."""
        if self.decoder is None or not self.decoder.rows:
            return 0
        finished = self.decoder.finish()
        self.parts.append(("decoded", finished))
        return int(finished[-1])

    def _seal_rows(self) -> None:
        self.parts.append(("rows", (self.rows, self.ops, self.seqs, self.committed)))
        self.rows, self.ops, self.seqs, self.committed = [], [], [], []

    def to_arrow(self, server: str, database: str) -> pa.Table:
        """The batch as its change-log table; ``rows``, ``ops`` and ``befores`` stay as they
        are (cascade() reads them after the batch has landed)."""
        self.seal()
        parts = list(self.parts)
        if self.rows or not parts:
            parts.append(("rows", (self.rows, self.ops, self.seqs, self.committed)))
        tables = [
            rowimage.to_table(self.columns, part, server, database)
            if kind == "decoded"
            else self._rows_to_arrow(part, server, database)
            for kind, part in parts
        ]
        table = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
        if self.sequence_at is not None:
            index, pos, first = self.sequence_at
            at = table.schema.get_field_index("_cdc_seq")
            table = table.set_column(at, "_cdc_seq", seq_array(index, pos, first, table.num_rows))
        return table

    def sequence_at_commit(self, file_index: int, pos: int, first: int) -> int:
        """Number this batch's rows at a commit that came after their row events (XA COMMIT):
        that is when they became visible. Returns the next free row number."""
        self.sequence_at = (file_index, pos, first)
        self.seqs = [seq(file_index, pos, first + i) for i in range(len(self.seqs))]
        return first + self.num_rows

    def _rows_to_arrow(self, part: tuple[Any, ...], server: str, database: str) -> pa.Table:
        rows, ops, seqs, committed = part
        arrays = to_arrow(self.columns, rows)
        n = len(rows)
        names = [c.name for c in self.columns]
        arrays += [
            pa.array(ops, pa.string()),
            pa.array(seqs, pa.string()),
            pa.array(committed, TS_UTC),
            pa.array([server] * n, pa.string()),
            pa.array([database] * n, pa.string()),
            pa.nulls(n, pa.int64()),
        ]
        return pa.Table.from_arrays(arrays, names=names + CDC_COLUMNS)


def binlog_column(col: Any) -> Column:
    """Arrow type of a binlog column from its TABLE_MAP metadata (the schema at event time)."""
    t = col.type
    unsigned = bool(getattr(col, "unsigned", False))
    if t in (FIELD_TYPE.TINY, FIELD_TYPE.SHORT, FIELD_TYPE.INT24, FIELD_TYPE.LONG):
        return Column(col.name, "int", "", None, None, pa.int64())
    if t == FIELD_TYPE.YEAR:
        # mysql-replication decodes YEAR as byte + 1900, so YEAR 0000 arrives as 1900 (which
        # is not a valid YEAR: the range is 1901-2155 and 0000)
        return Column(col.name, "year", "", None, None, pa.int64(), _year)
    if t == FIELD_TYPE.LONGLONG:
        return Column(
            col.name, "bigint", "", None, None, pa.decimal128(20, 0) if unsigned else pa.int64()
        )
    if t == FIELD_TYPE.NEWDECIMAL:
        arrow = decimal_type(col.precision, col.decimals)
        # wider than Arrow's DECIMAL(38): text with every digit, as the snapshot reads it
        convert = _decimal_text if arrow == pa.string() else None
        return Column(col.name, "decimal", "", col.precision, col.decimals, arrow, convert)
    if t in (FIELD_TYPE.FLOAT, FIELD_TYPE.DOUBLE):
        return Column(col.name, "double", "", None, None, pa.float64())
    if t == FIELD_TYPE.BIT:
        return Column(col.name, "bit", "", None, None, pa.int64(), _bits)
    if t in (FIELD_TYPE.DATE, FIELD_TYPE.NEWDATE):
        return Column(col.name, "date", "", None, None, pa.date32())
    if t in (FIELD_TYPE.DATETIME, FIELD_TYPE.DATETIME2):
        return Column(col.name, "datetime", "", None, None, TS_NAIVE)
    if t in (FIELD_TYPE.TIMESTAMP, FIELD_TYPE.TIMESTAMP2):
        return Column(col.name, "timestamp", "", None, None, TS_UTC, _zero_timestamp)
    if t in (FIELD_TYPE.TIME, FIELD_TYPE.TIME2):
        fsp = int(getattr(col, "fsp", 0) or 0)
        return Column(col.name, "time", "", None, None, pa.string(), partial(time_text, fsp=fsp))
    if t in (
        FIELD_TYPE.BLOB,
        FIELD_TYPE.TINY_BLOB,
        FIELD_TYPE.MEDIUM_BLOB,
        FIELD_TYPE.LONG_BLOB,
        FIELD_TYPE.GEOMETRY,
    ):
        charset = getattr(col, "character_set_name", None) or getattr(col, "collation_name", None)
        if _is_binary(col) or charset is None or t == FIELD_TYPE.GEOMETRY:
            return Column(col.name, "blob", "", None, None, pa.binary())
        return Column(col.name, "text", "", None, None, pa.string(), _text)
    if t in (FIELD_TYPE.STRING, FIELD_TYPE.VAR_STRING, FIELD_TYPE.VARCHAR):
        if _is_binary(col):
            return Column(col.name, "binary", "", None, None, pa.binary())
        return Column(col.name, "varchar", "", None, None, pa.string(), _text)
    if t == FIELD_TYPE.ENUM:
        values = list(getattr(col, "enum_values", None) or [])
        return Column(col.name, "enum", "", None, None, pa.string(), _enum(values))
    if t == FIELD_TYPE.SET:
        values = list(getattr(col, "set_values", None) or [])
        return Column(col.name, "set", "", None, None, pa.string(), _set(values))
    return Column(col.name, "text", "", None, None, pa.string(), _text)


def _year(value: Any) -> Any:
    return 0 if value == 1900 else value


def _decimal_text(value: Any) -> Any:
    return format(value, "f") if isinstance(value, Decimal) else value


EPOCH = dt.datetime(1970, 1, 1)


def _zero_timestamp(value: Any) -> Any:
    """TIMESTAMP '0000-00-00 00:00:00' is stored as 0 seconds: the epoch itself is not a valid
    TIMESTAMP (the range starts one second later), so it is the zero date: NULL, as in the
    snapshot."""
    return None if value == EPOCH else value


def _is_binary(col: Any) -> bool:
    """BLOB/BINARY (charset 63, 'binary') as opposed to TEXT/CHAR, from FULL row metadata."""
    return (
        getattr(col, "charset_id", None) == 63
        or getattr(col, "character_set_name", None) == "binary"
        or getattr(col, "collation_name", None) == "binary"
    )


def _enum(values: list[str]) -> Callable[[Any], Any]:
    def convert(v: Any) -> Any:
        if isinstance(v, int) and values:
            return values[v - 1] if 0 < v <= len(values) else ""
        return _text(v)

    return convert


def _set(values: list[str]) -> Callable[[Any], Any]:
    def convert(v: Any) -> Any:
        if isinstance(v, set | frozenset):
            return ",".join(x for x in values if x in v) if values else ",".join(sorted(v))
        return _text(v)

    return convert


@dataclass
class StreamStats:
    events: int = 0
    rows: int = 0
    transactions: int = 0
    reconnects: int = 0
    invalid_values: int = 0
    row_events: int = 0
    compiled_events: int = 0  # of those, read by the compiled decoder
    last_event_at: float | None = None


class BinlogReader:
    """Reads committed transactions from ``start`` and yields them table by table.

    Rows of a transaction are buffered until its commit (an XID event, or a COMMIT query for
    non-transactional tables), so a checkpoint always sits on a commit boundary: resuming
    from inside a transaction would silently deliver nothing for it. A lost connection is
    retried with backoff from the last commit.
    """

    def __init__(
        self,
        conn: MySqlConn,
        server_id: int,
        start: Position,
        wanted: Callable[[str], bool],
        blocking: bool = False,
        parents: set[str] | None = None,
        retries: int = 8,
        backoff: float = 0.5,
    ) -> None:
        self.conn = conn
        self.server_id = server_id
        self.position = start  # last commit boundary handed out
        self.wanted = wanted
        self.blocking = blocking
        self.parents = parents if parents is not None else set()
        self.retries = retries
        self.backoff = backoff
        self.stats = StreamStats()
        self.compiled = rowimage.available()
        self.at_end = False  # at the end of the binary log: nothing more to read for now
        self._stream: BinLogStreamReader | None = None
        # XA transactions prepared and not yet committed or rolled back: xid -> (the commit
        # boundary before their XA START, their rows). A checkpoint after a prepare keeps
        # their xids and starts; the next reader reads again from the earliest such start,
        # taking only those transactions' rows until it is past ``skip_until``.
        self.xa_open: dict[str, tuple[Position, dict[tuple[Any, ...], Batch]]] = {}
        self.resume_xa: set[str] = set()
        self.skip_until: Position | None = None

    def resume(self, checkpoint: Position, open_xa: dict[str, Position]) -> None:
        """Start at ``checkpoint``, or before it at the XA START of transactions prepared
        before it and still open then, re-reading only those."""
        if not open_xa:
            return
        self.resume_xa = set(open_xa)
        self.skip_until = checkpoint
        self.position = min(open_xa.values(), key=Position.key)

    def _open(self) -> BinLogStreamReader:
        return BinLogStreamReader(
            connection_settings=self.conn.replication_settings(),
            server_id=self.server_id,
            resume_stream=True,
            log_file=self.position.file,
            log_pos=self.position.pos,
            blocking=self.blocking,
            only_schemas=[self.conn.database],
            only_events=[
                WriteRowsEvent,
                UpdateRowsEvent,
                DeleteRowsEvent,
                XidEvent,
                XAPrepareEvent,
                QueryEvent,
                RotateEvent,
                HeartbeatLogEvent,
            ],
            slave_heartbeat=1 if self.blocking else None,
            is_mariadb=False,  # with True and no GTID, file/position would be ignored
            enable_logging=False,
        )

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def transactions(
        self, stop: Callable[[Position], bool]
    ) -> Iterator[tuple[Position, list[Batch], DdlChange | Unlogged | None, float]]:
        """Yield (commit position, batches, ddl, commit timestamp) per committed transaction.

        ``stop(position)`` is asked after each commit; True ends the read there. With
        ``blocking`` the reader waits for new events (heartbeats keep ``stop`` being asked).
        """
        attempt = 0
        while True:
            try:
                yield from self._read(stop)
                return
            except RETRYABLE as exc:
                attempt += 1
                self.close()
                if attempt > self.retries:
                    raise
                delay = min(30.0, self.backoff * 2 ** (attempt - 1))
                log.warning(
                    "binlog connection lost (%s); retry %d/%d in %.1fs from %s",
                    exc,
                    attempt,
                    self.retries,
                    delay,
                    self.position,
                )
                self.stats.reconnects += 1
                time.sleep(delay)

    def _values(self, values: dict[str, Any], none_sources: dict[str, str]) -> tuple[Any, ...]:
        """A row image's values; an empty SET is '' (mysql-replication gives None, as for NULL)
        and zero dates, which cannot be represented, are counted."""
        if none_sources:
            patched = None
            for name, why in none_sources.items():
                if why == NONE_SOURCE.EMPTY_SET:
                    patched = patched or dict(values)
                    patched[name] = ""
                elif why != NONE_SOURCE.NULL:
                    self.stats.invalid_values += 1
            if patched is not None:
                return tuple(patched.values())
        return tuple(values.values())

    def _skipping(self, pos: Position) -> bool:
        """True while re-reading, for open XA transactions, what a checkpoint already covers."""
        if self.skip_until is None:
            return False
        if pos.key() <= self.skip_until.key():
            return True
        self.skip_until = None
        self.resume_xa = set()
        return False

    def _read(
        self, stop: Callable[[Position], bool]
    ) -> Iterator[tuple[Position, list[Batch], DdlChange | Unlogged | None, float]]:
        self._stream = stream = self._open()
        log_file = self.position.file
        file_index = binlog_index(log_file)
        pending: dict[tuple[Any, ...], Batch] = {}
        unlogged: list[Unlogged] = []  # changes of the open transaction without row images
        xa: tuple[str, Position] | None = None  # the XA transaction being read, and its start
        # per table shape: the landed columns, the primary key's indexes, the compiled
        # decoder's spec (None: decoded in Python)
        columns_cache: dict[tuple[Any, ...], tuple[list[Column], list[int], Any]] = {}
        try:
            self.at_end = False
            for event in stream:
                self.stats.events += 1
                if isinstance(event, RotateEvent):
                    if event.next_binlog != log_file:
                        log_file = event.next_binlog
                        file_index = binlog_index(log_file)
                        if not pending and xa is None and self.skip_until is None:
                            self.position = Position(log_file, event.position)
                    continue
                if isinstance(event, HeartbeatLogEvent):
                    # the server sends heartbeats only when it has nothing newer
                    self.at_end = not pending
                    if not pending and stop(self.position):
                        return
                    continue
                self.at_end = False
                here = Position(log_file, event.packet.log_pos)
                if isinstance(event, XAPrepareEvent):
                    # the prepared part of an XA transaction ends: its rows wait for XA COMMIT
                    xid = xa_prepare_id(event)
                    if xa is not None and (not self._skipping(here) or xid in self.resume_xa):
                        self.xa_open[xid] = (xa[1], pending)
                    pending, unlogged, xa = {}, [], None
                    if self._skipping(here):
                        continue
                    self.position = here
                    yield self.position, [], None, float(event.timestamp)
                    if stop(self.position):
                        return
                    continue
                if isinstance(event, XidEvent) or (
                    isinstance(event, QueryEvent) and _is_commit(event.query)
                ):
                    if self._skipping(here):
                        pending, unlogged = {}, []
                        continue
                    self.position = here
                    batches = list(pending.values())
                    pending = {}
                    self.stats.invalid_values += sum(b.seal() for b in batches)
                    self.stats.transactions += 1
                    self.stats.last_event_at = event.timestamp
                    if batches or unlogged:
                        yield self.position, batches, _merged(unlogged, here), float(event.timestamp)  # fmt: skip
                    unlogged = []
                    if stop(self.position):
                        return
                    continue
                if isinstance(event, QueryEvent):
                    query = _query_text(event)
                    statement = XA_STATEMENT.match(query)
                    if statement:
                        verb, xid = statement.group(1).upper(), xa_id(statement.group(2))
                        if verb in {"START", "BEGIN"}:
                            xa, pending, unlogged = (xid, self.position), {}, []
                            continue
                        if self._skipping(here):
                            continue  # ended before the checkpoint
                        self.position = here
                        prepared = self.xa_open.pop(xid, None)
                        batches = []
                        change = None
                        if verb == "COMMIT" and prepared is not None:
                            batches = list(prepared[1].values())
                            first = 0
                            for b in batches:
                                self.stats.invalid_values += b.seal()
                                first = b.sequence_at_commit(file_index, here.pos, first)
                        elif verb == "COMMIT":
                            change = Unlogged(None, here, f"XA COMMIT of {xid}, prepared before the stream began", False)  # fmt: skip
                        self.stats.transactions += 1
                        yield self.position, batches, change, float(event.timestamp)
                        if stop(self.position):
                            return
                        continue
                    if DML_STATEMENT.match(query) and _in_database(
                        event, query, self.conn.database
                    ):
                        # a session writing with binlog_format=STATEMENT (or MIXED): the rows it
                        # changed are not in the log
                        unlogged.append(Unlogged(None, here, f"a statement-format change at {here}: {' '.join(query.split())[:120]}"))  # fmt: skip
                        continue
                    ddl = _parse_ddl(event, self.conn.database, here)
                    if ddl is None:
                        continue  # BEGIN and statements on other schemas
                    if self._skipping(here):
                        continue
                    self.position = ddl.position  # DDL commits implicitly
                    pending, unlogged = {}, []
                    yield self.position, [], ddl, float(event.timestamp)
                    if stop(self.position):
                        return
                    continue
                # row events
                if not self.wanted(event.table):
                    continue
                if self._skipping(here) and (xa is None or xa[0] not in self.resume_xa):
                    continue  # covered by the checkpoint: only open XA transactions are re-read
                if not rowimage.full_image(event):
                    # binlog_row_image MINIMAL or NOBLOB in the writing session: the row's
                    # other values are not in the log
                    unlogged.append(Unlogged([event.table], here, f"a partial row image (binlog_row_image not FULL) for {event.table} at {here}"))  # fmt: skip
                    continue
                shape = (
                    event.table,
                    tuple((c.name, c.type) for c in event.columns),
                    event.primary_key,
                )
                cached = columns_cache.get(shape)
                if cached is None:
                    cols = [binlog_column(c) for c in event.columns]
                    names = [c.name for c in cols]
                    keys = event.primary_key
                    keys = keys if isinstance(keys, tuple) else (keys,) if keys else ()
                    # a table without a primary key: every column is the row's identity, so
                    # an update lands as a delete of the old row and an insert of the new one
                    pk_index = [names.index(c) for c in keys] if keys else list(range(len(cols)))
                    # tables other tables cascade from keep their rows in Python (cascade()
                    # reads each row and its before image)
                    spec = (
                        rowimage.specs(event.columns, cols)
                        if self.compiled and event.table not in self.parents
                        else None
                    )
                    cached = columns_cache[shape] = (cols, pk_index, spec)
                cols, pk, spec = cached
                batch = pending.get(shape)
                if batch is None:
                    batch = pending[shape] = Batch(event.table, cols)
                    if spec is not None:
                        batch.decoder = rowimage.decoder(spec, pk)
                pos = event.packet.log_pos
                self.stats.row_events += 1
                span = rowimage.event_span(event) if batch.decoder is not None else None
                if span is not None:
                    try:
                        self.stats.rows += batch.feed(
                            span,
                            rowimage.OPS[type(event)],
                            f"{file_index:06d}.{pos:013d}.",
                            event.timestamp * 1_000_000,
                        )
                        self.stats.compiled_events += 1
                        continue
                    except ValueError as exc:  # bytes it does not take: decoded in Python
                        log.debug(
                            "%s: row event at %s decoded in Python (%s)", event.table, pos, exc
                        )
                befores = batch.befores if event.table in self.parents else None
                when = dt.datetime.fromtimestamp(event.timestamp, UTC)
                for i, row in enumerate(event.rows):
                    if isinstance(event, UpdateRowsEvent):
                        values = self._values(row["after_values"], row["after_none_sources"])
                        old = self._values(row["before_values"], row["before_none_sources"])
                        if any(values[j] != old[j] for j in pk):
                            # a new primary key: the old key is gone, the new one appears
                            batch.append(old, "delete", seq(file_index, pos, 2 * i), when)
                            batch.append(values, "insert", seq(file_index, pos, 2 * i + 1), when)
                            if befores is not None:
                                befores += [MOVED, old]
                            continue
                        batch.append(values, "update", seq(file_index, pos, 2 * i), when)
                        if befores is not None:
                            befores.append(old)
                    else:
                        op = "insert" if isinstance(event, WriteRowsEvent) else "delete"
                        values = self._values(row["values"], row["none_sources"])
                        batch.append(values, op, seq(file_index, pos, 2 * i), when)
                        if befores is not None:
                            befores.append(None)
                self.stats.rows += len(event.rows)
            self.at_end = True  # the log ended (a non-blocking read stops there)
        finally:
            self.close()


def _merged(changes: list[Unlogged], commit: Position) -> Unlogged | None:
    """One transaction's changes without row images, as one, at its commit."""
    if not changes:
        return None
    tables = (
        None
        if any(c.tables is None for c in changes)
        else sorted({t for c in changes for t in c.tables or []})
    )
    return Unlogged(
        tables,
        commit,
        changes[0].why + (f" (and {len(changes) - 1} more)" if len(changes) > 1 else ""),
    )


def _query_text(event: QueryEvent) -> str:
    return event.query if isinstance(event.query, str) else event.query.decode("utf-8", "replace")


def _in_database(event: QueryEvent, query: str, database: str) -> bool:
    """A statement on ``database``: run in it, or naming it."""
    current = event.schema.decode() if isinstance(event.schema, bytes) else str(event.schema or "")
    named = re.search(rf"(`{re.escape(database)}`|\b{re.escape(database)})\s*\.", query)
    return current == database or named is not None


def _is_commit(query: str) -> bool:
    return query.strip().upper() == "COMMIT"


def _parse_ddl(event: QueryEvent, database: str, position: Position) -> DdlChange | None:
    query = _query_text(event)
    match = DDL_TABLE.match(query)
    if not match:
        return None
    schema, table = _unquote(match.group(3))
    current = event.schema.decode() if isinstance(event.schema, bytes) else str(event.schema or "")
    if (schema or current) != database:
        return None
    kind = (match.group(1) or match.group(2)).lower()
    new_name = None
    if kind == "rename" or (
        kind == "alter" and re.search(r"\bRENAME\s+(TO|AS)\b", query, re.IGNORECASE)
    ):
        target = RENAME_TO.search(query) or re.search(
            r"\bRENAME\s+AS\s+(\S+)", query, re.IGNORECASE
        )
        if target:
            new_name = _unquote(target.group(1))[1]
            kind = "rename"
    return DdlChange(kind, table, new_name, bool(PRIMARY_KEY_CHANGE.search(query)), position, query)
