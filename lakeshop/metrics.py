"""`lakeshop metrics`: the semantic layer's metrics through MetricFlow's own `mf`.

MetricFlow reads `target/semantic_manifest.json` under the project root (its path is fixed
in dbt-metricflow) and the warehouse from the dbt profile. This command writes that file
with `dbt parse` first, then runs `mf` in the project with lakeshop's profile and
environment (the DuckDB file of `$LAKESHOP_HOME`, the PII salt), so `lakeshop metrics
query --metrics revenue --group-by metric_time__month` works from a fresh clone.
"""

from __future__ import annotations

import subprocess
import sys

from lakeshop.dbt_runner import dbt_env, project_dir, run_dbt, venv_executable


def run_metrics(mf_args: list[str]) -> int:
    """`dbt parse` into the project's target/, then `mf` with these arguments."""
    project = project_dir()
    # mf looks for the semantic manifest in <project>/target whatever DBT_TARGET_PATH says
    code = run_dbt(["parse", "--quiet", "--target-path", str(project / "target")])
    if code != 0:
        print("lakeshop metrics: `dbt parse` failed; fix the project first", file=sys.stderr)
        return code
    done = subprocess.run(
        [venv_executable("mf"), *(mf_args or ["list", "metrics"])],
        cwd=project,
        env=dbt_env({"DBT_PROJECT_DIR": str(project)}),
        check=False,
    )
    return done.returncode
