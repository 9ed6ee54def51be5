"""Run dbt inside the project with lakeshop's profile and warehouse paths."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from ingestion import config


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
    env.update(extra or {})
    return env


def dbt_executable() -> str:
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def run_dbt(args: list[str], extra_env: dict[str, str] | None = None, capture: bool = False) -> int:
    project = project_dir()
    config.home().mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [dbt_executable(), *args],
        cwd=project,
        env=dbt_env(extra_env),
        check=False,
        capture_output=capture,
        text=True,
    )
    if capture and done.returncode != 0:
        print(done.stdout[-4000:], done.stderr[-4000:], file=sys.stderr)
    return done.returncode
