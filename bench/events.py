"""Benchmark the event-file source against plain dlt on the same files.

Writes --hours hour windows of sensor and website files (JSON lines and CSV in turn, clean
unless --dirt-rate) to a local landing folder, then, --runs times each into a fresh
DuckDB file, medians printed:
  1. lakeshop's source (`ingestion.event_files`): every line with its file and line number,
     malformed lines kept, duplicates flagged, the files taken in dlt state;
  2. what a user would pick instead: dlt's own filesystem source with its `read_jsonl` and
     `read_csv_duckdb` readers (`read_csv` needs pandas, which is not installed), one resource
     per kind and format, loaded the same way. It stops at the first line that does not
     parse, and keeps no file or line number.
Rates: files/s and rows/s (rows landed).

Usage: python bench/events.py [--hours 200] [--devices 30] [--runs 3]
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

import dlt
from dlt.sources.filesystem import filesystem, read_csv_duckdb, read_jsonl

from ingestion.event_files.runner import sync_events
from sandbox.events.simulate import EventsConfig, simulate_events


def plain_dlt(landing: Path, work: Path) -> int:
    """dlt's filesystem source with its stock readers: (rows landed)."""
    url = landing.as_uri()
    resources = []
    for kind in ("sensors", "web"):
        for fmt, reader in (("jsonl", read_jsonl), ("csv", read_csv_duckdb)):
            files = filesystem(bucket_url=url, file_glob=f"{kind}/**/*.{fmt}")
            resources.append((files | reader()).with_name(f"{kind}_{fmt}"))
    pipe = dlt.pipeline(
        "bench_plain_events", destination=dlt.destinations.duckdb(str(work / "plain.duckdb")),
        dataset_name="raw_events", pipelines_dir=str(work / "dlt"),
    )  # fmt: skip
    pipe.run(resources)
    counts = pipe.last_trace.last_normalize_info.row_counts  # type: ignore[union-attr]
    return sum(n for t, n in counts.items() if not t.startswith("_dlt"))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hours", type=int, default=200)
    parser.add_argument("--devices", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--dirt-rate", type=float, default=0.0,
        help="dirty lines (default 0: dlt's stock readers stop at the first malformed line)",
    )  # fmt: skip
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="lakeshop-bench-events-"))
    landing = root / "landing"
    truth = simulate_events(
        str(landing),
        EventsConfig(start=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), hours=args.hours,
                     devices=args.devices, dirt_rate=args.dirt_rate, late_files=0),
    )  # fmt: skip
    files = len(truth.files)
    lines = sum(f.lines for f in truth.files)
    size = sum(p.stat().st_size for p in landing.rglob("*") if p.is_file()) / 2**20
    print(f"{files} files, {lines:,} lines, {size:.1f} MiB under {landing}")
    ours: list[float] = []
    theirs: list[float] = []
    rows_ours = rows_theirs = 0
    for run in range(args.runs):
        work = root / f"run{run}"
        os.environ.update(
            LAKESHOP_HOME=str(work), LAKESHOP_DUCKDB_PATH=str(work / "warehouse.duckdb")
        )
        started = time.monotonic()
        result = sync_events(str(landing))
        ours.append(time.monotonic() - started)
        rows_ours = sum(result.rows.values())
        started = time.monotonic()
        try:
            rows_theirs = plain_dlt(landing, work)
            theirs.append(time.monotonic() - started)
        except Exception as exc:  # its readers stop at the first malformed line
            print(f"  plain dlt failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
        shutil.rmtree(work, ignore_errors=True)
    mine = statistics.median(ours)
    print(f"  lakeshop event source : {mine:.2f}s (runs: {', '.join(f'{v:.2f}' for v in ours)})"
          f" -> {files / mine:,.1f} files/s, {rows_ours / mine:,.0f} rows/s")  # fmt: skip
    if theirs:
        ref = statistics.median(theirs)
        print(f"  dlt filesystem + read_jsonl/read_csv_duckdb : {ref:.2f}s -> {files / ref:,.1f} files/s,"
              f" {rows_theirs / ref:,.0f} rows/s; ratio {ref / mine:.2f}x")  # fmt: skip
    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
