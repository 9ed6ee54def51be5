"""Where lakeshop keeps its state and where its defaults point (every value overridable by env)."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """The state directory: ``$LAKESHOP_HOME`` or ``./.lakeshop``."""
    return Path(os.environ.get("LAKESHOP_HOME", ".lakeshop")).resolve()


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"{name}={raw!r} is not a port number; set it to e.g. {default}") from exc


def mariadb_port() -> int:
    return _port("LAKESHOP_MARIADB_PORT", 3307)


def postgres_port() -> int:
    return _port("LAKESHOP_POSTGRES_PORT", 5433)


def s3_port() -> int:
    return _port("LAKESHOP_S3_PORT", 5010)


def api_port() -> int:
    return _port("LAKESHOP_API_PORT", 8010)


# The PII salt when $LAKESHOP_PII_SALT is not set (the demo, tests): set it in production.
DEV_PII_SALT = "lakeshop-development-salt"


def pii_salt() -> str:
    """``$LAKESHOP_PII_SALT``, or the development salt: the one salt of ingestion and dbt."""
    return os.environ.get("LAKESHOP_PII_SALT") or DEV_PII_SALT


SHOP_DATABASE = "shop"
CDC_USER = "lakeshop_cdc"
CDC_PASSWORD = "lakeshop_cdc"  # local private instance only; use secrets for real servers
WAREHOUSE_DATABASE = "warehouse"
WAREHOUSE_USER = "lakeshop"
WAREHOUSE_PASSWORD = "lakeshop"  # dlt needs a password in the URL even under trust auth
LAKE_BUCKET = "lakeshop-lake"
