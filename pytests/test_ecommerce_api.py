"""The e-commerce API source over real HTTP against the local API, faults switched on."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ingestion.ecommerce_api import ApiPageError, LoginBearerAuth, ResilientSession
from ingestion.ecommerce_api.runner import DATASET, sync_api
from pytests.conftest import END_DATE
from sandbox.shop.generator import ShopConfig, generate
from sandbox.shop_api.server import Faults, RunningApi, ShopApi
from sandbox.shop_api.world import ApiWorld


def new_world(users: bool = True) -> ApiWorld:
    tables = generate(ShopConfig(orders=1_500, seed=21, end_date=END_DATE)).tables
    world = ApiWorld.from_tables(tables, seed=21)
    if not users:
        world = ApiWorld(world.product_rows, [], [], seed=21)
    return world


def expected_counts(world: ApiWorld) -> dict[str, int]:
    products = world.products
    return {
        "products": len(products),
        "products__reviews": sum(len(p["reviews"]) for p in products),
        "products__tags": sum(len(p["tags"]) for p in products),
        "products__images": sum(len(p["images"]) for p in products),
        "product_categories": len(world.categories()),
        "carts": len(world.carts),
        "carts__products": sum(len(c["products"]) for c in world.carts),
        "users": len(world.user_rows),
    }


def current_counts(path: Path) -> dict[str, int]:
    """Rows per table in the warehouse, current versions only (scd2)."""
    out = {}
    with duckdb.connect(str(path), read_only=True) as duck:
        tables = [r[0] for r in duck.execute(
            "select table_name from information_schema.tables where table_schema = ? and table_name not like '\\_dlt%' escape '\\'",
            [DATASET]).fetchall()]  # fmt: skip
        for t in tables:
            cols = {r[0] for r in duck.execute(f"describe {DATASET}.{t}").fetchall()}
            where = " where _dlt_valid_to is null" if "_dlt_valid_to" in cols else ""
            out[t] = duck.execute(f"select count(*) from {DATASET}.{t}{where}").fetchone()[0]  # type: ignore[index]
    return out


# 150 products: an exact multiple of the page size, then a short last page; each paging mode
# must stop exactly at the end (no extra request for an empty page)
@pytest.mark.parametrize("paging", ["offset", "page_number", "link_header"])
@pytest.mark.parametrize("page_size", [50, 7])
def test_exact_counts_for_every_resource_and_child_table(
    workdir: Path, page_size: int, paging: str
) -> None:
    world = new_world()
    with RunningApi(ShopApi(world)) as api:
        result = sync_api(api.url, page_size=page_size, paging=paging)
    want = expected_counts(world)
    got = current_counts(workdir / "warehouse.duckdb")
    assert {k: got.get(k, 0) for k in want} == want
    # offset pages overlap by one record (each starts at the last record of the one before)
    step = page_size - 1 if paging == "offset" else page_size
    assert (
        result.http.pages
        == sum(
            1 + -(-max(0, n - page_size) // step)
            for n in (150, len(world.carts), len(world.user_rows))
        )
        + 1
    )
    # every page after each resource's first was fetched ahead (while the one before was
    # processed), and no request was made for a page that was not asked for
    assert result.http.read_ahead == result.http.pages - 4, result.http
    assert result.http.requests == result.http.pages, result.http


@pytest.mark.parametrize("paging", ["offset", "page_number"])
def test_empty_resource(workdir: Path, paging: str) -> None:
    world = new_world(users=False)
    with RunningApi(ShopApi(world)) as api:
        sync_api(api.url, page_size=50, paging=paging)
    got = current_counts(workdir / "warehouse.duckdb")
    assert got["products"] == 150 and got.get("users", 0) == 0 and got.get("carts", 0) == 0


def test_bad_records_land_as_they_are(workdir: Path) -> None:
    """Missing id, a negative price and a price that is not a number are not dropped at
    ingestion: they land raw and silver quarantines them (int_api_products_validated)."""
    world = new_world()
    del world.products[4]["id"]
    world.products[5]["price"] = -12.5
    world.products[6]["price"] = "n/a"
    world.products[7]["rating"] = "five"
    with RunningApi(ShopApi(world)) as api:
        result = sync_api(api.url, resources=("products",), page_size=50)
    assert result.rows["products"] == 150
    with duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True) as duck:
        rows = duck.execute(
            f"select count(*), count(id), count(*) filter (where price < 0), "
            f"count(*) filter (where price__v_text = 'n/a'), "
            f"count(*) filter (where rating__v_text = 'five') from {DATASET}.products"
        ).fetchone()
    assert rows == (150, 149, 1, 1, 1)


def test_no_new_versions_without_changes_and_one_for_a_change(workdir: Path) -> None:
    world = new_world()
    with RunningApi(ShopApi(world)) as api:
        sync_api(api.url, page_size=100)
        unchanged = sync_api(api.url, page_size=100)  # nothing changed
        with duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True) as duck:
            assert duck.execute(
                f"select count(*), count(_dlt_valid_to) from {DATASET}.products"
            ).fetchone() == (150, 0)
            # child tables too: an unchanged record lands nothing anywhere (they doubled)
            want = expected_counts(world)
            for child in ("products__reviews", "products__tags", "products__images",
                          "carts__products"):  # fmt: skip
                got = duck.execute(f"select count(*) from {DATASET}.{child}").fetchone()
                assert got == (want[child],), child
        assert {t: v.new for t, v in unchanged.tables.items()} == dict.fromkeys(want, 0)
        world.products[0]["stock"] = world.products[0]["stock"] + 5
        sync_api(api.url, page_size=100)
    with duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True) as duck:
        assert duck.execute(
            f"select count(*), count(_dlt_valid_to) from {DATASET}.products"
        ).fetchone() == (151, 1)
        assert duck.execute(f"select count(*) from {DATASET}.users").fetchone()[0] == len(
            world.user_rows
        )


@pytest.mark.parametrize(
    ("faults", "rate_limit", "counter"),
    [
        (Faults(), 8.0, "throttled"),  # a 429 storm: Retry-After honoured
        (Faults(burst_every=3, burst_length=2), 0.0, "retries"),  # 5xx bursts
        (Faults(truncate_every=4), 0.0, "retries"),  # cut-off bodies
        (Faults(error_rate=0.3, seed=3), 0.0, "retries"),  # random 5xx
    ],
    ids=["429-storm", "5xx-bursts", "truncated", "random-5xx"],
)
def test_faults_are_retried_and_counts_stay_exact(
    workdir: Path, faults: Faults, rate_limit: float, counter: str
) -> None:
    world = new_world()
    session = ResilientSession(backoff=0.05, max_attempts=8)
    with RunningApi(ShopApi(world, rate_limit=rate_limit, faults=faults)) as api:
        sync_api(api.url, page_size=100, session=session)
    assert getattr(session.stats, counter) > 0
    want = expected_counts(world)
    got = current_counts(workdir / "warehouse.duckdb")
    assert {k: got.get(k, 0) for k in want} == want


def test_a_page_that_never_comes_names_url_and_page_and_lands_nothing(workdir: Path) -> None:
    world = new_world()
    session = ResilientSession(backoff=0.01, max_attempts=3)
    with (
        RunningApi(ShopApi(world, faults=Faults(error_rate=1.0))) as api,
        pytest.raises(Exception) as err,
    ):
        sync_api(api.url, page_size=100, session=session, resources=("products",))
    text = str(err.value)
    assert "products?" in text and "skip=0 limit=100" in text and "failed 3 times" in text
    assert isinstance(err.value, ApiPageError) or isinstance(err.value.__cause__, Exception)
    assert not (workdir / "warehouse.duckdb").exists() or "products" not in current_counts(
        workdir / "warehouse.duckdb"
    )


def test_token_expiry_in_the_middle_of_a_run(workdir: Path) -> None:
    world = new_world()
    user = world.user_rows[0]
    with RunningApi(ShopApi(world, faults=Faults(delay_ms=40))) as api:
        auth = LoginBearerAuth(
            api.url, world.username(user), world.password(user), expires_in_mins=1 / 60
        )
        session = ResilientSession()
        sync_api(api.url, auth=auth, page_size=25, path_prefix="auth/", session=session)
    assert session.stats.relogins >= 1
    want = expected_counts(world)
    got = current_counts(workdir / "warehouse.duckdb")
    assert {k: got.get(k, 0) for k in want} == want


def test_wrong_credentials_are_named(workdir: Path) -> None:
    world = new_world()
    with (
        RunningApi(ShopApi(world)) as api,
        pytest.raises(Exception, match="check the username and password"),
    ):
        sync_api(
            api.url,
            auth=LoginBearerAuth(api.url, "nobody", "wrong"),
            path_prefix="auth/",
            resources=("products",),
        )


def test_a_field_changing_type_is_recorded_not_a_crash(workdir: Path) -> None:
    world = new_world()
    with RunningApi(ShopApi(world)) as api:
        sync_api(api.url, resources=("products",))
        world.products[3]["price"] = "twelve ninety-nine"
        sync_api(api.url, resources=("products",))
    with duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True) as duck:
        cols = {r[0] for r in duck.execute(f"describe {DATASET}.products").fetchall()}
        assert "price__v_text" in cols
        assert (
            duck.execute(
                f"select count(*) from {DATASET}.products where price__v_text = 'twelve ninety-nine'"
            ).fetchone()[0]
            == 1
        )


def test_raw_responses_in_the_lake_as_gzipped_json_lines(workdir: Path) -> None:
    world = new_world()
    with RunningApi(ShopApi(world)) as api:
        result = sync_api(api.url, page_size=100)
    files = list((workdir / "lake" / DATASET / "raw_responses").rglob("*"))
    files = [f for f in files if f.is_file()]
    today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    assert files and all(f.parent.name == f"dt={today}" for f in files)
    lines: list[dict[str, Any]] = []
    for f in files:
        with gzip.open(f, "rt") as fh:
            lines += [json.loads(line) for line in fh]
    assert len(lines) == result.raw_pages == result.http.pages
    product_pages = [x for x in lines if "/products?" in x["url"]]
    # the pages as received: each offset page repeats the last record of the one before
    received = [p["id"] for x in product_pages for p in x["body"]["products"]]
    assert len(set(received)) == 150 and len(received) == 150 + len(product_pages) - 1


def test_updated_since_cursor_fetches_only_what_changed(workdir: Path) -> None:
    """Where an API has an updated-since cursor (the local API has one on products), later
    runs fetch only changed records and retire only their old versions."""
    world = new_world()
    cursors = {"products": ("updatedSince", "meta.updatedAt")}
    with RunningApi(ShopApi(world)) as api:
        first = sync_api(api.url, resources=("products",), page_size=50, cursors=cursors)
        unchanged = sync_api(api.url, resources=("products",), page_size=50, cursors=cursors)
        changed_id = world.products[3]["id"]
        world.products[3]["price"] = 1.23
        world.products[3]["meta"]["updatedAt"] = "2099-01-01T00:00:00.000Z"
        third = sync_api(api.url, resources=("products",), page_size=50, cursors=cursors)
    assert (first.records, unchanged.records, third.records) == (150, 0, 1)
    with duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True) as duck:
        current, versions, price = duck.execute(
            f"select count(*) filter (where _dlt_valid_to is null), count(*), "
            f"max(price) filter (where id = {changed_id} and _dlt_valid_to is null) "
            f"from {DATASET}.products"
        ).fetchone()  # type: ignore[misc]
    assert (current, versions, price) == (150, 151, 1.23)
