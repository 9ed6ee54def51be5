"""The landing order the dbt models mark what they read by (ingestion.destinations.
stamp_landing_order): real dlt loads into DuckDB, no server.

A row is numbered once its load has committed, never before, and every number handed out
after a build is above every number that build could see; a warehouse numbered by an older
lakeshop (a column default taking the number at insert) loses the default; the file opens
again after the numbering was interrupted by a kill.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest

from ingestion import destinations
from ingestion.destinations import LANDED_COLUMN


def _pipeline(tmp_path: Path) -> dlt.Pipeline:
    return dlt.pipeline(
        pipeline_name="landing_order",
        pipelines_dir=str(tmp_path / "pipelines"),
        destination=dlt.destinations.duckdb(str(tmp_path / "w.duckdb")),
        dataset_name="raw_mysql",
    )


def _changes(table: str, first: int, n: int) -> Any:
    @dlt.resource(name=table, write_disposition="append")
    def rows() -> Any:
        yield [
            {"id": i, "_cdc_seq": f"{i:020d}", "_cdc_op": "insert"} for i in range(first, first + n)
        ]

    return rows


def _numbers(path: Path, table: str) -> list[Any]:
    with duckdb.connect(str(path), read_only=True) as con:
        return [r[0] for r in con.execute(
            f"select {LANDED_COLUMN} from raw_mysql.{table} order by id").fetchall()]  # fmt: skip


def test_rows_are_numbered_after_their_load_in_landing_order(tmp_path: Path) -> None:
    pipe = _pipeline(tmp_path)
    pipe.run([_changes("orders", 0, 3), _changes("order_items", 0, 2)])
    destinations.stamp_landing_order(pipe)
    first = _numbers(tmp_path / "w.duckdb", "orders") + _numbers(
        tmp_path / "w.duckdb", "order_items"
    )
    assert sorted(first) == list(range(1, 6)), first

    # a later load: its rows land unnumbered (bronze leaves them out) until numbered, then
    # every one is above every number handed out before
    pipe.run([_changes("orders", 10, 2), _changes("order_items", 10, 1)])
    assert _numbers(tmp_path / "w.duckdb", "orders")[3:] == [None, None]
    destinations.stamp_landing_order(pipe)
    later = (
        _numbers(tmp_path / "w.duckdb", "orders")[3:]
        + _numbers(tmp_path / "w.duckdb", "order_items")[2:]
    )
    assert sorted(later) == [6, 7, 8], later
    # numbering again changes nothing
    destinations.stamp_landing_order(pipe)
    assert (
        _numbers(tmp_path / "w.duckdb", "orders")[3:]
        + _numbers(tmp_path / "w.duckdb", "order_items")[2:]
        == later
    )


def test_a_column_default_from_an_older_lakeshop_is_dropped(tmp_path: Path) -> None:
    """The default took the number at insert, before the load committed: a number could then
    become visible after a higher one (PostgreSQL), and DuckDB could not replay its ALTER
    from the WAL after a kill (soak 7)."""
    pipe = _pipeline(tmp_path)
    pipe.run(_changes("orders", 0, 2))
    with pipe.sql_client() as client:
        client.execute_sql("create sequence raw_mysql._lakeshop_landed")
        client.execute_sql(
            "alter table raw_mysql.orders add column _lakeshop_landed bigint "
            "default nextval('raw_mysql._lakeshop_landed')"
        )
    destinations.stamp_landing_order(pipe)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        (default,) = con.execute(
            "select column_default from information_schema.columns "
            f"where table_name = 'orders' and column_name = '{LANDED_COLUMN}'"
        ).fetchone()
    assert default is None
    assert _numbers(tmp_path / "w.duckdb", "orders") == [1, 2]


_KILLED_MID_NUMBERING = """
import os, signal, sys
import dlt
from ingestion import destinations
sys.path.insert(0, {here!r})
from test_landing_order import _changes, _pipeline
from pathlib import Path
pipe = _pipeline(Path({tmp!r}))
pipe.run([_changes("t%d" % i, 0, 50) for i in range(8)])
real = destinations.number_landed_sql
calls = []
def numbered_then_killed(table, sequence):
    calls.append(table)
    if len(calls) == {after}:
        os.kill(os.getpid(), signal.SIGKILL)
    return real(table, sequence)
destinations.number_landed_sql = numbered_then_killed
destinations.stamp_landing_order(pipe)
"""


@pytest.mark.parametrize("after", [1, 4])
def test_a_kill_while_numbering_leaves_a_warehouse_that_opens_and_numbers_on(
    tmp_path: Path, after: int
) -> None:
    """SIGKILL inside the numbering transaction (first table added and numbered, or four):
    the file opens, nothing is half numbered, the next numbering numbers every row once."""
    script = _KILLED_MID_NUMBERING.format(
        here=str(Path(__file__).parent), tmp=str(tmp_path), after=after
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})  # fmt: skip
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:  # opens: the WAL replays
        numbered = con.execute(
            "select count(*) from information_schema.columns "
            f"where table_schema = 'raw_mysql' and column_name = '{LANDED_COLUMN}'"
        ).fetchone()[0]
    assert numbered == 0, "a transaction killed before commit left part of its work"
    destinations.stamp_landing_order(_pipeline(tmp_path))
    got = sorted(n for i in range(8) for n in _numbers(tmp_path / "w.duckdb", f"t{i}"))
    assert got == list(range(1, 401))
