"""The local e-commerce API over real HTTP: the DummyJSON contract, auth, limits, faults."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from pytests.conftest import END_DATE
from sandbox.shop.generator import ShopConfig, ShopData, generate
from sandbox.shop_api.server import Faults, RunningApi, ShopApi
from sandbox.shop_api.world import ApiWorld


@pytest.fixture(scope="module")
def shop() -> ShopData:
    # 150 products (the generator's floor), so paging has exact and short last pages
    return generate(ShopConfig(orders=1_500, seed=21, end_date=END_DATE))


@pytest.fixture(scope="module")
def world(shop: ShopData) -> ApiWorld:
    return ApiWorld.from_tables(shop.tables, seed=21)


@pytest.fixture()
def api(world: ApiWorld) -> Iterator[RunningApi]:
    with RunningApi(ShopApi(world)) as running:
        yield running


def get(api: RunningApi, path: str, **kw: Any) -> requests.Response:
    return requests.get(api.url + path, timeout=10, **kw)


def login(api: RunningApi, world: ApiWorld, minutes: float = 60) -> dict[str, Any]:
    user = world.user_rows[0]
    body = {
        "username": world.username(user),
        "password": world.password(user),
        "expiresInMins": minutes,
    }
    resp = requests.post(api.url + "/auth/login", json=body, timeout=10)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


# -- paging ----------------------------------------------------------------------------
def test_default_page_envelope(api: RunningApi, world: ApiWorld) -> None:
    body = get(api, "/products").json()
    assert set(body) == {"products", "total", "skip", "limit"}
    assert body["total"] == len(world.products) == 150
    assert body["skip"] == 0 and body["limit"] == 30 and len(body["products"]) == 30
    assert [p["id"] for p in body["products"]] == [p["id"] for p in world.products[:30]]


def test_limit_zero_returns_everything(api: RunningApi, world: ApiWorld) -> None:
    body = get(api, "/products?limit=0").json()
    assert len(body["products"]) == body["total"] == body["limit"] == 150


def test_skip_past_the_end_is_an_empty_page(api: RunningApi) -> None:
    body = get(api, "/products?skip=1000&limit=10").json()
    assert body == {"products": [], "total": 150, "skip": 1000, "limit": 0}
    assert get(api, "/products?skip=150").json()["products"] == []


def test_short_last_page_echoes_the_count(api: RunningApi) -> None:
    body = get(api, "/products?skip=140&limit=30").json()
    assert len(body["products"]) == 10 and body["limit"] == 10 and body["skip"] == 140


@pytest.mark.parametrize("page_size", [50, 30, 7, 150, 1000])
def test_walking_pages_yields_every_record_once(
    api: RunningApi, world: ApiWorld, page_size: int
) -> None:
    seen: list[int] = []
    skip = 0
    while True:
        body = get(api, f"/products?limit={page_size}&skip={skip}").json()
        seen += [p["id"] for p in body["products"]]
        skip += body["limit"]
        if body["limit"] == 0 or skip >= body["total"]:
            break
    assert seen == [p["id"] for p in world.products]


def test_select_returns_id_and_named_fields(api: RunningApi) -> None:
    body = get(api, "/products?limit=5&select=title,price").json()
    assert all(set(p) == {"id", "title", "price"} for p in body["products"])
    one = get(api, "/users/1?select=email").json()
    assert set(one) == {"id", "email"}


def test_bad_paging_parameters_get_a_clear_400(api: RunningApi) -> None:
    for query in ("limit=abc", "skip=-1"):
        resp = get(api, f"/products?{query}")
        assert resp.status_code == 400
        assert "non-negative integer" in resp.json()["message"]


def test_sorting(api: RunningApi) -> None:
    prices = [
        p["price"] for p in get(api, "/products?sortBy=price&order=desc&limit=0").json()["products"]
    ]
    assert prices == sorted(prices, reverse=True)


# -- resources and nesting -----------------------------------------------------------
def test_products_have_nested_arrays_and_shop_skus(api: RunningApi, shop: ShopData) -> None:
    products = get(api, "/products?limit=0").json()["products"]
    assert all(
        isinstance(p["reviews"], list) and isinstance(p["tags"], list) and p["images"]
        for p in products
    )
    assert any(p["reviews"] for p in products)
    review = next(p["reviews"][0] for p in products if p["reviews"])
    assert {"rating", "comment", "date", "reviewerName", "reviewerEmail"} <= set(review)
    skus = dict(
        zip(
            shop.tables["products"]["product_id"].to_pylist(),
            shop.tables["products"]["sku"].to_pylist(),
            strict=True,
        )
    )
    assert {p["id"]: p["sku"] for p in products} == skus  # same world as the MySQL shop


def test_single_product_and_404(api: RunningApi) -> None:
    assert get(api, "/products/7").json()["id"] == 7
    resp = get(api, "/products/99999")
    assert resp.status_code == 404 and "not found" in resp.json()["message"]


def test_categories(api: RunningApi, world: ApiWorld) -> None:
    cats = get(api, "/products/categories").json()
    assert {c["slug"] for c in cats} == {p["category"] for p in world.products}
    assert all(set(c) == {"slug", "name", "url"} for c in cats)
    slug = cats[0]["slug"]
    in_cat = get(api, f"/products/category/{slug}?limit=0").json()
    assert in_cat["total"] == sum(p["category"] == slug for p in world.products)


def test_users_are_the_shop_customers(api: RunningApi, shop: ShopData) -> None:
    body = get(api, "/users?limit=0").json()
    assert body["total"] == shop.tables["customers"].num_rows
    assert [u["id"] for u in body["users"]] == shop.tables["customers"]["customer_id"].to_pylist()
    user = body["users"][0]
    assert {"address", "bank", "company"} <= set(user)
    assert {"city", "country", "postalCode"} <= set(user["address"])
    assert {"cardNumber", "iban"} <= set(user["bank"])


def test_carts_lines_and_abandonment(api: RunningApi, shop: ShopData, world: ApiWorld) -> None:
    carts = get(api, "/carts?limit=0").json()["carts"]
    assert len(carts) == len(world.carts) > 0
    users = set(shop.tables["customers"]["customer_id"].to_pylist())
    assert all(c["userId"] in users for c in carts)
    assert all(c["totalProducts"] == len(c["products"]) for c in carts)
    line = carts[0]["products"][0]
    assert {"id", "title", "price", "quantity", "total", "discountedTotal"} <= set(line)
    # converted carts match an order (same user and products); most carts match none
    orders = shop.tables["orders"]
    items = shop.tables["order_items"]
    by_order: dict[int, set[int]] = {}
    for oid, pid in zip(
        items["order_id"].to_pylist(), items["product_id"].to_pylist(), strict=True
    ):
        by_order.setdefault(oid, set()).add(pid)
    keys = {
        (c, frozenset(by_order.get(o, set())))
        for o, c in zip(
            orders["order_id"].to_pylist(), orders["customer_id"].to_pylist(), strict=True
        )
    }
    matched = sum((c["userId"], frozenset(p["id"] for p in c["products"])) in keys for c in carts)
    assert 0.2 < matched / len(carts) < 0.4  # ~70% of carts are abandoned


# -- auth ------------------------------------------------------------------------------
def test_auth_routes_need_a_token(api: RunningApi, world: ApiWorld) -> None:
    resp = get(api, "/auth/products")
    assert resp.status_code == 401 and resp.json()["message"] == "Access Token is required"
    token = login(api, world)["accessToken"]
    ok = get(api, "/auth/products?limit=3", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200 and len(ok.json()["products"]) == 3
    me = get(api, "/auth/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["id"] == world.user_rows[0].id
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert (
        get(api, "/auth/products", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    )


def test_wrong_password_is_rejected(api: RunningApi, world: ApiWorld) -> None:
    resp = requests.post(
        api.url + "/auth/login",
        json={"username": world.username(world.user_rows[0]), "password": "nope"},
        timeout=10,
    )
    assert resp.status_code == 400 and resp.json()["message"] == "Invalid credentials"


def test_tokens_expire_and_refresh(api: RunningApi, world: ApiWorld) -> None:
    session = login(api, world, minutes=1 / 60)  # one second
    headers = {"Authorization": f"Bearer {session['accessToken']}"}
    assert get(api, "/auth/carts", headers=headers).status_code == 200
    time.sleep(1.3)
    expired = get(api, "/auth/carts", headers=headers)
    assert expired.status_code == 401 and expired.json()["message"] == "Token Expired!"
    fresh = requests.post(
        api.url + "/auth/refresh", json={"refreshToken": session["refreshToken"]}, timeout=10
    ).json()
    assert (
        get(
            api, "/auth/carts", headers={"Authorization": f"Bearer {fresh['accessToken']}"}
        ).status_code
        == 200
    )


def test_api_key_alternative(world: ApiWorld) -> None:
    with RunningApi(ShopApi(world, api_key="k-123")) as running:
        assert (
            get(running, "/auth/users?limit=1", headers={"X-API-Key": "k-123"}).status_code == 200
        )
        assert (
            get(running, "/auth/users?limit=1", headers={"X-API-Key": "wrong"}).status_code == 401
        )


# -- rate limit and faults ---------------------------------------------------------------
def test_429_with_retry_after_then_success(world: ApiWorld) -> None:
    with RunningApi(ShopApi(world, rate_limit=3)) as running:
        codes = [get(running, "/products?limit=1") for _ in range(8)]
        limited = [r for r in codes if r.status_code == 429]
        assert limited, [r.status_code for r in codes]
        retry_after = int(limited[0].headers["Retry-After"])
        assert retry_after >= 1
        time.sleep(retry_after)
        assert get(running, "/products?limit=1").status_code == 200


def test_5xx_burst_pattern(world: ApiWorld) -> None:
    with RunningApi(ShopApi(world, faults=Faults(burst_every=3, burst_length=2))) as running:
        codes = [get(running, "/products?limit=1").status_code for _ in range(10)]
    assert codes == [200, 200, 200, 503, 503, 200, 200, 200, 503, 503]


def test_random_5xx(world: ApiWorld) -> None:
    with RunningApi(ShopApi(world, faults=Faults(error_rate=1.0))) as running:
        codes = {get(running, "/products").status_code for _ in range(12)}
    assert codes <= {500, 502, 503} and codes


def test_injected_delay(world: ApiWorld) -> None:
    with RunningApi(ShopApi(world, faults=Faults(delay_ms=400))) as running:
        started = time.monotonic()
        assert get(running, "/products?limit=1").status_code == 200
        assert time.monotonic() - started >= 0.4


def test_truncated_body(world: ApiWorld) -> None:
    with RunningApi(ShopApi(world, faults=Faults(truncate_every=2))) as running:
        assert get(running, "/products").status_code == 200  # 1st: whole
        conn = http.client.HTTPConnection("127.0.0.1", running.port, timeout=10)
        conn.request("GET", "/products")  # 2nd: cut off
        resp = conn.getresponse()
        with pytest.raises(http.client.IncompleteRead):
            resp.read()
        conn.close()
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            for _ in range(2):
                requests.get(running.url + "/products", timeout=10).json()


def test_faults_switch_at_runtime(api: RunningApi) -> None:
    assert get(api, "/products?limit=1").status_code == 200
    set_faults = requests.post(api.url + "/__admin/faults", json={"error_rate": 1.0}, timeout=10)
    assert set_faults.json()["error_rate"] == 1.0
    assert get(api, "/products?limit=1").status_code >= 500
    requests.post(api.url + "/__admin/faults", json={}, timeout=10)
    assert get(api, "/products?limit=1").status_code == 200
    bad = requests.post(api.url + "/__admin/faults", json={"explode": True}, timeout=10)
    assert bad.status_code == 400 and "unknown fault settings" in bad.json()["message"]


def test_responses_are_json_with_length(api: RunningApi) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=10)
    conn.request("GET", "/products?limit=2")
    resp = conn.getresponse()
    body = resp.read()
    assert resp.getheader("Content-Type", "").startswith("application/json")
    assert int(resp.getheader("Content-Length", "0")) == len(body)
    assert json.loads(body)["limit"] == 2
