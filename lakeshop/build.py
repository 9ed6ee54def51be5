"""`lakeshop build`: dbt build, then the run report (terminal, markdown, JSON), then alerts."""

from __future__ import annotations

import sys

from lakeshop.alerts import AlertError, send_alerts, should_alert
from lakeshop.dbt_runner import run_dbt, target_dir
from lakeshop.report import build_report, render_terminal, save_report


def run_build(
    dbt_args: list[str],
    target: str | None = None,
    webhook_url: str | None = None,
    sns_topic_arn: str | None = None,
    alert_on: str = "problems",
) -> int:
    """dbt build, the report, the alerts. Exit code: dbt's when it failed, 1 when an
    error-severity test failed, 3 when the build passed but an alert could not be sent."""
    # a build that stops before running anything writes no results: never report the last ones
    (target_dir() / "run_results.json").unlink(missing_ok=True)
    code = run_dbt(["build", *dbt_args], target=target)
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
    if should_alert(report, alert_on):
        try:
            sent = send_alerts(report, path, webhook_url=webhook_url, sns_topic_arn=sns_topic_arn)
            for where in sent:
                print(f"alert       sent to {where}")
        except AlertError as exc:
            print(f"lakeshop build: {exc}", file=sys.stderr)
            exit_code = exit_code or 3
    return exit_code
