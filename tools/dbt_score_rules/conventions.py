"""The project's own dbt-score rules: the house conventions the quality gate checks.

dbt-score's generic rules cover descriptions and uniqueness tests; these add what
`../shared/STYLE.md` asks for and dbt-score has no rule for: a test on every model, names
that match the layer, and description, loader and freshness on every source.
"""

import re

from dbt_score import Model, RuleViolation, Severity, Source, rule

LAYER_NAMES = {
    "bronze": re.compile(r"^stg_[a-z0-9]+(_[a-z0-9]+)*__[a-z0-9_]+$"),
    "silver": re.compile(r"^(?!stg_|fct_|dim_|agg_)[a-z][a-z0-9_]*$"),
    "gold": re.compile(r"^(fct|dim|agg)_[a-z0-9_]+$"),
}
NAMING_HELP = {
    "bronze": "stg_<source>__<entity>s",
    "silver": "<entity>s, int_<entity>s_<verb>s or <entity>_quarantine (no stg_/fct_/dim_/agg_)",
    "gold": "fct_<entity>s, dim_<entity>s or agg_<grain>",
}


def _layer(model: Model) -> str | None:
    parts = model.original_file_path.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "models" else None


@rule(severity=Severity.CRITICAL)
def has_data_tests(model: Model) -> RuleViolation | None:
    """Every model has at least one data test (its primary key, at the least)."""
    if not model.tests and not any(column.tests for column in model.columns):
        return RuleViolation(message="Model has no data tests.")
    return None


@rule(severity=Severity.HIGH)
def name_matches_layer(model: Model) -> RuleViolation | None:
    """A model's name follows its layer's convention (bronze stg_, gold fct_/dim_/agg_)."""
    layer = _layer(model)
    if layer not in LAYER_NAMES:
        return RuleViolation(message=f"Model is outside models/bronze|silver|gold ({layer}).")
    if not LAYER_NAMES[layer].match(model.name):
        return RuleViolation(message=f"A {layer} model is named {NAMING_HELP[layer]}.")
    return None


@rule(severity=Severity.CRITICAL)
def source_has_description(source: Source) -> RuleViolation | None:
    """Every source table has a description."""
    if not source.description.strip():
        return RuleViolation(message="Source table lacks a description.")
    return None


@rule(severity=Severity.CRITICAL)
def source_has_freshness(source: Source) -> RuleViolation | None:
    """Every source table has a freshness check (warn_after or error_after)."""
    # The manifest holds freshness as a mapping; dbt-score passes it through as it is.
    freshness = source.freshness
    if isinstance(freshness, dict):
        thresholds = [freshness.get("warn_after") or {}, freshness.get("error_after") or {}]
        counts = [threshold.get("count") for threshold in thresholds]
    elif freshness is not None:
        counts = [freshness.warn_after.count, freshness.error_after.count]
    else:
        counts = []
    if not any(counts):
        return RuleViolation(message="Source table has no freshness check.")
    return None


@rule(severity=Severity.HIGH)
def source_has_loader(source: Source) -> RuleViolation | None:
    """Every source names the tool that loads it (`loader: dlt`)."""
    if not source.loader:
        return RuleViolation(message="Source lacks a loader.")
    return None


@rule(severity=Severity.MEDIUM)
def source_columns_have_description(source: Source) -> RuleViolation | None:
    """Every column a source table declares has a description."""
    missing = [column.name for column in source.columns if not column.description]
    if missing:
        return RuleViolation(message=f"Columns lack a description: {', '.join(missing)[:60]}")
    if not source.columns:
        return RuleViolation(message="Source table declares no columns.")
    return None
