"""`lakeshop ingest events`: the new files of the landing prefix into the warehouse."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ingestion import destinations
from ingestion.event_files import DATASET, event_files, landing_url


@dataclass
class EventsResult:
    url: str
    files: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    messages: list[str] = field(default_factory=list)


def sync_events(url: str | None = None) -> EventsResult:
    """Take every file not taken before, in one load package with the cursor (the files
    taken), so a run killed anywhere is re-run safely: nothing is taken twice or lost."""
    started = time.monotonic()
    url = url or landing_url()
    result = EventsResult(url)
    fs, base = destinations.lake_filesystem(url)
    if not fs.exists(base):
        result.messages.append(f"nothing landed yet: {url} does not exist")
        return result
    pipe = destinations.pipeline("lakeshop_events_warehouse", destinations.warehouse(), DATASET)
    result.messages += destinations.repair_interrupted_commits(pipe)
    had_pending = pipe.has_pending_data
    reloaded = destinations.partly_loaded_packages(pipe)
    if had_pending:  # finish what a killed run committed to extract, then take new files
        pipe.run()
        pipe.sync_destination()
    rewritten: list[str] = []
    pipe.run(event_files(url, credentials=destinations.lake_credentials(url), rewritten=rewritten))
    result.messages += rewritten
    result.messages += destinations.drop_reloaded_copies(pipe, reloaded)
    normalized = pipe.last_trace.last_normalize_info if pipe.last_trace else None
    counts = normalized.row_counts if normalized else {}
    result.rows = {t: int(n) for t, n in counts.items() if not t.startswith("_dlt")}
    result.files = result.rows.get("files", 0)
    result.seconds = time.monotonic() - started
    return result
