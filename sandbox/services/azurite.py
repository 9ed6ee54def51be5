"""A local Azure Blob Storage server (Azurite, from npm), the stand-in for ADLS Gen2.

Azurite 3.35.0 is the newest release that runs on Node 20 (3.37 needs Node 22). It speaks the
Blob API only: there is no DFS (hierarchical namespace) endpoint, so ADLS Gen2's directory
operations (atomic renames, ACLs) cannot be tested here; adlfs and dlt's `az://` use the
blob API and work against it. Started with `--disableTelemetry` (it reports usage by
default); its data is kept under the state folder.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from sandbox.services.base import Service, ServiceError

# Azurite's well-known development account (public, the same in every Azurite install)
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
CONTAINER = "lakeshop-lake"


def azurite_binary() -> str:
    """`azurite-blob` installed by `make node-tools` under .venv/node, or on the PATH."""
    beside = Path(sys.executable).parent.parent / "node" / "node_modules" / ".bin" / "azurite-blob"
    found = str(beside) if beside.exists() else shutil.which("azurite-blob")
    if not found:
        raise ServiceError(
            "Azurite is not installed; install it with: make node-tools (npm install "
            "--prefix .venv/node azurite@3.35.0)"
        )
    return found


class Azurite(Service):
    name = "azurite"

    def launch(self) -> None:
        argv = [
            azurite_binary(), "--blobHost", "127.0.0.1", "--blobPort", str(self.port),
            "--location", str(self.dir / "data"), "--disableTelemetry", "--silent",
            "--skipApiVersionCheck",
        ]  # fmt: skip
        (self.dir / "data").mkdir(parents=True, exist_ok=True)
        process = self.spawn(argv)
        self.pid_file.write_text(f"{process.pid}\n")

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{self.port}/{ACCOUNT};"
        )

    def client(self) -> Any:
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient.from_connection_string(self.connection_string)

    def bootstrap(self) -> None:
        client = self.client()
        if not client.get_container_client(CONTAINER).exists():
            client.create_container(CONTAINER)

    def address(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT} (container az://{CONTAINER})"
