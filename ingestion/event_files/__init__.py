"""The event-file source for dlt: IoT sensor readings and website events from the lake.

Files land under a prefix of the lake (``$LAKESHOP_EVENTS_URL``, by default
``<lake>/landing/events``): ``sensors/...`` and ``web/...``, JSON lines or CSV, optionally
gzipped. dlt's filesystem source lists and reads them (local folders, ``s3://``, ``az://``).

- **Each file once.** The cursor is the set of files taken, kept in the pipeline state, which
  dlt commits in the same load package as the rows. A modification-time cursor would miss a
  late file that carries an old time (copied with ``cp -p``, ``rsync -t``, a device's clock);
  a path is taken once whatever its time. A kill before the package commits leaves the state
  where it was, so the files are taken again; a kill after it loads the package on the next run
  (``destinations.repair_interrupted_commits``, ``drop_reloaded_copies``).
- **Nothing dropped.** Every line becomes a row with its file and line number. A line that does
  not parse keeps its text in ``_raw_line`` and the reason in ``_parse_error``; values stay
  text, typed and validated by dbt, which quarantines what is wrong with a reason.
- **Files delivered twice.** A file whose content (SHA-256) equals one taken before is landed
  too, with ``duplicate_of`` naming the first in the ``files`` table; dbt quarantines its rows.
- **A file rewritten under its name** (its size or modification time changed after it was
  taken) is not taken again: the run says so in one line per file, every run until the file
  is moved away, and what it landed first stays as it was.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
from dlt.sources.filesystem import filesystem

DATASET = "raw_events"
BATCH_ROWS = 100_000  # lines gathered over files before they go to dlt as one table
KINDS = {
    "sensors": ("sensor_readings", ["device_id", "reading_type", "value", "unit", "recorded_at"]),
    "web": (
        "website_events",
        [
            "session_id",
            "customer_id",
            "event_type",
            "page",
            "product_id",
            "order_id",
            "occurred_at",
        ],
    ),
}
LINE_COLUMNS: dict[str, Any] = {
    "_file": {"data_type": "text", "nullable": False},
    "_line": {"data_type": "bigint", "nullable": False},
    "_raw_line": {"data_type": "text"},
    "_parse_error": {"data_type": "text"},
    "_extra": {"data_type": "text"},
}
FILE_COLUMNS: dict[str, Any] = {
    "file_path": {"data_type": "text", "nullable": False},
    "kind": {"data_type": "text"},
    "file_format": {"data_type": "text"},
    "size_bytes": {"data_type": "bigint"},
    "modified_at": {"data_type": "timestamp"},
    "content_hash": {"data_type": "text"},
    "line_count": {"data_type": "bigint"},
    "duplicate_of": {"data_type": "text"},
    "taken_at": {"data_type": "timestamp"},
}


def landing_url() -> str:
    """``$LAKESHOP_EVENTS_URL``, or the ``landing/events`` prefix of the lake."""
    from ingestion.destinations import lake_url

    return os.environ.get("LAKESHOP_EVENTS_URL") or lake_url().rstrip("/") + "/landing/events"


def _format(path: str) -> str | None:
    name = path.removesuffix(".gz")
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith(".csv"):
        return "csv"
    return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def parse_lines(data: bytes, fmt: str, columns: list[str]) -> Iterator[dict[str, Any]]:
    """Every line of one file as a row of text values; a line that does not parse keeps its
    text and the reason. Line numbers count from the file's first line (a CSV header is 1)."""
    text = data.decode("utf-8", errors="replace")
    lines = text.splitlines()
    if fmt == "csv":
        header = next(csv.reader([lines[0]])) if lines else []
        missing = [c for c in columns if c not in header]
        for number, line in enumerate(lines[1:], start=2):
            if not line.strip():
                continue
            values = next(csv.reader([line]), [])
            if missing:
                yield {"_line": number, "_raw_line": line,
                       "_parse_error": f"csv header lacks {', '.join(missing)}"}  # fmt: skip
            elif len(values) != len(header):
                yield {"_line": number, "_raw_line": line,
                       "_parse_error": f"{len(values)} fields, the header has {len(header)}"}  # fmt: skip
            else:
                record = dict(zip(header, values, strict=True))
                row: dict[str, Any] = {"_line": number}
                row.update({c: (record[c] if record[c] != "" else None) for c in columns})
                extra = {k: v for k, v in record.items() if k not in columns}
                if extra:
                    row["_extra"] = json.dumps(extra, separators=(",", ":"))
                yield row
        return
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield {"_line": number, "_raw_line": line, "_parse_error": f"invalid JSON: {exc.msg}"}
            continue
        if not isinstance(record, dict):
            yield {"_line": number, "_raw_line": line, "_parse_error": "not a JSON object"}
            continue
        row = {"_line": number}
        row.update({c: _text(record.get(c)) for c in columns})
        extra = {k: v for k, v in record.items() if k not in columns}
        if extra:
            row["_extra"] = json.dumps(extra, separators=(",", ":"), default=str)
        yield row


@dlt.source(name="events")
def event_files(
    url: str | None = None,
    credentials: Any = None,
    files_per_page: int = 50,
    rewritten: list[str] | None = None,
) -> Any:
    """The ``files`` table (one row per file taken) and one table of lines per kind.
    ``rewritten`` receives one line for every file taken before whose size or modification
    time has changed since: it is not taken again (its rows would land twice under the
    lines they had), and the line says so and what to do."""
    url = url or landing_url()
    if "://" not in url:
        url = Path(url).resolve().as_uri()
    # (credentials=None explicitly makes dlt 1.31 ask for a `local_dir`: leave it out)
    extra = {"credentials": credentials} if credentials is not None else {}
    listing = filesystem(bucket_url=url, file_glob="**/*", files_per_page=files_per_page, **extra)

    @dlt.resource(name="event_lines")
    def event_lines() -> Iterator[Any]:
        state = dlt.current.source_state()
        taken: dict[str, str] = state.setdefault("taken", {})  # path -> sha256
        by_sha: dict[str, str] = state.setdefault("by_sha256", {})  # sha256 -> first path
        # path -> [size, modification time] as taken (files taken before this was kept get
        # theirs when next listed)
        taken_as: dict[str, list[Any]] = state.setdefault("taken_as", {})
        # the whole listing first (names and times only), then the new files in the order they
        # arrived: of two copies of one content, the earlier is the original
        listed = list(listing)  # names, sizes and times only
        new = [
            item for item in listed
            if item["relative_path"] not in taken
            and not item["relative_path"].rsplit("/", 1)[-1].startswith(".")  # still being written
        ]  # fmt: skip
        if rewritten is not None:
            rewritten.extend(_rewrites(listed, taken, taken_as))
        batches: dict[str, list[Any]] = {}  # table -> Arrow tables of files not yet yielded
        records: list[dict[str, Any]] = []  # the files taken
        for item in sorted(new, key=lambda i: (i["modification_date"], i["relative_path"])):
            path = item["relative_path"]
            data = item.read_bytes()
            if path.endswith(".gz"):
                data = gzip.decompress(data)
            sha = hashlib.sha256(data).hexdigest()
            kind = path.split("/", 1)[0]
            fmt = _format(path)
            table, columns = KINDS.get(kind, (None, []))
            rows = []
            if table is not None and fmt is not None:
                for row in parse_lines(data, fmt, columns):
                    row["_file"] = path
                    rows.append(row)
            record = {
                "file_path": path,
                "kind": kind if table is not None else None,
                "file_format": fmt,
                "size_bytes": int(item["size_in_bytes"]),
                "modified_at": item["modification_date"],
                "content_hash": sha,
                "line_count": len(rows),
                "duplicate_of": by_sha.get(sha),
                "taken_at": dt.datetime.now(dt.UTC),
            }
            taken[path] = sha  # in the state before anything is yielded
            taken_as[path] = _as_listed(item)
            by_sha.setdefault(sha, path)
            records.append(record)
            if rows:
                batch = batches.setdefault(str(table), [])
                batch.append(_arrow(rows, columns))
                if sum(t.num_rows for t in batch) >= BATCH_ROWS:
                    yield _flush(str(table), batches.pop(str(table)))
        for table_name, batch in batches.items():
            yield _flush(table_name, batch)
        if records:  # one row per file taken, in one item
            yield dlt.mark.with_hints(
                records,
                dlt.mark.make_hints(table_name="files", write_disposition="append",
                                    columns=FILE_COLUMNS),
                create_table_variant=True,
            )  # fmt: skip

    return event_lines


def _as_listed(item: Any) -> list[Any]:
    return [int(item["size_in_bytes"]), str(item["modification_date"])]


def _rewrites(listing: Any, taken: dict[str, str], taken_as: dict[str, list[Any]]) -> list[str]:
    """One line per taken file whose size or modification time changed since it was taken."""
    lines = []
    for item in listing:
        path = item["relative_path"]
        if path not in taken:
            continue
        now = _as_listed(item)
        before = taken_as.setdefault(path, now)
        if before != now:
            lines.append(
                f"{path} was rewritten under the same name after it was taken ({before[0]:,} "
                f"bytes, modified {before[1]}; now {now[0]:,} bytes, modified {now[1]}): not "
                "taken again, its rows stay as first landed; write new lines to a new file"
            )
    return lines


def _flush(table: str, batch: list[Any]) -> Any:
    """Many files' rows as one Arrow table: few large parquet files load far faster."""
    import pyarrow as pa

    columns = next(cs for t, cs in KINDS.values() if t == table)
    return dlt.mark.with_hints(
        pa.concat_tables(batch), _hints(table, columns), create_table_variant=True
    )


def _arrow(rows: list[dict[str, Any]], columns: list[str]) -> Any:
    """One file's rows as an Arrow table of text columns (the line number an integer): dlt
    writes Arrow as parquet as it is, with no per-row normalizing (dicts cost about 4k rows/s)."""
    import pyarrow as pa

    arrays = {
        name: pa.array([r.get(name) for r in rows], pa.int64() if name == "_line" else pa.string())
        for name in [*LINE_COLUMNS, *columns]
    }
    # the row's identity, the same however often it is extracted: a load job that dlt runs
    # again after a kill is told apart by it (destinations.drop_reloaded_copies)
    arrays["_dlt_id"] = pa.array(
        [hashlib.sha1(f"{r['_file']}\n{r['_line']}".encode()).hexdigest()[:16] for r in rows],
        pa.string(),
    )
    # the field types and nullability of the dlt hints, so dlt has nothing to reconcile
    schema = pa.schema(
        [pa.field(n, a.type, nullable=n not in ("_file", "_line", "_dlt_id"))
         for n, a in arrays.items()]
    )  # fmt: skip
    return pa.table(arrays, schema=schema)


def _hints(table: str, columns: list[str]) -> Any:
    return dlt.mark.make_hints(
        table_name=table,
        write_disposition="append",
        columns={**LINE_COLUMNS, **{c: {"data_type": "text"} for c in columns}},
    )
