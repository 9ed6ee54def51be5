"""The CDC generator in CI: a few seeds, each a drawn schema and workload replayed on a private
MariaDB, captured into the warehouse and the lake, and compared with the source after every
run (``pytests/cdc_generator.py``). ``make soak MINUTES=N`` runs it for as long as asked.

The seeds are fixed so CI is repeatable; one more comes from the day, so CI meets a new case
every day (printed; re-run it with ``make soak`` and ``--first-seed``).
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytests.cdc_generator import run_seed
from pytests.conftest import make_home
from sandbox.services import MariaDB, free_port

DAY_SEED = int(dt.date.today().strftime("%Y%m%d"))
SEEDS = [(11, False), (29, False), (47, True), (DAY_SEED, True)]


@pytest.fixture(scope="module")
def generator_server() -> Iterator[tuple[MariaDB, Path]]:
    """A MariaDB of its own: the generator purges binary logs and sets session formats."""
    home = make_home("lakeshop-gen-")
    server = MariaDB(home / "mariadb", free_port())
    server.start()
    yield server, home
    server.stop()
    shutil.rmtree(home, ignore_errors=True)


@pytest.mark.parametrize(
    ("seed", "kills"), SEEDS, ids=[f"seed{s}{'-kills' if k else ''}" for s, k in SEEDS]
)
def test_a_drawn_schema_and_workload_lands_as_in_the_source(
    generator_server: tuple[MariaDB, Path], seed: int, kills: bool
) -> None:
    server, home = generator_server
    outcome, repro = run_seed(
        server, seed, home, steps=25, kills=kills, big_blobs=False, shrink_seconds=90
    )
    print(f"seed {seed}: {outcome.statements} statements ({outcome.refused} refused: {outcome.reasons}), "
          f"{outcome.runs} runs, {outcome.kills} kills, {outcome.stats}")  # fmt: skip
    assert outcome.finding is None, f"seed {seed}: {outcome.finding}\nshrunk reproduction:\n{repro}"
    assert outcome.runs >= 2 and outcome.statements > 20, outcome
