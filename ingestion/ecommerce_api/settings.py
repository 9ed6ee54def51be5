"""What the e-commerce API source fetches, how it pages, and which fields never land in clear."""

from __future__ import annotations

from dataclasses import dataclass

RESOURCES = {
    # name: (path, key of the records in DummyJSON's envelope, paged)
    "products": ("products", "products", True),
    "product_categories": ("products/categories", "$", False),
    "carts": ("carts", "carts", True),
    "users": ("users", "users", True),
}

PAGING_STYLES = ("offset", "page_number", "link_header")


@dataclass(frozen=True)
class Paging:
    """How an API pages, with its own parameter names.

    DummyJSON: ``offset`` with ``skip``/``limit`` and the body's ``total``. json-server:
    ``page_number`` with ``_page``/``_limit`` (or ``offset`` with ``_start``/``_limit``) and
    an ``X-Total-Count`` header. Many others: ``page``/``per_page`` with ``Link`` headers.
    """

    style: str = "offset"
    offset_param: str = "skip"
    limit_param: str = "limit"
    page_param: str = "page"
    page_size_param: str = "per_page"

    def __post_init__(self) -> None:
        if self.style not in PAGING_STYLES:
            raise ValueError(f"paging={self.style!r}: use one of {', '.join(PAGING_STYLES)}")

    def describe(self) -> str:
        if self.style == "offset":
            return f"--paging offset (--offset-param {self.offset_param} --limit-param {self.limit_param})"
        return (
            f"--paging {self.style} (--page-param {self.page_param} "
            f"--page-size-param {self.page_size_param})"
        )


# Fields that never reach the lake or the warehouse in clear, by resource and dotted path.
# "drop" removes the field; "hash" replaces it with a salted SHA-256 ($LAKESHOP_PII_SALT), so
# equal values still join. Silver masks the rest of the personal data (names, emails, phones).
SENSITIVE_FIELDS: dict[str, dict[str, str]] = {
    "users": {
        "password": "drop",
        "ssn": "hash",
        "ein": "hash",
        "bank.cardNumber": "hash",
        "bank.iban": "hash",
        "crypto.wallet": "hash",
        "ip": "hash",
        "macAddress": "hash",
    },
}
