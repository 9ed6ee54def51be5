"""Benchmark the e-commerce API source against the local API server over real HTTP.

The server holds a generated shop (--orders orders: its products, users and carts) and runs
as a process of its own (`lakeshop api serve --source synthetic`), as a real API would.
Measurements, --runs times each, medians printed:
  1. floor: a bare `requests` loop fetching every page of every resource (no dlt);
  2. lakeshop's source, fetch only (pages through dlt's rest_api, nothing landed);
  3. lakeshop's source end to end into DuckDB (normalize, child tables, scd2 merge), with
     the wall time of each dlt step (extract, which includes the fetch; normalize; load,
     which runs the scd2 merge);
  4. the reference a user would pick: plain dlt `rest_api` with its defaults (append, no
     versioning, auto-detected data selector) and only the offset paginator the API needs,
     end to end into DuckDB on the same server.
Rates: pages/s, records/s (records the API returned) and rows/s (rows landed, child tables
included).

Usage: python bench/api.py [--orders 200000] [--page-size 100] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from ingestion.ecommerce_api import RESOURCES
from ingestion.ecommerce_api.runner import sync_api
from sandbox.services import free_port
from sandbox.shop_api.service import ApiService


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


def plain_rest_api(
    base_url: str, page_size: int, home: Path
) -> tuple[float, int, int, int, dict[str, float]]:
    """dlt's rest_api as its docs configure it: (seconds, pages, records, rows, steps)."""
    import dlt
    from dlt.sources.rest_api import rest_api_source

    offset = {"type": "offset", "limit": page_size, "offset_param": "skip",
              "limit_param": "limit", "total_path": "total"}  # fmt: skip
    config: Any = {
        "client": {"base_url": base_url.rstrip("/") + "/"},
        "resources": [
            {
                "name": name,
                "endpoint": {"path": path, "paginator": offset if paged else "single_page"},
            }
            for name, (path, _, paged) in RESOURCES.items()
        ],
    }
    source = rest_api_source(config)
    pipe = dlt.pipeline(
        "bench_plain_rest_api", destination=dlt.destinations.duckdb(str(home / "plain.duckdb")),
        dataset_name="raw_plain", pipelines_dir=str(home / "pipelines"),
    )  # fmt: skip
    started = time.perf_counter()
    pipe.run(source)
    seconds = time.perf_counter() - started
    trace = pipe.last_trace
    assert trace is not None and trace.last_normalize_info is not None
    steps: dict[str, float] = {
        str(s.step): (s.finished_at - s.started_at).total_seconds()
        for s in trace.steps
        if s.step in {"extract", "normalize", "load"}
    }
    counts = trace.last_normalize_info.row_counts
    rows = sum(n for t, n in counts.items() if not t.startswith("_dlt"))
    records = sum(n for t, n in counts.items() if t in RESOURCES)
    pages = sum(
        1 + (n - 1) // page_size if RESOURCES[t][2] else 1
        for t, n in counts.items()
        if t in RESOURCES
    )
    return seconds, pages, records, rows, steps


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    # the server is a process of its own, as any real API is: with the client it shares the
    # machine's two cores, not one interpreter lock (a server on a thread of this process
    # made every request and the client's work take turns)
    state = Path(tempfile.mkdtemp(prefix="lakeshop-bench-api-server-", dir="/tmp"))
    port = free_port()
    server = ApiService(state, port, ["--port", str(port), "--source", "synthetic", "--orders",
                                      str(args.orders), "--seed", "5", "--end-date", "2026-10-31"])  # fmt: skip
    server.start()
    sizes = {
        name: requests.get(f"{server.address()}/{path}", params={"limit": 1}, timeout=60).json()[
            "total"
        ]
        for name, (path, _, paged) in RESOURCES.items()
        if paged
    }
    print("API world (its own process): " + ", ".join(f"{n:,} {name}" for name, n in sizes.items()))
    figures: dict[str, list[tuple[float, int, int, int]]] = {
        "floor": [],
        "fetch": [],
        "end to end": [],
        "dlt rest_api": [],
    }
    steps: dict[str, list[dict[str, float]]] = {"end to end": [], "dlt rest_api": []}
    try:
        for run in range(1, args.runs + 1):
            t = time.perf_counter()
            pages, records = bare_loop(server.address(), args.page_size)
            figures["floor"].append((time.perf_counter() - t, pages, records, 0))
            for label, targets in (("fetch", ()), ("end to end", ("warehouse",))):
                home = Path(tempfile.mkdtemp(prefix="lakeshop-bench-api-", dir="/tmp"))
                os.environ.update(
                    LAKESHOP_HOME=str(home), LAKESHOP_DUCKDB_PATH=str(home / "w.duckdb")
                )
                try:
                    result = sync_api(server.address(), targets=targets, page_size=args.page_size)
                finally:
                    shutil.rmtree(home, ignore_errors=True)
                landed = sum(n for table, n in result.rows.items() if not table.startswith("_dlt"))
                figures[label].append((result.seconds, result.http.pages, result.records, landed))
                if result.steps:
                    steps[label].append(result.steps)
            home = Path(tempfile.mkdtemp(prefix="lakeshop-bench-api-plain-", dir="/tmp"))
            try:
                *figure, plain_steps = plain_rest_api(server.address(), args.page_size, home)
            finally:
                shutil.rmtree(home, ignore_errors=True)
            figures["dlt rest_api"].append(tuple(figure))  # type: ignore[arg-type]
            steps["dlt rest_api"].append(plain_steps)
            print(f"run {run}: " + ", ".join(f"{k} {v[-1][0]:.1f} s" for k, v in figures.items()))
    finally:
        server.stop()
        shutil.rmtree(state, ignore_errors=True)
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
    print()
    for label, per_run in steps.items():
        names = sorted({k for run in per_run for k in run})
        parts = ", ".join(
            f"{k} {statistics.median(r.get(k, 0.0) for r in per_run):.1f} s" for k in names
        )
        print(f"{label:<13} by step (medians): {parts}")
    plain = statistics.median(s for s, *_ in figures["dlt rest_api"])
    ours = statistics.median(s for s, *_ in figures["end to end"])
    print(f"lakeshop end to end / dlt rest_api end to end: {ours / plain:.2f}x the time")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
