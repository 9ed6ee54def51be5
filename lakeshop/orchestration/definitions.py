"""The Dagster definitions: the pipeline as one asset graph, its schedules, its retries and its
alerts. `lakeshop orchestrate` serves them (lakeshop/orchestration/service.py).

The graph, raw to gold:

- `raw_mysql/<table>`: the binlog CDC source (ingestion/mysql_cdc) lands every change log; one
  multi-asset, because one binlog pass captures every table at once;
- `raw_ecommerce_api/<table>`: the REST API source (ingestion/ecommerce_api). Its asset specs
  come from the dlt source itself through dagster-dlt's translator, with the dlt child tables
  the dbt sources read added beside them. The asset runs lakeshop's own runner, not a plain
  `pipeline.run`: that runner checks a fetch is complete before anything is retired;
- `raw_events/<table>`: the event-file source (ingestion/event_files) over the lake's landing
  prefix, started by `lake_landing_sensor` when new objects land there;
- `bronze/...`, `silver/...`, `gold/...`, `seeds/...`: the dbt project through dagster-dbt,
  its data tests as asset checks. Source keys are the raw tables' keys, so the graph is one;
- `lake/quarantine_events`: the rejected event records written back to the lake.

DuckDB takes one writer at a time: each run executes its steps one after another (the in-process
executor) and the instance runs one run at a time (dagster.yaml written by the service), so no
two writers meet. Transient failures (a lost MySQL connection, API 5xx/429, S3 timeouts) are
retried with backoff on the ingestion assets; a failed error-severity dbt test is not retried
and stops everything downstream. Failures are sent to the webhook / SNS topic of `lakeshop
build`'s alerts.
"""

import contextlib
import hashlib
import json
import os
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets
from dagster_dlt import DagsterDltTranslator, build_dlt_asset_specs
from dagster_dlt.translator import DltResourceTranslatorData

from ingestion import config, destinations
from ingestion.destinations import duckdb_path, warehouse_lock
from ingestion.ecommerce_api import ecommerce_api
from ingestion.ecommerce_api.settings import RESOURCES
from lakeshop import changed
from lakeshop.build import with_vars
from lakeshop.dbt_runner import dbt_env, dbt_executable, dbt_target, project_dir

RAW_SCHEMAS = {"mysql": "raw_mysql", "ecommerce_api": "raw_ecommerce_api", "events": "raw_events"}
# a transient failure is retried three times, waiting 10, 20, 40 s (with jitter)
INGESTION_RETRIES = dg.RetryPolicy(
    max_retries=int(os.environ.get("LAKESHOP_ORCHESTRATE_RETRIES", "3")),
    delay=float(os.environ.get("LAKESHOP_ORCHESTRATE_RETRY_DELAY", "10")),
    backoff=dg.Backoff.EXPONENTIAL,
    jitter=dg.Jitter.PLUS_MINUS,
)


# -- the dbt manifest the graph is read from ----------------------------------------------------
def manifest_path() -> Path:
    """The dbt manifest for the definitions, parsed again whenever the project changed."""
    folder = config.home() / "dagster" / "dbt_manifest"
    manifest = folder / "manifest.json"
    stamp = folder / "project.sha256"
    fingerprint = changed.project_fingerprint(project_dir())
    if manifest.exists() and stamp.exists() and stamp.read_text() == fingerprint:
        return manifest
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [dbt_executable(), "parse", "--quiet", "--target-path", str(folder)],
        cwd=project_dir(), env=dbt_env(), capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"dbt parse failed: {(done.stdout + done.stderr)[-2000:]}")
    stamp.write_text(fingerprint)
    return manifest


def raw_tables(manifest: Mapping[str, Any], source: str) -> list[str]:
    """The raw tables of one source that the dbt project reads."""
    return sorted(
        node.get("identifier") or node["name"]
        for node in manifest["sources"].values()
        if node["source_name"] == source
    )


# -- the sources ---------------------------------------------------------------------------------
class ApiTranslator(DagsterDltTranslator):
    """dlt resource -> raw_ecommerce_api/<table>, the key dbt's source of the same table has."""

    def get_asset_spec(self, data: DltResourceTranslatorData) -> dg.AssetSpec:
        spec = super().get_asset_spec(data)
        return spec.replace_attributes(
            key=dg.AssetKey([RAW_SCHEMAS["ecommerce_api"], data.resource.name]),
            deps=[],
            group_name="raw",
            kinds={"dlt", "api"},
        )


def api_specs(manifest: Mapping[str, Any]) -> list[dg.AssetSpec]:
    source = ecommerce_api(f"http://127.0.0.1:{config.api_port()}", resources=tuple(RESOURCES))
    pipe = destinations.pipeline(
        "lakeshop_api_warehouse", destinations.warehouse(), "raw_ecommerce_api"
    )
    specs = [
        spec.replace_attributes(metadata={})  # the dlt objects dagster-dlt attaches stay out
        for spec in build_dlt_asset_specs(source, pipe, ApiTranslator())
    ]
    have = {spec.key for spec in specs}
    for table in raw_tables(manifest, "ecommerce_api"):
        key = dg.AssetKey([RAW_SCHEMAS["ecommerce_api"], table])
        if key not in have:  # a dlt child table (products__reviews, ...), landed with its parent
            specs.append(
                dg.AssetSpec(
                    key,
                    group_name="raw",
                    kinds={"dlt", "api"},
                    description=f"dlt child table {table} of the API source",
                )
            )
    return specs


def cdc_specs(manifest: Mapping[str, Any]) -> list[dg.AssetSpec]:
    return [
        dg.AssetSpec(
            dg.AssetKey([RAW_SCHEMAS["mysql"], table]),
            group_name="raw",
            kinds={"dlt", "mysql"},
            description=f"the binlog change log of the shop's `{table}` table",
        )
        for table in raw_tables(manifest, "mysql")
    ]


def _transient(exc: BaseException) -> bool:
    """Worth another try: the network, a server restarting, a rate limit, a timeout."""
    import pymysql
    import requests

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionError | TimeoutError | pymysql.err.OperationalError
                      | requests.ConnectionError | requests.Timeout):  # fmt: skip
            return True
        text = str(seen)
        if any(mark in text for mark in (" 429", " 500", " 502", " 503", " 504", "timed out")):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _ingest(what: str, run: Any) -> Any:
    try:
        with warehouse_lock():  # the continuous follower and `lakeshop build` wait meanwhile
            return run()
    except Exception as exc:
        if _transient(exc):
            raise  # the RetryPolicy tries again
        raise dg.Failure(f"{what} failed: {exc}", allow_retries=False) from exc


def _targets() -> tuple[str, ...]:
    raw = os.environ.get("LAKESHOP_ORCHESTRATE_TARGETS", "warehouse")
    return tuple(t for t in raw.replace(",", " ").split() if t)


def build_cdc_asset(manifest: Mapping[str, Any]) -> dg.AssetsDefinition:
    @dg.multi_asset(
        name="mysql_cdc", specs=cdc_specs(manifest), retry_policy=INGESTION_RETRIES,
        description="Binlog CDC of the shop's MySQL/MariaDB: snapshot, then every change since.",
    )  # fmt: skip
    def mysql_cdc(context: AssetExecutionContext) -> Iterator[dg.MaterializeResult]:
        from ingestion.mysql_cdc.runner import sync
        from ingestion.mysql_cdc.settings import default_mysql_url

        rows: dict[str, int] = {}
        for target in _targets():
            result = _ingest("MySQL CDC", lambda t=target: sync(default_mysql_url(), t, quiet=True))
            context.log.info(f"CDC into {target}: {result.change_rows:,} change rows")
            for table, n in result.rows.items():
                rows[table] = rows.get(table, 0) + int(n)
        for spec in context.assets_def.specs:
            table = spec.key.path[-1]
            yield dg.MaterializeResult(asset_key=spec.key, metadata={"rows": rows.get(table, 0)})

    return mysql_cdc


def build_api_asset(manifest: Mapping[str, Any]) -> dg.AssetsDefinition:
    @dg.multi_asset(
        name="ecommerce_api", specs=api_specs(manifest), retry_policy=INGESTION_RETRIES,
        description="The e-commerce REST API: every page fetched, checked complete, landed (scd2).",
    )  # fmt: skip
    def ecommerce_api_asset(context: AssetExecutionContext) -> Iterator[dg.MaterializeResult]:
        from ingestion.ecommerce_api.runner import make_auth, sync_api

        base_url = os.environ.get("LAKESHOP_API_URL") or f"http://127.0.0.1:{config.api_port()}"
        auth_kind = os.environ.get("LAKESHOP_API_AUTH", "none")
        result = _ingest(
            "API ingestion",
            lambda: sync_api(base_url, auth=make_auth(base_url, auth_kind), targets=_targets()),
        )
        context.log.info(f"API: {result.records:,} records, {result.http.retries} retries")
        for spec in context.assets_def.specs:
            table = spec.key.path[-1]
            yield dg.MaterializeResult(
                asset_key=spec.key, metadata={"rows": int(result.rows.get(table, 0))}
            )

    return ecommerce_api_asset


def build_events_asset(manifest: Mapping[str, Any]) -> dg.AssetsDefinition:
    specs = [
        dg.AssetSpec(
            dg.AssetKey([RAW_SCHEMAS["events"], table]),
            group_name="raw",
            kinds={"dlt", "s3"},
            description=f"event-file lines landed from the lake's landing prefix: `{table}`",
        )
        for table in raw_tables(manifest, "events")
    ]

    @dg.multi_asset(
        name="event_files", specs=specs, retry_policy=INGESTION_RETRIES,
        description="The new IoT sensor and website event files under the lake's landing prefix.",
    )  # fmt: skip
    def event_files(context: AssetExecutionContext) -> Iterator[dg.MaterializeResult]:
        from ingestion.event_files.runner import sync_events

        result = _ingest("event-file ingestion", sync_events)
        context.log.info(f"event files from {result.url}: {result.files} new")
        for message in result.messages:  # a file rewritten under its name, not taken again
            context.log.warning(message)
        for spec in context.assets_def.specs:
            table = spec.key.path[-1]
            yield dg.MaterializeResult(
                asset_key=spec.key, metadata={"rows": int(result.rows.get(table, 0))}
            )

    return event_files


DISCARD_KEY = dg.AssetKey(["lake", "quarantine_events"])


@dg.asset(
    key=DISCARD_KEY,
    group_name="lake",
    kinds={"s3"},
    deps=[dg.AssetKey(["silver", "sensor_readings_quarantine"]),
          dg.AssetKey(["silver", "website_events_quarantine"])],
    description="The rejected event records, written back to the lake's quarantine/ prefix.",
)  # fmt: skip
def quarantine_events(context: AssetExecutionContext) -> dg.MaterializeResult:
    from lakeshop.events import write_discards

    embedded = changed.target_type(dbt_target()) == "duckdb"
    with warehouse_lock(duckdb_path()) if embedded else contextlib.nullcontext():
        result = write_discards(dbt_target())
    context.log.info(f"{sum(result.records.values())} rejected records to {result.url}")
    return dg.MaterializeResult(
        metadata={"files": result.files, "records": sum(result.records.values()),
                  "removed": result.removed}
    )  # fmt: skip


FORECAST_KEY = dg.AssetKey(["forecast", "demand_forecast"])


@dg.asset(
    key=FORECAST_KEY,
    group_name="forecast",
    kinds={"python"},
    deps=[dg.AssetKey(["gold", "agg_daily_product_sales"]),
          dg.AssetKey(["gold", "dim_products"])],
    description=(
        "The demand forecast retrained (lakeshop forecast): 28 days per category with "
        "intervals, its backtest against seasonal naive, days of stock; an MLflow run."
    ),
)  # fmt: skip
def demand_forecast(context: AssetExecutionContext) -> dg.MaterializeResult:
    from lakeshop.forecast import run_forecast

    result = run_forecast(dbt_target())
    acc = result.accuracy
    context.log.info(acc.to_string(index=False))
    return dg.MaterializeResult(
        metadata={
            "mlflow_run_id": result.run_id,
            "trained_through": result.trained_through.isoformat(),
            "beats_seasonal_naive": str(result.beats_baseline()),
            "products_running_out": int(result.inventory["runs_out"].sum()),
            **{f"{r.target}_{r.model}_smape": float(r.smape) for r in acc.itertuples()},
        }
    )


# -- the dbt project -----------------------------------------------------------------------------
class LakeshopDbtTranslator(DagsterDbtTranslator):
    """Sources keyed by their raw table, models by layer: gold/fct_orders in group gold."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        kind = dbt_resource_props["resource_type"]
        if kind == "source":
            table = dbt_resource_props.get("identifier") or dbt_resource_props["name"]
            return dg.AssetKey([dbt_resource_props["schema"], table])
        if kind == "seed":
            return dg.AssetKey(["seeds", dbt_resource_props["name"]])
        return dg.AssetKey([dbt_resource_props["fqn"][1], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        kind = dbt_resource_props["resource_type"]
        return "seeds" if kind == "seed" else str(dbt_resource_props["fqn"][1])


def build_dbt_asset(manifest: Path) -> dg.AssetsDefinition:
    @dbt_assets(
        manifest=manifest, dagster_dbt_translator=LakeshopDbtTranslator(), name="lakeshop_dbt"
    )
    def lakeshop_dbt(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
        embedded = changed.target_type(dbt_target()) == "duckdb"
        with warehouse_lock(duckdb_path()) if embedded else contextlib.nullcontext():
            # the daily run tests every row; the others the rows written since each test
            # last passed (lakeshop build's vars: macros/changed_rows_filter.sql)
            daily = context.run.job_name == "daily_pipeline"
            args = ["build", *with_vars([], test_all_rows=daily)]
            # dbt's subprocess reads os.environ: the profile, the DuckDB file, the PII salt,
            # set when the run starts (not on import, where they would outlive the caller's)
            os.environ.update(dbt_env())
            invocation = dbt.cli(args, context=context, raise_on_error=False)
            yield from invocation.stream()
            _report_and_alert(context, invocation.target_path, invocation.process.returncode)
        if not invocation.is_successful():
            # deterministic: a failed error-severity test or a model error is not retried
            raise dg.Failure(
                "dbt build failed: see the run report and the failed asset checks",
                allow_retries=False,
            )

    return lakeshop_dbt


def _report_and_alert(context: AssetExecutionContext, target_path: Path, code: int) -> None:
    """lakeshop's run report (and its alerts, on problems) for the dbt step of a run."""
    from lakeshop.alerts import AlertError, send_alerts, should_alert
    from lakeshop.report import build_report, save_report

    previous = os.environ.get("DBT_TARGET_PATH")
    os.environ["DBT_TARGET_PATH"] = str(target_path)
    try:
        report = build_report(code, None)
        path = save_report(report)
        context.log.info(f"run report: {path}")
        if should_alert(report, os.environ.get("LAKESHOP_ALERT_ON", "problems")):
            try:
                for where in send_alerts(report, path):
                    context.log.info(f"alert sent to {where}")
            except AlertError as exc:
                context.log.warning(str(exc))
    finally:
        if previous is None:
            del os.environ["DBT_TARGET_PATH"]
        else:
            os.environ["DBT_TARGET_PATH"] = previous


# -- alerts for every other failure --------------------------------------------------------------
def root_cause(event: Any) -> str:
    """The innermost error of a step failure event, on one line: what broke (an HTTP 500, a
    refused connection), not the wrappers around it."""
    error = getattr(getattr(event, "event_specific_data", None), "error", None)
    while error is not None and (getattr(error, "cause", None) or getattr(error, "context", None)):
        error = error.cause or error.context
    return " ".join(str(getattr(error, "message", "") or "").split())[:500]


# on by default: a failed run that says nothing is the failure an operator finds last
@dg.run_failure_sensor(name="alert_on_run_failure", minimum_interval_seconds=5,
                       default_status=dg.DefaultSensorStatus.RUNNING)  # fmt: skip
def alert_on_run_failure(context: dg.RunFailureSensorContext) -> None:
    """A failed run (ingestion gave up after its retries, dbt failed) to the alert webhook,
    with the step and its root cause."""
    from lakeshop.alerts import AlertError, post_webhook

    url = os.environ.get("LAKESHOP_ALERT_WEBHOOK_URL")
    if not url:
        return
    events = context.get_step_failure_events()
    failed = [e.step_key for e in events if e.step_key]
    causes = [c for c in (root_cause(e) for e in events) if c]
    text = (
        f"lakeshop: Dagster run {context.dagster_run.run_id[:8]} of "
        f"{context.dagster_run.job_name} failed"
        + (f" in {', '.join(failed)}" if failed else "")
        + f": {'; '.join(causes) or context.failure_event.message or ''}"
    )
    try:
        post_webhook(url, {"text": text[:3000]})
    except AlertError as exc:
        context.log.warning(str(exc))


# -- new files in the lake ----------------------------------------------------------------------
EVENTS_JOB = "event_files_pipeline"


def landing_objects() -> dict[str, str]:
    """path -> a version stamp (ETag or modification time) of every object under the lake's
    landing prefix for event files."""
    from ingestion.event_files import landing_url

    fs, base = destinations.lake_filesystem(landing_url())
    if not fs.exists(base):
        return {}
    found: dict[str, str] = {}
    for path, info in fs.find(base, detail=True).items():
        name = str(path).rsplit("/", 1)[-1]
        if info.get("type") == "directory" or name.startswith("."):
            continue
        stamp = info.get("ETag") or info.get("mtime") or info.get("LastModified") or ""
        found[str(path)[len(base.rstrip("/")) :].lstrip("/")] = str(stamp).strip('"')
    return found


@dg.sensor(
    name="lake_landing_sensor", job_name=EVENTS_JOB, default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=int(os.environ.get("LAKESHOP_LAKE_SENSOR_SECONDS", "30")),
    description="New objects under the lake's landing prefix start the event-file pipeline.",
)  # fmt: skip
def lake_landing_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """One run per tick that saw new objects, covering all of them. The cursor holds every
    object seen (with its version), so an object starts exactly one run, also across a
    restart of Dagster (the cursor is in Dagster's storage); an object written again with new
    content starts another. The run itself takes each file exactly once (its own state)."""
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    now = landing_objects()
    new = sorted(p for p, stamp in now.items() if seen.get(p) != stamp)
    if not new:
        return dg.SensorResult(skip_reason="no new objects under the landing prefix")
    seen.update({p: now[p] for p in new})
    key = hashlib.sha256("\n".join(f"{p}@{now[p]}" for p in new).encode()).hexdigest()[:16]
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=key, tags={"lakeshop/new_objects": str(len(new)),
                                                         "lakeshop/first_object": new[0][:200]})],
        cursor=json.dumps(seen, sort_keys=True),
    )  # fmt: skip


# -- jobs and schedules -------------------------------------------------------------------------
everything = dg.AssetSelection.all()


def jobs() -> list[Any]:
    return [
        dg.define_asset_job(
            "daily_pipeline",
            selection=everything,
            executor_def=dg.in_process_executor,
            description="Everything: CDC, the API, every dbt model and test, the forecast.",
        ),
        dg.define_asset_job(
            "hourly_incremental",
            # the forecast is retrained daily, not on every hour's changes
            selection=dg.AssetSelection.key_prefixes([RAW_SCHEMAS["mysql"]]).downstream()
            - dg.AssetSelection.assets(FORECAST_KEY),
            executor_def=dg.in_process_executor,
            description="The binlog's new changes and the dbt models downstream of them.",
        ),
        dg.define_asset_job(
            EVENTS_JOB,
            selection=dg.AssetSelection.key_prefixes([RAW_SCHEMAS["events"]]).downstream(),
            executor_def=dg.in_process_executor,
            description="New event files: ingestion, the dbt models downstream, the discard.",
        ),
    ]


def schedules() -> list[dg.ScheduleDefinition]:
    zone = os.environ.get("LAKESHOP_ORCHESTRATE_TIMEZONE", "UTC")
    return [
        dg.ScheduleDefinition(
            name="daily_pipeline_schedule",
            job_name="daily_pipeline",
            cron_schedule=os.environ.get("LAKESHOP_DAILY_CRON", "0 3 * * *"),
            execution_timezone=zone,
            default_status=dg.DefaultScheduleStatus.RUNNING,
        ),
        dg.ScheduleDefinition(
            name="hourly_incremental_schedule",
            job_name="hourly_incremental",
            cron_schedule=os.environ.get("LAKESHOP_HOURLY_CRON", "15 * * * *"),
            execution_timezone=zone,
            default_status=dg.DefaultScheduleStatus.RUNNING,
        ),
    ]


def build_definitions() -> dg.Definitions:
    path = manifest_path()
    manifest = json.loads(path.read_text())
    return dg.Definitions(
        assets=[
            build_cdc_asset(manifest),
            build_api_asset(manifest),
            build_events_asset(manifest),
            build_dbt_asset(path),
            quarantine_events,
            demand_forecast,
        ],
        jobs=jobs(),
        schedules=schedules(),
        sensors=[alert_on_run_failure, lake_landing_sensor],
        resources={
            "dbt": DbtCliResource(
                project_dir=str(project_dir()),
                profiles_dir=str(project_dir()),
                target=dbt_target(),
                dbt_executable=dbt_executable(),
            )
        },
    )


defs = build_definitions()
