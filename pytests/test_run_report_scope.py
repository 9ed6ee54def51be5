"""The run report says what a run covered, and the Data quality page shows the last build of
the whole project, not whatever ran last (a `--select` run's 56 tests and 3 sources were
shown as "the build"). No server: reports written as `lakeshop build` writes them."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakeshop.dashboard import data
from lakeshop.report import WHOLE_PROJECT, RunReport, render_terminal, save_report, scope_of
from pytests.cdc_support import env


@pytest.mark.parametrize(
    ("args", "scope"),
    [
        ({"which": "build", "select": [], "exclude": [], "selector": None}, WHOLE_PROJECT),
        ({"which": "build", "select": ["tag:mysql"], "exclude": []}, "build --select tag:mysql"),
        ({"which": "build", "select": [], "exclude": ["fct_orders"]}, "build --exclude fct_orders"),
        ({"which": "test", "select": []}, "test"),
        ({"which": "build", "selector": "nightly"}, "build --selector nightly"),
    ],
)
def test_the_scope_of_a_run(args: dict[str, object], scope: str) -> None:
    assert scope_of(args) == scope


def _report(invocation: str, tests: int, scope: str) -> RunReport:
    return RunReport(
        target="dev", invocation_id=invocation, generated_at=f"2026-12-07 {invocation}",
        elapsed_seconds=1.0, dbt_exit_code=0, models={"success": 3}, seeds={},
        tests={"pass": tests}, unit_tests={}, failures=[], quarantine={}, previous_quarantine=None,
        freshness=[], scope=scope,
    )  # fmt: skip


def test_the_quality_page_shows_the_last_whole_build(tmp_path: Path) -> None:
    with env(LAKESHOP_HOME=str(tmp_path)):
        save_report(_report("10:00", 385, WHOLE_PROJECT))
        save_report(_report("11:00", 56, "build --select tag:mysql"))
        shown, latest = data.last_report(), data.last_run_report()
    assert shown is not None and latest is not None
    assert shown["tests"] == {"pass": 385} and shown["scope"] == WHOLE_PROJECT
    assert latest["tests"] == {"pass": 56}
    assert "scope       build --select x" in render_terminal(_report("x", 1, "build --select x"))


def test_before_any_whole_build_the_last_run_is_shown(tmp_path: Path) -> None:
    with env(LAKESHOP_HOME=str(tmp_path)):
        save_report(_report("11:00", 56, "build --select tag:mysql"))
        shown = data.last_report()
    assert shown is not None and shown["scope"] == "build --select tag:mysql"


def _quarantine_report(invocation: str, counts: dict[str, int], new: dict[str, int] | None) -> RunReport:  # fmt: skip
    report = _report(invocation, 10, WHOLE_PROJECT)
    report.quarantine, report.new_findings = counts, new
    return report


def test_quarantine_alerts_only_for_new_findings_not_for_a_report_diff(tmp_path: Path) -> None:
    """Alternating runs of different sources (hourly shop runs, event runs) used to compare
    each run's quarantine with a run that had not counted it, and alert every time."""
    from lakeshop.alerts import should_alert, summary_lines
    from lakeshop.report import previous_quarantine

    with env(LAKESHOP_HOME=str(tmp_path)):
        shop = {"orders: future_date": 7, "order_items: orphan_product": 2}
        events = {"sensor_readings: out_of_range": 40}
        first = _quarantine_report(
            "1", shop, {"orders: future_date": 7, "order_items: orphan_product": 2}
        )
        assert first.quarantine_grew and should_alert(first, "problems")
        save_report(first)
        # an event run: the shop's rules not counted, the events' first count
        ev = _quarantine_report("2", events, None)
        ev.previous_quarantine = previous_quarantine("dev")
        assert not ev.quarantine_grew, "a rule counted for the first time is not growth"
        save_report(ev)
        # the shop again, the same findings as before: nothing new, no alert
        again = _quarantine_report("3", shop, {})
        again.previous_quarantine = previous_quarantine("dev")
        assert again.previous_quarantine == {**shop, **events}
        assert not again.quarantine_grew and not should_alert(again, "problems")
        assert not [line for line in summary_lines(again) if line.startswith("quarantine")]
        save_report(again)
        # one new order finding, and more bad sensor lines than the last event run counted
        grew = _quarantine_report(
            "4", {**shop, "orders: future_date": 8, **{"sensor_readings: out_of_range": 41}},
            {"orders: future_date": 1},
        )  # fmt: skip
        grew.previous_quarantine = previous_quarantine("dev")
        assert grew.quarantine_grew and should_alert(grew, "problems")
        lines = [line for line in summary_lines(grew) if line.startswith("quarantine")]
        assert lines == [
            "quarantine orders: future_date: 1 new finding(s), 8 quarantined now",
            "quarantine sensor_readings: out_of_range: 41 (+1)",
        ], lines
