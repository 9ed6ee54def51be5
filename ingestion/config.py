"""Where lakeshop keeps its state and how it reaches its services (all overridable by env)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse


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


SHOP_DATABASE = "shop"
CDC_USER = "lakeshop_cdc"
CDC_PASSWORD = "lakeshop_cdc"  # local private instance only; use secrets for real servers
WAREHOUSE_DATABASE = "warehouse"
WAREHOUSE_USER = "lakeshop"
WAREHOUSE_PASSWORD = "lakeshop"  # dlt needs a password in the URL even under trust auth
LAKE_BUCKET = "lakeshop-lake"


@dataclass(frozen=True)
class MySQLTarget:
    """Connection settings for the shop's MySQL/MariaDB."""

    host: str
    port: int
    user: str
    password: str
    database: str
    unix_socket: str | None = None

    def connect_kwargs(self) -> dict[str, object]:
        kw: dict[str, object] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "database": self.database,
        }
        if self.unix_socket:
            kw["unix_socket"] = self.unix_socket
        return kw

    def describe(self) -> str:
        return f"mysql://{self.user}@{self.host}:{self.port}/{self.database}"


def parse_mysql_url(url: str) -> MySQLTarget:
    """Parse ``mysql://user:pass@host:port/db``."""
    parsed = urlparse(url)
    if parsed.scheme not in {"mysql", "mariadb", "mysql+pymysql"}:
        raise SystemExit(
            f"not a MySQL URL: {url!r}; expected mysql://user:password@host:3306/database"
        )
    return MySQLTarget(
        host=parsed.hostname or "127.0.0.1",
        port=parsed.port or 3306,
        user=unquote(parsed.username or "root"),
        password=unquote(parsed.password or ""),
        database=(parsed.path or "/").lstrip("/") or SHOP_DATABASE,
    )


def shop_mysql(url: str | None = None) -> MySQLTarget:
    """The shop database: an explicit URL, ``$LAKESHOP_MYSQL_URL``, or the private MariaDB."""
    url = url or os.environ.get("LAKESHOP_MYSQL_URL")
    if url:
        return parse_mysql_url(url)
    sock = home() / "mariadb" / "mysqld.sock"
    return MySQLTarget(
        host="127.0.0.1",
        port=mariadb_port(),
        user="root",
        password="",
        database=SHOP_DATABASE,
        unix_socket=str(sock) if sock.exists() else None,
    )


def dbt_target() -> str:
    """The dbt target the profile picks when none is given: ``$LAKESHOP_DBT_TARGET`` or duckdb."""
    return os.environ.get("LAKESHOP_DBT_TARGET") or "duckdb"
