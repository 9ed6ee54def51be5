"""The project's private local services: MariaDB (binlog on), PostgreSQL, S3 (SeaweedFS), and
Azurite for the Azure copy of the lake (started by its tests, not by `lakeshop services`)."""

from __future__ import annotations

from pathlib import Path

from ingestion import config
from sandbox.services.azurite import Azurite
from sandbox.services.base import Service, ServiceError, Status, free_port, port_open
from sandbox.services.mariadb import MariaDB
from sandbox.services.postgres import Postgres
from sandbox.services.s3 import S3

__all__ = [
    "S3",
    "Azurite",
    "MariaDB",
    "Postgres",
    "Service",
    "ServiceError",
    "Status",
    "all_services",
    "free_port",
    "port_open",
]


def all_services(home: Path | None = None) -> list[Service]:
    """The services in start order, under the state directory ``home``."""
    base = home or config.home()
    return [
        MariaDB(base / "mariadb", config.mariadb_port()),
        Postgres(base / "postgres", config.postgres_port()),
        S3(base / "s3", config.s3_port()),
    ]
