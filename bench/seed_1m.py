"""Benchmark: `lakeshop shop seed --orders 1000000` on a private MariaDB (binary log on).

Runs the generator and the bulk load --runs times on a fresh private MariaDB and prints the
median and the spread. Usage: python bench/seed_1m.py [--orders 1000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from ingestion import config
from sandbox.services import MariaDB, free_port
from sandbox.shop.generator import ShopConfig, generate
from sandbox.shop.seed import seed
from sandbox.shop.target import MySQLTarget


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="lakeshop-bench-", dir="/tmp"))
    db = MariaDB(home / "mariadb", free_port())
    db.start()
    target = MySQLTarget("127.0.0.1", db.port, "root", "", config.SHOP_DATABASE, str(db.socket))
    gen_s, load_s, rows = [], [], 0
    try:
        for run in range(args.runs):
            started = time.perf_counter()
            data = generate(
                ShopConfig(orders=args.orders, seed=run + 1, end_date=dt.date(2026, 10, 31))
            )
            gen_s.append(time.perf_counter() - started)
            figures = seed(target, data, reset=True, quiet=True)
            load_s.append(figures["seconds"])
            rows = sum(data.rows().values())
            print(f"run {run + 1}: generate {gen_s[-1]:.1f}s, load {load_s[-1]:.1f}s, "
                  f"{rows:,} rows ({rows / load_s[-1]:,.0f} rows/s)", flush=True)  # fmt: skip
            del data
    finally:
        db.stop()
        shutil.rmtree(home, ignore_errors=True)
    g, ld = statistics.median(gen_s), statistics.median(load_s)
    print(f"\n{args.orders:,} orders, {rows:,} rows in all tables, {args.runs} runs")
    print(f"generate: median {g:.1f}s (min {min(gen_s):.1f}, max {max(gen_s):.1f})")
    print(
        f"load:     median {ld:.1f}s (min {min(load_s):.1f}, max {max(load_s):.1f}), {rows / ld:,.0f} rows/s"
    )
    print(f"total:    median {g + ld:.1f}s, {args.orders / (g + ld):,.0f} orders/s end to end")


if __name__ == "__main__":
    main()
