"""The `lakeshop` command line as a user meets it: help, services, seed, API, progress."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from ingestion.progress import Progress, summary
from lakeshop.cli import build_parser, parse_duration
from pytests.conftest import make_home
from sandbox.services import MariaDB, free_port

LAKESHOP = str(Path(sys.executable).parent / "lakeshop")

COMMANDS = [
    [], ["services"], ["shop"], ["shop", "seed"], ["shop", "simulate"], ["api"],
    ["api", "serve"], ["api", "stop"], ["api", "status"], ["demo"], ["dbt"],
    ["ingest"], ["ingest", "mysql"], ["ingest", "api"],
]  # fmt: skip


def run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LAKESHOP, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, check=False)  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "lakeshop")
def test_every_command_explains_itself(command: list[str]) -> None:
    done = run(*command, "--help")
    assert done.returncode == 0, done.stderr
    assert "usage: lakeshop" in done.stdout
    assert len(done.stdout.split()) > 25  # plain words, not just a usage line


def test_parser_knows_every_command() -> None:
    parser = build_parser()
    args = parser.parse_args(["shop", "simulate", "--rate", "3", "--duration", "2m"])
    assert args.rate == 3 and args.duration == 120


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("90s", 90), ("5m", 300), ("1h30m", 5400)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_bad_duration_is_explained() -> None:
    done = run("shop", "simulate", "--duration", "soon")
    assert done.returncode == 2 and "use e.g. 90s, 5m or 1h30m" in done.stderr


def test_services_status_start_stop_via_cli() -> None:
    home = make_home("lakeshop-cli-")
    env = {"LAKESHOP_HOME": str(home), "LAKESHOP_S3_PORT": str(free_port())}
    assert "stopped" in run("services", "status", env=env).stdout
    started = run("services", "start", "--only", "s3", env=env)
    assert started.returncode == 0, started.stderr
    assert "running" in started.stdout
    stopped = run("services", "stop", "--only", "s3", env=env)
    assert "s3: stopped" in stopped.stdout
    assert "s3: was not running" in run("services", "stop", "--only", "s3", env=env).stdout


def test_seed_and_simulate_print_summaries(mariadb: MariaDB) -> None:
    seeded = run(
        "shop", "seed", "--orders", "800", "--seed", "5", "--end-date", "2026-10-31", "--reset"
    )
    assert seeded.returncode == 0, seeded.stderr
    assert (
        "shop seeded" in seeded.stdout and "orders" in seeded.stdout and "rows/s" in seeded.stdout
    )
    assert "seed:" in seeded.stderr  # the live progress line
    again = run("shop", "seed", "--orders", "800")
    assert again.returncode == 1 and "--reset" in again.stderr
    simulated = run(
        "shop", "simulate", "--rate", "200", "--duration", "30s", "--transactions", "40"
    )
    assert simulated.returncode == 0, simulated.stderr
    assert "transactions" in simulated.stdout and "40 in" in simulated.stdout


def test_api_serve_in_background_and_stop(mariadb: MariaDB) -> None:
    port = free_port()
    run("shop", "seed", "--orders", "500", "--seed", "2", "--reset")
    started = run("api", "serve", "--background", "--port", str(port), "--rate-limit", "50")
    try:
        assert started.returncode == 0, started.stderr
        body = requests.get(f"http://127.0.0.1:{port}/products?limit=2", timeout=10).json()
        assert body["limit"] == 2 and body["total"] >= 150
        assert "api: running" in run("api", "status").stdout
    finally:
        stopped = run("api", "stop")
    assert "api: stopped" in stopped.stdout
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/health", timeout=1)
        except requests.ConnectionError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the API still answers after `lakeshop api stop`")


def test_progress_line_shows_rate_and_eta() -> None:
    out = io.StringIO()
    bar = Progress("load", total=1000, stream=out)
    bar.started -= 2.0  # pretend two seconds passed
    bar.advance(500)
    line = bar.line()
    assert "500/1.0k rows (50%)" in line and "rows/s" in line and "ETA" in line
    bar.close()
    assert out.getvalue().count("load: 500/1.0k rows") >= 1


def test_summary_is_aligned() -> None:
    out = io.StringIO()
    text = summary("done", [("a", 1), ("longer", 2)], stream=out)
    assert text.splitlines()[2] == "a       1" and text.splitlines()[3] == "longer  2"


def _gold_with_history(path: Path, days: list[str]) -> None:
    """A warehouse whose gold marts hold one sale of one product on each of ``days``."""
    import duckdb

    with duckdb.connect(str(path)) as duck:
        duck.execute("create schema gold")
        duck.execute(
            "create table gold.dim_products (product_id int, product_title varchar, "
            "category_slug varchar, stock_quantity int, is_active boolean)"
        )
        duck.execute("insert into gold.dim_products values (1, 'Mascara', 'beauty', 99, true)")
        duck.execute(
            "create table gold.agg_daily_product_sales "
            "(order_date date, product_id int, net_amount decimal(18, 2), unit_count int)"
        )
        duck.executemany(
            "insert into gold.agg_daily_product_sales values (?, 1, 10 * ?, ?)",
            [(d, 1 + i % 7, 1 + i % 7) for i, d in enumerate(days)],
        )


def test_forecast_refuses_a_history_with_a_month_missing() -> None:
    """A shop whose load left out a month (the 1M bench shop: history to 31 October, then
    only today's traffic) is not forecast across the gap: a model fitted on a month of zeros
    forecasts zeros and loses to the baseline (sMAPE 198.6 vs 96.1 there). One line names
    the fix; --history-from trains on the days after a gap the shop really had."""
    import datetime as dt

    home = make_home("lakeshop-forecast-gap-")
    first = dt.date(2026, 6, 1)
    days = [first + dt.timedelta(days=i) for i in range(200)]
    gap = (dt.date(2026, 9, 1), dt.date(2026, 9, 30))
    kept = [d.isoformat() for d in days if not gap[0] <= d <= gap[1]]
    _gold_with_history(home / "warehouse.duckdb", kept)
    done = run("forecast", env={"LAKESHOP_HOME": str(home)})
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "no sale at all from 2026-09-01 to 2026-09-30 (30 days)" in lines[0], lines[0]
    assert "--history-from 2026-10-01" in lines[0], lines[0]
    # after the gap: 77 days with sales, forecast with no gap left in the history
    after = run("forecast", "--history-from", "2026-10-01", env={"LAKESHOP_HOME": str(home)})
    assert after.returncode == 0, after.stdout + after.stderr
    assert re.search(r"trained through +2026-12-16", after.stdout), after.stdout
    # a gap up to the last complete day (history to 31 October, then only today's orders)
    # has no day after it to train on: the line says the history stops, not --history-from
    tail = make_home("lakeshop-forecast-tail-")
    _gold_with_history(
        tail / "warehouse.duckdb", [d.isoformat() for d in days[:153]] + ["2026-12-02"]
    )
    done = run("forecast", env={"LAKESHOP_HOME": str(tail)})
    assert done.returncode == 1, done.stdout + done.stderr
    line = done.stderr.strip()
    assert "\n" not in line and "Traceback" not in line, line
    assert "no sale at all from 2026-11-01 to 2026-12-01 (31 days)" in line, line
    assert "the history stops on 2026-10-31" in line and "--history-from" not in line, line
