"""Benchmark `dbt build` on DuckDB at scale: a full build vs an incremental build after 1% new
changes, with peak memory.

The raw data comes the real way: a shop of --orders orders seeded into a private MariaDB,
captured by the binlog CDC source into DuckDB, the API served locally and ingested over HTTP.
Then, --runs times each:
  1. `dbt build --full-refresh` (everything rebuilt from the whole change log);
  2. production traffic touching about 1% of the orders (new orders, status transitions,
     cancellations, ...), streamed from the binlog, then `dbt build` (incremental);
  3. `dbt build` again with nothing new: the fixed cost of any build of this project, broken
     down into start-up (wall time minus dbt's own elapsed time: imports, manifest, the
     on-run-start checks), model work and test work;
  4. another 1% of traffic, then `lakeshop build --changed-only`'s selection (only the nodes
     with new input, lakeshop/changed.py), then the same with nothing new (no dbt at all).
Each dbt invocation runs in its own process; its peak RSS is read from the kernel.

Usage: python bench/dbt_scale.py [--orders 1000000] [--runs 3] [--keep DIR]
Prints each run and the medians; the README quotes them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ingestion import config
from ingestion.ecommerce_api.runner import sync_api
from ingestion.mysql_cdc.runner import sync
from lakeshop import changed
from lakeshop.build import with_vars
from lakeshop.dbt_runner import dbt_env, dbt_executable, project_dir
from sandbox.services import MariaDB, free_port
from sandbox.shop.generator import ShopConfig, generate
from sandbox.shop.seed import seed as seed_shop
from sandbox.shop.simulate import SimConfig, simulate
from sandbox.shop.target import MySQLTarget
from sandbox.shop_api.server import RunningApi, ShopApi
from sandbox.shop_api.world import ApiWorld

PEAK = (
    "import resource, subprocess, sys; "
    "code = subprocess.run(sys.argv[1:]).returncode; "
    "print('PEAK_KIB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
    "sys.exit(code)"
)


def dbt(
    args: list[str], duck: Path, target: Path, extra_env: dict[str, str] | None = None
) -> tuple[float, int, dict[str, float]]:
    """Runs dbt; returns wall seconds, peak RSS in MiB and execution seconds per node (and
    dbt's own elapsed time under "elapsed")."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PEAK, dbt_executable(), *args, "--target-path", str(target)],
        cwd=project_dir(),
        env=dbt_env({"LAKESHOP_DUCKDB_PATH": str(duck), **(extra_env or {})}),
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        print(done.stdout[-5000:], done.stderr[-2000:])
        raise SystemExit(f"dbt {' '.join(args)} failed")
    peak = next(
        int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("PEAK_KIB")
    )
    run_results = json.loads((target / "run_results.json").read_text())
    per_node = {r["unique_id"]: r["execution_time"] for r in run_results["results"]}
    per_node["elapsed"] = float(run_results["elapsed_time"])
    return seconds, peak // 1024, per_node


def changed_only(duck: Path, target: Path) -> tuple[float, int, int]:
    """What `lakeshop build --changed-only` does before and around dbt (without the run
    report): look at the raw tables, plan, build the selection (or nothing). Returns wall
    seconds, peak RSS in MiB (0 when dbt did not run) and the number of nodes built."""
    started = time.perf_counter()
    os.environ["DBT_TARGET_PATH"] = str(target)
    try:
        seen = changed.look("duckdb")
        plan = changed.plan([], seen, "duckdb")
        peak, nodes = 0, 0
        if not plan.nothing:
            # what lakeshop build --changed-only runs (lakeshop/build.py): the plan's
            # selection and lakeshop's vars
            _, peak, per_node = dbt(
                ["build", *with_vars(plan.dbt_args(), test_all_rows=False)],
                duck,
                target,
                {"DBT_INDIRECT_SELECTION": "eager"},
            )
            nodes = len(per_node) - 1
        if seen is not None:
            changed.record_success(seen)
    finally:
        del os.environ["DBT_TARGET_PATH"]
    return time.perf_counter() - started, peak, nodes


def record(duck: Path, target: Path) -> None:
    """The build state a successful whole build leaves (as `lakeshop build` does)."""
    os.environ["DBT_TARGET_PATH"] = str(target)
    try:
        seen = changed.look("duckdb")
        if seen is not None:
            changed.record_success(seen)
    finally:
        del os.environ["DBT_TARGET_PATH"]


def work(per_node: dict[str, float], kind: str) -> float:
    """Execution seconds summed over the nodes of one kind (model, test, ...), both threads."""
    return sum(v for k, v in per_node.items() if k.split(".")[0] == kind)


def traffic(target: MySQLTarget, cdc: str, transactions: int, seed: int) -> tuple[int, int]:
    """About 1% of the orders' worth of production traffic, streamed from the binlog."""
    stats = simulate(
        target, SimConfig(rate=1e9, duration=3600, seed=seed, max_transactions=transactions)
    )
    streamed = sync(cdc, "warehouse", quiet=True)
    return stats.transactions, streamed.change_rows


def top(per_node: dict[str, float], n: int = 6) -> str:
    best = sorted(((k, v) for k, v in per_node.items() if k != "elapsed"), key=lambda kv: -kv[1])[
        :n
    ]
    return ", ".join(f"{k.split('.')[2]} {v:.1f}s" for k, v in best)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--change-fraction", type=float, default=0.01)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="with --keep: reuse its shop and warehouse, skip seeding and ingestion",
    )
    parser.add_argument(
        "--keep", type=Path, help="state folder to keep (default: a temp folder, removed)"
    )
    args = parser.parse_args()

    home = args.keep or Path(tempfile.mkdtemp(prefix="lakeshop-bench-dbt-", dir="/tmp"))
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o755)
    duck = home / "warehouse.duckdb"
    os.environ.update(
        LAKESHOP_HOME=str(home), LAKESHOP_DUCKDB_PATH=str(duck), LAKESHOP_WAREHOUSE="duckdb"
    )
    db = MariaDB(home / "mariadb", free_port())
    db.start()
    try:
        target = MySQLTarget("127.0.0.1", db.port, "root", "", config.SHOP_DATABASE, str(db.socket))
        cdc = f"mysql://{config.CDC_USER}:{config.CDC_PASSWORD}@127.0.0.1:{db.port}/{config.SHOP_DATABASE}"
        if args.reuse and duck.exists():
            print(f"reusing the shop and warehouse in {home}")
        else:
            t = time.perf_counter()
            shop = generate(ShopConfig(orders=args.orders, seed=7, end_date=dt.date(2026, 10, 31)))
            figures = seed_shop(target, shop, reset=True)
            del shop
            print(
                f"seeded {args.orders:,} orders ({int(figures['order_items']):,} order items) in {time.perf_counter() - t:.0f} s"
            )
            t = time.perf_counter()
            snap = sync(cdc, "warehouse", quiet=True)
            print(f"CDC snapshot: {snap.snapshot_rows:,} rows in {time.perf_counter() - t:.0f} s")
            t = time.perf_counter()
            with RunningApi(ShopApi(ApiWorld.from_mysql(target, seed=7))) as api:
                api_result = sync_api(api.url, targets=("warehouse",), page_size=100)
            print(f"API: {api_result.http.pages} pages in {time.perf_counter() - t:.0f} s")

        full: list[tuple[float, int]] = []
        incremental: list[tuple[float, int]] = []
        unchanged: list[float] = []
        fixed: list[tuple[float, float, float]] = []
        selective: list[tuple[float, int, int]] = []
        selective_idle: list[float] = []
        split: dict[str, list[tuple[float, float]]] = {"full": [], "incremental": []}
        changes_per_run = max(1, int(args.orders * args.change_fraction))
        for run in range(1, args.runs + 1):
            seconds, peak, nodes = dbt(["build", "--full-refresh"], duck, home / "target")
            full.append((seconds, peak))
            split["full"].append((work(nodes, "model"), work(nodes, "test")))
            print(
                f"run {run}: full build        {seconds:6.1f} s, peak {peak} MiB  (slowest: {top(nodes)})"
            )
            transactions, rows = traffic(target, cdc, changes_per_run, 100 + run)
            seconds, peak, nodes = dbt(["build"], duck, home / "target")
            incremental.append((seconds, peak))
            split["incremental"].append((work(nodes, "model"), work(nodes, "test")))
            print(
                f"run {run}: incremental build {seconds:6.1f} s, peak {peak} MiB after {transactions:,} "
                f"transactions ({rows:,} change rows)  (slowest: {top(nodes)})"
            )
            tests = {k: v for k, v in nodes.items() if k.startswith("test.")}
            print(f"run {run}: slowest incremental tests: {top(tests, 10)}")
            # the same build again with nothing new: what any dbt build of this project costs
            # (start-up, the on-run-start check, ~400 nodes), whatever the data
            seconds, _, nodes = dbt(["build"], duck, home / "target")
            unchanged.append(seconds)
            startup = seconds - nodes["elapsed"]
            fixed.append((startup, work(nodes, "model"), work(nodes, "test")))
            print(
                f"run {run}: build, nothing new  {seconds:6.1f} s: start-up {startup:.1f} s, "
                f"model work {work(nodes, 'model'):.1f} s, test work {work(nodes, 'test'):.1f} s "
                f"({sum(1 for k in nodes if k.startswith('test.'))} tests)"
            )
            record(duck, home / "target")
            transactions, rows = traffic(target, cdc, changes_per_run, 500 + run)
            seconds, peak, built_nodes = changed_only(duck, home / "target")
            selective.append((seconds, peak, built_nodes))
            print(
                f"run {run}: --changed-only after {transactions:,} transactions  {seconds:6.1f} s, "
                f"peak {peak} MiB, {built_nodes} nodes"
            )
            seconds, _, built_nodes = changed_only(duck, home / "target")
            selective_idle.append(seconds)
            print(f"run {run}: --changed-only, nothing new  {seconds:6.1f} s ({built_nodes} nodes)")
        f = statistics.median(s for s, _ in full)
        i = statistics.median(s for s, _ in incremental)
        c = statistics.median(s for s, _, _ in selective)
        print()
        print(f"orders                     {args.orders:,}")
        print(
            f"full dbt build, median     {f:.1f} s (runs {', '.join(f'{s:.1f}' for s, _ in full)})"
        )
        print(
            f"incremental after {args.change_fraction:.0%}, median {i:.1f} s (runs {', '.join(f'{s:.1f}' for s, _ in incremental)})"
        )
        u = statistics.median(unchanged)
        print(
            f"nothing new, median        {u:.1f} s (runs {', '.join(f'{s:.1f}' for s in unchanged)})"
        )
        print(
            "  of which start-up {:.1f} s, model work {:.1f} s, test work {:.1f} s (medians;"
            " work summed over both threads)".format(
                *(statistics.median(x[k] for x in fixed) for k in range(3))
            )
        )
        print(f"incremental / full         {i / f:.2f}")
        print(f"(incremental - nothing new) / full  {(i - u) / f:.2f}  (the cost the 1% adds)")
        print(
            f"--changed-only after {args.change_fraction:.0%}, median {c:.1f} s (runs {', '.join(f'{s:.1f}' for s, _, _ in selective)}), "
            f"{statistics.median(n for _, _, n in selective):.0f} nodes; / full {c / f:.2f}"
        )
        print(
            f"--changed-only, nothing new, median {statistics.median(selective_idle):.2f} s "
            f"(runs {', '.join(f'{s:.2f}' for s in selective_idle)})"
        )
        print(
            f"peak RSS full / incr. / changed-only  {max(p for _, p in full)} / "
            f"{max(p for _, p in incremental)} / {max(p for _, p, _ in selective)} MiB"
        )
        for kind, index in (("model", 0), ("test", 1)):
            in_full = statistics.median(x[index] for x in split["full"])
            in_incremental = statistics.median(x[index] for x in split["incremental"])
            print(
                f"{kind} work full / incr.    {in_full:.1f} / {in_incremental:.1f} s "
                f"(ratio {in_incremental / in_full:.2f}; execution time summed over both threads)"
            )
    finally:
        db.stop()
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
