"""The lake (dlt filesystem) and the warehouse (DuckDB or PostgreSQL) every source lands in."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import dlt
from dlt.common.storages.load_package import PackageStorage
from dlt.destinations import duckdb as duckdb_destination
from dlt.destinations import filesystem, postgres, redshift

from ingestion import config
from ingestion.secrets import secret

# Stamp every Arrow row with the load package it came in (lineage, and how a retried load job
# is told apart from a change extracted twice).
os.environ.setdefault("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID", "true")
# Arrow batches of one table whose schemas differ (a column added mid-run) are merged
# losslessly instead of failing the run.
os.environ.setdefault("DATA_WRITER__ARROW_CONCAT_PROMOTE_OPTIONS", "default")
# No row data stays outside the raw tables once a load is done: dlt keeps every loaded
# package's job files (raw emails and phones of a shop's customers among them) and the
# merge staging tables (raw_ecommerce_api_staging) unless told otherwise.
os.environ.setdefault("LOAD__DELETE_COMPLETED_JOBS", "true")
os.environ.setdefault("LOAD__TRUNCATE_STAGING_DATASET", "true")


def lake_url() -> str:
    """$LAKESHOP_LAKE_URL (file://, s3://, az://) or the local folder $LAKESHOP_HOME/lake."""
    return os.environ.get("LAKESHOP_LAKE_URL") or (config.home() / "lake").as_uri()


def azure_account() -> dict[str, str] | None:
    """The Azure storage account of `AZURE_STORAGE_CONNECTION_STRING` (its AccountName and
    AccountKey), or of `AZURE_STORAGE_ACCOUNT_NAME` and `AZURE_STORAGE_ACCOUNT_KEY`."""
    parts = dict(
        item.split("=", 1)
        for item in (secret("AZURE_STORAGE_CONNECTION_STRING") or "").split(";")
        if "=" in item
    )
    name = parts.get("AccountName") or secret("AZURE_STORAGE_ACCOUNT_NAME")
    key = parts.get("AccountKey") or secret("AZURE_STORAGE_ACCOUNT_KEY")
    if not name:
        return None
    account = {"azure_storage_account_name": name}
    if key:
        account["azure_storage_account_key"] = key
    return account


def lake_credentials(url: str) -> dict[str, Any] | None:
    """The credentials dlt's filesystem needs for a lake URL (None for local folders). For
    az:// the account; adlfs, under dlt, connects through `AZURE_STORAGE_CONNECTION_STRING`
    first when it is set (its endpoint: Azurite's, a sovereign cloud's)."""
    if url.startswith(("az://", "abfs://", "abfss://")):
        return azure_account()
    if not url.startswith("s3://"):
        return None
    credentials = {
        "aws_access_key_id": secret("AWS_ACCESS_KEY_ID", "lakeshop"),
        "aws_secret_access_key": secret("AWS_SECRET_ACCESS_KEY", "lakeshop-secret"),
        "region_name": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
    }
    endpoint = os.environ.get("LAKESHOP_S3_ENDPOINT")
    if endpoint:
        credentials["endpoint_url"] = endpoint
    return credentials


def lake_filesystem(url: str) -> tuple[Any, str]:
    """An fsspec filesystem and the path inside it for a lake URL (a local folder, file://,
    s3:// with the lake's credentials and endpoint, az:// through adlfs's own settings)."""
    import fsspec

    if "://" not in url or url.startswith("file://"):
        return fsspec.filesystem("file"), url.removeprefix("file://")
    protocol, path = url.split("://", 1)
    credentials = lake_credentials(url)
    if credentials is None or protocol != "s3":  # adlfs reads AZURE_STORAGE_* itself
        return fsspec.filesystem(protocol), path
    options: dict[str, Any] = {
        "key": credentials["aws_access_key_id"],
        "secret": credentials["aws_secret_access_key"],
        "client_kwargs": {"region_name": credentials["region_name"]},
    }
    if "endpoint_url" in credentials:
        options["client_kwargs"]["endpoint_url"] = credentials["endpoint_url"]
    return fsspec.filesystem(protocol, **options), path


def lake(layout: str) -> Any:
    url = lake_url()
    if url.startswith("file://"):
        Path(url[len("file://") :]).mkdir(parents=True, exist_ok=True)
    return filesystem(bucket_url=url, credentials=lake_credentials(url), layout=layout)


def warehouse() -> Any:
    """$LAKESHOP_WAREHOUSE: duckdb (default, $LAKESHOP_DUCKDB_PATH), postgres ($LAKESHOP_PG_URL)
    or redshift ($LAKESHOP_REDSHIFT_URL, staged through the S3 lake; untested here: no Redshift)."""
    kind = os.environ.get("LAKESHOP_WAREHOUSE", "duckdb")
    if kind == "duckdb":
        path = duckdb_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        return duckdb_destination(credentials=str(path))
    if kind == "postgres":
        url = secret("LAKESHOP_PG_URL") or (
            f"postgresql://{config.WAREHOUSE_USER}:{config.WAREHOUSE_PASSWORD}@127.0.0.1:"
            f"{config.postgres_port()}/{config.WAREHOUSE_DATABASE}"
        )
        return postgres(credentials=url)
    if kind == "redshift":
        redshift_url = secret("LAKESHOP_REDSHIFT_URL")
        if not redshift_url:
            raise SystemExit(
                "LAKESHOP_WAREHOUSE=redshift needs LAKESHOP_REDSHIFT_URL="
                "redshift://user:password@cluster.region.redshift.amazonaws.com:5439/db "
                "and an s3:// LAKESHOP_LAKE_URL for staging"
            )
        return redshift(credentials=redshift_url)
    raise SystemExit(
        f"LAKESHOP_WAREHOUSE={kind!r} is not supported; use duckdb, postgres or redshift"
    )


def duckdb_path() -> Path:
    """The embedded warehouse file: $LAKESHOP_DUCKDB_PATH or $LAKESHOP_HOME/warehouse.duckdb."""
    return Path(os.environ.get("LAKESHOP_DUCKDB_PATH") or config.home() / "warehouse.duckdb")


# the warehouse locks this thread holds: lock file -> exclusive? (per thread: another thread,
# a dashboard session say, takes its own turn)
_LOCAL = threading.local()


@contextlib.contextmanager
def warehouse_lock(
    path: Path | None = None, *, shared: bool = False, wait: float | None = None
) -> Iterator[None]:
    """Hold the embedded warehouse for one writer (or for readers only) at a time.

    DuckDB lets one process hold a file read-write and then refuses every other process,
    even read-only ("Could not set lock on file"). Every lakeshop process that opens the file
    while others may (the continuous follower, scheduled runs, `lakeshop build`) takes this
    advisory lock first and keeps it only while it uses the file, so they wait for each other
    instead of failing. Read-only lookers (the dashboard) take it `shared`: many at once,
    never beside a writer (DuckDB lets several processes open a file read-only). `wait`:
    raise TimeoutError after that many seconds instead of waiting for the holder. A no-op
    for PostgreSQL, which takes concurrent writers.
    """
    if path is None and os.environ.get("LAKESHOP_WAREHOUSE", "duckdb") != "duckdb":
        yield
        return
    target = path or duckdb_path()
    key = str(target.resolve())
    if not hasattr(_LOCAL, "held"):
        _LOCAL.held = {}
    held = _LOCAL.held.get(key)
    if held is not None and (held or shared):
        # this process holds it already (a build that runs dbt, a Dagster step that runs a
        # runner): the outer hold covers the inner one; flock would block on itself
        yield
        return
    if held is not None:
        raise RuntimeError("a reader of the warehouse cannot start writing it; take the lock first")
    target.parent.mkdir(parents=True, exist_ok=True)
    mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    with open(target.with_name(target.name + ".lock"), "a+") as handle:
        if wait is None:
            fcntl.flock(handle, mode)
        else:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(handle, mode | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise TimeoutError(
                            f"the warehouse {target.name} is being written (waited {wait:g} s)"
                        ) from None
                    time.sleep(0.05)
        _LOCAL.held[key] = not shared
        try:
            yield
        finally:
            del _LOCAL.held[key]
            fcntl.flock(handle, fcntl.LOCK_UN)


def staging_for(destination: Any) -> Any:
    """Redshift loads through files on S3 (COPY); the lake bucket is the staging area."""
    if getattr(destination, "destination_name", "") != "redshift":
        return None
    if not lake_url().startswith("s3://"):
        raise SystemExit("Redshift loads through S3: set LAKESHOP_LAKE_URL=s3://bucket/prefix")
    return lake("{table_name}/staging/{load_id}.{file_id}.{ext}")


def pipeline(name: str, destination: Any, dataset: str) -> dlt.Pipeline:
    return dlt.pipeline(
        pipeline_name=name,
        destination=destination,
        staging=staging_for(destination),
        dataset_name=dataset,
        pipelines_dir=str(config.home() / "dlt"),
    )


def _packages(storage: PackageStorage) -> Sequence[str]:
    try:
        return storage.list_packages()
    except FileNotFoundError:  # a new pipeline has no package folders yet
        return []


def discard_abandoned_extracts(pipe: dlt.Pipeline) -> list[str]:
    """Delete the working folders of extracts that never committed.

    Each extract writes its new packages under ``normalize/<random id>/`` and moves them to
    ``normalize/extracted/`` when it commits; an extract that failed or was killed leaves its
    folder behind, and no later run reads it (every extract picks a new id). Only call this
    while no extract of this pipeline runs.
    """
    folder = Path(pipe.working_dir) / "normalize"
    if not folder.is_dir():
        return []
    abandoned = [
        p for p in folder.iterdir() if p.is_dir() and re.fullmatch(r"[0-9a-f]{8,}", p.name)
    ]
    for path in abandoned:
        shutil.rmtree(path, ignore_errors=True)
    if not abandoned:
        return []
    return [f"removed {len(abandoned)} working folder(s) of extracts that never committed"]


def repair_interrupted_commits(pipe: dlt.Pipeline) -> list[str]:
    """Finish the two file moves dlt does not make atomic, when a kill cut them in half, and
    remove the folders of extracts that never committed (discard_abandoned_extracts).

    Both windows leave the pipeline stuck forever (every later run fails the same way), and in
    both the data is already safe, so finishing the move is exactly what dlt would have done:

    - normalize renames the normalized package into the load folder and then deletes the
      extracted package. A kill between the two leaves both; the next run normalizes the
      extracted package again and cannot rename it over the first ("Directory not empty").
      The rename is atomic, so the normalized package is whole: drop the extracted copy.
    - load writes a "completed" marker into a package and then moves it to the loaded folder.
      A kill between the two leaves a package that every run tries to complete again
      (LoadPackageAlreadyCompleted). The marker is only written after the package's data and
      its `_dlt_loads` row are committed: finish the move.

    There is no public API for either repair; both use dlt's own package storages.
    """
    messages = discard_abandoned_extracts(pipe)
    load = pipe._get_load_storage()
    normalize = pipe._get_normalize_storage()
    extracted = _packages(normalize.extracted_packages)
    normalized = _packages(load.normalized_packages)
    loaded = set(_packages(load.loaded_packages))
    for load_id in extracted:
        if load_id in normalized or load_id in loaded:
            normalize.extracted_packages.delete_package(load_id)
            messages.append(
                f"dropped extracted package {load_id}: it was already normalized when a kill "
                "interrupted dlt's commit"
            )
    for load_id in normalized:
        if load.normalized_packages.is_package_completed(load_id):
            load.storage.rename_tree(
                load.get_normalized_package_path(load_id), load.get_loaded_package_path(load_id)
            )
            messages.append(
                f"finished moving load package {load_id}, interrupted after it was loaded"
            )
    return messages


RELOADED_FILE = "lakeshop_reloaded_packages.json"


def partly_loaded_packages(pipe: dlt.Pipeline) -> list[str]:
    """Packages normalized but not yet (or not completely) loaded: the only ones whose load
    jobs can run twice, when a kill lands after a job's rows committed but before dlt marked
    the job done.

    They are written down before the run, with those an earlier run wrote down and did not
    get to check: a kill after dlt completed such a package but before drop_reloaded_copies
    removed its second copy would otherwise hide the package from every later run."""
    path = Path(pipe.working_dir) / RELOADED_FILE
    remembered = json.loads(path.read_text()) if path.exists() else []
    ids = sorted(set(_packages(pipe._get_load_storage().normalized_packages)) | set(remembered))
    if ids != remembered:
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps(ids))
        partial.replace(path)  # atomic: the list is whole or the old one
    return ids


def _forget_reloaded(pipe: dlt.Pipeline) -> None:
    (Path(pipe.working_dir) / RELOADED_FILE).unlink(missing_ok=True)


def drop_reloaded_copies(pipe: dlt.Pipeline, load_ids: Sequence[str]) -> list[str]:
    """Delete the second copy of rows that a retried load job inserted again.

    dlt loads each job at least once. On a SQL warehouse a job re-run after a kill inserts
    its rows again, under the same load id; each row carries its own identity (``_cdc_seq``
    for change logs, ``_dlt_id`` otherwise), so within one load id a repeated identity is a
    copy. Only the packages that were partly loaded when this run started are checked, so
    the cost is one grouped delete per table per such package. The lake needs nothing: a
    re-run job rewrites the same file name.
    """
    if not load_ids or getattr(pipe.destination, "destination_name", "") not in {
        "duckdb",
        "postgres",
    }:
        _forget_reloaded(pipe)
        return []
    removed = 0
    kind = pipe.destination.destination_name
    with pipe.sql_client() as client:
        for table in pipe.default_schema.data_tables():
            columns = table["columns"]
            key = (
                "_cdc_seq" if "_cdc_seq" in columns else "_dlt_id" if "_dlt_id" in columns else None
            )
            if (
                key is None
                or "_dlt_load_id" not in columns
                or table.get("write_disposition") == "merge"
            ):
                continue
            name = client.make_qualified_table_name(str(table["name"]))
            for load_id in load_ids:
                if kind == "duckdb":
                    sql = (f"delete from {name} where _dlt_load_id = %s and rowid not in "
                           f"(select min(rowid) from {name} where _dlt_load_id = %s group by {key})")  # fmt: skip
                else:
                    sql = (f"delete from {name} a using {name} b where a._dlt_load_id = %s and "
                           f"b._dlt_load_id = %s and a.{key} = b.{key} and a.ctid > b.ctid")  # fmt: skip
                try:
                    with client.execute_query(sql, load_id, load_id) as cur:
                        removed += _deleted(kind, cur)
                except Exception as exc:  # a table not created yet on this destination
                    if "does not exist" not in str(exc) and "Catalog Error" not in str(exc):
                        raise
    _forget_reloaded(pipe)
    if not removed:
        return []
    return [f"removed {removed} row(s) loaded twice by load jobs retried after an interruption"]


LANDED_COLUMN = "_lakeshop_landed"
# one numbering at a time on PostgreSQL (a transaction-scoped advisory lock): numbers are
# then handed out in the order they become visible, so a build never sees a number while a
# lower one is still to come
_NUMBERING_LOCK = 7_402_119_355


def number_landed_sql(table: str, sequence: str) -> str:
    """The statement that numbers a change-log table's rows not numbered yet."""
    return (
        f"update {table} set {LANDED_COLUMN} = nextval('{sequence}') where {LANDED_COLUMN} is null"
    )


def stamp_landing_order(pipe: dlt.Pipeline) -> None:
    """Number the rows that landed in the change-log tables of the pipeline's dataset, in the
    order they landed: ``_lakeshop_landed``, from one sequence per dataset, set after dlt
    committed the load (a row is numbered once, when it is there whole).

    What an incremental dbt model has read is marked by it, not by ``_cdc_seq`` (a change can
    land after one with a higher sequence: a replayed or half-landed package, a re-snapshot,
    a new primary) and not by dlt's load id or a clock (a package replayed under its old id,
    a clock behind). Rows not numbered yet are not landed for dbt (bronze leaves them out);
    a run killed before numbering leaves them to the next run, which numbers them first.
    Numbering is one transaction; on PostgreSQL it holds a lock so that numbers become
    visible in their own order (a build never takes a number as read while a lower one is
    still uncommitted).
    """
    kind = getattr(pipe.destination, "destination_name", "")
    if kind not in {"duckdb", "postgres"}:
        return
    with pipe.sql_client() as client:
        sequence = client.make_qualified_table_name(LANDED_COLUMN)
        # the columns of every table of the dataset on this destination, in one query
        columns: dict[str, dict[str, Any]] = {}
        for table_name, column, default in client.execute_sql(
            "select table_name, column_name, column_default from information_schema.columns "
            "where table_schema = %s", client.dataset_name,
        ) or []:  # fmt: skip
            columns.setdefault(str(table_name), {})[str(column)] = default
        tables = []
        for table in pipe.default_schema.data_tables():
            # the change logs and the log of their snapshot generations (mysql_cdc)
            if "_cdc_seq" not in table["columns"] and table["name"] != "_cdc_snapshots":
                continue
            present = columns.get(str(table["name"]))
            if present:  # created on this destination
                tables.append((client.make_qualified_table_name(str(table["name"])), present))
        if not tables:
            return
        with client.begin_transaction():
            if kind == "postgres":
                client.execute_sql(f"select pg_advisory_xact_lock({_NUMBERING_LOCK})")
            client.execute_sql(f"create sequence if not exists {sequence}")
            for name, present in tables:
                if LANDED_COLUMN not in present:
                    client.execute_sql(
                        f"alter table {name} add column if not exists {LANDED_COLUMN} bigint"
                    )
                elif present[LANDED_COLUMN] is not None:
                    # numbered on insert by a column default (lakeshop before 2026-12-08):
                    # a number taken before commit can become visible after a higher one
                    client.execute_sql(
                        f"alter table {name} alter column {LANDED_COLUMN} drop default"
                    )
                client.execute_sql(number_landed_sql(name, sequence))


def _deleted(kind: str, cursor: Any) -> int:
    """Rows a DELETE removed: DuckDB returns the count as a result row, psycopg2 as rowcount."""
    if kind == "duckdb":
        row = cursor.fetchone()
        return int(row[0]) if row else 0
    return max(int(getattr(cursor.native_cursor, "rowcount", 0) or 0), 0)
