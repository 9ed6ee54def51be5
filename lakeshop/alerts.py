"""Run alerts: a Slack-compatible webhook and an SNS topic, both optional.

Configure either by flag or environment: LAKESHOP_ALERT_WEBHOOK_URL (any endpoint that
takes Slack's incoming-webhook JSON: Slack, Mattermost, Teams workflows, a local receiver)
and LAKESHOP_ALERT_SNS_TOPIC_ARN (boto3's usual credential chain; AWS_ENDPOINT_URL_SNS or
AWS_ENDPOINT_URL for a local endpoint; the region defaults to the one in the ARN).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import requests

from lakeshop.report import HISTORY_ENTITIES, RunReport, change_label

ALERT_ON = ("problems", "failures", "always", "never")
ATTEMPTS = 3


class AlertError(RuntimeError):
    """An alert that was configured could not be delivered."""


def should_alert(report: RunReport, alert_on: str) -> bool:
    """failures: the build failed; problems (default): also test warnings, stale sources
    and a rule whose quarantine grew; always: every run; never: no alerts."""
    if alert_on not in ALERT_ON:
        raise ValueError(f"alert_on must be one of {', '.join(ALERT_ON)}, not {alert_on!r}")
    if alert_on == "never":
        return False
    if alert_on == "always" or report.failed:
        return True
    return alert_on == "problems" and (report.warned or report.quarantine_grew)


def summary_lines(report: RunReport) -> list[str]:
    lines = [
        f"models: {sum(report.models.values())}, data tests: "
        + ", ".join(f"{n} {status}" for status, n in sorted(report.tests.items())),
    ]
    lines += [f"note: {note}" for note in report.notes]
    for failure in report.failures[:10]:
        column = f".{failure.column}" if failure.column else ""
        rows = f" ({failure.failures} rows)" if failure.failures is not None else ""
        lines.append(
            f"{failure.status.upper()} [{failure.severity}] {failure.test} on "
            f"{failure.model}{column}{rows}"
        )
        for row in failure.sample[:3]:
            lines.append("    " + ", ".join(f"{k}={v}" for k, v in row.items()))
    for key, n in report.quarantine.items():
        new = (report.new_findings or {}).get(key, 0)
        if new:
            lines.append(f"quarantine {key}: {new:,} new finding(s), {n:,} quarantined now")
            continue
        if key.split(":")[0] in HISTORY_ENTITIES:
            continue  # nothing new: the same rows as before, or fewer
        before = report.previous(key)
        if before is not None and n > before:
            lines.append(f"quarantine {key}: {n} ({change_label(n, before)})")
    stale = [f.source for f in report.freshness if f.status != "pass"]
    if stale:
        lines.append(f"stale sources: {', '.join(stale)}")
    return lines


def slack_payload(report: RunReport, report_path: Path) -> dict[str, Any]:
    """Slack incoming-webhook JSON: `text` for notifications and clients without blocks."""
    icon = {"failed": ":red_circle:", "warning": ":warning:", "passed": ":white_check_mark:"}[
        report.status
    ]
    body = "\n".join(summary_lines(report))
    return {
        "text": f"{icon} {report.headline}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": report.headline[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": f"```{body[:2900]}```"}},
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"invocation `{report.invocation_id}` · report `{report_path}`",
                    }
                ],
            },
        ],
    }


def post_webhook(url: str, payload: dict[str, Any]) -> None:
    last = ""
    for attempt in range(ATTEMPTS):
        try:
            response = requests.post(url, json=payload, timeout=10)
            if response.status_code < 300:
                return
            last = f"HTTP {response.status_code}: {response.text[:200]}"
            if response.status_code < 500 and response.status_code != 429:
                break
        except requests.RequestException as exc:
            last = str(exc)
        time.sleep(0.5 * 2**attempt)
    raise AlertError(f"the webhook alert to {url} was not delivered ({last}); check the URL")


def publish_sns(topic_arn: str, report: RunReport, report_path: Path) -> str:
    import boto3
    import botocore.exceptions

    parts = topic_arn.split(":")
    if len(parts) != 6 or parts[:3] != ["arn", "aws", "sns"]:
        raise AlertError(f"{topic_arn!r} is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or parts[3]
    client = boto3.client("sns", region_name=region)
    message = "\n".join([report.headline, *summary_lines(report), f"report: {report_path}"])
    try:
        response = client.publish(
            TopicArn=topic_arn,
            Subject=report.headline[:100],
            Message=message,
            MessageAttributes={
                "status": {"DataType": "String", "StringValue": report.status},
                "target": {"DataType": "String", "StringValue": report.target},
            },
        )
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise AlertError(f"the SNS alert to {topic_arn} was not published ({exc})") from exc
    return str(response["MessageId"])


def send_alerts(
    report: RunReport,
    report_path: Path,
    webhook_url: str | None = None,
    sns_topic_arn: str | None = None,
) -> list[str]:
    """Send to every configured destination; raise AlertError naming each that failed, after
    trying them all."""
    webhook_url = webhook_url or os.environ.get("LAKESHOP_ALERT_WEBHOOK_URL") or None
    sns_topic_arn = sns_topic_arn or os.environ.get("LAKESHOP_ALERT_SNS_TOPIC_ARN") or None
    sent, errors = [], []
    if webhook_url:
        try:
            post_webhook(webhook_url, slack_payload(report, report_path))
            sent.append(f"webhook {webhook_url}")
        except AlertError as exc:
            errors.append(str(exc))
    if sns_topic_arn:
        try:
            message_id = publish_sns(sns_topic_arn, report, report_path)
            sent.append(f"SNS {sns_topic_arn} (message {message_id})")
        except AlertError as exc:
            errors.append(str(exc))
    if errors:
        raise AlertError("; ".join(errors))
    return sent
