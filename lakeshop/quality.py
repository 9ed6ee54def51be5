"""`lakeshop quality`: the dbt project quality gate (dbt-score on the manifest)."""

from __future__ import annotations

import subprocess
import sys

from lakeshop.dbt_runner import dbt_env, project_dir, run_dbt, target_dir, venv_executable


def run_quality(
    fail_project_under: float | None = None,
    fail_any_item_under: float | None = None,
    show: str | None = None,
) -> int:
    """Parse the project (no warehouse connection) and score its manifest.

    The rules, their severities and the thresholds live in pyproject.toml under
    [tool.dbt-score]; the arguments override the thresholds. Returns dbt-score's exit code:
    non-zero when the project or any model or source scores under its threshold.
    """
    project = project_dir()
    code = run_dbt(["parse", "--quiet"])
    if code != 0:
        print("lakeshop quality: `dbt parse` failed; fix the project first", file=sys.stderr)
        return code
    args = [venv_executable("dbt-score"), "lint", "--manifest", str(target_dir() / "manifest.json")]
    if fail_project_under is not None:
        args += ["--fail-project-under", str(fail_project_under)]
    if fail_any_item_under is not None:
        args += ["--fail-any-item-under", str(fail_any_item_under)]
    if show is not None:
        args += ["--show", show]
    done = subprocess.run(args, cwd=project, env=dbt_env(), check=False)
    if done.returncode != 0:
        print(
            "lakeshop quality: the dbt project is under the quality threshold; the failing "
            "models and sources are listed above with the rule each breaks",
            file=sys.stderr,
        )
    return done.returncode
