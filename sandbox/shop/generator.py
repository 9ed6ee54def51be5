"""Deterministic generator of the synthetic shop's history, vectorised with NumPy.

Every table is built from its own random stream spawned off ``--seed``, so the same seed and
``end_date`` give byte-identical data. Money is kept as integer cents until it is written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from sandbox.shop import reference as ref

US_PER_S = 1_000_000
US_PER_DAY = 86_400 * US_PER_S

# Each kind of dirt and the table whose rows it touches. A rate of ``dirt`` is applied to
# every kind independently (a row can carry more than one kind).
DIRT_KINDS: dict[str, str] = {
    "unknown_status": "orders",  # a status outside the accepted list
    "messy_status": "orders",  # ' Shipped', 'PAID ' - valid once trimmed and lower-cased
    "orphan_customer": "orders",  # customer_id that does not exist
    "future_date": "orders",  # placed_at years ahead
    "duplicate_order": "orders",  # the same checkout submitted twice, seconds apart
    "bad_email": "customers",  # null or malformed
    "messy_email": "customers",  # stray whitespace, mixed case - valid once cleaned
    "bad_phone": "customers",  # null or malformed
    "messy_name": "customers",  # stray whitespace, mixed case
    "messy_country": "addresses",  # 'germany', ' de', 'Germany' instead of 'DE'
    "negative_quantity": "order_items",
    "negative_price": "order_items",
    "orphan_product": "order_items",  # product_id that does not exist
}

MALFORMED_EMAILS = ["{u} at {d}", "{u}@", "@{d}", "{u} {u}@{d}", "n/a", "{u}@@{d}"]
MALFORMED_PHONES = ["12", "call me", "000-000", "+49 (0) abc", "-", "phone"]
ORPHAN_CUSTOMER_BASE = 900_000_000
ORPHAN_PRODUCT_BASE = 900_000_000
# future_date dirt lands 3 to 10 years after the history: far enough that the calendar does not
# catch up with it while a fixed-date test shop is in use (a month ahead did, and was released)
FUTURE_MIN_DAYS, FUTURE_MAX_DAYS = 3 * 365, 10 * 365


@dataclass(frozen=True)
class ShopConfig:
    """What to generate. The same values always give the same shop."""

    orders: int = 20_000
    seed: int = 42
    end_date: dt.date = field(default_factory=lambda: dt.datetime.now(dt.UTC).date())
    days: int = 365
    dirt: float = 0.02
    products: int | None = None
    customers_per_order: float = 0.4

    @property
    def n_products(self) -> int:
        if self.products is not None:
            return self.products
        return int(np.clip(self.orders // 100, 150, 5000))

    @property
    def n_customers(self) -> int:
        return max(50, int(self.orders * self.customers_per_order))

    @property
    def end_us(self) -> int:
        """The shop's 'now' (midnight UTC after end_date), microseconds since the epoch."""
        epoch = dt.date(1970, 1, 1)
        return (self.end_date - epoch).days * US_PER_DAY + US_PER_DAY

    @property
    def start_us(self) -> int:
        return self.end_us - self.days * US_PER_DAY


@dataclass
class ShopData:
    """The generated tables, in foreign-key load order, as Arrow tables."""

    config: ShopConfig
    tables: dict[str, pa.Table]

    def rows(self) -> dict[str, int]:
        return {name: t.num_rows for name, t in self.tables.items()}


LOAD_ORDER = [
    "categories",
    "products",
    "customers",
    "addresses",
    "orders",
    "order_items",
    "payments",
    "shipments",
]


def _ts(us: np.ndarray) -> pa.Array:
    return pa.array(us.astype("datetime64[us]"), type=pa.timestamp("us"))


def _money(cents: np.ndarray) -> pa.Array:
    return pa.array(cents.astype(np.int64), type=pa.int64())


def _weighted(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    cdf = np.cumsum(weights, dtype=np.float64)
    cdf /= cdf[-1]
    return np.searchsorted(cdf, rng.random(size), side="right")


class Generator:
    """Builds a :class:`ShopData` from a :class:`ShopConfig`."""

    def __init__(self, config: ShopConfig) -> None:
        self.cfg = config
        names = [
            "catalog", "time", "customers", "addresses", "items", "status",
            "payments", "shipments", "dirt", "people",
        ]  # fmt: skip
        streams = np.random.SeedSequence(config.seed).spawn(len(names))
        self.rng = {
            n: np.random.Generator(np.random.PCG64(s)) for n, s in zip(names, streams, strict=True)
        }

    # -- catalogue -----------------------------------------------------------
    def categories(self) -> pa.Table:
        n = len(ref.CATEGORIES)
        created = np.full(n, self.cfg.start_us - 400 * US_PER_DAY, dtype=np.int64)
        return pa.table(
            {
                "category_id": pa.array(np.arange(1, n + 1), pa.int64()),
                "slug": [c[0] for c in ref.CATEGORIES],
                "name": [c[1] for c in ref.CATEGORIES],
                "created_at": _ts(created),
                "updated_at": _ts(created),
            }
        )

    def products(self) -> tuple[pa.Table, np.ndarray]:
        rng = self.rng["catalog"]
        n = self.cfg.n_products
        cat_idx = _weighted(rng, rng.uniform(0.5, 1.5, len(ref.CATEGORIES)), n)
        titles, brands, skus = [], [], []
        base = np.array([c[2] for c in ref.CATEGORIES])[cat_idx]
        brand_pick = rng.integers(0, 1 << 30, n)
        noun_pick = rng.integers(0, 1 << 30, n)
        adj_pick = rng.integers(0, len(ref.ADJECTIVES), n)
        for i in range(n):
            slug, _, _, cat_brands, nouns = ref.CATEGORIES[cat_idx[i]]
            brand = cat_brands[brand_pick[i] % len(cat_brands)]
            noun = nouns[noun_pick[i] % len(nouns)]
            brands.append(brand)
            titles.append(f"{brand} {ref.ADJECTIVES[adj_pick[i]]} {noun}")
            skus.append(f"{slug[:3].upper()}-{brand[:3].upper().replace(' ', 'X')}-{i + 1:06d}")
        price = np.round(rng.lognormal(np.log(base), 0.45) * 100).astype(np.int64)
        price = np.maximum(price // 100 * 100 + 99, 99)  # x.99 pricing
        cost = np.round(price * rng.uniform(0.4, 0.78, n)).astype(np.int64)
        created = self.cfg.start_us - rng.integers(30, 700, n) * US_PER_DAY
        table = pa.table(
            {
                "product_id": pa.array(np.arange(1, n + 1), pa.int64()),
                "sku": skus,
                "title": titles,
                "brand": brands,
                "category_id": pa.array(cat_idx + 1, pa.int64()),
                "price": _money(price),
                "cost": _money(cost),
                "is_active": pa.array(np.ones(n, dtype=np.int64)),
                "created_at": _ts(created),
                "updated_at": _ts(created),
            }
        )
        return table, price

    # -- orders in time --------------------------------------------------------
    def order_times(self, n: int) -> np.ndarray:
        """Order timestamps with hour, weekday and month seasonality and a growth trend."""
        rng = self.rng["time"]
        cfg = self.cfg
        days = np.arange(cfg.days)
        day_start = cfg.start_us + days * US_PER_DAY
        dates = day_start.astype("datetime64[us]").astype("datetime64[D]")
        weekday = (dates.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
        month = dates.astype("datetime64[M]").astype(np.int64) % 12
        w = (
            np.array(ref.WEEKDAY_WEIGHTS)[weekday]
            * np.array(ref.MONTH_WEIGHTS)[month]
            * (1.0 + 0.6 * days / max(cfg.days, 1))
        )
        day = _weighted(rng, w, n)
        hour = _weighted(rng, np.array(ref.HOUR_WEIGHTS, dtype=float), n)
        within = rng.integers(0, 3600 * US_PER_S, n) // US_PER_S * US_PER_S
        return np.sort(day_start[day] + hour * 3600 * US_PER_S + within)

    def generate(self) -> ShopData:
        cfg = self.cfg
        dirt_rng = self.rng["dirt"]
        categories = self.categories()
        products, product_price = self.products()
        n_prod = len(product_price)

        # orders: originals plus duplicate submissions, exactly cfg.orders rows in all
        n_dup = round(cfg.orders * cfg.dirt / (1 + cfg.dirt)) if cfg.orders > 1 else 0
        n_base = cfg.orders - n_dup
        placed = self.order_times(n_base)

        # repeat customers: a heavy-tailed propensity to order
        n_cust = cfg.n_customers
        crng = self.rng["customers"]
        propensity = crng.lognormal(0.0, 1.1, n_cust)
        order_cust = _weighted(crng, propensity, n_base)
        first_idx = np.full(n_cust, -1, dtype=np.int64)
        uniq, first = np.unique(order_cust, return_index=True)
        first_idx[uniq] = first
        has_orders = first_idx >= 0
        cust_created = np.where(
            has_orders,
            placed[np.maximum(first_idx, 0)]
            - (crng.exponential(20.0, n_cust) * US_PER_DAY).astype(np.int64),
            cfg.start_us
            + (crng.random(n_cust) * (cfg.end_us - cfg.start_us - US_PER_DAY)).astype(np.int64),
        )
        cust_created = np.maximum(cust_created, cfg.start_us - 730 * US_PER_DAY)
        cust_created = cust_created // US_PER_S * US_PER_S
        perm = np.argsort(cust_created, kind="stable")  # ids follow sign-up order
        new_id = np.empty(n_cust, dtype=np.int64)
        new_id[perm] = np.arange(1, n_cust + 1)
        order_cust_id = new_id[order_cust]
        cust_created = cust_created[perm]

        customers, cust_country = self._customers(cust_created)
        addresses, default_addr = self._addresses(cust_created, cust_country)

        # order items: ~2.9 lines per order, long-tail product popularity
        irng = self.rng["items"]
        lines = 1 + irng.poisson(1.9, n_base)
        item_order = np.repeat(np.arange(n_base), lines)
        n_items = len(item_order)
        popularity = np.empty(n_prod)
        popularity[irng.permutation(n_prod)] = 1.0 / np.arange(1, n_prod + 1) ** 1.07
        item_prod = _weighted(irng, popularity, n_items)
        qty = 1 + _weighted(irng, np.array([78, 14, 5, 2, 1], dtype=float), n_items)
        unit = product_price[item_prod]
        discounted = irng.random(n_items) < 0.15
        discount = np.where(discounted, np.round(unit * qty * irng.uniform(0.05, 0.2, n_items)), 0)
        discount = discount.astype(np.int64)

        # duplicate submissions copy an original order (and its lines) a few seconds later
        dup_src = (
            np.sort(dirt_rng.choice(n_base, n_dup, replace=False))
            if n_dup
            else np.array([], dtype=np.int64)
        )
        src = np.concatenate([np.arange(n_base), dup_src])
        o_placed = np.concatenate(
            [placed, placed[dup_src] + dirt_rng.integers(1, 30, n_dup) * US_PER_S]
        )
        order_of = np.argsort(o_placed, kind="stable")  # order ids follow time
        o_src = src[order_of]
        o_placed = o_placed[order_of]
        n_orders = len(o_src)
        order_id = np.arange(1, n_orders + 1)
        o_cust = order_cust_id[o_src]
        o_addr = default_addr[o_cust - 1]

        # lines of each final order: gather the lines of its source order
        line_start = np.concatenate([[0], np.cumsum(lines)[:-1]])
        o_lines = lines[o_src]
        it_idx = np.repeat(line_start[o_src], o_lines) + _ranges(o_lines)
        it_order_id = np.repeat(order_id, o_lines)
        it_prod = item_prod[it_idx] + 1
        it_qty = qty[it_idx].astype(np.int64)
        it_unit = unit[it_idx]
        it_disc = discount[it_idx]
        n_it = len(it_idx)

        clean_status, updated = self._statuses(o_placed)
        is_dup = np.concatenate([np.zeros(n_base, bool), np.ones(n_dup, bool)])[order_of]

        # -- dirt -----------------------------------------------------------------
        rate = cfg.dirt
        bad_status = dirt_rng.random(n_orders) < rate
        status = clean_status.copy()
        status[bad_status] = dirt_rng.choice(ref.UNKNOWN_STATUSES, bad_status.sum())
        messy_status = (dirt_rng.random(n_orders) < rate) & ~bad_status
        status[messy_status] = [_messy(s, dirt_rng) for s in status[messy_status]]
        orphan_c = dirt_rng.random(n_orders) < rate
        o_cust = np.where(orphan_c, ORPHAN_CUSTOMER_BASE + order_id, o_cust)
        o_addr = np.where(orphan_c, -1, o_addr)
        future = dirt_rng.random(n_orders) < rate
        created_o = o_placed.copy()
        o_placed = np.where(
            future,
            cfg.end_us + dirt_rng.integers(FUTURE_MIN_DAYS, FUTURE_MAX_DAYS, n_orders) * US_PER_DAY,
            o_placed,
        )
        neg_q = dirt_rng.random(n_it) < rate
        it_qty = np.where(neg_q, -it_qty, it_qty)
        neg_p = dirt_rng.random(n_it) < rate
        it_unit = np.where(neg_p, -it_unit, it_unit)
        orphan_p = dirt_rng.random(n_it) < rate
        it_prod = np.where(orphan_p, ORPHAN_PRODUCT_BASE + np.arange(n_it), it_prod)

        line_total = it_qty * it_unit - it_disc
        total = np.bincount(it_order_id - 1, weights=line_total, minlength=n_orders)
        total = np.round(total).astype(np.int64)

        orders = pa.table(
            {
                "order_id": pa.array(order_id, pa.int64()),
                "customer_id": pa.array(o_cust, pa.int64()),
                "shipping_address_id": pa.array(o_addr, pa.int64(), mask=o_addr < 0),
                "status": pa.array(status.tolist(), pa.string()),
                "currency": pa.array(["USD"] * n_orders, pa.string()),
                "total_amount": _money(total),
                "placed_at": _ts(o_placed),
                "created_at": _ts(created_o),
                "updated_at": _ts(np.maximum(updated, created_o)),
            }
        )
        it_created = created_o[it_order_id - 1]
        order_items = pa.table(
            {
                "order_item_id": pa.array(np.arange(1, n_it + 1), pa.int64()),
                "order_id": pa.array(it_order_id, pa.int64()),
                "product_id": pa.array(it_prod, pa.int64()),
                "quantity": pa.array(it_qty, pa.int64()),
                "unit_price": _money(it_unit),
                "discount_amount": _money(it_disc),
                "created_at": _ts(it_created),
                "updated_at": _ts(it_created),
            }
        )
        # payments and shipments follow the order's real lifecycle, whatever its status says
        payments = self._payments(order_id, clean_status, total, created_o)
        shipments = self._shipments(order_id, clean_status, created_o, updated)
        customers = self._dirty_customers(customers)
        addresses = self._dirty_addresses(addresses)
        tables = {
            "categories": categories,
            "products": products,
            "customers": customers,
            "addresses": addresses,
            "orders": orders,
            "order_items": order_items,
            "payments": payments,
            "shipments": shipments,
        }
        self.duplicate_of = np.where(is_dup, o_src, -1)
        return ShopData(cfg, tables)

    # -- people ---------------------------------------------------------------
    def _customers(self, created: np.ndarray) -> tuple[pa.Table, np.ndarray]:
        rng = self.rng["people"]
        n = len(created)
        first = rng.integers(0, len(ref.FIRST_NAMES), n)
        last = rng.integers(0, len(ref.LAST_NAMES), n)
        domain = rng.integers(0, len(ref.EMAIL_DOMAINS), n)
        country = _weighted(rng, np.array([c[3] for c in ref.COUNTRIES]), n)
        phone_a = rng.integers(100, 999, n)
        phone_b = rng.integers(1_000_000, 9_999_999, n)
        emails, phones, firsts, lasts = [], [], [], []
        for i in range(n):
            f, la = ref.FIRST_NAMES[first[i]], ref.LAST_NAMES[last[i]]
            local = f"{_ascii(f)}.{_ascii(la)}{i + 1}".lower()
            emails.append(f"{local}@{ref.EMAIL_DOMAINS[domain[i]]}")
            phones.append(f"+{ref.COUNTRIES[country[i]][2]} {phone_a[i]} {phone_b[i]}")
            firsts.append(f)
            lasts.append(la)
        birth = ((created // US_PER_DAY) - rng.integers(18 * 365, 80 * 365, n)).astype(
            "datetime64[D]"
        )
        table = pa.table(
            {
                "customer_id": pa.array(np.arange(1, n + 1), pa.int64()),
                "email": pa.array(emails, pa.string()),
                "phone": pa.array(phones, pa.string()),
                "first_name": pa.array(firsts, pa.string()),
                "last_name": pa.array(lasts, pa.string()),
                "birth_date": pa.array(birth, pa.date32()),
                "marketing_opt_in": pa.array((rng.random(n) < 0.3).astype(np.int64)),
                "created_at": _ts(created),
                "updated_at": _ts(created),
            }
        )
        return table, country

    def _addresses(
        self, cust_created: np.ndarray, country: np.ndarray
    ) -> tuple[pa.Table, np.ndarray]:
        rng = self.rng["addresses"]
        n_cust = len(cust_created)
        second = rng.random(n_cust) < 0.2
        owner = np.concatenate([np.arange(n_cust), np.flatnonzero(second)])
        created = np.concatenate(
            [cust_created, cust_created[second] + rng.integers(1, 200, second.sum()) * US_PER_DAY]
        )
        order = np.argsort(created, kind="stable")
        owner, created = owner[order], created[order]
        is_default = np.zeros(len(owner), dtype=np.int64)
        is_default[np.argsort(order, kind="stable")[:n_cust]] = 1
        addr_id = np.arange(1, len(owner) + 1)
        default_addr = np.empty(n_cust, dtype=np.int64)
        default_addr[owner[is_default == 1]] = addr_id[is_default == 1]
        cty = country[owner]
        # a second address may be in another country
        moved = (is_default == 0) & (rng.random(len(owner)) < 0.3)
        cty = np.where(
            moved, _weighted(rng, np.array([c[3] for c in ref.COUNTRIES]), len(owner)), cty
        )
        house = rng.integers(1, 250, len(owner))
        street = rng.integers(0, len(ref.STREETS), len(owner))
        kind = rng.integers(0, len(ref.STREET_KINDS), len(owner))
        city_pick = rng.integers(0, 1 << 20, len(owner))
        postal = rng.integers(10000, 99999, len(owner))
        lines, cities, codes = [], [], []
        for i in range(len(owner)):
            c = ref.COUNTRIES[cty[i]]
            lines.append(f"{house[i]} {ref.STREETS[street[i]]} {ref.STREET_KINDS[kind[i]]}")
            cities.append(c[4][city_pick[i] % len(c[4])])
            codes.append(c[0])
        table = pa.table(
            {
                "address_id": pa.array(addr_id, pa.int64()),
                "customer_id": pa.array(owner + 1, pa.int64()),
                "line1": lines,
                "city": cities,
                "postal_code": pa.array([str(p) for p in postal]),
                "country": codes,
                "is_default": pa.array(is_default),
                "created_at": _ts(created),
                "updated_at": _ts(created),
            }
        )
        return table, default_addr

    def _dirty_customers(self, t: pa.Table) -> pa.Table:
        rng = self.rng["dirt"]
        n = t.num_rows
        rate = self.cfg.dirt
        emails = t["email"].to_pylist()
        phones = t["phone"].to_pylist()
        firsts = t["first_name"].to_pylist()
        lasts = t["last_name"].to_pylist()
        bad_e = rng.random(n) < rate
        messy_e = (rng.random(n) < rate) & ~bad_e
        bad_p = rng.random(n) < rate
        messy_n = rng.random(n) < rate
        picks = rng.integers(0, 1 << 20, n)
        for i in np.flatnonzero(bad_e):
            if picks[i] % 3 == 0:
                emails[i] = None
            else:
                user, domain = emails[i].split("@")
                emails[i] = MALFORMED_EMAILS[picks[i] % len(MALFORMED_EMAILS)].format(
                    u=user, d=domain
                )
        for i in np.flatnonzero(messy_e):
            emails[i] = _messy(emails[i], rng)
        for i in np.flatnonzero(bad_p):
            phones[i] = (
                None if picks[i] % 3 == 0 else MALFORMED_PHONES[picks[i] % len(MALFORMED_PHONES)]
            )
        for i in np.flatnonzero(messy_n):
            firsts[i] = _messy(firsts[i], rng)
            lasts[i] = _messy(lasts[i], rng)
        t = t.set_column(t.schema.get_field_index("email"), "email", pa.array(emails, pa.string()))
        t = t.set_column(t.schema.get_field_index("phone"), "phone", pa.array(phones, pa.string()))
        t = t.set_column(
            t.schema.get_field_index("first_name"), "first_name", pa.array(firsts, pa.string())
        )
        return t.set_column(
            t.schema.get_field_index("last_name"), "last_name", pa.array(lasts, pa.string())
        )

    def _dirty_addresses(self, t: pa.Table) -> pa.Table:
        rng = self.rng["dirt"]
        codes = t["country"].to_pylist()
        names = {c[0]: c[1] for c in ref.COUNTRIES}
        messy = rng.random(len(codes)) < self.cfg.dirt
        picks = rng.integers(0, 3, len(codes))
        for i in np.flatnonzero(messy):
            code = codes[i]
            codes[i] = [names[code], f" {code.lower()}", names[code].lower()][picks[i]]
        return t.set_column(
            t.schema.get_field_index("country"), "country", pa.array(codes, pa.string())
        )

    # -- lifecycle ------------------------------------------------------------
    def _statuses(self, placed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Status by age at the shop's 'now', and the time of the last change."""
        rng = self.rng["status"]
        n = len(placed)
        age = self.cfg.end_us - placed
        names = np.array(ref.ORDER_STATUSES)
        # columns: pending, paid, shipped, delivered, cancelled, returned
        buckets = [
            (3600 * US_PER_S, [60, 40, 0, 0, 0, 0]),
            (2 * US_PER_DAY, [5, 55, 35, 0, 5, 0]),
            (7 * US_PER_DAY, [0, 5, 45, 43, 5, 2]),
            (None, [0, 0, 0, 89, 6, 5]),
        ]
        status = np.empty(n, dtype=object)
        low = np.zeros(n, dtype=bool)
        for limit, weights in buckets:
            mask = ~low if limit is None else (age < limit) & ~low
            status[mask] = names[_weighted(rng, np.array(weights, float), int(mask.sum()))]
            low |= mask
        frac = rng.random(n)
        updated = placed + (frac * np.minimum(age, 10 * US_PER_DAY)).astype(np.int64)
        updated = np.where(status == "pending", placed, updated)
        return status, updated // US_PER_S * US_PER_S

    def _payments(
        self, order_id: np.ndarray, status: np.ndarray, total: np.ndarray, placed: np.ndarray
    ) -> pa.Table:
        rng = self.rng["payments"]
        has = status != "pending"
        oid = order_id[has]
        n = len(oid)
        methods = np.array([m for m, _ in ref.PAYMENT_METHODS])
        method = methods[_weighted(rng, np.array([w for _, w in ref.PAYMENT_METHODS], float), n)]
        refunded = np.isin(status[has], ["cancelled", "returned"])
        paid_at = placed[has] + rng.integers(5, 900, n) * US_PER_S
        return pa.table(
            {
                "payment_id": pa.array(np.arange(1, n + 1), pa.int64()),
                "order_id": pa.array(oid, pa.int64()),
                "method": pa.array(method.tolist(), pa.string()),
                "status": pa.array(
                    np.where(refunded, "refunded", "captured").tolist(), pa.string()
                ),
                "amount": _money(np.abs(total[has])),
                "paid_at": _ts(paid_at),
                "created_at": _ts(placed[has]),
                "updated_at": _ts(paid_at),
            }
        )

    def _shipments(
        self, order_id: np.ndarray, status: np.ndarray, placed: np.ndarray, updated: np.ndarray
    ) -> pa.Table:
        rng = self.rng["shipments"]
        has = np.isin(status, ["shipped", "delivered", "returned"])
        oid = order_id[has]
        n = len(oid)
        span = np.maximum(updated[has] - placed[has], US_PER_S)
        shipped = placed[has] + (span * rng.uniform(0.1, 0.5, n)).astype(np.int64)
        arrived = np.isin(status[has], ["delivered", "returned"])
        delivered = np.where(arrived, updated[has], 0)
        ship_status = np.where(
            status[has] == "returned", "returned", np.where(arrived, "delivered", "in_transit")
        )
        carrier = np.array(ref.CARRIERS)[rng.integers(0, len(ref.CARRIERS), n)]
        tracking = rng.integers(10**11, 10**12, n)
        return pa.table(
            {
                "shipment_id": pa.array(np.arange(1, n + 1), pa.int64()),
                "order_id": pa.array(oid, pa.int64()),
                "carrier": pa.array(carrier.tolist(), pa.string()),
                "tracking_number": pa.array(
                    [f"{c.upper()}{t}" for c, t in zip(carrier, tracking, strict=True)]
                ),
                "status": pa.array(ship_status.tolist(), pa.string()),
                "shipped_at": _ts(shipped // US_PER_S * US_PER_S),
                "delivered_at": pa.array(
                    delivered.astype("datetime64[us]"), pa.timestamp("us"), mask=~arrived
                ),
                "created_at": _ts(shipped // US_PER_S * US_PER_S),
                "updated_at": _ts(np.maximum(updated[has], shipped)),
            }
        )


def _ranges(lengths: np.ndarray) -> np.ndarray:
    """[0..l0-1, 0..l1-1, ...] for an array of lengths."""
    total = int(lengths.sum())
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.arange(total) - starts


def _messy(value: str, rng: np.random.Generator) -> str:
    """Stray whitespace and mixed case, the way hand-typed and legacy data looks."""
    style = int(rng.integers(0, 4))
    if style == 0:
        value = value.upper()
    elif style == 1:
        value = value.title()
    elif style == 2:
        value = "".join(c.upper() if i % 2 else c for i, c in enumerate(value))
    pad = int(rng.integers(1, 3))
    return " " * pad + value if rng.random() < 0.5 else value + " " * pad


_ASCII = str.maketrans(
    {"ü": "ue", "é": "e", "í": "i", "á": "a", "ó": "o", "ë": "e", "ñ": "n", "'": "", " ": ""}
)


def _ascii(name: str) -> str:
    return name.lower().translate(_ASCII)


def generate(config: ShopConfig) -> ShopData:
    return Generator(config).generate()
