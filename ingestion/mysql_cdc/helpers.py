"""Server checks, table discovery, type mapping and change sequence numbers for MySQL CDC."""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pymysql
import pymysql.cursors

UTC = dt.UTC
TS_UTC = pa.timestamp("us", tz="UTC")
TS_NAIVE = pa.timestamp("us")

# Columns every change record carries besides the source columns.
CDC_COLUMNS = [
    "_cdc_op",
    "_cdc_seq",
    "_cdc_committed_at",
    "_cdc_server",
    "_cdc_database",
    "_cdc_snapshot_id",
]


class CdcError(RuntimeError):
    """A problem the user must fix; the message names the fix."""


class ServerSettingError(CdcError):
    """The server is not set up for row-based CDC."""


@dataclass(frozen=True)
class MySqlConn:
    host: str
    port: int
    user: str
    password: str
    database: str

    @classmethod
    def from_url(cls, url: str) -> MySqlConn:
        scheme, sep, rest = url.partition("://")
        # the credentials end at the last @ before the host: a password may hold @ / : # ?
        # as they are (percent-encoded works too)
        userinfo, _, hostpart = rest.rpartition("@")
        parsed = urlparse(f"{scheme}://{hostpart}")
        user, _, password = userinfo.partition(":")
        if (
            not sep
            or scheme not in {"mysql", "mariadb", "mysql+pymysql"}
            or not parsed.path.strip("/")
        ):
            shown = url.replace(userinfo, f"{user}:***") if password else url
            raise CdcError(
                f"not a MySQL URL with a database: {shown!r}; expected mysql://user:password@host:3306/database"
            )
        try:
            port = parsed.port or 3306
        except ValueError as exc:
            raise CdcError(f"not a port in the MySQL URL: {parsed.netloc!r}") from exc
        return cls(
            parsed.hostname or "127.0.0.1",
            port,
            unquote(user),
            unquote(password),
            parsed.path.strip("/"),
        )

    def connect(self, **kw: Any) -> pymysql.connections.Connection[Any]:
        try:
            return pymysql.connect(
                host=self.host,
                port=self.port,
                user=self.user,
                password=self.password,
                database=self.database,
                charset="utf8mb4",
                autocommit=True,
                connect_timeout=10,
                init_command="SET time_zone = '+00:00'",
                **kw,
            )
        except pymysql.err.OperationalError as exc:
            code = exc.args[0] if exc.args else None
            if code in (1044, 1045, 1049):
                raise CdcError(
                    f"MySQL refused {self.user}@{self.host}:{self.port}/{self.database}: {exc.args[-1]}"
                ) from exc
            if code == 2003:
                why = str(exc.args[-1])
                reason = (
                    "connection refused: is the server running, and listening on that port?"
                    if "refused" in why.lower() or "111" in why
                    else "host not found: check the host name in the URL"
                    if "name or service" in why.lower() or "-2" in why
                    else why
                )
                raise CdcError(
                    f"cannot connect to MySQL at {self.host}:{self.port}: {reason}"
                ) from exc
            raise

    def replication_settings(self) -> dict[str, Any]:
        return {"host": self.host, "port": self.port, "user": self.user, "password": self.password}

    def describe(self) -> str:
        return f"mysql://{self.user}@{self.host}:{self.port}/{self.database}"


# -- server checks -----------------------------------------------------------------------
def _variables(cur: pymysql.cursors.Cursor, names: Sequence[str]) -> dict[str, str]:
    cur.execute(
        "SHOW GLOBAL VARIABLES WHERE Variable_name IN (" + ",".join(["%s"] * len(names)) + ")",
        tuple(names),
    )
    return {str(k).lower(): str(v) for k, v in cur.fetchall()}


def check_server(
    conn: pymysql.connections.Connection[Any], tables: Sequence[str] = ()
) -> dict[str, str]:
    """Stop before reading anything when the server cannot serve row-based CDC.

    Returns the server facts (version, server id, flavour) used in change records.
    """
    with conn.cursor() as cur:
        v = _variables(cur, ["log_bin", "binlog_format", "binlog_row_image", "binlog_row_metadata",
                             "version", "server_id", "server_uuid", "hostname", "port", "gtid_domain_id"])  # fmt: skip
        mariadb = "mariadb" in v.get("version", "").lower()
        problems: list[str] = []
        if v.get("log_bin", "OFF").upper() not in {"ON", "1"}:
            problems.append(
                "the binary log is off (log_bin=OFF). It cannot be switched on at run time: add "
                "`log_bin = mysql-bin` and `server_id = 1` under [mysqld] in my.cnf (or start the "
                "server with --log-bin --server-id=1) and restart the server."
            )
        fixes = {
            "binlog_format": ("ROW", "SET GLOBAL binlog_format = 'ROW';"),
            "binlog_row_image": ("FULL", "SET GLOBAL binlog_row_image = 'FULL';"),
            "binlog_row_metadata": ("FULL", "SET GLOBAL binlog_row_metadata = 'FULL';"),
        }
        for name, (want, sql) in fixes.items():
            have = v.get(name)
            if have is None:
                if name == "binlog_row_metadata":
                    problems.append(
                        "the server has no binlog_row_metadata setting (MariaDB < 10.5 or MySQL < 8.0.1), "
                        "so row events carry no column names; upgrade the server."
                    )
                continue
            if have.upper() != want:
                problems.append(
                    f"{name} is {have}; CDC needs {want}. Run `{sql}` and put `{name} = {want}` under "
                    f"[mysqld] in my.cnf so it survives a restart (sessions opened before the change keep the old value)."
                )
        user = _current_user(cur)
        grants = _grants(cur)
        if not _has_global(grants, "REPLICATION SLAVE"):
            problems.append(
                f"{user} lacks REPLICATION SLAVE (needed to read the binary log). Run "
                f"`GRANT REPLICATION SLAVE ON *.* TO {user};`"
            )
        monitor = "BINLOG MONITOR" if mariadb else "REPLICATION CLIENT"
        if not (
            _has_global(grants, monitor)
            or _has_global(grants, "REPLICATION CLIENT")
            or _has_global(grants, "SUPER")
        ):
            problems.append(
                f"{user} lacks {monitor} (needed for the binlog position). Run `GRANT {monitor} ON *.* TO {user};`"
            )
        for table in tables:
            try:
                cur.execute(f"SELECT 1 FROM {quote(table)} LIMIT 0")
            except pymysql.err.OperationalError as exc:
                if exc.args[0] == 1142:
                    problems.append(
                        f"{user} cannot SELECT from {table}. Run `GRANT SELECT ON {quote(conn.db.decode() if isinstance(conn.db, bytes) else str(conn.db))}.* TO {user};`"
                    )
                else:
                    raise
        if problems:
            raise ServerSettingError(
                "the MySQL server is not ready for CDC:\n  - " + "\n  - ".join(problems)
            )
        return {
            "flavour": "mariadb" if mariadb else "mysql",
            "version": v.get("version", ""),
            "server_id": v.get("server_id", ""),
            "server": f"{v.get('hostname', '')}:{v.get('port', '')}/{v.get('server_uuid') or v.get('server_id', '')}",
        }


def _current_user(cur: pymysql.cursors.Cursor) -> str:
    cur.execute("SELECT CURRENT_USER()")
    row = cur.fetchone()
    user, _, host = str(row[0] if row else "?@%").partition("@")
    return f"'{user}'@'{host}'"


def _grants(cur: pymysql.cursors.Cursor) -> list[str]:
    cur.execute("SHOW GRANTS")
    return [str(r[0]).upper() for r in cur.fetchall()]


def _has_global(grants: list[str], privilege: str) -> bool:
    for g in grants:
        if " ON *.* " not in g:
            continue
        if "ALL PRIVILEGES" in g or privilege in g:
            return True
    return False


def quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


# -- positions and sequence numbers ------------------------------------------------------
@dataclass(frozen=True, order=True)
class Position:
    """A point in the binary log: file and byte offset (end of a committed transaction)."""

    file: str
    pos: int

    @property
    def index(self) -> int:
        return binlog_index(self.file)

    def key(self) -> tuple[int, int]:
        return (self.index, self.pos)

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "pos": self.pos}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Position | None:
        return cls(d["file"], int(d["pos"])) if d else None

    def __str__(self) -> str:
        return f"{self.file}:{self.pos}"


def binlog_index(name: str) -> int:
    match = re.search(r"\.(\d+)$", name)
    if not match:
        raise CdcError(f"unexpected binlog file name {name!r}")
    return int(match.group(1))


def seq(file_index: int, pos: int, row: int) -> str:
    """Totally ordered, fixed-width change sequence: binlog file, byte offset, row."""
    return f"{file_index:06d}.{pos:013d}.{row:010d}"


def seq_array(file_index: int, pos: int, first: int, n: int) -> pa.Array:
    """``seq(file_index, pos, first + i)`` for i in range(n), built by Arrow in C: a Python
    f-string per row cost more than reading the row (4.9 s against 0.28 s per million rows)."""
    rows = pc.cast(pa.array(np.arange(first, first + n, dtype=np.int64)), pa.string())
    prefix = f"{file_index:06d}.{pos:013d}."
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(rows, 10, "0"), "")


def master_position(cur: pymysql.cursors.Cursor) -> Position:
    cur.execute("SHOW MASTER STATUS")
    row = cur.fetchone()
    if not row:
        raise ServerSettingError("SHOW MASTER STATUS returned nothing: the binary log is off")
    return Position(str(row[0]), int(row[1]))


def binlog_files(cur: pymysql.cursors.Cursor) -> list[str]:
    cur.execute("SHOW BINARY LOGS")
    return [str(r[0]) for r in cur.fetchall()]


@dataclass
class Retention:
    """How long the server keeps binary logs, and how old the checkpoint's last change is."""

    seconds: float | None  # None: kept until purged by hand
    setting: str
    checkpoint_age: float | None  # seconds since the checkpoint's last change was committed
    warning: str | None = None

    def describe(self) -> str:
        kept = (
            f"binary logs kept {_span(self.seconds)} ({self.setting})"
            if self.seconds
            else "binary logs kept until purged by hand (no expiry set)"
        )
        if self.checkpoint_age is None:
            return kept
        return f"{kept}; checkpoint's last change {_span(self.checkpoint_age)} old"


def _span(seconds: float) -> str:
    if seconds >= 86_400:
        return f"{seconds / 86_400:.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds:.0f} s"


# Warn once the checkpoint is older than this share of the retention time.
RETENTION_WARN_SHARE = 0.5


def binlog_retention(cur: pymysql.cursors.Cursor, checkpoint_committed_at: float | None,
                     now: float | None = None) -> Retention:  # fmt: skip
    """The server's binlog expiry against the age of the checkpoint's last change, with a
    warning while there is still time to act: a checkpoint that falls out of retention means
    a full re-snapshot (the most common complaint of CDC tools' users)."""
    import time

    names = ["binlog_expire_logs_seconds", "expire_logs_days"]
    v = _variables(cur, names)
    seconds = float(v.get("binlog_expire_logs_seconds") or 0)
    setting = "binlog_expire_logs_seconds"
    if not seconds and float(v.get("expire_logs_days") or 0):
        seconds, setting = float(v["expire_logs_days"]) * 86_400, "expire_logs_days"
    age = None
    if checkpoint_committed_at:
        age = max(0.0, (now or time.time()) - float(checkpoint_committed_at))
    retention = Retention(seconds or None, setting, age)
    if seconds and age is not None and age > RETENTION_WARN_SHARE * seconds:
        retention.warning = (
            f"the checkpoint's last change is {_span(age)} old and the server keeps binary logs "
            f"{_span(seconds)} ({setting}): run the capture more often, or raise {setting}, before "
            "its position is purged and every table has to be snapshotted again"
        )
    return retention


# -- tables ---------------------------------------------------------------------------------
@dataclass
class Column:
    name: str
    data_type: str
    column_type: str
    precision: int | None
    scale: int | None
    arrow: pa.DataType
    convert: Callable[[Any], Any] | None = None


@dataclass
class TableInfo:
    name: str
    columns: list[Column]
    primary_key: list[str] = field(default_factory=list)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.arrow) for c in self.columns])


def name_collisions(tables: dict[str, TableInfo]) -> list[str]:
    """Names that would land as one: two tables (or two columns of a table) equal after dlt's
    snake_case (``PlaylistTrack`` and ``playlist_track``), or a column named like one of the
    columns lakeshop or dlt add. Each entry is one sentence naming the fix."""
    from dlt.common.normalizers.naming.snake_case import NamingConvention

    naming = NamingConvention()
    found = [
        f"tables `{other}` and `{name}` would both land as `{as_landed}`: capture one of them "
        f"only (--exclude '{name}'), or rename one in the source"
        for other, name, as_landed in _twins(sorted(tables), naming.normalize_table_identifier, {"_cdc_snapshots"})
    ]  # fmt: skip
    own = {*CDC_COLUMNS, "_dlt_load_id", "_dlt_id", "_cdc_deleted"}
    for name, info in sorted(tables.items()):
        for other, column, as_landed in _twins(info.column_names, naming.normalize_identifier, own):
            found.append(
                f"columns `{other}` and `{column}` of table `{name}` would both land as "
                f"`{as_landed}`: leave the table out (--exclude '{name}') or rename one column in the source"
                if other != column
                else f"column `{column}` of table `{name}` has the name of a column lakeshop adds: "
                f"leave the table out (--exclude '{name}') or rename the column in the source"
            )
    return found


def _twins(names: Sequence[str], normalize: Callable[[str], str],
           reserved: set[str]) -> Iterator[tuple[str, str, str]]:  # fmt: skip
    """(earlier name, name, landed name) for each name landing as an earlier one or a reserved
    one (then the earlier name is the name itself)."""
    seen: dict[str, str] = {}
    for name in names:
        as_landed = normalize(name)
        other = seen.get(as_landed) or (name if as_landed in reserved else None)
        if other is not None:
            yield other, name, as_landed
        seen.setdefault(as_landed, name)


def matches(name: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in include) and not any(
        fnmatch.fnmatchcase(name, p) for p in exclude
    )


def discover_tables(
    cur: pymysql.cursors.Cursor, database: str, include: Sequence[str], exclude: Sequence[str]
) -> dict[str, TableInfo]:
    """Base tables of ``database`` matching the include/exclude patterns, with columns and keys."""
    cur.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema=%s AND table_type='BASE TABLE'",
        (database,),
    )
    names = sorted(str(r[0]) for r in cur.fetchall() if matches(str(r[0]), include, exclude))
    return {n: describe_table(cur, database, n) for n in names}


def describe_table(cur: pymysql.cursors.Cursor, database: str, table: str) -> TableInfo:
    cur.execute(
        "SELECT column_name, data_type, column_type, numeric_precision, numeric_scale, column_key "
        "FROM information_schema.columns WHERE table_schema=%s AND table_name=%s ORDER BY ordinal_position",
        (database, table),
    )
    columns = []
    for name, data_type, column_type, precision, scale, _ in cur.fetchall():
        arrow, convert = arrow_type(
            str(data_type).lower(), str(column_type).lower(), precision, scale
        )
        columns.append(
            Column(
                str(name),
                str(data_type).lower(),
                str(column_type).lower(),
                precision,
                scale,
                arrow,
                convert,
            )
        )
    cur.execute(
        "SELECT column_name FROM information_schema.key_column_usage WHERE table_schema=%s AND "
        "table_name=%s AND constraint_name='PRIMARY' ORDER BY ordinal_position",
        (database, table),
    )
    pk = [str(r[0]) for r in cur.fetchall()]
    return TableInfo(table, columns, pk)


def time_text(value: Any, fsp: int = 0) -> Any:
    """TIME as MySQL writes it: ``[-]HH:MM:SS`` and ``fsp`` fractional digits (TIME(3):
    ``12:34:56.789``), so a value reads the same from the snapshot (text) and the binlog
    (a timedelta). Hours go up to 838, so it cannot be a time of day."""
    if isinstance(value, dt.timedelta):
        micros = value.days * 86_400_000_000 + value.seconds * 1_000_000 + value.microseconds
        sign = "-" if micros < 0 else ""
        seconds, micro = divmod(abs(micros), 1_000_000)
        hours, rest = divmod(seconds, 3600)
        minutes, seconds = divmod(rest, 60)
        text = f"{sign}{hours:02d}:{minutes:02d}:{seconds:02d}"
        return text + f".{micro:06d}"[: fsp + 1] if fsp else text
    return value


def _bits(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return int.from_bytes(value, "big")
    if isinstance(value, str):
        return int(value, 2) if value else 0
    return value


def _text(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, set | frozenset):
        return ",".join(sorted(value))
    return value


WIDE_DECIMAL = pa.decimal128(38, 10)


def decimal_type(precision: int, scale: int) -> pa.DataType:
    """DECIMAL lands as DECIMAL(38,10) whenever it fits.

    A landed column keeps the type it was created with, so a source column later widened from
    DECIMAL(10,2) to DECIMAL(14,4) would be rounded into the old type. One wide type absorbs
    such changes; silver casts money to its own precision. Wider source types keep their own
    precision (and a later change of those needs the table re-snapshotted).
    """
    if scale <= 10 and precision - scale <= 28:
        return WIDE_DECIMAL
    return (
        pa.decimal128(min(max(precision, 1), 38), min(scale, 38))
        if precision <= 38
        else pa.string()
    )


def arrow_type(
    data_type: str, column_type: str, precision: Any, scale: Any
) -> tuple[pa.DataType, Callable[[Any], Any] | None]:
    """The Arrow type a MySQL column lands as, and a converter for values that need one."""
    if data_type in {"tinyint", "smallint", "mediumint", "int", "integer", "year"}:
        return pa.int64(), None
    if data_type == "bigint":
        # unsigned BIGINT can exceed int64
        return (pa.decimal128(20, 0), None) if "unsigned" in column_type else (pa.int64(), None)
    if data_type in {"decimal", "numeric"}:
        return decimal_type(int(precision or 10), int(scale or 0)), None
    if data_type in {"float", "double", "real"}:
        return pa.float64(), None
    if data_type == "bit":
        return pa.int64(), _bits
    if data_type == "date":
        return pa.date32(), None
    if data_type == "datetime":
        return TS_NAIVE, None
    if data_type == "timestamp":
        return TS_UTC, None
    if data_type == "time":
        return pa.string(), time_text
    if data_type in {
        "binary",
        "varbinary",
        "tinyblob",
        "blob",
        "mediumblob",
        "longblob",
        "geometry",
        "point",
    }:
        return pa.binary(), None
    # char, varchar, text types, enum, set, json
    return pa.string(), _text


def to_arrow(columns: Sequence[Column], rows: Sequence[Sequence[Any]]) -> list[pa.Array]:
    """Column arrays from row tuples (transposed in C by zip)."""
    if not rows:
        return [pa.array([], type=c.arrow) for c in columns]
    arrays = []
    for col, values in zip(columns, zip(*rows, strict=True), strict=True):
        if col.convert is not None:
            values = tuple(map(col.convert, values))
        if col.arrow == TS_UTC:
            values = tuple(
                v.replace(tzinfo=UTC) if isinstance(v, dt.datetime) and v.tzinfo is None else v
                for v in values
            )
        arrays.append(pa.array(values, type=col.arrow))
    return arrays


def text_to_arrow(
    columns: Sequence[Column], rows: Sequence[Sequence[Any]]
) -> tuple[list[pa.Array], int]:
    """Column arrays from rows of text (pymysql without converters), cast by Arrow in C.

    Returns the arrays and how many values could not be represented (MySQL zero dates such
    as '0000-00-00'), which land as NULL.
    """
    if not rows:
        return [pa.array([], type=c.arrow) for c in columns], 0
    arrays: list[pa.Array] = []
    invalid = 0
    for col, values in zip(columns, zip(*rows, strict=True), strict=True):
        if col.arrow == pa.binary():
            arrays.append(pa.array(values, type=pa.binary()))
            continue
        if col.convert is _bits:
            arrays.append(pa.array(list(map(_bits, values)), type=pa.int64()))
            continue
        if col.convert is _text and any(isinstance(v, bytes) for v in values):
            values = tuple(map(_text, values))
        array, bad = cast_text(col, pa.array(values, type=pa.string()))
        arrays.append(array)
        invalid += bad
    return arrays, invalid


def select_expression(column: Column) -> str:
    """How a column is selected so its text is its exact value: a FLOAT's text is rounded to
    6 digits (123456789 reads as 1.23457e8), the float32 it stores reads exactly as DOUBLE, as
    the binary log carries it."""
    if column.data_type == "float":
        return f"CAST({quote(column.name)} AS DOUBLE)"
    return quote(column.name)


def cast_text(col: Column, text: pa.Array) -> tuple[pa.Array, int]:
    """A column's values from the text MySQL gives for them, cast by Arrow in C, and how many
    could not be represented (zero dates, which land as NULL)."""
    if col.arrow == pa.string():
        return text, 0
    target = TS_NAIVE if col.arrow == TS_UTC else col.arrow
    bad = 0
    try:
        cast = text.cast(target)
    except pa.ArrowInvalid:
        cast, bad = _cast_each(text.to_pylist(), target)
    return (cast.cast(TS_UTC) if col.arrow == TS_UTC else cast), bad


def _cast_each(values: Sequence[Any], target: pa.DataType) -> tuple[pa.Array, int]:
    out: list[Any] = []
    bad = 0
    for v in values:
        try:
            out.append(pa.array([v], type=pa.string()).cast(target)[0].as_py())
        except pa.ArrowInvalid:
            out.append(None)
            bad += 1
    return pa.array(out, type=target), bad
