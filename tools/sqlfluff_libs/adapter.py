"""dbt's ``adapter`` object as sqlfluff sees it: dispatch to the project's own macros, offline.

``adapter.dispatch('name', 'lakeshop')`` returns the ``<target>__name`` macro when the project
has one (the target from LAKESHOP_SQLFLUFF_TARGET, duckdb by default), else ``default__name``,
looked up in the Jinja context that sqlfluff filled from ``load_macros_from_path``. Nothing
here talks to a warehouse.
"""

from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context

from .dbt import target_type


@pass_context
def dispatch(context: Context, macro_name: str, macro_namespace: str | None = None) -> Any:
    dialect = target_type()
    for prefix in (dialect, "default"):
        macro = context.get(f"{prefix}__{macro_name}")
        if macro is not None:
            return macro
    raise LookupError(f"no {dialect}__{macro_name} or default__{macro_name} macro in macros/")


def quote(identifier: str) -> str:
    if target_type() == "sqlserver":
        return f"[{identifier}]"
    return f'"{identifier}"'
