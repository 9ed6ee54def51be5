"""The README's demo command end to end on a fresh state folder (dbt itself: test_dbt_models)."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pytests.conftest import make_home
from sandbox.services import free_port

ROOT = Path(__file__).resolve().parent.parent
LAKESHOP = str(Path(sys.executable).parent / "lakeshop")


@dataclass
class Demo:
    home: Path
    env: dict[str, str]
    out: str

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql, list(params)).fetchall()


@pytest.fixture(scope="module")
def demo() -> Demo:
    """The README's demo command, run once for this module: the pipeline, then the
    dashboard and the forecast over what it built."""
    home = make_home("lakeshop-demo-")
    env = {
        **os.environ,
        "LAKESHOP_HOME": str(home),
        "LAKESHOP_MARIADB_PORT": str(free_port()),
        "LAKESHOP_POSTGRES_PORT": str(free_port()),
        "LAKESHOP_S3_PORT": str(free_port()),
    }
    env.pop("LAKESHOP_DUCKDB_PATH", None)
    done = subprocess.run(
        # the README's own demo, 20,000 orders: a shop of 3,000 sells too little per
        # category and day for the forecast to beat seasonal naive on sMAPE (README)
        [LAKESHOP, "demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return Demo(home, env, done.stdout)


def test_demo_end_to_end(demo: Demo) -> None:
    home, out = demo.home, demo.out
    assert "lakeshop demo finished" in out
    for line in ("warehouse", "lake", "docs site"):
        assert line in out
    assert (home / "warehouse.duckdb").exists()
    # the docs site goes where dbt writes its artefacts ($DBT_TARGET_PATH, else target/)
    assert (Path(os.environ.get("DBT_TARGET_PATH", ROOT / "target")) / "index.html").exists()
    assert "20,000 orders" in out
    assert "revenue beats seasonal naive, units beats seasonal naive" in out, out[-3000:]
    assert "cdc stream -> warehouse" in out
    parquet = list((home / "lake" / "raw_mysql" / "orders").rglob("*.parquet"))
    assert parquet and all(p.parent.name.startswith("dt=") for p in parquet)
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        ops = dict(
            con.execute("select _cdc_op, count(*) from raw_mysql.orders group by 1").fetchall()
        )
        gold = {
            t: con.execute(f"select count(*) from gold.{t}").fetchone()[0]  # type: ignore[index]
            for t in ("fct_orders", "fct_order_items", "dim_customers", "agg_daily_product_sales")
        }
        api_products = con.execute("select count(*) from raw_ecommerce_api.products").fetchone()
    assert ops["snapshot"] == 20_000 and ops.get("insert", 0) + ops.get("update", 0) > 0
    assert all(n > 0 for n in gold.values()), gold
    assert api_products is not None and api_products[0] > 0
    assert "api -> lake + warehouse" in out
    assert list((home / "lake" / "raw_ecommerce_api" / "raw_responses").rglob("*.jsonl.gz"))
    # the demo stops what it started
    leftovers = [
        p for p in Path("/proc").iterdir() if p.name.isdigit() and str(home) in _cmdline(p)
    ]
    assert leftovers == []


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


# -- the forecast, the inventory and their MLflow run, on the demo's warehouse ---------------
def test_the_forecast_covers_28_days_per_series_with_intervals_around_it(demo: Demo) -> None:
    from lakeshop.forecast import HORIZON

    categories = {c for (c,) in demo.query("select distinct category_slug from gold.dim_products")}
    rows = demo.query(
        "select category_slug, target, forecast_date, forecast, lo_80, hi_80, lo_95, hi_95,"
        " trained_through from forecast.demand_forecast order by 1, 2, 3"
    )
    sold = {c for (c,) in demo.query(
        "select distinct p.category_slug from gold.agg_daily_product_sales s"
        " join gold.dim_products p on s.product_id = p.product_id"
    )}  # fmt: skip
    assert sold and sold <= categories
    series: dict[tuple[str, str], list[Any]] = {}
    for row in rows:
        series.setdefault((row[0], row[1]), []).append(row)
    assert set(series) == {(c, t) for c in sold for t in ("revenue", "units")}
    (last_sale,) = demo.query("select max(order_date) from gold.agg_daily_product_sales")[0]
    for days in series.values():
        dates = [r[2] for r in days]
        trained_through = days[0][8]
        # trained on every complete day (the last day of sales is still filling up)
        assert trained_through == last_sale - dt.timedelta(days=1)
        assert dates == [trained_through + dt.timedelta(days=i + 1) for i in range(HORIZON)]
        for _, _, _, point, lo80, hi80, lo95, hi95, _ in days:
            assert 0 <= lo95 <= lo80 <= point <= hi80 <= hi95
        assert any(r[6] < r[7] for r in days)  # the intervals have a width


def test_the_backtest_beats_seasonal_naive_and_is_in_mlflow(demo: Demo) -> None:
    """On the seeded shop (weekly seasonality and growth) AutoETS beats the seasonal-naive
    baseline on the 28 held-out days, on sMAPE and MASE, for revenue and units; the retrain
    is an MLflow run whose metrics, parameters and fitted model read back."""
    import pickle

    import mlflow

    accuracy = {
        (t, m): (s, ms, run)
        for t, m, s, ms, run in demo.query(
            "select target, model, smape, mase, run_id from forecast.forecast_accuracy"
        )
    }
    for target in ("revenue", "units"):
        model, baseline = accuracy[(target, "AutoETS")], accuracy[(target, "SeasonalNaive")]
        assert model[0] < baseline[0] and model[1] < baseline[1], accuracy
    # the backtest rows are the held-out days, with actuals equal to gold's
    held = demo.query(
        "select min(forecast_date), max(forecast_date), count(distinct forecast_date)"
        " from forecast.demand_backtest"
    )[0]
    assert held[2] == 28
    (actual,) = demo.query(
        "select sum(actual) from forecast.demand_backtest where target = 'units'"
    )[0]
    (gold_units,) = demo.query(
        "select sum(unit_count) from gold.agg_daily_product_sales where order_date between ? and ?",
        [held[0], held[1]],
    )[0]
    assert actual == pytest.approx(float(gold_units))

    (run_id,) = {v[2] for v in accuracy.values()}
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{demo.home / 'mlflow' / 'mlflow.db'}")
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["model"] == "AutoETS(season_length=7)"
    assert run.data.params["horizon_days"] == "28"
    for (target, model), (smape, mase, _) in accuracy.items():
        name = "model" if model == "AutoETS" else "baseline"
        assert run.data.metrics[f"{target}_smape_{name}"] == pytest.approx(smape)
        assert run.data.metrics[f"{target}_mase_{name}"] == pytest.approx(mase)
    local = client.download_artifacts(run_id, "model/statsforecast.pkl", str(demo.home))
    fitted = pickle.loads(Path(local).read_bytes())
    again = fitted["units"].predict(h=28)
    stored = demo.query(
        "select category_slug, forecast_date, forecast from forecast.demand_forecast"
        " where target = 'units' order by 1, 2"
    )
    assert len(again) == len(stored)
    assert again.sort_values(["unique_id", "ds"])["AutoETS"].clip(lower=0).tolist() == (
        pytest.approx([r[2] for r in stored])
    )


def test_inventory_flags_the_products_whose_stock_is_below_their_forecast_demand(
    demo: Demo,
) -> None:
    import pandas as pd

    from lakeshop.forecast import inventory

    rows = demo.query(
        "select product_id, stock_quantity, forecast_units, days_of_stock, runs_out, runs_out_on"
        " from forecast.inventory_outlook"
    )
    (products,) = demo.query("select count(*) from gold.dim_products where is_active")[0]
    assert len(rows) == products
    for _, stock, demand, days, runs_out, on in rows:
        assert runs_out == (stock is not None and stock < demand)
        assert (on is not None) == runs_out
        if demand > 0 and stock is not None:
            assert days == pytest.approx(stock / (demand / 28), abs=0.051)
    # one category's forecast, two products: one with stock below its share, one above
    shares = pd.DataFrame({
        "product_id": [1, 2], "product_title": ["a", "b"], "category_slug": ["c", "c"],
        "stock_quantity": [5, 500], "recent_units": [30.0, 10.0], "share": [0.75, 0.25],
    })  # fmt: skip
    forecast = pd.DataFrame({
        "category_slug": ["c"] * 28, "target": ["units"] * 28, "forecast": [2.0] * 28,
    })  # fmt: skip
    start = dt.date(2026, 12, 2)
    out = inventory(shares, forecast, start).set_index("product_id")
    assert out.loc[1, "forecast_units"] == 42 and bool(out.loc[1, "runs_out"])
    assert out.loc[1, "days_of_stock"] == pytest.approx(3.3)
    assert out.loc[1, "runs_out_on"] == start + dt.timedelta(days=3)
    assert out.loc[2, "forecast_units"] == 14 and not bool(out.loc[2, "runs_out"])


# -- the dashboard over the demo's warehouse ----------------------------------------------------
DASHBOARD_PAGES = {
    "": "Overview", "products": "Products", "customers": "Customers", "carts": "Carts",
    "forecast": "Demand forecast", "inventory": "Inventory", "quality": "Data quality",
}  # fmt: skip
ARTIFACTS = Path(os.environ.get("LAKESHOP_ARTIFACTS", ROOT / "artifacts"))
CHROMIUM = os.environ.get("LAKESHOP_CHROMIUM") or shutil.which("chromium")


def _rendered(page: Any, path: str, url: str) -> float:
    """Open a page and wait until Streamlit has finished running it; seconds taken."""
    started = time.monotonic()
    page.goto(f"{url}/{path}", wait_until="domcontentloaded")
    # every page ends with when its figures were read (lakeshop/dashboard/app.py), unless
    # it failed: then Streamlit shows the exception instead
    footer = page.get_by_text(re.compile("Figures read from the warehouse|from the last read"))
    footer.or_(page.locator("[data-testid='stException']")).first.wait_for(timeout=60_000)
    return time.monotonic() - started


def _metric(page: Any, label: str) -> str:
    box = page.locator("[data-testid='stMetric']", has_text=label).first
    return str(box.locator("[data-testid='stMetricValue']").inner_text()).strip()


@pytest.fixture(scope="module")
def dashboard(demo: Demo) -> Any:
    port = free_port()
    env = {**demo.env, "LAKESHOP_DASHBOARD_PORT": str(port), "LAKESHOP_DASHBOARD_WAIT": "0.5"}
    started = subprocess.run(
        [LAKESHOP, "dashboard", "start"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=180, check=False,
    )  # fmt: skip
    assert started.returncode == 0, started.stdout + started.stderr
    assert f"http://127.0.0.1:{port}" in started.stdout
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stopped = subprocess.run(
            [LAKESHOP, "dashboard", "stop"], cwd=ROOT, env=env, capture_output=True,
            text=True, timeout=60, check=False,
        )  # fmt: skip
        assert "dashboard: stopped" in stopped.stdout, stopped.stdout + stopped.stderr


def test_every_dashboard_page_renders_with_the_warehouse_figures(
    demo: Demo, dashboard: str
) -> None:
    """Headless Chromium opens every page with no error (screenshots under artifacts/); the
    overview's revenue, orders and average order value for a date range, and the products
    page's highest- and lowest-profit categories, equal the warehouse's."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (lo,) = demo.query("select min(order_date) from gold.agg_daily_order_value")[0]
    start, end = lo + dt.timedelta(days=100), lo + dt.timedelta(days=190)
    revenue, orders = demo.query(
        "select sum(net_amount), sum(order_count) from gold.agg_daily_order_value"
        " where order_date between ? and ?",
        [start, end],
    )[0]
    best, best_profit, worst = demo.query(
        "select max(case when is_highest_profit then category_name end),"
        " max(case when is_highest_profit then profit_amount end),"
        " max(case when is_lowest_profit then category_name end) from gold.agg_category_profit"
    )[0]
    timings = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--no-first-run"]
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        for path, title in DASHBOARD_PAGES.items():
            timings[path or "overview"] = _rendered(page, path, dashboard)
            assert page.locator("h1").first.inner_text().strip() == title
            errors = page.locator("[data-testid='stException']")
            assert errors.count() == 0, errors.first.inner_text()
            assert "No forecast yet" not in page.inner_text("body")
            page.screenshot(
                path=str(ARTIFACTS / f"dashboard_{path or 'overview'}.png"), full_page=True
            )
        _rendered(page, f"?start={start}&end={end}", dashboard)
        assert _metric(page, "Revenue") == f"{float(revenue):,.2f}"
        assert _metric(page, "Orders") == f"{int(orders):,}"
        assert _metric(page, "Average order value") == f"{float(revenue) / int(orders):,.2f}"
        _rendered(page, "products", dashboard)
        assert _metric(page, "Highest-profit category") == best
        assert f"profit {float(best_profit):,.2f}" in page.inner_text("body")
        assert _metric(page, "Lowest-profit category") == worst
        browser.close()
    print("dashboard render seconds:", {k: round(v, 2) for k, v in timings.items()})


def test_the_dashboard_keeps_no_hold_on_the_warehouse(demo: Demo, dashboard: str) -> None:
    """Between page loads a writer gets the warehouse at once (the dashboard keeps no
    connection open); while a writer holds it, a page already read renders from its last
    read and says so instead of waiting for the write to end."""
    from playwright.sync_api import sync_playwright

    from ingestion.destinations import warehouse_lock

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--no-first-run"]
        )
        page = browser.new_page()
        _rendered(page, "carts", dashboard)
        with warehouse_lock(demo.warehouse, wait=2), duckdb.connect(str(demo.warehouse)) as con:
            con.execute("create or replace table gold.lakeshop_write_probe as select 1 as x")
            seconds = _rendered(page, "carts", dashboard)
            assert page.locator("[data-testid='stException']").count() == 0
            assert "some figures are from the last read" in page.inner_text("body")
            con.execute("drop table gold.lakeshop_write_probe")
        assert seconds < 20
        _rendered(page, "carts", dashboard)
        assert "some figures are from the last read" not in page.inner_text("body")
        browser.close()
