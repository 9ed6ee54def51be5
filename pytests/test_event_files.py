"""The event files, against real parts: files written to a local landing folder and to the
SeaweedFS S3 server, taken by the dlt filesystem source in `lakeshop ingest events`
subprocesses killed with SIGKILL at random points, built by dbt on DuckDB, the rejected
records written back to the lake, and the funnel joined to a shop captured from MariaDB's
binary log. Expected counts come from the generator's own account of the dirt it wrote
(sandbox/events/simulate.py), never from the code under test.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ingestion import config
from ingestion.event_files import parse_lines
from lakeshop.dbt_runner import dbt_env, project_dir, venv_executable
from pytests.cdc_support import cdc_url, env, open_packages
from pytests.conftest import END_DATE, make_home
from sandbox.events.simulate import EventsConfig, Truth, orders_from_shop, simulate_events
from sandbox.services import S3, MariaDB
from sandbox.shop.generator import ShopConfig, generate
from sandbox.shop.seed import seed as seed_shop
from sandbox.shop.target import MySQLTarget

START = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)


class Events:
    """One state folder: a landing prefix, a DuckDB warehouse, lakeshop run as a user would."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.landing = home / "lake" / "landing" / "events"
        self.duck = home / "warehouse.duckdb"
        self.env = {
            "LAKESHOP_HOME": str(home),
            "LAKESHOP_DUCKDB_PATH": str(self.duck),
            "LAKESHOP_WAREHOUSE": "duckdb",
            "DBT_TARGET_PATH": str(home / "target"),
        }

    def popen(self, *args: str, log: Any = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [venv_executable("lakeshop"), *args], cwd=project_dir(),
            env={**os.environ, **self.env}, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def lakeshop(self, *args: str, extra: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            [venv_executable("lakeshop"), *args], cwd=project_dir(),
            env=dbt_env({**self.env, **(extra or {})}), capture_output=True, text=True,
            timeout=900, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-3000:]
        return done.stdout

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.duck), read_only=True) as con:
            return con.execute(sql).fetchall()


def _per_file(events: Events, kind: str) -> dict[str, Counter[str]]:
    model = "int_sensor_readings_validated" if kind == "sensors" else "int_website_events_validated"
    found: dict[str, Counter[str]] = {}
    for path, reason, n in events.query(
        f"select file_path, coalesce(quarantine_reason, 'valid'), count(*) from silver.{model}"
        " group by all"
    ):
        found.setdefault(path, Counter())[reason] = n
    return found


def _expected(truth: Truth, kind: str) -> dict[str, Counter[str]]:
    out = {}
    for f in truth.files:
        if f.kind == kind:
            counts = Counter(f.rejected)
            if f.valid:
                counts["valid"] = f.valid
            out[f.path] = counts
    return out


@pytest.fixture(scope="module")
def landed() -> Iterator[tuple[Events, Truth]]:
    """Two batches of files (dirt, files delivered twice, a late file with an old clock), the
    first taken by ingestion runs killed at random points, then built with dbt."""
    events = Events(make_home("lakeshop-events-"))
    truth = simulate_events(
        str(events.landing),
        EventsConfig(seed=5, start=START, hours=30, devices=30, dirt_rate=0.03, late_files=2),
    )
    assert any(f.duplicate_of for f in truth.files), "the seed should deliver a file twice"
    rng = random.Random(11)
    killed_running = 0
    log = (events.home / "ingest.log").open("ab")
    for _ in range(4):
        proc = events.popen("ingest", "events", log=log)
        # a run takes the whole first batch in about a second: wait for its load package to
        # appear, then kill it somewhere in extract, normalize or load
        deadline = time.monotonic() + 60
        while (
            proc.poll() is None
            and not open_packages(events.home, "lakeshop_events_warehouse")
            and time.monotonic() < deadline
        ):
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.5))
        if proc.poll() is None:
            killed_running += 1
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    log.close()
    assert killed_running >= 2, "the ingestion runs finished before they could be killed"
    events.lakeshop("ingest", "events")
    # a second batch: new files, among them again a late one
    second = simulate_events(
        str(events.landing),
        EventsConfig(seed=6, start=START + dt.timedelta(hours=30), hours=4, batch="1",
                     dirt_rate=0.05, late_files=1),
    )  # fmt: skip
    truth.files += second.files
    events.lakeshop("ingest", "events")
    events.lakeshop("ingest", "events")  # nothing new: takes nothing
    events.lakeshop("build", "--select", "tag:events", "--alert-on", "never")
    yield events, truth
    shutil.rmtree(events.home, ignore_errors=True)


def test_every_file_is_taken_once_with_exact_counts_after_kills(
    landed: tuple[Events, Truth],
) -> None:
    """After four SIGKILLed runs, files delivered twice and late files with an old
    modification time: every file is in raw_events.files exactly once, every line landed once
    with its file and line number, and per file the valid and rejected lines, per reason,
    are exactly what the generator wrote."""
    events, truth = landed
    files = events.query("select file_path, count(*) from raw_events.files group by 1")
    assert sorted(p for p, _ in files) == sorted(f.path for f in truth.files)
    assert all(n == 1 for _, n in files)
    for table, kind in (("sensor_readings", "sensors"), ("website_events", "web")):
        lines = sum(f.lines for f in truth.files if f.kind == kind)
        (landed_rows, distinct) = events.query(
            f"select count(*), count(distinct (_file, _line)) from raw_events.{table}"
        )[0]
        assert landed_rows == distinct == lines, (table, landed_rows, distinct, lines)
        assert _per_file(events, kind) == _expected(truth, kind)
    duplicates = dict(
        events.query("select file_path, duplicate_of from raw_events.files where duplicate_of is not null")
    )  # fmt: skip
    assert duplicates == {f.path: f.duplicate_of for f in truth.files if f.duplicate_of}
    # the late files carry their hour's end as modification time, older than files taken
    # before them: a modification-time cursor would have skipped them
    late = [f for f in truth.files if f.late]
    assert len(late) == 6  # two late hours in the first batch, one in the second; both kinds
    oldest_other = min((events.landing / f.path).stat().st_mtime for f in truth.files if not f.late)
    assert all((events.landing / f.path).stat().st_mtime < oldest_other for f in late)


def test_the_discard_prefix_holds_exactly_the_rejected_records(
    landed: tuple[Events, Truth],
) -> None:
    """`lakeshop events discard` writes each file's rejected records beside its path under
    quarantine/events, with the reason and the line as written; a stale file is removed;
    a second run changes nothing."""
    events, truth = landed
    discard = events.home / "lake" / "quarantine" / "events"
    stale = discard / "sensors" / "dt=2020-01-01" / "gone.jsonl.rejected.jsonl"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_text('{"line_number": 1}\n')
    out = events.lakeshop("events", "discard")
    assert "stale files removed" in out and not stale.exists()

    def read() -> tuple[dict[str, bytes], Counter[str], set[tuple[str, int, str]]]:
        blobs, reasons, keys = {}, Counter(), set()
        for path in sorted(discard.rglob("*.rejected.jsonl")):
            blobs[str(path)] = path.read_bytes()
            for line in path.read_text().splitlines():
                record = json.loads(line)
                reasons[record["quarantine_reason"]] += 1
                keys.add((record["file_path"], record["line_number"], record["quarantine_reason"]))
                source = str(path.relative_to(discard)).removesuffix(".rejected.jsonl")
                assert record["file_path"] == source
                if record["quarantine_reason"] == "malformed_line":
                    assert record["raw_line"] and record["parse_error"]
        return blobs, reasons, keys

    blobs, reasons, keys = read()
    assert reasons == truth.reasons("sensors") + truth.reasons("web")
    in_silver = {
        (p, int(n), r)
        for view in ("sensor_readings_quarantine", "website_events_quarantine")
        for p, n, r in events.query(f"select file_path, line_number, quarantine_reason from silver.{view}")
    }  # fmt: skip
    assert keys == in_silver
    assert {Path(p).name.removesuffix(".rejected.jsonl") for p in blobs} == {
        Path(f.path).name for f in truth.files if f.rejected
    }
    events.lakeshop("events", "discard")
    assert read()[0] == blobs


def test_the_hourly_sensor_summary_matches_the_valid_readings(
    landed: tuple[Events, Truth],
) -> None:
    """Gold's per device and hour figures recomputed from the raw lines in Python."""
    events, truth = landed
    valid = sum(f.valid for f in truth.files if f.kind == "sensors")
    (count, out_of_range) = events.query(
        "select sum(reading_count), sum(out_of_range_count) from gold.agg_sensor_readings_hourly"
    )[0]
    assert count == valid
    assert out_of_range == truth.reasons("sensors")["value_out_of_range"]
    device, kind, hour, n, low, high, mean = events.query(
        "select device_id, reading_type, recorded_hour, reading_count, min_value, max_value,"
        " mean_value from gold.agg_sensor_readings_hourly where reading_count > 0"
        " order by device_id, reading_type, recorded_hour limit 1"
    )[0]
    values = [
        float(v)
        for (v,) in events.query(
            "select value from raw_events.sensor_readings r join silver.sensor_readings s"
            " on r._file = s.file_path and r._line = s.line_number"
            f" where s.device_id = '{device}' and s.reading_type = '{kind}'"
            f" and s.recorded_hour = '{hour}'"
        )
    ]
    assert (n, low, high) == (len(values), min(values), max(values))
    assert mean == pytest.approx(sum(values) / len(values))


def test_lines_that_do_not_parse_are_kept_with_their_reason() -> None:
    columns = ["device_id", "value"]
    rows = list(
        parse_lines(
            b'{"device_id": "d1", "value": 2, "battery": 90}\n{"device_id": \n[1]\n\n',
            "jsonl",
            columns,
        )
    )
    assert rows[0] == {"_line": 1, "device_id": "d1", "value": "2", "_extra": '{"battery":90}'}
    assert (
        rows[1]["_line"] == 2
        and rows[1]["_raw_line"] == '{"device_id": '
        and "invalid JSON" in rows[1]["_parse_error"]
    )
    assert rows[2]["_parse_error"] == "not a JSON object" and len(rows) == 3
    rows = list(parse_lines(b"device_id,value\nd1,3\nd2\n", "csv", columns))
    assert rows[0] == {"_line": 2, "device_id": "d1", "value": "3"}
    assert rows[1] == {"_line": 3, "_raw_line": "d2", "_parse_error": "1 fields, the header has 2"}
    rows = list(parse_lines(b"device_id\nd1\n", "csv", columns))
    assert rows[0]["_parse_error"] == "csv header lacks value"


def test_event_files_on_s3_land_like_local_ones(s3: S3) -> None:
    """The same source and discard step on the SeaweedFS S3 server: gzipped files written
    with PUTs, taken from s3://, the rejected records written back to s3://."""
    events = Events(make_home("lakeshop-events-s3-"))
    lake = f"s3://{config.LAKE_BUCKET}/events-test-{os.getpid()}"
    extra = {"LAKESHOP_LAKE_URL": lake, "LAKESHOP_S3_ENDPOINT": s3.endpoint}
    events.env.update(extra)
    try:
        from ingestion.destinations import lake_filesystem

        with env(**extra):
            fs, _ = lake_filesystem(lake)
        truth = simulate_events(
            f"{lake}/landing/events",
            EventsConfig(seed=8, start=START, hours=3, gzip=True, dirt_rate=0.05),
            storage_options=fs.storage_options,
        )
        events.lakeshop("ingest", "events")
        events.lakeshop("build", "--select", "tag:events", "--alert-on", "never")
        assert _per_file(events, "sensors") == _expected(truth, "sensors")
        assert _per_file(events, "web") == _expected(truth, "web")
        events.lakeshop("events", "discard")
        rejected = [k for k in fs.find(f"{lake.removeprefix('s3://')}/quarantine/events")]
        assert len(rejected) == sum(1 for f in truth.files if f.rejected)
    finally:
        shutil.rmtree(events.home, ignore_errors=True)


def test_the_funnel_reconciles_with_the_shops_orders(mariadb: MariaDB) -> None:
    """A shop captured from the binlog and a day of website sessions, among them one ending
    in each order the shop took that day: every such order, and no other, is a converted
    session in gold, and each funnel step holds no more sessions than the one before."""
    events = Events(make_home("lakeshop-funnel-"))
    target = MySQLTarget(
        "127.0.0.1", mariadb.port, "root", "", config.SHOP_DATABASE, str(mariadb.socket)
    )
    try:
        seed_shop(
            target, generate(ShopConfig(orders=800, seed=9, end_date=END_DATE, days=30)), reset=True
        )
        with mariadb.connect(config.SHOP_DATABASE) as conn:
            start = dt.datetime.combine(END_DATE - dt.timedelta(days=3), dt.time(), dt.UTC)
            orders = orders_from_shop(conn, start, 24)
        assert orders, "the seeded shop should have orders on that day"
        truth = simulate_events(
            str(events.landing), EventsConfig(seed=9, start=start, hours=24), orders
        )
        from ingestion.mysql_cdc.runner import sync

        with env(**events.env):
            sync(cdc_url(mariadb, config.SHOP_DATABASE), "warehouse", quiet=True)
        events.lakeshop("ingest", "events")
        events.lakeshop(
            "build", "--select", "tag:events", "tag:mysql", "fct_web_sessions+",
            "--alert-on", "never", extra={"DBT_INDIRECT_SELECTION": "cautious"},
        )  # fmt: skip
        in_silver = {int(o) for (o,) in events.query("select order_id from silver.orders")}
        expected = truth.ordered_sessions() & in_silver
        assert len(expected) > 5
        converted = {int(o) for (o,) in events.query(
            "select order_id from gold.fct_web_sessions where has_order")}  # fmt: skip
        assert converted == expected
        steps = events.query(
            "select sum(sessions), sum(product_view_sessions), sum(cart_sessions),"
            " sum(checkout_sessions), sum(order_sessions) from gold.agg_web_funnel_daily"
        )[0]
        assert list(steps) == sorted(steps, reverse=True) and steps[-1] == len(expected)
    finally:
        shutil.rmtree(events.home, ignore_errors=True)


def test_a_file_rewritten_under_its_name_is_named_not_taken_again(tmp_path: Path) -> None:
    """A file rewritten after it was taken (more lines appended, or replaced) used to start a
    run that landed none of its new lines and said nothing (issue 30). It is not taken again
    (its first lines would land twice), and every run names it with what to do."""
    from ingestion.event_files.runner import sync_events

    landing = tmp_path / "landing"
    (landing / "sensors").mkdir(parents=True)
    first = landing / "sensors" / "a.jsonl"
    line = '{"device_id": "d1", "reading_type": "temperature", "value": 20.5, "unit": "C", "recorded_at": "2026-12-01T10:00:00Z"}\n'  # fmt: skip
    first.write_text(line * 3)
    with env(LAKESHOP_HOME=str(tmp_path), LAKESHOP_DUCKDB_PATH=str(tmp_path / "w.duckdb"),
             LAKESHOP_WAREHOUSE="duckdb"):  # fmt: skip
        taken = sync_events(str(landing))
        assert taken.files == 1 and taken.rows["sensor_readings"] == 3 and not taken.messages
        quiet = sync_events(str(landing))
        assert quiet.files == 0 and not quiet.messages, quiet.messages
        first.write_text(line * 5)  # two lines appended: a new size and time
        os.utime(first, (time.time() + 5, time.time() + 5))
        (landing / "sensors" / "b.jsonl").write_text(line)
        again = sync_events(str(landing))
        still = sync_events(str(landing))
    assert again.files == 1 and again.rows["sensor_readings"] == 1  # b.jsonl only
    assert len(again.messages) == 1, again.messages
    message = again.messages[0]
    assert message.startswith("sensors/a.jsonl was rewritten under the same name") and "\n" not in message  # fmt: skip
    assert "write new lines to a new file" in message
    assert still.messages == again.messages  # every run, until the file is moved away
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        per_file = dict(con.execute(
            "select _file, count(*) from raw_events.sensor_readings group by 1").fetchall())  # fmt: skip
    assert per_file == {"sensors/a.jsonl": 3, "sensors/b.jsonl": 1}
