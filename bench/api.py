"""Benchmark the e-commerce API source against the local API server over real HTTP.

The server holds a generated shop (--orders orders: its products, users and carts). Three
measurements, --runs times each, medians printed:
  1. floor: a bare `requests` loop fetching every page of every resource (no dlt);
  2. lakeshop's source, fetch only (pages through dlt's rest_api, nothing landed);
  3. lakeshop's source end to end into DuckDB (normalize, child tables, scd2 merge).
Rates: pages/s, records/s (records the API returned) and rows/s (rows landed, child tables
included).

Usage: python bench/api.py [--orders 200000] [--page-size 100] [--runs 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import requests

from ingestion.ecommerce_api import RESOURCES
from ingestion.ecommerce_api.runner import sync_api
from sandbox.shop.generator import ShopConfig, generate
from sandbox.shop_api.server import RunningApi, ShopApi
from sandbox.shop_api.world import ApiWorld


def bare_loop(base_url: str, page_size: int) -> tuple[int, int]:
    """Every page of every resource with plain requests: (pages, records)."""
    pages = records = 0
    with requests.Session() as session:
        for path, selector, paged in RESOURCES.values():
            skip = 0
            while True:
                params = {"limit": page_size, "skip": skip} if paged else {}
                body = session.get(f"{base_url}/{path}", params=params, timeout=30).json()
                pages += 1
                items = body if selector == "$" else body[selector]
                records += len(items)
                skip += page_size
                if not paged or skip >= body["total"]:
                    break
    return pages, records


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    tables = generate(ShopConfig(orders=args.orders, seed=5, end_date=dt.date(2026, 10, 31))).tables
    world = ApiWorld.from_tables(tables, seed=5)
    del tables
    print(
        f"API world: {len(world.products):,} products, {len(world.user_rows):,} users, {len(world.carts):,} carts"
    )
    figures: dict[str, list[tuple[float, int, int, int]]] = {
        "floor": [],
        "fetch": [],
        "end to end": [],
    }
    with RunningApi(ShopApi(world)) as api:
        for run in range(1, args.runs + 1):
            t = time.perf_counter()
            pages, records = bare_loop(api.url, args.page_size)
            figures["floor"].append((time.perf_counter() - t, pages, records, 0))
            for label, targets in (("fetch", ()), ("end to end", ("warehouse",))):
                home = Path(tempfile.mkdtemp(prefix="lakeshop-bench-api-", dir="/tmp"))
                os.environ.update(
                    LAKESHOP_HOME=str(home), LAKESHOP_DUCKDB_PATH=str(home / "w.duckdb")
                )
                try:
                    result = sync_api(api.url, targets=targets, page_size=args.page_size)
                finally:
                    shutil.rmtree(home, ignore_errors=True)
                landed = sum(n for table, n in result.rows.items() if not table.startswith("_dlt"))
                figures[label].append((result.seconds, result.http.pages, result.records, landed))
            print(f"run {run}: " + ", ".join(f"{k} {v[-1][0]:.1f} s" for k, v in figures.items()))
    print()
    floor = statistics.median(s for s, *_ in figures["floor"])
    for label, runs in figures.items():
        seconds = statistics.median(s for s, *_ in runs)
        _, pages, records, landed = runs[-1]
        line = f"{label:<11} {seconds:6.1f} s  {pages / seconds:7.1f} pages/s  {records / seconds:9,.0f} records/s"
        if landed:
            line += f"  {landed / seconds:9,.0f} rows/s landed ({landed:,} rows)"
        line += f"  [{floor / seconds:.2f}x of the floor; runs {', '.join(f'{s:.1f}' for s, *_ in runs)}]"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
