"""Defaults for the MySQL CDC source and where lakeshop lands its output."""

from __future__ import annotations

from ingestion import config
from ingestion.secrets import secret

DATASET = "raw_mysql"
# One folder per table, one date partition per load day, immutable files per load package.
LAKE_LAYOUT = "{table_name}/dt={YYYY}-{MM}-{DD}/{load_id}.{file_id}.{ext}"
MAX_ROWS_PER_RUN = 500_000
CHUNK_ROWS = 50_000
BATCH_ROWS = 100_000


def default_mysql_url() -> str:
    """$LAKESHOP_CDC_URL or dlt's `sources.mysql_cdc.credentials` (secrets.toml, AWS Secrets
    Manager: ingestion/secrets.py), else the private MariaDB with the least-privilege CDC user."""
    return secret("LAKESHOP_CDC_URL") or (
        f"mysql://{config.CDC_USER}:{config.CDC_PASSWORD}@127.0.0.1:{config.mariadb_port()}/{config.SHOP_DATABASE}"
    )
