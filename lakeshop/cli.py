"""The `lakeshop` command line: services, the synthetic shop, its API, and the demo."""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from collections.abc import Sequence
from typing import Any

from ingestion import config
from ingestion.progress import duration, human, summary
from lakeshop import __version__
from sandbox.services.base import ServiceError
from sandbox.shop.target import shop_mysql


def causes(exc: BaseException) -> list[BaseException]:
    """An exception and those it was raised from or during, outermost first."""
    chain: list[BaseException] = [exc]
    while (nxt := chain[-1].__cause__ or chain[-1].__context__) is not None and nxt not in chain:
        chain.append(nxt)
    return chain


def one_line(exc: BaseException) -> str:
    """The message that names the fix, on one line: of the exceptions dlt wraps ours in (a
    page error inside an extract step inside PipelineStepFailed), the first of lakeshop's
    own, else the innermost."""
    chain = causes(exc)
    ours = [
        e for e in chain if type(e).__module__.split(".")[0] in {"ingestion", "sandbox", "lakeshop"}
    ]
    chosen = ours[0] if ours else chain[-1]
    return " ".join((str(chosen) or type(chosen).__name__).split())


def positive_int(text: str) -> int:
    """An argparse type: a whole number above zero."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def parse_duration(text: str) -> float:
    """'90', '90s', '5m', '1h30m' -> seconds."""
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = re.findall(r"(\d+(?:\.\d+)?)([hms])", text)
    if not parts or "".join(a + b for a, b in parts) != text:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration; use e.g. 90s, 5m or 1h30m")
    scale = {"h": 3600, "m": 60, "s": 1}
    return sum(float(n) * scale[u] for n, u in parts)


def fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not a fraction between 0 and 1")
    return value


# -- services ------------------------------------------------------------------
def _lifecycle(action: str, services: Sequence[Any], title: str, head: str) -> int:
    """start, stop (in reverse order) or list a set of private processes, stopped by PID."""
    if action == "start":
        for s in services:
            print(f"starting {s.name} ...", flush=True)
            s.start()
    elif action == "stop":
        for s in reversed(services):
            was = s.stop()
            print(f"{s.name}: {'stopped' if was else 'was not running'}")
        return 0
    rows: list[tuple[object, ...]] = [(head, "state", "pid", "address")]
    for s in services:
        st = s.status()
        state = "running" if st.running else "stopped"
        rows.append(
            (st.name, state + (f" ({st.note})" if st.note else ""), st.pid or "-", st.address)
        )
    summary(title, rows)
    return 0


def _lifecycle_action(parser: argparse.ArgumentParser) -> None:
    """start (the default), stop or status of a set of processes stopped by PID."""
    parser.add_argument(
        "action", nargs="?", default="start", choices=["start", "stop", "status"],
        help="what to do (default start)",
    )  # fmt: skip


def cmd_services(args: argparse.Namespace) -> int:
    from sandbox.services import all_services

    services = [s for s in all_services() if not args.only or s.name in args.only]
    return _lifecycle(
        args.action, services, f"lakeshop services (state in {config.home()})", "service"
    )


def cmd_follow(args: argparse.Namespace) -> int:
    from lakeshop.follow import follow

    stats = follow(args.mysql_url, idle_seconds=args.idle_seconds, quiet=not args.verbose)
    summary(
        "lakeshop follow stopped",
        [
            ("cycles", stats.cycles),
            ("change rows landed", f"{stats.change_rows:,}"),
            ("builds", f"{stats.builds} ({stats.failed_builds} failed)"),
        ],
    )
    return 0


def cmd_orchestrate(args: argparse.Namespace) -> int:
    from lakeshop.orchestration.service import dagster_home, services

    title = f"lakeshop orchestrate (Dagster instance in {dagster_home()})"
    return _lifecycle(args.action, services(), title, "process")


def cmd_dashboard(args: argparse.Namespace) -> int:
    from lakeshop.dashboard.service import Dashboard

    if args.target:
        import os

        os.environ["LAKESHOP_DASHBOARD_TARGET"] = args.target
    return _lifecycle(
        args.action, [Dashboard()], f"lakeshop dashboard (in {config.home()})", "process"
    )


def cmd_forecast(args: argparse.Namespace) -> int:
    from lakeshop.forecast import BASELINE, HORIZON, MODEL, run_forecast, tracking_uri

    result = run_forecast(args.target, args.history_from)
    rows: list[tuple[object, ...]] = [
        ("series", f"{result.series} (revenue and units per category)"),
        ("trained through", result.trained_through.isoformat()),
        ("horizon", f"{HORIZON} days, 80% and 95% intervals"),
    ]
    acc = result.accuracy.set_index(["target", "model"])
    for target, beats in result.beats_baseline().items():
        m, b = acc.loc[(target, MODEL)], acc.loc[(target, BASELINE)]
        rows.append(
            (
                f"backtest {target}",
                f"sMAPE {m['smape']:.1f} vs {b['smape']:.1f}, MASE {m['mase']:.3f} vs "
                f"{b['mase']:.3f} ({MODEL} vs {BASELINE}: {'better' if beats else 'NOT better'})",
            )
        )
    out = result.inventory
    rows.append(("run out in horizon", f"{int(out['runs_out'].sum()):,} of {len(out):,} products"))
    rows.append(("MLflow run", f"{result.run_id} ({tracking_uri()})"))
    rows.append(("time", ", ".join(f"{k} {duration(v)}" for k, v in result.seconds.items())))
    summary("lakeshop forecast", rows)
    return 0


# -- shop ----------------------------------------------------------------------
def cmd_shop_seed(args: argparse.Namespace) -> int:
    from sandbox.shop.generator import ShopConfig, generate
    from sandbox.shop.seed import seed

    cfg = ShopConfig(
        orders=args.orders,
        seed=args.seed,
        end_date=args.end_date or dt.datetime.now(dt.UTC).date(),
        days=args.days,
        dirt=args.dirt,
    )
    target = shop_mysql(args.mysql_url)
    print(
        f"generating {args.orders:,} orders (seed {cfg.seed}, {cfg.days} days to {cfg.end_date}) ...",
        flush=True,
    )
    started = dt.datetime.now()
    data = generate(cfg)
    gen_seconds = (dt.datetime.now() - started).total_seconds()
    figures = seed(target, data, reset=args.reset)
    rows = [(name, f"{int(figures[name]):,}") for name in data.tables]
    total = sum(data.rows().values())
    rows += [
        ("", ""),
        ("database", target.describe()),
        ("generate", duration(gen_seconds)),
        ("load", f"{duration(figures['seconds'])} ({human(figures['rows_per_second'])} rows/s)"),
        ("total rows", f"{total:,}"),
        ("dirt", f"{cfg.dirt:.1%} of rows per kind"),
    ]
    summary("shop seeded", rows)
    return 0


def cmd_shop_simulate(args: argparse.Namespace) -> int:
    from sandbox.shop.simulate import SimConfig, simulate

    cfg = SimConfig(
        rate=args.rate,
        duration=args.duration,
        seed=args.seed,
        dirt=args.dirt,
        max_transactions=args.transactions,
    )
    target = shop_mysql(args.mysql_url)
    stats = simulate(target, cfg)
    rows: list[tuple[object, ...]] = [
        ("transactions", f"{stats.transactions:,} in {duration(stats.seconds)}"),
        (
            "rows",
            f"{stats.inserted:,} inserted, {stats.updated:,} updated, {stats.deleted:,} deleted",
        ),
        ("", ""),
    ]
    rows += [(op, n) for op, n in stats.operations.most_common()]
    if stats.dirt:
        rows += [
            ("", ""),
            ("dirt injected", ", ".join(f"{k} {v}" for k, v in stats.dirt.most_common())),
        ]
    summary(f"shop simulated on {target.describe()}", rows)
    return 0


# -- api -----------------------------------------------------------------------
def cmd_api(args: argparse.Namespace) -> int:
    from sandbox.shop_api.service import ApiService, serve_forever, server_argv

    service = ApiService(
        config.home() / "api", args.port if hasattr(args, "port") else config.api_port()
    )
    if args.action == "serve" and not args.background:
        serve_forever(args)
        return 0
    if args.action == "serve":
        service.argv = server_argv(args)
        st = service.start()
        print(
            f"API running in the background: {st.address} (pid {st.pid}); stop it with `lakeshop api stop`"
        )
    elif args.action == "stop":
        print("api: " + ("stopped" if service.stop() else "was not running"))
    else:
        st = service.status()
        print(
            f"api: {'running' if st.running else 'stopped'} {st.address} {('pid ' + str(st.pid)) if st.pid else ''}"
        )
    return 0


# -- ingestion -----------------------------------------------------------------
def cmd_ingest_mysql(args: argparse.Namespace) -> int:
    from ingestion.mysql_cdc.runner import sync_targets, verify_target
    from ingestion.mysql_cdc.settings import default_mysql_url

    url = args.mysql_url or default_mysql_url()
    source = url.split("@")[-1]
    if args.verify or args.repair:
        failed = False
        for target in args.to:
            result = verify_target(url, target, tuple(args.include), tuple(args.exclude),
                                   repair=args.repair, quiet=args.quiet)  # fmt: skip
            head = f"{len(result.checks)} table(s), {duration(result.seconds)}, {result.rounds} round(s)"
            rows: list[tuple[object, ...]] = [(f"[{target}]", head)]
            rows += [
                ("  " + name, check.line().split(": ", 1)[1])
                for name, check in sorted(result.checks.items())
            ]
            for name, n in sorted(result.repaired.items()):
                rows.append(("repaired", f"{name}: {n} key(s) captured again"))
            summary(f"mysql CDC verification of {source}", rows)
            failed = failed or result.differing > 0
        return 1 if failed else 0
    results = sync_targets(
        url,
        args.to,
        tuple(args.include),
        tuple(args.exclude),
        follow=args.follow,
        flush_seconds=args.flush_seconds,
        max_rows_per_run=args.max_rows_per_run,
        current_state=args.current_state,
        quiet=args.quiet,
        server_id=args.server_id,
        resnapshot=tuple(args.resnapshot),
        recapture_unlogged=args.recapture_unlogged,
    )
    rows = []
    for r in results:
        rows.append(
            (f"[{r.target}]", f"{r.runs} run(s), {duration(r.seconds)}, binlog at {r.position}")
        )
        arrow = f" ({r.arrow_rows:,} read by connectorx)" if r.arrow_rows else ""
        rows.append(("snapshot rows", f"{r.snapshot_rows:,}{arrow}"))
        compiled = (
            f" ({r.compiled_row_events:,} of {r.row_events:,} row events decoded in C)"
            if r.row_events
            else ""
        )
        rows.append(
            ("change rows", f"{r.change_rows:,} in {r.transactions:,} transactions{compiled}")
        )
        rate = (r.snapshot_rows + r.change_rows) / r.seconds if r.seconds else 0
        rows.append(("rate", f"{human(rate)} rows/s"))
        if r.reconnects:
            rows.append(("reconnects", r.reconnects))
        if r.invalid_values:
            rows.append(("unrepresentable", f"{r.invalid_values:,} zero date(s) landed as NULL"))
        if r.retention is not None:
            rows.append(("binlog", r.retention.describe()))
        for table, n in sorted(r.rows.items()):
            rows.append((f"  {table}", f"{n:,}"))
        for message in r.messages:
            rows.append(("note", message))
    summary(f"mysql CDC from {source}", rows)
    return 0


def cmd_ingest_api(args: argparse.Namespace) -> int:
    from ingestion.ecommerce_api import Paging
    from ingestion.ecommerce_api.runner import make_auth, sync_api

    paging = Paging(args.paging, args.offset_param, args.limit_param, args.page_param,
                    args.page_size_param)  # fmt: skip
    base_url = args.base_url or f"http://127.0.0.1:{config.api_port()}"
    auth = make_auth(base_url, args.auth)
    prefix = (
        args.path_prefix
        if args.path_prefix is not None
        else ("auth/" if args.auth != "none" else "")
    )
    result = sync_api(
        base_url,
        auth,
        tuple(args.to),
        tuple(args.resources),
        args.page_size,
        prefix,
        paging=paging,
        quiet=False,
        envelope=args.envelope,
    )
    h = result.http
    rows: list[tuple[object, ...]] = [
        ("pages", f"{h.pages:,} ({h.requests:,} requests, {duration(result.seconds)})"),
        (
            "records",
            f"{result.records:,} ({human(result.records / result.seconds if result.seconds else 0)}/s)",
        ),
        (
            "retries",
            f"{h.retries} ({', '.join(f'{k} {v}' for k, v in h.by_reason.items()) or 'none'})",
        ),
        ("rate limited", f"{h.throttled} waits"),
        ("re-logins", h.relogins),
        ("raw pages to the lake", result.raw_pages),
        ("", ""),
        ("table", "fetched / new versions / unchanged / retired"),
    ]
    rows += [
        (f"  {t}", f"{v.fetched:,} / {v.new:,} / {v.unchanged:,} / {v.retired:,}")
        for t, v in sorted(result.tables.items())
    ]
    rows += [("note", message) for message in result.messages]
    summary(f"e-commerce API from {base_url}", rows)
    return 0


# -- event files ---------------------------------------------------------------
def _landing(url: str | None) -> str:
    from ingestion.event_files import landing_url

    return url or landing_url()


def cmd_events_simulate(args: argparse.Namespace) -> int:
    import pymysql

    from ingestion import destinations
    from sandbox.events.simulate import EventsConfig, orders_from_shop, simulate_events

    start = (
        dt.datetime.fromisoformat(args.start).replace(tzinfo=dt.UTC)
        if args.start
        else dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
        - dt.timedelta(hours=args.hours)
    )
    orders = []
    if args.from_shop:
        target = shop_mysql(args.mysql_url)
        with pymysql.connect(**target.connect_kwargs()) as conn:  # type: ignore[call-overload]
            orders = orders_from_shop(conn, start, args.hours)
    cfg = EventsConfig(
        seed=args.seed, start=start, hours=args.hours, devices=args.devices,
        sessions_per_hour=args.sessions_per_hour, dirt_rate=args.dirt_rate,
        late_files=args.late_files, gzip=args.gzip, batch=args.batch,
    )  # fmt: skip
    landing = _landing(args.to)
    options = None
    if landing.startswith("s3://"):
        fs, _ = destinations.lake_filesystem(landing)
        options = fs.storage_options
    truth = simulate_events(landing, cfg, orders, storage_options=options)
    sensors, web = truth.total("sensors"), truth.total("web")
    rows: list[tuple[object, ...]] = [
        ("files", f"{len(truth.files)} ({sum(1 for f in truth.files if f.duplicate_of)} "
                  f"delivered twice, {cfg.late_files} late)"),
        ("sensor readings", f"{sensors[0]:,} valid, {sensors[1]:,} dirty"),
        ("website events", f"{web[0]:,} valid, {web[1]:,} dirty"),
        ("sessions with a shop order", f"{len(truth.ordered_sessions()):,}"),
        ("dirt", ", ".join(f"{k} {v}" for k, v in
                           (truth.reasons("sensors") + truth.reasons("web")).most_common())),
    ]  # fmt: skip
    summary(f"event files written to {landing}", rows)
    return 0


def cmd_events_discard(args: argparse.Namespace) -> int:
    from lakeshop.events import write_discards

    result = write_discards(args.target, args.to)
    rows: list[tuple[object, ...]] = [
        ("files written", result.files),
        ("stale files removed", result.removed),
        *((f"  {reason}", n) for reason, n in sorted(result.records.items())),
    ]
    summary(f"rejected event records written to {result.url}", rows)
    return 0


def cmd_ingest_events(args: argparse.Namespace) -> int:
    from ingestion.event_files.runner import sync_events

    result = sync_events(_landing(args.source_url))
    rows: list[tuple[object, ...]] = [
        ("files taken", f"{result.files:,} in {duration(result.seconds)}"),
        *((f"  {t}", f"{n:,} rows") for t, n in sorted(result.rows.items()) if t != "files"),
    ]
    rows += [("note", m) for m in result.messages]
    summary(f"event files from {result.url}", rows)
    return 0


# -- the lake ------------------------------------------------------------------
def cmd_lake_tables(args: argparse.Namespace) -> int:
    from lakeshop.lake import catalog

    tables = catalog(args.lake_url, count_rows=True)
    rows: list[tuple[object, ...]] = [("table", "format, files, rows, partitions, columns")]
    for t in tables:
        span = f"{t.partitions[0]}..{t.partitions[-1]}" if t.partitions else "-"
        rows.append((t.qualified, f"{t.file_format}, {len(t.files)} files, {t.rows:,} rows, "
                                  f"dt {span} ({len(t.partitions)}), {len(t.columns)} columns"))  # fmt: skip
    summary(f"lake tables under {args.lake_url or 'the lake'}", rows)
    return 0


def cmd_lake_copy(args: argparse.Namespace) -> int:
    from lakeshop.lake_copy import copy_lake

    r = copy_lake(args.to, args.prefix, args.lake_url)
    rows: list[tuple[object, ...]] = [
        ("prefixes", ", ".join(p or "(everything)" for p in r.prefixes)),
        ("objects", f"{r.objects:,}"),
        (
            "copied",
            f"{r.copied:,} ({r.bytes_copied / 2**20:,.1f} MiB, {r.mb_per_second:,.1f} MiB/s)",
        ),
        ("unchanged", f"{r.unchanged:,} (checksums equal)"),
        ("recovered", f"{r.recovered:,} (already there after an interrupted copy)"),
        ("time", duration(r.seconds)),
    ]
    summary(f"lake copied from {r.source} to {r.destination}", rows)
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    import csv as csv_module
    import json as json_module

    from lakeshop.lake import query

    columns, rows = query(args.sql, args.lake_url)
    if args.format == "json":
        for row in rows:
            print(json_module.dumps(dict(zip(columns, row, strict=True)), default=str))
    elif args.format == "csv":
        writer = csv_module.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    else:
        shown = [[str(v) for v in row] for row in rows[: args.limit]]
        widths = [max([len(c)] + [len(r[i]) for r in shown]) for i, c in enumerate(columns)]
        print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
        print("  ".join("-" * w for w in widths))
        for r in shown:
            print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))
        more = f" (first {args.limit} shown)" if len(rows) > args.limit else ""
        print(f"({len(rows):,} row{'s' if len(rows) != 1 else ''}{more})")
    return 0


# -- demo, dbt -----------------------------------------------------------------
def cmd_demo(args: argparse.Namespace) -> int:
    from lakeshop.demo import run_demo

    return run_demo(orders=args.orders, seed_value=args.seed, keep_running=args.keep_running)


def cmd_dbt(args: argparse.Namespace) -> int:
    from lakeshop.dbt_runner import run_dbt

    return run_dbt(args.dbt_args)


def cmd_metrics(args: argparse.Namespace) -> int:
    from lakeshop.metrics import run_metrics

    return run_metrics(args.mf_args)


def cmd_build(args: argparse.Namespace) -> int:
    from lakeshop.build import run_build

    return run_build(
        args.dbt_args,
        target=args.target,
        webhook_url=args.webhook_url,
        sns_topic_arn=args.sns_topic_arn,
        alert_on=args.alert_on,
        changed_only=args.changed_only,
        test_all_rows=args.test_all_rows,
    )


def cmd_docs(args: argparse.Namespace) -> int:
    from lakeshop.docs_site import run_docs

    return run_docs(port=args.port, serve=not args.no_serve, target=args.target)


def cmd_quality(args: argparse.Namespace) -> int:
    from lakeshop.quality import run_quality

    return run_quality(args.fail_project_under, args.fail_any_item_under, args.show)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lakeshop",
        description=(
            "lakeshop turns an online shop's MySQL database and REST API into trusted analytics: "
            "CDC and API ingestion with dlt, medallion models with dbt. State lives in "
            "$LAKESHOP_HOME (default ./.lakeshop)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"lakeshop {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show the full traceback when a command fails"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "services",
        help="start, stop or list the private MariaDB, PostgreSQL and S3 servers",
        description=(
            "Private local servers on 127.0.0.1 only, each with its own state folder under "
            "$LAKESHOP_HOME, stopped by PID. MariaDB (binary log on, port $LAKESHOP_MARIADB_PORT, "
            "default 3307), PostgreSQL (port $LAKESHOP_POSTGRES_PORT, default 5433) and an S3 "
            "endpoint with the lake bucket (port $LAKESHOP_S3_PORT, default 5010). Starting a "
            "running service or stopping a stopped one is harmless."
        ),
    )
    p.add_argument("action", choices=["start", "stop", "status"], help="what to do")
    p.add_argument(
        "--only", nargs="+", choices=["mariadb", "postgres", "s3"], help="just these services"
    )
    p.set_defaults(func=cmd_services)

    p = sub.add_parser(
        "follow",
        help="continuous CDC into the warehouse, with the models kept built",
        description=(
            "Follow the binlog: land each batch of changes, then build the nodes with new "
            "input (lakeshop build --changed-only), and again, until Ctrl-C or SIGTERM. "
            "Every step holds the embedded warehouse's lock only while it uses the file, so "
            "scheduled runs (lakeshop orchestrate) and lakeshop build take turns with it."
        ),
    )
    p.add_argument("--mysql-url", help="the server to capture (default: $LAKESHOP_CDC_URL)")
    p.add_argument(
        "--idle-seconds", type=float, default=1.0,
        help="wait this long when nothing is new (default 1)",
    )  # fmt: skip
    p.add_argument("--verbose", action="store_true", help="print every cycle and dbt's output")
    p.set_defaults(func=cmd_follow)

    p = sub.add_parser(
        "orchestrate",
        help="start, stop or show the Dagster UI and daemon that run the pipeline",
        description=(
            "The pipeline on Dagster (lakeshop/orchestration/definitions.py): one asset graph "
            "from the raw CDC and API tables to the gold marts, dbt tests as asset checks, a "
            "daily and an hourly schedule ($LAKESHOP_DAILY_CRON, $LAKESHOP_HOURLY_CRON), "
            "retries of transient failures, alerts to $LAKESHOP_ALERT_WEBHOOK_URL. `start` "
            "runs dagster-webserver on 127.0.0.1:$LAKESHOP_DAGSTER_PORT (default 3070) and "
            "dagster-daemon with SQLite storage under $LAKESHOP_HOME/dagster, both stopped by "
            "PID with `stop`."
        ),
    )
    _lifecycle_action(p)
    p.set_defaults(func=cmd_orchestrate)

    p = sub.add_parser(
        "dashboard",
        help="start, stop or show the Streamlit dashboard over the gold marts",
        description=(
            "The dashboard (lakeshop/dashboard/app.py): overview, products, customers, carts, "
            "forecast, inventory and data quality pages over the gold marts and the forecast "
            "tables, read-only. `start` serves it on 127.0.0.1:$LAKESHOP_DASHBOARD_PORT "
            "(default 8501), stopped by PID with `stop`."
        ),
    )
    _lifecycle_action(p)
    p.add_argument("--target", help="dbt target whose warehouse to read (default duckdb)")
    p.set_defaults(func=cmd_dashboard)

    p = sub.add_parser(
        "forecast",
        help="forecast demand per category for 28 days, backtest it, and the stock it leaves",
        description=(
            "Daily revenue and units per category from the gold marts; statsforecast's "
            "AutoETS (weekly season) backtested on the last 28 days against the "
            "seasonal-naive baseline (sMAPE, MASE), refitted and forecast 28 days ahead with "
            "80%/95% intervals; days of stock left per product. Written to the warehouse's "
            "forecast schema; each run logged to MLflow under $LAKESHOP_HOME/mlflow."
        ),
    )
    p.add_argument(
        "--target", default="duckdb", help="dbt target to read and write (default duckdb)"
    )
    p.add_argument(
        "--history-from",
        type=dt.date.fromisoformat,
        metavar="YYYY-MM-DD",
        help="train on the days from this one on (after a week or more without any sale, "
        "which lakeshop forecast otherwise refuses to fit across)",
    )
    p.set_defaults(func=cmd_forecast)

    shop = sub.add_parser(
        "shop",
        help="seed or simulate the synthetic shop's MySQL database",
        description="The synthetic online shop: the source system lakeshop ingests.",
    )
    shop_sub = shop.add_subparsers(dest="shop_command", required=True, metavar="ACTION")
    p = shop_sub.add_parser(
        "seed",
        help="create the shop schema and bulk-load a generated history",
        description=(
            "Create the shop tables and bulk-load a year of generated history: customers, "
            "addresses, categories, products, orders, order items, payments and shipments, with "
            "daily and seasonal rhythms, long-tail product popularity, repeat customers and a "
            "configurable fraction of dirty data. The same --seed and --end-date give the same shop."
        ),
    )
    p.add_argument("--orders", type=int, default=20_000, help="number of orders (default 20000)")
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.add_argument(
        "--end-date",
        type=dt.date.fromisoformat,
        help="last day of history, YYYY-MM-DD (default today, UTC)",
    )
    p.add_argument("--days", type=int, default=365, help="days of history (default 365)")
    p.add_argument(
        "--dirt",
        type=fraction,
        default=0.02,
        help="fraction of rows dirtied per kind of dirt (default 0.02)",
    )
    p.add_argument(
        "--reset", action="store_true", help="drop and recreate the shop tables if they hold data"
    )
    p.add_argument(
        "--mysql-url",
        help="mysql://user:pass@host:port/db (default: $LAKESHOP_MYSQL_URL or the private MariaDB)",
    )
    p.set_defaults(func=cmd_shop_seed)

    p = shop_sub.add_parser(
        "simulate",
        help="keep writing to the shop like production",
        description=(
            "Write to the shop like production: new orders (multi-row transactions), status "
            "transitions, cancellations, customer deletions, price changes, new customers, and "
            "a --dirt fraction of bad writes. Every transaction is atomic, so stopping it (Ctrl-C) "
            "at any time leaves a consistent shop."
        ),
    )
    p.add_argument("--rate", type=float, default=5.0, help="transactions per second (default 5)")
    p.add_argument(
        "--duration", type=parse_duration, default=60.0, help="how long, e.g. 90s, 5m (default 60s)"
    )
    p.add_argument("--transactions", type=int, help="stop after this many transactions")
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.add_argument(
        "--dirt",
        type=fraction,
        default=0.02,
        help="fraction of dirty writes per kind (default 0.02)",
    )
    p.add_argument(
        "--mysql-url",
        help="shop database URL (default: $LAKESHOP_MYSQL_URL or the private MariaDB)",
    )
    p.set_defaults(func=cmd_shop_simulate)

    api = sub.add_parser(
        "api",
        help="the local e-commerce REST API (DummyJSON contract)",
        description="A local REST API with DummyJSON's contract over the shop's products, users and carts.",
    )
    api_sub = api.add_subparsers(dest="action", required=True, metavar="ACTION")
    from sandbox.shop_api.service import add_server_arguments

    p = api_sub.add_parser(
        "serve",
        help="serve the API (foreground, or --background)",
        description=(
            "Serve GET /products, /products/categories, /products/{id}, /carts, /users (limit/skip "
            "paging, select=), POST /auth/login for bearer tokens (/auth/... routes need one), a "
            "rate limiter answering 429 with Retry-After, and switchable faults. Products and users "
            "are the shop's own (same ids and SKUs)."
        ),
    )
    p.add_argument(
        "--port",
        type=int,
        default=config.api_port(),
        help="port on 127.0.0.1 (default $LAKESHOP_API_PORT or 8010)",
    )
    p.add_argument(
        "--background", action="store_true", help="run detached; stop with `lakeshop api stop`"
    )
    add_server_arguments(p)
    p.set_defaults(func=cmd_api)
    for action, text, long in (
        ("stop", "stop the background API",
         "Stop the API started with `lakeshop api serve --background`, by the PID in its state "
         "folder under $LAKESHOP_HOME/api. Stopping an API that is not running is harmless."),
        ("status", "is the background API running?",
         "Say whether the API started with `lakeshop api serve --background` is running, with "
         "its process id and address. A foreground `lakeshop api serve` is not tracked."),
    ):  # fmt: skip
        p = api_sub.add_parser(action, help=text, description=long)
        p.set_defaults(func=cmd_api)

    lake = sub.add_parser(
        "lake",
        help="the lake's catalog: every table of every dataset, its files and partitions",
        description="The lake as a catalog (dlt's stored schemas), for `lakeshop query`.",
    )
    lake_sub = lake.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = lake_sub.add_parser(
        "tables",
        help="list the lake's tables with their format, files, rows, partitions and columns",
        description=(
            "List every table the sources landed in the lake ($LAKESHOP_LAKE_URL: a folder or "
            "s3://), one per dlt dataset and table, with its file format, files, rows, dt= "
            "partitions and the columns of dlt's stored schema."
        ),
    )
    p.add_argument(
        "--lake-url", help="the lake (default $LAKESHOP_LAKE_URL or $LAKESHOP_HOME/lake)"
    )
    p.set_defaults(func=cmd_lake_tables)
    p = lake_sub.add_parser(
        "copy",
        help="copy lake prefixes to Azure (ADLS Gen2 / Blob), only new or changed objects",
        description=(
            "Copy the chosen prefixes of the lake (local or s3://) to an az://container/prefix: "
            "each object's MD5 is compared with the one recorded at the destination, so only "
            "new or changed objects move; a killed copy resumes, a repeated one moves nothing. "
            "Credentials: AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT_NAME and "
            "AZURE_STORAGE_ACCOUNT_KEY."
        ),
    )
    p.add_argument("--to", required=True, help="az://container/prefix")
    p.add_argument(
        "--prefix", action="append", default=[],
        help="a lake prefix to copy, e.g. raw_mysql (repeatable; default everything)",
    )  # fmt: skip
    p.add_argument(
        "--lake-url", help="the lake (default $LAKESHOP_LAKE_URL or $LAKESHOP_HOME/lake)"
    )
    p.set_defaults(func=cmd_lake_copy)

    p = sub.add_parser(
        "query",
        help="run SQL over the lake's files, no warehouse needed",
        description=(
            "Run one SQL query over the lake: every table is a view <dataset>.<table> over its "
            "parquet or JSON files (typed from dlt's stored schema, the dt partition as a "
            "column), in an in-memory DuckDB (httpfs for s3://). It never opens the warehouse. "
            'Example: lakeshop query "select dt, count(*) from raw_mysql.orders group by dt"'
        ),
    )
    p.add_argument("sql", help="the query (DuckDB SQL)")
    p.add_argument(
        "--format",
        choices=["table", "csv", "json"],
        default="table",
        help="output format (default table)",
    )
    p.add_argument("--limit", type=int, default=50, help="rows shown as a table (default 50)")
    p.add_argument(
        "--lake-url", help="the lake (default $LAKESHOP_LAKE_URL or $LAKESHOP_HOME/lake)"
    )
    p.set_defaults(func=cmd_query)

    events = sub.add_parser(
        "events",
        help="simulate event files, or write rejected event records back to the lake",
        description="The shop's IoT sensor and website event files.",
    )
    events_sub = events.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = events_sub.add_parser(
        "simulate",
        help="write sensor and website event files to the landing prefix",
        description=(
            "Write one sensor file and one website file per hour window (JSON lines and CSV "
            "in turn) under the landing prefix: readings of every device every 10 minutes, "
            "website sessions with page and product views, add-to-cart and checkout. "
            "Deterministic under --seed. Dirt at --dirt-rate: out-of-range readings, wrong "
            "units, malformed lines, unknown event types, files delivered twice; --late-files "
            "early hours arrive last with an old modification time. --from-shop adds a "
            "session ending in each shop order placed in the window."
        ),
    )
    p.add_argument("--to", help="landing prefix: a folder or s3:// (default $LAKESHOP_EVENTS_URL)")
    p.add_argument("--hours", type=int, default=6, help="hour windows to write (default 6)")
    p.add_argument("--start", help="first hour, ISO 8601 UTC (default: --hours before now)")
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.add_argument("--devices", type=int, default=12, help="sensor devices (default 12)")
    p.add_argument(
        "--sessions-per-hour", type=int, default=40, help="website sessions per hour (default 40)"
    )
    p.add_argument(
        "--dirt-rate", type=fraction, default=0.02, help="share of dirty lines (default 0.02)"
    )
    p.add_argument(
        "--late-files", type=int, default=1, help="early hours delivered last (default 1)"
    )
    p.add_argument("--gzip", action="store_true", help="gzip the files")
    p.add_argument("--batch", default="0", help="part of every file name (default 0)")
    p.add_argument(
        "--from-shop", action="store_true", help="sessions for the shop's orders in the window"
    )
    p.add_argument("--mysql-url", help="shop database URL (default: the private MariaDB)")
    p.set_defaults(func=cmd_events_simulate)
    p = events_sub.add_parser(
        "discard",
        help="write the rejected event records to the lake's quarantine/ prefix",
        description=(
            "Write every sensor reading and website event silver quarantines to "
            "<lake>/quarantine/events/<file>.rejected.jsonl ($LAKESHOP_EVENTS_DISCARD_URL), one "
            "JSON line per record with its line, rule and values as written; remove the files "
            "of records no longer rejected. Run after `lakeshop build`."
        ),
    )
    p.add_argument("--to", help="the discard prefix (default <lake>/quarantine/events)")
    p.add_argument("--target", help="dbt target to read (default $LAKESHOP_DBT_TARGET or duckdb)")
    p.set_defaults(func=cmd_events_discard)

    ingest = sub.add_parser(
        "ingest",
        help="run an ingestion source into the lake and the warehouse",
        description="Ingestion sources built on dlt.",
    )
    ingest_sub = ingest.add_subparsers(dest="source", required=True, metavar="SOURCE")
    p = ingest_sub.add_parser(
        "mysql",
        help="MySQL/MariaDB binlog CDC: snapshot, then inserts/updates/deletes",
        description=(
            "Capture a MySQL/MariaDB database: a consistent snapshot of the selected tables "
            "(resumable, in primary-key chunks), then every insert, update, delete and schema "
            "change from the binary log. Change logs land append-only in the lake (parquet, "
            "date partitions) and in the warehouse's raw_mysql schema. Each run stops at the "
            "server's position when it started; run it again (or use --follow) to continue. "
            "Progress is kept with the data, so an interrupted run can simply be run again."
        ),
    )
    p.add_argument(
        "--mysql-url",
        help="mysql://user:pass@host:port/db of a CDC user (default: $LAKESHOP_CDC_URL or the private MariaDB)",
    )
    p.add_argument(
        "--include", nargs="+", default=["*"], help="table name patterns to capture (default: all)"
    )
    p.add_argument("--exclude", nargs="+", default=[], help="table name patterns to leave out")
    p.add_argument(
        "--to",
        nargs="+",
        choices=["lake", "warehouse"],
        default=["lake", "warehouse"],
        help="where to land (default: both)",
    )
    p.add_argument(
        "--follow", action="store_true", help="keep streaming; land every --flush-seconds"
    )
    p.add_argument(
        "--flush-seconds",
        type=float,
        default=2.0,
        help="with --follow: how often to land (default 2)",
    )
    p.add_argument(
        "--max-rows-per-run",
        type=int,
        default=500_000,
        help="rows per load package (default 500000)",
    )
    p.add_argument(
        "--current-state",
        action="store_true",
        help="also keep <table>__current tables by dlt merge",
    )
    p.add_argument(
        "--resnapshot",
        nargs="+",
        default=[],
        metavar="TABLE",
        help="capture these tables again by incremental snapshot, while streaming goes on",
    )
    p.add_argument(
        "--recapture-unlogged",
        action="store_true",
        help="when the binary log holds changes without their rows (a session with "
        "binlog_format=STATEMENT or binlog_row_image other than FULL), capture the tables "
        "again past them instead of stopping",
    )
    p.add_argument(
        "--verify",
        action="store_true",
        help="compare the source with the landed current state chunk by chunk (exit 1 on a difference)",
    )
    p.add_argument(
        "--repair", action="store_true", help="verify, then capture the differing keys again"
    )
    p.add_argument(
        "--server-id",
        type=int,
        help="replica id of the binlog connection (default: derived from the pipeline; unique per follower)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_ingest_mysql)

    p = ingest_sub.add_parser(
        "api",
        help="the e-commerce REST API: products, categories, carts, users",
        description=(
            "Fetch the e-commerce API (DummyJSON contract) with dlt's rest_api: limit/skip "
            "paging, bearer login with re-login on expiry or an API key, retries that honour "
            "Retry-After and re-fetch cut-off or invalid pages. Normalized tables (child tables "
            "for reviews, tags, images and cart lines) land in the warehouse's raw_ecommerce_api "
            "schema as scd2 versions keyed by content hash, so unchanged records add nothing; "
            "the raw responses land in the lake as gzipped JSON lines."
        ),
    )
    p.add_argument("--base-url", help="API root (default: the local API at $LAKESHOP_API_PORT)")
    p.add_argument(
        "--auth",
        choices=["none", "login", "api_key"],
        default="none",
        help="login uses LAKESHOP_API_USERNAME/PASSWORD; api_key uses LAKESHOP_API_KEY",
    )
    p.add_argument(
        "--path-prefix", help="prefix for resource paths (default: auth/ when authenticated)"
    )
    p.add_argument(
        "--resources",
        nargs="+",
        default=["products", "product_categories", "carts", "users"],
        metavar="RESOURCE",
        help="which of products, product_categories, carts, users to fetch (default all); an API "
        "that serves only some of them needs this (json-server with DummyJSON's files serves no "
        "product_categories: --resources products carts users)",
    )
    p.add_argument(
        "--page-size", type=positive_int, default=100, help="records per page (default 100)"
    )
    p.add_argument(
        "--paging",
        choices=["offset", "page_number", "link_header"],
        default="offset",
        help="offset: limit/skip/total (DummyJSON, default); page_number: page/per_page, stops at "
        "the X-Total-Count header; link_header: follows Link rel=next. Every run checks the "
        "records fetched against the total the API advertises and fails before landing "
        "anything when they differ",
    )
    p.add_argument(
        "--offset-param",
        default="skip",
        help="offset paging's offset (default skip; json-server: _start)",
    )
    p.add_argument(
        "--limit-param",
        default="limit",
        help="offset paging's page size (default limit; json-server: _limit)",
    )
    p.add_argument(
        "--page-param",
        default="page",
        help="page_number/link_header: the page (default page; json-server: _page)",
    )
    p.add_argument(
        "--page-size-param",
        default="per_page",
        help="page_number/link_header: the page size (default per_page; json-server: _limit)",
    )
    p.add_argument(
        "--no-envelope",
        dest="envelope",
        action="store_false",
        help='the API answers with the list of records itself, not {"products": [...], "total": N}',
    )
    p.add_argument(
        "--to",
        nargs="+",
        choices=["lake", "warehouse"],
        default=["warehouse", "lake"],
        help="where the records land: the warehouse tables, the raw pages in the lake (default both)",
    )
    p.set_defaults(func=cmd_ingest_api)

    p = ingest_sub.add_parser(
        "events",
        help="event files (IoT sensors, website events) from the lake's landing prefix",
        description=(
            "Take every new file under the landing prefix ($LAKESHOP_EVENTS_URL, default "
            "<lake>/landing/events; a folder, s3:// or az://) with dlt's filesystem source: "
            "sensors/... and web/..., JSON lines or CSV, gzipped or not. Each file is taken "
            "once (the files taken are the cursor, committed with the rows), every line lands "
            "with its file and line number, a line that does not parse keeps its text, and a "
            "file delivered twice is flagged. Rows land in the warehouse's raw_events schema."
        ),
    )
    p.add_argument(
        "--from", dest="source_url", help="the landing prefix (default $LAKESHOP_EVENTS_URL)"
    )
    p.set_defaults(func=cmd_ingest_events)

    p = sub.add_parser(
        "demo",
        help="run the whole pipeline end to end on this machine",
        description=(
            "Start the private services, seed a small shop, simulate some production traffic, "
            "serve the API, run the ingestion and dbt models that exist, and print where the "
            "warehouse file, the lake folder and the docs site are."
        ),
    )
    p.add_argument("--orders", type=int, default=20_000, help="orders to seed (default 20000)")
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.add_argument(
        "--keep-running",
        action="store_true",
        help="leave the services running afterwards and start the orchestrator (Dagster UI)",
    )
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "build",
        help="dbt build, then a run report (terminal and markdown) and optional alerts",
        description=(
            "Run `dbt build`, then report models built, tests passed/warned/failed (with "
            "sample rows of failing tests), rows quarantined per rule with the change since "
            "the last run, and source freshness, in the terminal and as markdown under "
            "$LAKESHOP_HOME/reports/. Exits non-zero when dbt fails or an error-severity test "
            "fails; 3 when only an alert could not be delivered. Any other option goes to dbt "
            "build, e.g. `lakeshop build --select gold --full-refresh`."
        ),
    )
    p.add_argument("--target", help="dbt target (default: $LAKESHOP_DBT_TARGET or duckdb)")
    p.add_argument(
        "--webhook-url",
        help="Slack-compatible incoming webhook (default: $LAKESHOP_ALERT_WEBHOOK_URL)",
    )
    p.add_argument(
        "--sns-topic-arn", help="SNS topic to publish to (default: $LAKESHOP_ALERT_SNS_TOPIC_ARN)"
    )
    p.add_argument(
        "--alert-on",
        choices=["problems", "failures", "always", "never"],
        default="problems",
        help="problems (default): failures, test warnings, stale sources, growing quarantine",
    )
    p.add_argument(
        "--changed-only",
        action="store_true",
        help=(
            "build only what has new input since the last successful build: raw tables with "
            "new rows, project changes (state:modified), orders due for release; nothing "
            "new: dbt does not start (DuckDB and PostgreSQL targets)"
        ),
    )
    p.add_argument(
        "--test-all-rows",
        action="store_true",
        help=(
            "every test reads every row (by default a test of a model that stamps its rows "
            "reads only those written since it last passed: the changed_rows meta)"
        ),
    )
    # every other option goes to dbt build as it is (--select, --exclude, --full-refresh)
    p.set_defaults(func=cmd_build, dbt_args=[])

    p = sub.add_parser(
        "docs",
        help="generate the dbt docs site (and its single-file variant) and serve it",
        description=(
            "dbt docs generate --static into target/ (index.html with manifest and catalog, "
            "and static_index.html with everything inlined), then serve target/ on 127.0.0.1."
        ),
    )
    p.add_argument("--port", type=int, default=8080, help="port to serve on (default 8080)")
    p.add_argument("--no-serve", action="store_true", help="generate only")
    p.add_argument("--target", help="dbt target whose catalog to read (default duckdb)")
    p.set_defaults(func=cmd_docs)

    p = sub.add_parser(
        "quality",
        help="the dbt project quality gate: dbt-score on the manifest",
        description=(
            "dbt parse, then dbt-score with the rules and thresholds in pyproject.toml "
            "[tool.dbt-score]: descriptions, tests on every model, names per layer, "
            "description, loader and freshness on every source."
        ),
    )
    p.add_argument("--fail-project-under", type=float, help="override the project threshold")
    p.add_argument("--fail-any-item-under", type=float, help="override the per-item threshold")
    p.add_argument(
        "--show",
        choices=["all", "failing-items", "failing-rules"],
        help="what dbt-score lists: every item, the failing rules of failing items, or the failing rules of all items (its default)",
    )
    p.set_defaults(func=cmd_quality)

    p = sub.add_parser(
        "dbt",
        help="run dbt in the project with lakeshop's profile",
        description="Run dbt with the project's profile (profiles.yml, created from profiles.yml.example if missing).",
    )
    p.add_argument(
        "dbt_args", nargs=argparse.REMAINDER, help="arguments for dbt, e.g. build --target postgres"
    )
    p.set_defaults(func=cmd_dbt)

    p = sub.add_parser(
        "metrics",
        help="query the semantic layer's metrics with MetricFlow (mf)",
        description=(
            "Run MetricFlow's `mf` on the project's semantic layer (models/gold/semantic/) "
            "after writing its semantic manifest with `dbt parse`. Without arguments it "
            "lists the metrics. Example: lakeshop metrics query --metrics revenue,orders "
            "--group-by metric_time__month"
        ),
    )
    p.add_argument(
        "mf_args",
        nargs=argparse.REMAINDER,
        help="arguments for mf, e.g. query --metrics revenue --group-by metric_time__day",
    )
    p.set_defaults(func=cmd_metrics)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    # `lakeshop build` passes the options it does not know to dbt build (--select, --exclude).
    args, unknown = parser.parse_known_args(argv)
    if unknown and args.command not in ("build", "metrics"):
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if unknown and args.command == "metrics":
        args.mf_args = [*unknown, *args.mf_args]
    elif unknown:
        args.dbt_args = [*unknown, *args.dbt_args]
    try:
        return int(args.func(args) or 0)
    except ServiceError as exc:
        if args.debug:
            raise
        print(f"lakeshop: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        if any(isinstance(e, KeyboardInterrupt) for e in causes(exc)):
            print("\ninterrupted", file=sys.stderr)  # dlt wraps a Ctrl-C in its step error
            return 130
        print(f"lakeshop: {one_line(exc)} (--debug shows the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
