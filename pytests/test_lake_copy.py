"""The S3 -> Azure copy of the lake, against real servers: the lake on the SeaweedFS S3 server,
Azurite (npm, the Blob API; it has no DFS endpoint, so ADLS Gen2's hierarchical-namespace
operations stay untested) as the destination, `lakeshop lake copy` run as a user runs it and
SIGKILLed mid-copy; and dlt's filesystem destination landing the CDC source straight in az://.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ingestion import config
from ingestion.destinations import lake_filesystem
from lakeshop.dbt_runner import project_dir, venv_executable
from lakeshop.lake_copy import MANIFEST, azure_filesystem, copy_lake
from pytests.cdc_support import cdc_url, env
from pytests.conftest import END_DATE, make_home
from sandbox.events.simulate import EventsConfig, simulate_events
from sandbox.services import S3, Azurite, MariaDB, free_port
from sandbox.shop.generator import ShopConfig, generate
from sandbox.shop.seed import seed as seed_shop
from sandbox.shop.target import MySQLTarget


@pytest.fixture(scope="module")
def azurite() -> Iterator[Azurite]:
    home = make_home("lakeshop-azurite-")
    service = Azurite(home / "azurite", free_port())
    service.start()
    with env(AZURE_STORAGE_CONNECTION_STRING=service.connection_string):
        yield service
    service.stop()
    shutil.rmtree(home, ignore_errors=True)


def _digests(fs: Any, base: str) -> dict[str, str]:
    return {
        str(p)[len(base) :].lstrip("/"): hashlib.md5(fs.cat_file(p)).hexdigest()
        for p in fs.find(base)
        if MANIFEST not in str(p)
    }


def test_copy_moves_only_new_or_changed_objects_and_resumes_after_a_kill(
    s3: S3, azurite: Azurite
) -> None:
    lake = f"s3://{config.LAKE_BUCKET}/copy-test-{os.getpid()}"
    dest = f"az://lakeshop-lake/copy-{os.getpid()}"
    with env(LAKESHOP_LAKE_URL=lake, LAKESHOP_S3_ENDPOINT=s3.endpoint):
        src, src_base = lake_filesystem(lake)
        simulate_events(
            f"{lake}/landing/events", EventsConfig(seed=2, hours=4, late_files=0),
            storage_options=src.storage_options,
        )  # fmt: skip
        dst, dst_base = azure_filesystem(dest)
        first = copy_lake(dest, ["landing/events"])
        assert first.copied == first.objects >= 8 and first.bytes_copied > 0
        assert _digests(dst, dst_base) == _digests(src, src_base)

        again = copy_lake(dest, ["landing/events"])
        assert (again.copied, again.unchanged) == (0, first.objects)

        # one object changed, one new: exactly those two move
        changed = sorted(p for p in src.find(src_base) if p.endswith(".csv"))[0]
        src.pipe_file(changed, src.cat_file(changed) + b"x,y,z\n")
        src.pipe_file(f"{src_base}/landing/events/web/new.jsonl", b'{"session_id": "s"}\n')
        third = copy_lake(dest, ["landing/events"])
        assert (third.copied, third.unchanged) == (2, first.objects - 1)
        assert _digests(dst, dst_base) == _digests(src, src_base)

        # a bigger prefix, a kill mid-copy, then a resume that uploads only what was missing
        blobs = 60
        for n in range(blobs):
            src.pipe_file(f"{src_base}/bulk/part-{n:03d}.bin", os.urandom(512 * 1024))
        proc = subprocess.Popen(
            [venv_executable("lakeshop"), "lake", "copy", "--to", dest, "--prefix", "bulk"],
            cwd=project_dir(), env=dict(os.environ), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        present = 0
        while time.monotonic() < deadline and proc.poll() is None:
            present = (
                len([p for p in dst.find(f"{dst_base}/bulk")])
                if dst.exists(f"{dst_base}/bulk")
                else 0
            )
            if present >= 25:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the copy finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        dst.invalidate_cache()
        present = len(dst.find(f"{dst_base}/bulk"))
        assert 0 < present < blobs
        resumed = copy_lake(dest, ["bulk"])
        assert resumed.objects == blobs
        # nothing present at the kill is uploaded again: recorded, or recognised by checksum
        assert resumed.copied == blobs - present
        assert resumed.unchanged + resumed.recovered == present
        assert _digests(dst, f"{dst_base}/bulk") == _digests(src, f"{src_base}/bulk")
        out = subprocess.run(
            [venv_executable("lakeshop"), "lake", "copy", "--to", dest, "--prefix", "bulk"],
            cwd=project_dir(), env=dict(os.environ), capture_output=True, text=True,
            timeout=120, check=True,
        ).stdout  # fmt: skip
        assert "copied" in out and f"{blobs:,} (checksums equal)" in out


def test_dlt_lands_the_cdc_source_straight_in_az(mariadb: MariaDB, azurite: Azurite) -> None:
    """dlt's filesystem destination with an az:// bucket (adlfs, the connection string):
    the CDC snapshot lands as parquet files in Azurite, one folder per table."""
    import pyarrow.parquet as pq

    from ingestion.mysql_cdc.runner import sync

    home = make_home("lakeshop-az-direct-")
    lake = f"az://lakeshop-lake/dlt-direct-{os.getpid()}"
    target = MySQLTarget(
        "127.0.0.1", mariadb.port, "root", "", config.SHOP_DATABASE, str(mariadb.socket)
    )
    seed_shop(target, generate(ShopConfig(orders=200, seed=6, end_date=END_DATE)), reset=True)
    try:
        with env(LAKESHOP_HOME=str(home), LAKESHOP_LAKE_URL=lake):
            result = sync(cdc_url(mariadb, config.SHOP_DATABASE), "lake", quiet=True)
        fs, base = azure_filesystem(lake)
        files = [p for p in fs.find(f"{base}/raw_mysql/orders") if p.endswith(".parquet")]
        assert files
        rows = sum(pq.read_table(fs.open(p, "rb")).num_rows for p in files)
        with mariadb.connect(config.SHOP_DATABASE) as conn, conn.cursor() as cur:
            cur.execute("select count(*) from orders")
            (orders,) = cur.fetchone()
        assert rows == orders and result.snapshot_rows > orders
    finally:
        shutil.rmtree(home, ignore_errors=True)


def test_copy_needs_azure_credentials_and_an_az_url(tmp_path: Path) -> None:
    with env(AZURE_STORAGE_CONNECTION_STRING="", AZURE_STORAGE_ACCOUNT_NAME=""):
        os.environ.pop("AZURE_STORAGE_CONNECTION_STRING", None)
        done = subprocess.run(
            [venv_executable("lakeshop"), "lake", "copy", "--to", "az://c/p",
             "--lake-url", tmp_path.as_uri()], cwd=project_dir(), env=dict(os.environ),
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    assert done.returncode == 1 and "AZURE_STORAGE_CONNECTION_STRING" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
