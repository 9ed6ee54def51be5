"""A private MariaDB with the binary log on (ROW, FULL row image, FULL row metadata)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pymysql

from ingestion import config
from sandbox.services.base import Service, ServiceError, find_binary, is_root

# Server settings CDC depends on; the CDC source checks the same list before reading.
BINLOG_SETTINGS = {
    "log-bin": "binlog",
    "binlog-format": "ROW",
    "binlog-row-image": "FULL",
    "binlog-row-metadata": "FULL",
}


class MariaDB(Service):
    name = "mariadb"

    def __init__(self, state_dir: Path, port: int, binlog: bool = True) -> None:
        super().__init__(state_dir, port)
        self.binlog = binlog  # False only to test what CDC says about a server without one

    @property
    def socket(self) -> Path:
        return self.dir / "mysqld.sock"

    @property
    def datadir(self) -> Path:
        return self.dir / "data"

    @property
    def tmpdir(self) -> Path:
        # Its own, not /tmp: a starting mariadbd deletes every `#sql*` file in its tmpdir,
        # which in a shared /tmp are the temporary tables of other instances (a parallel
        # test worker's mariadb-install-db failed on it).
        return self.dir / "tmp"

    def prepare(self) -> None:
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        if (self.datadir / "mysql").exists():
            return
        install_db = find_binary(["mariadb-install-db", "mysql_install_db"], [], "mariadb-server")
        argv = [
            install_db,
            "--no-defaults",
            f"--datadir={self.datadir}",
            f"--tmpdir={self.tmpdir}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ]
        if is_root():
            argv.append("--user=root")
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ServiceError(f"mariadb-install-db failed:\n{done.stdout}\n{done.stderr}")

    def launch(self) -> None:
        mariadbd = find_binary(["mariadbd", "mysqld"], ["/usr/sbin"], "mariadb-server")
        argv = [
            mariadbd,
            "--no-defaults",  # must come first: ignore the system my.cnf
            f"--datadir={self.datadir}",
            f"--tmpdir={self.tmpdir}",
            f"--port={self.port}",
            f"--socket={self.socket}",
            "--bind-address=127.0.0.1",
            f"--pid-file={self.pid_file}",
            f"--log-error={self.log_file}",
            *(
                [
                    f"--log-bin={self.datadir / 'binlog'}",
                    "--binlog-format=ROW",
                    "--binlog-row-image=FULL",
                    "--binlog-row-metadata=FULL",
                    "--max-binlog-size=64M",
                ]
                if self.binlog
                else ["--skip-log-bin"]
            ),
            "--server-id=1",
            "--default-time-zone=+00:00",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_unicode_ci",
            "--skip-name-resolve",
            "--local-infile=1",
            "--max-allowed-packet=256M",
            "--innodb-buffer-pool-size=1G",
            "--innodb-log-file-size=512M",
            # A local development instance: trade crash durability for load speed.
            "--innodb-flush-log-at-trx-commit=2",
            "--sync-binlog=0",
        ]
        if is_root():
            argv.insert(2, "--user=root")
        self.spawn(argv)

    def connect(self, database: str | None = None) -> pymysql.connections.Connection:
        return pymysql.connect(
            unix_socket=str(self.socket),
            user="root",
            password="",
            database=database,
            autocommit=True,
            local_infile=True,
        )

    def ready(self) -> bool:
        if not self.socket.exists() or not self.pid_file.exists():
            return False
        self.connect().close()
        return True

    def bootstrap(self) -> None:
        db, user, pw = config.SHOP_DATABASE, config.CDC_USER, config.CDC_PASSWORD
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE IF NOT EXISTS `{db}` CHARACTER SET utf8mb4")
            cur.execute(f"CREATE USER IF NOT EXISTS '{user}'@'127.0.0.1' IDENTIFIED BY %s", (pw,))
            cur.execute(f"CREATE USER IF NOT EXISTS '{user}'@'localhost' IDENTIFIED BY %s", (pw,))
            for host in ("127.0.0.1", "localhost"):
                # least privilege for CDC: read the shop, read the binlog, see its position
                cur.execute(f"GRANT SELECT ON `{db}`.* TO '{user}'@'{host}'")
                cur.execute(f"GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO '{user}'@'{host}'")

    def address(self) -> str:
        return f"mysql://root@127.0.0.1:{self.port}/{config.SHOP_DATABASE}"
