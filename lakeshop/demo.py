"""`lakeshop demo`: the whole pipeline end to end on one machine, embedded defaults."""

from __future__ import annotations

import datetime as dt
import shutil
import time

from ingestion import config
from ingestion.ecommerce_api.runner import sync_api
from ingestion.event_files import landing_url
from ingestion.event_files.runner import sync_events
from ingestion.mysql_cdc.runner import sync
from ingestion.progress import duration, summary
from lakeshop.build import run_build
from lakeshop.docs_site import generate_docs
from lakeshop.events import write_discards
from lakeshop.forecast import run_forecast, tracking_uri
from sandbox.events.simulate import EventsConfig, latest_window, orders_from_shop, simulate_events
from sandbox.services import all_services
from sandbox.shop.generator import ShopConfig, generate
from sandbox.shop.seed import seed as seed_shop
from sandbox.shop.simulate import SimConfig, simulate
from sandbox.shop.target import MySQLTarget
from sandbox.shop_api.server import RunningApi, ShopApi
from sandbox.shop_api.world import ApiWorld


def _step(title: str) -> float:
    print(f"\n== {title}", flush=True)
    return time.monotonic()


def _orchestrator() -> list[tuple[str, str]]:
    """With --keep-running: the Dagster UI and daemon over the same state, and where they are."""
    from lakeshop.dashboard.service import Dashboard
    from lakeshop.orchestration.service import services as orchestration

    _step("starting the orchestrator (Dagster UI and daemon) and the dashboard")
    webserver, *rest = orchestration()
    for s in (webserver, *rest):
        s.start()
    dashboard = Dashboard()
    dashboard.start()
    return [
        ("dashboard", f"{dashboard.address()} (stop it: lakeshop dashboard stop)"),
        ("orchestrator", f"{webserver.address()} (stop it: lakeshop orchestrate stop)"),
        ("", "its API asset reads the API: lakeshop api serve --background --source mysql"),
    ]


def _events(target: MySQLTarget) -> list[tuple[str, str]]:
    """Six hours of sensor and website files in the lake's landing prefix, the website
    sessions ending in the shop's own orders of those hours; then the event-file source."""
    import pymysql

    with pymysql.connect(**target.connect_kwargs()) as conn:  # type: ignore[call-overload]
        start = latest_window(conn, 6)
        orders = orders_from_shop(conn, start, 6)
    truth = simulate_events(landing_url(), EventsConfig(start=start, hours=6), orders)
    result = sync_events()
    rows = sum(n for t, n in result.rows.items() if t != "files")
    return [
        ("events -> lake", f"{len(truth.files)} files, {len(orders)} shop orders' sessions"),
        (
            "events -> warehouse",
            f"{result.files} files, {rows:,} rows in {duration(result.seconds)}",
        ),
    ]


def run_demo(orders: int = 20_000, seed_value: int = 42, keep_running: bool = False) -> int:
    started = time.monotonic()
    timings: list[tuple[str, str]] = []
    services = all_services()
    home = config.home()
    # The demo resets its shop, so it starts its lake, warehouse and pipeline state afresh too.
    for stale in (home / "dlt", home / "lake"):
        shutil.rmtree(stale, ignore_errors=True)
    (home / "warehouse.duckdb").unlink(missing_ok=True)
    mariadb = services[0]
    # Always the private MariaDB: the demo resets its shop and must never touch yours.
    target = MySQLTarget(
        "127.0.0.1",
        mariadb.port,
        "root",
        "",
        config.SHOP_DATABASE,
        str(mariadb.dir / "mysqld.sock"),
    )
    cdc_url = f"mysql://{config.CDC_USER}:{config.CDC_PASSWORD}@127.0.0.1:{mariadb.port}/{config.SHOP_DATABASE}"
    try:
        t = _step("starting private services (MariaDB with binlog, PostgreSQL, S3)")
        for s in services:
            s.start()
        timings.append(("services", duration(time.monotonic() - t)))

        t = _step(f"seeding a shop with {orders:,} orders")
        shop = generate(
            ShopConfig(orders=orders, seed=seed_value, end_date=dt.datetime.now(dt.UTC).date())
        )
        figures = seed_shop(target, shop, reset=True)
        timings.append(
            ("seed", f"{duration(time.monotonic() - t)} ({int(figures['orders']):,} orders)")
        )

        t = _step("MySQL CDC: consistent snapshot into the lake and the warehouse")
        for where in ("lake", "warehouse"):
            result = sync(cdc_url, where)
            timings.append(
                (
                    f"cdc snapshot -> {where}",
                    f"{result.snapshot_rows:,} rows in {duration(result.seconds)}",
                )
            )

        t = _step("simulating production traffic, then streaming it from the binlog")
        stats = simulate(
            target, SimConfig(rate=500, duration=30, seed=seed_value, max_transactions=300)
        )
        timings.append(("simulate", f"{stats.transactions} transactions, {stats.rows} rows"))
        for where in ("lake", "warehouse"):
            result = sync(cdc_url, where)
            timings.append(
                (
                    f"cdc stream -> {where}",
                    f"{result.change_rows:,} change rows in {duration(result.seconds)}",
                )
            )

        t = _step(
            "e-commerce API: serving it locally, ingesting it into the lake and the warehouse"
        )
        with RunningApi(ShopApi(ApiWorld.from_mysql(target, seed=seed_value))) as api:
            world = api.api.world
            print(f"API at {api.url} ({len(world.products)} products, {len(world.carts)} carts)")
            api_result = sync_api(api.url)
        landed = sum(n for table, n in api_result.rows.items() if not table.startswith("_dlt"))
        timings.append(
            (
                "api -> lake + warehouse",
                f"{api_result.http.pages} pages, {landed:,} rows in {duration(api_result.seconds)}",
            )
        )

        t = _step("event files: IoT sensors and website sessions into the lake, then ingested")
        timings += _events(target)

        t = _step("dbt build on DuckDB, with its run report")
        code = run_build([], alert_on="failures")
        if code != 0:
            print("dbt build failed; see the report above")
            return code
        timings.append(("dbt build + report", duration(time.monotonic() - t)))
        discarded = write_discards()
        timings.append(
            ("rejected events -> lake", f"{sum(discarded.records.values()):,} records, "
                                        f"{discarded.files} files under quarantine/events")
        )  # fmt: skip
        t = _step("demand forecast per category (statsforecast), its backtest, days of stock")
        forecast = run_forecast()
        backtest = ", ".join(
            f"{k} {'beats' if v else 'does NOT beat'} seasonal naive"
            for k, v in forecast.beats_baseline().items()
        )
        timings.append(("forecast", f"{duration(time.monotonic() - t)} ({backtest})"))
        t = _step("dbt docs generate (the site and its single-file variant)")
        site = generate_docs()
        timings.append(("dbt docs", duration(time.monotonic() - t)))
    finally:
        if not keep_running:
            for s in reversed(services):
                s.stop()
    rows = [
        (
            "warehouse",
            f"{home / 'warehouse.duckdb'} (raw_mysql, raw_ecommerce_api, raw_events, bronze, "
            "silver, gold)",
        ),
        ("lake", f"{home / 'lake'} (raw_mysql parquet, raw_ecommerce_api json.gz; dt= partitions)"),
        ("", "landing/events: sensor and website files; quarantine/events: rejected records"),
        ("docs site", f"{site.index} (serve it: lakeshop docs)"),
        ("docs, one file", site.static_index),
        ("run report", home / "reports" / "latest.md"),
        ("forecast", "forecast schema in the warehouse; MLflow runs: " + tracking_uri()),
        ("shop database", target.describe() + (" (running)" if keep_running else " (stopped)")),
        *(_orchestrator() if keep_running else []),
        ("", ""),
        *timings,
        ("total", duration(time.monotonic() - started)),
    ]
    print()
    summary("lakeshop demo finished", rows)
    return 0
