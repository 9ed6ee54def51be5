"""`lakeshop forecast`: demand for the next 28 days per category, the stock it leaves, and a
record of every retrain.

- **Series**: daily net revenue and units per category, from the gold marts
  (`agg_daily_product_sales` joined to `dim_products`), every day from the first sale to the
  last complete day (the latest day is still filling up and is left out), no sale = 0.
  A week or more without any sale in the whole shop is missing data, not demand: the run
  stops and names it (``--history-from`` trains on the days after a real closure).
- **Model**: statsforecast's AutoETS with a weekly season (the shop sells by weekday and
  grows), fitted per series; its 80% and 95% prediction intervals.
- **Backtest**: the last 28 complete days held out, the model fitted on what comes before
  and compared with the seasonal-naive baseline (each day = the same weekday a week before
  the holdout): sMAPE (0-200) and MASE (MAE over the in-sample MAE of the weekly naive
  forecast), the mean over the series of each target. The forecast written is the model
  refitted on every complete day.
- **Inventory**: days of stock left per product = stock (the API catalogue's) / the
  product's share of its category's forecast units per day; the share is what it sold of
  its category's units in the last 28 days. A product whose 28-day forecast demand exceeds
  its stock runs out within the horizon and is flagged, with the day it runs out.
- **Tracking**: each retrain is an MLflow run (SQLite store and artefacts under
  `$LAKESHOP_HOME/mlflow`, no server) with its parameters, the backtest figures of the model
  and the baseline, and the fitted model (pickled StatsForecast).

The results go to the warehouse's `forecast` schema (`<schema>_forecast` on a dev target):
`demand_forecast`, `demand_backtest`, `forecast_accuracy`, `inventory_outlook`. Reads and
writes are plain SQL through lakeshop.warehouse, so DuckDB and PostgreSQL both work.
"""

from __future__ import annotations

import datetime as dt
import os
import pickle
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ingestion import config
from lakeshop.warehouse import Warehouse, layer_schema, looking, quote, writing

HORIZON = 28
SEASON = 7
GAP_DAYS = 7  # a week without any sale in the whole shop is missing data, not demand
LEVELS = (80, 95)
TARGETS = ("revenue", "units")
MODEL = "AutoETS"
BASELINE = "SeasonalNaive"
EXPERIMENT = "lakeshop_demand_forecast"


@dataclass
class Result:
    run_id: str
    series: int
    trained_through: dt.date
    accuracy: pd.DataFrame  # target, model, smape, mase
    forecast: pd.DataFrame
    inventory: pd.DataFrame
    seconds: dict[str, float] = field(default_factory=dict)

    def beats_baseline(self) -> dict[str, bool]:
        acc = self.accuracy.set_index(["target", "model"])
        return {
            t: bool(
                acc.loc[(t, MODEL), "smape"] < acc.loc[(t, BASELINE), "smape"]
                and acc.loc[(t, MODEL), "mase"] < acc.loc[(t, BASELINE), "mase"]
            )
            for t in TARGETS
        }


# -- reading gold -----------------------------------------------------------------------------
def daily_demand(wh: Warehouse, target: str, since: dt.date | None = None) -> pd.DataFrame:
    """category_slug, ds, revenue, units: every day from the first sale (on or after
    ``since``) to the last complete day, per category, with 0 on days without a sale."""
    gold = quote(layer_schema(target, "gold"))
    raw = wh.frame(
        f"""
        select products.category_slug, sales.order_date as ds,
               sum(sales.net_amount) as revenue, sum(sales.unit_count) as units
        from {gold}.agg_daily_product_sales as sales
        inner join {gold}.dim_products as products on sales.product_id = products.product_id
        where sales.order_date >= ?
        group by 1, 2
        """,
        [since or dt.date(1, 1, 1)],
    )
    if raw.empty:
        raise RuntimeError(
            "gold.agg_daily_product_sales is empty: build the models first (lakeshop build)"
            if since is None
            else f"gold.agg_daily_product_sales has no sale on or after {since}"
        )
    raw["ds"] = pd.to_datetime(raw["ds"])
    raw["revenue"] = raw["revenue"].astype(float)
    raw["units"] = raw["units"].astype(float)
    last_complete = raw["ds"].max() - pd.Timedelta(days=1)
    days = pd.date_range(raw["ds"].min(), last_complete, freq="D")
    if len(days) < HORIZON + 4 * SEASON:
        raise RuntimeError(
            f"{len(days)} days of sales are too few to forecast {HORIZON} days "
            f"(need {HORIZON + 4 * SEASON}): seed a longer history (lakeshop shop seed --days)"
        )
    gap = longest_gap(raw.loc[raw["ds"] <= last_complete, "ds"], days)
    if gap is not None and (gap[1] - gap[0]).days + 1 >= GAP_DAYS:
        start, end = (d.date() for d in gap)
        empty = f"no sale at all from {start} to {end} ({(end - start).days + 1} days)"
        if gap[1] == last_complete:  # nothing complete after it to train on
            raise RuntimeError(
                f"{empty}, up to the last complete day: the history stops on "
                f"{start - dt.timedelta(days=1)} (ingestion behind, or days not loaded?), and a "
                "forecast from there would predict days already past; load those days "
                "(lakeshop ingest), then build"
            )
        raise RuntimeError(
            f"{empty}: the history has a gap (days not loaded?), and a model fitted across it "
            "forecasts the gap; load those days, or train on the days after it: lakeshop forecast "
            f"--history-from {end + dt.timedelta(days=1)}"
        )
    grid = pd.MultiIndex.from_product(
        [sorted(raw["category_slug"].unique()), days], names=["category_slug", "ds"]
    )
    return (
        raw.set_index(["category_slug", "ds"])
        .reindex(grid, fill_value=0.0)
        .reset_index()
        .sort_values(["category_slug", "ds"], ignore_index=True)
    )


def longest_gap(
    sold_on: pd.Series, days: pd.DatetimeIndex
) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The first and last day of the longest run of ``days`` without any sale in the shop."""
    empty = ~days.isin(pd.DatetimeIndex(sold_on.unique()))
    best: tuple[pd.Timestamp, pd.Timestamp] | None = None
    run_start = None
    for day, is_empty in zip(days, empty, strict=True):
        if not is_empty:
            run_start = None
            continue
        run_start = day if run_start is None else run_start
        if best is None or (day - run_start) > (best[1] - best[0]):
            best = (run_start, day)
    return best


def product_shares(wh: Warehouse, target: str, since: dt.date) -> pd.DataFrame:
    """product_id, title, category, stock and its share of its category's units since a day."""
    gold = quote(layer_schema(target, "gold"))
    frame = wh.frame(
        f"""
        with sold as (
            select product_id, sum(unit_count) as units
            from {gold}.agg_daily_product_sales
            where order_date >= ?
            group by product_id
        )
        select products.product_id, products.product_title, products.category_slug,
               products.stock_quantity, coalesce(sold.units, 0) as recent_units
        from {gold}.dim_products as products
        left join sold on products.product_id = sold.product_id
        where products.is_active
        """,
        [since],
    )
    frame["recent_units"] = frame["recent_units"].astype(float)
    per_category = frame.groupby("category_slug")["recent_units"].transform("sum")
    frame["share"] = np.where(per_category > 0, frame["recent_units"] / per_category, 0.0)
    return frame


# -- the model --------------------------------------------------------------------------------
def _long(frame: pd.DataFrame, target: str) -> pd.DataFrame:
    return frame.rename(columns={"category_slug": "unique_id", target: "y"})[
        ["unique_id", "ds", "y"]
    ]


def smape(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Symmetric MAPE in percent (0-200); a day both call 0 counts as exact."""
    denominator = np.abs(actual) + np.abs(predicted)
    ratio = np.divide(
        2 * np.abs(actual - predicted),
        denominator,
        out=np.zeros_like(denominator),
        where=denominator > 0,
    )
    return float(100 * ratio.mean())


def mase(actual: np.ndarray, predicted: np.ndarray, history: np.ndarray) -> float:
    """MAE over the in-sample MAE of the seasonal-naive forecast (1 = as good as it)."""
    scale = np.mean(np.abs(history[SEASON:] - history[:-SEASON]))
    return float(np.mean(np.abs(actual - predicted)) / scale) if scale > 0 else float("nan")


def _models() -> list[Any]:
    from statsforecast.models import AutoETS, SeasonalNaive

    return [AutoETS(season_length=SEASON), SeasonalNaive(season_length=SEASON)]


def backtest(demand: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(accuracy per target and model, the held-out days with actuals and both forecasts)."""
    from statsforecast import StatsForecast

    cutoff = demand["ds"].max() - pd.Timedelta(days=HORIZON)
    scores, held = [], []
    for target in TARGETS:
        series = _long(demand, target)
        train, test = series[series["ds"] <= cutoff], series[series["ds"] > cutoff]
        sf = StatsForecast(models=_models(), freq="D", n_jobs=1)
        predicted = sf.forecast(df=train, h=HORIZON).merge(test, on=["unique_id", "ds"])
        for model in (MODEL, BASELINE):
            per_series = [
                (
                    smape(g["y"].to_numpy(), g[model].to_numpy()),
                    mase(
                        g["y"].to_numpy(),
                        g[model].to_numpy(),
                        train.loc[train["unique_id"] == uid, "y"].to_numpy(),
                    ),
                )
                for uid, g in predicted.groupby("unique_id")
            ]
            s, m = np.nanmean(np.array(per_series), axis=0)
            scores.append({"target": target, "model": model, "smape": s, "mase": m})
        held.append(
            predicted.rename(
                columns={
                    "unique_id": "category_slug",
                    "ds": "forecast_date",
                    "y": "actual",
                    MODEL: "forecast",
                    BASELINE: "baseline",
                }
            ).assign(target=target)
        )
    frame = pd.concat(held, ignore_index=True)
    frame["forecast"] = frame["forecast"].clip(lower=0)
    return pd.DataFrame(scores), frame[
        ["category_slug", "target", "forecast_date", "actual", "forecast", "baseline"]
    ]


def fit_and_forecast(demand: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """(the next 28 days per category and target with intervals, the fitted models)."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS

    out, fitted = [], {}
    for target in TARGETS:
        sf = StatsForecast(models=[AutoETS(season_length=SEASON)], freq="D", n_jobs=1)
        sf.fit(_long(demand, target))
        predicted = sf.predict(h=HORIZON, level=list(LEVELS))
        fitted[target] = sf
        frame = pd.DataFrame(
            {
                "category_slug": predicted["unique_id"],
                "target": target,
                "forecast_date": predicted["ds"].dt.date,
                "forecast": predicted[MODEL],
            }
        )
        for level in LEVELS:
            frame[f"lo_{level}"] = predicted[f"{MODEL}-lo-{level}"]
            frame[f"hi_{level}"] = predicted[f"{MODEL}-hi-{level}"]
        out.append(frame)
    forecast = pd.concat(out, ignore_index=True)
    # demand is never negative: the intervals of a small series may reach below 0
    numeric = ["forecast"] + [f"{side}_{level}" for level in LEVELS for side in ("lo", "hi")]
    forecast[numeric] = forecast[numeric].clip(lower=0)
    return forecast, fitted


def inventory(shares: pd.DataFrame, forecast: pd.DataFrame, start: dt.date) -> pd.DataFrame:
    """Days of stock left per product and whether it runs out within the horizon."""
    units = forecast[forecast["target"] == "units"]
    per_category = units.groupby("category_slug")["forecast"].sum().rename("category_units")
    frame = shares.join(per_category, on="category_slug")
    frame["forecast_units"] = (frame["share"] * frame["category_units"].fillna(0)).round(2)
    daily = frame["forecast_units"] / HORIZON
    stock = frame["stock_quantity"].astype("float")
    frame["days_of_stock"] = np.where(daily > 0, (stock / daily).round(1), np.nan)
    frame["runs_out"] = frame["stock_quantity"].notna() & (stock < frame["forecast_units"])
    frame["runs_out_on"] = [
        start + dt.timedelta(days=int(d)) if flag else None
        for d, flag in zip(frame["days_of_stock"].fillna(0), frame["runs_out"], strict=True)
    ]
    return frame[
        [
            "product_id",
            "product_title",
            "category_slug",
            "stock_quantity",
            "recent_units",
            "forecast_units",
            "days_of_stock",
            "runs_out",
            "runs_out_on",
        ]
    ].sort_values(["runs_out", "days_of_stock"], ascending=[False, True], ignore_index=True)


# -- tracking ---------------------------------------------------------------------------------
def tracking_uri() -> str:
    """$LAKESHOP_MLFLOW_TRACKING_URI, else a SQLite store under $LAKESHOP_HOME/mlflow. Not
    MLFLOW_TRACKING_URI: mlflow.set_tracking_uri() sets that variable for the whole process
    and its children, so one home's store would leak into the next."""
    configured = os.environ.get("LAKESHOP_MLFLOW_TRACKING_URI")
    if configured:
        return configured
    folder = config.home() / "mlflow"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'mlflow.db'}"


def _log_run(params: dict[str, Any], accuracy: pd.DataFrame, fitted: dict[str, Any]) -> str:
    """One MLflow run, through a client bound to this home's store (no global state)."""
    import logging

    import mlflow

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    client = mlflow.MlflowClient(tracking_uri=tracking_uri())
    experiment = client.get_experiment_by_name(EXPERIMENT)
    experiment_id = (
        experiment.experiment_id
        if experiment
        else client.create_experiment(
            EXPERIMENT, artifact_location=(config.home() / "mlflow" / "artifacts").as_uri()
        )
    )
    run = client.create_run(
        experiment_id, tags={"mlflow.runName": f"forecast {params['trained_through']}"}
    )
    run_id = str(run.info.run_id)
    try:
        for key, value in params.items():
            client.log_param(run_id, key, value)
        for row in accuracy.itertuples():
            name = "model" if row.model == MODEL else "baseline"
            client.log_metric(run_id, f"{row.target}_smape_{name}", float(row.smape))
            client.log_metric(run_id, f"{row.target}_mase_{name}", float(row.mase))
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "statsforecast.pkl"
            path.write_bytes(pickle.dumps(fitted))
            client.log_artifact(run_id, str(path), "model")
    except BaseException:
        client.set_terminated(run_id, "FAILED")
        raise
    client.set_terminated(run_id, "FINISHED")
    return run_id


# -- the command ------------------------------------------------------------------------------
def run_forecast(target: str = "duckdb", history_from: dt.date | None = None) -> Result:
    import time

    from lakeshop.dbt_runner import target_type

    kind = target_type(target) or target
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    with looking(kind) as reader:
        demand = daily_demand(reader, target, history_from)
        last = demand["ds"].max().date()
        shares = product_shares(reader, target, last - dt.timedelta(days=HORIZON - 1))
    seconds["read"] = time.perf_counter() - started

    started = time.perf_counter()
    accuracy, held_out = backtest(demand)
    seconds["backtest"] = time.perf_counter() - started
    started = time.perf_counter()
    forecast, fitted = fit_and_forecast(demand)
    stock = inventory(shares, forecast, last + dt.timedelta(days=1))
    seconds["fit"] = time.perf_counter() - started

    params = {
        "model": f"{MODEL}(season_length={SEASON})",
        "baseline": f"{BASELINE}(season_length={SEASON})",
        "horizon_days": HORIZON,
        "levels": ",".join(map(str, LEVELS)),
        "series": demand["category_slug"].nunique() * len(TARGETS),
        "history_days": demand["ds"].nunique(),
        "trained_through": last.isoformat(),
        "target": target,
    }
    started = time.perf_counter()
    run_id = _log_run(params, accuracy, fitted)
    seconds["track"] = time.perf_counter() - started

    stamp = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    tables = {
        "demand_forecast": forecast.assign(model=MODEL, trained_through=last, run_id=run_id),
        "demand_backtest": held_out.assign(forecast_date=held_out["forecast_date"].dt.date),
        "forecast_accuracy": accuracy.assign(run_id=run_id, trained_at=stamp),
        "inventory_outlook": stock.assign(run_id=run_id),
    }
    started = time.perf_counter()
    schema = layer_schema(target, "forecast")
    with writing(kind) as writer:
        for name, frame in tables.items():
            writer.replace_table(schema, name, frame)
    seconds["write"] = time.perf_counter() - started
    return Result(run_id, int(params["series"]), last, accuracy, forecast, stock, seconds)
