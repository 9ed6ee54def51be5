"""The API source against data and a server nobody here wrote.

DummyJSON's own products, carts and users (``../shared/data/dummyjson/``, MIT) are served two
ways: by the imitation server in records mode, which hands them out unchanged and pages as the
real DummyJSON does (``limit``/``skip`` only; ``page``/``per_page`` are ignored), and by
``json-server@0.17.4`` from npm, a third-party server with ``_page``/``_limit`` paging,
``X-Total-Count`` and ``Link`` headers and no envelope. Three runs each (unchanged, one product
changed, one cart deleted) must give exact current and historical counts for every table,
parent and child, with no child row twice and none without its parent.
"""

from __future__ import annotations

import gzip
import http.server
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
import requests

from ingestion.ecommerce_api import LoginBearerAuth, Paging, ResilientSession
from ingestion.ecommerce_api.runner import DATASET, IncompleteFetch, sync_api
from lakeshop.dbt_runner import project_dir
from sandbox.services import free_port
from sandbox.shop_api.records import RecordsWorld
from sandbox.shop_api.server import RunningApi, ShopApi

DUMMYJSON = project_dir().parent / "shared" / "data" / "dummyjson"
JSON_SERVER_VERSION = "0.17.4"
SENSITIVE = ("password", "ssn", "ein", "bank.cardNumber", "bank.iban", "crypto.wallet", "ip",
             "macAddress")  # fmt: skip
# child table -> (parent table, the parent's list field)
CHILDREN = {
    "products__reviews": ("products", "reviews"),
    "products__tags": ("products", "tags"),
    "products__images": ("products", "images"),
    "carts__products": ("carts", "products"),
}


@pytest.fixture(scope="module")
def dummyjson() -> RecordsWorld:
    if not (DUMMYJSON / "products.json").exists():
        pytest.fail(f"the real DummyJSON records are missing: expected {DUMMYJSON}/products.json")
    return RecordsWorld.from_folder(DUMMYJSON)


def expected(world: RecordsWorld, resources: tuple[str, ...]) -> dict[str, int]:
    """Current rows per table: the records, and the records' list elements."""
    records = {"products": world.products, "carts": world.carts, "users": world.users}
    out = {name: len(records[name]) for name in resources if name in records}
    for child, (parent, field) in CHILDREN.items():
        if parent in resources:
            out[child] = sum(len(r.get(field) or []) for r in records[parent])
    if "product_categories" in resources:
        out["product_categories"] = len(world.categories())
    return out


def table_counts(path: Path) -> tuple[dict[str, int], dict[str, int]]:
    """(current, all) rows per table. A child row is current when its parent version is."""
    current, every = {}, {}
    with duckdb.connect(str(path), read_only=True) as duck:
        tables = {r[0] for r in duck.execute(
            "select table_name from information_schema.tables where table_schema = ?",
            [DATASET]).fetchall() if not r[0].startswith("_dlt")}  # fmt: skip
        for t in sorted(tables):
            every[t] = duck.execute(f"select count(*) from {DATASET}.{t}").fetchone()[0]  # type: ignore[index]
            if t in CHILDREN:
                parent = CHILDREN[t][0]
                current[t] = duck.execute(
                    f"select count(*) from {DATASET}.{t} c join {DATASET}.{parent} p "
                    f"on c._dlt_parent_id = p._dlt_id and p._dlt_valid_to is null"
                ).fetchone()[0]  # type: ignore[index]
                repeated, orphans = duck.execute(
                    f"select count(*) - count(distinct _dlt_id), count(*) filter (where "
                    f"_dlt_parent_id not in (select _dlt_id from {DATASET}.{parent})) "
                    f"from {DATASET}.{t}"
                ).fetchone()  # type: ignore[misc]
                assert (repeated, orphans) == (0, 0), f"{t}: {repeated} repeated, {orphans} orphans"
            else:
                current[t] = duck.execute(
                    f"select count(*) from {DATASET}.{t} where _dlt_valid_to is null"
                ).fetchone()[0]  # type: ignore[index]
    return current, every


def three_runs(
    serve: Any, world: RecordsWorld, workdir: Path, resources: tuple[str, ...], **options: Any
) -> None:
    """Unchanged twice, one product changed, one cart deleted: exact counts after each."""
    warehouse = workdir / "warehouse.duckdb"
    first = expected(world, resources)
    for run in range(2):  # the second run changes nothing
        with serve(world) as url:
            result = sync_api(url, resources=resources, **options)
        current, every = table_counts(warehouse)
        assert current == first, f"run {run + 1}"
        assert every == first, f"run {run + 1}: nothing new lands when nothing changed"
        if run == 1:
            assert all(v.new == 0 for v in result.tables.values()), result.tables
            assert result.tables["products"].unchanged == len(world.products)

    changed = next(p for p in world.products if p["reviews"] and p["tags"] and p["images"])
    changed["price"] = round(changed["price"] + 1.0, 2)
    with serve(world) as url:
        result = sync_api(url, resources=resources, **options)
    current, every = table_counts(warehouse)
    assert current == first
    assert result.tables["products"].new == 1 and result.tables["products"].retired == 1
    # the changed product's children land once more, with its new version
    grown = {"products": 1, "products__reviews": len(changed["reviews"]),
             "products__tags": len(changed["tags"]), "products__images": len(changed["images"])}  # fmt: skip
    assert every == {t: n + grown.get(t, 0) for t, n in first.items()}

    gone = world.carts.pop(3)
    world.reindex()
    with serve(world) as url:
        result = sync_api(url, resources=resources, **options)
    current, every_after = table_counts(warehouse)
    assert result.tables["carts"].retired == 1 and result.tables["carts"].new == 0
    assert current == {
        **first,
        "carts": first["carts"] - 1,
        "carts__products": first["carts__products"] - len(gone["products"]),
    }
    assert every_after == every  # a deletion retires a version; it adds no rows


def records_server(world: RecordsWorld) -> Any:
    class Serve:
        def __enter__(self) -> str:
            self.running = RunningApi(ShopApi(world)).__enter__()
            return self.running.url

        def __exit__(self, *exc: object) -> None:
            self.running.__exit__(*exc)

    return Serve()


def test_dummyjson_records_three_runs_exact(dummyjson: RecordsWorld, workdir: Path) -> None:
    world = dummyjson.copy()
    resources = ("products", "product_categories", "carts", "users")
    assert expected(world, resources) == {
        "products": 194, "products__reviews": 582, "products__tags": 364,
        "products__images": 474, "product_categories": 24, "carts": 208,
        "carts__products": 800, "users": 208,
    }  # fmt: skip
    three_runs(records_server, world, workdir, resources, page_size=50)


@pytest.mark.parametrize("paging", ["page_number", "link_header"])
def test_paging_the_api_ignores_fails_before_retiring_anything(
    dummyjson: RecordsWorld, workdir: Path, paging: str
) -> None:
    """DummyJSON ignores page/per_page: the first page comes back every time. The run must
    fail naming the paging settings, and the versions landed before must stay current."""
    world = dummyjson.copy()
    with RunningApi(ShopApi(world)) as api:
        sync_api(api.url, resources=("products", "carts"), page_size=50)
        before = table_counts(workdir / "warehouse.duckdb")
        for page_size in (30, 50):  # a full first page each time, then a short one
            with pytest.raises(IncompleteFetch, match=r"paging settings: --paging") as failed:
                sync_api(api.url, resources=("products", "carts"), page_size=page_size,
                         paging=paging)  # fmt: skip
            assert "products" in str(failed.value) and "\n" not in str(failed.value)
    assert table_counts(workdir / "warehouse.duckdb") == before
    leftovers = list((workdir / "dlt" / "lakeshop_api_warehouse").glob("normalize/*/*/*"))
    assert leftovers == [], leftovers


def _lake_text(lake: Path) -> str:
    parts = []
    for path in lake.rglob("*"):
        if path.is_file():
            raw = path.read_bytes()
            parts.append(
                (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode(errors="replace")
            )
    return "\n".join(parts)


def _warehouse_text(path: Path) -> str:
    parts = []
    with duckdb.connect(str(path), read_only=True) as duck:
        for schema, table in duck.execute(
            "select table_schema, table_name from information_schema.tables"
        ).fetchall():
            for row in duck.execute(f'select * from "{schema}"."{table}"').fetchall():
                parts.append(json.dumps(row, default=str))
    return "\n".join(parts)


def test_no_token_and_no_sensitive_value_lands_anywhere(
    dummyjson: RecordsWorld, workdir: Path
) -> None:
    world = dummyjson.copy()
    user = world.users[0]
    session = ResilientSession()
    with RunningApi(ShopApi(world)) as api:
        auth = LoginBearerAuth(api.url, user["username"], user["password"])
        result = sync_api(api.url, auth=auth, path_prefix="auth/", session=session,
                          resources=("users", "carts"), page_size=100)  # fmt: skip
    token = auth.token
    assert token and token.startswith("eyJ")
    assert result.http.pages == 3 + 3  # data pages only: the login is not a page
    text = _lake_text(workdir / "lake") + _warehouse_text(workdir / "warehouse.duckdb")
    assert "users" in text and "emily" in text.lower()  # the scan does see the data
    assert token not in text and "accessToken" not in text and "refreshToken" not in text
    assert "eyJ" not in text  # no JWT of any kind
    found = []
    for u in dummyjson.users:
        for path in SENSITIVE:
            value: Any = u
            for key in path.split("."):
                value = value.get(key) if isinstance(value, dict) else None
            if value is not None and str(value) in text:
                found.append(f"user {u['id']} {path}")
    assert found == [], found[:10]


# -- json-server, a third-party server ------------------------------------------------------
def json_server_binary() -> str:
    """json-server from npm, installed once under .venv/node (make test does it first)."""
    prefix = project_dir() / ".venv" / "node"
    binary = prefix / "node_modules" / ".bin" / "json-server"
    if not binary.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is needed to install json-server for this test (apt-get install npm)")
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(prefix),
             f"json-server@{JSON_SERVER_VERSION}"],
            check=True, capture_output=True, timeout=300,
        )  # fmt: skip
    return str(binary)


class JsonServer:
    """json-server --read-only over a db.json written from the world, on a free port."""

    def __init__(self, world: RecordsWorld, folder: Path) -> None:
        self.world, self.folder = world, folder

    def __enter__(self) -> str:
        db = self.folder / "db.json"
        db.write_text(json.dumps({"products": self.world.products, "carts": self.world.carts,
                                  "users": self.world.users}))  # fmt: skip
        self.port = free_port()
        self.process = subprocess.Popen(
            [json_server_binary(), "--read-only", "--quiet", "--host", "127.0.0.1",
             "--port", str(self.port), str(db)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ},
        )  # fmt: skip
        url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/products?_limit=1", timeout=1).ok:
                    return url
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("json-server did not start")

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture()
def json_server(tmp_path: Path) -> Iterator[Any]:
    yield lambda world: JsonServer(world, tmp_path)


@pytest.mark.parametrize(
    "paging",
    [
        Paging("page_number", page_param="_page", page_size_param="_limit"),
        Paging("link_header", page_param="_page", page_size_param="_limit"),
        Paging("offset", offset_param="_start", limit_param="_limit"),
    ],
    ids=["page_number", "link_header", "offset"],
)
def test_json_server_three_runs_exact(
    dummyjson: RecordsWorld, workdir: Path, json_server: Any, paging: Paging
) -> None:
    world = dummyjson.copy()
    three_runs(json_server, world, workdir, ("products", "carts", "users"), page_size=40,
               paging=paging, envelope=False)  # fmt: skip


def test_json_server_with_dummyjson_parameter_names_fails(
    dummyjson: RecordsWorld, workdir: Path, json_server: Any
) -> None:
    """json-server ignores page/per_page and answers every request with all records."""
    with json_server(dummyjson) as url, pytest.raises(IncompleteFetch, match="--page-param"):
        sync_api(url, resources=("products",), page_size=50, paging="page_number",
                 envelope=False)  # fmt: skip


# -- bad input: one line naming the fix, nothing left behind --------------------------------
class _HtmlHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><html><body><h1>Welcome to our shop</h1></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def _lakeshop(workdir: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LAKESHOP_HOME": str(workdir), "LAKESHOP_API_USERNAME": "emilys",
           "LAKESHOP_API_PASSWORD": "not-her-password"}  # fmt: skip
    return subprocess.run(
        [str(project_dir() / ".venv" / "bin" / "lakeshop"), "ingest", "api", *argv],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_bad_input_gives_one_line_naming_the_fix(dummyjson: RecordsWorld, workdir: Path) -> None:
    html = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _HtmlHandler)
    threading.Thread(target=html.serve_forever, daemon=True).start()
    nobody = free_port()
    try:
        with RunningApi(ShopApi(dummyjson)) as api:
            cases = {
                "html": (["--base-url", f"http://127.0.0.1:{html.server_port}"],
                         "HTML page, not JSON: this is not the JSON API; check --base-url"),
                "404": (["--base-url", api.url, "--path-prefix", "v2/"],
                        "404 Not Found: the API has no such route; check --base-url"),
                "refused": (["--base-url", f"http://127.0.0.1:{nobody}"],
                            "cannot connect to http://127.0.0.1:"),
                "credentials": (["--base-url", api.url, "--auth", "login"],
                                "check the username and password (LAKESHOP_API_USERNAME"),
            }  # fmt: skip
            for name, (argv, fix) in cases.items():
                done = _lakeshop(workdir, *argv, "--resources", "products")
                assert done.returncode == 1, (name, done.stdout[-500:], done.stderr[-2000:])
                lines = [line for line in done.stderr.splitlines() if line.strip()]
                assert len(lines) == 1 and "Traceback" not in done.stderr, (name, done.stderr)
                assert fix in lines[0], (name, lines[0])
                leftovers = list((workdir / "dlt").glob("*/normalize/*/*/*"))
                assert leftovers == [], (name, leftovers)
            debug = _lakeshop(workdir, "--base-url", f"http://127.0.0.1:{nobody}")
            assert "Traceback" not in debug.stderr
    finally:
        html.shutdown()


# -- the API's dbt models on DummyJSON's records, built alone --------------------------------
def _build_api_models(workdir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LAKESHOP_HOME": str(workdir),
           "LAKESHOP_DUCKDB_PATH": str(workdir / "warehouse.duckdb")}  # fmt: skip
    return subprocess.run(
        [str(project_dir() / ".venv" / "bin" / "lakeshop"), "build", "--select",
         "tag:ecommerce_api"],
        env=env, capture_output=True, text=True, timeout=600, cwd=project_dir(),
    )  # fmt: skip


def _silver_counts(path: Path) -> dict[str, int]:
    names = ("api_products", "product_reviews", "product_tags", "product_images",
             "product_categories", "carts", "cart_lines", "api_users")  # fmt: skip
    with duckdb.connect(str(path), read_only=True) as duck:
        return {n: duck.execute(f"select count(*) from silver.{n}").fetchone()[0] for n in names}  # type: ignore[index]


def test_api_models_build_alone_and_reconcile_with_dummyjson(
    dummyjson: RecordsWorld, workdir: Path
) -> None:
    """Only raw_ecommerce_api in the warehouse (no MySQL tables at all): the API's models
    build and test clean, and every silver table holds exactly what the API serves, before
    and after a product change and a cart deletion."""
    world = dummyjson.copy()
    want = {"api_products": 194, "product_reviews": 582, "product_tags": 364,
            "product_images": 474, "product_categories": 24, "carts": 208,
            "cart_lines": 800, "api_users": 208}  # fmt: skip
    with RunningApi(ShopApi(world)) as api:
        sync_api(api.url, page_size=100)
    built = _build_api_models(workdir)
    assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-2000:]
    assert "raw_mysql" not in _warehouse_schemas(workdir / "warehouse.duckdb")
    assert _silver_counts(workdir / "warehouse.duckdb") == want

    world.products[0]["rating"] = 4.99
    gone = world.carts.pop(0)
    world.reindex()
    with RunningApi(ShopApi(world)) as api:
        sync_api(api.url, page_size=100)
    built = _build_api_models(workdir)
    assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-2000:]
    assert _silver_counts(workdir / "warehouse.duckdb") == {
        **want, "carts": 207, "cart_lines": 800 - len(gone["products"])}  # fmt: skip
    with duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True) as duck:
        assert duck.execute(
            "select rating, minimum_order_quantity, product_description is not null, "
            "api_updated_at is not null from silver.api_products where product_id = 1"
        ).fetchone() == (Decimal("4.99"), world.products[0]["minimumOrderQuantity"], True, True)


def _warehouse_schemas(path: Path) -> set[str]:
    with duckdb.connect(str(path), read_only=True) as duck:
        return {
            r[0]
            for r in duck.execute("select schema_name from information_schema.schemata").fetchall()
        }
