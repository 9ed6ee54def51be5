"""Where lakeshop keeps its state and where its defaults point (every value overridable by env)."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse


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


class PiiSaltError(RuntimeError):
    """No salt of one's own for data that is not the local demo's."""


LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", ""}


def pii_salt(source_url: str | None = None) -> str:
    """The one salt of ingestion and dbt: ``$LAKESHOP_PII_SALT`` (or ``sources.pii_salt`` in
    dlt's providers: secrets.toml, AWS Secrets Manager). Without one, the development salt,
    which is public: its hashes of a small space (an EIN, an SSN, an IPv4) are reversed by
    trying every value. So a source that is not on this machine (``source_url``) refuses."""
    from ingestion.secrets import secret

    configured = secret("LAKESHOP_PII_SALT")
    if configured:
        return configured
    host = (urlparse(source_url).hostname or "") if source_url else ""
    if source_url and host not in LOCAL_HOSTS and not host.startswith("127."):
        raise PiiSaltError(
            f"refusing to fetch from {host} without LAKESHOP_PII_SALT: the default salt is public, "
            "so hashed fields could be reversed. Set LAKESHOP_PII_SALT to a long random secret "
            "(environment, .dlt/secrets.toml as sources.pii_salt, or AWS Secrets Manager), the "
            "same for ingestion and dbt"
        )
    return DEV_PII_SALT


SHOP_DATABASE = "shop"
CDC_USER = "lakeshop_cdc"
CDC_PASSWORD = "lakeshop_cdc"  # local private instance only; use secrets for real servers
WAREHOUSE_DATABASE = "warehouse"
WAREHOUSE_USER = "lakeshop"
WAREHOUSE_PASSWORD = "lakeshop"  # dlt needs a password in the URL even under trust auth
LAKE_BUCKET = "lakeshop-lake"
