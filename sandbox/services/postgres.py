"""A private PostgreSQL cluster: the stand-in for Redshift-style warehouses."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import psycopg2

from ingestion import config
from sandbox.services.base import Service, ServiceError, find_binary, is_root

PG_BIN_DIRS = ["/usr/lib/postgresql/*/bin"]


class Postgres(Service):
    name = "postgres"
    stop_signal = signal.SIGINT  # "fast" shutdown: roll back sessions, exit cleanly

    @property
    def datadir(self) -> Path:
        return self.dir / "data"

    @property
    def pid_file(self) -> Path:
        return self.datadir / "postmaster.pid"

    def _as_owner(self, argv: list[str]) -> list[str]:
        # PostgreSQL refuses to run as root: run its tools as the postgres user.
        return ["runuser", "-u", "postgres", "--", *argv] if is_root() else argv

    def _check_traversable(self) -> None:
        for parent in [self.dir, *self.dir.parents]:
            if parent.stat().st_mode & 0o001 == 0:
                raise ServiceError(
                    f"postgres runs as the 'postgres' user, which cannot enter {parent}. "
                    f"Run `chmod o+x {parent}` or set LAKESHOP_HOME to a folder it can reach."
                )

    def prepare(self) -> None:
        if is_root():
            self._check_traversable()
            shutil.chown(self.dir, "postgres", "postgres")
        if (self.datadir / "PG_VERSION").exists():
            return
        initdb = find_binary(["initdb"], PG_BIN_DIRS, "postgresql")
        argv = [initdb, "-D", str(self.datadir), "-U", "postgres", "-A", "trust"]
        done = subprocess.run(
            self._as_owner([*argv, "--no-sync", "-E", "UTF8"]),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise ServiceError(f"initdb failed:\n{done.stdout}\n{done.stderr}")

    def launch(self) -> None:
        pg_ctl = find_binary(["pg_ctl"], PG_BIN_DIRS, "postgresql")
        opts = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        if is_root():
            self.log_file.touch()
            shutil.chown(self.log_file, "postgres", "postgres")
        argv = [pg_ctl, "-D", str(self.datadir), "-l", str(self.log_file), "-o", opts, "start"]
        done = subprocess.run(
            self._as_owner(argv),
            capture_output=True,
            text=True,
            check=False,
            start_new_session=True,
            env=dict(os.environ, PGTZ="UTC"),
        )
        if done.returncode != 0:
            raise ServiceError(f"pg_ctl start failed:\n{done.stdout}\n{done.stderr}")

    def connect(self, database: str = "postgres") -> psycopg2.extensions.connection:
        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=database)
        conn.autocommit = True
        return conn

    def ready(self) -> bool:
        if not self.pid_file.exists():
            return False
        self.connect().close()
        return True

    def bootstrap(self) -> None:
        user, pw, db = config.WAREHOUSE_USER, config.WAREHOUSE_PASSWORD, config.WAREHOUSE_DATABASE
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute("select 1 from pg_roles where rolname = %s", (user,))
                if cur.fetchone() is None:
                    cur.execute(f'create role "{user}" login createdb password %s', (pw,))
                cur.execute("select 1 from pg_database where datname = %s", (db,))
                if cur.fetchone() is None:
                    cur.execute(f'create database "{db}" owner "{user}"')
        finally:
            conn.close()

    def address(self) -> str:
        return (
            f"postgresql://{config.WAREHOUSE_USER}:{config.WAREHOUSE_PASSWORD}"
            f"@127.0.0.1:{self.port}/{config.WAREHOUSE_DATABASE}"
        )
