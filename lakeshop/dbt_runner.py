"""Run dbt inside the project with lakeshop's profile and warehouse paths."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from ingestion import config
from ingestion.destinations import duckdb_path, warehouse_lock


def project_dir() -> Path:
    """The dbt project: the current folder if it has dbt_project.yml, else the checkout."""
    here = Path.cwd()
    if (here / "dbt_project.yml").exists():
        return here
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "dbt_project.yml").exists():
        return checkout
    raise RuntimeError(
        "no dbt_project.yml here or in the lakeshop checkout; run this from the lakeshop folder"
    )


def target_dir() -> Path:
    """Where dbt writes its artefacts: $DBT_TARGET_PATH (dbt reads it too), else target/."""
    configured = os.environ.get("DBT_TARGET_PATH")
    if configured:
        return (project_dir() / configured).resolve()
    return project_dir() / "target"


def ensure_profiles(project: Path) -> Path:
    """profiles.yml beside dbt_project.yml; created from profiles.yml.example when missing."""
    profiles = project / "profiles.yml"
    if not profiles.exists():
        shutil.copyfile(project / "profiles.yml.example", profiles)
    return project


def dbt_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    project = project_dir()
    env = dict(os.environ)
    env.setdefault("DBT_PROFILES_DIR", str(ensure_profiles(project)))
    env.setdefault("LAKESHOP_DUCKDB_PATH", str(config.home() / "warehouse.duckdb"))
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    # `--select` runs the tests whose models it all builds, not a test that also reads an
    # unbuilt model (of another source): so one source's models build alone (`--select
    # tag:ecommerce_api`). A full build runs every test.
    env.setdefault("DBT_INDIRECT_SELECTION", "cautious")
    env.update(extra or {})
    # PostgreSQL reads the PII salt from the session (macros/pii_salt.sql); DuckDB's comes
    # from the lakeshop.dbt_pii_salt plugin, which reads it as ingestion does (config.pii_salt:
    # the environment, else dlt's providers, else the development salt)
    salt = env.get("LAKESHOP_PII_SALT") or config.pii_salt()
    escaped = salt.replace("\\", "\\\\").replace(" ", "\\ ")
    env["PGOPTIONS"] = f"{env.get('PGOPTIONS', '')} -c lakeshop.pii_salt={escaped}".strip()
    return env


def venv_executable(name: str) -> str:
    """A console script installed beside this Python (the project's .venv), else on PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else (shutil.which(name) or name)


def dbt_executable() -> str:
    return venv_executable("dbt")


# dbt commands that never open the warehouse, so need not wait for its lock
NO_WAREHOUSE = {"parse", "deps", "clean", "debug", "init", "ls", "list", "--version", "--help"}


def target_type(target: str) -> str | None:
    """The adapter type of a profile target, read from profiles.yml (None: unknown)."""
    profiles = yaml.safe_load((ensure_profiles(project_dir()) / "profiles.yml").read_text())
    outputs = next(iter(profiles.values())).get("outputs", {})
    kind = outputs.get(target, {}).get("type")
    return str(kind) if kind else None


def _dbt(
    args: list[str], extra_env: dict[str, str] | None, target: str | None, capture: bool
) -> subprocess.CompletedProcess[str]:
    """On the embedded DuckDB file dbt runs under the warehouse lock
    (ingestion.destinations.warehouse_lock): it waits for a landing or a dashboard look in
    progress instead of failing on DuckDB's file lock, and they wait for it."""
    config.home().mkdir(parents=True, exist_ok=True)
    embedded = (
        not NO_WAREHOUSE.intersection(args[:1])
        and (extra_env or {}).get("LAKESHOP_DUCKDB_PATH") is None
        and target_type(target or dbt_target()) == "duckdb"
    )
    with warehouse_lock(duckdb_path()) if embedded else contextlib.nullcontext():
        return subprocess.run(
            [dbt_executable(), *args, *(["--target", target] if target else [])],
            cwd=project_dir(),
            env=dbt_env(extra_env),
            check=False,
            capture_output=capture,
            text=True,
        )


def run_dbt(
    args: list[str], extra_env: dict[str, str] | None = None, target: str | None = None
) -> int:
    """dbt in the project with lakeshop's profile, its output streamed; returns the exit code."""
    return _dbt(args, extra_env, target, capture=False).returncode


def capture_dbt(
    args: list[str], target: str | None = None, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """dbt in the project with its output captured, for a caller that reads or reports it."""
    return _dbt(args, extra_env, target, capture=True)


def dbt_target() -> str:
    """The dbt target the profile picks when none is given: ``$LAKESHOP_DBT_TARGET`` or duckdb."""
    return os.environ.get("LAKESHOP_DBT_TARGET") or "duckdb"
