"""``make soak MINUTES=N``: the CDC generator for as long as asked, on a private MariaDB.

Draws seed after seed (each a schema and a workload with every statement class, some runs
SIGKILLed), replays it, captures it into the warehouse and the lake and compares with the
source after every run. Prints one line per seed and, at the end, the totals and every
finding with its shrunk reproduction as SQL. Exit 1 when something was found.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import time

from pytests.cdc_generator import run_seed
from pytests.conftest import make_home
from sandbox.services import MariaDB, free_port


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--first-seed", type=int, default=int(time.time()) % 1_000_000)
    parser.add_argument("--steps", type=int, default=40, help="workload steps per seed")
    parser.add_argument("--no-kills", action="store_true", help="never SIGKILL the capture")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)  # the capture's notes; findings are printed below
    home = make_home("lakeshop-soak-")
    mariadb = MariaDB(home / "mariadb", free_port())
    mariadb.start()
    deadline = time.monotonic() + args.minutes * 60
    totals: dict[str, int] = {}
    findings: list[tuple[int, str, str | None]] = []
    seed = args.first_seed
    print(f"soak: {args.minutes:g} minutes from seed {seed}, {args.steps} steps a seed", flush=True)
    try:
        while time.monotonic() < deadline:
            started = time.monotonic()
            outcome, repro = run_seed(
                mariadb, seed, home, steps=args.steps, kills=not args.no_kills
            )
            ddl = sum(n for k, n in outcome.stats.items() if k.startswith("ddl:"))
            for key, n in (("seeds", 1), ("statements", outcome.statements), ("ddl", ddl),
                           ("kills", outcome.kills), ("runs", outcome.runs),
                           ("refused", outcome.refused), ("findings", int(outcome.finding is not None))):  # fmt: skip
                totals[key] = totals.get(key, 0) + n
            for key, n in outcome.stats.items():
                totals[key] = totals.get(key, 0) + n
            verdict = "FINDING" if outcome.finding else "equal"
            print(f"seed {seed}: {outcome.statements} statements, {ddl} DDL, {outcome.runs} runs, "
                  f"{outcome.kills} kills, {outcome.refused} refused, {time.monotonic() - started:.0f}s: {verdict}",
                  flush=True)  # fmt: skip
            if outcome.finding:
                findings.append((seed, outcome.finding, repro))
            seed += 1
    finally:
        mariadb.stop()
        shutil.rmtree(home, ignore_errors=True)
    print("totals: " + ", ".join(f"{k} {v}" for k, v in sorted(totals.items())))
    for seed, finding, repro in findings:
        print(f"\nseed {seed}: {finding}\nshrunk reproduction:\n{repro}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
