"""`lakeshop lake tables` and `lakeshop query`: SQL over the lake's files, no warehouse.

The lake holds what the sources landed with dlt's filesystem destination:
``<lake>/<dataset>/<table>/dt=YYYY-MM-DD/<load id>.<file id>.<parquet|jsonl>``, and beside the
tables dlt's own records, among them ``_dlt_version``: every version of each dataset's
schema, with every table's columns and their types. That is the catalog, as the Glue catalog
is to Athena: each table becomes one DuckDB view over its files (local folders, or ``s3://``
through DuckDB's httpfs extension from PyPI), typed from the stored schema (JSON files carry
no types of their own), with the ``dt`` partition as a column. The views live in an
in-memory DuckDB: a query never opens the warehouse or takes its lock.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import duckdb

from ingestion import destinations

# dlt data types -> DuckDB types for JSON files (parquet files carry their own)
DUCKDB_TYPES = {
    "text": "VARCHAR", "bigint": "BIGINT", "double": "DOUBLE", "bool": "BOOLEAN",
    "timestamp": "TIMESTAMPTZ", "date": "DATE", "time": "TIME", "json": "JSON",
    "binary": "BLOB", "wei": "DECIMAL(38, 0)",
}  # fmt: skip


class LakeError(Exception):
    """A query the lake cannot answer: the message names the fix."""


@dataclass
class LakeTable:
    dataset: str
    name: str
    url: str  # the table's folder
    file_format: str  # parquet | jsonl
    files: list[str] = field(default_factory=list)
    partitions: list[str] = field(default_factory=list)  # dt= values
    columns: dict[str, str] = field(default_factory=dict)  # name -> dlt data type
    rows: int | None = None
    gzipped: bool = False

    @property
    def qualified(self) -> str:
        return f"{self.dataset}.{self.name}"


def _stored_schemas(fs: Any, folder: str) -> dict[str, dict[str, str]]:
    """table -> {column: dlt data type}, from the newest stored version of each schema."""
    newest: dict[str, tuple[int, dict[str, Any]]] = {}
    for path in fs.find(f"{folder}/_dlt_version"):
        with fs.open(path, "rb") as handle:
            data = handle.read()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        for line in data.decode().splitlines():
            if not line.strip():
                continue
            record = json.loads(line)
            name, version = record["schema_name"], int(record["version"])
            if name not in newest or version > newest[name][0]:
                newest[name] = (version, json.loads(record["schema"]))
    tables: dict[str, dict[str, str]] = {}
    for _, schema in newest.values():
        for table, spec in schema.get("tables", {}).items():
            columns = {
                c: str(col.get("data_type", "text")) for c, col in spec.get("columns", {}).items()
            }
            tables.setdefault(table, {}).update(columns)
    return tables


def catalog(lake_url: str | None = None, count_rows: bool = False) -> list[LakeTable]:
    """Every table of every dlt dataset in the lake, its files, partitions and columns."""
    url = (lake_url or destinations.lake_url()).rstrip("/")
    fs, base = destinations.lake_filesystem(url)
    if not fs.exists(base):
        raise LakeError(
            f"the lake {url} does not exist yet; land something first: `lakeshop ingest mysql "
            "--to lake` or `make demo`"
        )
    found: list[LakeTable] = []
    for dataset_path in sorted(fs.ls(base, detail=False)):
        dataset = str(dataset_path).rstrip("/").rsplit("/", 1)[-1]
        if not fs.exists(f"{dataset_path}/_dlt_version"):
            continue  # not a dlt dataset (the landing or quarantine prefix)
        schemas = _stored_schemas(fs, str(dataset_path))
        for table_path in sorted(fs.ls(str(dataset_path), detail=False)):
            name = str(table_path).rstrip("/").rsplit("/", 1)[-1]
            if name.startswith("_dlt") or name == "init" or not fs.isdir(table_path):
                continue
            files = sorted(
                str(p) for p in fs.find(str(table_path))
                if str(p).endswith((".parquet", ".jsonl", ".jsonl.gz"))
            )  # fmt: skip
            if not files:
                continue
            fmt = "parquet" if files[0].endswith(".parquet") else "jsonl"
            table = LakeTable(
                dataset, name, _url(url, str(table_path)), fmt,
                files=[_url(url, f) for f in files],
                partitions=sorted({seg[3:] for f in files for seg in f.split("/")
                                   if seg.startswith("dt=")}),
                columns={c: t for c, t in schemas.get(name, {}).items()},
            )  # fmt: skip
            if fmt == "jsonl":
                with fs.open(files[0], "rb") as handle:
                    table.gzipped = handle.read(2) == b"\x1f\x8b"
            found.append(table)
    if count_rows and found:
        with connect(url, found) as con:
            for table in found:
                counted = con.execute(f"select count(*) from {table.qualified}").fetchone()
                table.rows = int(counted[0]) if counted else 0
    return found


def _url(lake_url: str, path: str) -> str:
    """A path the filesystem listed, as DuckDB reads it: s3://bucket/key or a local path."""
    if lake_url.startswith("s3://"):
        return "s3://" + path.lstrip("/")
    return path


def _s3_secret(con: duckdb.DuckDBPyConnection, lake_url: str) -> None:
    from duckdb_extensions import import_extension

    import_extension("httpfs", con=con)
    con.execute("load httpfs")
    credentials = destinations.lake_credentials(lake_url) or {}
    options = {
        "TYPE": "s3",
        "KEY_ID": credentials.get("aws_access_key_id", ""),
        "SECRET": credentials.get("aws_secret_access_key", ""),
        "REGION": credentials.get("region_name", "us-east-1"),
    }
    endpoint = credentials.get("endpoint_url")
    if endpoint:
        parsed = urlparse(endpoint)
        options.update(
            ENDPOINT=parsed.netloc or parsed.path, URL_STYLE="path",
            USE_SSL="true" if parsed.scheme == "https" else "false",
        )  # fmt: skip
    body = ", ".join(
        f"{k} {v}" if k in ("TYPE", "USE_SSL") else f"{k} '{v}'" for k, v in options.items()
    )
    con.execute(f"create or replace secret lake ({body})")


def _source(table: LakeTable) -> str:
    suffix = "parquet" if table.file_format == "parquet" else "jsonl*"
    pattern = f"{table.url.rstrip('/')}/**/*.{suffix}"
    if table.file_format == "parquet":
        return f"read_parquet('{pattern}', hive_partitioning = true, union_by_name = true)"
    columns = {c: DUCKDB_TYPES.get(t.split("(")[0], "VARCHAR") for c, t in table.columns.items()}
    if table.columns:
        spec = ", ".join(f"'{c}': '{t}'" for c, t in columns.items())
        typed = f", columns = {{{spec}}}"
    else:
        typed = ""
    compression = ", compression = 'gzip'" if table.gzipped else ""
    return (
        f"read_json('{pattern}', format = 'newline_delimited', hive_partitioning = true"
        f"{compression}{typed})"
    )


def connect(
    lake_url: str | None = None, tables: list[LakeTable] | None = None
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with one view per lake table, `<dataset>.<table>`."""
    url = (lake_url or destinations.lake_url()).rstrip("/")
    tables = tables if tables is not None else catalog(url)
    con = duckdb.connect(":memory:")
    if url.startswith("s3://"):
        _s3_secret(con, url)
    for table in tables:
        con.execute(f'create schema if not exists "{table.dataset}"')
        con.execute(
            f'create view "{table.dataset}"."{table.name}" as select * from {_source(table)}'
        )
    return con


def query(sql: str, lake_url: str | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run one query over the lake: (column names, rows). A bad query or an unknown table
    raises LakeError with DuckDB's own one-line message and what to do."""
    url = (lake_url or destinations.lake_url()).rstrip("/")
    tables = catalog(url)
    with connect(url, tables) as con:
        try:
            cursor = con.execute(sql)
        except duckdb.CatalogException as exc:
            known = ", ".join(t.qualified for t in tables) or "none"
            raise LakeError(
                f"{_first_line(exc)}; the lake's tables: {known} (`lakeshop lake tables`)"
            ) from None
        except duckdb.Error as exc:
            raise LakeError(f"the query failed: {_first_line(exc)}") from None
        columns = [d[0] for d in cursor.description or []]
        return columns, cursor.fetchall()


def _first_line(exc: BaseException) -> str:
    return " ".join(str(exc).split("\n")[0].split()) or type(exc).__name__
