"""A local e-commerce REST API speaking DummyJSON's contract, with auth, rate limits and faults.

``GET /products?updatedSince=<ISO time>`` (not in DummyJSON) returns only products whose
``meta.updatedAt`` is later, for testing an updated-since cursor.

Paging: ``limit`` (default 30, 0 = all) and ``skip``; envelopes
``{"<resource>": [...], "total": N, "skip": S, "limit": <count returned>}``; ``select=a,b``
returns ``id`` plus the named fields. ``/auth/<path>`` serves ``/<path>`` to bearer tokens
from ``POST /auth/login`` (or to ``X-API-Key`` when the server has a key).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import math
import random
import re
import secrets
import socket
import threading
import time
from dataclasses import asdict, dataclass, fields
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from sandbox.shop_api.records import RecordsWorld
from sandbox.shop_api.world import ApiWorld

# what the server serves: the synthetic shop, or records as they are (DummyJSON's own files)
World = ApiWorld | RecordsWorld

DEFAULT_LIMIT = 30


@dataclass
class Faults:
    """Fault injection. Counters make bursts and truncation reproducible in tests."""

    error_rate: float = 0.0  # probability of a 500/502/503 on any data request
    burst_every: int = 0  # after every N good requests ...
    burst_length: int = 0  # ... the next M requests answer 503
    delay_ms: int = 0  # added latency ...
    delay_rate: float = 1.0  # ... on this fraction of requests
    truncate_rate: float = 0.0  # probability a body is cut off mid-way
    truncate_every: int = 0  # or: every Nth data response is cut off
    seed: int = 7
    # only requests to this path (e.g. "/products") count towards and take the bursts: a
    # client with several requests in flight then meets the burst on one page, whatever the
    # order its requests arrive in
    only_path: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Faults:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault settings {sorted(unknown)}; known: {sorted(known)}")
        return cls(**data)


class TokenBucket:
    """Per-client token bucket: ``rate`` requests per second, bursts up to ``rate``."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.state: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def take(self, client: str) -> float:
        """0 when allowed, else seconds until a request would be allowed."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        with self.lock:
            tokens, last = self.state.get(client, (self.rate, now))
            tokens = min(self.rate, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self.state[client] = (tokens - 1, now)
                return 0.0
            self.state[client] = (tokens, now)
            return (1 - tokens) / self.rate


class Tokens:
    """HS256-signed JWTs with an expiry."""

    def __init__(self, secret: bytes | None = None) -> None:
        self.secret = secret or secrets.token_bytes(32)

    @staticmethod
    def _b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    def issue(self, claims: dict[str, Any], ttl_seconds: float) -> str:
        header = self._b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = self._b64(
            json.dumps({**claims, "iat": time.time(), "exp": time.time() + ttl_seconds}).encode()
        )
        sig = hmac.new(self.secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
        return f"{header}.{body}.{self._b64(sig)}"

    def verify(self, token: str) -> tuple[dict[str, Any] | None, str]:
        try:
            header, body, sig = token.split(".")
            expected = hmac.new(self.secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(self._b64(expected), sig):
                return None, "Invalid/Expired Token!"
            claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except (ValueError, json.JSONDecodeError):
            return None, "Invalid/Expired Token!"
        if claims.get("exp", 0) < time.time():
            return None, "Token Expired!"
        return claims, ""


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


class ShopApi:
    """Routing and behaviour, independent of the HTTP plumbing."""

    def __init__(
        self,
        world: World,
        rate_limit: float = 0.0,
        faults: Faults | None = None,
        api_key: str | None = None,
        token_secret: bytes | None = None,
    ) -> None:
        self.world = world
        self.limiter = TokenBucket(rate_limit)
        self.faults = faults or Faults()
        self.api_key = api_key
        self.tokens = Tokens(token_secret)
        self.lock = threading.Lock()
        self._rng = random.Random(self.faults.seed)
        self._served = 0
        self._burst_left = 0
        self._since_burst = 0
        self.bursts_answered = 0  # 503s answered for bursts since the faults were set
        self.requests = 0
        self.reload_hook: Any = None

    def set_faults(self, faults: Faults) -> None:
        with self.lock:
            self.faults = faults
            self._rng = random.Random(faults.seed)
            self._served = self._burst_left = self._since_burst = self.bursts_answered = 0

    # -- fault decisions -----------------------------------------------------
    def fault_for_request(self, path: str = "") -> tuple[int | None, float, bool]:
        """(error status or None, delay seconds, truncate body?) for one data request."""
        f = self.faults
        with self.lock:
            self._served += 1
            delay = f.delay_ms / 1000 if f.delay_ms and self._rng.random() < f.delay_rate else 0.0
            bursting = not f.only_path or urlparse(path).path.rstrip("/") == f.only_path.rstrip("/")
            if bursting and self._burst_left > 0:
                self._burst_left -= 1
                self.bursts_answered += 1
                return 503, delay, False
            if bursting and f.burst_every and f.burst_length:
                self._since_burst += 1
                if self._since_burst > f.burst_every:
                    self._since_burst = 0
                    self._burst_left = f.burst_length - 1
                    self.bursts_answered += 1
                    return 503, delay, False
            if f.error_rate and self._rng.random() < f.error_rate:
                return self._rng.choice([500, 502, 503]), delay, False
            truncate = bool(f.truncate_every and self._served % f.truncate_every == 0) or (
                f.truncate_rate > 0 and self._rng.random() < f.truncate_rate
            )
            return None, delay, truncate

    # -- request handling ----------------------------------------------------
    def authorize(self, headers: Any) -> dict[str, Any]:
        if self.api_key and hmac.compare_digest(headers.get("X-API-Key", ""), self.api_key):
            return {"id": 0, "username": "api-key"}
        auth = headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            raise ApiError(401, "Access Token is required")
        claims, problem = self.tokens.verify(auth[len("Bearer ") :].strip())
        if claims is None:
            raise ApiError(401, problem)
        return claims

    def handle(self, method: str, raw_path: str, headers: Any, body: bytes) -> Any:
        url = urlparse(raw_path)
        path = url.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        if not self.world.page_numbers:
            # as the real DummyJSON: page numbers are not a paging option, only limit/skip
            query.pop("page", None)
            query.pop("per_page", None)
        if method == "POST" and path == "/auth/login":
            return self.login(_json_body(body))
        if method == "POST" and path == "/auth/refresh":
            return self.refresh(_json_body(body))
        if path == "/auth/me":
            claims = self.authorize(headers)
            index = self.world.user_index.get(int(claims.get("id", -1)))
            if index is None:
                raise ApiError(404, "User not found")
            return self.world.user(index)
        if path.startswith("/auth/"):
            self.authorize(headers)
            path = path[len("/auth") :]
        if method != "GET":
            raise ApiError(405, f"{method} is not supported on {path}; this API is read-only")
        return self.route(path, query)

    def login(self, data: dict[str, Any]) -> dict[str, Any]:
        profile = self.world.login_profile(
            str(data.get("username", "")), str(data.get("password", ""))
        )
        if profile is None:
            raise ApiError(400, "Invalid credentials")
        minutes = _number(data.get("expiresInMins", 60), "expiresInMins")
        claims = {"id": profile["id"], "username": profile["username"]}
        return {
            **profile,
            "accessToken": self.tokens.issue(claims, minutes * 60),
            "refreshToken": self.tokens.issue({**claims, "refresh": True}, 30 * 24 * 3600),
        }

    def refresh(self, data: dict[str, Any]) -> dict[str, Any]:
        claims, problem = self.tokens.verify(str(data.get("refreshToken", "")))
        if claims is None or not claims.get("refresh"):
            raise ApiError(401, problem or "Invalid refresh token")
        minutes = _number(data.get("expiresInMins", 60), "expiresInMins")
        base = {"id": claims["id"], "username": claims["username"]}
        return {
            "accessToken": self.tokens.issue(base, minutes * 60),
            "refreshToken": self.tokens.issue({**base, "refresh": True}, 30 * 24 * 3600),
        }

    def route(self, path: str, query: dict[str, str]) -> Any:
        w = self.world
        if path == "/products":
            since = query.get("updatedSince")
            if since:
                # not in DummyJSON: the updated-since cursor other APIs offer, on meta.updatedAt
                # (ISO 8601 text in UTC, so text order is time order)
                changed = [p for p in w.products if p["meta"]["updatedAt"] > since]
                return page("products", changed, query)
            return page("products", w.products, query)
        if path == "/products/search":
            q = query.get("q", "").lower()
            hits = [
                p
                for p in w.products
                if q in p["title"].lower() or q in (p["description"] or "").lower()
            ]
            return page("products", hits, query)
        if path == "/products/categories":
            return w.categories()
        if path == "/products/category-list":
            return [c["slug"] for c in w.categories()]
        if m := re.fullmatch(r"/products/category/([\w-]+)", path):
            return page("products", [p for p in w.products if p["category"] == m.group(1)], query)
        if m := re.fullmatch(r"/products/(\d+)", path):
            return one(w.products, w.product_index, int(m.group(1)), "Product", query)
        if path == "/carts":
            return page("carts", w.carts, query)
        if m := re.fullmatch(r"/carts/(\d+)", path):
            return one(w.carts, w.cart_index, int(m.group(1)), "Cart", query)
        if m := re.fullmatch(r"/carts/user/(\d+)", path):
            return page("carts", [c for c in w.carts if c["userId"] == int(m.group(1))], query)
        if path == "/users":
            return page("users", _LazyUsers(w), query)
        if path == "/users/search":
            q = query.get("q", "").lower()
            return page("users", w.search_users(q), query)
        if m := re.fullmatch(r"/users/(\d+)", path):
            index = w.user_index.get(int(m.group(1)))
            if index is None:
                raise ApiError(404, f"User with id '{m.group(1)}' not found")
            return select_fields(w.user(index), query)
        raise ApiError(404, f"Route {path} not found")


class _LazyUsers:
    """Users render on demand: a big shop's customers need not sit in memory as JSON."""

    def __init__(self, world: World) -> None:
        self.world = world

    def __len__(self) -> int:
        return self.world.user_count()

    def __getitem__(self, key: slice) -> list[dict[str, Any]]:
        return [self.world.user(i) for i in range(*key.indices(len(self)))]


def _number(value: Any, name: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise ApiError(400, f"'{name}' must be a number") from exc


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except json.JSONDecodeError as exc:
        raise ApiError(400, f"request body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "request body must be a JSON object")
    return data


def paging_headers(raw_path: str, payload: Any) -> dict[str, str]:
    """X-Total-Count and Link rel="next" for a page-number request (?page=N)."""
    url = urlparse(raw_path)
    query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
    if "page" not in query or not isinstance(payload, dict) or "total" not in payload:
        return {}
    total = int(payload["total"])
    headers = {"X-Total-Count": str(total)}
    if int(payload["skip"]) + int(payload["limit"]) < total:
        number = max(1, int(query["page"]) if query["page"].isdigit() else 1)
        following = urlencode({**query, "page": str(number + 1)})
        headers["Link"] = f'<{url.path}?{following}>; rel="next"'
    return headers


def _int_param(query: dict[str, str], name: str, default: int) -> int:
    raw = query.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ApiError(400, f"'{name}' must be a non-negative integer, got {raw!r}") from exc
    if value < 0:
        raise ApiError(400, f"'{name}' must be a non-negative integer, got {raw!r}")
    return value


def select_fields(item: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
    wanted = [f.strip() for f in query.get("select", "").split(",") if f.strip()]
    if not wanted:
        return item
    return {"id": item["id"], **{k: item[k] for k in wanted if k in item and k != "id"}}


def page(resource: str, items: Any, query: dict[str, str]) -> dict[str, Any]:
    if "page" in query:
        # page-number paging, as many other APIs have it: ?page=N (from 1)&per_page=M; the
        # handler adds X-Total-Count and a Link rel="next" header (see paging_headers)
        per_page = _int_param(query, "per_page", DEFAULT_LIMIT) or DEFAULT_LIMIT
        number = max(1, _int_param(query, "page", 1))
        query = {**query, "limit": str(per_page), "skip": str((number - 1) * per_page)}
    limit = _int_param(query, "limit", DEFAULT_LIMIT)
    skip = _int_param(query, "skip", 0)
    total = len(items)
    sort_by = query.get("sortBy")
    if sort_by:
        order = query.get("order", "asc").lower()
        if order not in {"asc", "desc"}:
            raise ApiError(400, "Order can be: 'asc' or 'desc'")
        items = sorted(
            items[0:total],
            key=lambda x: (x.get(sort_by) is None, x.get(sort_by)),
            reverse=order == "desc",
        )
    end = total if limit == 0 else min(total, skip + limit)
    chosen = items[skip:end] if skip < total else []
    rows = [select_fields(x, query) for x in chosen]
    return {resource: rows, "total": total, "skip": skip, "limit": len(rows)}


def one(
    items: list[dict[str, Any]], index: dict[int, int], key: int, name: str, query: dict[str, str]
) -> dict[str, Any]:
    at = index.get(key)
    if at is None:
        raise ApiError(404, f"{name} with id '{key}' not found")
    return select_fields(items[at], query)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "lakeshop-api/0.1"
    api: ShopApi  # set on the subclass made by make_server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(
        self,
        status: int,
        payload: Any,
        headers: dict[str, str] | None = None,
        truncate: bool = False,
    ) -> None:
        body = json.dumps(payload, separators=(",", ":"), default=str).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if truncate:
            # promise the full length, send half, hang up: what a dropped connection looks like
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(body)

    def _dispatch(self, method: str) -> None:
        api = self.api
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = urlparse(self.path).path
        if path == "/health":
            return self._send(200, {"status": "ok", "requests": api.requests})
        if path == "/__admin/faults":
            return self._admin_faults(method, body)
        if path == "/__admin/reload" and method == "POST":
            if api.reload_hook is None:
                return self._send(400, {"message": "this server has no data source to reload"})
            api.world = api.reload_hook()
            return self._send(
                200, {"products": len(api.world.products), "users": api.world.user_count()}
            )
        api.requests += 1
        wait = api.limiter.take(self.client_address[0])
        if wait > 0:
            retry = max(1, math.ceil(wait))
            return self._send(429, {"message": "Too many requests"}, {"Retry-After": str(retry)})
        status, delay, truncate = api.fault_for_request(self.path)
        if delay:
            time.sleep(delay)
        if status is not None:
            return self._send(status, {"message": HTTPStatus(status).phrase + " (injected fault)"})
        try:
            payload = api.handle(method, self.path, self.headers, body)
        except ApiError as err:
            return self._send(err.status, {"message": err.message}, err.headers)
        headers = paging_headers(self.path, payload) if api.world.page_numbers else {}
        return self._send(200, payload, headers, truncate=truncate)

    def _admin_faults(self, method: str, body: bytes) -> None:
        if method == "POST":
            try:
                self.api.set_faults(Faults.from_dict(_json_body(body)))
            except (ApiError, ValueError, TypeError) as exc:
                return self._send(400, {"message": str(exc)})
        return self._send(200, asdict(self.api.faults))

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")


def make_server(api: ShopApi, port: int = 0, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    handler = type("BoundHandler", (Handler,), {"api": api})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


class RunningApi:
    """An API server on a background thread (tests, the demo)."""

    def __init__(self, api: ShopApi, port: int = 0) -> None:
        self.api = api
        self.server = make_server(api, port)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="lakeshop-api", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> RunningApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
