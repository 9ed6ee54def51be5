"""Where the shop's MySQL/MariaDB is: the private instance, or ``$LAKESHOP_MYSQL_URL``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

from ingestion import config


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
        database=(parsed.path or "/").lstrip("/") or config.SHOP_DATABASE,
    )


def shop_mysql(url: str | None = None) -> MySQLTarget:
    """The shop database: an explicit URL, ``$LAKESHOP_MYSQL_URL``, or the private MariaDB."""
    url = url or os.environ.get("LAKESHOP_MYSQL_URL")
    if url:
        return parse_mysql_url(url)
    sock = config.home() / "mariadb" / "mysqld.sock"
    return MySQLTarget(
        host="127.0.0.1",
        port=config.mariadb_port(),
        user="root",
        password="",
        database=config.SHOP_DATABASE,
        unix_socket=str(sock) if sock.exists() else None,
    )
