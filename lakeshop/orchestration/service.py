"""`lakeshop orchestrate`: Dagster's UI (dagster-webserver) and its daemon (schedules, sensors,
the run queue) on 127.0.0.1, with local SQLite storage under $LAKESHOP_HOME/dagster and
nothing external, started detached and stopped by PID like the other private services."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
import urllib.request
from pathlib import Path

from ingestion import config
from sandbox.services.base import Service, Status, process_alive

DEFINITIONS = "lakeshop.orchestration.definitions"

# One run at a time: DuckDB takes one writer per file, and every run writes the warehouse.
# A run whose process died (a kill, a lost machine) is retried once by the daemon.
INSTANCE_YAML = """\
# written by `lakeshop orchestrate`; local SQLite storage under this folder
telemetry:
  enabled: false
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 1
run_retries:
  enabled: true
  max_retries: 1
  retry_on_asset_or_op_failure: false
"""

WORKSPACE_YAML = f"""\
# written by `lakeshop orchestrate`
load_from:
  - python_module:
      module_name: {DEFINITIONS}
      working_directory: {{project}}
"""


def dagster_home() -> Path:
    return config.home() / "dagster"


def orchestrate_port() -> int:
    raw = os.environ.get("LAKESHOP_DAGSTER_PORT", "3070")
    return int(raw)


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


class _Dagster(Service):
    """What the UI and the daemon share: the instance folder and the workspace file."""

    start_timeout = 120.0

    def __init__(self, port: int) -> None:
        super().__init__(dagster_home(), port)

    @property
    def workspace(self) -> Path:
        return self.dir / "workspace.yaml"

    def prepare(self) -> None:
        from lakeshop.dbt_runner import project_dir

        (self.dir / "dagster.yaml").write_text(INSTANCE_YAML)
        self.workspace.write_text(WORKSPACE_YAML.format(project=project_dir()))

    def env(self) -> dict[str, str]:
        from lakeshop.dbt_runner import project_dir

        env = dict(os.environ)
        env["DAGSTER_HOME"] = str(self.dir)
        env["LAKESHOP_HOME"] = str(config.home())
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(project_dir()), env.get("PYTHONPATH", "")) if p
        )
        return env

    def spawn_recorded(self, argv: list[str]) -> None:
        process = self.spawn(argv, env=self.env())
        self.pid_file.write_text(str(process.pid))

    def stop(self) -> bool:
        """Stop the process by PID, and every process it started: the code server and the
        run workers it launched, which would otherwise go on running (and holding the
        warehouse) after the daemon is gone."""
        pid = self.pid()
        if pid is None:
            return super().stop()
        children = descendants(pid)
        stopped = super().stop()
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(process_alive(c) for c in children):
            time.sleep(0.1)
        for child in children:
            if process_alive(child):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)
        return stopped


def descendants(pid: int) -> list[int]:
    """Every live process below pid (children, their children, ...), from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # the second field (the command) is in parentheses and may hold spaces
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
    found: list[int] = []
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        kids = [p for p, parent in parents.items() if parent == current]
        found += kids
        frontier += kids
    return found


class DagsterWebserver(_Dagster):
    name = "dagster-webserver"

    def launch(self) -> None:
        self.spawn_recorded(
            [_bin("dagster-webserver"), "-h", "127.0.0.1", "-p", str(self.port),
             "-w", str(self.workspace)]
        )  # fmt: skip

    def ready(self) -> bool:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/server_info", timeout=2) as r:
            return bool(r.status == 200)

    def address(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class DagsterDaemon(_Dagster):
    name = "dagster-daemon"

    def __init__(self) -> None:
        super().__init__(0)
        self._started = 0.0

    def launch(self) -> None:
        self._started = time.monotonic()
        self.spawn_recorded([_bin("dagster-daemon"), "run", "-w", str(self.workspace)])

    def ready(self) -> bool:
        pid = self.pid()
        if pid is None or not process_alive(pid):
            raise RuntimeError("the daemon exited")
        log = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
        return "SchedulerDaemon" in log or time.monotonic() - self._started > 20

    def status(self) -> Status:
        pid = self.pid()
        return Status(self.name, pid is not None, pid, "schedules, sensors, run queue", self.dir)

    def stop(self) -> bool:
        return super().stop() if self.pid() is not None else False


def services() -> list[_Dagster]:
    return [DagsterWebserver(orchestrate_port()), DagsterDaemon()]
