"""The pipeline on Dagster, against the real servers: a shop seeded into MariaDB and captured
from its binary log, its API served over HTTP, DuckDB, the dbt project.

- `lakeshop orchestrate` serves the UI and the daemon: a schedule tick starts a run of the
  whole graph, raw to gold, that succeeds with dbt's tests as asset checks; headless
  Chromium finds the asset graph (raw, bronze, silver, gold) and the run; `stop` ends both
  processes by PID;
- an error-severity test that fails stops the assets downstream of it, is not retried, and
  sends an alert to a local webhook receiver.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ingestion import config
from lakeshop.dbt_runner import project_dir, venv_executable
from pytests.cdc_support import cdc_url, env, land_by_name
from pytests.conftest import LIVE_END_DATE, WebhookReceiver, make_home
from sandbox.events.simulate import EventsConfig, simulate_events
from sandbox.services import S3, MariaDB, free_port
from sandbox.shop.generator import ShopConfig, generate
from sandbox.shop.seed import seed as seed_shop
from sandbox.shop.target import MySQLTarget
from sandbox.shop_api.server import RunningApi, ShopApi
from sandbox.shop_api.world import ApiWorld

ORDERS = 1_200
SEED = 23
CHROMIUM = os.environ.get("LAKESHOP_CHROMIUM") or shutil.which("chromium")
ARTIFACTS = Path(os.environ.get("LAKESHOP_ARTIFACTS", project_dir() / "artifacts"))
RUNNING_API: dict[str, RunningApi] = {}


@pytest.fixture(scope="module")
def pipeline(mariadb: MariaDB, s3: S3) -> Iterator[dict[str, str]]:
    """A seeded shop, its API served, the lake on the S3 server, and the environment the
    Dagster definitions read."""
    home = make_home("lakeshop-dagster-")
    target = MySQLTarget(
        "127.0.0.1", mariadb.port, "root", "", config.SHOP_DATABASE, str(mariadb.socket)
    )
    seed_shop(
        target, generate(ShopConfig(orders=ORDERS, seed=SEED, end_date=LIVE_END_DATE)), reset=True
    )
    with RunningApi(ShopApi(ApiWorld.from_mysql(target, seed=SEED))) as api:
        RUNNING_API["api"] = api
        values = {
            "LAKESHOP_HOME": str(home),
            "LAKESHOP_DUCKDB_PATH": str(home / "warehouse.duckdb"),
            "LAKESHOP_WAREHOUSE": "duckdb",
            "LAKESHOP_CDC_URL": cdc_url(mariadb, config.SHOP_DATABASE),
            "LAKESHOP_API_URL": api.url,
            "LAKESHOP_ORCHESTRATE_RETRY_DELAY": "1",
            "LAKESHOP_LAKE_URL": f"s3://{config.LAKE_BUCKET}/dagster-{os.getpid()}",
            "LAKESHOP_S3_ENDPOINT": s3.endpoint,
            "LAKESHOP_LAKE_SENSOR_SECONDS": "5",
        }
        with env(**values):
            yield values
    shutil.rmtree(home, ignore_errors=True)


def _definitions() -> Any:
    from lakeshop.orchestration import definitions

    return definitions.defs


def _keys(events: list[Any]) -> set[str]:
    return {e.asset_key.to_user_string() for e in events}


def _lakeshop(*args: str, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [venv_executable("lakeshop"), *args], cwd=project_dir(),
        env={**os.environ, **(extra or {})}, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip


def test_a_schedule_tick_runs_the_pipeline_raw_to_gold_and_the_ui_shows_it(
    pipeline: dict[str, str],
) -> None:
    """`lakeshop orchestrate` starts the UI and the daemon; the daily schedule, set to tick
    a minute from now, starts a run of the whole graph that succeeds with every dbt test as an
    asset check; headless Chromium finds the asset graph and the run; `stop` ends both."""
    import dagster as dg
    from playwright.sync_api import sync_playwright

    defs = _definitions()
    graph = defs.resolve_asset_graph()
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert {"raw", "bronze", "silver", "gold", "seeds"} <= groups
    # the raw assets carry the keys of dbt's sources: one graph from the binlog to gold
    upstream = {
        k.to_user_string()
        for k in graph.get_ancestor_asset_keys(dg.AssetKey(["gold", "fct_orders"]))
    }
    assert {"raw_mysql/orders", "raw_mysql/order_items", "bronze/stg_mysql__orders"} <= upstream

    port = free_port()
    # the daily schedule set to tick once, at a whole minute 40 to 100 s from now
    tick = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=100)).replace(second=0)
    extra = {
        "LAKESHOP_DAGSTER_PORT": str(port),
        "LAKESHOP_DAILY_CRON": f"{tick.minute} {tick.hour} * * *",
        "LAKESHOP_HOURLY_CRON": "0 0 1 1 *",
    }
    started = _lakeshop("orchestrate", "start", extra=extra)
    assert started.returncode == 0, started.stdout + started.stderr
    dagster_home = Path(pipeline["LAKESHOP_HOME"]) / "dagster"
    try:
        instance = dg.DagsterInstance.from_config(str(dagster_home))
        deadline = time.monotonic() + 420
        runs: list[Any] = []
        while time.monotonic() < deadline:
            runs = instance.get_runs(filters=dg.RunsFilter(job_name="daily_pipeline"))
            if any(r.status == dg.DagsterRunStatus.SUCCESS for r in runs):
                break
            if any(r.status == dg.DagsterRunStatus.FAILURE for r in runs):
                break
            time.sleep(3)
        statuses = [r.status for r in runs]
        assert dg.DagsterRunStatus.SUCCESS in statuses, (
            statuses, (dagster_home / "dagster-daemon.log").read_text()[-3000:]
        )  # fmt: skip
        success = next(r for r in runs if r.status == dg.DagsterRunStatus.SUCCESS)
        assert success.tags.get("dagster/schedule_name") == "daily_pipeline_schedule"
        events = [e.dagster_event for e in instance.all_logs(success.run_id) if e.dagster_event]
        materialized = {
            e.asset_key.to_user_string()
            for e in events
            if e.event_type_value == "ASSET_MATERIALIZATION" and e.asset_key
        }
        assert {
            "raw_mysql/orders", "raw_ecommerce_api/products", "raw_ecommerce_api/products__reviews",
            "bronze/stg_mysql__orders", "silver/orders", "gold/fct_orders", "gold/dim_customers",
            "gold/fct_abandoned_carts", "seeds/order_statuses", "forecast/demand_forecast",
        } <= materialized  # fmt: skip
        checks = [
            e.event_specific_data for e in events if e.event_type_value == "ASSET_CHECK_EVALUATION"
        ]
        assert len(checks) > 250
        assert not [c for c in checks if not c.passed and c.severity == dg.AssetCheckSeverity.ERROR]
        with duckdb.connect(pipeline["LAKESHOP_DUCKDB_PATH"], read_only=True) as con:
            assert con.execute("select count(*) from gold.fct_orders").fetchone()[0] > ORDERS // 2

        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        url = f"http://127.0.0.1:{port}"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                      "--disable-component-update", "--no-first-run"],
            )  # fmt: skip
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(f"{url}/asset-groups", wait_until="domcontentloaded")
            page.wait_for_selector("text=gold", timeout=60_000)
            skip = page.locator("button:has-text('Skip')")  # Dagster's newsletter prompt
            if skip.count():
                skip.first.click()
            body = page.inner_text("body")
            for group in ("raw", "bronze", "silver", "gold"):
                assert group in body, body[:2000]
            page.wait_for_timeout(1500)
            page.screenshot(path=str(ARTIFACTS / "dagster_asset_graph.png"))
            page.goto(f"{url}/assets/gold/fct_orders", wait_until="domcontentloaded")
            page.wait_for_selector("text=fct_orders", timeout=60_000)
            page.wait_for_timeout(1500)
            page.screenshot(path=str(ARTIFACTS / "dagster_fct_orders.png"))
            page.goto(f"{url}/runs/{success.run_id}", wait_until="domcontentloaded")
            page.wait_for_selector("text=Success", timeout=60_000)
            page.screenshot(path=str(ARTIFACTS / "dagster_run.png"))
            browser.close()

    finally:
        stopped = _lakeshop("orchestrate", "stop", extra=extra)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert "dagster-webserver: stopped" in stopped.stdout
    assert "dagster-daemon: stopped" in stopped.stdout
    status = _lakeshop("orchestrate", "status", extra=extra)
    assert "running" not in status.stdout.replace("state", "")


def test_new_objects_under_the_landing_prefix_start_one_run_each_also_across_a_restart(
    pipeline: dict[str, str],
) -> None:
    """An hour of event files PUT under the lake's landing prefix (the S3 server) starts
    exactly one run of the event-file pipeline, which lands them and builds them to gold; a
    second hour exactly one more; after a restart of Dagster the sensor ticks again and
    starts none for the objects it has seen."""
    import dagster as dg

    duck = pipeline["LAKESHOP_DUCKDB_PATH"]
    with duckdb.connect(duck, read_only=True) as con:
        built = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'silver'"
            " and table_name = 'orders'"
        ).fetchone()[0]
    if not built:  # the funnel joins the shop's orders: build them when no test did yet
        done = _lakeshop("build", "--alert-on", "never")
        assert done.returncode == 0, done.stdout[-3000:]
    port = free_port()
    extra = {"LAKESHOP_DAGSTER_PORT": str(port), "LAKESHOP_DAILY_CRON": "0 0 1 1 *",
             "LAKESHOP_HOURLY_CRON": "0 0 1 1 *"}  # fmt: skip
    dagster_home = Path(pipeline["LAKESHOP_HOME"]) / "dagster"
    started = _lakeshop("orchestrate", "start", extra=extra)
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        instance = dg.DagsterInstance.from_config(str(dagster_home))
        before = len(_event_runs(instance))

        # the lake sensor: one new object, one run; a second object, one more
        _drop_event_file(pipeline, hour=0)
        first = _wait_for_event_runs(instance, before + 1, dagster_home)
        _drop_event_file(pipeline, hour=1)
        second = _wait_for_event_runs(instance, before + 2, dagster_home)
        assert {r.run_id for r in first} < {r.run_id for r in second}
        with duckdb.connect(pipeline["LAKESHOP_DUCKDB_PATH"], read_only=True) as con:
            taken = con.execute("select count(*) from raw_events.files").fetchone()[0]
            sql = "select count(*) from gold.agg_sensor_readings_hourly"
            hours = con.execute(sql).fetchone()[0]
        assert taken == 4 and hours > 0  # two sensor and two web files, built to gold
        success = next(r for r in second if r.run_id not in {f.run_id for f in first})
        events = [e.dagster_event for e in instance.all_logs(success.run_id) if e.dagster_event]
        assert {"raw_events/files", "gold/agg_sensor_readings_hourly", "lake/quarantine_events"} <= {
            e.asset_key.to_user_string() for e in events
            if e.event_type_value == "ASSET_MATERIALIZATION" and e.asset_key
        }  # fmt: skip
    finally:
        _lakeshop("orchestrate", "stop", extra=extra)

    # across a restart the sensor's cursor (in Dagster's storage) starts no run for old objects
    log = dagster_home / "dagster-daemon.log"
    offset = log.stat().st_size if log.exists() else 0
    restarted = _lakeshop("orchestrate", "start", extra=extra)
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    try:
        deadline = time.monotonic() + 90
        ticks = 0
        while time.monotonic() < deadline and ticks < 3:
            text = log.read_bytes()[offset:].decode(errors="replace") if log.exists() else ""
            ticks = text.count("Checking for new runs for sensor: lake_landing_sensor")
            time.sleep(2)
        assert ticks >= 3, f"the sensor did not tick after the restart: {text[-2000:]}"
        assert len(_event_runs(dg.DagsterInstance.from_config(str(dagster_home)))) == before + 2
    finally:
        _lakeshop("orchestrate", "stop", extra=extra)


def _event_runs(instance: Any) -> list[Any]:
    import dagster as dg

    return list(instance.get_runs(filters=dg.RunsFilter(job_name="event_files_pipeline")))


def _drop_event_file(pipeline: dict[str, str], hour: int) -> None:
    """One hour of sensor and website files, written to the landing prefix with PUTs."""
    from ingestion.destinations import lake_filesystem

    lake = pipeline["LAKESHOP_LAKE_URL"]
    fs, _ = lake_filesystem(lake)
    start = dt.datetime(2026, 10, 30, hour, tzinfo=dt.UTC)
    simulate_events(
        f"{lake}/landing/events", EventsConfig(seed=hour, start=start, hours=1, late_files=0,
                                               dirt_rate=0.0, batch=f"b{hour}"),
        storage_options=fs.storage_options,
    )  # fmt: skip


def _wait_for_event_runs(instance: Any, count: int, dagster_home: Path) -> list[Any]:
    """Wait until `count` event-file runs have finished; all must have succeeded."""
    import dagster as dg

    deadline = time.monotonic() + 240
    runs: list[Any] = []
    while time.monotonic() < deadline:
        runs = _event_runs(instance)
        if len(runs) >= count and all(r.is_finished for r in runs):
            break
        time.sleep(2)
    time.sleep(8)  # one more tick or two: no further run may start for the same objects
    runs = _event_runs(instance)
    assert len(runs) == count, ([r.status for r in runs],
                                (dagster_home / "dagster-daemon.log").read_text()[-3000:])  # fmt: skip
    assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs), [r.status for r in runs]
    assert all(r.tags.get("dagster/sensor_name") == "lake_landing_sensor" for r in runs)
    return runs


def test_a_failing_error_test_stops_downstream_is_not_retried_and_alerts(
    pipeline: dict[str, str], webhook: str
) -> None:
    """A payment change log row without its key (a broken load) fails the error-severity
    not_null test of stg_mysql__payments: silver and gold payments are not built, the run
    fails after one attempt, the webhook gets the run report."""
    import dagster as dg

    defs = _definitions()
    duck = pipeline["LAKESHOP_DUCKDB_PATH"]
    # landed as a load lands it: under a load id of its own (a test reads the rows loaded
    # since it last passed, macros/changed_rows_filter.sql)
    with duckdb.connect(duck) as con:
        land_by_name(con, "payments", "select * replace (null as payment_id,"
                     " cast('9999999999999999999' as varchar) as _cdc_seq,"
                     f" '{time.time():.7f}' as _dlt_load_id) from raw_mysql.payments limit 1")  # fmt: skip
    try:
        with env(LAKESHOP_ALERT_WEBHOOK_URL=webhook):
            result = defs.resolve_job_def("hourly_incremental").execute_in_process(
                instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
            )
    finally:
        with duckdb.connect(duck) as con:
            con.execute("delete from raw_mysql.payments where payment_id is null")
    assert not result.success
    failed = [
        c for c in result.get_asset_check_evaluations()
        if not c.passed and c.severity == dg.AssetCheckSeverity.ERROR
    ]  # fmt: skip
    assert [c.asset_key.to_user_string() for c in failed] == ["bronze/stg_mysql__payments"]
    assert "not_null" in failed[0].check_name
    materialized = _keys(result.get_asset_materialization_events())
    assert "raw_mysql/payments" in materialized and "bronze/stg_mysql__payments" in materialized
    assert not {"silver/payments", "gold/fct_orders"} & materialized
    # deterministic: one attempt, no retry
    restarts = [e for e in result.all_events if e.event_type_value == "STEP_RESTARTED"]
    assert not restarts
    assert WebhookReceiver.received, "no alert reached the webhook"
    text = str(WebhookReceiver.received[-1])
    assert "stg_mysql__payments" in text


def test_a_transient_api_failure_is_retried_and_the_run_succeeds(
    pipeline: dict[str, str],
) -> None:
    """The API's fault switches answer 503 to every attempt at one page, more often than the
    source's own HTTP retries allow: the ingestion step fails as transient, Dagster's retry
    policy runs it again once the burst is over, and the run succeeds."""
    import threading

    import dagster as dg

    from sandbox.shop_api.server import Faults

    api = RUNNING_API["api"].api
    asset = _definitions().resolve_assets_def(dg.AssetKey(["raw_ecommerce_api", "products"]))
    # the first products page good, then 6 times 503 for the next (every attempt the source
    # makes at one page, whichever other requests are in flight meanwhile)
    api.set_faults(Faults(burst_every=1, burst_length=6, only_path="/products"))
    stop = threading.Event()

    def heal() -> None:  # the outage ends once the burst has been served
        while not stop.is_set():
            if api.bursts_answered >= 6:
                api.set_faults(Faults())
                return
            time.sleep(0.02)

    watcher = threading.Thread(target=heal, daemon=True)
    watcher.start()
    try:
        result = dg.materialize([asset], instance=dg.DagsterInstance.ephemeral(),
                                raise_on_error=False)  # fmt: skip
    finally:
        stop.set()
        api.set_faults(Faults())
    events = result.all_events
    failures = [e for e in events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    restarts = [e for e in events if e.event_type_value == "STEP_RESTARTED"]
    assert result.success, [e.message for e in events if e.is_failure]
    assert len(failures) == 1 and len(restarts) == 1, [e.event_type_value for e in events]
    assert "503" in str(failures[0].event_specific_data)
    assert "raw_ecommerce_api/products" in _keys(result.get_asset_materialization_events())


def test_continuous_cdc_and_a_scheduled_build_take_turns_without_lock_errors(
    pipeline: dict[str, str], mariadb: MariaDB
) -> None:
    """`lakeshop follow` lands each commit and builds it into gold while a scheduled
    `lakeshop build` runs beside it and a reader polls gold: every order arrives, no process
    meets DuckDB's file lock, and SIGTERM stops the follower cleanly."""
    import pymysql

    from ingestion.destinations import warehouse_lock

    duck = Path(pipeline["LAKESHOP_DUCKDB_PATH"])
    home = Path(pipeline["LAKESHOP_HOME"])
    log = (home / "follow.log").open("w")
    follower = subprocess.Popen(
        [venv_executable("lakeshop"), "follow", "--idle-seconds", "0.5", "--verbose"],
        cwd=project_dir(), stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ),
    )  # fmt: skip
    conn = pymysql.connect(
        host="127.0.0.1", port=mariadb.port, user="root", password="",
        database=config.SHOP_DATABASE, unix_socket=str(mariadb.socket),
    )  # fmt: skip
    committed: list[int] = []
    scheduled: subprocess.Popen[bytes] | None = None
    scheduled_log = (home / "scheduled_build.log").open("w")
    try:
        with conn.cursor() as cur:
            cur.execute("select customer_id from customers order by customer_id limit 8")
            customers = [r[0] for r in cur.fetchall()]
            cur.execute("select product_id, price from products order by product_id limit 1")
            product_id, price = cur.fetchone()
        for n, customer in enumerate(customers):
            with conn.cursor() as cur:
                cur.execute(
                    "insert into orders (customer_id, status, currency, total_amount, placed_at)"
                    " values (%s, 'pending', 'USD', %s, utc_timestamp(6))",
                    (customer, float(price) * (n + 1)),
                )
                committed.append(int(cur.lastrowid))
                cur.execute(
                    "insert into order_items (order_id, product_id, quantity, unit_price)"
                    " values (%s, %s, %s, %s)",
                    (committed[-1], product_id, n + 1, price),
                )
            conn.commit()
            if n == 2:  # a scheduled build starts while the follower works
                # (its output to a file: a full pipe would stall it while it holds the lock)
                scheduled = subprocess.Popen(
                    [venv_executable("lakeshop"), "build", "--changed-only", "--alert-on", "never"],
                    cwd=project_dir(), stdout=scheduled_log, stderr=subprocess.STDOUT,
                    env=dict(os.environ),
                )  # fmt: skip
            time.sleep(1)
        seen: set[int] = set()
        deadline = time.monotonic() + 300
        while len(seen) < len(committed) and time.monotonic() < deadline:
            with warehouse_lock(duck), duckdb.connect(str(duck), read_only=True) as con:
                ids = ",".join(map(str, committed))
                rows = con.execute(
                    f"select order_id from gold.fct_orders where order_id in ({ids})"
                )
                seen = {int(r[0]) for r in rows.fetchall()}
            time.sleep(1)
        assert seen == set(committed), (sorted(seen), committed)
        assert scheduled is not None
        assert scheduled.wait(timeout=300) == 0
    finally:
        follower.send_signal(signal.SIGTERM)
        try:
            follower.wait(timeout=300)
        except subprocess.TimeoutExpired:
            follower.kill()
        if scheduled is not None and scheduled.poll() is None:
            scheduled.kill()
        log.close()
        scheduled_log.close()
        conn.close()
    scheduled_out = (home / "scheduled_build.log").read_text(errors="replace")
    text = (home / "follow.log").read_text(errors="replace")
    assert follower.returncode == 0, text[-3000:]
    assert "built in" in text and "lakeshop follow stopped" in text, text[-3000:]
    assert "Could not set lock" not in text + scheduled_out
