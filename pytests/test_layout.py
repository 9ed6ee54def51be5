"""The three rooms and the one direction of imports between them, checked by import-linter.

The contracts live in pyproject.toml ([tool.importlinter]). Each is shown to hold on this
checkout and to break on a throwaway copy with one deliberately bad import.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from lakeshop.dbt_runner import project_dir, venv_executable

ROOMS = ("ingestion", "sandbox", "lakeshop")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [venv_executable("lint-imports"), "--no-cache"],
        cwd=root,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def copy_of_checkout(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    root.mkdir()
    for room in ROOMS:
        shutil.copytree(project_dir() / room, root / room, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(project_dir() / "pyproject.toml", root / "pyproject.toml")
    return root


def test_the_contracts_hold_on_this_checkout() -> None:
    done = lint_imports(project_dir())
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 kept, 0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "bad_import", "broken"),
    [
        # a real source reaching for a stand-in: the layers contract
        ("ingestion/destinations.py", "import sandbox.services.s3", "imports go down only"),
        # a real source reaching for the command
        ("ingestion/mysql_cdc/runner.py", "import lakeshop.report", "imports go down only"),
        # a stand-in using the code it stands in for: the forbidden contract
        (
            "sandbox/shop_api/server.py",
            "import ingestion.ecommerce_api",
            "never import the sources",
        ),
        # the old report <-> alerts circle, even as an import inside a function
        ("lakeshop/report.py", "def _f() -> None:\n    import lakeshop.alerts", "no import circle"),
    ],
)
def test_a_bad_import_breaks_a_contract(
    tmp_path: Path, module: str, bad_import: str, broken: str
) -> None:
    root = copy_of_checkout(tmp_path)
    path = root / module
    path.write_text(path.read_text() + f"\n\n{bad_import}\n")
    done = lint_imports(root)
    assert done.returncode != 0, done.stdout
    words = " ".join(done.stdout.split())  # the tool wraps its lines at 80 columns
    assert f"{broken}" in words and "BROKEN" in words, done.stdout
    assert "2 kept, 1 broken" in words, done.stdout
