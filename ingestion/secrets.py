"""Where credentials come from: the environment, `.dlt/secrets.toml`, or a secrets manager.

Each credential lakeshop uses is looked up in this order:

1. its lakeshop environment variable (``LAKESHOP_CDC_URL``, ``LAKESHOP_API_PASSWORD``, ...);
2. dlt's configuration providers under its dlt key (``sources.mysql_cdc.credentials``, ...):
   the ``SOURCES__MYSQL_CDC__CREDENTIALS`` environment variable, ``.dlt/secrets.toml`` (an
   example is committed as ``.dlt/example.secrets.toml``; the real file is git-ignored), and
   AWS Secrets Manager when ``PROVIDERS__ENABLE_AWS_SECRETS=true`` (dlt's own provider: its
   access under ``PROVIDERS__AWS_SECRETS__CREDENTIALS__*``, secrets named ``dlt/sources``,
   ``dlt/destination`` holding TOML fragments);
3. the local default (the private servers' development credentials), where there is one.

A value found is never logged: callers pass it to the client that needs it and nowhere else.
"""

from __future__ import annotations

import os
from typing import Any

# the dlt key of each lakeshop environment variable
KEYS = {
    "LAKESHOP_CDC_URL": "sources.mysql_cdc.credentials",
    "LAKESHOP_API_USERNAME": "sources.ecommerce_api.username",
    "LAKESHOP_API_PASSWORD": "sources.ecommerce_api.password",
    "LAKESHOP_API_KEY": "sources.ecommerce_api.api_key",
    "LAKESHOP_PII_SALT": "sources.pii_salt",
    "LAKESHOP_PG_URL": "destination.postgres.credentials",
    "LAKESHOP_REDSHIFT_URL": "destination.redshift.credentials",
    "AWS_ACCESS_KEY_ID": "destination.filesystem.credentials.aws_access_key_id",
    "AWS_SECRET_ACCESS_KEY": "destination.filesystem.credentials.aws_secret_access_key",
    "AZURE_STORAGE_CONNECTION_STRING": "destination.filesystem.credentials.connection_string",
    "AZURE_STORAGE_ACCOUNT_NAME": "destination.filesystem.credentials.azure_storage_account_name",
    "AZURE_STORAGE_ACCOUNT_KEY": "destination.filesystem.credentials.azure_storage_account_key",
}


def secret(env_var: str, default: str | None = None) -> str | None:
    """The credential named by a lakeshop environment variable, from the first place that has
    it (see the module docstring), else ``default``."""
    value = os.environ.get(env_var)
    if value:
        return value
    key = KEYS.get(env_var)
    if key is not None:
        found = _from_dlt(key)
        if found:
            return found
    return default


def _from_dlt(key: str) -> str | None:
    """The first of dlt's providers that holds ``key``, asked as a secret: the vault providers
    (AWS Secrets Manager) answer only lookups typed as secrets, which `dlt.secrets.get`
    without a type is not."""
    from dlt.common.configuration.accessors import secrets
    from dlt.common.typing import TSecretStrValue

    *sections, name = key.split(".")
    for provider in secrets.config_providers:
        if not provider.supports_secrets:
            continue
        value: Any
        value, _ = provider.get_value(name, TSecretStrValue, None, *sections)
        if value is None:
            continue
        if isinstance(value, dict):
            raise ValueError(f"{key} must be a single value (a connection string), not a table")
        return str(value)
    return None
