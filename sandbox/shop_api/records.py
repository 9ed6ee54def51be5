"""A world that serves JSON records exactly as they are, e.g. DummyJSON's own database files.

`ApiWorld` renders the synthetic shop; this one hands out records nobody here wrote, unchanged,
so the API source meets real data: DummyJSON's products, carts and users (in
``../shared/data/dummyjson/``). With ``page_numbers=False`` the server also pages as the real
DummyJSON does: it ignores ``page``/``per_page`` and sends no ``X-Total-Count`` or ``Link``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any


class RecordsWorld:
    """Products, carts and users from lists of records; categories derived as DummyJSON does."""

    page_numbers = False  # the real DummyJSON ignores ?page= and ?per_page=

    def __init__(
        self,
        products: list[dict[str, Any]],
        carts: list[dict[str, Any]],
        users: list[dict[str, Any]],
    ) -> None:
        self._products = products
        self.carts = carts
        self.users = users
        self.reindex()

    @classmethod
    def from_folder(cls, folder: Path) -> RecordsWorld:
        """``products.json``, ``carts.json``, ``users.json``: lists, or DummyJSON envelopes."""

        def load(name: str) -> list[dict[str, Any]]:
            data = json.loads((folder / f"{name}.json").read_text())
            return list(data[name] if isinstance(data, dict) else data)

        return cls(load("products"), load("carts"), load("users"))

    def copy(self) -> RecordsWorld:
        """A deep copy to change between runs without touching the loaded files."""
        return RecordsWorld(
            copy.deepcopy(self._products), copy.deepcopy(self.carts), copy.deepcopy(self.users)
        )

    def reindex(self) -> None:
        """Call after adding or removing records."""
        self.product_index = {p["id"]: i for i, p in enumerate(self._products) if "id" in p}
        self.cart_index = {c["id"]: i for i, c in enumerate(self.carts) if "id" in c}
        self.user_index = {u["id"]: i for i, u in enumerate(self.users) if "id" in u}

    @property
    def products(self) -> list[dict[str, Any]]:
        return self._products

    def categories(self) -> list[dict[str, str]]:
        slugs = sorted({str(p["category"]) for p in self._products if p.get("category")})
        return [
            {
                "slug": slug,
                "name": slug.replace("-", " ").title(),
                "url": f"https://dummyjson.com/products/category/{slug}",
            }
            for slug in slugs
        ]

    def user_count(self) -> int:
        return len(self.users)

    def user(self, index: int) -> dict[str, Any]:
        return self.users[index]

    def search_users(self, q: str) -> list[dict[str, Any]]:
        return [
            u for u in self.users
            if q in f"{u.get('firstName', '')} {u.get('lastName', '')} {u.get('email', '')}".lower()
        ]  # fmt: skip

    def login_profile(self, username: str, password: str) -> dict[str, Any] | None:
        for u in self.users:
            if u.get("username") == username and u.get("password") == password:
                keys = ("id", "username", "email", "firstName", "lastName", "gender", "image")
                return {k: u.get(k) for k in keys}
        return None
