"""E-commerce REST API source (DummyJSON contract) on dlt's rest_api.

Resources: ``products`` (child tables ``products__reviews``, ``products__tags``,
``products__images``), ``product_categories``, ``carts`` (``carts__products``) and ``users``.
Paging is ``limit``/``skip`` against ``total`` by default; page numbers with ``X-Total-Count``
or ``Link`` headers, and other parameter names (json-server's ``_page``/``_limit``), are a
``Paging(...)`` away. DummyJSON has no usable updated-since cursor, so by default every run
fetches in full and dlt's scd2 merge keeps a new version of a record only when its content
hash (``_content_hash``) changed. The hash is also the record's ``_dlt_id``, so its child rows
(whose ids dlt derives from the parent's) land once per version: an unchanged record adds
nothing to any table. Where an API has a cursor, ``cursors={"products": ("updatedSince",
"meta.updatedAt")}`` fetches only what changed since the last run and retires only the
versions of the records fetched (scd2 with ``merge_key``). Sensitive fields
(``settings.SENSITIVE_FIELDS``) are dropped or salted-hashed before anything lands.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlparse

import dlt
import orjson
from dlt.sources.helpers.rest_client.paginators import (
    HeaderLinkPaginator,
    OffsetPaginator,
    PageNumberPaginator,
)
from dlt.sources.rest_api import rest_api_resources
from requests.auth import AuthBase

from ingestion.config import pii_salt
from ingestion.ecommerce_api.http import (
    MOVED,
    ApiPageError,
    DataMoved,
    LoginBearerAuth,
    ResilientSession,
    link_next_page,
    offset_next_page,
    page_number_next_page,
)
from ingestion.ecommerce_api.settings import RESOURCES, SENSITIVE_FIELDS, Paging

__all__ = [
    "RESOURCES",
    "SENSITIVE_FIELDS",
    "ApiPageError",
    "LoginBearerAuth",
    "Paging",
    "ResilientSession",
    "canonical_json",
    "content_hash",
    "ecommerce_api",
    "pii_salt",
    "protect",
    "split_policy",
]


def salted_hash(value: Any, salt: str) -> str:
    return hashlib.sha256(f"{salt}{value}".encode()).hexdigest()


def split_policy(policy: Mapping[str, str]) -> list[tuple[list[str], str]]:
    """A policy's dotted paths split once, for protecting many records with it."""
    return [(path.split("."), action) for path, action in policy.items()]


def protect(
    record: dict[str, Any], policy: list[tuple[list[str], str]], salt: str
) -> dict[str, Any]:
    """Drops or salted-hashes the record's sensitive fields in place (`policy`: split_policy)."""
    for (*parents, leaf), action in policy:
        holder: Any = record
        for key in parents:
            holder = holder.get(key) if isinstance(holder, dict) else None
        if not isinstance(holder, dict) or leaf not in holder:
            continue
        if action == "drop":
            del holder[leaf]
        elif holder[leaf] is not None:
            holder[leaf] = salted_hash(holder[leaf], salt)
    return record


def canonical_json(record: Any) -> bytes:
    """The record as the bytes its content hash is taken of: ``json.dumps(record,
    sort_keys=True, separators=(",", ":"), default=str)`` encoded, the form every stored
    hash was made with. orjson writes the same bytes for almost every record at a fraction
    of the cost; where its output can differ (non-ASCII text and DEL, which json escapes;
    floats below 1e-4, which it writes another way; integers beyond 64 bits; any value that
    is not plain JSON) the reference writes them. pytests/test_api_canonical_json.py holds
    the two equal on generated records."""
    try:
        fast = orjson.dumps(record, default=_not_plain_json, option=_ORJSON_OPTIONS)
    except TypeError:
        fast = None
    if fast is None or not fast.isascii() or b"\x7f" in fast or _orjson_float_may_differ(fast):
        return json.dumps(record, sort_keys=True, separators=(",", ":"), default=str).encode()
    return fast


def _orjson_float_may_differ(written: bytes) -> bool:
    """Whether orjson may have written a float unlike repr(): 0.00001 for 1e-05, e-7 for
    e-07 (a string holding such text only takes the slower path). Substring tests first:
    a regular expression over every record cost more than the orjson path saved."""
    if b"0.0000" in written:
        return True
    return b"e-" in written and _ORJSON_EXPONENT.search(written) is not None


# everything orjson would write its own way goes through default=, which refuses it
_ORJSON_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)
_ORJSON_EXPONENT = re.compile(rb"e-\d(?!\d)")


def _not_plain_json(value: Any) -> Any:
    raise TypeError(type(value).__name__)


def content_hash(record: dict[str, Any]) -> dict[str, Any]:
    """Adds ``_content_hash`` (SHA-256 of the record's canonical JSON) and uses it as the
    record's ``_dlt_id``: dlt derives child row ids from the parent's, so children of an
    unchanged version get the ids they already have and scd2 does not insert them again."""
    record["_content_hash"] = hashlib.sha256(canonical_json(record)).hexdigest()
    record["_dlt_id"] = record["_content_hash"]
    return record


def record_step(policy: Mapping[str, str], salt: str) -> Any:
    """The map step of one resource: protect the sensitive fields, then version the record."""

    split = split_policy(policy)

    def step(record: dict[str, Any]) -> dict[str, Any]:
        return content_hash(protect(record, split, salt))

    return step


class TotalCountPaginator(PageNumberPaginator):
    """Page numbers from 1, stopping exactly at the ``X-Total-Count`` response header.

    Written by hand because dlt's PageNumberPaginator reads a total only from the body (and
    as a page count); without one it needs an extra, empty page to learn it is done. A
    response without the header falls back to stopping at the first short or empty page.
    """

    def __init__(self, page_size: int, page_param: str = "page") -> None:
        super().__init__(
            base_page=1, page_param=page_param, total_path=None, stop_after_empty_page=True
        )
        self.page_size = page_size
        self._seen: set[Any] = set()

    def update_state(self, response: Any, data: list[Any] | None = None) -> None:
        super().update_state(response, data)
        total = response.headers.get("X-Total-Count")
        seen = (self.current_value - 1) * self.page_size
        if (total is not None and seen >= int(total)) or len(data or []) < self.page_size:
            self._has_next_page = False
        # a server that ignores the page parameter serves the first page again and again:
        # stop at the first page that brings nothing new (the completeness check then fails)
        ids = {r.get("id") for r in data or [] if isinstance(r, dict)} - {None}
        if ids and ids <= self._seen:
            self._has_next_page = False
        self._seen |= ids


class OverlappingOffsets(OffsetPaginator):
    """Offset paging whose pages overlap by one record: each page after the first starts at
    the last record of the one before. A record inserted or deleted ahead of the read between
    two page reads shifts that record, so the next page does not start with it: the run
    stops (DataMoved) instead of skipping a live record, which a later scd2 merge would
    retire. The repeated record is dropped before anything sees the page twice."""

    def __init__(self, limit: int, offset_param: str, limit_param: str, total_path: str | None) -> None:  # fmt: skip
        super().__init__(limit=limit, offset_param=offset_param, limit_param=limit_param,
                         total_path=total_path)  # fmt: skip
        self._last: Any = None
        self._first_page = True

    def update_state(self, response: Any, data: list[Any] | None = None) -> None:
        records = data if data is not None else []
        if not self._first_page and records:
            head = records[0].get("id") if isinstance(records[0], dict) else None
            if self._last is not None and head != self._last:
                raise DataMoved(f"{urlparse(response.url).path}: {MOVED}")
            del records[0]  # the overlap: already handed on with the page before
        self._first_page = False
        if records and isinstance(records[-1], dict):
            self._last = records[-1].get("id")
        super().update_state(response, records)
        if self._has_next_page:
            self.current_value -= OVERLAP


OVERLAP = 1


def overlap(paging: Paging, page_size: int) -> int:
    """Records each page repeats of the one before: one for offset paging (pages of one
    record cannot overlap), none for the others (page numbers have fixed boundaries)."""
    return OVERLAP if paging.style == "offset" and page_size > OVERLAP else 0


def next_page(paging: Paging, page_size: int, envelope: bool) -> Any:
    """How the session finds the next page's URL to read ahead, for the paginator below: only
    where it is certain (an offset page needs the body's total)."""
    if paging.style == "offset":
        step = overlap(paging, page_size)
        return offset_next_page(paging.offset_param, paging.limit_param, step) if envelope else None
    if paging.style == "page_number":
        return page_number_next_page(paging.page_param, page_size)
    return link_next_page


def paginator(paging: Paging, page_size: int, envelope: bool) -> Any:
    if paging.style == "offset":
        # the API echoes the returned count as `limit`; the offset advances by the page size
        # and stops once it reaches the body's `total` (or, with no envelope, an empty page)
        total = "total" if envelope else None
        if overlap(paging, page_size):
            return OverlappingOffsets(page_size, paging.offset_param, paging.limit_param, total)
        return OffsetPaginator(
            limit=page_size,
            offset_param=paging.offset_param,
            limit_param=paging.limit_param,
            total_path=total,
        )
    if paging.style == "page_number":
        return TotalCountPaginator(page_size, paging.page_param)
    return HeaderLinkPaginator()


@dlt.source(name="ecommerce_api", max_table_nesting=3)
def ecommerce_api(
    base_url: str = dlt.config.value,
    auth: AuthBase | None = None,
    session: ResilientSession | None = None,
    resources: Sequence[str] = tuple(RESOURCES),
    page_size: int = 100,
    paging: Paging | str = "offset",
    path_prefix: str = "",
    cursors: Mapping[str, tuple[str, str]] | None = None,
    envelope: bool = True,
    sensitive_fields: Mapping[str, Mapping[str, str]] | None = None,
) -> Any:
    """The shop's products, categories, carts and users.

    Args:
        base_url: the API root, e.g. http://127.0.0.1:8010 or https://dummyjson.com.
        auth: None, a LoginBearerAuth (re-logs in on 401) or dlt's APIKeyAuth.
        session: the HTTP session (retries, raw capture); a new ResilientSession by default.
        resources: which of products, product_categories, carts, users.
        page_size: records per page.
        paging: a Paging (style and parameter names), or just its style: offset
            (limit/skip/total), page_number or link_header.
        path_prefix: e.g. "auth/" for DummyJSON's token-protected routes.
        cursors: per resource, the updated-since query parameter and the record field it
            compares (e.g. {"products": ("updatedSince", "meta.updatedAt")}), for APIs that
            have one: later runs fetch only records changed since the highest value seen.
        envelope: records come in DummyJSON's envelope ({"products": [...], "total": N});
            False for APIs that answer with the list itself (json-server).
        sensitive_fields: per resource, dotted field paths to "drop" or "hash" (salted
            SHA-256 with $LAKESHOP_PII_SALT) before anything lands; settings.SENSITIVE_FIELDS
            by default, {} for none.
    """
    sensitive_fields = SENSITIVE_FIELDS if sensitive_fields is None else sensitive_fields
    paging = Paging(paging) if isinstance(paging, str) else paging
    salt = pii_salt(base_url)
    unknown = set(resources) - set(RESOURCES)
    if unknown:
        raise ValueError(f"unknown resources {sorted(unknown)}; choose from {sorted(RESOURCES)}")
    if not isinstance(page_size, int) or page_size < 1:
        # DummyJSON reads limit=0 as "everything": the offset would never advance
        raise ValueError(f"page size must be a positive number of records, not {page_size!r}")
    session = session or ResilientSession()
    session.next_page = next_page(paging, page_size, envelope)
    session.page_size, session.envelope = page_size, envelope
    session.overlap, session.offset_param = overlap(paging, page_size), paging.offset_param
    if isinstance(auth, LoginBearerAuth):
        auth.session = session
    if auth is not None:
        # rest_api accepts only dlt's own auth classes; requests applies a session's auth to
        # every request it prepares, which is all a login-and-relogin flow needs
        session.auth = auth
    unknown = set(cursors or {}) - set(resources)
    if unknown:
        raise ValueError(f"cursors for resources that are not fetched: {sorted(unknown)}")
    configs: list[Any] = []
    for name in resources:
        path, selector, paged = RESOURCES[name]
        resource: dict[str, Any] = {
            "name": name,
            "endpoint": {
                "path": path_prefix + path,
                "data_selector": selector if envelope else "$",
                "paginator": paginator(paging, page_size, envelope) if paged else "single_page",
                # offset paging sends its two parameters itself; the others need the page size
                # and the first page number
                "params": {paging.page_param: 1, paging.page_size_param: page_size}
                if paged and paging.style != "offset"
                else {},
            },
            "processing_steps": [{"map": record_step(sensitive_fields.get(name, {}), salt)}],
            # each resource pages on a thread of its own: while the API renders one page,
            # another is parsed and mapped here (2 cores: server and client both busy)
            "parallelized": True,
        }
        if cursors and name in cursors:
            param, cursor_path = cursors[name]
            resource["endpoint"]["incremental"] = {
                "start_param": param,
                "cursor_path": cursor_path,
                "initial_value": "1970-01-01T00:00:00.000Z",
            }
            # a partial batch: the scd2 merge retires only the versions of the records it holds
            resource["merge_key"] = "id"
        configs.append(resource)
    return rest_api_resources(
        {
            "client": {"base_url": base_url.rstrip("/") + "/", "session": session},
            "resource_defaults": {
                "write_disposition": {
                    "disposition": "merge",
                    "strategy": "scd2",
                    "row_version_column_name": "_content_hash",
                },
            },
            "resources": configs,
        }
    )
