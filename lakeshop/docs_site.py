"""`lakeshop docs`: generate the dbt docs site (the static single file too) and serve it."""

from __future__ import annotations

import functools
import http.server
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from lakeshop.dbt_runner import run_dbt, target_dir

SITE_FILES = ("index.html", "manifest.json", "catalog.json")


@dataclass
class DocsSite:
    folder: Path

    @property
    def index(self) -> Path:
        return self.folder / "index.html"

    @property
    def static_index(self) -> Path:
        """One self-contained HTML file (manifest and catalog inlined): mail it, attach it."""
        return self.folder / "static_index.html"


def generate_docs(target: str | None = None) -> DocsSite:
    """`dbt docs generate --static`: index.html with manifest.json and catalog.json, and
    static_index.html with both inlined. The catalog reads column types from the warehouse,
    so the models must have been built there (`lakeshop build` or `make demo`)."""
    code = run_dbt(["docs", "generate", "--static"], target=target)
    site = DocsSite(target_dir())
    missing = [
        name for name in (*SITE_FILES, "static_index.html") if not (site.folder / name).exists()
    ]
    if code != 0 or missing:
        raise RuntimeError(
            f"dbt docs generate failed (exit {code}; missing {', '.join(missing) or 'nothing'}); "
            "build the models first with `lakeshop build` or `make demo`"
        )
    return site


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def serve_docs(
    site: DocsSite, port: int = 8080, host: str = "127.0.0.1"
) -> http.server.ThreadingHTTPServer:
    """Serve the site folder over HTTP in a background thread; port 0 picks a free one."""
    handler = functools.partial(_QuietHandler, directory=str(site.folder))
    try:
        server = http.server.ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        raise RuntimeError(
            f"cannot serve the docs on {host}:{port} ({exc.strerror}); pick another with --port"
        ) from exc
    threading.Thread(target=server.serve_forever, name="docs-site", daemon=True).start()
    return server


def run_docs(port: int = 8080, serve: bool = True, target: str | None = None) -> int:
    site = generate_docs(target)
    print(f"docs site: {site.index}")
    print(f"single file: {site.static_index}")
    if not serve:
        return 0
    server = serve_docs(site, port)
    host, bound = str(server.server_address[0]), server.server_address[1]
    print(
        f"serving http://{host}:{bound}/ (lineage: http://{host}:{bound}/#!/overview?g_v=1); Ctrl-C stops"
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("\nstopped", file=sys.stderr)
    finally:
        server.shutdown()
    return 0
