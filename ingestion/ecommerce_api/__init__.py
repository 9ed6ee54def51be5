"""E-commerce REST API source (DummyJSON contract) on dlt's rest_api.

Resources: ``products`` (child tables ``products__reviews``, ``products__tags``,
``products__images``), ``product_categories``, ``carts`` (``carts__products``) and ``users``
(PII raw; silver masks it). Paging is ``limit``/``skip`` against ``total``; another API with
page numbers and ``X-Total-Count``/``Link`` headers is a ``paging="page_number"`` /
``paging="link_header"`` away. DummyJSON has no usable updated-since cursor, so by default
every run fetches in full and dlt's scd2 merge keeps a new version of a record only when its
content hash (``_content_hash``) changed: an unchanged record is not landed again. Where an
API has such a cursor, ``cursors={"products": ("updatedSince", "meta.updatedAt")}`` fetches
only what changed since the last run (dlt incremental state) and retires only the versions of
the records fetched (scd2 with ``merge_key``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import dlt
from dlt.sources.helpers.rest_client.paginators import (
    HeaderLinkPaginator,
    OffsetPaginator,
    PageNumberPaginator,
)
from dlt.sources.rest_api import rest_api_resources
from requests.auth import AuthBase

from ingestion.ecommerce_api.http import ApiPageError, LoginBearerAuth, ResilientSession

__all__ = ["ApiPageError", "LoginBearerAuth", "ResilientSession", "content_hash", "ecommerce_api"]

RESOURCES = {
    # name: (path, data selector, paged)
    "products": ("products", "products", True),
    "product_categories": ("products/categories", "$", False),
    "carts": ("carts", "carts", True),
    "users": ("users", "users", True),
}


def content_hash(record: dict[str, Any]) -> dict[str, Any]:
    """Adds ``_content_hash``: SHA-256 of the record's canonical JSON."""
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)
    record["_content_hash"] = hashlib.sha256(canonical.encode()).hexdigest()
    return record


class TotalCountPaginator(PageNumberPaginator):
    """Page numbers from 1, stopping exactly at the ``X-Total-Count`` response header.

    Written by hand because dlt's PageNumberPaginator reads a total only from the body (and
    as a page count); without one it needs an extra, empty page to learn it is done. A
    response without the header falls back to stopping at the first short or empty page.
    """

    def __init__(self, page_size: int) -> None:
        super().__init__(
            base_page=1, page_param="page", total_path=None, stop_after_empty_page=True
        )
        self.page_size = page_size

    def update_state(self, response: Any, data: list[Any] | None = None) -> None:
        super().update_state(response, data)
        total = response.headers.get("X-Total-Count")
        seen = (self.current_value - 1) * self.page_size
        if (total is not None and seen >= int(total)) or len(data or []) < self.page_size:
            self._has_next_page = False


def paginator(paging: str, page_size: int) -> Any:
    if paging == "offset":
        # the API echoes the returned count as `limit`; the offset advances by the page size
        # and stops once it reaches `total` (a short or empty last page also ends it)
        return OffsetPaginator(
            limit=page_size, offset_param="skip", limit_param="limit", total_path="total"
        )
    if paging == "page_number":
        return TotalCountPaginator(page_size)
    if paging == "link_header":
        return HeaderLinkPaginator()
    raise ValueError(f"paging={paging!r}: use offset, page_number or link_header")


@dlt.source(name="ecommerce_api", max_table_nesting=2)
def ecommerce_api(
    base_url: str = dlt.config.value,
    auth: AuthBase | None = None,
    session: ResilientSession | None = None,
    resources: Sequence[str] = tuple(RESOURCES),
    page_size: int = 100,
    paging: str = "offset",
    path_prefix: str = "",
    cursors: Mapping[str, tuple[str, str]] | None = None,
) -> Any:
    """The shop's products, categories, carts and users.

    Args:
        base_url: the API root, e.g. http://127.0.0.1:8010 or https://dummyjson.com.
        auth: None, a LoginBearerAuth (re-logs in on 401) or dlt's APIKeyAuth.
        session: the HTTP session (retries, raw capture); a new ResilientSession by default.
        resources: which of products, product_categories, carts, users.
        page_size: records per page.
        paging: offset (limit/skip/total), page_number or link_header.
        path_prefix: e.g. "auth/" for DummyJSON's token-protected routes.
        cursors: per resource, the updated-since query parameter and the record field it
            compares (e.g. {"products": ("updatedSince", "meta.updatedAt")}), for APIs that
            have one: later runs fetch only records changed since the highest value seen.
    """
    unknown = set(resources) - set(RESOURCES)
    if unknown:
        raise ValueError(f"unknown resources {sorted(unknown)}; choose from {sorted(RESOURCES)}")
    session = session or ResilientSession()
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
                "data_selector": selector,
                "paginator": paginator(paging, page_size) if paged else "single_page",
                # offset paging sends limit/skip itself; the others need the page size and the
                # first page number
                "params": {"page": 1, "per_page": page_size}
                if paged and paging != "offset"
                else {},
            },
            "processing_steps": [{"map": content_hash}],
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
