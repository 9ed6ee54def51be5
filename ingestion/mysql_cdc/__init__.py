"""MySQL/MariaDB binlog CDC source for dlt: consistent snapshot, then the binary log.

Every table of the selection becomes a change-log table (append-only) holding the source
columns plus ``_cdc_op`` (snapshot/insert/update/delete), ``_cdc_seq`` (totally ordered:
binlog file, offset, row), ``_cdc_committed_at``, ``_cdc_server``, ``_cdc_database`` and
``_cdc_snapshot_id``. ``_cdc_snapshots`` records each snapshot generation of a table with
the sequence it starts at: the current state of a table is, per primary key, the change with
the highest ``_cdc_seq`` at or after its latest generation's ``start_seq``, unless that change
is a delete.

The checkpoint (binlog position, snapshot progress) lives in dlt resource state, so it is
committed in the same load package as the data it covers. A run is bounded (``until``, a row
budget, a time budget) so any scheduler can call it; call it again to continue.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
import zlib
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import dlt
import pyarrow as pa
from dlt.common.runtime import signals

from ingestion.mysql_cdc.helpers import (
    CdcError,
    MySqlConn,
    Position,
    ServerSettingError,
    TableInfo,
    binlog_files,
    binlog_retention,
    check_server,
    describe_table,
    discover_tables,
    master_position,
    matches,
    name_collisions,
    quote,
    seq,
    seq_array,
)
from ingestion.mysql_cdc.incremental import (
    CHANGING,
    READ_ROW_BASE,
    ForeignKey,
    Reader,
    batches_of,
    foreign_keys,
    key_filter,
    rewrites_rows,
)
from ingestion.mysql_cdc.snapshot import SnapshotSession
from ingestion.mysql_cdc.stream import MOVED, BinlogReader, DdlChange, Unlogged

__all__ = ["CdcError", "MySqlConn", "Report", "ServerSettingError", "mysql_cdc"]

log = logging.getLogger("lakeshop.mysql_cdc")
SNAPSHOTS_TABLE = "_cdc_snapshots"
# How many times a run streams on to the position of its held reads before it lands them.
MAX_CATCH_UP_PASSES = 3
STATE_VERSION = 1


@dataclass
class Report:
    """What a run did, for progress lines, summaries and the runner's loop."""

    rows: dict[str, int] = field(default_factory=dict)
    snapshot_rows: int = 0
    arrow_rows: int = 0  # of those, read straight into Arrow (arrow_read)
    change_rows: int = 0
    row_events: int = 0  # binary-log row events read
    compiled_row_events: int = 0  # of those, decoded by the compiled decoder (rowimage)
    transactions: int = 0
    reconnects: int = 0
    invalid_values: int = 0
    position: Position | None = None
    server_position: Position | None = None
    last_commit_at: float | None = None
    done: bool = False
    phase: str = ""
    retention: Any = None
    messages: list[str] = field(default_factory=list)

    def add(self, table: str, n: int) -> None:
        self.rows[table] = self.rows.get(table, 0) + n

    def note(self, message: str) -> None:
        log.warning(message)
        self.messages.append(message)


@dataclass
class Moved:
    """Child key columns that ON UPDATE CASCADE changed from ``old`` to ``new`` at ``at``."""

    child_columns: tuple[str, ...]
    old: tuple[Any, ...]
    new: tuple[Any, ...]
    at: Position
    parent: str
    parent_columns: tuple[str, ...]


@dataclass
class Refresh:
    """Rows of one table to read again at an exact position."""

    equal: dict[tuple[str, ...], set[tuple[Any, ...]]] = field(default_factory=dict)
    null: set[tuple[str, ...]] = field(default_factory=set)
    keys: list[tuple[Any, ...]] = field(default_factory=list)
    moved: list[Moved] = field(default_factory=list)

    def to_state(self) -> dict[str, Any]:
        return {
            "equal": [
                [list(c), [list(v) for v in sorted(vs, key=repr)]] for c, vs in self.equal.items()
            ],
            "null": [list(c) for c in sorted(self.null)],
            "keys": [list(k) for k in self.keys],
            "moved": [
                [
                    list(m.child_columns),
                    list(m.old),
                    list(m.new),
                    m.at.as_dict(),
                    m.parent,
                    list(m.parent_columns),
                ]
                for m in self.moved
            ],
        }

    @classmethod
    def from_state(cls, d: dict[str, Any]) -> Refresh:
        return cls(
            {tuple(c): {tuple(v) for v in vs} for c, vs in d.get("equal", [])},
            {tuple(c) for c in d.get("null", [])},
            [tuple(k) for k in d.get("keys", [])],
            [
                Moved(
                    tuple(c), tuple(o), tuple(n), Position(a["file"], int(a["pos"])), p, tuple(pc)
                )
                for c, o, n, a, p, pc in d.get("moved", [])
            ],
        )

    def filters(self) -> Iterator[tuple[str, list[Any]]]:
        for columns, values in self.equal.items():
            for chunk in batches_of(sorted(values, key=repr), 1000):
                yield key_filter(columns, chunk)
        for columns in sorted(self.null):
            yield " AND ".join(f"{quote(c)} IS NULL" for c in columns), []


def position_of(change_seq: str, log_file: str) -> Position:
    """The binlog position of a change (its event's end) in ``log_file``."""
    return Position(log_file, int(change_seq.split(".")[1]))


def _server_id(name: str) -> int:
    return 10_000 + zlib.crc32(name.encode()) % 1_000_000_000


@dlt.source(name="mysql_cdc", max_table_nesting=0)
def mysql_cdc(
    credentials: str = dlt.secrets.value,
    include: Sequence[str] = ("*",),
    exclude: Sequence[str] = (),
    until: dict[str, Any] | None = None,
    max_rows: int = 500_000,
    max_seconds: float | None = None,
    chunk_rows: int = 50_000,
    batch_rows: int = 100_000,
    follow: bool = False,
    server_id: int | None = None,
    current_state: bool = False,
    resnapshot: Sequence[str] = (),
    repair: dict[str, list[list[Any]]] | None = None,
    recapture_unlogged: bool = False,
    report: Report | None = None,
) -> Any:
    """Change logs of the selected tables of one MySQL/MariaDB database.

    Args:
        credentials: ``mysql://user:password@host:port/database`` of a CDC user with SELECT,
            REPLICATION SLAVE and BINLOG MONITOR (MariaDB) / REPLICATION CLIENT (MySQL).
        include: table name patterns (fnmatch) to capture.
        exclude: table name patterns to leave out.
        until: stop streaming at this binlog position ({"file", "pos"}); default: the server's
            position when the run starts.
        max_rows: row budget of one run (snapshot and changes); the rest waits for the next run.
        max_seconds: time budget of one run.
        chunk_rows: rows per snapshot chunk (one Arrow batch per chunk).
        batch_rows: changed rows buffered before an Arrow batch is handed to dlt.
        follow: wait for new events instead of ending at the end of the binary log (use with
            ``max_seconds`` as the flush interval).
        server_id: replica id used on the binlog connection (unique per reader).
        current_state: also maintain ``<table>__current`` by dlt merge (hard deletes, newest
            ``_cdc_seq`` wins), for users who do not derive current state in dbt.
        resnapshot: tables to capture again by incremental snapshot, while streaming.
        repair: per table, primary keys to read again (and to delete where the source no
            longer has them), as found by verification.
        recapture_unlogged: when the binary log holds changes without their rows (a
            statement-format session, a partial row image, an XA transaction prepared before
            the stream began), capture the tables concerned again past them; without it the
            run stops with an error naming the fix (the default: nothing lands wrong).
        report: filled in with what the run did.
    """
    conn = (
        MySqlConn.from_url(credentials)
        if isinstance(credentials, str)
        else MySqlConn.from_url(str(credentials))
    )
    options = Options(list(include), list(exclude), until, max_rows, max_seconds, chunk_rows,
                      batch_rows, follow, server_id or _server_id(conn.describe()), current_state,
                      list(resnapshot), dict(repair or {}), recapture_unlogged)  # fmt: skip
    return changes(conn, options, report or Report())


@dataclass
class Options:
    include: list[str]
    exclude: list[str]
    until: dict[str, Any] | None
    max_rows: int
    max_seconds: float | None
    chunk_rows: int
    batch_rows: int
    follow: bool
    server_id: int
    current_state: bool
    resnapshot: list[str]
    repair: dict[str, list[list[Any]]]
    recapture_unlogged: bool = False


@dlt.resource(name="changes", write_disposition="append", file_format="parquet")
def changes(conn: MySqlConn, options: Options, report: Report) -> Iterator[Any]:
    state: dict[str, Any] = dlt.current.resource_state()
    yield from Run(conn, state, options, report).execute()


class Run:
    """One bounded run: snapshot what needs it, then stream, all checkpointed in ``state``."""

    def __init__(self, conn: MySqlConn, state: dict[str, Any], options: Options, report: Report) -> None:  # fmt: skip
        self.conn = conn
        self.state = state
        self.options = options
        self.include, self.exclude = options.include, options.exclude
        self.until = Position.from_dict(options.until)
        self.max_rows = options.max_rows
        self.deadline = time.monotonic() + options.max_seconds if options.max_seconds else None
        self.chunk_rows = options.chunk_rows
        self.batch_rows = options.batch_rows
        self.follow = options.follow
        self.server_id = options.server_id
        self.current_state = options.current_state
        self.report = report
        self.budget = options.max_rows
        self.server = ""
        self.primary_keys: dict[str, list[str]] = {}
        self.infos: dict[str, TableInfo] = {}
        self.fks: dict[str, list[ForeignKey]] = {}
        self.parents: set[str] = set()
        self.buffers: dict[tuple[str, tuple[str, ...]], list[pa.Table]] = {}
        self.buffered = 0
        self.records: list[Any] = []  # _cdc_snapshots rows waiting to be yielded
        self.refreshes: dict[str, Refresh] = {}
        self.reader: Reader | None = None
        self.streamed_since_read = 0
        # rows read while streaming, by the position they were read at, until the stream gets there
        self.held: list[tuple[Position, str, pa.Table]] = []
        self.catching_up = False

    # -- state helpers -------------------------------------------------------------------
    @property
    def tables(self) -> dict[str, dict[str, Any]]:
        return self.state.setdefault("tables", {})

    @property
    def position(self) -> Position | None:
        return Position.from_dict(self.state.get("position"))

    @position.setter
    def position(self, value: Position | None) -> None:
        self.state["position"] = value.as_dict() if value else None

    @property
    def open_xa(self) -> dict[str, Position]:
        return {
            x: Position(p["file"], int(p["pos"])) for x, p in self.state.get("xa_open", {}).items()
        }

    def wanted(self, table: str) -> bool:
        return matches(table, self.include, self.exclude)

    def next_snapshot_id(self) -> int:
        snapshot_id = int(self.state.get("next_snapshot_id", 1))
        self.state["next_snapshot_id"] = snapshot_id + 1
        return snapshot_id

    def next_read_row(self, n: int) -> int:
        """Row numbers for ``n`` rows read while streaming, unique across runs."""
        first = int(self.state.get("read_rows", 0))
        self.state["read_rows"] = first + n
        return READ_ROW_BASE + first

    def schedule_snapshot(self, table: str, reason: str, start: Position | None) -> None:
        """A snapshot before streaming goes on (the first one, a purged binlog, a new key)."""
        self.tables[table] = {"status": "pending", "snapshot_id": self.next_snapshot_id(), "after": None,
                              "rows": 0, "start": start.as_dict() if start else None, "reason": reason}  # fmt: skip

    def covered(self, table: str, at: Position) -> bool:
        """True when every read of ``table``'s current or coming generation is after ``at``,
        so a schedule change at ``at`` is already in what is (or will be) read."""
        t = self.tables.get(table)
        if t is None:
            return False
        if t["status"] != "streaming":
            read_at = Position.from_dict(t.get("read_at"))
            return read_at is None or read_at.key() > at.key()
        inc = t.get("incremental")
        if inc is not None:
            read_at = Position.from_dict(inc.get("read_at"))
            if read_at is None or read_at.key() > at.key():
                return True
        read_at = Position.from_dict(t.get("read_at"))
        return read_at is not None and read_at.key() > at.key()

    def request_incremental(
        self, table: str, reason: str, at: Position, silent_delete: bool = False
    ) -> None:
        """Capture ``table`` again by incremental snapshot while the stream goes on.

        ``silent_delete``: rows vanished at ``at`` without row events (a cascade). Reading after
        ``at`` is then not enough: a row the stream saw inserted before ``at`` would stay, so
        only a generation that starts after ``at`` covers it."""
        t = self.tables.get(table)
        if t is None or t["status"] != "streaming":
            return  # not captured, or its snapshot before streaming has yet to read it
        inc = t.get("incremental")
        if inc is not None:
            read_at = Position.from_dict(inc.get("read_at"))
            start = Position.from_dict(inc.get("start"))
            if silent_delete and start is not None and start.key() >= at.key():
                return
            if silent_delete and read_at is None and inc.get("after") is None:
                # nothing read yet: the pending generation starts at `at` instead (the rows
                # before it are of another shape: a key added by the ALTER, soak seed 8015)
                inc["start"] = at.as_dict()
                return
            if not silent_delete and (read_at is None or read_at.key() > at.key()):
                return  # everything it reads is read after `at`
            inc["again"] = reason  # it cannot cover `at`: one more generation after it
            if silent_delete:
                # rows vanished at `at`: the next generation must start after it, however
                # late this one's reads come (they cannot take back the inserts before `at`)
                inc["again_after"] = at.as_dict()
            return
        start = Position.from_dict(t.get("start"))
        if silent_delete:
            if start is not None and start.key() >= at.key():
                return
        elif self.covered(table, at):
            return
        self.report.note(f"{table}: {reason} at {at}; capturing it again by incremental snapshot")
        t["incremental"] = {"snapshot_id": self.next_snapshot_id(), "reason": reason, "start": at.as_dict(),
                            "after": None, "rows": 0, "read_at": None, "again": None}  # fmt: skip

    # -- the run --------------------------------------------------------------------------
    def execute(self) -> Iterator[Any]:
        report = self.report
        with self.conn.connect() as db, db.cursor() as cur:
            selected = discover_tables(cur, self.conn.database, self.include, self.exclude)
            facts = check_server(db, list(selected))
            self.server = facts["server"]
            server_pos = master_position(cur)
            files = binlog_files(cur)
            self.set_foreign_keys(foreign_keys(cur, self.conn.database))
            retention = binlog_retention(cur, self.state.get("checkpoint_committed_at"))
        collisions = name_collisions(selected)
        if collisions:
            raise CdcError(
                collisions[0]
                + (f" (and {len(collisions) - 1} more)" if len(collisions) > 1 else "")
            )
        report.server_position = server_pos
        report.retention = retention
        if retention.warning:
            report.note(retention.warning)
        until = self.until or server_pos
        self.infos = dict(selected)
        self.primary_keys = {n: t.primary_key for n, t in selected.items()}
        if self.state.get("version") != STATE_VERSION:
            self.state.clear()
            self.state["version"] = STATE_VERSION
        if not self.tables and self.position is None:
            for name in selected:
                self.schedule_snapshot(name, "initial snapshot", None)
        for name in selected:
            if name not in self.tables:
                if self.position is None:
                    self.schedule_snapshot(name, "new table in the selection", None)
                else:
                    self.tables[name] = {"status": "streaming", "snapshot_id": None, "rows": 0,
                                         "after": None, "start": None, "reason": None, "read_at": None}  # fmt: skip
                    self.request_incremental(name, "new table in the selection", self.position)
        for name in list(self.tables):
            if name not in selected:
                report.note(
                    f"{name}: no longer in the database or the selection; its change log stops here"
                )
                del self.tables[name]
        pos = (
            min([self.position, *self.open_xa.values()], key=Position.key)
            if self.position
            else None
        )
        if pos is not None and pos.file not in files:
            report.note(
                f"binlog position {pos} was purged from the server (oldest kept: {files[0] if files else 'none'}); "
                f"re-snapshotting {', '.join(sorted(self.tables)) or 'all tables'}"
            )
            for name in list(self.tables):
                self.schedule_snapshot(name, "binlog purged", None)
            self.position = None
            self.state.pop("xa_open", None)
        unknown = sorted(set(self.options.resnapshot) - set(selected))
        if unknown:
            raise CdcError(
                f"--resnapshot {' '.join(unknown)}: not a captured table of {self.conn.database} "
                f"(captured: {', '.join(sorted(selected)) or 'none'})"
            )
        for name, pending in self.state.pop("refreshes", {}).items():
            if name in self.tables:  # cascades a previous run met while it caught up
                self.refreshes[name] = Refresh.from_state(pending)
        if self.position is not None:
            for name in self.options.resnapshot:
                self.request_incremental(name, "re-snapshot requested", self.position)
            for name, keys in self.options.repair.items():
                if self.primary_keys.get(name):
                    self.refresh(name).keys.extend(tuple(k) for k in keys)
                else:  # rows without a key are counted: read the whole table again
                    self.request_incremental(name, "repair", self.position, silent_delete=True)

        if self.position is None and not self.tables:
            # nothing selected yet (an empty database): start at the server's position, so the
            # run ends caught up and a table created later is read in full when it appears
            self.position = server_pos
        try:
            if any(t["status"] != "streaming" for t in self.tables.values()):
                report.phase = "snapshot"
                yield from self.snapshot(selected)
                if any(t["status"] != "streaming" for t in self.tables.values()):
                    yield from self.flush_all()
                    report.position = self.position
                    return
            report.phase = "stream"
            yield from self.stream(until)
            yield from self.flush_all()
        finally:
            if self.reader is not None:
                self.reader.close()
        report.position = self.position

    def set_foreign_keys(self, fks: dict[str, list[ForeignKey]]) -> None:
        self.fks = fks
        self.parents.clear()
        self.parents.update(fks)

    def out_of_budget(self) -> bool:
        # a first Ctrl-C / SIGTERM (dlt's handler only sets a flag): end the run at the next
        # commit so what was read lands, and the runner stops after it
        return (
            self.budget <= 0
            or (self.deadline is not None and time.monotonic() >= self.deadline)
            or signals.was_signal_received()
        )

    # -- snapshot -------------------------------------------------------------------------
    def snapshot(self, selected: dict[str, Any]) -> Iterator[Any]:
        session = SnapshotSession(
            self.conn, arrow=True, server_id=self.server_id, cascades=self.fks
        )
        try:
            point = session.position
            if self.position is None:
                self.position = point  # the stream continues from the first snapshot's point
            for name, table_state in sorted(self.tables.items()):
                if table_state["status"] == "streaming":
                    continue
                if self.out_of_budget():
                    return
                info = selected[name]
                if table_state["status"] == "pending":
                    start = Position.from_dict(table_state["start"]) or self.position or point
                    if not info.primary_key:
                        # rows without a key are counted, not replaced: the changes that count
                        # are those after the point the rows are read at (one pass)
                        start = point
                    table_state.update(
                        status="snapshotting", start=start.as_dict(), read_at=point.as_dict()
                    )
                    yield self.snapshot_record(name, table_state, "started", start)
                snapshot_id = int(table_state["snapshot_id"])
                limit = max(self.budget, 1)
                read = 0
                for batch, last, invalid in session.read(
                    info, table_state["after"], limit, self.chunk_rows
                ):
                    n = batch.num_rows
                    base = int(table_state["rows"])
                    batch = _with_cdc_columns(
                        batch,
                        op="snapshot",
                        at=point,
                        first_row=base,
                        committed=dt.datetime.now(dt.UTC),
                        server=self.server,
                        database=self.conn.database,
                        snapshot_id=snapshot_id,
                    )
                    table_state["rows"] = base + n
                    table_state["after"] = last
                    read += n
                    self.budget -= n
                    self.report.snapshot_rows += n
                    self.report.invalid_values += invalid
                    self.report.add(name, n)
                    yield from self.emit(name, batch)
                if info.primary_key and read >= limit:
                    return  # budget spent mid-table: resume from "after" next run
                table_state.update(status="streaming", after=None)
                yield self.snapshot_record(
                    name, table_state, "done", Position.from_dict(table_state["start"])
                )
        finally:
            if session.arrow is not None:
                self.report.arrow_rows += session.arrow.rows
                for why in [session.arrow.disabled, *session.arrow.fallbacks]:
                    if why:
                        log.info("snapshot chunks read inside the transaction: %s", why)
            session.close()

    def snapshot_record(
        self, table: str, table_state: dict[str, Any], status: str, start: Position | None
    ) -> Any:
        return self.generation_record(table, int(table_state["snapshot_id"]), status,
                                      table_state["reason"], start or self.position, int(table_state["rows"]))  # fmt: skip

    def generation_record(self, table: str, snapshot_id: int, status: str, reason: str,
                          start: Position | None, rows: int) -> Any:  # fmt: skip
        record = {
            "table_name": table,
            "snapshot_id": snapshot_id,
            "status": status,
            "reason": reason,
            "start_seq": seq(start.index, start.pos, 0) if start else None,
            "rows": rows,
            "recorded_at": dt.datetime.now(dt.UTC),
        }
        return dlt.mark.with_table_name(record, SNAPSHOTS_TABLE)

    # -- stream ---------------------------------------------------------------------------
    def has_reads(self) -> bool:
        return (
            bool(self.refreshes)
            or bool(self.state.get("refreshes"))
            or any("incremental" in t for t in self.tables.values())
        )

    def stream(self, until: Position) -> Iterator[Any]:
        if self.position is None:
            return
        reached_end = True
        if self.follow or self.position.key() < until.key():
            reached_end = yield from self.stream_pass(until)
        if reached_end:
            yield from self.reads(final=True)
        # rows read at a position the stream has not reached yet wait for it, so every table's
        # change log lands in _cdc_seq order (what incremental dbt models rely on)
        passes = 0
        while self.held and passes < MAX_CATCH_UP_PASSES:
            passes += 1
            self.catching_up = True  # cascades met on the way wait for the next run
            if not (yield from self.stream_pass(until)):
                break  # a new primary key ends the run
        self.catching_up = False
        if self.held:
            # a run cut short by a new primary key: land the reads now (still exact; only
            # their order differs)
            yield from self.emit_due(None)
        if self.refreshes:
            # read in the next run, first: the checkpoint covers the changes that asked for
            # them, so they go into the state committed with this run's rows
            self.state["refreshes"] = {t: r.to_state() for t, r in self.refreshes.items()}
            self.refreshes = {}
        if (
            not self.follow
            and reached_end
            and not self.has_reads()
            and not any(t["status"] != "streaming" for t in self.tables.values())
        ):
            self.report.done = True

    def stream_pass(self, until: Position) -> Generator[Any, None, bool]:
        """Stream from the checkpoint to ``until`` (or the budget), and on to the position of
        any read still held. False when a schema change ended it early."""
        assert self.position is not None
        yield from self.emit_due(self.position)
        reader = BinlogReader(self.conn, self.server_id, self.position, lambda t: t in self.tables,
                              blocking=self.follow, parents=self.parents)  # fmt: skip
        reader.resume(self.position, self.open_xa)

        def stop(pos: Position) -> bool:
            if self.held and max(h[0].key() for h in self.held) > pos.key():
                return reader.at_end  # read on to the held reads (or the end of the log)
            if self.out_of_budget():
                return True
            return not self.follow and pos.key() >= until.key()

        broke = False
        for position, batches, ddl, committed_at in reader.transactions(stop):
            self.report.transactions += 1
            self.report.last_commit_at = committed_at
            for b in batches:
                n = b.num_rows
                self.budget -= n
                self.streamed_since_read += n
                self.report.change_rows += n
                self.report.add(b.table, n)
                yield from self.emit(b.table, b.to_arrow(self.server, self.conn.database))
                if b.table in self.fks:
                    self.cascade(b, position.file)
            self.position = position
            self.state["checkpoint_committed_at"] = committed_at
            # XA transactions prepared before this checkpoint and not yet ended: the next
            # reader starts at the earliest of them to read their rows again
            self.state["xa_open"] = {x: start.as_dict() for x, (start, _) in reader.xa_open.items()}
            yield from self.emit_due(position)
            if isinstance(ddl, Unlogged):
                self.handle_unlogged(ddl)
            elif ddl is not None:
                end = self.handle_ddl(ddl)
                yield from self.take_records()
                if end:
                    broke = True
                    break
            if (
                self.has_reads()
                and self.streamed_since_read >= self.chunk_rows
                and not self.catching_up
            ):
                yield from self.reads(final=False)
        if reader.at_end:
            yield from self.emit_due(None)  # everything up to the end of the log was read
        self.report.reconnects += reader.stats.reconnects
        self.report.invalid_values += reader.stats.invalid_values
        self.report.row_events += reader.stats.row_events
        self.report.compiled_row_events += reader.stats.compiled_events
        reader.stats.reconnects = reader.stats.invalid_values = 0
        reader.stats.row_events = reader.stats.compiled_events = 0
        return not broke and (
            not self.out_of_budget()
            or self.position.key() >= until.key()
            or bool(self.held)
            or self.follow
        )

    def emit_due(self, position: Position | None) -> Iterator[Any]:
        """Land the held reads at or before ``position`` (all of them with None)."""
        due: list[tuple[Position, str, pa.Table]] = []
        later: list[tuple[Position, str, pa.Table]] = []
        for held in self.held:
            (due if position is None or held[0].key() <= position.key() else later).append(held)
        if not due:
            return
        self.held = later
        for _, table, batch in due:
            yield from self.emit(table, batch)

    def take_records(self) -> Iterator[Any]:
        records, self.records = self.records, []
        yield from records

    # -- reads while streaming --------------------------------------------------------------
    def refresh(self, table: str) -> Refresh:
        return self.refreshes.setdefault(table, Refresh())

    def reads(self, final: bool, chunks: bool = True) -> Iterator[Any]:
        """Targeted refreshes (all of them: the checkpoint already covers what asked for
        them), then incremental snapshot chunks: one while streaming, as many as the budget
        allows at the end of a run."""
        self.streamed_since_read = 0
        if self.reader is None:
            self.reader = Reader(self.conn)
        for table in list(self.refreshes):
            yield from self.run_refresh(table, self.refreshes.pop(table))
        for table in sorted(self.tables) if chunks else ():
            first = True
            while "incremental" in self.tables.get(table, {}):
                if not first and (not final or self.out_of_budget()):
                    break
                first = False
                yield from self.read_chunk(table)
            if not final and not first:
                break
        yield from self.take_records()

    def emit_read(self, table: str, at: Position, batch: pa.Table, snapshot_id: int | None) -> None:
        """Hold rows read at ``at`` until the stream has passed ``at``."""
        n = batch.num_rows
        if not n:
            return
        first = self.next_read_row(n)
        batch = _with_cdc_columns(batch, op="snapshot", at=at, first_row=first, committed=dt.datetime.now(dt.UTC), server=self.server,
                                  database=self.conn.database, snapshot_id=snapshot_id)  # fmt: skip
        self.budget -= n
        self.report.snapshot_rows += n
        self.report.add(table, n)
        self.held.append((at, table, batch))

    def read_chunk(self, table: str) -> Iterator[Any]:
        t = self.tables[table]
        inc = t["incremental"]
        assert self.reader is not None
        limit = max(1, min(self.chunk_rows, self.budget))
        at, info, batch, last = self.reader.read(table, after=inc["after"], limit=limit)
        self.infos[table] = info
        self.primary_keys[table] = info.primary_key
        if not info.primary_key:
            inc["start"] = at.as_dict()  # read in one pass: the generation starts where it was read
        if inc["read_at"] is None:
            inc["read_at"] = at.as_dict()
            self.records.append(self.generation_record(table, inc["snapshot_id"], "started", inc["reason"],
                                                       Position.from_dict(inc["start"]), 0))  # fmt: skip
        self.emit_read(table, at, batch, inc["snapshot_id"])
        inc["rows"] += batch.num_rows
        inc["after"] = last
        if info.primary_key and batch.num_rows >= limit and last is not None:
            return  # more chunks to read
        t.update(snapshot_id=inc["snapshot_id"], reason=inc["reason"], read_at=inc["read_at"],
                 start=inc["start"], rows=inc["rows"])  # fmt: skip
        del t["incremental"]
        self.records.append(self.generation_record(table, inc["snapshot_id"], "done", inc["reason"],
                                                   Position.from_dict(inc["start"]), inc["rows"]))  # fmt: skip
        after = Position.from_dict(inc.get("again_after"))
        if inc["again"] and self.position is not None:
            at = max(self.position, after, key=Position.key) if after else self.position
            self.request_incremental(table, inc["again"], at, silent_delete=after is not None)
        yield from self.take_records()

    def run_refresh(self, table: str, refresh: Refresh) -> Iterator[Any]:
        """Read the rows a cascade or a repair changed, at one exact position, and land them;
        keys the source no longer has land as deletes at that position."""
        if table not in self.tables:
            return
        assert self.reader is not None
        snapshot_id = self.tables[table].get("snapshot_id")
        pk = self.primary_keys.get(table) or []
        for where, params in refresh.filters():
            at, info, batch, _ = self.reader.read(table, where, params)
            self.emit_read(table, at, batch, snapshot_id)
        if refresh.keys and pk:
            for keys in batches_of(sorted(set(refresh.keys), key=repr), 1000):
                where, params = key_filter(pk, keys)
                at, info, batch, _ = self.reader.read(table, where, params)
                self.emit_read(table, at, batch, snapshot_id)
                found = (
                    {tuple(r[c] for c in pk) for r in batch.select(pk).to_pylist()}
                    if batch.num_rows
                    else set()
                )
                gone = [k for k in keys if tuple(k) not in found]
                if gone:
                    self.emit_deletes(table, info, pk, gone, at)
        for moved in refresh.moved:
            yield from self.synthesize_moved(table, moved)

    def emit_deletes(self, table: str, info: TableInfo, pk: list[str], keys: Sequence[Sequence[Any]],
                     at: Position) -> None:  # fmt: skip
        """Hold deletes of ``keys`` at ``at`` (rows with only the key columns set)."""
        n = len(keys)
        columns = {c.name: pa.array([k[pk.index(c.name)] for k in keys] if c.name in pk else [None] * n,
                                    type=c.arrow) for c in info.columns}  # fmt: skip
        first = self.next_read_row(n)
        batch = _with_cdc_columns(pa.table(columns), op="delete", at=at, first_row=first, committed=dt.datetime.now(dt.UTC), server=self.server,
                                  database=self.conn.database, snapshot_id=None)  # fmt: skip
        self.report.change_rows += n
        self.report.add(table, n)
        self.held.append((at, table, batch))

    def synthesize_moved(self, table: str, moved: Moved) -> Iterator[Any]:
        """After ON UPDATE CASCADE changed a key column of child rows, the old child keys are
        gone. While the parent still has the new key, the child rows carrying it are exactly
        the moved ones: read them, the parent and the old keys in one snapshot at P, and land
        each old key as it is at P (deleted, unless it was created again since). When the
        parent has moved on (or is gone) by then, the moved rows cannot be found any more:
        capture the child again."""
        assert self.reader is not None
        pk = self.primary_keys.get(table) or []
        parent_where = " AND ".join(f"{quote(c)} = %s" for c in moved.parent_columns)
        _, _, parent, _ = self.reader.read(moved.parent, parent_where, moved.new)
        if not parent.num_rows:
            reason = f"ON UPDATE CASCADE from {moved.parent} on a key that moved again"
            self.request_incremental(table, reason, moved.at, silent_delete=True)
            return
        where = " AND ".join(f"{quote(c)} = %s" for c in moved.child_columns)
        at, info, batch, _ = self.reader.read(table, where, moved.new, same_snapshot=True)
        if not batch.num_rows or not pk:
            return
        old_keys = []
        for row in batch.select(pk).to_pylist():
            key = [row[c] for c in pk]
            for col, old in zip(moved.child_columns, moved.old, strict=True):
                if col in pk:
                    key[pk.index(col)] = old
            old_keys.append(tuple(key))
        where, params = key_filter(pk, old_keys)
        _, _, again, _ = self.reader.read(table, where, params, same_snapshot=True)
        self.emit_read(table, at, again, self.tables[table].get("snapshot_id"))
        back = (
            {tuple(r[c] for c in pk) for r in again.select(pk).to_pylist()}
            if again.num_rows
            else set()
        )
        gone = [k for k in old_keys if k not in back]
        if gone:
            self.emit_deletes(table, info, pk, gone, at)
        yield from ()

    def cascade(self, batch: Any, log_file: str) -> None:
        """Foreign-key actions write no row events: find the child rows a parent change moved."""
        names = [c.name for c in batch.columns]
        for fk in self.fks.get(batch.table, []):
            if fk.child not in self.tables or any(c not in names for c in fk.parent_columns):
                continue
            idx = [names.index(c) for c in fk.parent_columns]
            for i, op in enumerate(batch.ops):
                before = batch.befores[i] if batch.befores else None
                if op == "delete" and before is None:
                    old = [batch.rows[i][j] for j in idx]
                    if any(v is None for v in old):
                        continue
                    self.on_parent_gone(fk, fk.on_delete, position_of(batch.seqs[i], log_file))
                elif before is not None and before != MOVED:
                    old = [before[j] for j in idx]
                    new = [batch.rows[i][j] for j in idx]
                    if old == new or any(v is None for v in old):
                        continue
                    if not self.primary_keys.get(fk.child):
                        # rows without a key cannot be read again one by one: count them anew
                        pos = position_of(batch.seqs[i], log_file)
                        self.request_incremental(fk.child, f"cascade from {fk.parent}", pos, silent_delete=True)  # fmt: skip
                    elif fk.on_update == "CASCADE":
                        pos = position_of(batch.seqs[i], log_file)
                        refresh = self.refresh(fk.child)
                        refresh.equal.setdefault(fk.child_columns, set()).add(tuple(new))
                        child_pk = self.primary_keys.get(fk.child) or []
                        if set(fk.child_columns) & set(child_pk):
                            moved = Moved(fk.child_columns, tuple(old), tuple(new), pos,
                                          fk.parent, fk.parent_columns)  # fmt: skip
                            refresh.moved.append(moved)
                        for grandchild in self.fks.get(fk.child, []):
                            if (
                                set(grandchild.parent_columns) & set(fk.child_columns)
                                and grandchild.on_update in CHANGING
                            ):
                                self.request_incremental(
                                    grandchild.child, f"cascade from {fk.child}", pos
                                )
                    else:
                        self.on_parent_gone(fk, fk.on_update, position_of(batch.seqs[i], log_file))

    def on_parent_gone(self, fk: ForeignKey, action: str, pos: Position) -> None:
        if action in {"SET NULL", "SET DEFAULT"} and not self.primary_keys.get(fk.child):
            self.request_incremental(fk.child, f"ON DELETE {action} from {fk.parent}", pos, silent_delete=True)  # fmt: skip
        elif action in {"SET NULL", "SET DEFAULT"}:
            self.refresh(fk.child).null.add(fk.child_columns)
        elif action == "CASCADE":
            # the deleted child rows cannot be selected any more: capture the child again
            self.request_incremental(
                fk.child, f"ON DELETE CASCADE from {fk.parent}", pos, silent_delete=True
            )
            for grandchild in self.fks.get(fk.child, []):
                if grandchild.child != fk.child:
                    self.on_parent_gone(grandchild, grandchild.on_delete, pos)

    def handle_unlogged(self, change: Unlogged) -> None:
        """Rows changed without row images: capture the tables again past the change (with
        ``recapture_unlogged``), or stop before anything of this run lands."""
        tables = sorted(self.tables) if change.tables is None else self.with_children(change.tables)
        if not tables:
            return
        if change.writer_fault and not self.options.recapture_unlogged:
            raise CdcError(
                f"the binary log holds {change.why}; its rows are not in the log, so "
                f"{', '.join(tables) if change.tables else 'any captured table'} cannot be followed "
                "exactly. Fix the writer (binlog_format=ROW and binlog_row_image=FULL for every "
                "session), then run again with --recapture-unlogged to capture the tables again past it"
            )
        for table in tables:
            self.request_incremental(table, change.why, change.position, silent_delete=True)

    def with_children(self, tables: Sequence[str]) -> list[str]:
        """The captured ones of ``tables`` and of the tables their foreign-key actions reach
        (a delete or key change whose rows were not logged may have cascaded further)."""
        reached, frontier = set(tables), list(tables)
        while frontier:
            for fk in self.fks.get(frontier.pop(), []):
                if fk.child not in reached:
                    reached.add(fk.child)
                    frontier.append(fk.child)
        return sorted(t for t in reached if t in self.tables)

    def handle_ddl(self, ddl: DdlChange) -> bool:
        """Follow a schema change. True when the run must end so a snapshot can run first."""
        tracked = ddl.table in self.tables
        if ddl.kind in {"alter", "create", "rename", "drop"}:
            with self.conn.connect() as db, db.cursor() as cur:
                self.set_foreign_keys(foreign_keys(cur, self.conn.database))
                after = (
                    describe_table(cur, self.conn.database, ddl.table)
                    if ddl.kind == "alter"
                    else None
                )
        if ddl.kind == "alter" and tracked and after is not None:
            collisions = name_collisions({ddl.table: after})
            if collisions:
                raise CdcError(f"{collisions[0]} (after the ALTER at {ddl.position})")
        if ddl.kind == "alter" and tracked and ddl.primary_key_changed:
            self.report.note(
                f"{ddl.table}: primary key changed at {ddl.position}; the stream cannot follow it, re-snapshotting the table"
            )
            self.schedule_snapshot(ddl.table, "primary key changed", ddl.position)
            return True
        if ddl.kind == "alter" and tracked:
            why = rewrites_rows(ddl.sql, self.infos.get(ddl.table), after)
            if after is not None and after.columns:
                self.infos[ddl.table] = after
            if why:
                # rows changed at the ALTER without row events, as silently as a cascade: only a
                # generation starting at it covers them (changes before it have the old shape)
                self.request_incremental(
                    ddl.table, f"{why} (ALTER writes no row events for existing rows)",
                    ddl.position, silent_delete=True,
                )  # fmt: skip
            return False
        if ddl.kind == "truncate" and tracked:
            start = Position.from_dict(self.tables[ddl.table].get("start"))
            if start is not None and start.key() >= ddl.position.key():
                return False  # the current generation starts after it
            # TRUNCATE writes no row events; every row after it comes from the stream, so a
            # generation starting here is complete at once
            self.report.note(
                f"{ddl.table}: truncated at {ddl.position}; its state starts again there"
            )
            t = self.tables[ddl.table]
            t.update(snapshot_id=self.next_snapshot_id(), reason="truncated", read_at=ddl.position.as_dict(),
                     start=ddl.position.as_dict(), rows=0)  # fmt: skip
            t.pop("incremental", None)
            for status in ("started", "done"):
                self.records.append(
                    self.generation_record(
                        ddl.table, t["snapshot_id"], status, "truncated", ddl.position, 0
                    )
                )
            return False
        replaced = ddl.kind == "create" and re.search(r"\bOR\s+REPLACE\b", ddl.sql, re.IGNORECASE)
        if (ddl.kind in {"drop", "rename"} or replaced) and tracked:
            if not replaced:
                self.report.note(
                    f"{ddl.table}: {ddl.kind} at {ddl.position}; its change log ends here"
                )
            self.tables.pop(ddl.table)
        if ddl.kind in {"create", "rename"}:
            name = ddl.new_name if ddl.kind == "rename" else ddl.table
            if name and self.wanted(name):
                others = {t: self.infos.get(t, TableInfo(t, [])) for t in self.tables if t != name}
                collisions = name_collisions({**others, name: TableInfo(name, [])})
                if collisions:
                    with self.conn.connect() as db, db.cursor() as cur:
                        still_there = bool(describe_table(cur, self.conn.database, name).columns)
                    if still_there:
                        raise CdcError(f"{collisions[0]} (new table at {ddl.position})")
                    # gone again since: none of its rows may land in the other table's log
                    self.report.note(f"{name}: created at {ddl.position} under a name that lands as a captured table's, and dropped since; not captured")  # fmt: skip
                    return False
            if name and self.wanted(name) and not self.covered(name, ddl.position):
                self.tables[name] = {"status": "streaming", "snapshot_id": None, "rows": 0, "after": None,
                                     "start": None, "reason": None, "read_at": None}  # fmt: skip
                self.request_incremental(name, "new table in the selection", ddl.position)
        return False

    # -- buffering and landing -------------------------------------------------------------
    def emit(self, table: str, batch: pa.Table) -> Iterator[Any]:
        key = (table, tuple(f"{f.name}:{f.type}" for f in batch.schema))
        self.buffers.setdefault(key, []).append(batch)
        self.buffered += batch.num_rows
        if self.buffered >= self.batch_rows:
            yield from self.flush_all()

    def flush_all(self) -> Iterator[Any]:
        for (table, _), parts in self.buffers.items():
            data = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
            yield _landed(data, table)
            if self.current_state and self.primary_keys.get(table):
                deleted = pa.compute.equal(data["_cdc_op"], "delete")
                current = data.append_column("_cdc_deleted", deleted)
                yield dlt.mark.with_hints(
                    current,
                    dlt.mark.make_hints(
                        table_name=f"{table}__current",
                        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
                        primary_key=self.primary_keys[table],
                        columns={
                            "_cdc_deleted": {"hard_delete": True},
                            "_cdc_seq": {"dedup_sort": "desc"},
                        },
                    ),
                    create_table_variant=True,  # hints for this table only, not the resource
                )
        self.buffers.clear()
        self.buffered = 0


def _landed(data: pa.Table, table: str) -> Any:
    """The batch for its change-log table. DATETIME is wall-clock time without a zone: dlt
    would create every timestamp column as TIMESTAMP WITH TIME ZONE (it drops the naive flag
    of an Arrow type when it infers the column), so such columns get an explicit hint."""
    naive: dict[str, Any] = {
        f.name: {"data_type": "timestamp", "timezone": False, "precision": 6}
        for f in data.schema
        if pa.types.is_timestamp(f.type) and f.type.tz is None
    }
    if not naive:
        return dlt.mark.with_table_name(data, table)
    return dlt.mark.with_hints(
        data, dlt.mark.make_hints(table_name=table, columns=naive), create_table_variant=True
    )


def _with_cdc_columns(batch: pa.Table, *, op: str, at: Position, first_row: int, committed: dt.datetime,
                      server: str, database: str, snapshot_id: int | None) -> pa.Table:  # fmt: skip
    """The CDC columns of rows read (or deleted) at one position, numbered from ``first_row``:
    all built in C, as the rows themselves are (no Python list per row)."""
    n = batch.num_rows

    def constant(value: Any, type_: pa.DataType) -> pa.Array:
        return pa.nulls(n, type_) if value is None else pa.repeat(pa.scalar(value, type_), n)

    extra = {
        "_cdc_op": constant(op, pa.string()),
        "_cdc_seq": seq_array(at.index, at.pos, first_row, n),
        "_cdc_committed_at": constant(committed, pa.timestamp("us", tz="UTC")),
        "_cdc_server": constant(server, pa.string()),
        "_cdc_database": constant(database, pa.string()),
        "_cdc_snapshot_id": constant(snapshot_id, pa.int64()),
    }
    for name, arr in extra.items():
        batch = batch.append_column(name, arr)
    return batch
