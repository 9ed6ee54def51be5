"""`lakeshop ingest mysql`: bounded CDC runs into the lake and the warehouse, with progress."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import dlt
import pymysql
from dlt.common.runtime import signals
from dlt.pipeline.exceptions import PipelineStepFailed

from ingestion import destinations
from ingestion.mysql_cdc import Report, _server_id, mysql_cdc
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
    arrow_rows: int = 0
    change_rows: int = 0
    row_events: int = 0
    compiled_row_events: int = 0
    transactions: int = 0
    reconnects: int = 0
    invalid_values: int = 0
    retention: Any = None
    seconds: float = 0.0
    position: Position | None = None
    messages: list[str] = field(default_factory=list)
    load_ids: list[str] = field(default_factory=list)

    def absorb(self, r: Report) -> None:
        for k, v in r.rows.items():
            self.rows[k] = self.rows.get(k, 0) + v
        self.snapshot_rows += r.snapshot_rows
        self.arrow_rows += r.arrow_rows
        self.change_rows += r.change_rows
        self.row_events += r.row_events
        self.compiled_row_events += r.compiled_row_events
        self.transactions += r.transactions
        self.reconnects += r.reconnects
        self.invalid_values += r.invalid_values
        self.retention = r.retention or self.retention
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


def replica_server_id(pipe: dlt.Pipeline, conn: MySqlConn) -> int:
    """The replica id of a pipeline's binlog connection: one per pipeline (name, folder and
    source), so the lake's and the warehouse's followers, or two users' on one server, never
    share one. A server drops a replica when another connects with the same id (error 4052)."""
    return _server_id(f"{pipe.pipeline_name}|{pipe.pipelines_dir}|{conn.describe()}")


class TargetSync:
    """Bounded CDC runs into one target, one at a time (``step``), retrying what can be retried."""

    def __init__(self, url: str, target: str, include: tuple[str, ...], exclude: tuple[str, ...],
                 until: Position, follow: bool, flush_seconds: float, max_rows_per_run: int,
                 current_state: bool, pipeline: dlt.Pipeline | None, server_id: int | None,
                 retries: int, backoff: float, resnapshot: tuple[str, ...] = (),
                 repair: dict[str, list[list[Any]]] | None = None, *,
                 recapture_unlogged: bool = False) -> None:  # fmt: skip
        self.url, self.include, self.exclude, self.until = url, include, exclude, until
        self.follow, self.flush_seconds, self.max_rows_per_run = (
            follow,
            flush_seconds,
            max_rows_per_run,
        )
        self.current_state, self.retries, self.backoff = current_state, retries, backoff
        self.pipe = pipeline or cdc_pipeline(target)
        self.server_id = server_id or replica_server_id(self.pipe, MySqlConn.from_url(url))
        self.result = SyncResult(target)
        self.resnapshot = resnapshot
        self.repair = repair or {}
        self.recapture_unlogged = recapture_unlogged
        self.failures = 0
        self.done = False

    def step(self, ticker: Ticker) -> None:
        report = Report()
        ticker.report = report
        started = time.monotonic()
        source = mysql_cdc(
            credentials=self.url,
            include=list(self.include),
            exclude=list(self.exclude),
            until=None if self.follow else self.until.as_dict(),
            max_rows=self.max_rows_per_run,
            max_seconds=self.flush_seconds if self.follow else None,
            chunk_rows=CHUNK_ROWS,
            batch_rows=BATCH_ROWS,
            follow=self.follow,
            server_id=self.server_id,
            current_state=self.current_state,
            resnapshot=list(self.resnapshot),
            repair=self.repair,
            recapture_unlogged=self.recapture_unlogged,
            report=report,
        )
        pipe, result = self.pipe, self.result
        result.messages += destinations.repair_interrupted_commits(pipe)
        had_pending = pipe.has_pending_data
        reloaded = destinations.partly_loaded_packages(pipe)
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
            with contextlib.suppress(Exception):  # what landed before the failure, numbered
                destinations.stamp_landing_order(pipe)
            result.seconds += time.monotonic() - started
            cause = _root_cause(exc)
            if isinstance(cause, CdcError):
                raise cause from None  # a problem the user fixes: show it plainly
            # a lost connection, or a package left half-processed by a crash that dlt
            # re-tries from its pending packages on the next run (nothing is dropped)
            retryable = _is_connection_error(exc) or (
                exc.step in {"normalize", "load"} and exc.has_pending_data
            )
            if not retryable or self.failures >= self.retries:
                raise
            self.failures += 1
            delay = min(30.0, self.backoff * 2 ** (self.failures - 1))
            result.messages.append(
                f"run failed ({_root_cause(exc)}); retry {self.failures}/{self.retries} in {delay:.1f}s"
            )
            time.sleep(delay)
            return
        result.messages += destinations.drop_reloaded_copies(pipe, reloaded)
        destinations.stamp_landing_order(pipe)
        self.resnapshot = ()  # requested once: it is in the pipeline state now
        self.repair = {}  # read in that run
        self.failures = 0
        result.runs += 1
        result.seconds += time.monotonic() - started
        result.load_ids += list(getattr(info, "loads_ids", []) or [])
        result.absorb(report)
        ticker.report = Report()
        if (report.done and not self.follow) or signals.was_signal_received():
            self.done = True


def sync_targets(
    url: str,
    targets: tuple[str, ...] | list[str],
    include: tuple[str, ...] = ("*",),
    exclude: tuple[str, ...] = (),
    follow: bool = False,
    flush_seconds: float = 2.0,
    max_rows_per_run: int = MAX_ROWS_PER_RUN,
    current_state: bool = False,
    quiet: bool = False,
    pipelines: dict[str, dlt.Pipeline] | None = None,
    max_runs: int | None = None,
    retries: int = 6,
    backoff: float = 1.0,
    server_id: int | None = None,
    resnapshot: tuple[str, ...] = (),
    repair: dict[str, list[list[Any]]] | None = None,
    *,
    recapture_unlogged: bool = False,
) -> list[SyncResult]:
    """Run bounded CDC runs into each target until caught up with the server.

    Without ``follow`` the targets are caught up one after the other, each to the server's
    position when the command started. With ``follow`` they take turns, one run of up to
    ``flush_seconds`` each, forever (or ``max_runs`` runs per target), so every target is fed.
    """
    conn = MySqlConn.from_url(url)
    with conn.connect() as db, db.cursor() as cur:
        # stop before reading anything, with the fix, when the server cannot serve CDC
        check_server(db, list(discover_tables(cur, conn.database, include, exclude)))
        until = master_position(cur)
    one_id = server_id if len(targets) == 1 else None
    syncs = [
        TargetSync(
            url,
            t,
            include,
            exclude,
            until,
            follow,
            flush_seconds,
            max_rows_per_run,
            current_state,
            (pipelines or {}).get(t),
            one_id,
            retries,
            backoff,
            resnapshot,
            repair,
            recapture_unlogged=recapture_unlogged,
        )
        for t in targets
    ]
    if server_id and len(targets) > 1:
        # one configured id per process would make the targets' connections kick each other off
        for offset, s in enumerate(syncs):
            s.server_id = server_id + offset
    label = f"mysql -> {' + '.join(targets)}"
    for s in syncs:
        ticker = Ticker(label if follow else f"mysql -> {s.result.target}", s.result, quiet)
        if follow:
            break
        with ticker:
            while not s.done and (max_runs is None or s.result.runs < max_runs):
                s.step(ticker)
    if follow:
        # the first Ctrl-C or SIGTERM ends the current runs at a commit and lands them; a
        # second one stops at once (dlt's two-stage handler)
        with signals.intercepted_signals(), ticker:
            while not signals.was_signal_received() and (
                max_runs is None or any(s.result.runs < max_runs for s in syncs)
            ):
                for s in syncs:
                    if max_runs is None or s.result.runs < max_runs:
                        ticker.result = s.result
                        s.step(ticker)
    return [s.result for s in syncs]


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
    server_id: int | None = None,
    resnapshot: tuple[str, ...] = (),
    repair: dict[str, list[list[Any]]] | None = None,
    *,
    recapture_unlogged: bool = False,
) -> SyncResult:
    """Run bounded CDC runs into one target until caught up with the server (or forever with follow)."""
    (result,) = sync_targets(url, (target,), include, exclude, follow, flush_seconds,
                             max_rows_per_run, current_state, quiet,
                             {target: pipeline} if pipeline else None, max_runs, retries,
                             backoff, server_id, resnapshot, repair,
                             recapture_unlogged=recapture_unlogged)  # fmt: skip
    return result


@dataclass
class VerifyResult:
    target: str
    checks: dict[str, Any]
    rounds: int
    seconds: float
    repaired: dict[str, int] = field(default_factory=dict)

    @property
    def differing(self) -> int:
        return sum(len(c.keys) for c in self.checks.values())


def verify_target(
    url: str,
    target: str,
    include: tuple[str, ...] = ("*",),
    exclude: tuple[str, ...] = (),
    repair: bool = False,
    chunk_rows: int = 10_000,
    rounds: int = 3,
    quiet: bool = True,
    pipeline: dlt.Pipeline | None = None,
) -> VerifyResult:
    """Compare the source with the landed current state of every captured table; with
    ``repair``, re-capture the keys that differ and compare them again."""
    from ingestion.mysql_cdc.verify import Landed, compare_table, source_snapshot, tables_to_check

    started = time.monotonic()
    conn = MySqlConn.from_url(url)
    pipe = pipeline or cdc_pipeline(target)

    def catch_up(**kw: Any) -> None:
        sync(url, target, include, exclude, quiet=quiet, pipeline=pipe, **kw)

    def compare(only: dict[str, list[Any]] | None = None) -> dict[str, Any]:
        # the source first, each table in one consistent snapshot at a known position; then
        # the landed side catches up past those positions and is read as of each of them
        names = [n for n in infos if only is None or n in only]
        sources = {
            n: source_snapshot(conn, infos[n], chunk_rows, None if only is None else only[n])
            for n in names
            if infos[n].primary_key
        }
        catch_up()
        with pipe.sql_client() as client:
            landed = Landed(client)
            return {
                n: compare_table(
                    conn,
                    infos[n],
                    landed,
                    chunk_rows,
                    None if only is None else only[n],
                    sources.get(n),
                )
                for n in names
            }

    catch_up()
    infos = tables_to_check(conn, include, exclude)
    checks = compare()
    used = 1
    # rows read at a position after the check (a cascade's child rows) can still differ
    # from the state at the check's position: compare the keys that differed once more
    while used < rounds and any(c.keys for c in checks.values()):
        pending = {t: c.keys for t, c in checks.items() if c.keys}
        for name, again in compare(pending).items():
            first = checks[name]
            first.missing, first.extra, first.different = (
                again.missing,
                again.extra,
                again.different,
            )
        used += 1
    result = VerifyResult(target, checks, used, 0.0)
    if repair and result.differing:
        keys = {t: [list(k) for k in c.keys] for t, c in checks.items() if c.keys}
        catch_up(repair=keys)
        after = compare({t: [tuple(k) for k in v] for t, v in keys.items()})
        for name, again in after.items():
            result.repaired[name] = len(keys[name]) - len(again.keys)
            first = checks[name]
            first.missing, first.extra, first.different = (
                again.missing,
                again.extra,
                again.different,
            )
    result.seconds = time.monotonic() - started
    return result
