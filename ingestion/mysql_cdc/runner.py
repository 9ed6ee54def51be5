"""`lakeshop ingest mysql`: bounded CDC runs into the lake and the warehouse, with progress."""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import dlt
import pymysql
from dlt.pipeline.exceptions import PipelineStepFailed

from ingestion import destinations
from ingestion.mysql_cdc import Report, mysql_cdc
from ingestion.mysql_cdc.helpers import (
    CdcError,
    MySqlConn,
    Position,
    check_server,
    discover_tables,
    master_position,
)
from ingestion.mysql_cdc.settings import (
    BATCH_ROWS,
    CHUNK_ROWS,
    DATASET,
    LAKE_LAYOUT,
    MAX_ROWS_PER_RUN,
)
from ingestion.progress import duration, human


@dataclass
class SyncResult:
    target: str
    runs: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    snapshot_rows: int = 0
    change_rows: int = 0
    transactions: int = 0
    reconnects: int = 0
    seconds: float = 0.0
    position: Position | None = None
    messages: list[str] = field(default_factory=list)
    load_ids: list[str] = field(default_factory=list)

    def absorb(self, r: Report) -> None:
        for k, v in r.rows.items():
            self.rows[k] = self.rows.get(k, 0) + v
        self.snapshot_rows += r.snapshot_rows
        self.change_rows += r.change_rows
        self.transactions += r.transactions
        self.reconnects += r.reconnects
        self.position = r.position or self.position
        self.messages += r.messages


def cdc_pipeline(target: str) -> dlt.Pipeline:
    if target == "lake":
        return destinations.pipeline("lakeshop_mysql_lake", destinations.lake(LAKE_LAYOUT), DATASET)
    if target == "warehouse":
        return destinations.pipeline("lakeshop_mysql_warehouse", destinations.warehouse(), DATASET)
    raise SystemExit(f"unknown target {target!r}: use lake or warehouse")


def _root_cause(exc: BaseException) -> BaseException:
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return exc


def _is_connection_error(exc: BaseException) -> bool:
    """A lost or refused MySQL connection (server restart, network) rather than a bug."""
    cause = _root_cause(exc)
    if isinstance(cause, pymysql.err.OperationalError):
        return bool(cause.args) and cause.args[0] in (2003, 2006, 2013, 2055, 1053, 1927)
    return isinstance(cause, ConnectionError | EOFError | pymysql.err.InterfaceError)


class Ticker:
    """Prints a live line from the current run's report while a run is going."""

    def __init__(self, label: str, result: SyncResult, quiet: bool) -> None:
        self.label, self.result, self.quiet = label, result, quiet
        self.report = Report()
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.tty = sys.stderr.isatty()

    def line(self) -> str:
        r, total = self.report, self.result
        rows = total.snapshot_rows + total.change_rows + r.snapshot_rows + r.change_rows
        elapsed = time.monotonic() - self.started
        parts = [
            f"{self.label}: {human(rows)} rows",
            f"{human(rows / elapsed if elapsed else 0)} rows/s",
            duration(elapsed),
        ]
        if r.phase:
            parts.append(r.phase)
        if r.last_commit_at:
            parts.append(f"lag {max(0.0, time.time() - r.last_commit_at):.0f}s")
        tables = dict(total.rows)
        for k, v in r.rows.items():
            tables[k] = tables.get(k, 0) + v
        top = sorted(tables.items(), key=lambda kv: -kv[1])[:4]
        if top:
            parts.append(", ".join(f"{k} {human(v)}" for k, v in top))
        return " | ".join(parts)

    def _loop(self) -> None:
        interval = 0.5 if self.tty else 5.0
        while not self._stop.wait(interval):
            self._draw()

    def _draw(self, end: str = "") -> None:
        if self.quiet:
            return
        text = self.line()
        sys.stderr.write(("\r\033[K" + text + end) if self.tty else text + "\n")
        sys.stderr.flush()

    def __enter__(self) -> Ticker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._draw("\n" if self.tty else "")


def sync(
    url: str,
    target: str,
    include: tuple[str, ...] = ("*",),
    exclude: tuple[str, ...] = (),
    follow: bool = False,
    flush_seconds: float = 2.0,
    max_rows_per_run: int = MAX_ROWS_PER_RUN,
    current_state: bool = False,
    quiet: bool = False,
    pipeline: dlt.Pipeline | None = None,
    max_runs: int | None = None,
    retries: int = 6,
    backoff: float = 1.0,
) -> SyncResult:
    """Run bounded CDC runs into one target until caught up with the server (or forever with follow)."""
    conn = MySqlConn.from_url(url)
    with conn.connect() as db, db.cursor() as cur:
        # stop before reading anything, with the fix, when the server cannot serve CDC
        check_server(db, list(discover_tables(cur, conn.database, include, exclude)))
        until = master_position(cur)
    pipe = pipeline or cdc_pipeline(target)
    result = SyncResult(target)
    started = time.monotonic()
    ticker = Ticker(f"mysql -> {target}", result, quiet)
    failures = 0
    with ticker:
        while max_runs is None or result.runs < max_runs:
            report = Report()
            ticker.report = report
            source = mysql_cdc(
                credentials=url,
                include=list(include),
                exclude=list(exclude),
                until=None if follow else until.as_dict(),
                max_rows=max_rows_per_run,
                max_seconds=flush_seconds if follow else None,
                chunk_rows=CHUNK_ROWS,
                batch_rows=BATCH_ROWS,
                follow=follow,
                current_state=current_state,
                report=report,
            )
            result.messages += destinations.repair_interrupted_commits(pipe)
            had_pending = pipe.has_pending_data
            try:
                info: Any = pipe.run(source)
                if had_pending:
                    # dlt's run() loaded packages left by an earlier process and returned
                    # without extracting. Such a package can carry newer state than the local
                    # state file (a kill between dlt committing the package and saving the
                    # state), and dlt restores state from the destination only once per
                    # pipeline object: restore it now, or the next run re-extracts what that
                    # package already holds.
                    pipe.sync_destination()
            except PipelineStepFailed as exc:
                cause = _root_cause(exc)
                if isinstance(cause, CdcError):
                    raise cause from None  # a problem the user fixes: show it plainly
                # a lost connection, or a package left half-processed by a crash that dlt
                # re-tries from its pending packages on the next run (nothing is dropped)
                retryable = _is_connection_error(exc) or (
                    exc.step in {"normalize", "load"} and exc.has_pending_data
                )
                if not retryable or failures >= retries:
                    raise
                failures += 1
                delay = min(30.0, backoff * 2 ** (failures - 1))
                result.messages.append(
                    f"run failed ({_root_cause(exc)}); retry {failures}/{retries} in {delay:.1f}s"
                )
                time.sleep(delay)
                continue
            failures = 0
            result.runs += 1
            result.load_ids += list(getattr(info, "loads_ids", []) or [])
            result.absorb(report)
            ticker.report = Report()
            if report.done and not follow:
                break
    result.seconds = time.monotonic() - started
    return result
