"""A local S3 endpoint (moto server) holding the lake bucket."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from ingestion import config
from ingestion.services.base import Service

# moto accepts any credentials; these are what lakeshop's own S3 clients send.
ACCESS_KEY = "lakeshop"
SECRET_KEY = "lakeshop-secret"
REGION = "us-east-1"


class S3(Service):
    name = "s3"

    def launch(self) -> None:
        # The state directory on the command line lets `owns()` recognise the process.
        self.spawn(
            [
                sys.executable,
                "-m",
                "ingestion.services.s3",
                "--state-dir",
                str(self.dir),
                "--port",
                str(self.port),
            ]
        )

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
        if not self.pid_file.exists():
            return False
        client = self.client()
        try:
            client.list_buckets()
        finally:
            client.close()  # an idle keep-alive connection would hold up the server's stop
        return True

    def bootstrap(self) -> None:
        client = self.client()
        try:
            names = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
            if config.LAKE_BUCKET not in names:
                client.create_bucket(Bucket=config.LAKE_BUCKET)
        finally:
            client.close()

    def address(self) -> str:
        return f"{self.endpoint} (bucket s3://{config.LAKE_BUCKET})"


def _serve(argv: list[str]) -> None:
    """Run moto's server until SIGTERM/SIGINT. Moto keeps everything in memory."""
    import argparse
    import os
    import signal
    import threading

    from moto.server import ThreadedMotoServer

    parser = argparse.ArgumentParser(description="lakeshop's private moto S3 server")
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    (Path(args.state_dir) / "s3.pid").write_text(f"{os.getpid()}\n")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    # Wait in slices: a signal the kernel hands to the server thread only runs its Python
    # handler once the main thread wakes up, and an untimed wait never does.
    while not stop.wait(0.2):
        pass
    # A graceful stop waits for clients' idle keep-alive connections; give it a moment, then
    # leave: the process exiting closes every socket, and there is no state on disk to flush.
    closer = threading.Thread(target=server.stop, daemon=True)
    closer.start()
    closer.join(timeout=2)
    os._exit(0)


if __name__ == "__main__":
    _serve(sys.argv[1:])
