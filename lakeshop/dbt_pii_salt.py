"""A dbt-duckdb plugin: the PII salt as a session variable, never as text in the SQL.

profiles.yml.example loads it on the duckdb target (`plugins: [{module:
lakeshop.dbt_pii_salt}]`). Every connection and cursor dbt opens gets the variable
``lakeshop_pii_salt`` ($LAKESHOP_PII_SALT, else the development salt), which the mask_pii
macro reads with ``getvariable``; so the salt is in no compiled model, manifest, docs page
or view definition.
"""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from ingestion.config import pii_salt


def _set_salt(connection: Any) -> None:
    connection.execute("set variable lakeshop_pii_salt = ?", [pii_salt()])


class Plugin(BasePlugin):
    def configure_connection(self, conn: Any) -> None:
        _set_salt(conn)

    def configure_cursor(self, cursor: Any) -> Any:
        _set_salt(cursor)
        return cursor
