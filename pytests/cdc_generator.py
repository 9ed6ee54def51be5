"""The CDC generator's harness: replay a drawn case on a real MariaDB, capture it into the
warehouse and the lake, and hold the result against an oracle that cannot share lakeshop's
bugs: the source database itself, value by value. `--verify` is held against the same oracle:
it must call every equal table equal and never a differing one, and never crash.

A failing case is shrunk (delta debugging over its steps, replayed without kills) to the
shortest script that still fails, printed as SQL. ``make soak MINUTES=N`` draws seeds until
the time is up (``pytests/cdc_soak.py``); CI runs a few (``test_mysql_cdc_generated.py``).
"""

from __future__ import annotations

import contextlib
import random
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymysql

from ingestion.mysql_cdc.runner import sync, verify_target
from pytests.cdc_support import (
    NAMING,
    assert_equivalent,
    cdc_url,
    env,
    fresh_database,
    primary_keys,
    root,
    source_columns,
)
from sandbox import cdcgen
from sandbox.services import MariaDB

TARGETS = ("warehouse", "lake")
MAX_RUNS = 40  # a capture of these small cases catches up in a few runs; more is a livelock


@dataclass
class Outcome:
    """What one case did, and what went wrong (None: nothing)."""

    seed: int
    steps: int = 0
    statements: int = 0
    refused: int = 0  # statements the server refused (foreign keys, a shrunk case)
    runs: int = 0
    kills: int = 0
    finding: str | None = None
    failed_at: int | None = None  # index of the Run step whose check failed
    stats: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)  # refusals by the server's message
    samples: dict[str, str] = field(default_factory=dict)  # a statement of each refusal

    def refuse(self, exc: BaseException, sql: str = "") -> None:
        self.refused += 1
        words = " ".join(str(exc.args[-1] if exc.args else exc).split()[:5])
        self.reasons[words] = self.reasons.get(words, 0) + 1
        self.samples.setdefault(words, sql[:300])


class Case:
    """One database and one state folder: a case replayed from its first step."""

    def __init__(self, mariadb: MariaDB, database: str, home: Path, rng: random.Random,
                 mutations: bool = True) -> None:  # fmt: skip
        self.mariadb, self.database, self.home, self.rng = mariadb, database, home, rng
        self.mutations = mutations
        self.url = cdc_url(mariadb, database)

    def reset(self) -> None:
        with self.mariadb.connect() as conn, conn.cursor() as cur:
            cur.execute("XA RECOVER")
            for _fmt, gl, _bl, data in cur.fetchall():
                with contextlib.suppress(pymysql.err.MySQLError):
                    cur.execute(f"XA ROLLBACK '{bytes(data)[: int(gl)].decode()}'")
        fresh_database(self.mariadb, self.database)
        shutil.rmtree(self.home, ignore_errors=True)
        self.home.mkdir(parents=True)
        self.home.chmod(0o755)

    def environment(self) -> contextlib.AbstractContextManager[None]:
        return env(LAKESHOP_HOME=str(self.home), LAKESHOP_DUCKDB_PATH=str(self.home / "warehouse.duckdb"),
                   LAKESHOP_WAREHOUSE="duckdb")  # fmt: skip

    # -- the steps -----------------------------------------------------------------------------
    def session(self, xa: bool = False) -> pymysql.connections.Connection[Any]:
        conn = root(self.mariadb, self.database)
        with conn.cursor() as cur:
            # zero and partial-zero dates, truncating narrowings; waits on a prepared XA's
            # locks end quickly (the statement is refused and counted)
            cur.execute(
                "SET SESSION sql_mode = '', innodb_lock_wait_timeout = 1, lock_wait_timeout = 2"
            )
        conn.autocommit(xa)  # XA statements refuse to run inside an implicit transaction
        return conn

    def apply(self, step: cdcgen.Step, outcome: Outcome) -> bool:
        """Run one step; False when the server refused a statement of it (a DDL waiting on a
        prepared XA's lock, say), so what the step set up is not there."""
        applied = True
        if isinstance(step, cdcgen.Sql):
            with self.session() as conn, conn.cursor() as cur:
                for setting in step.session:
                    cur.execute(f"SET SESSION {setting}")
                for sql in step.statements:
                    outcome.statements += 1
                    try:
                        cur.execute(sql)
                    except pymysql.err.MySQLError as exc:
                        outcome.refuse(exc, sql)
                        applied = False
                        if not step.ddl:
                            conn.rollback()
                            return False
                conn.commit()
        elif isinstance(step, cdcgen.XaPrepare):
            with self.session(xa=True) as conn, conn.cursor() as cur:
                try:
                    cur.execute(f"XA START '{step.xid}'")
                    for sql in step.statements:
                        outcome.statements += 1
                        cur.execute(sql)
                    cur.execute(f"XA END '{step.xid}'")
                    cur.execute(f"XA PREPARE '{step.xid}'")
                except pymysql.err.MySQLError as exc:
                    outcome.refuse(exc)
                    for sql in (f"XA END '{step.xid}'", f"XA ROLLBACK '{step.xid}'"):
                        with contextlib.suppress(pymysql.err.MySQLError):
                            cur.execute(sql)
        elif isinstance(step, cdcgen.XaEnd):
            with self.session(xa=True) as conn, conn.cursor() as cur:
                try:
                    cur.execute(f"XA {'COMMIT' if step.commit else 'ROLLBACK'} '{step.xid}'")
                except pymysql.err.MySQLError as exc:
                    outcome.refuse(exc)
        elif isinstance(step, cdcgen.Server):
            if step.restart:
                self.mariadb.stop()
                self.mariadb.start()
            with self.mariadb.connect() as conn, conn.cursor() as cur:
                for sql in step.statements:
                    cur.execute(sql)
        elif isinstance(step, cdcgen.Binlog):
            with self.mariadb.connect() as conn, conn.cursor() as cur:
                cur.execute("FLUSH BINARY LOGS")
                if step.action == "purge":
                    cur.execute("SHOW MASTER STATUS")
                    current = cur.fetchone()[0]  # type: ignore[index]
                    cur.execute(f"PURGE BINARY LOGS TO '{current}'")
        return applied

    def capture(self, kill: bool, outcome: Outcome) -> None:
        if kill:
            from pytests.test_mysql_cdc_chaos import _kill_loop

            kills = self.rng.randint(1, 3)
            _kill_loop(
                self.home, self.url, kills, self.rng, extra=("--recapture-unlogged",), max_rows=200
            )
            outcome.kills += kills
        for target in TARGETS:
            done = sync(self.url, target, quiet=True, recapture_unlogged=True, max_runs=MAX_RUNS)
            if done.runs >= MAX_RUNS:
                raise AssertionError(
                    f"[{target}] the capture had not caught up after {MAX_RUNS} runs: {done.messages[-3:]}"
                )
        outcome.runs += 1

    def refusal(self, expected: str) -> str | None:
        """A run that must stop before anything lands, with one line naming the fix."""
        from ingestion.mysql_cdc.helpers import CdcError

        for target in TARGETS:
            try:
                sync(self.url, target, quiet=True, recapture_unlogged=True, max_runs=MAX_RUNS)
            except CdcError as exc:
                if expected not in str(exc):
                    return f"[{target}] refused, but not saying {expected!r}: {exc}"
                continue
            except Exception as exc:
                return f"[{target}] expected a refusal naming {expected!r}, got {type(exc).__name__}: {exc}"
            return f"[{target}] the run went on where it must refuse ({expected!r})"
        return None

    def check(self) -> str | None:
        """The oracle: every table's landed current state equals the source's, in both
        targets, and --verify agrees (finds nothing, crashes on nothing)."""
        from pytests.test_mysql_cdc_real import lake_connection

        problems = []
        for target in TARGETS:
            try:
                if target == "warehouse":
                    assert_equivalent(self.mariadb, self.database, self.home / "warehouse.duckdb")
                else:
                    assert_equivalent(
                        self.mariadb, self.database, None, connection=lake_connection(self.home)
                    )
                oracle = None
            except AssertionError as exc:
                oracle = str(exc)
            try:
                checked = verify_target(self.url, target, rounds=1)
                differing = [c.line() for c in checked.checks.values() if c.keys]
            except Exception as exc:  # verify must never crash
                differing = [f"verify crashed: {type(exc).__name__}: {exc}"]
            if oracle:
                problems.append(f"[{target}] current state differs from the source: {oracle}"
                                + ("" if differing else "; and --verify called every table equal"))  # fmt: skip
            elif differing:
                problems.append(
                    f"[{target}] --verify reports a difference the source does not have: {differing}"
                )
        return "; ".join(problems) or None

    def mutation_found(self) -> str | None:
        """The other half of verify's oracle: a landed value changed behind the pipeline's
        back (in a copy of the warehouse) must be reported. None when it is."""
        import duckdb

        path = self.home / "warehouse.duckdb"
        with duckdb.connect(str(path)) as duck:
            duck.execute("checkpoint")
            tables = [r[0] for r in duck.execute(
                "select table_name from information_schema.tables where table_schema = 'raw_mysql' "
                "and table_name not like '\\_%' escape '\\' order by 1").fetchall()]  # fmt: skip
        in_source = {
            NAMING.normalize_table_identifier(t): t
            for t in primary_keys(self.mariadb, self.database)
        }
        tables = [
            t for t in tables if t in in_source
        ]  # a renamed or dropped table's log is history
        kept = path.with_suffix(".kept")
        shutil.copy(path, kept)
        try:
            with duckdb.connect(str(path)) as duck:
                target = None
                for table in self.rng.sample(tables, len(tables)):
                    columns = [c for (c,) in duck.execute(
                        "select column_name from information_schema.columns where table_schema = 'raw_mysql' "
                        "and table_name = ? and column_name not like '\\_%' escape '\\'", [table]).fetchall()]  # fmt: skip
                    # a column the source has dropped keeps its history, which verify rightly ignores
                    live = {
                        NAMING.normalize_identifier(c)
                        for c in source_columns(self.mariadb, self.database, in_source[table])
                    }
                    columns = [c for c in columns if c in live]
                    # the newest non-delete change of the table, and one of its non-NULL values
                    # in the current state: at or after the start of the latest complete generation
                    row = duck.execute(f"select _cdc_seq from raw_mysql.{table} where _cdc_seq >= (select "
                                       "max(start_seq) from raw_mysql._cdc_snapshots where table_name = ? and "
                                       "status = 'done') order by _cdc_seq desc limit 1", [in_source[table]]
                                       ).fetchone()  # fmt: skip
                    if row and duck.execute(f"select _cdc_op = 'delete' from raw_mysql.{table} where _cdc_seq = ?",
                                            [row[0]]).fetchone()[0]:  # fmt: skip
                        continue  # the newest change deletes its row: nothing current to change
                    for column in self.rng.sample(columns, len(columns)):
                        if row and duck.execute(f'select "{column}" is not null from raw_mysql.{table} '
                                                "where _cdc_seq = ?", [row[0]]).fetchone()[0]:  # fmt: skip
                            target = (table, column, row[0])
                            break
                    if target:
                        break
                if target is None:
                    return None
                table, column, seq = target
                kind = duck.execute(
                    "select data_type from information_schema.columns where table_schema = 'raw_mysql' "
                    "and table_name = ? and column_name = ?", [table, column]).fetchone()[0].upper()  # fmt: skip
                q = f'"{column}"'
                # a change of the kind that once slipped through: a NULL, a last digit, a
                # character, a second
                changed = (
                    f"{q} + {self._delta(kind)}" if kind.startswith("DECIMAL")
                    else f"{q} + 1" if kind in {"BIGINT", "INTEGER", "DOUBLE", "FLOAT", "HUGEINT"}
                    else f"{q} || 'x'" if kind == "VARCHAR"
                    else f"{q} + interval 1 second" if kind.startswith("TIMESTAMP")
                    else f"{q} + interval 1 day" if kind == "DATE"
                    else "null"
                )  # fmt: skip
                if self.rng.random() < 0.3:
                    changed = "null"
                read = f"select {q} from raw_mysql.{table} where _cdc_seq = ?"
                was = duck.execute(read, [seq]).fetchone()
                duck.execute(
                    f"update raw_mysql.{table} set {q} = {changed} where _cdc_seq = ?", [seq]
                )
                if (
                    duck.execute(read, [seq]).fetchone() == was
                ):  # arithmetic in DOUBLE lost the change
                    changed = "null"
                    duck.execute(
                        f"update raw_mysql.{table} set {q} = null where _cdc_seq = ?", [seq]
                    )
            try:  # the oracle first: a change to a row a newer one supersedes, or to a key
                # whose older change holds the same values, leaves the current state as it was
                assert_equivalent(self.mariadb, self.database, path)
                return None  # nothing for verify to find (soak seed 8053)
            except AssertionError:
                pass
            checked = verify_target(self.url, "warehouse", rounds=1)
            if any(c.keys for c in checked.checks.values()):
                return None
            return f"--verify called every table equal after {table}.{column} of the change {seq} became {changed}"
        finally:
            Path(f"{path}.wal").unlink(missing_ok=True)
            shutil.move(kept, path)

    def _delta(self, decimal_type: str) -> str:
        """One unit of the landed decimal's last digit, of its second, or a whole one."""
        scale = int(decimal_type.rstrip(")").split(",")[-1]) if "," in decimal_type else 0
        return self.rng.choice(["1", f"1e-{min(scale, 2)}", f"1e-{scale}"])

    def replay(self, steps: list[cdcgen.Step], outcome: Outcome, kills: bool = True,
               deadline: float | None = None) -> Outcome:  # fmt: skip
        self.reset()
        with self.environment():
            set_up = True  # the step before applied whole (a collision the next run refuses)
            for index, step in enumerate(steps):
                outcome.steps += 1
                if isinstance(step, cdcgen.Run) and step.refused and not set_up:
                    step = cdcgen.Run(kill=step.kill)  # nothing to refuse: an ordinary run
                if isinstance(step, cdcgen.Run) and step.refused:
                    finding = self.refusal(step.refused)
                    if finding:
                        outcome.finding, outcome.failed_at = finding, index
                        return outcome
                elif isinstance(step, cdcgen.Run):
                    try:
                        self.capture(step.kill and kills, outcome)
                        finding = self.check() or (
                            self.mutation_found() if self.mutations else None
                        )
                    except Exception as exc:  # a run that fails is a finding too
                        finding = f"the capture failed: {type(exc).__name__}: {exc}"
                    if finding:
                        outcome.finding, outcome.failed_at = finding, index
                        return outcome
                    if deadline is not None and time.monotonic() > deadline:
                        return outcome
                else:
                    set_up = self.apply(step, outcome)
                    continue
                set_up = True
        return outcome


def run_seed(mariadb: MariaDB, seed: int, home: Path, steps: int = 30, kills: bool = False,
             big_blobs: bool = True, shrink_seconds: float = 120) -> tuple[Outcome, str | None]:  # fmt: skip
    """Draw and replay one seed; on a finding, its shrunk reproduction as SQL."""
    case_steps, stats = cdcgen.draw(seed, steps=steps, kills=kills, big_blobs=big_blobs)
    case = Case(mariadb, f"gen_{seed % 1000}", home / f"seed-{seed}", random.Random(seed))
    outcome = case.replay(case_steps, Outcome(seed, stats=stats))
    if outcome.finding is None or outcome.failed_at is None:
        shutil.rmtree(case.home, ignore_errors=True)
        return outcome, None
    failing = case_steps[: outcome.failed_at + 1]
    wanted = finding_kind(outcome.finding)

    def still_fails(candidate: list[cdcgen.Step]) -> bool:
        # the same kind of finding, not any: seed 7024's shrink drifted from a missed
        # mutation to an empty database that never caught up (a finding too, but another)
        found = case.replay([*candidate, cdcgen.Run()], Outcome(seed), kills=False).finding
        return found is not None and finding_kind(found) == wanted

    shrunk = shrink(failing, still_fails, time.monotonic() + shrink_seconds)
    return outcome, cdcgen.as_sql(shrunk)


def finding_kind(finding: str) -> str:
    """What a finding is about, without its values: its first words, digits masked."""
    return re.sub(r"\d+", "#", " ".join(finding.split()[:4]))


def shrink(steps: list[cdcgen.Step], fails: Callable[[list[cdcgen.Step]], bool],
           deadline: float) -> list[cdcgen.Step]:  # fmt: skip
    """Delta debugging (ddmin): drop ever smaller chunks of steps while the case still fails.
    Replayed without kills; when that does not fail, the case stays as drawn."""
    if not fails(steps):
        return steps
    chunks = 2
    while len(steps) >= 2 and time.monotonic() < deadline:
        size = max(1, len(steps) // chunks)
        reduced = False
        for start in range(0, len(steps), size):
            candidate = steps[:start] + steps[start + size :]
            if candidate and time.monotonic() < deadline and fails(candidate):
                steps, chunks, reduced = candidate, max(chunks - 1, 2), True
                break
        if not reduced:
            if size == 1:
                break
            chunks = min(len(steps), chunks * 2)
    return steps
