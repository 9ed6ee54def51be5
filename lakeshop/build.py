"""`lakeshop build`: dbt build, then the run report (terminal, markdown, JSON), then alerts.

`--changed-only` builds only the nodes with new input (lakeshop/changed.py) and, with
nothing new, does not start dbt at all.
"""

from __future__ import annotations

import contextlib
import json
import sys
from typing import Any

import yaml

from ingestion.destinations import duckdb_path, warehouse_lock
from lakeshop import changed
from lakeshop.alerts import AlertError, send_alerts, should_alert
from lakeshop.dbt_runner import capture_dbt, dbt_target, project_dir, run_dbt, target_dir
from lakeshop.report import build_report, render_terminal, save_report


def run_build(
    dbt_args: list[str],
    target: str | None = None,
    webhook_url: str | None = None,
    sns_topic_arn: str | None = None,
    alert_on: str = "problems",
    changed_only: bool = False,
    quiet: bool = False,
    test_all_rows: bool = False,
) -> int:
    """dbt build, the report, the alerts. Exit code: dbt's when it failed, 1 when an
    error-severity test failed, 3 when the build passed but an alert could not be sent.

    On the embedded DuckDB file the whole build holds the warehouse lock
    (ingestion.destinations.warehouse_lock): a follower landing changes waits for it, and it
    waits for the follower, instead of either failing on DuckDB's file lock."""
    embedded = changed.target_type(target or dbt_target()) == "duckdb"
    with warehouse_lock(duckdb_path()) if embedded else contextlib.nullcontext():
        return _run_build(
            dbt_args,
            target,
            webhook_url,
            sns_topic_arn,
            alert_on,
            changed_only,
            quiet,
            test_all_rows,
        )


def with_vars(dbt_args: list[str], test_all_rows: bool) -> list[str]:
    """dbt's arguments with lakeshop's vars merged into any --vars given: the fingerprint of
    every project file (a change drops the test ledger's marks, macros and dbt_project.yml
    included, which dbt's graph does not show) and, with `test_all_rows`, every test on
    every row."""
    args = list(dbt_args)
    given: dict[str, Any] = {}
    for i, arg in enumerate(args):
        if arg == "--vars" and i + 1 < len(args):
            given = dict(yaml.safe_load(args[i + 1]) or {})
            del args[i : i + 2]
            break
        if arg.startswith("--vars="):
            given = dict(yaml.safe_load(arg.split("=", 1)[1]) or {})
            del args[i]
            break
    merged = {**given, "lakeshop_project_fingerprint": changed.project_fingerprint(project_dir())}
    if test_all_rows:
        merged["test_changed_rows_only"] = False
    return [*args, "--vars", json.dumps(merged, sort_keys=True)]


def _run_build(
    dbt_args: list[str],
    target: str | None,
    webhook_url: str | None,
    sns_topic_arn: str | None,
    alert_on: str,
    changed_only: bool,
    quiet: bool,
    test_all_rows: bool,
) -> int:
    # the raw tables as this build finds them, before dbt starts (lakeshop/changed.py)
    whole = changed.covers_everything(dbt_args)
    seen = changed.look(target) if whole or changed_only else None
    extra_env = None
    if changed_only:
        plan = changed.plan(dbt_args, seen, target)
        for reason in plan.reasons if not quiet else []:
            print(f"changed-only  {reason}")
        if plan.nothing:
            if not quiet:
                print("lakeshop build: nothing to build; the warehouse is up to date")
            return 0
        if plan.select is not None:
            dbt_args = [*dbt_args, *plan.dbt_args()]
            # a test of a rebuilt model runs even where its other parent was not rebuilt
            extra_env = {"DBT_INDIRECT_SELECTION": "eager"}
    dbt_args = with_vars(dbt_args, test_all_rows)
    # a build that stops before running anything writes no results: never report the last ones
    (target_dir() / "run_results.json").unlink(missing_ok=True)
    if quiet:
        done = capture_dbt(["build", *dbt_args], target=target, extra_env=extra_env)
        code = done.returncode
    else:
        code = run_dbt(["build", *dbt_args], extra_env=extra_env, target=target)
    if quiet and code == 0:
        if seen is not None:
            changed.record_success(seen)
        return 0
    if quiet:
        print(done.stdout[-4000:], file=sys.stderr)
    report = build_report(code, target)
    path = save_report(report)
    print()
    print(render_terminal(report))
    print(f"report      {path}")
    errors = [f for f in report.failures if f.is_error]
    if errors:
        named = "; ".join(f"{f.test} on {f.model}" for f in errors[:5])
        print(
            f"lakeshop build: {len(errors)} error-severity test(s) failed: {named}", file=sys.stderr
        )
    exit_code = code if code != 0 else (1 if errors else 0)
    if exit_code != 0:
        changed.forget(target)
    elif seen is not None:
        changed.record_success(seen)
    if should_alert(report, alert_on):
        try:
            sent = send_alerts(report, path, webhook_url=webhook_url, sns_topic_arn=sns_topic_arn)
            for where in sent:
                print(f"alert       sent to {where}")
        except AlertError as exc:
            print(f"lakeshop build: {exc}", file=sys.stderr)
            exit_code = exit_code or 3
    return exit_code
