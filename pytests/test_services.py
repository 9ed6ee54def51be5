"""Private services: idempotent start/stop, by PID, no leftovers, no clash with system servers."""

from __future__ import annotations

import socket
from pathlib import Path

import pymysql
import pytest

from ingestion import config
from pytests.conftest import make_home
from sandbox.services import S3, MariaDB, Postgres, ServiceError, free_port, port_open
from sandbox.services import base as services_base


def our_processes(state_dir: Path) -> list[int]:
    """PIDs whose command line names the state folder (our servers and nothing else)."""
    return [
        int(proc.name)
        for proc in Path("/proc").iterdir()
        if proc.name.isdigit()
        and services_base.process_alive(int(proc.name))
        and str(state_dir) in services_base.process_cmdline(int(proc.name))
    ]


@pytest.mark.parametrize("kind", [MariaDB, Postgres, S3])
def test_start_twice_stop_twice_many_times(kind: type) -> None:
    home = make_home("lakeshop-svc-")
    service = kind(home / kind.name, free_port())
    try:
        for _ in range(3):
            first = service.start()
            second = service.start()  # idempotent: the same single instance
            assert first.running and second.running and first.pid == second.pid
            assert len(our_processes(home)) == 1, our_processes(home)
            assert port_open(service.port)
            assert service.stop() is True
            assert service.stop() is False  # stopping a stopped service is fine
            assert our_processes(home) == []
            assert not port_open(service.port)
            assert not service.status().running
    finally:
        service.stop()


def test_private_servers_coexist_with_system_ones(
    mariadb: MariaDB, postgres: Postgres, s3: S3
) -> None:
    assert mariadb.port not in (3306,) and postgres.port != 5432
    assert mariadb.status().running and postgres.status().running and s3.status().running
    with mariadb.connect() as conn, conn.cursor() as cur:
        cur.execute("select @@port, @@datadir")
        port, datadir = cur.fetchone()
    assert port == mariadb.port and datadir.rstrip("/") == str(mariadb.datadir)
    with postgres.connect() as conn, conn.cursor() as cur:
        cur.execute("show data_directory")
        assert cur.fetchone()[0] == str(postgres.datadir)
    assert config.LAKE_BUCKET in {b["Name"] for b in s3.client().list_buckets()["Buckets"]}


def test_mariadb_binlog_settings_and_cdc_user(mariadb: MariaDB) -> None:
    with mariadb.connect() as conn, conn.cursor() as cur:
        cur.execute(
            "select @@log_bin, @@binlog_format, @@binlog_row_image, @@binlog_row_metadata, @@bind_address"
        )
        assert cur.fetchone() == (1, "ROW", "FULL", "FULL", "127.0.0.1")
    cdc = pymysql.connect(host="127.0.0.1", port=mariadb.port, user=config.CDC_USER,
                          password=config.CDC_PASSWORD, database=config.SHOP_DATABASE)  # fmt: skip
    with cdc, cdc.cursor() as cur:
        cur.execute("show master status")  # BINLOG MONITOR
        assert cur.fetchone()[0].startswith("binlog.")
        cur.execute("show grants")
        grants = " ".join(r[0] for r in cur.fetchall())
        assert "REPLICATION SLAVE" in grants and "SELECT ON `shop`" in grants
        with pytest.raises(pymysql.err.OperationalError):
            cur.execute("create table shop.nope (id int)")  # least privilege: no DDL


def test_postgres_warehouse_login(postgres: Postgres) -> None:
    import psycopg2

    conn = psycopg2.connect(postgres.address())
    with conn, conn.cursor() as cur:
        cur.execute("select current_user, current_database()")
        assert cur.fetchone() == (config.WAREHOUSE_USER, config.WAREHOUSE_DATABASE)
    conn.close()


def test_port_taken_by_someone_else_gives_a_fix() -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        service = S3(make_home("lakeshop-svc-") / "s3", port)
        with pytest.raises(ServiceError, match="LAKESHOP_S3_PORT"):
            service.start()
        assert "used by another process" in service.status().note


def test_missing_binary_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services_base, "is_root", lambda: False)
    with pytest.raises(ServiceError, match=r"apt-get install -y mariadb-server"):
        services_base.find_binary(["mariadbd-does-not-exist"], [], "mariadb-server")


def test_postgres_needs_a_reachable_folder(tmp_path: Path) -> None:
    if not services_base.is_root():
        pytest.skip("only root hands the data folder to the postgres user")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o700)
    tmp_path.chmod(0o700)
    with pytest.raises(ServiceError, match="chmod o\\+x"):
        Postgres(locked / "pg", free_port()).start()


def test_the_lake_keeps_its_objects_across_stop_and_start() -> None:
    """The S3 server keeps data on disk: an object written before a stop is there after the
    next start, byte for byte, and an unsigned or wrongly signed request is refused."""
    import botocore.exceptions

    service = S3(make_home("lakeshop-svc-") / "s3", free_port())
    try:
        service.start()
        body = b"raw_mysql/orders/dt=2026-10-31/part-0.parquet " * 100
        client = service.client()
        client.put_object(Bucket=config.LAKE_BUCKET, Key="raw/kept.bin", Body=body)
        client.close()
        assert service.stop() is True
        service.start()
        client = service.client()
        kept = client.get_object(Bucket=config.LAKE_BUCKET, Key="raw/kept.bin")["Body"].read()
        client.close()
        assert kept == body
        intruder = service.client()
        intruder._request_signer._credentials.secret_key = "not-the-secret"
        with pytest.raises(botocore.exceptions.ClientError, match="SignatureDoesNotMatch"):
            intruder.list_objects_v2(Bucket=config.LAKE_BUCKET)
        intruder.close()
    finally:
        service.stop()


def test_a_starting_mariadb_leaves_the_temp_files_of_others_alone() -> None:
    # A starting mariadbd deletes every `#sql*` file in its tmpdir as a leftover of its own.
    # With the shared /tmp, a server started by one test worker removed the temporary tables
    # of another worker's mariadb-install-db ("Unknown table 'mysql.tmp_user_sys'"), and
    # every test of that worker's session failed. Each instance now has a tmpdir of its own.
    home = make_home("lakeshop-svc-")
    probe = Path("/tmp") / f"#sql-lakeshop-probe-{home.name}"
    probe.write_text("someone else's temporary table")
    service = MariaDB(home / "mariadb", free_port())
    try:
        service.start()
        with service.connect() as conn, conn.cursor() as cur:
            cur.execute("select @@tmpdir")
            tmpdir = cur.fetchone()[0]
        assert Path(tmpdir).resolve().is_relative_to(home.resolve()), tmpdir
        assert probe.exists(), "a starting mariadbd removed a #sql file in /tmp"
    finally:
        service.stop()
        probe.unlink(missing_ok=True)
