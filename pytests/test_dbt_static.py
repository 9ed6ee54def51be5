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


# -- the same contract types, hash bytes and email rule on every warehouse --------------------
def test_contracted_strings_have_a_length_where_a_bare_varchar_is_short() -> None:
    """SQL Server reads a bare `varchar` as varchar(1) and Redshift as varchar(256): every
    contracted string column there has its length (dbt_project.yml, `contract_types`)."""
    for target in ("sqlserver", "redshift"):
        contracted = [n for n in _models(compiled(target, False)) if n["contract"]["enforced"]]
        assert len(contracted) >= 10
        for node in contracted:
            for column in node["columns"].values():
                kind = str(column["data_type"]).strip().lower()
                assert kind and not re.fullmatch(r"n?(var)?char", kind), (target, node["name"], column["name"], kind)  # fmt: skip


def _tsql_like(value: str, pattern: str) -> bool:
    """T-SQL LIKE: % any run, _ one character, [..] and [^..] classes (wildcards literal
    inside them); case-insensitive, as the default collations are."""
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if c == "[":
            end = pattern.index("]", i + 1)
            body = pattern[i + 1 : end]
            negate = body.startswith("^")
            chars = re.escape(body[1:] if negate else body).replace("\\-", "-")
            if chars.endswith("-"):  # a trailing - is itself
                chars = chars[:-1] + "\\-"
            out += f"[{'^' if negate else ''}{chars}]"
            i = end + 1
            continue
        out += ".*" if c == "%" else "." if c == "_" else re.escape(c)
        i += 1
    return re.fullmatch(out, value, re.I | re.S) is not None


def _tsql_eval(node: exp.Expression, row: dict[str, Any]) -> Any:
    """What SQL Server computes for the few functions the email rule uses; a negative
    length raises, as LEFT, RIGHT and SUBSTRING do there."""

    def ev(n: exp.Expression | None) -> Any:
        assert n is not None
        return _tsql_eval(n, row)

    if isinstance(n := node, exp.Paren):
        return ev(n.this)
    if isinstance(n, exp.And):
        return ev(n.this) and ev(n.expression)
    if isinstance(n, exp.Not):
        return not ev(n.this)
    if isinstance(n, exp.Is):  # `x is null`
        return ev(n.this) is None
    if isinstance(n, exp.Null):
        return None
    if isinstance(n, exp.Like):
        return _tsql_like(ev(n.this), ev(n.expression)) != bool(n.args.get("negate"))
    if isinstance(n, exp.Literal):
        return n.this if n.is_string else int(n.this)
    if isinstance(n, exp.Column):
        return row[n.name]
    if isinstance(n, exp.Cast):
        return ev(n.this)
    if isinstance(n, exp.Case):
        for branch in n.args["ifs"]:
            if ev(branch.this):
                return ev(branch.args["true"])
        return ev(n.args["default"])
    if isinstance(n, exp.StrPosition):
        return ev(n.this).find(ev(n.args["substr"])) + 1
    if isinstance(n, exp.Reverse):
        return ev(n.this)[::-1]
    if isinstance(n, exp.Length):
        return len(ev(n.this).rstrip(" "))
    if isinstance(n, (exp.Left, exp.Right, exp.Substring)):
        text = ev(n.this)
        if isinstance(n, exp.Substring):
            start, length = ev(n.args["start"]), ev(n.args["length"])
        else:
            length = ev(n.expression)
            start = 1 if isinstance(n, exp.Left) else max(len(text) - length + 1, 1)
        if length < 0:
            raise ValueError("Invalid length parameter passed to the LEFT or SUBSTRING function")
        return text[start - 1 : start - 1 + length]
    comparisons = {exp.GTE: "__ge__", exp.GT: "__gt__", exp.EQ: "__eq__", exp.LT: "__lt__"}
    if type(n) in comparisons:
        return getattr(ev(n.this), comparisons[type(n)])(ev(n.expression))
    if isinstance(n, exp.Sub):
        return ev(n.this) - ev(n.expression)
    if isinstance(n, exp.Add):
        return ev(n.this) + ev(n.expression)
    raise NotImplementedError(type(n).__name__)


EMAIL = re.compile(r"^[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$")
ADDRESSES = [
    "ann@example.com", "a.b+c@sub.example.co", "x@y.io", "no-at-sign", "two@@example.com",
    "a@b@example.com", "@example.com", "ann@", "ann@example", "ann@.example.com",
    "ann@example..com", "ann@example.c", "ann@example.c0m", "ann@exa_mple.com",
    "an n@example.com", "ann@example.com.", "ann@-example.com", "ann@example.com-",
    "zoë@example.com", "ann@exämple.com", "a%b@example.org", "", ".@a.bc", "a@b.cd",
]  # fmt: skip


def _email_rule_sql(target: str) -> exp.Expression:
    """The expression silver computes has_valid_email from (int_customers_deduplicated, as it
    masks the change log), as rendered."""
    node = next(
        n for n in _models(compiled(target, False)) if n["name"] == "int_customers_deduplicated"
    )
    tree = sqlglot.parse_one(
        node["compiled_code"], read="tsql" if target == "sqlserver" else target
    )
    alias = next(a for a in tree.find_all(exp.Alias) if a.alias == "has_valid_email")
    return alias.this


def test_the_email_rule_is_one_rule_on_every_warehouse() -> None:
    """SQL Server's LIKE form of the rule, evaluated as SQL Server would (a negative LEFT
    length raises there), against the regular expression the other warehouses run, and
    DuckDB's own regexp_matches, on tricky addresses and 2,000 drawn ones."""
    import random

    import duckdb

    rng = random.Random(7)
    alphabet = "ab.-_@%+ë1"
    drawn = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(2000)]
    addresses = ADDRESSES + drawn + [f"{w}@{d}.{t}" for w, d, t in zip(drawn[:300], drawn[300:600], ["com", "c", "io1", "org"] * 75, strict=True)]  # fmt: skip
    tsql = _email_rule_sql("sqlserver")
    # the CASE that turns the rule into a bit: its condition
    rule = tsql.find(exp.Case).args["ifs"][0].this if tsql.find(exp.Case) else tsql
    # the rule reads the normalized email, lower(trimmed text), computed inline: stand it in
    rule = rule.transform(lambda n: exp.column("email_normalized") if isinstance(n, exp.Lower) else n)  # fmt: skip
    with duckdb.connect() as con:
        pattern = EMAIL.pattern
        for address in addresses:
            expected = EMAIL.fullmatch(address) is not None
            row = {"email_normalized": address}
            assert bool(_tsql_eval(rule, row)) == (address != "" and expected), address
            (duck,) = con.execute("select regexp_matches(?, ?)", [address, pattern]).fetchone()
            assert duck == expected, address
    redshift = _email_rule_sql("redshift").sql("redshift")
    assert EMAIL.pattern.replace("\\", "\\\\") in redshift or EMAIL.pattern in redshift, redshift


def _hashed_bytes(node: exp.Expression, value: str) -> bytes:
    """The bytes SQL Server's HASHBYTES receives for a text cast chain: a varchar collated to
    UTF-8 gives UTF-8, an nvarchar UTF-16, a varchar of another collation its code page."""
    kinds: list[str] = []
    collations: list[str] = []
    for n in node.walk():
        if isinstance(n, exp.Cast):
            kinds.append(n.to.sql("tsql").lower())
        if isinstance(n, exp.Collate):
            collations.append(n.expression.sql("tsql").lower())
    outer = kinds[0] if kinds else "nvarchar"
    if outer.startswith("nvarchar"):
        return value.encode("utf-16-le")
    return value.encode("utf-8" if any("utf8" in c for c in collations) else "cp1252", "replace")


def test_pii_hashes_are_the_same_bytes_on_every_warehouse() -> None:
    """A hash of the same text is the same hash everywhere: DuckDB computes it (and equals
    hashlib over UTF-8), SQL Server's HASHBYTES is given UTF-8 bytes (it was given UTF-16
    or a code page before), Redshift's sha2 and PostgreSQL's convert_to(.., 'UTF8') hash
    UTF-8 by definition."""
    import hashlib

    import duckdb

    value = "zoë@exämple.com"
    with duckdb.connect() as con:
        (duck,) = con.execute("select sha256(?)", [value]).fetchone()
    assert duck == hashlib.sha256(value.encode("utf-8")).hexdigest()
    masking = "int_customers_deduplicated"  # where silver hashes the emails and phones
    node = next(n for n in _models(compiled("sqlserver", False)) if n["name"] == masking)
    tree = sqlglot.parse_one(node["compiled_code"], read="tsql")
    hashes = [f for f in tree.find_all(exp.Anonymous) if f.name.lower() == "hashbytes"]
    hashes += [f for f in tree.find_all(exp.Func) if f.sql("tsql").lower().startswith("hashbytes(")]
    assert hashes, f"no HASHBYTES in SQL Server's {masking}"
    for call in hashes:
        argument = (
            call.expressions[-1] if call.expressions else call.args.get("expression") or call.this
        )
        assert _hashed_bytes(argument, value) == value.encode("utf-8"), call.sql("tsql")
    redshift = next(n for n in _models(compiled("redshift", False)) if n["name"] == masking)
    assert "sha2(" in redshift["compiled_code"] and "hashbytes" not in redshift["compiled_code"]
