"""`lakeshop ingest api`: normalized tables to the warehouse, raw responses to the lake."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import dlt
from dlt.sources.helpers.rest_client.auth import APIKeyAuth
from requests.auth import AuthBase

from ingestion import destinations
from ingestion.ecommerce_api import (
    RESOURCES,
    SENSITIVE_FIELDS,
    ApiPageError,
    LoginBearerAuth,
    Paging,
    ResilientSession,
    ecommerce_api,
    pii_salt,
    protect,
    split_policy,
)
from ingestion.ecommerce_api.http import (
    MOVED,
    DataMoved,
    EndlessPaging,
    HttpStats,
    PathTally,
    page_records,
)
from ingestion.progress import Progress
from ingestion.secrets import secret

DATASET = "raw_ecommerce_api"
RAW_LAYOUT = "{table_name}/dt={YYYY}-{MM}-{DD}/{load_id}.{file_id}.{ext}"


class IncompleteFetch(ApiPageError):
    """Fewer records than the API advertises, or the same records on two pages: nothing of
    the run lands, and the message names the paging settings to change."""


@dataclass
class TableVersions:
    """One table's run: rows fetched (normalized), new versions landed, versions retired."""

    fetched: int = 0
    new: int = 0
    retired: int = 0

    @property
    def unchanged(self) -> int:
        return max(0, self.fetched - self.new)


@dataclass
class ApiResult:
    rows: dict[str, int] = field(default_factory=dict)
    tables: dict[str, TableVersions] = field(default_factory=dict)
    http: HttpStats = field(default_factory=HttpStats)
    raw_pages: int = 0
    records: int = 0
    seconds: float = 0.0
    messages: list[str] = field(default_factory=list)
    steps: dict[str, float] = field(default_factory=dict)  # wall seconds per dlt step


def make_auth(base_url: str, kind: str) -> AuthBase | None:
    """none | login ($LAKESHOP_API_USERNAME/$LAKESHOP_API_PASSWORD) | api_key ($LAKESHOP_API_KEY)."""
    if kind == "none":
        return None
    if kind == "login":
        user, password = (
            secret("LAKESHOP_API_USERNAME"),
            secret("LAKESHOP_API_PASSWORD"),
        )
        if not user or not password:
            raise SystemExit("--auth login needs LAKESHOP_API_USERNAME and LAKESHOP_API_PASSWORD")
        minutes = os.environ.get("LAKESHOP_API_TOKEN_MINUTES")
        return LoginBearerAuth(
            base_url, user, password, expires_in_mins=float(minutes) if minutes else None
        )
    if kind == "api_key":
        key = secret("LAKESHOP_API_KEY")
        if not key:
            raise SystemExit("--auth api_key needs LAKESHOP_API_KEY")
        return APIKeyAuth(name="X-API-Key", api_key=key, location="header")
    raise SystemExit(f"--auth {kind!r}: use none, login or api_key")


def endless(exc: BaseException, paging: Paging) -> IncompleteFetch | None:
    """The endless-paging guard's stop (raised inside dlt's extract), with the paging
    settings to change, as the completeness check words its own."""
    while exc is not None and not isinstance(exc, EndlessPaging | DataMoved):
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    if exc is None:
        return None
    if isinstance(exc, DataMoved) or "--no-envelope" in str(exc):
        return IncompleteFetch(str(exc))  # it names its fix
    return IncompleteFetch(f"{exc}; check the paging settings: {paging.describe()}")


def check_complete(
    tallies: dict[str, PathTally], resources: Sequence[str], path_prefix: str, paging: Paging
) -> list[str]:
    """Every paged resource's records against the total the API advertises (the body's
    ``total`` or ``X-Total-Count``), and no record twice. Raises IncompleteFetch naming the
    paging settings; returns notes for resources whose API advertises no total."""
    notes = []
    for name in resources:
        path, _, paged = RESOURCES[name]
        if not paged:
            continue
        wanted = "/" + (path_prefix + path).strip("/")
        tally = next((t for p, t in tallies.items() if p.rstrip("/").endswith(wanted)), None)
        if tally is None:
            raise IncompleteFetch(f"{name}: no page was fetched from {wanted}")
        fix = f"check the paging settings: {paging.describe()}"
        moved = MOVED
        if len(tally.totals) > 1:
            shown = " -> ".join(f"{t:,}" for t in tally.totals)
            raise IncompleteFetch(
                f"{name}: {tally.total_from} went {shown} during the run: {moved}"
            )
        if tally.repeated_ids:
            # a page bringing nothing new stops the run at once (EndlessPaging): a few records
            # seen twice are records shifted by an insert ahead of the read
            raise IncompleteFetch(
                f"{name}: {tally.repeated_ids:,} records came back on two pages of {tally.pages}: {moved}"
            )
        total = tally.advertised_total
        if total is None:
            notes.append(f"{name}: the API advertises no total; {tally.records:,} records fetched")
        elif tally.records != total:
            raise IncompleteFetch(
                f"{name}: fetched {tally.records:,} records in {tally.pages} pages but "
                f"{tally.total_from} says {total:,}; nothing was landed; {fix}"
            )
    return notes


def protect_pages(
    pages: list[dict[str, Any]], sensitive_fields: Mapping[str, Mapping[str, str]]
) -> list[dict[str, Any]]:
    """The raw pages (their bodies parsed from the bytes received) with the same fields
    dropped or hashed as in the tables."""
    salt = pii_salt()
    paths = {"/" + RESOURCES[n][0]: n for n in sensitive_fields if n in RESOURCES}
    for page in pages:
        name = next(
            (n for p, n in paths.items() if urlparse(page["url"]).path.rstrip("/").endswith(p)),
            None,
        )
        if "content" in page:
            page["body"] = json.loads(page.pop("content"))
        body = page["body"]
        if name is None:
            continue
        records = page_records(body)
        if isinstance(body, dict) and "id" in body and not records:
            records = [body]  # a single record (e.g. /users/1)
        policy = split_policy(sensitive_fields[name])
        for record in records:
            if isinstance(record, dict):
                protect(record, policy, salt)
    return pages


def _versions(pipe: dlt.Pipeline) -> dict[str, tuple[int, int]]:
    """(all rows, current rows) per data table of the pipeline's dataset, before or after."""
    out: dict[str, tuple[int, int]] = {}
    schema = pipe.default_schema_name and pipe.schemas.get(pipe.default_schema_name)
    if not schema:
        return out
    try:
        with pipe.sql_client() as client:
            for table in schema.data_table_names():
                columns = schema.get_table_columns(table)
                current = (
                    "count(*) filter (where _dlt_valid_to is null)"
                    if "_dlt_valid_to" in columns
                    else "count(*)"
                )
                name = client.make_qualified_table_name(table)
                try:
                    row = client.execute_sql(f"select count(*), {current} from {name}")
                except Exception:  # not created yet
                    continue
                if row:
                    out[table] = (int(row[0][0]), int(row[0][1]))
    except Exception:  # no dataset yet
        return out
    return out


@dlt.resource(name="raw_responses", write_disposition="append", file_format="jsonl",
              columns={"body": {"data_type": "json"}})  # fmt: skip
def raw_responses(pages: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The pages exactly as the API returned them (one JSON line per response)."""
    yield from pages


def sync_api(
    base_url: str,
    auth: AuthBase | None = None,
    targets: Sequence[str] = ("warehouse", "lake"),
    resources: Sequence[str] = tuple(RESOURCES),
    page_size: int = 100,
    path_prefix: str = "",
    session: ResilientSession | None = None,
    paging: Paging | str = "offset",
    quiet: bool = True,
    cursors: Mapping[str, tuple[str, str]] | None = None,
    envelope: bool = True,
    sensitive_fields: Mapping[str, Mapping[str, str]] = SENSITIVE_FIELDS,
) -> ApiResult:
    """Fetch every resource, check it is complete, land the normalized tables, then the raw
    pages.

    The warehouse load is one dlt package: a run that fails midway commits nothing of it, and
    a re-run is idempotent (scd2 keeps a new version only for changed content). A resource
    whose records do not add up to the total its API advertises fails the run before the
    load, so no current version is retired on the strength of a partial fetch. The raw pages
    of a successful fetch then land in the lake, gzipped JSON lines under dt= partitions,
    with the same sensitive fields dropped or hashed; login exchanges are never kept.
    """
    paging = Paging(paging) if isinstance(paging, str) else paging
    started = time.monotonic()
    session = session or ResilientSession()
    session.capture = "lake" in targets
    result = ApiResult(http=session.stats)
    progress = Progress("api", unit="pages", quiet=quiet)

    def fetched() -> int:
        """Records fetched, each once (offset pages repeat one record of the page before)."""
        return sum(t.records for t in session.tallies.values())

    def on_page(url: str, body: Any) -> None:
        records = fetched()
        h = session.stats
        progress.advance(
            1, f"{records:,} records, {h.retries} retries, {h.throttled} rate-limit waits"
        )

    session.on_page = on_page
    source = ecommerce_api(
        base_url,
        auth=auth,
        session=session,
        resources=resources,
        page_size=page_size,
        path_prefix=path_prefix,
        paging=paging,
        cursors=cursors,
        envelope=envelope,
        sensitive_fields=sensitive_fields,
    )
    try:
        _land(source, session, targets, resources, path_prefix, paging, sensitive_fields, result)
    finally:
        session.stop_reading_ahead()
    progress.close()
    result.records = fetched()
    result.seconds = time.monotonic() - started
    return result


def _land(source: Any, session: ResilientSession, targets: Sequence[str], resources: Sequence[str],
          path_prefix: str, paging: Paging, sensitive_fields: Mapping[str, Mapping[str, str]],
          result: ApiResult) -> None:  # fmt: skip
    """Extract (checked for completeness), normalize and load the tables, then the raw pages."""
    if "warehouse" in targets:
        pipe = destinations.pipeline("lakeshop_api_warehouse", destinations.warehouse(), DATASET)
        result.messages += destinations.repair_interrupted_commits(pipe)
        before = _versions(pipe)
        try:
            step = time.monotonic()
            pipe.extract(source, loader_file_format="parquet")
            result.steps["extract"] = time.monotonic() - step
            result.messages += check_complete(session.tallies, resources, path_prefix, paging)
        except BaseException as exc:
            # nothing half-extracted stays behind for the next run to load, and the local state
            # (an incremental cursor) goes back to where this run started
            pipe.abort_packages()
            destinations.discard_abandoned_extracts(pipe)
            stopped = endless(exc, paging)
            if stopped is not None:
                raise stopped from None
            raise
        step = time.monotonic()
        normalized = pipe.normalize()
        result.steps["normalize"] = time.monotonic() - step
        step = time.monotonic()
        pipe.load()  # the scd2 merge runs here, in the warehouse
        result.steps["load"] = time.monotonic() - step
        result.rows = dict(normalized.row_counts)
        after = _versions(pipe)
        for table, fetched in result.rows.items():
            if table.startswith("_dlt"):
                continue
            total_0, current_0 = before.get(table, (0, 0))
            total_1, current_1 = after.get(table, (0, 0))
            new = total_1 - total_0
            result.tables[table] = TableVersions(fetched, new, max(0, current_0 + new - current_1))
    else:
        # still fetch the pages (for the lake) without landing tables anywhere
        try:
            for _ in source:
                pass
        except Exception as exc:
            stopped = endless(exc, paging)
            if stopped is not None:
                raise stopped from None
            raise
        result.messages += check_complete(session.tallies, resources, path_prefix, paging)
    if "lake" in targets and session.captured:
        lake = destinations.pipeline("lakeshop_api_lake", destinations.lake(RAW_LAYOUT), DATASET)
        result.messages += destinations.repair_interrupted_commits(lake)
        lake.run(raw_responses(protect_pages(session.captured, sensitive_fields)))
        result.raw_pages = len(session.captured)
