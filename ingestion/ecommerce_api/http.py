"""HTTP for the e-commerce API source: retries, Retry-After, JSON validation, raw capture, login.

Written by hand because dlt's rest_api cannot express these: its retrying session retries
connection errors and status codes, but a 200 response whose body is cut off or is not valid
JSON reaches the paginator and fails the run without a retry, and it keeps no copy of the
responses as received (which the lake stores). Everything else (paging, data selection,
nesting into child tables, incremental merge) stays with dlt's rest_api.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urljoin, urlparse

import orjson
import requests
from requests.auth import AuthBase
from requests.hooks import default_hooks, dispatch_hook

log = logging.getLogger("lakeshop.ecommerce_api")

RETRYABLE_STATUS = {500, 502, 503, 504}


class ApiPageError(RuntimeError):
    """A page could not be fetched intact; the message names the URL and the page."""


@dataclass
class HttpStats:
    requests: int = 0
    pages: int = 0
    read_ahead: int = 0  # pages that were fetched ahead, while the one before was processed
    retries: int = 0
    throttled: int = 0
    relogins: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)

    def retry(self, reason: str) -> None:
        self.retries += 1
        self.by_reason[reason] = self.by_reason.get(reason, 0) + 1


def page_records(body: Any) -> list[Any]:
    """The records of a page: the envelope's lists (DummyJSON), or the page if it is one."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        return [r for v in body.values() if isinstance(v, list) for r in v]
    return []


class PagingStopped(ApiPageError):
    """The pages of a run cannot be trusted: the run stops before anything lands."""


class EndlessPaging(PagingStopped):
    """Pages that can never end the run: they bring nothing new, or more than the total."""


class DataMoved(PagingStopped):
    """Records shifted between two page reads (an insert or a delete ahead of the read)."""


MOVED = (
    "the data moved while the pages were read; nothing was landed and no record retired; run again"
)


@dataclass
class PathTally:
    """What the data pages of one path held: the completeness check's evidence, and the guard
    that stops a run whose pages would go on forever (``page_size``, ``envelope``: as the
    source pages; None when not known)."""

    path: str = ""
    page_size: int | None = None
    envelope: bool | None = None
    overlap: int = 0  # records each page after the first repeats of the one before
    pages: int = 0
    records: int = 0
    ids: set[Any] = field(default_factory=set)
    repeated_ids: int = 0
    advertised_total: int | None = None
    total_from: str = ""
    totals: list[int] = field(default_factory=list)  # every total advertised, in page order

    def add(self, body: Any, headers: Any, first: bool = True) -> None:
        """One page; ``first``: it starts at the beginning (no overlap to leave out)."""
        self.pages += 1
        if self.envelope is False and isinstance(body, dict):
            raise EndlessPaging(
                f"{self.path}: the API wraps its records in an object (keys: "
                f"{', '.join(list(body)[:4])}), not a list: drop --no-envelope"
            )
        records = page_records(body)[0 if first else self.overlap :]
        self.records += len(records)
        new = 0
        for record in records:
            if isinstance(record, dict) and record.get("id") is not None:
                key = record["id"]
                if key in self.ids:
                    self.repeated_ids += 1
                else:
                    new += 1
                self.ids.add(key)
        if isinstance(body, dict) and isinstance(body.get("total"), int):
            self.advertised_total, self.total_from = body["total"], "the body's total"
        elif headers.get("X-Total-Count", "").isdigit():
            self.advertised_total = int(headers["X-Total-Count"])
            self.total_from = "the X-Total-Count header"
        if self.advertised_total is not None and (
            not self.totals or self.totals[-1] != self.advertised_total
        ):
            self.totals.append(self.advertised_total)
        if self.pages > 1 and records and not new:
            raise EndlessPaging(
                f"{self.path}: page {self.pages} brought no record earlier pages had not: the API "
                "ignores the paging parameters sent; stopped, nothing was landed"
            )
        allowed = self._pages_allowed()
        if allowed is not None and self.pages > allowed:
            raise EndlessPaging(
                f"{self.path}: {self.pages} pages of {self.page_size} where {self.total_from} "
                f"says {self.advertised_total:,} records; stopped, nothing was landed"
            )

    def _pages_allowed(self) -> int | None:
        """Pages the largest total seen allows, with room for records that moved meanwhile."""
        if not self.totals or not self.page_size:
            return None
        step = max(1, self.page_size - self.overlap)  # new records a page brings
        return -(-max(self.totals) // step) + 2


def _parsed(body: Any) -> Callable[..., Any]:
    def json(**_: Any) -> Any:
        return body

    return json


def _is_html(response: requests.Response) -> bool:
    kind = response.headers.get("Content-Type", "")
    return "html" in kind or response.content.lstrip()[:1] == b"<"


def _connection_reason(problem: str) -> str:
    """What a requests ConnectionError says, in a few whole words."""
    lowered = problem.lower()
    for needle, reason in (("refused", "connection refused"), ("name or service", "host not found"),
                           ("nodename nor servname", "host not found"), ("timed out", "timed out"),
                           ("certificate", "TLS certificate rejected"), ("reset", "connection reset")):  # fmt: skip
        if needle in lowered:
            return reason
    words = problem.splitlines()[0].split()
    return " ".join(words[:12]) + (" ..." if len(words) > 12 else "")


def _page_label(url: str) -> str:
    query = parse_qs(urlparse(url).query)
    skip, limit = query.get("skip", ["0"])[0], query.get("limit", ["?"])[0]
    return f"skip={skip} limit={limit}"


def _retry_after(value: str | None, default: float) -> float:
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


class ResilientSession(requests.Session):
    """A session that only hands back complete, valid JSON pages.

    - 429: waits for ``Retry-After`` (seconds or an HTTP date), up to ``max_throttled`` times;
    - 5xx, timeouts, dropped connections and truncated or invalid JSON bodies: retries with
      exponential backoff and full jitter, up to ``max_attempts``, then raises ApiPageError
      naming the URL and the page;
    - every good JSON response is kept (url, time, body) for the raw lake copy;
    - the next page, when its URL is certain (``next_page``), is fetched ahead on a worker
      while the current one is processed; it is counted and kept only when asked for.
    """

    def __init__(self, max_attempts: int = 6, backoff: float = 0.5, max_backoff: float = 20.0,
                 timeout: float = 30.0, max_throttled: int = 50) -> None:  # fmt: skip
        super().__init__()
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.timeout = timeout
        self.max_throttled = max_throttled
        self.stats = HttpStats()
        # data pages only (GET), as the bytes received: login and refresh exchanges are never
        # kept, nor counted; only when something stores them (the lake's raw pages)
        self.capture = True
        self.captured: list[dict[str, Any]] = []
        self.tallies: dict[str, PathTally] = {}
        # called with (url, body) after every good page, e.g. to draw a progress line
        self.on_page: Callable[[str, Any], None] | None = None
        # the next page's URL from a page (url, body, response) when it is certain: set by the
        # source from its paging (offset_next_page, ...); None reads no page ahead
        self.next_page: Callable[[str, Any, Any], str | None] | None = None
        # how the source pages, for the guard against endless paging (PathTally), and the
        # records each offset page repeats of the one before (OverlappingOffsets)
        self.page_size: int | None = None
        self.envelope: bool | None = None
        self.overlap = 0
        self.offset_param: str | None = None
        self._ahead: dict[str, Future[Any]] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        # what the environment says (proxies, ~/.netrc, a CA bundle) is read once per host:
        # requests reads it again for every request (file lookups of 0.5 ms or more each)
        self.trust_env = False
        self.verify = (
            os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        )
        self._environment: dict[str, tuple[dict[str, str], Any]] = {}
        self._rng = random.Random()

    def _from_environment(self, url: str) -> tuple[dict[str, str], Any]:
        """(proxies, ~/.netrc credentials) for a URL's host, as requests would find them."""
        where = urlparse(url)
        key = f"{where.scheme}://{where.netloc}"
        found = self._environment.get(key)
        if found is None:
            found = self._environment[key] = (
                requests.utils.get_environ_proxies(url, self.proxies.get("no_proxy")),
                requests.utils.get_netrc_auth(url),
            )
        return found

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        if request.auth is None and self.auth is None:
            request.auth = self._from_environment(str(request.url))[1]
        return super().prepare_request(request)

    def __deepcopy__(self, memo: dict[int, Any]) -> ResilientSession:
        return self  # dlt copies its client config; the session and its counters are shared

    def _keep(self, url: str, response: requests.Response, body: Any, ahead: bool) -> None:
        """A data page: counted, tallied for the completeness check, kept for the lake."""
        with self._lock:  # resources are fetched on several threads
            self.stats.pages += 1
            self.stats.read_ahead += ahead
            path = urlparse(url).path
            tally = self.tallies.get(path)
            if tally is None:
                tally = self.tallies[path] = PathTally(
                    path, self.page_size, self.envelope, self.overlap
                )
            first = (
                not self.overlap
                or dict(parse_qsl(urlparse(url).query)).get(self.offset_param or "", "0") == "0"
            )
            tally.add(body, response.headers, first)
            if self.capture:
                self.captured.append({"url": url, "fetched_at": dt.datetime.now(dt.UTC).isoformat(),
                                      "status": response.status_code, "content": response.content})  # fmt: skip
            if self.on_page is not None:
                self.on_page(url, body)

    def _sleep(self, attempt: int) -> None:
        time.sleep(self._rng.uniform(0, min(self.max_backoff, self.backoff * 2 ** (attempt - 1))))

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        if not kwargs.get("proxies"):
            kwargs["proxies"] = {**self._from_environment(str(request.url))[0], **self.proxies}
        url = str(request.url)
        # dlt's rest_api hangs raise_for_status on each request as a response hook, which
        # requests runs inside Session.send: a 429 or 503 would fail the run before this loop
        # could retry it. Hold the hooks back and run them on the response handed out.
        hooks, request.hooks = request.hooks, default_hooks()
        ahead = self._take_ahead(request)
        response, body = ahead.result() if ahead is not None else self._fetch(request, kwargs)
        if body is _AS_IS:
            return dispatch_hook("response", hooks, response, **kwargs)
        if request.method == "GET":
            self._keep(url, response, body, ahead is not None)
            self._read_ahead(request, response, body, kwargs)
        # the paginator and the data selector each call response.json(): they get this parse
        # instead of two more (the kept copy is the bytes)
        response.json = _parsed(body)  # type: ignore[method-assign]
        return dispatch_hook("response", hooks, response, **kwargs)

    # -- reading ahead ---------------------------------------------------------------------
    def _read_ahead(self, request: requests.PreparedRequest, response: requests.Response,
                    body: Any, kwargs: dict[str, Any]) -> None:  # fmt: skip
        """Fetch the next page on a worker while this one is processed, when its URL is
        certain (``next_page``): the API renders page n+1 while the source maps page n, so
        client and server work at once instead of taking turns, within one resource too."""
        try:
            url = self.next_page(str(request.url), body, response) if self.next_page else None
            if url is None:
                return
            ahead = request.copy()
            ahead.hooks = default_hooks()
            ahead.prepare_url(url, {})
            key = _url_key(url)
        except Exception as exc:  # only a speed-up: the page is then fetched when asked for
            log.debug("not reading ahead of %s: %s", request.url, exc)
            return
        with self._lock:
            if key in self._ahead:
                return
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="read-ahead")
            self._ahead[key] = self._pool.submit(self._fetch, ahead, dict(kwargs))

    def _take_ahead(self, request: requests.PreparedRequest) -> Future[Any] | None:
        if request.method != "GET" or not self._ahead:
            return None
        with self._lock:
            return self._ahead.pop(_url_key(str(request.url)), None)

    def stop_reading_ahead(self) -> None:
        """Drop the pages fetched ahead and never asked for, and the workers."""
        with self._lock:
            pool, self._pool = self._pool, None
            for future in self._ahead.values():
                future.cancel()
            self._ahead.clear()
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        self.stop_reading_ahead()
        super().close()

    # -- one request, retried until it is a whole JSON page ------------------------------
    def _fetch(
        self, request: requests.PreparedRequest, kwargs: dict[str, Any]
    ) -> tuple[requests.Response, Any]:
        """(response, parsed body) of a good JSON page, or (response, _AS_IS) for what the
        caller hands back as it is (401 and other 4xx, for auth and rest_api to decide)."""
        url = str(request.url)
        attempt = throttled = 0
        last_problem = ""
        while True:
            with self._lock:
                self.stats.requests += 1
            try:
                response = super().send(request, **kwargs)
                _ = response.content  # read it all now: a cut-off body fails here
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
            ) as exc:
                attempt += 1
                last_problem = f"{type(exc).__name__}: {exc}"
                self._retried(
                    "connection"
                    if not isinstance(exc, requests.exceptions.ChunkedEncodingError)
                    else "truncated body"
                )
            else:
                if response.status_code == 429:
                    throttled += 1
                    with self._lock:
                        self.stats.throttled += 1
                    if throttled > self.max_throttled:
                        raise ApiPageError(
                            f"{url} ({_page_label(url)}): still rate limited after {throttled} waits"
                        )
                    time.sleep(_retry_after(response.headers.get("Retry-After"), self.backoff))
                    continue
                if response.status_code in RETRYABLE_STATUS:
                    attempt += 1
                    last_problem = f"HTTP {response.status_code}"
                    self._retried(f"HTTP {response.status_code}")
                elif response.ok:
                    try:
                        return response, _parse(response.content)
                    except ValueError as exc:
                        if _is_html(response):
                            # a web page, not a cut-off JSON body: retrying will not help
                            raise ApiPageError(
                                f"{url} answered with an HTML page, not JSON: this is not the "
                                "JSON API; check --base-url (and --path-prefix)"
                            ) from None
                        attempt += 1
                        last_problem = f"invalid JSON ({exc})"
                        self._retried("invalid JSON")
                elif response.status_code in (401, 403) and response.request.headers.get(
                    "X-API-Key"
                ):
                    raise ApiPageError(
                        f"{url} answered HTTP {response.status_code}: the API refused the key "
                        "sent; check LAKESHOP_API_KEY (sent as X-API-Key), or the --auth the API wants"
                    )
                elif response.status_code == 404:
                    raise ApiPageError(
                        f"{url} answered 404 Not Found: the API has no such route; check "
                        "--base-url and --path-prefix (DummyJSON's token-protected routes are "
                        "under auth/)"
                    )
                else:
                    return response, _AS_IS
            if attempt >= self.max_attempts and "ConnectionError" in last_problem:
                where = urlparse(url)
                raise ApiPageError(
                    f"cannot connect to {where.scheme}://{where.netloc} ({attempt} attempts); "
                    "check --base-url, or that `lakeshop api serve` runs on $LAKESHOP_API_PORT "
                    f"for the local API ({_connection_reason(last_problem)})"
                )
            if attempt >= self.max_attempts:
                raise ApiPageError(
                    f"{url} ({_page_label(url)}) failed {attempt} times; last problem: {last_problem}. "
                    "Nothing of this resource was committed; run again when the API is healthy."
                )
            self._sleep(attempt)

    def _retried(self, reason: str) -> None:
        with self._lock:
            self.stats.retry(reason)


_AS_IS = object()


def _parse(content: bytes) -> Any:
    """A page's JSON: orjson (dlt's own parser, several times faster), and the standard parser
    for what orjson refuses but JSON readers take (integers beyond 64 bits, NaN): the same
    values either way, so a record's content hash does not change. NaN and the infinities
    come as NonFinite, a float that the canonical JSON writes as the standard writer does
    (orjson would write null)."""
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return json.loads(content, parse_constant=lambda name: NonFinite(name))


class NonFinite(float):
    """NaN, Infinity or -Infinity from a page (a float in every other respect)."""


def _url_key(url: str) -> str:
    """A URL with its query parameters in one order, to find a page read ahead."""
    parts = urlparse(url)
    return parts._replace(
        query=urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    ).geturl()


def _with_params(url: str, changes: dict[str, Any]) -> str:
    parts = urlparse(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update({k: str(v) for k, v in changes.items()})
    return parts._replace(query=urlencode(query)).geturl()


def offset_next_page(
    offset_param: str, limit_param: str, overlap: int = 0
) -> Callable[[str, Any, Any], str | None]:
    """The next offset page, while the body's total says there is one (as dlt's
    OffsetPaginator decides it: offset + limit below the total)."""

    def next_page(url: str, body: Any, response: Any) -> str | None:
        query = dict(parse_qsl(urlparse(url).query))
        total = body.get("total") if isinstance(body, dict) else None
        if not isinstance(total, int) or not page_records(body):
            return None
        try:
            offset, limit = int(query.get(offset_param, 0)), int(query[limit_param])
        except (KeyError, ValueError):
            return None
        step = offset + limit
        return _with_params(url, {offset_param: step - overlap}) if step < total else None

    return next_page


def page_number_next_page(page_param: str, page_size: int) -> Callable[[str, Any, Any], str | None]:
    """The next page number, while X-Total-Count says there is one and the page was full (as
    TotalCountPaginator decides it)."""

    def next_page(url: str, body: Any, response: Any) -> str | None:
        total = response.headers.get("X-Total-Count", "")
        try:
            page = int(dict(parse_qsl(urlparse(url).query))[page_param])
        except (KeyError, ValueError):
            return None
        if not total.isdigit() or len(page_records(body)) < page_size:
            return None
        return _with_params(url, {page_param: page + 1}) if page * page_size < int(total) else None

    return next_page


def link_next_page(url: str, body: Any, response: Any) -> str | None:
    """The Link header's rel="next", as HeaderLinkPaginator follows it (a relative link
    against the page's own URL)."""
    link = response.links.get("next", {}).get("url")
    return urljoin(url, str(link)) if link else None


class LoginBearerAuth(AuthBase):
    """Bearer token from a login endpoint, logging in again when the token is rejected."""

    def __init__(self, base_url: str, username: str, password: str, login_path: str = "/auth/login",
                 token_field: str = "accessToken", expires_in_mins: float | None = None) -> None:  # fmt: skip
        self.login_url = base_url.rstrip("/") + login_path
        self.username, self.password = username, password
        self.token_field = token_field
        self.expires_in_mins = expires_in_mins
        self.token: str | None = None
        self.session: ResilientSession | None = None
        self._lock = threading.Lock()

    def __deepcopy__(self, memo: dict[int, Any]) -> LoginBearerAuth:
        return self  # one token for the whole run, whatever dlt copies

    def login(self) -> str:
        body: dict[str, Any] = {"username": self.username, "password": self.password}
        if self.expires_in_mins is not None:
            body["expiresInMins"] = self.expires_in_mins
        sender = self.session or requests.Session()
        # an explicit no-op auth: the session's own auth is this object (it would re-enter)
        response = sender.post(self.login_url, json=body, timeout=30, auth=lambda r: r)
        doubled = "/auth/auth/" in urlparse(self.login_url).path  # a base URL ending in /auth
        if response.status_code == 404 or (response.status_code != 200 and doubled):
            raise ApiPageError(
                f"login at {self.login_url} answered {response.status_code}: there is no login route there; "
                "--base-url should be the API root (without /auth), --path-prefix adds auth/"
            )
        if response.status_code != 200:
            raise ApiPageError(
                f"login at {self.login_url} failed with HTTP {response.status_code}: "
                f"{' '.join(response.text[:200].split())}; check the username and password "
                "(LAKESHOP_API_USERNAME, LAKESHOP_API_PASSWORD)"
            )
        token = response.json().get(self.token_field)
        if not token:
            raise ApiPageError(f"login at {self.login_url} returned no '{self.token_field}'")
        self.token = str(token)
        return self.token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        with self._lock:
            token = self.token or self.login()
        request.headers["Authorization"] = f"Bearer {token}"
        request.register_hook("response", self._relogin_on_401)
        return request

    def _relogin_on_401(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        if response.status_code != 401 or getattr(response.request, "_relogged", False):
            return response
        with self._lock:
            self.login()
        if self.session is not None:
            self.session.stats.relogins += 1
        retry = response.request.copy()
        retry.headers["Authorization"] = f"Bearer {self.token}"
        retry._relogged = True  # type: ignore[attr-defined]
        sender = self.session or requests.Session()
        return sender.send(
            retry,
            **{
                k: v
                for k, v in kwargs.items()
                if k in {"timeout", "verify", "proxies", "stream", "cert"}
            },
        )
