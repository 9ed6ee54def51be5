"""The dbt project read without a warehouse: every model, in both of its branches (the full
build and the incremental one), compiled offline for Redshift and SQL Server and parsed by
sqlglot in their dialects; and every status a model compares with a string is one the project
declares (the order_statuses seed, an accepted_values test), so a typo such as
`order_status = 'shiped'` fails here instead of building an empty mart, green. No server.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from lakeshop.dbt_runner import dbt_env, dbt_executable, project_dir
from pytests.conftest import make_home

TARGETS = [("redshift", "redshift"), ("sqlserver", "tsql")]
# columns whose values are a closed set: compared with a literal, the literal must be declared
CLOSED = re.compile(r"(^|_)(status|operation)$")


@cache
def compiled(target: str, incremental: bool) -> dict[str, Any]:
    """The manifest of an offline compile (`--vars '{offline_compile: true}'`, no warehouse
    asked): the full build's SQL, or with `offline_incremental` the incremental branch's."""
    out = make_home(f"lakeshop-offline-{target}-")
    variables = {"offline_compile": True, "offline_incremental": incremental}
    done = subprocess.run(
        [dbt_executable(), "compile", "--target", target, "--no-populate-cache", "--quiet",
         "--vars", json.dumps(variables), "--target-path", str(out)],
        cwd=project_dir(), env=dbt_env({}), capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    return dict(json.loads((out / "manifest.json").read_text()))


def _models(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]


@pytest.mark.parametrize("incremental", [False, True], ids=["full", "incremental"])
@pytest.mark.parametrize(("target", "dialect"), TARGETS)
def test_both_branches_of_every_model_parse_in_the_dialect(
    target: str, dialect: str, incremental: bool
) -> None:
    models = _models(compiled(target, incremental))
    assert len(models) >= 40
    incremental_models = [n for n in models if n["config"]["materialized"] == "incremental"]
    assert len(incremental_models) >= 15
    for node in models:
        sql = node["compiled_code"]
        sqlglot.parse(sql, read=dialect, error_level=sqlglot.ErrorLevel.RAISE)
        if target == "sqlserver":
            code = re.sub(r"--[^\n]*", "", sql)
            assert not re.search(r"\b(true|false|try_cast|timestamptz)\b|\|\||::", code, re.I), (
                node["name"]
            )
        else:
            assert "sha2(" in sql or "sha256" not in sql
    if incremental:  # the incremental branch is what was rendered: it reads its own table
        for node in incremental_models:
            assert node["relation_name"] in node["compiled_code"], node["name"]
    assert {n["schema"] for n in models} == {"dev_bronze", "dev_silver", "dev_gold"}


@cache
def declared_values() -> dict[str, set[str]]:
    """Per column name, the values the project declares for it: accepted_values tests, and a
    relationships test to a seed (the seed's CSV)."""
    manifest = compiled("redshift", False)
    seeds = {
        n["name"]: Path(project_dir()) / n["original_file_path"]
        for n in manifest["nodes"].values()
        if n["resource_type"] == "seed"
    }
    values: dict[str, set[str]] = {}
    for node in manifest["nodes"].values():
        meta = node.get("test_metadata") or {}
        column = node.get("column_name")
        if not column:
            continue
        kwargs = meta.get("kwargs", {})
        if meta.get("name") == "accepted_values":
            values.setdefault(column, set()).update(str(v) for v in kwargs["values"])
        elif meta.get("name") == "relationships":
            seed = re.search(r"ref\('(\w+)'\)", str(kwargs.get("to")))
            if seed and seed.group(1) in seeds:
                with seeds[seed.group(1)].open(newline="") as handle:
                    values.setdefault(column, set()).update(
                        row[kwargs["field"]] for row in csv.DictReader(handle)
                    )
    return values


def undeclared_literals(sql: str, dialect: str, declared: dict[str, set[str]]) -> list[str]:
    """`column = 'literal'` (or <>, IN) on a closed-set column whose literal is not declared."""
    found = []
    for tree in sqlglot.parse(sql, read=dialect):
        if tree is None:
            continue
        for node in tree.find_all(exp.EQ, exp.NEQ, exp.In):
            columns = [c.name for c in node.find_all(exp.Column) if CLOSED.search(c.name)]
            literals = [lit.this for lit in node.find_all(exp.Literal) if lit.is_string]
            for column in columns:
                for literal in literals:
                    if literal not in declared.get(column, set()):
                        found.append(f"{column} = {literal!r}")
    return found


def test_the_literal_check_finds_a_typo() -> None:
    declared = {"order_status": {"shipped", "delivered"}}
    sql = "select * from o where order_status = 'shiped' or order_status in ('delivered', 'x')"
    assert undeclared_literals(sql, "redshift", declared) == [
        "order_status = 'shiped'", "order_status = 'x'"
    ]  # fmt: skip


def test_every_status_literal_in_a_model_is_declared() -> None:
    declared = declared_values()
    assert {"pending", "paid", "shipped", "delivered", "cancelled", "returned"} <= declared[
        "order_status"
    ]
    problems = {}
    for incremental in (False, True):
        for node in _models(compiled("redshift", incremental)):
            found = undeclared_literals(node["compiled_code"], "redshift", declared)
            if found:
                problems[node["name"]] = found
    assert not problems, (
        f"literals outside the declared values (a seed or accepted_values): {problems}"
    )
