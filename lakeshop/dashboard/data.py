"""What the dashboard reads, and how: every figure is one SQL query over the gold marts and
the forecast tables, shared with the tests that compare the page with the warehouse.

The dashboard never keeps the warehouse open. On the embedded DuckDB file each query takes
the warehouse lock shared (ingestion.destinations.warehouse_lock) for the query alone, with a
read-only connection; a build or a landing waits at most for that query, and a page asked
for while one of them writes shows the last figures it read (and says so) instead of
waiting for the build. PostgreSQL takes readers beside writers: a read-only session there.

Definitions are the semantic layer's (models/gold/semantic/_metrics.yml): each headline
figure names its metric, and is read from the gold mart that
pytests/test_dbt_models.py::test_the_metrics_agree_with_the_marts proves equal to it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ingestion import config
from lakeshop.warehouse import layer_schema, looking

# a page waits this long for a writer before showing what it read last
WAIT_SECONDS = float(os.environ.get("LAKESHOP_DASHBOARD_WAIT", "3"))


def target() -> str:
    return os.environ.get("LAKESHOP_DASHBOARD_TARGET") or os.environ.get(
        "LAKESHOP_DBT_TARGET", "duckdb"
    )


def target_kind() -> str:
    from lakeshop.dbt_runner import target_type

    return target_type(target()) or target()


def gold() -> str:
    return layer_schema(target(), "gold")


def forecast_schema() -> str:
    return layer_schema(target(), "forecast")


@dataclass
class Read:
    frame: pd.DataFrame
    read_at: dt.datetime
    stale: bool = False  # the warehouse was being written: these are the last figures read


_last: dict[tuple[str, tuple[Any, ...]], Read] = {}
_guard = threading.Lock()
# Streamlit runs each page in a thread of its own: whether this run showed an old read
_run = threading.local()


def begin_page() -> None:
    _run.stale = False


def page_was_stale() -> bool:
    return bool(getattr(_run, "stale", False))


def read(sql: str, params: tuple[Any, ...] = ()) -> Read:
    """One query, `{gold}` and `{forecast}` standing for the target's schemas."""
    text = sql.format(gold=gold(), forecast=forecast_schema())
    key = (text, params)
    try:
        with looking(target_kind(), wait=WAIT_SECONDS) as wh:
            frame = wh.frame(text, params)
    except TimeoutError:
        with _guard:
            if key in _last:
                _run.stale = True
                return Read(_last[key].frame, _last[key].read_at, stale=True)
        with looking(target_kind()) as wh:  # nothing read yet: wait for the writer
            frame = wh.frame(text, params)
    result = Read(frame, dt.datetime.now(dt.UTC))
    with _guard:
        _last[key] = result
    return result


def has_table(schema: str, table: str) -> bool:
    found = read(
        "select count(*) as n from information_schema.tables"
        " where table_schema = ? and table_name = ?",
        (schema, table),
    ).frame
    return bool(found["n"].iloc[0])


# -- the queries of the pages (the tests run the same ones) ------------------------------
def date_span() -> tuple[dt.date, dt.date]:
    span = read(
        "select min(order_date) as lo, max(order_date) as hi from {gold}.agg_daily_order_value"
    ).frame
    return pd.Timestamp(span["lo"].iloc[0]).date(), pd.Timestamp(span["hi"].iloc[0]).date()


def totals(start: dt.date, end: dt.date) -> dict[str, float]:
    """Revenue, orders and average order value of the orders that count as revenue."""
    row = read(
        "select coalesce(sum(net_amount), 0) as revenue, coalesce(sum(order_count), 0) as orders"
        " from {gold}.agg_daily_order_value where order_date between ? and ?",
        (start, end),
    ).frame.iloc[0]
    revenue, orders = float(row["revenue"]), int(row["orders"])
    return {"revenue": revenue, "orders": orders, "aov": revenue / orders if orders else 0.0}


def daily_value(start: dt.date, end: dt.date) -> pd.DataFrame:
    return read(
        "select order_date, net_amount as revenue, order_count as orders, average_order_value"
        " from {gold}.agg_daily_order_value where order_date between ? and ? order by 1",
        (start, end),
    ).frame


def daily_status(start: dt.date, end: dt.date) -> pd.DataFrame:
    return read(
        "select order_date, order_status, order_count, net_amount"
        " from {gold}.agg_daily_order_status where order_date between ? and ? order by 1, 2",
        (start, end),
    ).frame


def top_products(start: dt.date, end: dt.date, limit: int = 10) -> pd.DataFrame:
    return read(
        "select products.product_title as product, products.category_slug as category,"
        " sum(sales.unit_count) as units, sum(sales.net_amount) as revenue"
        " from {gold}.agg_daily_product_sales as sales"
        " inner join {gold}.dim_products as products on sales.product_id = products.product_id"
        " where sales.order_date between ? and ?"
        " group by 1, 2 order by revenue desc, product limit ?",
        (start, end, limit),
    ).frame


def category_profit() -> pd.DataFrame:
    return read(
        "select category_name as category, category_group, unit_count as units,"
        " net_amount as revenue, profit_amount as profit, profit_margin_percent,"
        " is_highest_profit, is_lowest_profit"
        " from {gold}.agg_category_profit order by profit desc, category"
    ).frame


def segments() -> pd.DataFrame:
    return read(
        "select rfm_segment, category_breadth, count(*) as customers,"
        " avg(lifetime_value) as average_lifetime_value, avg(order_count) as average_orders,"
        " avg(category_count) as average_category_groups"
        " from {gold}.dim_customers group by 1, 2 order by customers desc, 1, 2"
    ).frame


def new_vs_returning() -> pd.DataFrame:
    return read(
        "select date_trunc('month', order_date) as month,"
        " sum(case when is_first_order then 1 else 0 end) as new_customer_orders,"
        " sum(case when is_first_order then 0 else 1 end) as returning_customer_orders"
        " from {gold}.fct_orders where counts_as_revenue group by 1 order by 1"
    ).frame


def lifetime_values() -> pd.DataFrame:
    return read("select lifetime_value from {gold}.dim_customers where order_count > 0").frame


def abandoned_carts() -> pd.DataFrame:
    return read(
        "select cast(first_seen_at as date) as day, count(*) as carts,"
        " sum(discounted_cart_amount) as value"
        " from {gold}.fct_abandoned_carts group by 1 order by 1"
    ).frame


def cart_totals() -> dict[str, float]:
    row = read(
        "select count(*) as carts, sum(case when is_abandoned then 1 else 0 end) as abandoned,"
        " sum(case when is_abandoned then discounted_cart_amount else 0 end) as abandoned_value"
        " from {gold}.fct_carts"
    ).frame.iloc[0]
    carts = int(row["carts"])
    return {
        "carts": carts,
        "abandoned": int(row["abandoned"] or 0),
        "abandoned_value": float(row["abandoned_value"] or 0),
        "rate": (int(row["abandoned"] or 0) / carts) if carts else 0.0,
    }


def quarantine_daily() -> pd.DataFrame:
    return read(
        "select detected_on, source_name, entity, quarantine_reason, finding_count"
        " from {gold}.agg_quarantine_daily order by 1, 2, 3, 4"
    ).frame


# -- forecast tables (written by `lakeshop forecast`) ---------------------------------------
def forecast_ready() -> bool:
    return has_table(forecast_schema(), "demand_forecast")


def forecast_rows(category: str, target_name: str) -> pd.DataFrame:
    return read(
        "select forecast_date, forecast, lo_80, hi_80, lo_95, hi_95, trained_through"
        " from {forecast}.demand_forecast where category_slug = ? and target = ? order by 1",
        (category, target_name),
    ).frame


def backtest_rows(category: str, target_name: str) -> pd.DataFrame:
    return read(
        "select forecast_date, actual, forecast, baseline from {forecast}.demand_backtest"
        " where category_slug = ? and target = ? order by 1",
        (category, target_name),
    ).frame


def accuracy() -> pd.DataFrame:
    return read(
        "select target, model, smape, mase, run_id, trained_at"
        " from {forecast}.forecast_accuracy order by 1, 2"
    ).frame


def forecast_categories() -> list[str]:
    frame = read("select distinct category_slug from {forecast}.demand_forecast order by 1").frame
    return [str(c) for c in frame["category_slug"]]


def inventory() -> pd.DataFrame:
    return read(
        "select product_title as product, category_slug as category, stock_quantity,"
        " forecast_units, days_of_stock, runs_out, runs_out_on"
        " from {forecast}.inventory_outlook order by runs_out desc, days_of_stock, product"
    ).frame


# -- outside the warehouse: the last build's run report, the metric definitions -----------
def last_report() -> dict[str, Any] | None:
    """The last run report of a build of the whole project (a selection's counts are not
    the project's); the last report of any run when no whole build has one yet."""
    folder = config.home() / "reports"
    for name in ("latest_build.json", "latest.json"):
        if (folder / name).exists():
            return dict(json.loads((folder / name).read_text()))
    return None


def last_run_report() -> dict[str, Any] | None:
    """The last run report of any run, whole project or a selection."""
    path = config.home() / "reports" / "latest.json"
    return dict(json.loads(path.read_text())) if path.exists() else None


def metric_definitions() -> dict[str, dict[str, str]]:
    """metric name -> label and description, from the semantic layer."""
    path = Path(__file__).resolve().parents[2] / "models" / "gold" / "semantic" / "_metrics.yml"
    if not path.exists():
        return {}
    metrics = yaml.safe_load(path.read_text()).get("metrics", [])
    return {
        m["name"]: {"label": m.get("label", m["name"]), "description": m.get("description", "")}
        for m in metrics
    }
