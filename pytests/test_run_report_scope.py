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
