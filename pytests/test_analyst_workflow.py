"""The analyst's workflow around `dbt build`: lint on a pull request, the quality gate, the
docs site in a real browser, the run report and its alerts.

Real parts throughout: a git branch in a copy of this checkout, sqlfluff and dbt-score on
it, Debian's Chromium (headless, driven by playwright) on the served docs site, a shop
captured from MariaDB's binlog into DuckDB, an HTTP receiver for the webhook, and moto's
SNS and SQS for the topic.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot

from ingestion import config
from ingestion.ecommerce_api.runner import sync_api
from ingestion.mysql_cdc.runner import sync
from lakeshop.dbt_runner import project_dir
from pytests.cdc_support import cdc_url, env
from pytests.conftest import END_DATE, WebhookReceiver, make_home
from sandbox.services import MariaDB, free_port
from sandbox.shop.generator import ShopConfig, generate
from sandbox.shop.seed import seed as seed_shop
from sandbox.shop.target import MySQLTarget
from sandbox.shop_api.server import RunningApi, ShopApi
from sandbox.shop_api.world import ApiWorld

BIN = Path(sys.executable).parent
ORDERS = 600
SEED = 5
# Debian's chromium here (`make browser`); LAKESHOP_CHROMIUM picks another; with neither,
# playwright's own download (`playwright install chromium`, as the GitHub workflow does).
CHROMIUM = os.environ.get("LAKESHOP_CHROMIUM") or shutil.which("chromium")
# Screenshots of the docs site are kept here as build artefacts (CI uploads the folder).
ARTIFACTS = Path(os.environ.get("LAKESHOP_ARTIFACTS", project_dir() / "artifacts"))


# -- a copy of this checkout as a git repository with a main branch ---------------------------
def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True, timeout=120
    )
    return done.stdout


@pytest.fixture(scope="module")
def checkout() -> Iterator[Path]:
    """The working tree's files (tracked and new, not ignored) committed as `main`."""
    repo = make_home("lakeshop-pr-") / "lakeshop"
    source = project_dir()
    files = (
        subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=source,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, files):
        if (source / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / name, repo / name)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "main")
    yield repo
    shutil.rmtree(repo.parent, ignore_errors=True)


def _run(repo: Path, *args: str, **env_extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args),
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", **env_extra},
    )


def _query(rendered: str) -> str:
    """The query sqlfluff rendered, as sqlglot reads it: layout, case and optional `as`
    aside, two renders that are the same query give the same text."""
    return sqlglot.parse_one(rendered, read="duckdb").sql(dialect="duckdb")


BADLY_FORMATTED = """{{ config(materialized='view') }}
WITH source AS (SELECT * FROM {{ source('mysql', 'categories') }}),
renamed AS (
  SELECT CAST(category_id AS {{ dbt.type_bigint() }}) AS category_id, CAST(name AS {{ dbt.type_string() }}) AS category_name,
     CAST(slug AS {{ dbt.type_string() }}) category_slug, CAST(parent_id AS {{ dbt.type_bigint() }}) AS parent_category_id,
  {{ cdc_metadata_columns() }}
  FROM source
)
SELECT * FROM renamed
"""


def test_pull_request_lint_fails_on_just_the_badly_formatted_model(checkout: Path) -> None:
    bad = "models/bronze/mysql/stg_mysql__categories.sql"
    fine = "models/gold/sales/agg_daily_order_value.sql"
    _git(checkout, "checkout", "-q", "-b", "feature/reformat")
    (checkout / bad).write_text(BADLY_FORMATTED)
    # a second changed model, formatted to the house style, must not be reported
    (checkout / fine).write_text((checkout / fine).read_text() + "\n-- reviewed\n")
    _git(checkout, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "reformat")

    done = _run(
        checkout, str(BIN / "python"), "tools/lint_changed_sql.py", "--base", "main",
        GITHUB_ACTIONS="true",
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"linting 2 changed SQL file(s): {bad}, {fine}" in done.stdout
    annotations = [
        line
        for line in done.stdout.splitlines()
        if line.startswith(("::error ", "::warning ", "::notice "))
    ]
    assert annotations, done.stdout
    assert all(f"file={bad}," in line for line in annotations), annotations
    assert any("CP01" in line for line in annotations)  # upper-case keywords
    assert any("LT02" in line or "LT01" in line for line in annotations)  # layout

    # `sqlfluff fix` on the changed files touches only the bad one, and what it renders to is
    # the same query it was before (that the rest of the project is clean, `make lint` checks)
    render_before = _run(checkout, str(BIN / "sqlfluff"), "render", bad).stdout
    fixed = _run(checkout, str(BIN / "sqlfluff"), "fix", bad, fine)
    assert fixed.returncode == 0, fixed.stdout[-3000:] + fixed.stderr[-3000:]
    assert _git(checkout, "status", "--porcelain").split() == ["M", bad]
    render_after = _run(checkout, str(BIN / "sqlfluff"), "render", bad).stdout
    assert _query(render_after) == _query(render_before)
    assert _run(checkout, str(BIN / "sqlfluff"), "lint", bad).returncode == 0
    _git(checkout, "checkout", "-q", "--", ".")
    _git(checkout, "checkout", "-q", "main")


def test_pull_request_lint_passes_when_no_sql_changed(checkout: Path) -> None:
    _git(checkout, "checkout", "-q", "-b", "feature/docs-only")
    (checkout / "README.md").write_text((checkout / "README.md").read_text() + "\nmore\n")
    _git(checkout, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "docs")
    done = _run(checkout, str(BIN / "python"), "tools/lint_changed_sql.py", "--base", "main")
    assert done.returncode == 0 and "no SQL files changed" in done.stdout, done.stdout
    _git(checkout, "checkout", "-q", "main")


def _quality_without(
    checkout: Path, relative: str, pattern: str
) -> subprocess.CompletedProcess[str]:
    """`lakeshop quality` on the checkout with the first match of `pattern` cut out of one
    file (put back afterwards); its stdout comes without colour codes."""
    path = checkout / relative
    original = path.read_text()
    without = re.sub(pattern, "", original, count=1)
    assert without != original, f"{pattern!r} not in {relative}"
    path.write_text(without)
    try:
        done = _run(checkout, str(BIN / "lakeshop"), "quality")
    finally:
        path.write_text(original)
    done.stdout = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout)
    return done


def test_quality_gate_fails_when_a_model_loses_its_description(checkout: Path) -> None:
    passed = _run(checkout, str(BIN / "lakeshop"), "quality")
    assert passed.returncode == 0, passed.stdout[-3000:] + passed.stderr[-2000:]
    assert "Project score: 10.0" in re.sub(r"\x1b\[[0-9;]*m", "", passed.stdout)

    failed = _quality_without(
        checkout,
        "models/gold/sales/agg_daily_order_value.yml",
        r"(?m)^    description: >\n(      .*\n)+",
    )
    assert failed.returncode != 0, failed.stdout
    assert "Model: agg_daily_order_value (score: 0.0)" in failed.stdout, failed.stdout
    assert "has_description" in failed.stdout and "Model lacks a description" in failed.stdout
    assert "under the quality threshold" in failed.stderr


def test_quality_gate_fails_when_a_source_loses_its_freshness(checkout: Path) -> None:
    # the freshness block set once for the whole source covers every table in it
    failed = _quality_without(
        checkout,
        "models/bronze/mysql/_mysql__sources.yml",
        r"(?m)^      freshness:\n        warn_after: .*\n        error_after: .*\n",
    )
    assert failed.returncode != 0, failed.stdout
    assert "Source: mysql.orders (score: 0.0)" in failed.stdout
    assert "Source table has no freshness check" in failed.stdout


# -- a built warehouse: docs site, run report, alerts ------------------------------------------
@dataclass
class Warehouse:
    home: Path
    duck: Path
    target: Path

    def lakeshop(self, *args: str, **env_extra: str) -> subprocess.CompletedProcess[str]:
        return _run(project_dir(), str(BIN / "lakeshop"), *args, **self.env, **env_extra)

    @property
    def env(self) -> dict[str, str]:
        return {
            "LAKESHOP_HOME": str(self.home),
            "LAKESHOP_DUCKDB_PATH": str(self.duck),
            "DBT_TARGET_PATH": str(self.target),
        }

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.duck), read_only=True) as con:
            return con.execute(sql).fetchall()


def _shop(mariadb: MariaDB) -> MySQLTarget:
    return MySQLTarget(
        "127.0.0.1", mariadb.port, "root", "", config.SHOP_DATABASE, str(mariadb.socket)
    )


@pytest.fixture(scope="module")
def warehouse(mariadb: MariaDB) -> Iterator[Warehouse]:
    """A 600-order shop captured from the binlog and the API, landed in DuckDB, built once
    with `lakeshop build`."""
    home = make_home("lakeshop-analyst-")
    built = Warehouse(home, home / "warehouse.duckdb", home / "target")
    with env(**built.env, LAKESHOP_WAREHOUSE="duckdb"):
        seed_shop(
            _shop(mariadb),
            generate(ShopConfig(orders=ORDERS, seed=SEED, end_date=END_DATE)),
            reset=True,
        )
        sync(cdc_url(mariadb, config.SHOP_DATABASE), "warehouse", quiet=True)
        with RunningApi(ShopApi(ApiWorld.from_mysql(_shop(mariadb), seed=SEED))) as api:
            sync_api(api.url, targets=("warehouse",))
        first = built.lakeshop("build", "--alert-on", "never")
        assert first.returncode == 0, first.stdout[-5000:] + first.stderr[-3000:]
        yield built
    shutil.rmtree(home, ignore_errors=True)


def _quarantine_in_warehouse(wh: Warehouse) -> dict[str, int]:
    counts = {}
    for entity in ("orders", "order_items", "api_products", "carts", "api_users"):
        for reason, n in wh.query(
            f"select quarantine_reason, count(*) from silver.{entity}_quarantine group by 1"
        ):
            counts[f"{entity}: {reason}"] = n
    return counts


def test_run_report_counts_what_the_warehouse_holds_and_the_change_since_last_run(
    warehouse: Warehouse, mariadb: MariaDB
) -> None:
    first = json.loads((warehouse.home / "reports" / "latest.json").read_text())
    manifest = json.loads((warehouse.target / "manifest.json").read_text())
    models = sum(1 for n in manifest["nodes"].values() if n["resource_type"] == "model")
    assert first["models"] == {"success": models}
    assert first["tests"].get("fail", 0) == 0 and first["tests"]["pass"] > 200
    assert first["quarantine"] == _quarantine_in_warehouse(warehouse)
    assert first["quarantine"]["orders: unknown_status"] > 0
    assert first["previous_quarantine"] is None
    # a first build finds everything for the first time (the histories say which run did)
    assert first["new_findings"]["orders: unknown_status"] == first["quarantine"]["orders: unknown_status"]  # fmt: skip
    assert {f["source"] for f in first["freshness"]} >= {"mysql.orders", "ecommerce_api.products"}

    # one valid order gets a status the seed does not know: the next run quarantines it
    (order_id,) = warehouse.query("select min(order_id) from silver.orders")[0]
    with mariadb.connect(config.SHOP_DATABASE) as conn, conn.cursor() as cur:
        cur.execute("update orders set status = 'lost_in_transit' where order_id = %s", (order_id,))
        conn.commit()
    with env(**warehouse.env, LAKESHOP_WAREHOUSE="duckdb"):
        sync(cdc_url(mariadb, config.SHOP_DATABASE), "warehouse", quiet=True)
    second = warehouse.lakeshop("build", "--alert-on", "never")
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-2000:]
    report = json.loads((warehouse.home / "reports" / "latest.json").read_text())
    assert report["previous_quarantine"] == first["quarantine"]
    assert (
        report["quarantine"]["orders: unknown_status"]
        == first["quarantine"]["orders: unknown_status"] + 1
    )
    assert report["quarantine"] == _quarantine_in_warehouse(warehouse)
    # the one new finding, not the ones every build finds again
    assert report["new_findings"].get("orders: unknown_status") == 1, report["new_findings"]
    # the terminal and the markdown both say so
    assert re.search(r"orders: unknown_status\s+[\d,]+\s+\+1", second.stdout), second.stdout[-3000:]
    markdown = (warehouse.home / "reports" / "latest.md").read_text()
    assert "| orders: unknown_status |" in markdown and "| +1 |" in markdown
    assert "## Source freshness" in markdown and "| mysql.orders | pass |" in markdown


@pytest.fixture()
def sns_to_sqs() -> Iterator[tuple[str, str, dict[str, str]]]:
    """moto's server (a real HTTP endpoint speaking the AWS protocols): a topic whose
    messages reach a queue. Yields the topic ARN, the queue URL and the client env."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    aws = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }
    kwargs = {"endpoint_url": aws["AWS_ENDPOINT_URL"], "region_name": "eu-west-1",
              "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}  # fmt: skip
    sns, sqs = boto3.client("sns", **kwargs), boto3.client("sqs", **kwargs)
    topic = sns.create_topic(Name="lakeshop-alerts")["TopicArn"]
    queue = sqs.create_queue(QueueName="lakeshop-alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])
    yield topic, queue, aws
    server.stop()


FAILING_TEST = """-- fails on purpose: every delivered order
select order_id, order_status, net_amount
from {{ ref('fct_orders') }}
where order_status = 'delivered'
"""


def test_failing_error_test_exits_non_zero_names_it_with_sample_rows_and_alerts(
    warehouse: Warehouse,
    checkout: Path,
    webhook: str,
    sns_to_sqs: tuple[str, str, dict[str, str]],
) -> None:
    import boto3

    topic, queue, aws = sns_to_sqs
    # in the copy of the checkout: a build elsewhere (another pytest worker) must not meet it
    test_file = checkout / "tests" / "gold" / "test_fct_orders__fails_on_purpose.sql"
    test_file.write_text(FAILING_TEST)
    try:
        done = _run(checkout, str(BIN / "lakeshop"),
            "build", "--select", "test_fct_orders__fails_on_purpose", "--webhook-url", webhook,
            "--sns-topic-arn", topic, **warehouse.env, **aws,
        )  # fmt: skip
    finally:
        test_file.unlink()
    out = done.stdout + done.stderr
    assert done.returncode == 1, out[-4000:]
    delivered = warehouse.query(
        "select order_id from gold.fct_orders where order_status = 'delivered' order by order_id"
    )
    assert delivered
    # the terminal names the model and the test, and shows failing rows that really fail
    assert re.search(r"FAIL\s+error\s+fct_orders: test_fct_orders__fails_on_purpose", out), out[
        -3000:
    ]
    assert f"({len(delivered)} rows)" in out
    sampled = [int(m) for m in re.findall(r"order_id=(\d+), order_status=delivered", out)]
    assert len(sampled) == 5 and set(sampled) <= {row[0] for row in delivered}
    assert (
        "1 error-severity test(s) failed: test_fct_orders__fails_on_purpose on fct_orders"
        in done.stderr
    )
    markdown = (warehouse.home / "reports" / "latest.md").read_text()
    assert (
        "on model `fct_orders`" in markdown
        and "| order_id | order_status | net_amount |" in markdown
    )

    # the webhook got Slack's incoming-webhook JSON
    assert len(WebhookReceiver.received) == 1
    payload = WebhookReceiver.received[0]
    assert payload["text"].startswith(":red_circle: lakeshop dbt build on duckdb FAILED")
    section = payload["blocks"][1]["text"]["text"]
    assert "test_fct_orders__fails_on_purpose on fct_orders" in section
    # and SNS delivered the same news to the subscribed queue
    sqs = boto3.client(
        "sqs", endpoint_url=aws["AWS_ENDPOINT_URL"], region_name="eu-west-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=5).get("Messages", [])
    assert len(messages) == 1
    envelope = json.loads(messages[0]["Body"])
    assert envelope["Subject"] == "lakeshop dbt build on duckdb FAILED"
    assert "test_fct_orders__fails_on_purpose on fct_orders" in envelope["Message"]
    assert envelope["MessageAttributes"]["status"]["Value"] == "failed"


def test_alert_that_cannot_be_delivered_fails_a_passing_run_with_exit_3(
    warehouse: Warehouse,
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/nobody-listens"
    done = warehouse.lakeshop(
        "build", "--select", "agg_daily_order_value", "--alert-on", "always", "--webhook-url", dead
    )
    assert done.returncode == 3, done.stdout[-3000:] + done.stderr[-2000:]
    assert f"the webhook alert to {dead} was not delivered" in done.stderr


# -- the docs site in headless Chromium -----------------------------------------------------
def test_docs_site_shows_lineage_from_sources_to_exposures_and_a_gold_model_page(
    warehouse: Warehouse,
) -> None:
    from playwright.sync_api import sync_playwright

    from lakeshop.docs_site import DocsSite, serve_docs

    generated = warehouse.lakeshop("docs", "--no-serve")
    assert generated.returncode == 0, generated.stdout[-3000:] + generated.stderr[-2000:]
    site = DocsSite(warehouse.target)
    assert site.static_index.stat().st_size > 500_000  # manifest and catalog inlined
    manifest = json.loads((warehouse.target / "manifest.json").read_text())
    fct_orders = manifest["nodes"]["model.lakeshop.fct_orders"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    server = serve_docs(site, port=0)
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,  # None: playwright's own browser
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                      "--disable-component-update", "--no-first-run"],
            )  # fmt: skip
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(url + "#!/overview?g_v=1")
            page.wait_for_function(
                "() => [...document.querySelectorAll('*')].some(e => e._cyreg && e._cyreg.cy"
                " && e._cyreg.cy.nodes().length > 0)",
                timeout=60_000,
            )
            page.wait_for_timeout(1500)  # the layout animates into place
            graph = page.evaluate(
                """() => {
                const cy = [...document.querySelectorAll('*')].find(e => e._cyreg)._cyreg.cy;
                const box = cy.extent();
                const start = cy.getElementById('source.lakeshop.mysql.orders');
                return {
                  nodes: cy.nodes().map(n => ({id: n.id(), visible: n.visible(),
                    inside: n.position('x') >= box.x1 && n.position('x') <= box.x2})),
                  downstream: start.successors('node').map(n => n.id()),
                };
            }"""
            )
            page.screenshot(path=str(ARTIFACTS / "docs_lineage.png"))

            # a page of its own: the expanded graph above would stay open over the model
            model = browser.new_page(viewport={"width": 1600, "height": 1000})
            model.goto(url + "#!/model/model.lakeshop.fct_orders")
            model.wait_for_selector("text=fct_orders", timeout=30_000)
            model.get_by_text("Columns", exact=True).first.wait_for(timeout=30_000)
            model.wait_for_timeout(500)
            text = model.inner_text("body")
            model.screenshot(path=str(ARTIFACTS / "docs_fct_orders.png"), full_page=True)

            static = browser.new_page()
            static.goto(site.static_index.as_uri() + "#!/model/model.lakeshop.fct_orders")
            static.wait_for_selector("text=fct_orders", timeout=30_000)
            static_text = static.inner_text("body")
            browser.close()
    finally:
        server.shutdown()

    ids = {n["id"] for n in graph["nodes"]}
    expected = {
        f"source.lakeshop.{s['source_name']}.{s['name']}" for s in manifest["sources"].values()
    }
    expected |= {uid for uid, n in manifest["nodes"].items() if n["resource_type"] == "model"}
    expected |= set(manifest["exposures"])
    assert expected <= ids, sorted(expected - ids)
    assert all(n["visible"] and n["inside"] for n in graph["nodes"])
    # raw orders flow through every layer to both exposures
    downstream = set(graph["downstream"])
    assert {"model.lakeshop.stg_mysql__orders", "model.lakeshop.int_orders_validated",
            "model.lakeshop.orders", "model.lakeshop.fct_orders",
            "model.lakeshop.agg_daily_order_value"} <= downstream  # fmt: skip
    assert set(manifest["exposures"]) <= downstream
    # the gold model's page: its description and its columns
    first_sentence = fct_orders["description"].strip().split(".")[0]
    assert first_sentence in " ".join(text.split())
    for column in fct_orders["columns"]:
        assert column in text, column
    assert "DECIMAL(18,2)" in text  # column types from the warehouse's catalog
    assert first_sentence in " ".join(static_text.split())
    assert (ARTIFACTS / "docs_lineage.png").stat().st_size > 50_000
