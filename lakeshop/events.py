"""`lakeshop events discard`: the rejected event records written back to the lake.

Silver quarantines every sensor reading and website event that breaks a rule
(sensor_readings_quarantine, website_events_quarantine). Like the discard folder of the
systems this replaces, the rejected records also go back to the lake, beside the files they
came from: ``<lake>/quarantine/events/<the file's path>.rejected.jsonl``, one JSON line per
record with its line number, the rule it broke and the line as written. Each run rewrites
those files from the warehouse and removes the ones whose records are no longer rejected, so
the prefix holds exactly what silver quarantines now; a re-run changes nothing.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from ingestion import destinations
from lakeshop.report import dbt_show

SUFFIX = ".rejected.jsonl"
MODELS = {"sensors": "sensor_readings_quarantine", "web": "website_events_quarantine"}
VALUES = {
    "sensors": ["device_id", "reading_type", "value_as_written", "unit", "recorded_at_as_written"],
    "web": ["session_id", "customer_id_as_written", "event_type", "page_path",
            "occurred_at_as_written"],
}  # fmt: skip


def discard_url() -> str:
    """``$LAKESHOP_EVENTS_DISCARD_URL``, or the ``quarantine/events`` prefix of the lake."""
    return os.environ.get("LAKESHOP_EVENTS_DISCARD_URL") or (
        destinations.lake_url().rstrip("/") + "/quarantine/events"
    )


@dataclass
class DiscardResult:
    url: str
    files: int = 0
    records: dict[str, int] = field(default_factory=dict)  # reason -> records
    removed: int = 0


def rejected_records(target: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """source file -> its rejected records, in line order (from the quarantine models, in one
    query: each `dbt show` pays dbt's start-up)."""
    common = ["file_path", "line_number", "quarantine_reason", "parse_error", "raw_line"]
    every = common + [c for kind in VALUES.values() for c in kind]
    selects = []
    for kind, model in MODELS.items():
        columns = [
            c
            if c in common or c in VALUES[kind]
            else f"cast(null as {{{{ dbt.type_string() }}}}) as {c}"
            for c in every
        ]
        selects.append(f"select {', '.join(columns)} from {{{{ ref('{model}') }}}}")
    by_file: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in dbt_show("\nunion all\n".join(selects), limit=10_000_000, target=target):
        by_file[str(row["file_path"])].append({k: row[k] for k in every if row.get(k) is not None})
    for rows in by_file.values():
        rows.sort(key=lambda r: int(r["line_number"]))
    return dict(by_file)


def write_discards(target: str | None = None, url: str | None = None) -> DiscardResult:
    url = (url or discard_url()).rstrip("/")
    result = DiscardResult(url)
    fs, base = destinations.lake_filesystem(url)
    wanted: set[str] = set()
    for source_file, rows in sorted(rejected_records(target).items()):
        path = f"{base}/{source_file}{SUFFIX}"
        wanted.add(path.lstrip("/"))
        body = "".join(json.dumps(r, separators=(",", ":"), default=str) + "\n" for r in rows)
        fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        fs.pipe_file(path, body.encode())
        result.files += 1
        for r in rows:
            reason = str(r["quarantine_reason"])
            result.records[reason] = result.records.get(reason, 0) + 1
    existing = fs.find(base) if fs.exists(base) else []
    for path in existing:
        if str(path).endswith(SUFFIX) and str(path).lstrip("/") not in wanted:
            fs.rm_file(path)
            result.removed += 1
    return result
