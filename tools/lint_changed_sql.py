"""Lint only the SQL files a branch changed, as the pull-request workflow does.

    python tools/lint_changed_sql.py --base origin/main

Lints the .sql files under models/, macros/, tests/ and analyses/ that differ between the
merge base with --base and HEAD (added, copied, modified or renamed; deleted files are
skipped), with the root .sqlfluff. Under GitHub Actions (GITHUB_ACTIONS=true) the findings
are printed as workflow commands, which GitHub shows as annotations on the pull request's
lines. Exit code: 0 when the changed files are clean or none changed, sqlfluff's otherwise.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from lakeshop.dbt_runner import venv_executable

LINTED_FOLDERS = ("models/", "macros/", "tests/", "analyses/")


def changed_sql_files(base: str, repo: Path) -> list[str]:
    merge_base = subprocess.run(
        ["git", "merge-base", base, "HEAD"], cwd=repo, capture_output=True, text=True, check=False
    )
    if merge_base.returncode != 0:
        raise SystemExit(
            f"cannot find the merge base of {base!r} and HEAD ({merge_base.stderr.strip()}); "
            "fetch the base branch first (actions/checkout with fetch-depth: 0)"
        )
    diff = subprocess.run(
        ["git", "diff", "--name-only", "--diff-filter=ACMR", merge_base.stdout.strip(), "HEAD"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return sorted(
        name
        for name in diff.stdout.splitlines()
        if name.endswith(".sql") and name.startswith(LINTED_FOLDERS)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default=os.environ.get("LINT_BASE", "origin/main"))
    parser.add_argument(
        "--format",
        help="sqlfluff output format (default: github-annotation-native under GitHub Actions, "
        "else human)",
    )
    args = parser.parse_args(argv)
    repo = Path.cwd()
    files = changed_sql_files(args.base, repo)
    if not files:
        print(f"no SQL files changed since {args.base}")
        return 0
    output = args.format or (
        "github-annotation-native" if os.environ.get("GITHUB_ACTIONS") == "true" else "human"
    )
    print(f"linting {len(files)} changed SQL file(s): {', '.join(files)}", flush=True)
    done = subprocess.run(
        [venv_executable("sqlfluff"), "lint", "--format", output, "--processes", "0", *files],
        cwd=repo,
        check=False,
    )
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
