"""What dbt puts in a model's Jinja context, for sqlfluff's offline jinja templater.

`.sqlfluff` points `library_path` here. sqlfluff imports this package and puts every public
name of it into the context: the functions below, and the modules `dbt` (cross-database
macros), `adapter` (dispatch to the project's macros) and `lakeshop` (the project's macros
by namespace). Nothing here talks to a warehouse; renders only need to parse.
"""

import datetime as _datetime
import os as _os
import pathlib as _pathlib
from typing import Any as _Any

import yaml as _yaml

from . import adapter, dbt, lakeshop
from .dbt import target_type as _target_type

__all__ = [
    "adapter",
    "dbt",
    "env_var",
    "invocation_id",
    "lakeshop",
    "load_relation",
    "run_started_at",
    "target",
    "var",
]

invocation_id = "00000000-0000-0000-0000-000000000000"

# dbt's `target`: the warehouse the templates branch on (`target.type`).
target = {
    "type": _target_type(),
    "name": _target_type(),
    "schema": "main",
    "database": "lakeshop",
}

run_started_at = _datetime.datetime(2026, 1, 1, tzinfo=_datetime.UTC)


def load_relation(relation: _Any) -> None:
    """dbt's load_relation(): asks the warehouse; offline, nothing is there."""
    return None


def env_var(name: str, default: str | None = None) -> str:
    """dbt's env_var(): the variable, else the default, else a placeholder."""
    return _os.environ.get(name, default if default is not None else f"env_{name.lower()}")


_PROJECT = _pathlib.Path(__file__).resolve().parents[2] / "dbt_project.yml"
_VARS: dict[str, _Any] = (_yaml.safe_load(_PROJECT.read_text()) or {}).get("vars") or {}


def var(name: str, default: _Any = None) -> _Any:
    """dbt's var(): the value from dbt_project.yml, as a plain `dbt build` would see it.

    `offline_compile` stays false, so incremental models render their incremental branch,
    which covers more SQL than the full-refresh one (sqlfluff lints the other as a variant).
    """
    if name in _VARS:
        return _VARS[name]
    if default is not None:
        return default
    raise KeyError(f"var {name!r} is not in dbt_project.yml and has no default")
