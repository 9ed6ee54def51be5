"""The API's data: the shop's products and customers rendered in DummyJSON's shapes.

Ids and SKUs are the shop's own, so API data joins the MySQL data. Fields the shop does not
hold (ratings, stock, reviews, banks, companies) are derived from a per-record random stream,
so they are the same on every start.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from sandbox.shop import reference as ref
from sandbox.shop.target import MySQLTarget

CARTS_FROM_ORDERS = 2_000  # the most recent orders become converted carts
ABANDON_RATIO = 2.3  # about 70% of carts are abandoned, as in real shops

REVIEW_TEXT = [
    (5, "Very satisfied!"), (5, "Highly recommended!"), (4, "Would buy again!"),
    (4, "Great value for money!"), (3, "It's okay."), (2, "Not as described!"),
    (1, "Very disappointed!"), (2, "Would not recommend!"),
]  # fmt: skip
CARD_TYPES = ["Visa", "Mastercard", "American Express", "Discover"]
DEPARTMENTS = ["Engineering", "Marketing", "Sales", "Support", "Legal", "Accounting"]
TITLES = ["Manager", "Engineer", "Analyst", "Director", "Assistant", "Consultant"]


@dataclass(frozen=True)
class ProductRow:
    id: int
    sku: str
    title: str
    brand: str | None
    category: str
    price: float
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class UserRow:
    id: int
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    birth_date: dt.date | None
    line1: str | None
    city: str | None
    postal_code: str | None
    country: str | None


def _stable_rng(*parts: object) -> random.Random:
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _iso(value: dt.datetime | dt.date) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return value.isoformat()


def _ascii(text: str | None) -> str:
    return "".join(c for c in (text or "").lower() if c.isascii() and c.isalnum())


class ApiWorld:
    """Products, categories, users and carts, rendered on demand from compact rows."""

    page_numbers = True  # also serves ?page=N&per_page=M with X-Total-Count and Link headers

    def __init__(
        self,
        products: list[ProductRow],
        users: list[UserRow],
        orders: list[tuple[int, int, list[tuple[int, int]]]],
        seed: int = 42,
    ) -> None:
        self.seed = seed
        self.product_rows = sorted(products, key=lambda p: p.id)
        self.product_index = {p.id: i for i, p in enumerate(self.product_rows)}
        self.user_rows = sorted(users, key=lambda u: u.id)
        self.user_index = {u.id: i for i, u in enumerate(self.user_rows)}
        self._products = [self._render_product(p) for p in self.product_rows]
        self.carts = self._build_carts(orders)
        self.cart_index = {c["id"]: i for i, c in enumerate(self.carts)}
        self.usernames = {self.username(u): u for u in self.user_rows}

    # -- products ------------------------------------------------------------
    @property
    def products(self) -> list[dict[str, Any]]:
        return self._products

    def categories(self) -> list[dict[str, str]]:
        present = {p.category for p in self.product_rows}
        return [
            {"slug": slug, "name": name, "url": f"/products/category/{slug}"}
            for slug, name, *_ in ref.CATEGORIES
            if slug in present
        ]

    def _render_product(self, p: ProductRow) -> dict[str, Any]:
        rng = _stable_rng(self.seed, "product", p.id)
        stock = rng.choice([0, rng.randint(1, 9), rng.randint(10, 250)])
        reviews: list[dict[str, Any]] = []
        for _ in range(rng.randint(0, 5)):
            stars, comment = rng.choice(REVIEW_TEXT)
            first, last = rng.choice(ref.FIRST_NAMES), rng.choice(ref.LAST_NAMES)
            when = p.created_at + dt.timedelta(
                days=rng.randint(1, 300), seconds=rng.randint(0, 86399)
            )
            reviews.append(
                {
                    "rating": stars,
                    "comment": comment,
                    "date": _iso(when),
                    "reviewerName": f"{first} {last}",
                    "reviewerEmail": f"{_ascii(first)}.{_ascii(last)}@x.example",
                }
            )
        scores = [int(r["rating"]) for r in reviews]
        rating = round(sum(scores) / len(scores), 2) if scores else round(rng.uniform(2.5, 5), 2)
        slug = p.category
        tags = sorted(
            {slug.split("-")[0], rng.choice(["bestseller", "new", "sale", "eco", "gift"])}
        )
        base = f"https://cdn.shop.example/product-images/{slug}/{p.id}"
        return {
            "id": p.id,
            "title": p.title,
            "description": f"{p.title}: a {slug.replace('-', ' ')} item from {p.brand or 'our range'}.",
            "category": slug,
            "price": p.price,
            "discountPercentage": round(rng.uniform(0, 20), 2),
            "rating": rating,
            "stock": stock,
            "tags": tags,
            "brand": p.brand,
            "sku": p.sku,
            "weight": rng.randint(1, 10),
            "dimensions": {
                "width": round(rng.uniform(5, 30), 2),
                "height": round(rng.uniform(5, 30), 2),
                "depth": round(rng.uniform(5, 30), 2),
            },
            "warrantyInformation": rng.choice(
                ["1 year warranty", "2 year warranty", "No warranty"]
            ),
            "shippingInformation": rng.choice(
                ["Ships in 1-2 business days", "Ships overnight", "Ships in 1 week"]
            ),
            "availabilityStatus": "Out of Stock"
            if stock == 0
            else ("Low Stock" if stock < 10 else "In Stock"),
            "reviews": reviews,
            "returnPolicy": rng.choice(
                ["30 days return policy", "60 days return policy", "No return policy"]
            ),
            "minimumOrderQuantity": rng.choice([1, 1, 1, 2, 5, 10]),
            "meta": {
                "createdAt": _iso(p.created_at),
                "updatedAt": _iso(p.updated_at),
                "barcode": str(rng.randint(10**12, 10**13 - 1)),
                "qrCode": "https://cdn.shop.example/qr-code.png",
            },
            "images": [f"{base}/{i}.webp" for i in range(1, rng.randint(1, 4) + 1)],
            "thumbnail": f"{base}/thumbnail.webp",
        }

    # -- users ---------------------------------------------------------------
    def username(self, u: UserRow) -> str:
        return f"{_ascii(u.first_name) or 'user'}{u.id}"

    @staticmethod
    def password(u: UserRow) -> str:
        return f"pass-{u.id}"

    def user_count(self) -> int:
        return len(self.user_rows)

    def login_profile(self, username: str, password: str) -> dict[str, Any] | None:
        """What ``POST /auth/login`` returns besides the tokens, or None for bad credentials."""
        user = self.usernames.get(username)
        if user is None or password != self.password(user):
            return None
        return {"id": user.id, "username": self.username(user), "email": user.email,
                "firstName": user.first_name, "lastName": user.last_name}  # fmt: skip

    def search_users(self, q: str) -> list[dict[str, Any]]:
        return [
            self.user(i) for i, u in enumerate(self.user_rows)
            if q in f"{u.first_name} {u.last_name} {u.email}".lower()
        ]  # fmt: skip

    def user(self, index: int) -> dict[str, Any]:
        u = self.user_rows[index]
        rng = _stable_rng(self.seed, "user", u.id)
        country = {c[0]: c[1] for c in ref.COUNTRIES}.get(
            (u.country or "").strip().upper(), u.country
        )
        birth = u.birth_date or dt.date(1990, 1, 1)
        age = max(0, (dt.date(2026, 1, 1) - birth).days // 365)
        card = "".join(str(rng.randint(0, 9)) for _ in range(16))
        return {
            "id": u.id,
            "firstName": u.first_name,
            "lastName": u.last_name,
            "maidenName": "",
            "age": age,
            "gender": rng.choice(["female", "male"]),
            "email": u.email,
            "phone": u.phone,
            "username": self.username(u),
            "password": self.password(u),
            "birthDate": f"{birth.year}-{birth.month}-{birth.day}",
            "image": f"https://cdn.shop.example/icon/{self.username(u)}/128",
            "bloodGroup": rng.choice(["A+", "A-", "B+", "O+", "O-", "AB+"]),
            "height": round(rng.uniform(150, 200), 2),
            "weight": round(rng.uniform(50, 110), 2),
            "eyeColor": rng.choice(["Brown", "Blue", "Green", "Gray", "Amber"]),
            "hair": {"color": rng.choice(["Brown", "Black", "Blond", "Red"]), "type": rng.choice(["Straight", "Wavy", "Curly"])},
            "ip": f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            "address": {
                "address": u.line1,
                "city": u.city,
                "state": "",
                "stateCode": "",
                "postalCode": u.postal_code,
                "coordinates": {"lat": round(rng.uniform(-60, 70), 5), "lng": round(rng.uniform(-170, 170), 5)},
                "country": country,
            },
            "macAddress": ":".join(f"{rng.randint(0, 255):02x}" for _ in range(6)),
            "university": rng.choice(["State University", "Technical University", "City College"]),
            "bank": {
                "cardExpire": f"{rng.randint(1, 12):02d}/{rng.randint(26, 31)}",
                "cardNumber": card,
                "cardType": rng.choice(CARD_TYPES),
                "currency": "USD",
                "iban": f"{(u.country or 'XX').strip()[:2].upper()}{rng.randint(10**19, 10**20 - 1)}",
            },
            "company": {
                "department": rng.choice(DEPARTMENTS),
                "name": f"{rng.choice(ref.LAST_NAMES)} Group",
                "title": rng.choice(TITLES),
                "address": {"address": f"{rng.randint(1, 500)} {rng.choice(ref.STREETS)} Street", "city": u.city, "country": country},
            },
            "ein": f"{rng.randint(10, 99)}-{rng.randint(1000000, 9999999)}",
            "ssn": f"{rng.randint(100, 999)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}",
            "userAgent": "Mozilla/5.0 (X11; Linux x86_64)",
            "crypto": {"coin": "Bitcoin", "wallet": "0x" + "".join(rng.choice("0123456789abcdef") for _ in range(40)), "network": "Ethereum (ERC20)"},
            "role": "admin" if u.id == self.user_rows[0].id else rng.choice(["user", "user", "user", "moderator"]),
        }  # fmt: skip

    # -- carts ---------------------------------------------------------------
    def _cart(
        self, cart_id: int, user_id: int, lines: list[tuple[int, int]], rng: random.Random
    ) -> dict[str, Any]:
        products = []
        for product_id, qty in lines:
            idx = self.product_index.get(product_id)
            if idx is None:
                continue  # an order line pointing at no product: no cart line for it
            p = self._products[idx]
            total = round(p["price"] * qty, 2)
            pct = round(rng.choice([0, 0, rng.uniform(1, 20)]), 2)
            products.append(
                {
                    "id": product_id,
                    "title": p["title"],
                    "price": p["price"],
                    "quantity": qty,
                    "total": total,
                    "discountPercentage": pct,
                    "discountedTotal": round(total * (1 - pct / 100), 2),
                    "thumbnail": p["thumbnail"],
                }
            )
        return {
            "id": cart_id,
            "products": products,
            "total": round(sum(x["total"] for x in products), 2),
            "discountedTotal": round(sum(x["discountedTotal"] for x in products), 2),
            "userId": user_id,
            "totalProducts": len(products),
            "totalQuantity": sum(x["quantity"] for x in products),
        }

    def _build_carts(
        self, orders: list[tuple[int, int, list[tuple[int, int]]]]
    ) -> list[dict[str, Any]]:
        """Converted carts (one per recent order) interleaved with abandoned ones."""
        rng = _stable_rng(self.seed, "carts")
        if not self.product_rows or not self.user_rows:
            return []
        # an order whose customer does not exist (dirty source data) had no user session
        recent = [o for o in sorted(orders)[-CARTS_FROM_ORDERS:] if o[1] in self.user_index]
        n_abandoned = int(len(recent) * ABANDON_RATIO) if recent else min(50, len(self.user_rows))
        weights = [1.0 / (i + 1) ** 1.07 for i in range(len(self.product_rows))]
        plan: list[tuple[int, list[tuple[int, int]]]] = [(user, lines) for _, user, lines in recent]
        for _ in range(n_abandoned):
            user = self.user_rows[rng.randrange(len(self.user_rows))].id
            picks = rng.choices(self.product_rows, weights=weights, k=rng.randint(1, 4))
            plan.insert(
                rng.randint(0, len(plan)), (user, [(p.id, rng.randint(1, 3)) for p in picks])
            )
        carts = []
        for i, (user, lines) in enumerate(plan, start=1):
            merged: dict[int, int] = {}
            for pid, qty in lines:
                merged[pid] = merged.get(pid, 0) + max(int(qty), 1)
            carts.append(self._cart(i, user, list(merged.items()), rng))
        return carts

    # -- construction --------------------------------------------------------
    @classmethod
    def from_tables(cls, tables: dict[str, pa.Table], seed: int = 42) -> ApiWorld:
        """From generated shop tables (``ShopData.tables``); money columns hold cents."""
        slugs = dict(
            zip(
                tables["categories"]["category_id"].to_pylist(),
                tables["categories"]["slug"].to_pylist(),
                strict=True,
            )
        )
        products = [
            ProductRow(r["product_id"], r["sku"], r["title"], r["brand"], slugs[r["category_id"]], r["price"] / 100, r["created_at"], r["updated_at"])
            for r in tables["products"].to_pylist()
        ]  # fmt: skip
        addresses = {
            r["customer_id"]: r for r in tables["addresses"].to_pylist() if r["is_default"] == 1
        }
        users = []
        for r in tables["customers"].to_pylist():
            a = addresses.get(r["customer_id"], {})
            users.append(
                UserRow(r["customer_id"], r["first_name"], r["last_name"], r["email"], r["phone"], r["birth_date"],
                        a.get("line1"), a.get("city"), a.get("postal_code"), a.get("country"))
            )  # fmt: skip
        orders_t = tables["orders"]
        last_ids = set(orders_t["order_id"].to_pylist()[-CARTS_FROM_ORDERS:])
        customer_of = dict(
            zip(orders_t["order_id"].to_pylist(), orders_t["customer_id"].to_pylist(), strict=True)
        )
        lines: dict[int, list[tuple[int, int]]] = {}
        items = tables["order_items"]
        for oid, pid, qty in zip(
            items["order_id"].to_pylist(),
            items["product_id"].to_pylist(),
            items["quantity"].to_pylist(),
            strict=True,
        ):
            if oid in last_ids:
                lines.setdefault(oid, []).append((pid, qty))
        orders = [(oid, customer_of[oid], ls) for oid, ls in lines.items()]
        return cls(products, users, orders, seed)

    @classmethod
    def from_mysql(cls, target: MySQLTarget, seed: int = 42) -> ApiWorld:
        """From the live shop database: the same world the CDC source reads."""
        from sandbox.shop.seed import connect

        with connect(target) as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT p.product_id, p.sku, p.title, p.brand, c.slug, p.price, p.created_at, p.updated_at "
                "FROM products p JOIN categories c ON c.category_id = p.category_id"
            )
            products = [
                ProductRow(r[0], r[1], r[2], r[3], r[4], float(r[5]), r[6], r[7])
                for r in cur.fetchall()
            ]
            cur.execute(
                "SELECT c.customer_id, c.first_name, c.last_name, c.email, c.phone, c.birth_date, "
                "a.line1, a.city, a.postal_code, a.country FROM customers c "
                "LEFT JOIN addresses a ON a.customer_id = c.customer_id AND a.is_default = 1"
            )
            users = [UserRow(*r) for r in cur.fetchall()]
            cur.execute(
                "SELECT o.order_id, o.customer_id, i.product_id, i.quantity FROM "
                "(SELECT order_id, customer_id FROM orders ORDER BY order_id DESC LIMIT %s) o "
                "JOIN order_items i ON i.order_id = o.order_id",
                (CARTS_FROM_ORDERS,),
            )
            grouped: dict[int, tuple[int, list[tuple[int, int]]]] = {}
            for oid, cid, pid, qty in cur.fetchall():
                grouped.setdefault(oid, (cid, []))[1].append((pid, qty))
        orders = [(oid, cid, lines) for oid, (cid, lines) in grouped.items()]
        return cls(products, users, orders, seed)
