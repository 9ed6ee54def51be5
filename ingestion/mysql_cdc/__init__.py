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
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import dlt
import pyarrow as pa

from ingestion.mysql_cdc.helpers import (
    CdcError,
    MySqlConn,
    Position,
    ServerSettingError,
    binlog_files,
    check_server,
    discover_tables,
    master_position,
    matches,
    seq,
)
from ingestion.mysql_cdc.snapshot import SnapshotSession
from ingestion.mysql_cdc.stream import BinlogReader, DdlChange

__all__ = ["CdcError", "MySqlConn", "Report", "ServerSettingError", "mysql_cdc"]

log = logging.getLogger("lakeshop.mysql_cdc")
SNAPSHOTS_TABLE = "_cdc_snapshots"
STATE_VERSION = 1


@dataclass
class Report:
    """What a run did, for progress lines, summaries and the runner's loop."""

    rows: dict[str, int] = field(default_factory=dict)
    snapshot_rows: int = 0
    change_rows: int = 0
    transactions: int = 0
    reconnects: int = 0
    invalid_values: int = 0
    position: Position | None = None
    server_position: Position | None = None
    last_commit_at: float | None = None
    done: bool = False
    phase: str = ""
    messages: list[str] = field(default_factory=list)

    def add(self, table: str, n: int) -> None:
        self.rows[table] = self.rows.get(table, 0) + n

    def note(self, message: str) -> None:
        log.warning(message)
        self.messages.append(message)


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
        report: filled in with what the run did.
    """
    conn = (
        MySqlConn.from_url(credentials)
        if isinstance(credentials, str)
        else MySqlConn.from_url(str(credentials))
    )
    return changes(conn, list(include), list(exclude), until, max_rows, max_seconds, chunk_rows, batch_rows,
                   follow, server_id or _server_id(conn.describe()), current_state, report or Report())  # fmt: skip


@dlt.resource(name="changes", write_disposition="append", file_format="parquet")
def changes(
    conn: MySqlConn,
    include: list[str],
    exclude: list[str],
    until: dict[str, Any] | None,
    max_rows: int,
    max_seconds: float | None,
    chunk_rows: int,
    batch_rows: int,
    follow: bool,
    server_id: int,
    current_state: bool,
    report: Report,
) -> Iterator[Any]:
    state: dict[str, Any] = dlt.current.resource_state()
    yield from Run(conn, state, include, exclude, until, max_rows, max_seconds, chunk_rows, batch_rows,
                   follow, server_id, current_state, report).execute()  # fmt: skip


class Run:
    """One bounded run: snapshot what needs it, then stream, all checkpointed in ``state``."""

    def __init__(self, conn: MySqlConn, state: dict[str, Any], include: list[str], exclude: list[str],
                 until: dict[str, Any] | None, max_rows: int, max_seconds: float | None, chunk_rows: int,
                 batch_rows: int, follow: bool, server_id: int, current_state: bool, report: Report) -> None:  # fmt: skip
        self.conn = conn
        self.state = state
        self.include, self.exclude = include, exclude
        self.until = Position.from_dict(until)
        self.max_rows = max_rows
        self.deadline = time.monotonic() + max_seconds if max_seconds else None
        self.chunk_rows = chunk_rows
        self.batch_rows = batch_rows
        self.follow = follow
        self.server_id = server_id
        self.current_state = current_state
        self.report = report
        self.budget = max_rows
        self.server = ""
        self.primary_keys: dict[str, list[str]] = {}
        self.buffers: dict[tuple[str, tuple[str, ...]], list[pa.Table]] = {}
        self.buffered = 0

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

    def wanted(self, table: str) -> bool:
        return matches(table, self.include, self.exclude)

    def schedule_snapshot(self, table: str, reason: str, start: Position | None) -> None:
        snapshot_id = int(self.state.get("next_snapshot_id", 1))
        self.state["next_snapshot_id"] = snapshot_id + 1
        self.tables[table] = {"status": "pending", "snapshot_id": snapshot_id, "after": None, "rows": 0,
                              "start": start.as_dict() if start else None, "reason": reason}  # fmt: skip

    # -- the run --------------------------------------------------------------------------
    def execute(self) -> Iterator[Any]:
        report = self.report
        with self.conn.connect() as db, db.cursor() as cur:
            selected = discover_tables(cur, self.conn.database, self.include, self.exclude)
            facts = check_server(db, list(selected))
            self.server = facts["server"]
            server_pos = master_position(cur)
            files = binlog_files(cur)
        report.server_position = server_pos
        until = self.until or server_pos
        self.primary_keys = {n: t.primary_key for n, t in selected.items()}
        if self.state.get("version") != STATE_VERSION:
            self.state.clear()
            self.state["version"] = STATE_VERSION
        if not self.tables and self.position is None:
            for name in selected:
                self.schedule_snapshot(name, "initial snapshot", None)
        for name in selected:
            if name not in self.tables:
                self.schedule_snapshot(name, "new table in the selection", self.position)
        for name in list(self.tables):
            if name not in selected:
                report.note(
                    f"{name}: no longer in the database or the selection; its change log stops here"
                )
                del self.tables[name]
        pos = self.position
        if pos is not None and pos.file not in files:
            report.note(
                f"binlog position {pos} was purged from the server (oldest kept: {files[0] if files else 'none'}); "
                f"re-snapshotting {', '.join(sorted(self.tables)) or 'all tables'}"
            )
            for name in list(self.tables):
                self.schedule_snapshot(name, "binlog purged", None)
            self.position = None

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
        report.position = self.position

    def out_of_budget(self) -> bool:
        return self.budget <= 0 or (self.deadline is not None and time.monotonic() >= self.deadline)

    # -- snapshot -------------------------------------------------------------------------
    def snapshot(self, selected: dict[str, Any]) -> Iterator[Any]:
        session = SnapshotSession(self.conn)
        try:
            point = session.position
            file_index = point.index
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
                    table_state.update(status="snapshotting", start=start.as_dict())
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
                        seqs=[seq(file_index, point.pos, base + i) for i in range(n)],
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
            session.close()

    def snapshot_record(
        self, table: str, table_state: dict[str, Any], status: str, start: Position | None
    ) -> Any:
        start = start or self.position
        record = {
            "table_name": table,
            "snapshot_id": int(table_state["snapshot_id"]),
            "status": status,
            "reason": table_state["reason"],
            "start_seq": seq(start.index, start.pos, 0) if start else None,
            "rows": int(table_state["rows"]),
            "recorded_at": dt.datetime.now(dt.UTC),
        }
        return dlt.mark.with_table_name(record, SNAPSHOTS_TABLE)

    # -- stream ---------------------------------------------------------------------------
    def stream(self, until: Position) -> Iterator[Any]:
        start = self.position
        if start is None:
            return
        if not self.follow and start.key() >= until.key():
            self.report.done = True
            return
        reader = BinlogReader(
            self.conn, self.server_id, start, lambda t: t in self.tables, blocking=self.follow
        )

        def stop(pos: Position) -> bool:
            if self.out_of_budget():
                return True
            return not self.follow and pos.key() >= until.key()

        reached_end = True
        for position, batches, ddl, committed_at in reader.transactions(stop):
            self.report.transactions += 1
            self.report.last_commit_at = committed_at
            for b in batches:
                n = len(b.rows)
                self.budget -= n
                self.report.change_rows += n
                self.report.add(b.table, n)
                yield from self.emit(b.table, b.to_arrow(self.server, self.conn.database))
            self.position = position
            if ddl is not None and self.handle_ddl(ddl):
                reached_end = False
                break
        else:
            reached_end = not self.out_of_budget() or (
                self.position is not None and self.position.key() >= until.key()
            )
        self.report.reconnects += reader.stats.reconnects
        if (
            not self.follow
            and reached_end
            and not any(t["status"] != "streaming" for t in self.tables.values())
        ):
            self.report.done = True

    def handle_ddl(self, ddl: DdlChange) -> bool:
        """Follow a schema change. True when the run must end so a snapshot can run first."""
        tracked = ddl.table in self.tables
        if ddl.kind == "alter" and tracked and not ddl.primary_key_changed:
            return False  # columns added/dropped/renamed/widened: later events carry them
        if ddl.kind == "alter" and tracked:
            self.report.note(
                f"{ddl.table}: primary key changed at {ddl.position}; the stream cannot follow it, re-snapshotting the table"
            )
            self.schedule_snapshot(ddl.table, "primary key changed", ddl.position)
            return True
        if ddl.kind == "truncate" and tracked:
            self.report.note(
                f"{ddl.table}: truncated at {ddl.position} (TRUNCATE writes no row events); re-snapshotting it"
            )
            self.schedule_snapshot(ddl.table, "truncated", ddl.position)
            return True
        if ddl.kind in {"drop", "rename"} and tracked:
            self.report.note(f"{ddl.table}: {ddl.kind} at {ddl.position}; its change log ends here")
            self.tables.pop(ddl.table)
        if ddl.kind in {"create", "rename"}:
            name = ddl.new_name if ddl.kind == "rename" else ddl.table
            if name and self.wanted(name):
                self.report.note(
                    f"{name}: new table in the selection at {ddl.position}; snapshotting it"
                )
                self.schedule_snapshot(name, "new table in the selection", ddl.position)
                return True
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
            yield dlt.mark.with_table_name(data, table)
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


def _with_cdc_columns(batch: pa.Table, *, op: str, seqs: list[str], committed: dt.datetime, server: str,
                      database: str, snapshot_id: int | None) -> pa.Table:  # fmt: skip
    n = batch.num_rows
    extra = {
        "_cdc_op": pa.array([op] * n, pa.string()),
        "_cdc_seq": pa.array(seqs, pa.string()),
        "_cdc_committed_at": pa.array([committed] * n, pa.timestamp("us", tz="UTC")),
        "_cdc_server": pa.array([server] * n, pa.string()),
        "_cdc_database": pa.array([database] * n, pa.string()),
        "_cdc_snapshot_id": pa.array([snapshot_id] * n, pa.int64()),
    }
    for name, arr in extra.items():
        batch = batch.append_column(name, arr)
    return batch
