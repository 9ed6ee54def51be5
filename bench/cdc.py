"""Benchmark the MySQL CDC source against its references, side by side in one run.

1. Snapshot of a 1M-row table into DuckDB: lakeshop's CDC snapshot vs dlt's own
   `sql_database` source (`sql_table`, backend="pyarrow"), end to end (extract, normalize, load).
2. Streaming 1M inserted rows from the binary log: lakeshop's reader alone and end to end into
   DuckDB, vs a bare `pymysqlreplication` loop over the same binlog (the floor).
   Each with the compiled row-image decoder and with the Python one; the floor is
   `mariadb-binlog` (C) decoding the same events over the network.
3. Peak memory (max RSS) of `lakeshop ingest mysql` snapshotting 1M vs --big-rows rows.
4. `--verify` of the landed 1M-row table vs reading every row from both sides (after 1).

Usage: python bench/cdc.py [--rows 1000000] [--big-rows 5000000] [--runs 3]
Everything runs against a private MariaDB started for the benchmark; medians are printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import dlt
from pymysqlreplication import BinLogStreamReader
from pymysqlreplication.row_event import WriteRowsEvent

from ingestion.mysql_cdc import mysql_cdc
from ingestion.mysql_cdc.helpers import MySqlConn, binlog_files, master_position
from ingestion.mysql_cdc.stream import BinlogReader
from sandbox.services import MariaDB, free_port

TABLE_DDL = """CREATE TABLE {name} (
    id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    customer_id INT NOT NULL,
    status VARCHAR(16) NOT NULL,
    amount DECIMAL(12,2) NOT NULL,
    note VARCHAR(64) NULL,
    created_at DATETIME(6) NOT NULL
) ENGINE=InnoDB"""


def fill(db: MariaDB, name: str, rows: int, step: int = 50_000) -> None:
    """Insert ``rows`` rows in transactions of ``step`` rows (MariaDB's sequence engine)."""
    with db.connect("bench") as conn, conn.cursor() as cur:
        for start in range(0, rows, step):
            n = min(step, rows - start)
            cur.execute(
                f"INSERT INTO {name} SELECT seq, seq % 9973, ELT(1 + seq % 4, 'paid','shipped','delivered','pending'), "
                f"(seq % 100000) / 100, IF(seq % 7 = 0, NULL, CONCAT('note ', seq)), "
                f"'2026-01-01' + INTERVAL (seq % 31536000) SECOND FROM seq_{start + 1}_to_{start + n}"
            )


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def median(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}s (runs: {', '.join(f'{v:.2f}' for v in values)})"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--big-rows", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--parts",
        default="snapshot,verify,stream,memory",
        help="comparisons to run, comma-separated (verify runs the snapshot to land its table)",
    )
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    home = Path(tempfile.mkdtemp(prefix="lakeshop-bench-cdc-", dir="/tmp"))
    home.chmod(0o755)
    db = MariaDB(home / "mariadb", free_port())
    db.start()
    root_url = f"mysql://root@127.0.0.1:{db.port}/bench"
    try:
        with db.connect() as conn, conn.cursor() as cur:
            cur.execute("CREATE DATABASE bench")
            cur.execute("USE bench")
            cur.execute(TABLE_DDL.format(name="snap"))
            cur.execute(TABLE_DDL.format(name="stream"))
        n = args.rows
        if parts & {"snapshot", "verify", "memory"}:
            fill(db, "snap", n)

        if parts & {"snapshot", "verify"}:
            # 1. snapshot: lakeshop (chunks through connectorx, and through pymysql inside the
            #    transaction) vs dlt sql_database with its pyarrow and connectorx backends, same
            #    table, same destination; the floors: the C client and connectorx reading the table
            import connectorx
            from dlt.sources.sql_database import sql_table

            cx_url = f"mysql://root:@127.0.0.1:{db.port}/bench"
            sqla_url = f"mysql+pymysql://root@127.0.0.1:{db.port}/bench"
            times: dict[str, list[float]] = {}

            def pipeline(name: str) -> dlt.Pipeline:
                return dlt.pipeline(name, destination=dlt.destinations.duckdb(str(home / f"{name}.duckdb")),
                                    dataset_name="raw", pipelines_dir=str(home / "dlt"))  # fmt: skip

            def lakeshop(name: str, reader: str) -> None:
                os.environ["LAKESHOP_CDC_ARROW_READER"] = "1" if reader == "connectorx" else "0"
                try:
                    pipeline(name).run(
                        mysql_cdc(credentials=root_url, include=["snap"], max_rows=10**9)
                    )
                finally:
                    os.environ.pop("LAKESHOP_CDC_ARROW_READER", None)

            client = shutil.which("mariadb") or "mysql"
            c_client = [client, "--no-defaults", "-h127.0.0.1", f"-P{db.port}", "-uroot", "bench",
                        "--quick", "-e", "SELECT * FROM snap"]  # fmt: skip
            for run in range(args.runs):
                steps = {
                    "lakeshop CDC snapshot (connectorx chunks)": lambda r=run: lakeshop(f"ours{r}", "connectorx"),
                    "lakeshop CDC snapshot (pymysql chunks)": lambda r=run: lakeshop(f"oursp{r}", "pymysql"),
                    "dlt sql_table (pyarrow)": lambda r=run: pipeline(f"ref{r}").run(
                        sql_table(credentials=sqla_url, table="snap", backend="pyarrow", chunk_size=50_000)),
                    "dlt sql_table (connectorx)": lambda r=run: pipeline(f"refcx{r}").run(
                        sql_table(credentials=sqla_url, table="snap", backend="connectorx", chunk_size=50_000,
                                  backend_kwargs={"conn": cx_url})),
                    "floor: C client reads the table": lambda: subprocess.run(
                        c_client, stdout=subprocess.DEVNULL, check=True),
                    "floor: connectorx into Arrow": lambda: connectorx.read_sql(
                        cx_url, "SELECT * FROM snap", return_type="arrow"),
                }  # fmt: skip
                for label, step in steps.items():
                    times.setdefault(label, []).append(timed(step))
            print(f"\nsnapshot of {n:,} rows into DuckDB (extract + normalize + load)")
            ours = times["lakeshop CDC snapshot (connectorx chunks)"]
            for label, values in times.items():
                ratio = statistics.median(values) / statistics.median(ours)
                print(f"  {label:42}: {median(values)} -> {n / statistics.median(values):,.0f} rows/s, "
                      f"{ratio:.2f}x lakeshop's time")  # fmt: skip

        if "verify" in parts:
            # 1b. verification of the landed 1M-row table: lakeshop --verify (server-side row
            #     hashes per 10k-key chunk, landed rows hashed locally) vs the comparison a user
            #     would write by hand (every row from both sides, compared in Python)
            from ingestion.mysql_cdc.runner import verify_target
            from ingestion.mysql_cdc.verify import Landed, landed_rows, tables_to_check

            landed_pipe = dlt.pipeline("ours0", destination=dlt.destinations.duckdb(str(home / "ours0.duckdb")),
                                       dataset_name="raw", pipelines_dir=str(home / "dlt"))  # fmt: skip
            info = tables_to_check(MySqlConn.from_url(root_url), ("snap",), ())["snap"]

            def by_hand() -> None:
                from ingestion.mysql_cdc.verify import _same

                with db.connect("bench") as conn, conn.cursor() as cur:
                    cur.execute("SELECT * FROM snap")
                    names = [d[0] for d in cur.description]
                    source = {
                        int(row[0]): dict(zip(names, row, strict=True)) for row in cur.fetchall()
                    }
                with landed_pipe.sql_client() as client:
                    landed = landed_rows(Landed(client), info)
                differ = sum(
                    1 for key, row in landed.items()
                    if key[0] not in source or not all(_same(source[key[0]][c], v) for c, v in row.items())
                )  # fmt: skip
                assert differ == 0 and len(landed) == len(source), differ

            verify_t, hand_t = [], []
            for _ in range(args.runs):
                result = {}
                verify_t.append(timed(lambda r=result: r.update(v=verify_target(
                    root_url, "warehouse", ("snap",), pipeline=landed_pipe))))  # fmt: skip
                assert result["v"].differing == 0
                hand_t.append(timed(by_hand))
            print(f"\nverifying {n:,} landed rows against the source")
            print(
                f"  lakeshop --verify            : {median(verify_t)} -> {n / statistics.median(verify_t):,.0f} rows/s"
            )
            print(f"  every row from both sides    : {median(hand_t)} -> {n / statistics.median(hand_t):,.0f} rows/s "
                  "(all 6 columns of each row, value by value)")  # fmt: skip
            print(
                f"  ratio                        : {statistics.median(hand_t) / statistics.median(verify_t):.2f}x"
            )

        if "stream" in parts:
            _stream(db, root_url, n, args.runs, home)
        if "memory" in parts:
            # 3. peak memory: snapshot 1M vs --big-rows rows in a fresh process each
            with db.connect("bench") as conn, conn.cursor() as cur:
                cur.execute(TABLE_DDL.format(name="big"))
            fill(db, "big", args.big_rows)
            for rows, table in ((n, "snap"), (args.big_rows, "big")):
                rss = _peak_rss(home, root_url, table)
                print(
                    f"\npeak memory, `lakeshop ingest mysql` snapshot of {rows:,} rows: {rss / 1024:,.0f} MiB"
                )
    finally:
        db.stop()
        shutil.rmtree(home, ignore_errors=True)


def _stream(db: MariaDB, root_url: str, n: int, runs: int, home: Path) -> None:
    """2. Streaming ``n`` inserted rows (transactions of 10,000) from the binary log: the bare
    pymysqlreplication loop (the Python decoder alone, the reference), lakeshop's reader to
    Arrow and end to end into DuckDB with each row-image decoder (compiled, and Python), and
    the floor: ``mariadb-binlog`` decoding the same events over the network (C)."""
    # each end-to-end pipeline first snapshots the still-empty table, so its checkpoint sits
    # before the inserts; only the streaming run that follows is timed
    decoders = ("compiled", "python")
    pipes: dict[tuple[str, int], dlt.Pipeline] = {}
    for decoder in decoders:
        for run in range(runs):
            name = f"stream_{decoder}{run}"
            pipe = dlt.pipeline(name, destination=dlt.destinations.duckdb(str(home / f"{name}.duckdb")),
                                dataset_name="raw", pipelines_dir=str(home / "dlt"))  # fmt: skip
            pipe.run(mysql_cdc(credentials=root_url, include=["stream"]))
            pipes[decoder, run] = pipe
    with db.connect("bench") as conn, conn.cursor() as cur:
        start = master_position(cur)
    fill(db, "stream", n, step=10_000)
    with db.connect("bench") as conn, conn.cursor() as cur:
        end = master_position(cur)
    conn_info = MySqlConn("127.0.0.1", db.port, "root", "", "bench")

    def bare() -> None:
        stream = BinLogStreamReader(
            connection_settings={"host": "127.0.0.1", "port": db.port, "user": "root", "password": ""},
            server_id=77, resume_stream=True, log_file=start.file, log_pos=start.pos,
            only_events=[WriteRowsEvent], only_schemas=["bench"], blocking=False,
        )  # fmt: skip
        count = 0
        for event in stream:
            for row in event.rows:
                count += len(row["values"])  # touch the values like a consumer would
        stream.close()

    def reader_only() -> None:
        reader = BinlogReader(conn_info, 78, start, lambda t: t == "stream")
        rows = 0
        for _, batches, _, _ in reader.transactions(lambda pos: False):
            for b in batches:
                rows += b.to_arrow("bench", "bench").num_rows
        assert rows == n, rows

    client = shutil.which("mariadb-binlog") or shutil.which("mysqlbinlog") or "mariadb-binlog"
    with db.connect("bench") as conn, conn.cursor() as cur:
        files = [f for f in binlog_files(cur) if start.file <= f <= end.file]
    c_decoder = [client, "--no-defaults", "--read-from-remote-server", "-h127.0.0.1", f"-P{db.port}",
                 "-uroot", f"--start-position={start.pos}", f"--stop-position={end.pos}",
                 "--base64-output=decode-rows", "--verbose", *files]  # fmt: skip

    def c_floor() -> None:
        """mariadb-binlog writes each decoded row as an INSERT; grep (C too) counts them."""
        decoded = subprocess.Popen(c_decoder, stdout=subprocess.PIPE)
        counted = subprocess.run(["grep", "-c", "^### INSERT INTO"], stdin=decoded.stdout,
                                 capture_output=True, text=True, check=False)  # fmt: skip
        assert decoded.wait() == 0 and int(counted.stdout) == n, counted.stdout

    def with_decoder(decoder: str, step: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            os.environ["LAKESHOP_CDC_ROW_DECODER"] = decoder
            try:
                step()
            finally:
                del os.environ["LAKESHOP_CDC_ROW_DECODER"]

        return run

    times: dict[str, list[float]] = {}
    for run in range(runs):
        steps = {"bare pymysqlreplication loop (reference)": bare}
        for decoder in decoders:
            steps[f"lakeshop reader to Arrow, {decoder} decoder"] = with_decoder(
                decoder, reader_only
            )
            steps[f"lakeshop end to end into DuckDB, {decoder} decoder"] = with_decoder(
                decoder,
                lambda p=pipes[decoder, run]: p.run(
                    mysql_cdc(credentials=root_url, include=["stream"], max_rows=10**9)
                ),
            )
        steps["floor: mariadb-binlog decodes the events (C)"] = c_floor
        for label, step in steps.items():
            times.setdefault(label, []).append(timed(step))
    for decoder in decoders:
        landed = pipes[decoder, 0].dataset().row_counts().fetchall()
        assert dict(landed)["stream"] == n, landed
    reference = statistics.median(times["bare pymysqlreplication loop (reference)"])
    print(f"\nstreaming {n:,} inserted rows from the binary log (transactions of 10,000)")
    for label, values in times.items():
        t = statistics.median(values)
        print(
            f"  {label:52}: {median(values)} -> {n / t:,.0f} rows/s, {reference / t:.2f}x the reference's speed"
        )


def _peak_rss(home: Path, url: str, table: str) -> int:
    """Max RSS (KiB) of one `lakeshop ingest mysql` process, measured by a fresh parent."""
    work = home / f"rss-{table}"
    work.mkdir()
    env = {**os.environ, "LAKESHOP_HOME": str(work), "LAKESHOP_CDC_URL": url}
    lakeshop = str(Path(sys.executable).parent / "lakeshop")
    probe = (
        "import resource, subprocess, sys; "
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    done = subprocess.run([sys.executable, "-c", probe, lakeshop, "ingest", "mysql", "--to", "warehouse", "--include", table],
                          env=env, check=True, capture_output=True, text=True)  # fmt: skip
    return int(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
