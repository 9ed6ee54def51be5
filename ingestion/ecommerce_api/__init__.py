"""E-commerce REST API source (DummyJSON contract) on dlt's rest_api.

Resources: ``products`` (child tables ``products__reviews``, ``products__tags``,
``products__images``), ``product_categories``, ``carts`` (``carts__products``) and ``users``
(PII raw; silver masks it). Paging is ``limit``/``skip`` against ``total``; another API with
page numbers and ``X-Total-Count``/``Link`` headers is a ``paging="page_number"`` /
``paging="link_header"`` away. DummyJSON has no usable updated-since cursor, so every run
fetches in full and dlt's scd2 merge keeps a new version of a record only when its content
hash (``_content_hash``) changed: an unchanged record is not landed again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
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


def paginator(paging: str, page_size: int) -> Any:
    if paging == "offset":
        # the API echoes the returned count as `limit`; the offset advances by the page size
        # and stops once it reaches `total` (a short or empty last page also ends it)
        return OffsetPaginator(
            limit=page_size, offset_param="skip", limit_param="limit", total_path="total"
        )
    if paging == "page_number":
        return PageNumberPaginator(
            base_page=1, page_param="page", total_path=None, stop_after_empty_page=True
        )
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
    configs: list[Any] = []
    for name in resources:
        path, selector, paged = RESOURCES[name]
        configs.append(
            {
                "name": name,
                "endpoint": {
                    "path": path_prefix + path,
                    "data_selector": selector,
                    "paginator": paginator(paging, page_size) if paged else "single_page",
                },
                "processing_steps": [{"map": content_hash}],
            }
        )
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
