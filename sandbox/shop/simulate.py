"""Keep writing to the shop like production does: orders, status changes, deletes, dirt."""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

import pymysql

from ingestion.progress import Progress
from sandbox.shop import reference as ref
from sandbox.shop.generator import MALFORMED_EMAILS, ORPHAN_PRODUCT_BASE
from sandbox.shop.seed import connect
from sandbox.shop.target import MySQLTarget

# relative frequency of each kind of transaction
OPERATIONS: dict[str, int] = {
    "new_order": 40,
    "advance_status": 28,
    "new_customer": 8,
    "price_change": 7,
    "cancel_order": 5,
    "update_profile": 4,
    "rapid_updates": 3,  # the same row updated several times in one transaction
    "delete_customer": 3,
    "duplicate_submission": 2,  # counted as dirt, scaled by --dirt
}

NEXT_STATUS = {"pending": "paid", "paid": "shipped", "shipped": "delivered"}


@dataclass(frozen=True)
class SimConfig:
    rate: float = 5.0  # transactions per second
    duration: float = 60.0  # seconds
    seed: int = 42
    dirt: float = 0.02
    max_transactions: int | None = None


@dataclass
class SimStats:
    transactions: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    seconds: float = 0.0
    operations: Counter[str] = field(default_factory=Counter)
    dirt: Counter[str] = field(default_factory=Counter)

    @property
    def rows(self) -> int:
        return self.inserted + self.updated + self.deleted


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Simulator:
    """Runs random transactions against a seeded shop. Deterministic choices under a seed."""

    def __init__(self, conn: pymysql.connections.Connection, cfg: SimConfig) -> None:
        self.conn = conn
        self.cfg = cfg
        self.rng = random.Random(cfg.seed)
        self.stats = SimStats()
        with conn.cursor() as cur:
            cur.execute(
                "SELECT product_id, price FROM products WHERE is_active = 1 ORDER BY product_id"
            )
            rows = cur.fetchall()
            if not rows:
                raise RuntimeError(
                    "the shop has no products; run `lakeshop shop seed` before `lakeshop shop simulate`"
                )
            self.products = [int(r[0]) for r in rows]
            self.prices = {int(r[0]): Decimal(r[1]) for r in rows}
            self.popularity = [1.0 / (i + 1) ** 1.07 for i in range(len(self.products))]
            cur.execute("SELECT COALESCE(MAX(customer_id), 0) FROM customers")
            self.max_customer = int(cur.fetchone()[0])  # type: ignore[index]
            cur.execute(
                "SELECT order_id, status FROM orders WHERE status IN ('pending','paid','shipped') "
                "ORDER BY order_id DESC LIMIT 5000"
            )
            self.open_orders: dict[int, str] = {int(r[0]): str(r[1]) for r in cur.fetchall()}

    # -- helpers -------------------------------------------------------------
    def _dirty(self, kind: str) -> bool:
        hit = self.rng.random() < self.cfg.dirt
        if hit:
            self.stats.dirt[kind] += 1
        return hit

    def _customer(self, cur: pymysql.cursors.Cursor) -> tuple[int, int | None] | None:
        start = self.rng.randint(1, max(self.max_customer, 1))
        cur.execute(
            "SELECT c.customer_id, a.address_id FROM customers c "
            "LEFT JOIN addresses a ON a.customer_id = c.customer_id AND a.is_default = 1 "
            "WHERE c.customer_id >= %s ORDER BY c.customer_id LIMIT 1",
            (start,),
        )
        row = cur.fetchone()
        return (int(row[0]), None if row[1] is None else int(row[1])) if row else None

    def _insert_customer(self, cur: pymysql.cursors.Cursor, now: dt.datetime) -> tuple[int, int]:
        rng = self.rng
        first, last = rng.choice(ref.FIRST_NAMES), rng.choice(ref.LAST_NAMES)
        tag = rng.getrandbits(32)
        email: str | None = (
            f"{first}.{last}.{tag:08x}@{rng.choice(ref.EMAIL_DOMAINS)}".lower()
            .replace(" ", "")
            .replace("'", "")
        )
        if self._dirty("bad_email"):
            email = rng.choice([None, MALFORMED_EMAILS[0].format(u=first.lower(), d="example.com")])
        elif self._dirty("messy_email"):
            email = f"  {email.upper()}" if email else email
        country = rng.choices(ref.COUNTRIES, weights=[c[3] for c in ref.COUNTRIES])[0]
        phone = f"+{country[2]} {rng.randint(100, 999)} {rng.randint(1_000_000, 9_999_999)}"
        cur.execute(
            "INSERT INTO customers (email, phone, first_name, last_name, birth_date, "
            "marketing_opt_in, created_at, updated_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s)",
            (email, phone, first, last, dt.date(rng.randint(1950, 2006), rng.randint(1, 12), rng.randint(1, 28)),
             int(rng.random() < 0.3), now, now),
        )  # fmt: skip
        customer_id = int(cur.lastrowid)
        country_value = country[0] if not self._dirty("messy_country") else f" {country[1].lower()}"
        cur.execute(
            "INSERT INTO addresses (customer_id, line1, city, postal_code, country, is_default, "
            "created_at, updated_at) VALUES (%s,%s,%s,%s,%s,1,%s,%s)",
            (customer_id, f"{rng.randint(1, 250)} {rng.choice(ref.STREETS)} {rng.choice(ref.STREET_KINDS)}",
             rng.choice(country[4]), str(rng.randint(10000, 99999)), country_value, now, now),
        )  # fmt: skip
        self.max_customer = max(self.max_customer, customer_id)
        self.stats.inserted += 2
        return customer_id, int(cur.lastrowid)

    # -- operations ----------------------------------------------------------
    def new_order(self, cur: pymysql.cursors.Cursor, duplicate: bool = False) -> None:
        rng, now = self.rng, _now()
        found = None if rng.random() < 0.2 else self._customer(cur)
        customer_id, address_id = found if found else self._insert_customer(cur, now)
        lines: list[tuple[int, int, Decimal]] = []
        n_lines = 1 + min(int(rng.expovariate(1 / 1.9)), 12)
        for product_id in rng.choices(self.products, weights=self.popularity, k=n_lines):
            qty = rng.choices([1, 2, 3, 4, 5], weights=[78, 14, 5, 2, 1])[0]
            lines.append((product_id, qty, self.prices[product_id]))
        if self._dirty("negative_quantity"):
            lines[0] = (lines[0][0], -lines[0][1], lines[0][2])
        if self._dirty("negative_price"):
            lines[-1] = (lines[-1][0], lines[-1][1], -lines[-1][2])
        orphan = self._dirty("orphan_product")
        if orphan:
            lines[0] = (ORPHAN_PRODUCT_BASE + rng.randint(1, 10**6), lines[0][1], lines[0][2])
            cur.execute("SET SESSION foreign_key_checks = 0")  # the legacy importer path
        status = "pending" if rng.random() < 0.4 else "paid"
        if self._dirty("unknown_status"):
            status = rng.choice(ref.UNKNOWN_STATUSES)
        placed = (
            now + dt.timedelta(days=rng.randint(30, 1500)) if self._dirty("future_date") else now
        )
        total = sum((q * p for _, q, p in lines), Decimal(0))
        copies = 2 if duplicate else 1
        for _ in range(copies):
            cur.execute(
                "INSERT INTO orders (customer_id, shipping_address_id, status, currency, total_amount, "
                "placed_at, created_at, updated_at) VALUES (%s,%s,%s,'USD',%s,%s,%s,%s)",
                (customer_id, address_id, status, total, placed, now, now),
            )
            order_id = int(cur.lastrowid)
            cur.executemany(
                "INSERT INTO order_items (order_id, product_id, quantity, unit_price, discount_amount, "
                "created_at, updated_at) VALUES (%s,%s,%s,%s,0,%s,%s)",
                [(order_id, p, q, price, now, now) for p, q, price in lines],
            )
            if status == "paid":
                cur.execute(
                    "INSERT INTO payments (order_id, method, status, amount, paid_at, created_at, updated_at) "
                    "VALUES (%s,%s,'captured',%s,%s,%s,%s)",
                    (order_id, rng.choice(ref.PAYMENT_METHODS)[0], abs(total), now, now, now),
                )
                self.stats.inserted += 1
            if status in NEXT_STATUS:
                self.open_orders[order_id] = status
            self.stats.inserted += 1 + len(lines)
        if orphan:
            cur.execute("SET SESSION foreign_key_checks = 1")

    def _pick_open(self, allowed: tuple[str, ...]) -> tuple[int, str] | None:
        candidates = [oid for oid, st in self.open_orders.items() if st in allowed]
        if not candidates:
            return None
        oid = self.rng.choice(sorted(candidates)[-2000:])
        return oid, self.open_orders[oid]

    def advance_status(self, cur: pymysql.cursors.Cursor) -> None:
        picked = self._pick_open(tuple(NEXT_STATUS))
        if picked is None:
            return self.new_order(cur)
        order_id, status = picked
        self._advance(cur, order_id, status, _now())
        return None

    def _advance(
        self, cur: pymysql.cursors.Cursor, order_id: int, status: str, now: dt.datetime
    ) -> str:
        new = NEXT_STATUS[status]
        cur.execute(
            "UPDATE orders SET status=%s, updated_at=%s WHERE order_id=%s", (new, now, order_id)
        )
        self.stats.updated += cur.rowcount
        if new == "paid":
            cur.execute(
                "INSERT INTO payments (order_id, method, status, amount, paid_at, created_at, updated_at) "
                "SELECT order_id, %s, 'captured', ABS(total_amount), %s, %s, %s FROM orders WHERE order_id=%s",
                (self.rng.choice(ref.PAYMENT_METHODS)[0], now, now, now, order_id),
            )
            self.stats.inserted += cur.rowcount
        elif new == "shipped":
            carrier = self.rng.choice(ref.CARRIERS)
            cur.execute(
                "INSERT INTO shipments (order_id, carrier, tracking_number, status, shipped_at, "
                "created_at, updated_at) VALUES (%s,%s,%s,'in_transit',%s,%s,%s)",
                (
                    order_id,
                    carrier,
                    f"{carrier.upper()}{self.rng.randint(10**11, 10**12)}",
                    now,
                    now,
                    now,
                ),
            )
            self.stats.inserted += 1
        else:
            cur.execute(
                "UPDATE shipments SET status='delivered', delivered_at=%s, updated_at=%s WHERE order_id=%s",
                (now, now, order_id),
            )
            self.stats.updated += cur.rowcount
        if new in NEXT_STATUS:
            self.open_orders[order_id] = new
        else:
            self.open_orders.pop(order_id, None)
        return new

    def rapid_updates(self, cur: pymysql.cursors.Cursor) -> None:
        picked = self._pick_open(("pending",))
        if picked is None:
            return self.new_order(cur)
        order_id, status = picked
        now = _now()
        while status in NEXT_STATUS:
            status = self._advance(cur, order_id, status, now)
            now += dt.timedelta(microseconds=1)
        return None

    def cancel_order(self, cur: pymysql.cursors.Cursor) -> None:
        picked = self._pick_open(("pending", "paid"))
        if picked is None:
            return self.new_order(cur)
        order_id, _ = picked
        now = _now()
        cur.execute(
            "UPDATE orders SET status='cancelled', updated_at=%s WHERE order_id=%s", (now, order_id)
        )
        self.stats.updated += cur.rowcount
        cur.execute(
            "UPDATE payments SET status='refunded', updated_at=%s WHERE order_id=%s",
            (now, order_id),
        )
        self.stats.updated += cur.rowcount
        self.open_orders.pop(order_id, None)
        return None

    def price_change(self, cur: pymysql.cursors.Cursor) -> None:
        product_id = self.rng.choice(self.products)
        price = max(
            Decimal("0.99"),
            (self.prices[product_id] * Decimal(self.rng.uniform(0.85, 1.15))).quantize(
                Decimal("0.01")
            ),
        )
        cur.execute(
            "UPDATE products SET price=%s, updated_at=%s WHERE product_id=%s",
            (price, _now(), product_id),
        )
        self.prices[product_id] = price
        self.stats.updated += cur.rowcount

    def new_customer(self, cur: pymysql.cursors.Cursor) -> None:
        self._insert_customer(cur, _now())

    def update_profile(self, cur: pymysql.cursors.Cursor) -> None:
        found = self._customer(cur)
        if found is None:
            return
        phone = f"+1 {self.rng.randint(100, 999)} {self.rng.randint(1_000_000, 9_999_999)}"
        cur.execute(
            "UPDATE customers SET phone=%s, marketing_opt_in=1-marketing_opt_in, updated_at=%s "
            "WHERE customer_id=%s",
            (phone, _now(), found[0]),
        )
        self.stats.updated += cur.rowcount

    def delete_customer(self, cur: pymysql.cursors.Cursor) -> None:
        """Account deletion: only customers without orders; children first (no cascades)."""
        cur.execute(
            "SELECT c.customer_id FROM customers c LEFT JOIN orders o ON o.customer_id = c.customer_id "
            "WHERE o.order_id IS NULL AND c.customer_id >= %s ORDER BY c.customer_id LIMIT 1",
            (self.rng.randint(1, max(self.max_customer, 1)),),
        )
        row = cur.fetchone()
        if row is None:
            return
        cur.execute("DELETE FROM addresses WHERE customer_id=%s", (row[0],))
        self.stats.deleted += cur.rowcount
        cur.execute("DELETE FROM customers WHERE customer_id=%s", (row[0],))
        self.stats.deleted += cur.rowcount

    def duplicate_submission(self, cur: pymysql.cursors.Cursor) -> None:
        if self._dirty("duplicate_order"):
            self.new_order(cur, duplicate=True)
        else:
            self.new_order(cur)

    # -- driver --------------------------------------------------------------
    def step(self) -> str:
        op = self.rng.choices(list(OPERATIONS), weights=list(OPERATIONS.values()))[0]
        self.conn.begin()
        try:
            with self.conn.cursor() as cur:
                getattr(self, op)(cur)
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise
        self.stats.transactions += 1
        self.stats.operations[op] += 1
        return op

    def run(self, quiet: bool = False) -> SimStats:
        cfg = self.cfg
        total = cfg.max_transactions or (int(cfg.rate * cfg.duration) if cfg.duration else None)
        progress = Progress("simulate", total=total, unit="txns", quiet=quiet)
        started = time.monotonic()
        i = 0
        while True:
            elapsed = time.monotonic() - started
            if cfg.duration and elapsed >= cfg.duration:
                break
            if cfg.max_transactions is not None and i >= cfg.max_transactions:
                break
            due = started + i / cfg.rate if cfg.rate > 0 else 0
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.step()
            i += 1
            progress.advance(1, extra=f"{self.stats.rows} rows")
        progress.close()
        self.stats.seconds = time.monotonic() - started
        return self.stats


def simulate(target: MySQLTarget, cfg: SimConfig, quiet: bool = False) -> SimStats:
    with connect(target) as conn:
        conn.autocommit(False)
        return Simulator(conn, cfg).run(quiet=quiet)
