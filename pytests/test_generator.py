"""The synthetic shop generator: determinism, realistic shape, and the dirt it injects."""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from pytests.conftest import END_DATE
from sandbox.shop import reference as ref
from sandbox.shop.generator import FUTURE_MIN_DAYS, LOAD_ORDER, ShopConfig, generate

EMAIL = re.compile(r"^[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}$")
PHONE = re.compile(r"^\+\d{1,3} \d{3} \d{7}$")
ACCEPTED = set(ref.ORDER_STATUSES)
N_ORDERS = 60_000
RATE = 0.04


@pytest.fixture(scope="module")
def dirty() -> dict[str, pa.Table]:
    return generate(ShopConfig(orders=N_ORDERS, seed=11, end_date=END_DATE, dirt=RATE)).tables


@pytest.fixture(scope="module")
def clean() -> dict[str, pa.Table]:
    return generate(ShopConfig(orders=20_000, seed=5, end_date=END_DATE, dirt=0.0)).tables


def within(observed: int, n: int, p: float, sigmas: float = 4.5) -> bool:
    """Is a binomial count consistent with rate p (a generous band, no flaky tests)?"""
    sd = math.sqrt(n * p * (1 - p))
    return abs(observed - n * p) <= sigmas * sd + 1


def test_same_seed_gives_identical_shop() -> None:
    cfg = ShopConfig(orders=3_000, seed=99, end_date=END_DATE)
    a, b = generate(cfg).tables, generate(cfg).tables
    assert list(a) == LOAD_ORDER
    for name in LOAD_ORDER:
        assert a[name].equals(b[name]), name


def test_other_seed_gives_other_shop() -> None:
    a = generate(ShopConfig(orders=3_000, seed=1, end_date=END_DATE)).tables
    b = generate(ShopConfig(orders=3_000, seed=2, end_date=END_DATE)).tables
    assert not a["orders"].equals(b["orders"])
    assert not a["customers"].equals(b["customers"])


def test_exact_order_count_and_items_per_order(dirty: dict[str, pa.Table]) -> None:
    assert dirty["orders"].num_rows == N_ORDERS
    per_order = dirty["order_items"].num_rows / N_ORDERS
    assert 2.7 < per_order < 3.1  # ~3M items for 1M orders
    ids = dirty["orders"]["order_id"].to_numpy()
    assert (np.diff(ids) == 1).all()


def test_keys_unique_and_references_hold_when_clean(clean: dict[str, pa.Table]) -> None:
    for name, key in [("customers", "customer_id"), ("products", "product_id"), ("orders", "order_id"),
                      ("order_items", "order_item_id"), ("addresses", "address_id")]:  # fmt: skip
        col = clean[name][key]
        assert pc.count_distinct(col).as_py() == len(col), name
    customers = set(clean["customers"]["customer_id"].to_pylist())
    products = set(clean["products"]["product_id"].to_pylist())
    orders = set(clean["orders"]["order_id"].to_pylist())
    assert set(clean["orders"]["customer_id"].to_pylist()) <= customers
    assert set(clean["order_items"]["product_id"].to_pylist()) <= products
    assert set(clean["order_items"]["order_id"].to_pylist()) == orders
    assert set(clean["payments"]["order_id"].to_pylist()) <= orders
    statuses = Counter(clean["orders"]["status"].to_pylist())
    assert set(statuses) <= ACCEPTED
    # only shipped, delivered or returned orders have a shipment
    status_of = dict(
        zip(
            clean["orders"]["order_id"].to_pylist(),
            clean["orders"]["status"].to_pylist(),
            strict=True,
        )
    )
    shipped = {status_of[o] for o in clean["shipments"]["order_id"].to_pylist()}
    assert shipped <= {"shipped", "delivered", "returned"}
    # every order total is the sum of its lines
    line = pc.subtract(pc.multiply(clean["order_items"]["quantity"], clean["order_items"]["unit_price"]),
                       clean["order_items"]["discount_amount"])  # fmt: skip
    sums = np.bincount(clean["order_items"]["order_id"].to_numpy() - 1, weights=line.to_numpy())
    assert np.array_equal(
        np.round(sums).astype(np.int64), clean["orders"]["total_amount"].to_numpy()
    )


def test_no_dirt_when_rate_is_zero(clean: dict[str, pa.Table]) -> None:
    assert all(EMAIL.match(e) for e in clean["customers"]["email"].to_pylist())
    assert all(PHONE.match(p) for p in clean["customers"]["phone"].to_pylist())
    assert pc.min(clean["order_items"]["quantity"]).as_py() > 0
    assert pc.min(clean["order_items"]["unit_price"]).as_py() > 0
    assert all(re.fullmatch(r"[A-Z]{2}", c) for c in clean["addresses"]["country"].to_pylist())


def test_seasonality_by_hour_and_weekday(dirty: dict[str, pa.Table]) -> None:
    placed = dirty["orders"]["created_at"].to_numpy().astype("datetime64[us]")
    hours = (placed.astype("datetime64[h]").astype(np.int64)) % 24
    by_hour = np.bincount(hours, minlength=24)
    assert by_hour[19:22].mean() > 4 * by_hour[1:5].mean()  # evenings busy, nights quiet
    weekday = (placed.astype("datetime64[D]").astype(np.int64) + 3) % 7
    by_day = np.bincount(weekday, minlength=7)
    assert by_day[5:7].mean() > 1.1 * by_day[0:2].mean()  # weekends above Mon/Tue
    months = placed.astype("datetime64[M]").astype(np.int64) % 12
    by_month = np.bincount(months, minlength=12)
    assert by_month[11] > by_month[1]  # December above February


def test_long_tail_products_and_repeat_customers(dirty: dict[str, pa.Table]) -> None:
    counts = np.sort(np.bincount(dirty["order_items"]["product_id"].to_numpy()[
        dirty["order_items"]["product_id"].to_numpy() < 10**8]))[::-1]  # fmt: skip
    top = counts[: max(1, len(counts) // 10)].sum() / counts.sum()
    assert top > 0.4, f"top 10% of products hold only {top:.0%} of lines"
    per_customer = Counter(dirty["orders"]["customer_id"].to_pylist())
    repeat_orders = sum(n for n in per_customer.values() if n > 1)
    assert repeat_orders / N_ORDERS > 0.5
    assert max(per_customer.values()) >= 10


def _clean_status(s: str) -> str:
    return s.strip().lower()


def test_dirt_fractions_within_tolerance(dirty: dict[str, pa.Table]) -> None:
    orders, items, customers = dirty["orders"], dirty["order_items"], dirty["customers"]
    n_o, n_i, n_c = orders.num_rows, items.num_rows, customers.num_rows
    status = orders["status"].to_pylist()
    unknown = sum(_clean_status(s) not in ACCEPTED for s in status)
    messy = sum(s != _clean_status(s) and _clean_status(s) in ACCEPTED for s in status)
    assert within(unknown, n_o, RATE)
    assert within(messy, n_o, RATE * (1 - RATE))

    known_customers = set(customers["customer_id"].to_pylist())
    orphan_c = sum(c not in known_customers for c in orders["customer_id"].to_pylist())
    assert within(orphan_c, n_o, RATE)
    known_products = set(dirty["products"]["product_id"].to_pylist())
    orphan_p = sum(p not in known_products for p in items["product_id"].to_pylist())
    assert within(orphan_p, n_i, RATE)

    end = np.datetime64(END_DATE) + np.timedelta64(1, "D")
    placed = orders["placed_at"].to_numpy()
    future = int((placed > end).sum())
    assert within(future, n_o, RATE)
    # dirt stays dirt: a future date a month after the history ends became a real order once
    # the calendar passed it (CI on 2026-12-02 released a 2026-12-02 order of a shop ending
    # 2026-10-31, and the forecast saw a month without sales); years ahead stay quarantined
    soonest = placed[placed > end].min()
    assert soonest >= np.datetime64(END_DATE) + np.timedelta64(FUTURE_MIN_DAYS, "D"), soonest
    assert within(int((items["quantity"].to_numpy() < 0).sum()), n_i, RATE)
    assert within(int((items["unit_price"].to_numpy() < 0).sum()), n_i, RATE)

    emails = customers["email"].to_pylist()
    bad_email = sum(e is None or not EMAIL.match(e.strip().lower()) for e in emails)
    messy_email = sum(
        e is not None and e != e.strip().lower() and bool(EMAIL.match(e.strip().lower()))
        for e in emails
    )
    assert within(bad_email, n_c, RATE)
    assert within(messy_email, n_c, RATE * (1 - RATE))
    bad_phone = sum(p is None or not PHONE.match(p) for p in customers["phone"].to_pylist())
    assert within(bad_phone, n_c, RATE)
    names = customers["first_name"].to_pylist()
    assert within(sum(n != n.strip() for n in names), n_c, RATE)
    countries = dirty["addresses"]["country"].to_pylist()
    assert within(sum(not re.fullmatch(r"[A-Z]{2}", c) for c in countries), len(countries), RATE)

    # duplicate submissions: the same lines (quantities and prices up to sign, which other
    # dirt may flip) entered again within seconds
    lines: dict[int, list[tuple[int, int, int]]] = {}
    for oid, q, p, d in zip(items["order_id"].to_pylist(), items["quantity"].to_pylist(),
                            items["unit_price"].to_pylist(), items["discount_amount"].to_pylist(), strict=True):  # fmt: skip
        lines.setdefault(oid, []).append((abs(q), abs(p), d))
    created = orders["created_at"].to_numpy().astype("datetime64[s]").astype(np.int64)
    ids = orders["order_id"].to_pylist()
    dup = 0
    for j in range(1, n_o):
        for k in range(max(0, j - 3), j):
            if created[j] - created[k] < 30 and lines[ids[j]] == lines[ids[k]]:
                dup += 1
                break
    assert within(dup, n_o, RATE / (1 + RATE))
