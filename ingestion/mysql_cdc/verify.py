"""``--verify`` and ``--repair``: the landed current state against the source, chunk by chunk.

Like pt-table-checksum and DMS data validation, the source does the hashing: one query per
chunk of ``chunk_rows`` keys (keyset order, inside one consistent snapshot per table) returns
each row's key and the MD5 of its canonical text, so only keys and hashes cross the network.
The landed state (newest change per key since the latest complete generation) is hashed the
same way. Chunks whose hashes differ are compared key by key, then value by value for the
keys that differ, so a formatting difference between the two engines can never be reported as
a mismatch.

On a live source the landed state trails the source, so a first mismatch is not a finding:
the capture catches up past the position of the check and the differing keys are compared
again; only keys that still differ are reported. ``--repair`` reads those keys again at an
exact position through the normal pipeline (deleting keys the source no longer has), then
verifies them once more.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pymysql
import pymysql.cursors
from dlt.common.normalizers.naming.snake_case import NamingConvention

from ingestion.mysql_cdc.helpers import (
    Column,
    MySqlConn,
    Position,
    TableInfo,
    discover_tables,
    quote,
    seq,
    text_to_arrow,
)
from ingestion.mysql_cdc.snapshot import SnapshotSession

NAMING = NamingConvention()
NULL = "\\N"


@dataclass
class TableCheck:
    table: str
    rows: int = 0
    chunks: int = 0
    chunks_differing: int = 0
    missing: list[tuple[Any, ...]] = field(default_factory=list)  # in the source, not landed
    extra: list[tuple[Any, ...]] = field(default_factory=list)  # landed, gone from the source
    different: list[tuple[Any, ...]] = field(default_factory=list)
    skipped: str | None = None

    @property
    def keys(self) -> list[tuple[Any, ...]]:
        return self.missing + self.extra + self.different

    def line(self) -> str:
        if self.skipped:
            return f"{self.table}: not verified ({self.skipped})"
        if not self.keys:
            return f"{self.table}: {self.rows:,} rows in {self.chunks} chunk(s) equal"
        sample = ", ".join(repr(k[0] if len(k) == 1 else k) for k in self.keys[:5])
        return (
            f"{self.table}: {len(self.keys)} key(s) differ ({len(self.missing)} missing, "
            f"{len(self.extra)} extra, {len(self.different)} different) in "
            f"{self.chunks_differing} of {self.chunks} chunk(s), e.g. {sample}"
        )


def canonical_sql(column: Column) -> str:
    """The column's value as text on the server, in a form the landed value can be put in."""
    q = quote(column.name)
    kind = column.data_type
    # zero and partial-zero dates ('2021-05-00') land as NULL: no date type holds them
    valid = f"MONTH({q}) <> 0 AND DAYOFMONTH({q}) <> 0"
    if kind in {"datetime", "timestamp"}:
        # %% because the query always goes through pymysql's parameter formatting
        text = f"IF({valid}, DATE_FORMAT({q}, '%%Y-%%m-%%d %%H:%%i:%%s.%%f'), NULL)"
    elif kind == "date":
        text = f"IF({valid}, CAST({q} AS CHAR), NULL)"
    elif kind in {"float", "double", "real"}:
        text = f"CAST(ROUND(CAST({q} AS DOUBLE), 6) AS DECIMAL(65,6))"
    elif kind in {"bit", "year"}:
        text = f"CAST({q} AS UNSIGNED)"
    elif column.arrow == pa.binary():
        text = f"HEX({q})"
    elif kind in {"decimal", "numeric"}:
        # without trailing zeros, whatever the scale: a landed value of another scale (a
        # column narrowed since it landed) must differ, not be rounded into agreement
        text = f"IF(LOCATE('.', CAST({q} AS CHAR)) > 0, TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM CAST({q} AS CHAR))), CAST({q} AS CHAR))"
    else:
        text = f"CAST({q} AS CHAR)"
    return f"COALESCE({text}, '{NULL.replace(chr(92), chr(92) * 2)}')"  # a backslash escapes in SQL


def canonical_value(column: Column, value: Any) -> str:
    """A landed value as the text canonical_sql gives its source value."""
    if value is None:
        return NULL
    kind = column.data_type
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%d %H:%M:%S.%f").rjust(26, "0")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex().upper()
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return format(Decimal(repr(round(value, 6))).quantize(Decimal("0.000001")), "f")
    if kind in {"decimal", "numeric"}:
        text = format(value, "f") if isinstance(value, Decimal) else str(value)
        return text.rstrip("0").rstrip(".") if "." in text else text
    if isinstance(value, Decimal):
        return (
            format(value, "f").split(".")[0] if value == value.to_integral() else format(value, "f")
        )
    return str(value)


def row_hash(texts: list[str]) -> str:
    return hashlib.md5("#".join(texts).encode("utf-8")).hexdigest()


def _key(values: Any) -> tuple[Any, ...]:
    """Keys from both sides in one type (unsigned BIGINT lands as DECIMAL, text keys as text)."""
    out = []
    for v in values:
        if isinstance(v, Decimal) and v == v.to_integral():
            v = int(v)
        elif isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        out.append(v)
    return tuple(out)


@dataclass
class SourceHashes:
    """A table's row hashes as the server computed them in one consistent snapshot, and the
    binlog position of that snapshot."""

    position: Position
    chunks: list[dict[tuple[Any, ...], str]]


def source_snapshot(conn: MySqlConn, info: TableInfo, chunk_rows: int,
                    keys: list[tuple[Any, ...]] | None = None) -> SourceHashes:  # fmt: skip
    session = SnapshotSession(conn)
    position = session.position
    return SourceHashes(position, list(source_hashes(conn, info, chunk_rows, keys, session)))


def source_hashes(conn: MySqlConn, info: TableInfo, chunk_rows: int,
                  keys: list[tuple[Any, ...]] | None = None,
                  session: SnapshotSession | None = None) -> Iterator[dict[tuple[Any, ...], str]]:  # fmt: skip
    """Chunks of {key: md5 of the row's canonical text}, hashed by the server, in key order,
    all from one consistent snapshot (or only ``keys``)."""
    pk = info.primary_key
    pk_sql = ", ".join(quote(c) for c in pk)
    digest = f"MD5(CONCAT_WS('#', {', '.join(canonical_sql(c) for c in info.columns)}))"
    key_columns = [next(c for c in info.columns if c.name == name) for name in pk]

    def typed(rows: Any) -> dict[tuple[Any, ...], str]:
        """Keys as the landed values are typed (the session reads text), with their hashes."""
        if not rows:
            return {}
        arrays, _ = text_to_arrow(key_columns, [r[:-1] for r in rows])
        columns = [a.to_pylist() for a in arrays]
        return {_key(k): str(r[-1]) for k, r in zip(zip(*columns, strict=True), rows, strict=True)}

    session = session or SnapshotSession(conn)
    try:
        with session.db.cursor(pymysql.cursors.Cursor) as cur:
            if not pk:
                # no key: the table is a multiset of rows, {(row hash,): count}
                cur.execute(f"SELECT {digest}, COUNT(*) FROM {quote(info.name)} GROUP BY 1", ())
                yield {(str(d),): str(n) for d, n in cur.fetchall()}
                return
            if keys is not None:
                for start in range(0, len(keys), chunk_rows):
                    part = keys[start : start + chunk_rows]
                    one = "(" + ", ".join(["%s"] * len(pk)) + ")"
                    cur.execute(
                        f"SELECT {pk_sql}, {digest} FROM {quote(info.name)} WHERE ({pk_sql}) IN ({', '.join([one] * len(part))})",
                        [v for k in part for v in k],
                    )
                    yield typed(cur.fetchall())
                return
            after: tuple[Any, ...] | None = None
            while True:
                where = f" WHERE ({pk_sql}) > ({', '.join(['%s'] * len(pk))})" if after else ""
                cur.execute(
                    f"SELECT {pk_sql}, {digest} FROM {quote(info.name)}{where} ORDER BY {pk_sql} LIMIT {int(chunk_rows)}",
                    list(after or ()),
                )
                rows = cur.fetchall()
                if not rows:
                    return
                yield typed(rows)
                if len(rows) < chunk_rows:
                    return
                after = tuple(rows[-1][: len(pk)])
    finally:
        session.close()


class Landed:
    """Queries on the landed change logs through the pipeline's own SQL client (DuckDB,
    PostgreSQL, or DuckDB over the lake's files)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def name(self, table: str) -> str:
        return str(self.client.make_qualified_table_name(table))

    def columns(self, table: str) -> set[str] | None:
        """The landed columns of a change-log table; None when nothing has landed for it (a
        table created since, still empty)."""
        try:
            return set(self.query(f"select * from {table} limit 0").column_names)
        except Exception:  # the engines name a missing relation differently
            return None

    def query(self, sql: str, *params: Any) -> pa.Table:
        with self.client.execute_query(sql, *params) as cur:
            table = cur.arrow()
        return table if table is not None else pa.table({})


def generation_start(landed: Landed, info: TableInfo, table: str, until: str) -> str | None:
    """The start of the table's latest generation complete at ``until``: its last snapshot
    row is at or before it (a generation without rows, a truncate, at its start). A later
    generation, or one still being read at ``until``, does not count: as of ``until`` the
    table's state is the earlier generation's and the changes after it."""
    start = landed.query(
        f"select max(g.start_seq) as s from {landed.name('_cdc_snapshots')} as g "
        "where g.table_name = %s and g.status = 'done' and coalesce(("
        f"select max(r._cdc_seq) from {table} as r "
        "where r._cdc_snapshot_id = g.snapshot_id and r._cdc_op = 'snapshot'), g.start_seq) <= %s",
        info.name,
        until,
    )
    return start.column(0)[0].as_py() if start.num_rows else None


def landed_rows(
    landed: Landed, info: TableInfo, as_of: Position | None = None
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The landed current state of one table: {key: row (source column names)}; with
    ``as_of``, the state at that binlog position (changes after it left out)."""
    table = landed.name(NAMING.normalize_identifier(info.name))
    names = {c.name: NAMING.normalize_identifier(c.name) for c in info.columns}
    pk = ", ".join(names[c] for c in info.primary_key)
    until = seq(as_of.index, as_of.pos, 9_999_999_999) if as_of else "999999"
    since = generation_start(landed, info, table, until)
    rows = landed.query(
        f"select * from (select *, row_number() over (partition by {pk} order by _cdc_seq desc) as rn "
        f"from {table} where _cdc_seq >= %s and _cdc_seq <= %s) as latest where rn = 1 and _cdc_op <> 'delete'",
        since or "",
        until,
    )
    present = set(rows.column_names)
    out = {}
    for row in landed_pylist(rows):
        values = {c: row.get(n) if n in present else None for c, n in names.items()}
        out[_key(values[c] for c in info.primary_key)] = values
    return out


def landed_pylist(rows: pa.Table) -> list[dict[str, Any]]:
    """Arrow rows as Python dicts. A date or time beyond Python's range (year 10000: no source
    column can hold one, so only a landed value changed behind the pipeline's back) comes out
    as its text, which equals no source value: reported as a difference, not a crash."""
    try:
        return list(rows.to_pylist())
    except OverflowError:
        columns = [c.cast(pa.string()) if pa.types.is_temporal(c.type) else c for c in rows.columns]
        return list(pa.table(columns, names=rows.column_names).to_pylist())


def landed_hash(info: TableInfo, row: dict[str, Any]) -> str:
    return row_hash([canonical_value(c, row[c.name]) for c in info.columns])


def canonical_duckdb(column: Column, name: str | None) -> str:
    """canonical_sql's text for a landed column, computed by DuckDB (the warehouse's or the
    one dlt puts over the lake's files). ``name`` None: the column never landed."""
    if name is None:
        return f"'{NULL}'"
    q = f'"{name}"'
    kind = column.data_type
    if kind in {"datetime", "timestamp"}:
        text = f"strftime(cast({q} as timestamp), '%Y-%m-%d %H:%M:%S.%f')"
    elif kind in {"float", "double", "real"}:
        text = f"cast(try_cast(round({q}, 6) as decimal(38, 6)) as varchar)"
    elif column.arrow == pa.binary():
        text = f"upper(hex({q}))"
    elif kind in {"decimal", "numeric"}:
        text = f"cast({q} as varchar)"
        text = f"(case when strpos({text}, '.') > 0 then rtrim(rtrim({text}, '0'), '.') else {text} end)"
    elif column.arrow == pa.decimal128(20, 0):
        text = f"cast(cast({q} as decimal(20, 0)) as varchar)"
    else:
        text = f"cast({q} as varchar)"
    return f"coalesce({text}, '{NULL}')"  # DuckDB strings take a backslash as it is


def duckdb_texts(landed: Landed, info: TableInfo, names: dict[str, str], present: set[str]) -> str:
    """The canonical texts of a table's columns, for DuckDB's concat_ws (a column that never
    landed is NULL); the session set to UTC, as the server's texts are."""
    landed.client.execute_sql("SET TimeZone = 'UTC'")
    return ", ".join(
        canonical_duckdb(c, names[c.name] if names[c.name] in present else None)
        for c in info.columns
    )


def landed_hashes_duckdb(
    landed: Landed, info: TableInfo, as_of: Position | None
) -> dict[tuple[Any, ...], str] | None:
    """{key: md5 of the canonical text} of the landed current state, hashed by DuckDB; None
    when the landed side is not DuckDB (PostgreSQL: hashed in Python instead)."""
    from dlt.destinations.impl.duckdb.sql_client import DuckDbSqlClient

    if not isinstance(landed.client, DuckDbSqlClient):
        return None
    table = landed.name(NAMING.normalize_identifier(info.name))
    present = set(landed.query(f"select * from {table} limit 0").column_names)
    names = {c.name: NAMING.normalize_identifier(c.name) for c in info.columns}
    pk = ", ".join(f'"{names[c]}"' for c in info.primary_key)
    until = seq(as_of.index, as_of.pos, 9_999_999_999) if as_of else "999999"
    since = generation_start(landed, info, table, until)
    texts = duckdb_texts(landed, info, names, present)
    rows = landed.query(
        f"select {pk}, md5(concat_ws('#', {texts})) as row_md5 from ("
        f"select *, row_number() over (partition by {pk} order by _cdc_seq desc) as rn from {table} "
        f"where _cdc_seq >= %s and _cdc_seq <= %s) as latest where rn = 1 and _cdc_op <> 'delete'",
        since or "",
        until,
    )
    keys = [rows.column(i).to_pylist() for i in range(len(info.primary_key))]
    digests = rows.column(len(info.primary_key)).to_pylist()
    return {_key(k): d for k, d in zip(zip(*keys, strict=True), digests, strict=True)}


def landed_multiset(
    landed: Landed, info: TableInfo, as_of: Position | None
) -> dict[tuple[Any, ...], str]:
    """A table without a primary key as landed: {(row hash,): count}, each row counted once
    per snapshot row or insert and taken away once per delete, since the latest complete
    generation (which starts where its rows were read); each change counted once, however
    often a load job was repeated."""
    table = landed.name(NAMING.normalize_identifier(info.name))
    present = landed.columns(table) or set()
    names = {c.name: NAMING.normalize_identifier(c.name) for c in info.columns}
    until = seq(as_of.index, as_of.pos, 9_999_999_999) if as_of else "999999"
    since = generation_start(landed, info, table, until)
    changes = (
        f"select * from (select *, row_number() over (partition by _cdc_seq order by _dlt_load_id) as copy "
        f"from {table} where _cdc_seq >= %s and _cdc_seq <= %s) as once where copy = 1"
    )
    counts: dict[tuple[Any, ...], int] = {}
    from dlt.destinations.impl.duckdb.sql_client import DuckDbSqlClient

    if isinstance(landed.client, DuckDbSqlClient):
        texts = duckdb_texts(landed, info, names, present)
        rows = landed.query(
            f"select md5(concat_ws('#', {texts})) as d, "
            f"sum(case when _cdc_op = 'delete' then -1 else 1 end) as n from ({changes}) as c group by 1",
            since or "",
            until,
        )
        for d, n in zip(rows.column(0).to_pylist(), rows.column(1).to_pylist(), strict=True):
            counts[(d,)] = int(n)
    else:
        for row in landed_pylist(landed.query(changes, since or "", until)):
            values = {c: row.get(n) for c, n in names.items()}
            key = (landed_hash(info, values),)
            counts[key] = counts.get(key, 0) + (-1 if row["_cdc_op"] == "delete" else 1)
    return {k: str(n) for k, n in counts.items() if n != 0}


def compare_table(conn: MySqlConn, info: TableInfo, landed_state: Landed, chunk_rows: int,
                  only: list[tuple[Any, ...]] | None = None,
                  source: SourceHashes | None = None) -> TableCheck:  # fmt: skip
    """Compare one table. With ``source`` (hashes taken before the landed side caught up past
    their position), the landed state is taken as of that position: the exact same moment,
    so a live source cannot cause a false alarm."""
    check = TableCheck(info.name)
    as_of = source.position if source else None
    landed: dict[tuple[Any, ...], dict[str, Any]] = {}
    table = landed_state.name(NAMING.normalize_identifier(info.name))
    if landed_state.columns(table) is None:
        hashed: dict[tuple[Any, ...], str] | None = {}  # nothing landed yet
    elif not info.primary_key:
        hashed = landed_multiset(landed_state, info, as_of)
    else:
        hashed = landed_hashes_duckdb(landed_state, info, as_of)
    if hashed is None:
        landed = landed_rows(landed_state, info, as_of)
        hashed = {k: landed_hash(info, row) for k, row in landed.items()}
    seen: set[tuple[Any, ...]] = set()
    chunks = source.chunks if source else source_hashes(conn, info, chunk_rows, only)
    for chunk in chunks:
        check.chunks += 1
        check.rows += len(chunk)
        seen.update(chunk)
        ours = {k: hashed[k] for k in chunk if k in hashed}
        if ours == chunk:  # each key with its own digest (or count): nothing can cancel out
            continue
        check.chunks_differing += 1
        for key, digest in chunk.items():
            if key not in ours:
                check.missing.append(key)
            elif ours[key] != digest:
                check.different.append(key)
    extra_pool = set(only) if only is not None else set(hashed)
    check.extra = sorted((k for k in extra_pool - seen if k in hashed), key=repr)
    if check.different and info.primary_key:
        landed = landed or landed_rows(landed_state, info, as_of)
        check.different = values_differ(conn, info, landed, check.different)
    if check.keys and not info.primary_key:
        multiset_values_differ(conn, info, landed_state, as_of, check)
    return check


def multiset_values_differ(conn: MySqlConn, info: TableInfo, landed: Landed, as_of: Position | None,
                           check: TableCheck) -> None:  # fmt: skip
    """A table without a key whose row hashes differ: the rows behind those hashes compared as
    values (a float's last digit rounds differently in MariaDB and DuckDB at an exact tie), so
    only rows that really differ are reported, as for keyed tables (values_differ)."""
    from ingestion.mysql_cdc.incremental import Reader

    digests = sorted({k[0] for k in check.keys})
    digest = f"MD5(CONCAT_WS('#', {', '.join(canonical_sql(c) for c in info.columns)}))"
    reader = Reader(conn)
    try:
        where = f"{digest} IN ({', '.join(['%s'] * len(digests))})"
        _, fresh, batch, _ = reader.read(info.name, where, digests)
    finally:
        reader.close()
    source = [tuple(r[c.name] for c in fresh.columns) for r in batch.to_pylist()]
    names = {c.name: NAMING.normalize_identifier(c.name) for c in fresh.columns}
    mine: list[tuple[Any, ...]] = []
    for landed_row, count in landed_multiset_rows(landed, info, as_of, set(digests)):
        mine += [tuple(landed_row.get(names[c.name]) for c in fresh.columns)] * count
    unmatched = []
    for values in source:
        twin = next((i for i, m in enumerate(mine) if all(map(_same, values, m))), None)
        if twin is None:
            unmatched.append(values)
        else:
            mine.pop(twin)
    check.missing = [(repr(r)[:120],) for r in unmatched]
    check.extra = [(repr(r)[:120],) for r in mine]
    check.different = []


def landed_multiset_rows(landed: Landed, info: TableInfo, as_of: Position | None,
                         digests: set[str]) -> list[tuple[dict[str, Any], int]]:  # fmt: skip
    """The landed rows of a keyless table whose canonical hash is one of ``digests``, with
    how many times each is current (as landed_multiset counts them)."""
    from dlt.destinations.impl.duckdb.sql_client import DuckDbSqlClient

    table = landed.name(NAMING.normalize_identifier(info.name))
    present = landed.columns(table) or set()
    names = {c.name: NAMING.normalize_identifier(c.name) for c in info.columns}
    until = seq(as_of.index, as_of.pos, 9_999_999_999) if as_of else "999999"
    since = generation_start(landed, info, table, until)
    duck = isinstance(landed.client, DuckDbSqlClient)
    digest = (
        f"md5(concat_ws('#', {duckdb_texts(landed, info, names, present)}))" if duck else "null"
    )
    rows = landed_pylist(landed.query(
        f"select *, {digest} as lakeshop_digest from (select *, row_number() over (partition by "
        f"_cdc_seq order by _dlt_load_id) as copy from {table} where _cdc_seq >= %s and "
        "_cdc_seq <= %s) as once where copy = 1",
        since or "",
        until,
    ))  # fmt: skip
    hashed = [
        r["lakeshop_digest"] if duck else landed_hash(info, {c: r.get(n) for c, n in names.items()})
        for r in rows
    ]
    counted: dict[tuple[Any, ...], list[Any]] = {}
    for row, d in zip(rows, hashed, strict=True):
        if d not in digests:
            continue
        key = tuple(repr(row.get(names[c.name])) for c in info.columns)
        entry = counted.setdefault(key, [row, 0])
        entry[1] += -1 if row["_cdc_op"] == "delete" else 1
    return [(row, n) for row, n in counted.values() if n > 0]


def values_differ(conn: MySqlConn, info: TableInfo, landed: dict[tuple[Any, ...], dict[str, Any]],
                  keys: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:  # fmt: skip
    """Of keys whose hashes differ, those whose values differ (read from the source and
    compared as values, so a text-format difference between the engines is no finding)."""
    from ingestion.mysql_cdc.incremental import Reader, key_filter

    reader = Reader(conn)
    differ = []
    try:
        for start in range(0, len(keys), 1000):
            part = keys[start : start + 1000]
            where, params = key_filter(info.primary_key, part)
            _, fresh, batch, _ = reader.read(info.name, where, params)
            for row in batch.to_pylist():
                key = _key(row[c] for c in info.primary_key)
                mine = landed.get(key)
                if mine is None or any(
                    not _same(row[c.name], mine.get(c.name)) for c in fresh.columns
                ):
                    differ.append(key)
    finally:
        reader.close()
    return differ


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
        a = a.astimezone(dt.UTC).replace(tzinfo=None) if a.tzinfo else a
        b = b.astimezone(dt.UTC).replace(tzinfo=None) if b.tzinfo else b
    if isinstance(a, float) and isinstance(b, float):
        # a few units in the last place (text on the wire), not a changed value: 3.25e10 + 1
        # must differ from 3.25e10 (a FLOAT cannot even hold the +1)
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300)
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        try:
            return Decimal(str(a)) == Decimal(str(b))
        except ArithmeticError:
            return False
    return a == b


def tables_to_check(
    conn: MySqlConn, include: tuple[str, ...], exclude: tuple[str, ...]
) -> dict[str, TableInfo]:
    with conn.connect() as db, db.cursor() as cur:
        return discover_tables(cur, conn.database, include, exclude)
