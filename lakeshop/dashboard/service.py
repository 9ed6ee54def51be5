"""`lakeshop dashboard start|stop|status`: the Streamlit dashboard on 127.0.0.1
($LAKESHOP_DASHBOARD_PORT, default 8501), started detached and stopped by PID like the other
private services; state and log under $LAKESHOP_HOME/dashboard."""

from __future__ import annotations

import os
import sys
import urllib.request
from pathlib import Path

from ingestion import config
from sandbox.services.base import Service

APP = Path(__file__).resolve().with_name("app.py")


def dashboard_port() -> int:
    return int(os.environ.get("LAKESHOP_DASHBOARD_PORT", "8501"))


class Dashboard(Service):
    name = "dashboard"

    def __init__(self, port: int | None = None) -> None:
        super().__init__(config.home() / "dashboard", port or dashboard_port())

    def launch(self) -> None:
        from lakeshop.dbt_runner import project_dir

        env = dict(os.environ)
        env["LAKESHOP_HOME"] = str(config.home())
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(project_dir()), env.get("PYTHONPATH", "")) if p
        )
        process = self.spawn(
            [
                str(Path(sys.executable).parent / "streamlit"), "run", str(APP),
                "--server.address", "127.0.0.1", "--server.port", str(self.port),
                "--server.headless", "true", "--browser.gatherUsageStats", "false",
                "--server.fileWatcherType", "none", "--global.developmentMode", "false",
                "--client.toolbarMode", "viewer",
                # the script's own argument, so the PID check finds our state folder
                "--", "--state", str(self.dir),
            ],
            env=env,
        )  # fmt: skip
        self.pid_file.write_text(str(process.pid))

    def ready(self) -> bool:
        with urllib.request.urlopen(f"{self.address()}/_stcore/health", timeout=2) as r:
            return bool(r.status == 200)

    def address(self) -> str:
        return f"http://127.0.0.1:{self.port}"
