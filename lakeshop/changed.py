"""`lakeshop build --changed-only`: build only the nodes that have new input.

A build with nothing new used to cost as much as a small incremental one (start-up, every
model's incremental query, every test). Which nodes can give a different result is known
before dbt starts:

- a raw table that has new rows since the last successful build on this target: its source
  and everything downstream (`source:raw_mysql.orders+`). A raw table is append-only (every
  load adds rows under a new `_dlt_load_id`), so its row count and latest load id say
  whether it changed;
- a change of the project itself (models, macros, seeds, tests, dbt_project.yml, the
  profile): dbt's own `state:modified+` against the manifest of the last successful build;
- time: the only rule that depends on when a build runs is `future_date` (an order placed
  more than `future_date_tolerance_hours` ahead). When an order held for it is due for
  release, `int_orders_validated+` is built as well (the orders that would be released
  are known: their `placed_at` is within the tolerance of now).

Tests run eagerly on everything selected (`DBT_INDIRECT_SELECTION=eager`): a test that reads
a rebuilt model runs even when its other parent was not rebuilt. With nothing new, dbt does
not start at all. A first build, a failed last build, `--full-refresh`, `--vars`, an explicit
`--select`/`--exclude`, or a target other than DuckDB and PostgreSQL builds everything, as
plain `lakeshop build` always does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ingestion import config
from ingestion.destinations import duckdb_path
from lakeshop.dbt_runner import dbt_target, project_dir, target_dir, target_type
from lakeshop.warehouse import Warehouse as Connection
from lakeshop.warehouse import quote

# what a build reads besides the warehouse: a change to any of these is a change of code
PROJECT_PARTS = ("models", "macros", "seeds", "tests", "analyses", "snapshots")
PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "packages.yml")
# dbt options that change what a build does to everything: always a full build
EVERYTHING_OPTIONS = ("--full-refresh", "--vars", "--select", "-s", "--exclude", "--selector")
RELEASED_MODEL = "model.lakeshop.int_orders_validated"


@dataclass
class Plan:
    """What to build. ``select is None``: everything; ``[]``: nothing."""

    select: list[str] | None
    reasons: list[str] = field(default_factory=list)
    state_dir: Path | None = None
    # unit tests check the project's code, not its data: a selection runs them only when the
    # project changed (dbt's own advice is to keep them out of production builds)
    unit_tests: bool = True

    @property
    def nothing(self) -> bool:
        return self.select == []

    def dbt_args(self) -> list[str]:
        """What `dbt build` gets for this plan: the selection against the last build's state,
        without unit tests unless the project changed; nothing when it builds everything."""
        if not self.select:
            return []
        args = ["--select", *self.select, "--state", str(self.state_dir)]
        return args if self.unit_tests else [*args, "--exclude-resource-type", "unit_test"]


def state_dir(target: str) -> Path:
    return config.home() / "build_state" / target


def project_fingerprint(project: Path) -> str:
    """sha256 over every file a build reads from the project, with its relative path."""
    digest = hashlib.sha256()
    files: list[Path] = [project / name for name in PROJECT_FILES if (project / name).is_file()]
    for part in PROJECT_PARTS:
        if (project / part).is_dir():
            files += [p for p in (project / part).rglob("*") if p.is_file()]
    for path in sorted(files):
        digest.update(str(path.relative_to(project)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def source_tables(manifest: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """source unique id -> (schema, table) in the warehouse."""
    return {
        uid: (node["schema"], node.get("identifier") or node["name"])
        for uid, node in manifest.get("sources", {}).items()
    }


_quote = quote


class Warehouse(Connection):
    """A short read-only look at the target warehouse, closed before dbt starts (DuckDB
    allows one writer per file: this must never hold the file while dbt runs)."""

    def fingerprints(self, tables: dict[str, tuple[str, str]]) -> dict[str, list[Any]]:
        """source id -> [row count, latest _dlt_load_id] ([None, None] for a missing table).
        A dlt child table has no load id; its rows arrive with a new row of its parent, so
        its count says it changed."""
        present = self.existing()
        with_load_id = {
            (str(s), str(t))
            for s, t in self.rows(
                "select table_schema, table_name from information_schema.columns"
                " where column_name = '_dlt_load_id'"
            )
        }
        out: dict[str, list[Any]] = {}
        for uid, (schema, table) in sorted(tables.items()):
            if (schema, table) not in present:
                out[uid] = [None, None]
                continue
            latest = "max(_dlt_load_id)" if (schema, table) in with_load_id else "null"
            count, last = self.rows(
                f"select count(*), {latest} from {_quote(schema)}.{_quote(table)}"
            )[0]
            out[uid] = [int(count), None if last is None else str(last)]
        return out

    def release_due(self, manifest: dict[str, Any], tolerance_hours: float) -> bool:
        """Is an order held as future_date now within the tolerance of the present?"""
        node = manifest["nodes"].get(RELEASED_MODEL)
        if node is None or (node["schema"], node["alias"]) not in self.existing():
            return False
        due = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(hours=tolerance_hours)
        (count,) = self.rows(
            f"select count(*) from {_quote(node['schema'])}.{_quote(node['alias'])}"
            " where quarantine_reason = 'future_date' and placed_at <= ?",
            [due],
        )[0]
        return bool(count)


def _tolerance_hours(project: Path) -> float:
    project_vars = yaml.safe_load((project / "dbt_project.yml").read_text()).get("vars", {})
    return float(project_vars.get("future_date_tolerance_hours", 24))


def _saved(target: str) -> dict[str, Any] | None:
    path = state_dir(target) / "state.json"
    if not path.exists() or not (state_dir(target) / "manifest.json").exists():
        return None
    return dict(json.loads(path.read_text()))


def covers_everything(dbt_args: Iterable[str]) -> bool:
    """A build without options that decide its selection or its vars (a whole build)."""
    return not any(a.split("=")[0] in EVERYTHING_OPTIONS[1:] for a in dbt_args)


@dataclass
class Seen:
    """The raw tables as a build about to start sees them: taken before dbt starts, so rows
    landing while it runs (continuous CDC) count as new for the next build."""

    target: str
    sources: dict[str, list[Any]]
    release_due: bool
    project: str


def look(target: str | None) -> Seen | None:
    """The raw tables of this target now (None: not a DuckDB or PostgreSQL target, or no
    manifest to name the sources yet)."""
    name = target or dbt_target()
    if target_type(name) not in ("duckdb", "postgres"):
        return None
    manifest_path = state_dir(name) / "manifest.json"
    if not manifest_path.exists():
        manifest_path = target_dir() / "manifest.json"
    if not manifest_path.exists():
        return None
    manifest = json.loads(manifest_path.read_text())
    kind = str(target_type(name))
    if kind == "duckdb" and not duckdb_path().exists():
        return None  # no warehouse yet: a first build builds everything
    try:
        wh = Warehouse(kind)
    except Exception as exc:  # a held DuckDB file, an unreachable server: dbt will say more
        print(f"changed-only  cannot read the warehouse ({str(exc).splitlines()[0]})")
        return None
    with closing(wh):
        return Seen(
            name,
            wh.fingerprints(source_tables(manifest)),
            wh.release_due(manifest, _tolerance_hours(project_dir())),
            project_fingerprint(project_dir()),
        )


def plan(dbt_args: Iterable[str], seen: Seen | None, target: str | None) -> Plan:
    """What a `--changed-only` build of this target must build."""
    name = target or dbt_target()
    if not covers_everything(dbt_args) or "--full-refresh" in dbt_args:
        return Plan(None, ["an option decides the selection itself: building everything"])
    if seen is None:
        kind = target_type(name)
        if kind not in ("duckdb", "postgres"):
            return Plan(None, [f"changes are detected on DuckDB and PostgreSQL, not {kind}"])
        return Plan(None, ["no manifest yet: building everything"])
    saved = _saved(name)
    if saved is None:
        return Plan(None, ["no successful build on record for this target: building everything"])
    before = saved.get("sources", {})
    changed = sorted(uid for uid in seen.sources if seen.sources[uid] != before.get(uid))
    select = [f"source:{uid.split('.', 2)[2]}+" for uid in changed]
    reasons = []
    if changed:
        named = ", ".join(uid.split(".", 2)[2] for uid in changed[:6])
        more = " ..." if len(changed) > 6 else ""
        reasons.append(f"{len(changed)} raw table(s) with new rows: {named}{more}")
    if seen.release_due:
        select.append(f"{RELEASED_MODEL.split('.')[-1]}+")
        reasons.append("orders held as future_date are due for release")
    if seen.project != saved.get("project"):
        select.append("state:modified+")
        reasons.append("the project changed since the last build (state:modified+)")
    if not select:
        reasons.append(f"nothing new since the last successful build ({saved.get('built_at')})")
    return Plan(select, reasons, state_dir(name), unit_tests=seen.project != saved.get("project"))


def record_success(seen: Seen) -> None:
    """After a successful whole build (or changed-only build): what it saw, for the next."""
    manifest_path = target_dir() / "manifest.json"
    if not manifest_path.exists():
        return
    folder = state_dir(seen.target)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(manifest_path, folder / "manifest.json")
    state = {
        "built_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "project": seen.project,
        "sources": seen.sources,
    }
    (folder / "state.json").write_text(json.dumps(state, indent=1, sort_keys=True))


def forget(target: str | None) -> None:
    """A failed or partial build: the next changed-only build builds everything."""
    shutil.rmtree(state_dir(target or dbt_target()), ignore_errors=True)
