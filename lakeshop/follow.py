"""`lakeshop follow`: continuous CDC into the embedded warehouse, with the models kept built.

One loop: land the binlog's new changes (a bounded CDC run, until caught up), then build the
nodes that have new input (`lakeshop build --changed-only`), then again. Each step holds the
warehouse lock only while it uses the DuckDB file (ingestion.destinations.warehouse_lock), so
scheduled Dagster runs and a `lakeshop build` from a terminal take turns with it instead of
failing on DuckDB's single-writer lock. The time from a commit in MySQL to the change in gold
is measured by bench/freshness.py.
"""

from __future__ import annotations

import signal
import sys
import time
from dataclasses import dataclass, field
from types import FrameType

from dlt.common.runtime import signals

from ingestion.destinations import warehouse_lock
from ingestion.mysql_cdc.runner import sync
from ingestion.mysql_cdc.settings import default_mysql_url


@dataclass
class FollowStats:
    cycles: int = 0
    builds: int = 0
    change_rows: int = 0
    failed_builds: int = 0
    last_build_seconds: float = 0.0
    build_seconds: list[float] = field(default_factory=list)


def follow(
    url: str | None = None,
    idle_seconds: float = 1.0,
    max_cycles: int | None = None,
    quiet: bool = True,
) -> FollowStats:
    """Land, build, repeat, until SIGTERM/SIGINT (or max_cycles); returns what it did."""
    from lakeshop.build import run_build

    stats = FollowStats()
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    pending_build = True  # the first cycle builds whatever is new since the last build
    try:
        while not stopping and (max_cycles is None or stats.cycles < max_cycles):
            stats.cycles += 1
            with warehouse_lock():
                landed = sync(url or default_mysql_url(), "warehouse", quiet=True)
            stats.change_rows += landed.change_rows
            # a signal that arrived during the CDC run went to dlt's handler, which ended
            # the run at a commit: stop here too
            stopping = stopping or signals.was_signal_received()
            if landed.change_rows or landed.snapshot_rows or pending_build:
                started = time.monotonic()
                code = run_build([], changed_only=True, alert_on="failures", quiet=quiet)
                stats.last_build_seconds = time.monotonic() - started
                stats.build_seconds.append(stats.last_build_seconds)
                stats.builds += 1
                pending_build = code != 0  # a failed build is tried again next cycle
                if code != 0:
                    stats.failed_builds += 1
                    print(f"lakeshop follow: build failed (exit {code}); retrying", file=sys.stderr)
                if not quiet:
                    print(
                        f"cycle {stats.cycles}: {landed.change_rows:,} change rows landed, "
                        f"built in {stats.last_build_seconds:.1f} s",
                        flush=True,
                    )
            else:
                time.sleep(idle_seconds)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return stats
