"""Benchmark the dashboard and the forecast on a built warehouse.

Given a lakeshop home whose warehouse is built (e.g. `python bench/dbt_scale.py --orders
1000000 --runs 1 --keep DIR`), this:
  1. runs `lakeshop forecast` (read, backtest, refit, MLflow, write) and times each part;
  2. starts `lakeshop dashboard` and renders every page in headless Chromium --runs times,
     from the request until Streamlit has finished the page (no cache: every render reads
     the warehouse);
  3. times the overview's own queries run straight on DuckDB, the floor of its render.
Prints each figure and the medians; the README quotes them.

Usage: python bench/dashboard.py --home DIR [--runs 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sandbox.services import free_port  # noqa: E402

LAKESHOP = str(Path(sys.executable).parent / "lakeshop")
PAGES = ["", "products", "customers", "carts", "forecast", "inventory", "quality"]


def render(page: object, url: str) -> float:
    started = time.monotonic()
    page.goto(url, wait_until="domcontentloaded")  # type: ignore[attr-defined]
    # every page ends with when its figures were read (lakeshop/dashboard/app.py)
    page.wait_for_selector(  # type: ignore[attr-defined]
        "text=/Figures read from the warehouse|from the last read/", timeout=120_000
    )
    return time.monotonic() - started


def overview_queries(home: Path) -> float:
    """The overview page's queries (lakeshop.dashboard.data), straight on DuckDB."""
    os.environ["LAKESHOP_HOME"] = str(home)
    from lakeshop.dashboard import data

    started = time.monotonic()
    lo, hi = data.date_span()
    start = max(lo, hi - dt.timedelta(days=89))
    data.totals(start, hi)
    data.totals(start - dt.timedelta(days=90), start - dt.timedelta(days=1))
    data.daily_value(start, hi)
    data.daily_status(start, hi)
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    home = args.home.resolve()
    env = {**os.environ, "LAKESHOP_HOME": str(home)}
    env.pop("LAKESHOP_DUCKDB_PATH", None)
    (orders,) = subprocess.run(
        [sys.executable, "-c", "import duckdb,sys; c=duckdb.connect(sys.argv[1], read_only=True);"
         "print(c.sql('select count(*) from gold.fct_orders').fetchone()[0])",
         str(home / "warehouse.duckdb")],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    print(f"warehouse: {home / 'warehouse.duckdb'} ({int(orders):,} orders in gold.fct_orders)")

    started = time.monotonic()
    done = subprocess.run([LAKESHOP, "forecast"], env=env, capture_output=True, text=True)
    print(done.stdout[-2500:], done.stderr[-1500:])
    print(f"lakeshop forecast: {time.monotonic() - started:.1f} s (process, imports included)")

    from playwright.sync_api import sync_playwright

    port = free_port()
    env["LAKESHOP_DASHBOARD_PORT"] = str(port)
    subprocess.run([LAKESHOP, "dashboard", "start"], env=env, check=True, capture_output=True)
    url = f"http://127.0.0.1:{port}"
    times: dict[str, list[float]] = {p or "overview": [] for p in PAGES}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            render(page, url)  # the server's first run: imports, the first connection
            for run in range(args.runs):
                for name in PAGES:
                    times[name or "overview"].append(render(page, f"{url}/{name}"))
                print(
                    f"run {run + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items())
                )
            browser.close()
    finally:
        subprocess.run([LAKESHOP, "dashboard", "stop"], env=env, capture_output=True)
    floor = statistics.median(overview_queries(home) for _ in range(args.runs))
    print("\nmedians over", args.runs, "renders:")
    for name, values in times.items():
        print(f"  {name:10s} {statistics.median(values):6.2f} s")
    overview = statistics.median(times["overview"])
    print(f"overview's queries straight on DuckDB: {floor:.2f} s "
          f"(the render is {overview / floor:.1f}x that)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
