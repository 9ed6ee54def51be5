"""Freshness of continuous CDC: the time from a commit in MySQL to the order being in gold.

A shop of --orders orders (the demo's 20,000 by default) is seeded into a private MariaDB,
captured into DuckDB, its API ingested over HTTP and built once. Then `lakeshop follow` runs
(land the binlog's changes, build what has new input, again) while:

- a writer commits --commits new orders, one every --interval seconds (one order and its
  line per transaction, valid, for customers and products that exist), noting each commit
  time;
- a scheduled build (`lakeshop build --changed-only`, as a Dagster schedule would run it)
  starts every --scheduled-every seconds;
- a reader looks for the new orders in gold.fct_orders every second, taking the warehouse
  lock for the moment it reads, as every lakeshop process does.

Reported: p50, p95 and max of commit -> visible in gold, the follower's build times, and the
number of DuckDB lock errors anywhere (the design says none).

Usage: python bench/freshness.py [--orders 20000] [--commits 200] [--interval 1.0]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import duckdb
import pymysql

from ingestion import config
from ingestion.destinations import warehouse_lock
from ingestion.ecommerce_api.runner import sync_api
from ingestion.mysql_cdc.runner import sync
from lakeshop.build import run_build
from lakeshop.dbt_runner import venv_executable
from sandbox.services import MariaDB, free_port
from sandbox.shop.generator import ShopConfig, generate
from sandbox.shop.seed import seed as seed_shop
from sandbox.shop.target import MySQLTarget
from sandbox.shop_api.server import RunningApi, ShopApi
from sandbox.shop_api.world import ApiWorld

LOCK_ERROR = "Could not set lock"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--commits", type=int, default=200)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--scheduled-every", type=float, default=60.0)
    parser.add_argument("--timeout", type=float, default=600.0, help="after the last commit")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="lakeshop-bench-fresh-", dir="/tmp"))
    home.chmod(0o755)
    duck = home / "warehouse.duckdb"
    os.environ.update(
        LAKESHOP_HOME=str(home), LAKESHOP_DUCKDB_PATH=str(duck), LAKESHOP_WAREHOUSE="duckdb"
    )
    db = MariaDB(home / "mariadb", free_port())
    db.start()
    logs = home / "logs"
    logs.mkdir()
    try:
        target = MySQLTarget("127.0.0.1", db.port, "root", "", config.SHOP_DATABASE, str(db.socket))
        cdc = f"mysql://{config.CDC_USER}:{config.CDC_PASSWORD}@127.0.0.1:{db.port}/{config.SHOP_DATABASE}"
        os.environ["LAKESHOP_CDC_URL"] = cdc
        seed_shop(
            target,
            generate(ShopConfig(orders=args.orders, seed=11, end_date=dt.date.today())),
            reset=True,
        )
        sync(cdc, "warehouse", quiet=True)
        with RunningApi(ShopApi(ApiWorld.from_mysql(target, seed=11))) as api:
            sync_api(api.url, targets=("warehouse",))
        t = time.perf_counter()
        if run_build([], alert_on="never", quiet=True) != 0:
            raise SystemExit("the first build failed")
        print(f"seeded {args.orders:,} orders, captured, built in {time.perf_counter() - t:.0f} s")

        conn = pymysql.connect(**target.connect_kwargs())  # type: ignore[arg-type]
        with conn.cursor() as cur:
            cur.execute("select customer_id from customers")
            customers = [r[0] for r in cur.fetchall()]
            cur.execute("select product_id, price from products")
            products = cur.fetchall()
        rng = random.Random(5)

        follower_log = (logs / "follow.log").open("w")
        follower = subprocess.Popen(
            [venv_executable("lakeshop"), "follow", "--idle-seconds", "0.5", "--verbose"],
            stdout=follower_log, stderr=subprocess.STDOUT, env=dict(os.environ),
        )  # fmt: skip
        committed: dict[int, float] = {}
        seen: dict[int, float] = {}
        done = threading.Event()
        scheduled: list[float] = []
        lock_errors = 0

        def writer() -> None:
            for _ in range(args.commits):
                product_id, price = rng.choice(products)
                quantity = rng.randint(1, 3)
                with conn.cursor() as cur:
                    cur.execute(
                        "insert into orders (customer_id, status, currency, total_amount, placed_at)"
                        " values (%s, 'pending', 'USD', %s, utc_timestamp(6))",
                        (rng.choice(customers), round(float(price) * quantity, 2)),
                    )
                    order_id = cur.lastrowid
                    cur.execute(
                        "insert into order_items (order_id, product_id, quantity, unit_price)"
                        " values (%s, %s, %s, %s)",
                        (order_id, product_id, quantity, price),
                    )
                conn.commit()
                committed[order_id] = time.monotonic()
                time.sleep(args.interval)

        def scheduler() -> None:
            nonlocal lock_errors
            while not done.wait(args.scheduled_every):
                t0 = time.monotonic()
                out = subprocess.run(
                    [venv_executable("lakeshop"), "build", "--changed-only", "--alert-on", "never"],
                    capture_output=True, text=True, env=dict(os.environ), check=False,
                )  # fmt: skip
                scheduled.append(time.monotonic() - t0)
                lock_errors += (out.stdout + out.stderr).count(LOCK_ERROR)

        threads = [threading.Thread(target=writer), threading.Thread(target=scheduler)]
        for th in threads:
            th.start()
        deadline: float | None = None
        while True:
            pending = [o for o in committed if o not in seen]
            if pending:
                try:
                    with warehouse_lock(duck), duckdb.connect(str(duck), read_only=True) as con:
                        ids = ",".join(str(o) for o in pending)
                        rows = con.execute(
                            f"select order_id from gold.fct_orders where order_id in ({ids})"
                        ).fetchall()
                    now = time.monotonic()
                    for (order_id,) in rows:
                        seen[int(order_id)] = now
                except duckdb.IOException as exc:
                    lock_errors += str(exc).count(LOCK_ERROR)
            if not threads[0].is_alive():
                deadline = deadline or time.monotonic() + args.timeout
                if len(seen) == len(committed) or time.monotonic() > deadline:
                    break
            time.sleep(1.0)
        done.set()
        threads[1].join()
        follower.send_signal(signal.SIGTERM)
        follower.wait(timeout=300)
        follower_log.close()
        text = (logs / "follow.log").read_text(errors="replace")
        lock_errors += text.count(LOCK_ERROR)
        builds = [
            float(x.split("built in ")[1].split(" s")[0])
            for x in text.splitlines()
            if "built in" in x
        ]

        latencies = [seen[o] - committed[o] for o in committed if o in seen]
        print(f"orders in the shop         {args.orders:,}")
        print(f"commits                    {len(committed)} (one every {args.interval:g} s)")
        print(f"visible in gold            {len(latencies)} of {len(committed)}")
        if latencies:
            print(
                f"commit -> gold             p50 {statistics.median(latencies):.1f} s, "
                f"p95 {percentile(latencies, 0.95):.1f} s, max {max(latencies):.1f} s"
            )
        if builds:
            print(
                f"follower builds            {len(builds)}, median {statistics.median(builds):.1f} s, "
                f"max {max(builds):.1f} s"
            )
        if scheduled:
            print(
                f"scheduled builds meanwhile {len(scheduled)}, median {statistics.median(scheduled):.1f} s"
            )
        print(f"DuckDB lock errors         {lock_errors}")
        return 0 if len(latencies) == len(committed) and lock_errors == 0 else 1
    finally:
        db.stop()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
