"""dbt's cross-database macros as sqlfluff sees them: what the linted warehouse would render.

sqlfluff's jinja templater exposes this module as ``dbt``, so models that call
``dbt.type_string()`` render without dbt or a warehouse. The target comes from
LAKESHOP_SQLFLUFF_TARGET (duckdb by default; postgres, redshift or sqlserver), the same
value `target.type` has in the templates. The results only need to parse; they never run.
"""

import os
from typing import Any

TYPES = {
    "duckdb": {"string": "varchar", "timestamp": "timestamp"},
    "postgres": {"string": "text", "timestamp": "timestamp"},
    "redshift": {"string": "varchar(256)", "timestamp": "timestamp"},
    "sqlserver": {"string": "varchar(8000)", "timestamp": "datetime2(6)"},
}


def target_type() -> str:
    value = os.environ.get("LAKESHOP_SQLFLUFF_TARGET", "duckdb")
    if value not in TYPES:
        raise ValueError(f"LAKESHOP_SQLFLUFF_TARGET={value!r}: use one of {', '.join(TYPES)}")
    return value


def type_string() -> str:
    return TYPES[target_type()]["string"]


def type_int() -> str:
    return "integer" if target_type() != "sqlserver" else "int"


def type_bigint() -> str:
    return "bigint"


def type_timestamp() -> str:
    return TYPES[target_type()]["timestamp"]


def safe_cast(field: Any, type: Any) -> str:
    if target_type() in ("duckdb", "sqlserver"):
        return f"try_cast({field} as {type})"
    return f"cast({field} as {type})"


def dateadd(datepart: Any, interval: Any, from_date_or_timestamp: Any) -> str:
    if target_type() in ("redshift", "sqlserver"):
        return f"dateadd({datepart}, {interval}, {from_date_or_timestamp})"
    return f"{from_date_or_timestamp} + (({interval}) * interval '1 {datepart}')"


def datediff(first_date: Any, second_date: Any, datepart: Any) -> str:
    if target_type() in ("redshift", "sqlserver"):
        return f"datediff({datepart}, {first_date}, {second_date})"
    return f"date_diff('{datepart}', {first_date}, {second_date})"


def concat(fields: list[Any]) -> str:
    if target_type() == "sqlserver":
        return "concat(" + ", ".join(str(field) for field in fields) + ")"
    return " || ".join(str(field) for field in fields)


def right(string_text: Any, length_expression: Any) -> str:
    return f"right({string_text}, {length_expression})"


def is_incremental() -> bool:
    return True


def date_trunc(datepart: Any, date: Any) -> str:
    if target_type() == "sqlserver":
        return f"datetrunc({datepart}, {date})"
    return f"date_trunc('{datepart}', {date})"
