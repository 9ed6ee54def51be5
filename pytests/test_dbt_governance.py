"""Governance rules of the dbt project, checked on the manifest `dbt parse` writes (no
warehouse): the rules dbt-project-evaluator reported, that the project can check itself.

- every model belongs to a group whose owner has a name and an email;
- a model is public exactly when its contract is enforced (the gold marts); bronze and
  silver are protected;
- exposures read public models only;
- every model has a primary-key test (`unique` on a column, or `is_unique_combination`).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from lakeshop.dbt_runner import dbt_env, dbt_executable, project_dir


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    target = tmp_path_factory.mktemp("governance")
    done = subprocess.run(
        [dbt_executable(), "parse", "--target-path", str(target)],
        cwd=project_dir(), env=dbt_env({}), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    return dict(json.loads((Path(target) / "manifest.json").read_text()))


def _models(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in manifest["nodes"].items() if v["resource_type"] == "model"}


def test_every_model_has_an_owned_group(manifest: dict[str, Any]) -> None:
    groups = {g["name"]: g for g in manifest["groups"].values()}
    for node in _models(manifest).values():
        group = groups.get(node.get("group") or "")
        assert group is not None, f"{node['name']} has no group"
        assert group["owner"].get("name") and group["owner"].get("email"), group["name"]


def test_public_exactly_where_the_contract_is_enforced(manifest: dict[str, Any]) -> None:
    for node in _models(manifest).values():
        enforced = bool(node["config"].get("contract", {}).get("enforced"))
        assert (node["access"] == "public") == enforced, (node["name"], node["access"])
        if node["original_file_path"].startswith(("models/bronze/", "models/silver/")):
            assert node["access"] == "protected", node["name"]


def test_exposures_read_public_models_only(manifest: dict[str, Any]) -> None:
    models = _models(manifest)
    assert manifest["exposures"]
    for exposure in manifest["exposures"].values():
        read = [models[d] for d in exposure["depends_on"]["nodes"] if d in models]
        assert read and all(n["access"] == "public" for n in read), exposure["name"]


def test_every_model_has_a_primary_key_test(manifest: dict[str, Any]) -> None:
    models = _models(manifest)
    keyed = {
        parent
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test"
        and (node.get("test_metadata") or {}).get("name") in {"unique", "is_unique_combination"}
        for parent in node["depends_on"]["nodes"]
    }
    assert sorted(n["name"] for k, n in models.items() if k not in keyed) == []


def test_every_incremental_model_has_a_unit_test_of_its_incremental_branch(
    manifest: dict[str, Any],
) -> None:
    """A unit test with `is_incremental: true` and a `this` fixture for every incremental
    model (the review found none: the three on incremental models tested full builds only)."""
    incremental = {
        node["name"]
        for node in _models(manifest).values()
        if node["config"]["materialized"] == "incremental"
    }
    covered = set()
    for test in manifest["unit_tests"].values():
        macros = (test.get("overrides") or {}).get("macros") or {}
        has_this = any(given["input"] == "this" for given in test["given"])
        if macros.get("is_incremental") is True and has_this:
            covered.add(test["model"])
    assert len(incremental) == 15
    assert incremental <= covered, sorted(incremental - covered)


def test_every_relation_name_fits_every_target(manifest: dict[str, Any]) -> None:
    """PostgreSQL and Redshift cut identifiers at 63 characters (127 on Redshift) and
    dbt refuses a longer relation: a unit test's name is the relation its fixture builds
    (one of 69 failed only on the PostgreSQL target in CI)."""
    named = [
        *(n["alias"] or n["name"] for n in _models(manifest).values()),
        *(t["name"] for t in manifest["unit_tests"].values()),
        *(n["alias"] or n["name"] for n in manifest["nodes"].values()
          if n["resource_type"] in {"seed", "snapshot"}),
    ]  # fmt: skip
    too_long = sorted(n for n in named if len(n) > 63)
    assert not too_long, too_long


def _layer_schemas(tmp_path: Path, target: str, extra: dict[str, str]) -> set[str]:
    out = tmp_path / target
    done = subprocess.run(
        [dbt_executable(), "parse", "--target", target, "--target-path", str(out)],
        cwd=project_dir(), env=dbt_env(extra), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    nodes = json.loads((out / "manifest.json").read_text())["nodes"].values()
    return {n["schema"] for n in nodes if n["resource_type"] in ("model", "seed")}


@pytest.mark.parametrize(
    ("target", "extra", "expected"),
    [
        ("prod", {}, {"bronze", "silver", "gold", "seeds"}),
        ("duckdb", {}, {"bronze", "silver", "gold", "seeds"}),
        ("postgres", {}, {"dev_bronze", "dev_silver", "dev_gold", "dev_seeds"}),
        ("postgres", {"LAKESHOP_DEV_SCHEMA": "ci_42"}, {"ci_42_bronze", "ci_42_silver", "ci_42_gold", "ci_42_seeds"}),
        ("sqlserver", {"LAKESHOP_DEV_SCHEMA": "dbt_alice"}, {"dbt_alice_bronze", "dbt_alice_silver", "dbt_alice_gold", "dbt_alice_seeds"}),
    ],
)  # fmt: skip
def test_only_prod_writes_the_plain_layer_schemas(
    tmp_path: Path, target: str, extra: dict[str, str], expected: set[str]
) -> None:
    """Environments: prod (and the embedded file, a warehouse of its own) writes bronze,
    silver, gold; any other target writes schemas prefixed by its own, so two environments
    on one warehouse never share a schema."""
    assert _layer_schemas(tmp_path, target, extra) == expected
