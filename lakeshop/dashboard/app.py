"""The lakeshop dashboard (Streamlit): `lakeshop dashboard start` serves it on 127.0.0.1.

Seven pages over the gold marts and the forecast tables, every figure from one query in
data.py. The overview and the products pages take their date range from the address too
(`?start=2026-01-01&end=2026-03-31`), so a link shows the same figures to everyone.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable

import pandas as pd
import streamlit as st

from lakeshop.dashboard import data

st.set_page_config(page_title="lakeshop", page_icon=":bar_chart:", layout="wide")

METRICS = data.metric_definitions()


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _help(metric: str) -> str | None:
    found = METRICS.get(metric)
    return (
        f"{found['label']} (semantic layer metric `{metric}`): {found['description']}"
        if found
        else None
    )


def _date_range(key: str) -> tuple[dt.date, dt.date]:
    """The range from ?start=&end= (else the last 90 days of data), and a picker for it."""
    lo, hi = data.date_span()
    params = st.query_params

    def parsed(name: str, default: dt.date) -> dt.date:
        try:
            return min(max(dt.date.fromisoformat(params[name]), lo), hi)
        except (KeyError, ValueError):
            return default

    start = parsed("start", max(lo, hi - dt.timedelta(days=89)))
    end = parsed("end", hi)
    picked = st.date_input("Date range", (start, end), min_value=lo, max_value=hi, key=key)
    if isinstance(picked, tuple) and len(picked) == 2:
        start, end = picked
        st.query_params.update({"start": start.isoformat(), "end": end.isoformat()})
    return start, end


def _footer() -> None:
    """The last line of every page: when its figures were read (tests wait for it too)."""
    if data.page_was_stale():
        st.caption("The warehouse is being written: some figures are from the last read.")
    else:
        st.caption(f"Figures read from the warehouse at {dt.datetime.now(dt.UTC):%H:%M:%S} UTC.")


def _page(render: Callable[[], None]) -> Callable[[], None]:
    @functools.wraps(render)
    def page() -> None:
        data.begin_page()
        render()
        _footer()

    return page


def overview() -> None:
    st.title("Overview")
    start, end = _date_range("overview_range")
    days = (end - start).days + 1
    previous_end = start - dt.timedelta(days=1)
    previous_start = previous_end - dt.timedelta(days=days - 1)
    now, before = data.totals(start, end), data.totals(previous_start, previous_end)

    def delta(key: str) -> str | None:
        return f"{(now[key] - before[key]) / before[key]:+.1%}" if before[key] else None

    st.caption(f"{start:%d %b %Y} to {end:%d %b %Y} ({days} days), against the {days} days before")
    cols = st.columns(3)
    cols[0].metric("Revenue", _money(now["revenue"]), delta("revenue"), help=_help("revenue"))
    cols[1].metric("Orders", f"{now['orders']:,}", delta("orders"), help=_help("orders"))
    cols[2].metric(
        "Average order value", _money(now["aov"]), delta("aov"), help=_help("average_order_value")
    )
    daily = data.daily_value(start, end)
    st.subheader("Revenue per day")
    st.line_chart(daily.set_index("order_date")[["revenue"]])
    st.subheader("Average order value per day")
    st.line_chart(daily.set_index("order_date")[["average_order_value"]])
    status = data.daily_status(start, end)
    st.subheader("Orders per day by status")
    if not status.empty:
        pivot = status.pivot_table(
            index="order_date", columns="order_status", values="order_count", fill_value=0
        )
        st.bar_chart(pivot)
    by_status = status.groupby("order_status", as_index=False)[["order_count", "net_amount"]].sum()
    st.dataframe(by_status, hide_index=True)


def products() -> None:
    st.title("Products")
    categories = data.category_profit()
    if not categories.empty:
        best = categories[categories["is_highest_profit"].astype(bool)].iloc[0]
        worst = categories[categories["is_lowest_profit"].astype(bool)].iloc[0]
        cols = st.columns(2)
        cols[0].metric(
            "Highest-profit category", str(best["category"]), f"profit {_money(best['profit'])}",
            help=_help("profit"),
        )  # fmt: skip
        cols[1].metric(
            "Lowest-profit category", str(worst["category"]), f"profit {_money(worst['profit'])}",
            delta_color="inverse",
        )  # fmt: skip
    st.subheader("Sales and profit per category (all time)")
    st.bar_chart(categories.set_index("category")[["revenue", "profit"]], stack=False)
    st.dataframe(
        categories.drop(columns=["is_highest_profit", "is_lowest_profit"]), hide_index=True
    )
    st.subheader("Top products")
    start, end = _date_range("products_range")
    st.dataframe(data.top_products(start, end), hide_index=True)


def customers() -> None:
    st.title("Customers")
    seg = data.segments()
    st.subheader("Segments")
    st.caption(
        "RFM quintiles (recency, frequency, monetary value; ties share a quintile) and how "
        "many category groups a customer buys from: the rules are in gold.dim_customers."
    )
    st.bar_chart(seg.groupby("rfm_segment")["customers"].sum())
    st.dataframe(seg, hide_index=True)
    st.subheader("New and returning customers' orders per month")
    st.bar_chart(data.new_vs_returning().set_index("month"))
    st.subheader("Lifetime value")
    values = data.lifetime_values()["lifetime_value"].astype(float)
    if not values.empty:
        cols = st.columns(3)
        cols[0].metric("Customers who bought", f"{len(values):,}")
        cols[1].metric("Median lifetime value", _money(values.median()))
        cols[2].metric("Mean lifetime value", _money(values.mean()))
        bins = pd.cut(values, bins=20)
        counts = bins.value_counts(sort=False)
        st.bar_chart(
            pd.DataFrame(
                {"customers": counts.to_numpy()}, index=[f"{i.left:,.0f}" for i in counts.index]
            )
        )


def carts() -> None:
    st.title("Carts")
    totals = data.cart_totals()
    cols = st.columns(3)
    cols[0].metric("Carts", f"{totals['carts']:,}", help=_help("carts"))
    cols[1].metric(
        "Abandoned carts", f"{totals['abandoned']:,}", f"{totals['rate']:.1%} of carts",
        delta_color="off", help=_help("abandoned_cart_rate"),
    )  # fmt: skip
    cols[2].metric("Abandoned value", _money(totals["abandoned_value"]))
    daily = data.abandoned_carts()
    st.subheader("Abandoned carts per day")
    if not daily.empty:
        st.line_chart(daily.set_index("day")[["carts", "value"]])


def forecast() -> None:
    st.title("Demand forecast")
    if not data.forecast_ready():
        st.info("No forecast yet: run `lakeshop forecast` (the orchestrator retrains it daily).")
        return
    acc = data.accuracy()
    st.subheader("Backtest on the last 28 days held out")
    st.dataframe(acc, hide_index=True)
    cols = st.columns(2)
    category = cols[0].selectbox("Category", data.forecast_categories())
    target_name = cols[1].selectbox("Measure", ["revenue", "units"])
    held = data.backtest_rows(category, target_name).set_index("forecast_date")
    ahead = data.forecast_rows(category, target_name).set_index("forecast_date")
    st.subheader("Held-out days: actuals, the forecast and the seasonal-naive baseline")
    st.line_chart(held[["actual", "forecast", "baseline"]])
    st.subheader(f"The next {len(ahead)} days, with 80% and 95% intervals")
    st.line_chart(ahead[["forecast", "lo_80", "hi_80", "lo_95", "hi_95"]])
    st.dataframe(ahead.reset_index(), hide_index=True)


def inventory() -> None:
    st.title("Inventory")
    if not data.forecast_ready():
        st.info("No forecast yet: run `lakeshop forecast`.")
        return
    stock = data.inventory()
    running_out = stock[stock["runs_out"].astype(bool)]
    st.metric("Products that run out within the forecast horizon", f"{len(running_out):,}")
    st.caption(
        "Days of stock = the API catalogue's stock over the product's share of its "
        "category's forecast units per day."
    )
    st.dataframe(stock, hide_index=True)


def quality() -> None:
    st.title("Data quality")
    report = data.last_report()
    if report:
        tests = report.get("tests", {})
        cols = st.columns(4)
        cols[0].metric("Last build", str(report.get("target", "?")))
        cols[1].metric("Tests passed", f"{tests.get('pass', 0):,}")
        cols[2].metric("Tests warned", f"{tests.get('warn', 0):,}")
        cols[3].metric("Tests failed", f"{tests.get('fail', 0) + tests.get('error', 0):,}")
        scope = report.get("scope", "the whole project")
        st.caption(f"Build of {scope}, {report.get('generated_at', '?')}.")
        latest = data.last_run_report()
        if latest and latest.get("invocation_id") != report.get("invocation_id"):
            latest_tests = sum((latest.get("tests") or {}).values())
            st.caption(
                f"Since then: a run of {latest.get('scope', '?')} at "
                f"{latest.get('generated_at', '?')} ({latest_tests:,} tests), not counted here."
            )
        failures = report.get("failures") or []
        if failures:
            st.subheader("Tests that failed or warned")
            st.dataframe(pd.DataFrame(failures), hide_index=True)
        freshness = report.get("freshness") or []
        st.subheader("Source freshness")
        st.dataframe(pd.DataFrame(freshness), hide_index=True)
    else:
        st.info("No build report yet: run `lakeshop build`.")
    st.subheader("Quarantined rows per rule, by the day they were found")
    findings = data.quarantine_daily()
    if findings.empty:
        st.write("No quarantine findings.")
    else:
        findings["rule"] = findings["entity"] + ": " + findings["quarantine_reason"]
        st.bar_chart(
            findings.pivot_table(
                index="detected_on",
                columns="rule",
                values="finding_count",
                aggfunc="sum",
                fill_value=0,
            )
        )
        st.dataframe(
            findings.groupby(["source_name", "entity", "quarantine_reason"], as_index=False)[
                "finding_count"
            ].sum(),
            hide_index=True,
        )


PAGES = [
    st.Page(_page(overview), title="Overview", default=True),
    st.Page(_page(products), title="Products", url_path="products"),
    st.Page(_page(customers), title="Customers", url_path="customers"),
    st.Page(_page(carts), title="Carts", url_path="carts"),
    st.Page(_page(forecast), title="Forecast", url_path="forecast"),
    st.Page(_page(inventory), title="Inventory", url_path="inventory"),
    st.Page(_page(quality), title="Data quality", url_path="quality"),
]

st.navigation(PAGES).run()
