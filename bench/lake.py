"""Benchmark the lake's Azure copy against a plain copy loop, S3 server -> Azurite.

--objects objects of --size-kib KiB are PUT under a prefix of the SeaweedFS S3 server; then,
--runs times each, to a fresh destination prefix in Azurite, medians printed:
  1. the floor: a bare loop reading every object from S3 and writing it to Azure (adlfs), no
     checksums, no manifest, nothing to resume from;
  2. `lakeshop lake copy` (lakeshop/lake_copy.py): checksums, the manifest, first copy;
  3. `lakeshop lake copy` again, with nothing changed (what every scheduled copy costs).
Rates in MiB/s of object data.

Needs Azurite (`make node-tools`). Usage: python bench/lake.py [--objects 200] [--size-kib 1024]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from ingestion import config
from ingestion.destinations import lake_filesystem
from lakeshop.lake_copy import azure_filesystem, copy_lake
from sandbox.services import S3, Azurite, free_port


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--objects", type=int, default=200)
    parser.add_argument("--size-kib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="lakeshop-bench-lake-"))
    s3 = S3(home / "s3", free_port())
    azurite = Azurite(home / "azurite", free_port())
    s3.start()
    azurite.start()
    lake = f"s3://{config.LAKE_BUCKET}/bench"
    os.environ.update(
        LAKESHOP_HOME=str(home), LAKESHOP_LAKE_URL=lake, LAKESHOP_S3_ENDPOINT=s3.endpoint,
        AZURE_STORAGE_CONNECTION_STRING=azurite.connection_string,
    )  # fmt: skip
    try:
        src, base = lake_filesystem(lake)
        for n in range(args.objects):
            src.pipe_file(f"{base}/data/part-{n:04d}.bin", os.urandom(args.size_kib * 1024))
        mib = args.objects * args.size_kib / 1024
        print(f"{args.objects} objects, {mib:,.0f} MiB on the S3 server -> Azurite")
        floor, first, again = [], [], []
        for run in range(args.runs):
            dest = f"az://lakeshop-lake/bench-{run}"
            dst, dst_base = azure_filesystem(f"{dest}-floor")
            started = time.monotonic()
            for path in src.find(f"{base}/data"):
                dst.pipe_file(f"{dst_base}/{path.rsplit('/', 1)[-1]}", src.cat_file(path))
            floor.append(time.monotonic() - started)
            first.append(copy_lake(dest, ["data"]).seconds)
            again.append(copy_lake(dest, ["data"]).seconds)
        for label, values in (("plain copy loop (floor)", floor),
                              ("lakeshop lake copy, first", first),
                              ("lakeshop lake copy, nothing changed", again)):  # fmt: skip
            m = statistics.median(values)
            print(f"  {label:38s}: {m:.2f}s (runs: {', '.join(f'{v:.2f}' for v in values)})"
                  f" -> {mib / m:,.1f} MiB/s")  # fmt: skip
        print(
            f"  ratio first copy / floor: {statistics.median(floor) / statistics.median(first):.2f}x"
        )
    finally:
        azurite.stop()
        s3.stop()
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
