"""Reads while streaming: incremental snapshots, targeted refreshes, foreign-key cascades.

Every read here happens in its own ``START TRANSACTION WITH CONSISTENT SNAPSHOT``, whose
binlog position MariaDB reports exactly (``binlog_snapshot_file``/``_position``). A row read
at position P is the row's state at P, so it lands with ``_cdc_seq`` at P: a change the stream
saw before P is older and loses, a change after P is newer and wins, whenever either is
landed. That is the guarantee Netflix's DBLog gets from its low/high watermarks (a chunk never
overwrites a newer streamed change), here without writing watermarks to the source and
without pausing the stream. MySQL 8 has no such status variables; there each read takes the
brief read lock of ``SnapshotSession`` to learn its position.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pymysql
import pymysql.cursors

from ingestion.mysql_cdc.helpers import (
    MySqlConn,
    Position,
    TableInfo,
    describe_table,
    quote,
    select_expression,
    text_to_arrow,
)
from ingestion.mysql_cdc.snapshot import SnapshotSession

# Row numbers of rows read while streaming start here, so their _cdc_seq never equals one of
# the first snapshot's rows read at the same binlog position (those count from 0).
READ_ROW_BASE = 5_000_000_000


@dataclass(frozen=True)
class ForeignKey:
    """A foreign key of ``child`` on ``parent`` whose action changes child rows."""

    name: str
    child: str
    child_columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...]
    on_update: str  # CASCADE, SET NULL, RESTRICT, NO ACTION, SET DEFAULT
    on_delete: str


FK_ACTIONS = re.compile(
    r"CONSTRAINT\s+`((?:[^`]|``)+)`\s+FOREIGN\s+KEY\s*\([^)]*\)\s*REFERENCES\s*[^(]*\([^)]*\)"
    r"((?:\s+ON\s+(?:DELETE|UPDATE)\s+(?:CASCADE|SET\s+NULL|SET\s+DEFAULT|RESTRICT|NO\s+ACTION))*)",
    re.IGNORECASE,
)


def foreign_keys(cur: pymysql.cursors.Cursor, database: str) -> dict[str, list[ForeignKey]]:
    """Foreign keys within ``database`` with a cascading action, by parent table.

    The columns come from information_schema.key_column_usage; the actions from SHOW CREATE
    TABLE, because MariaDB hides information_schema.referential_constraints (which has them)
    from a user that may only SELECT, as the CDC user should.
    """
    cur.execute(
        "SELECT table_name, constraint_name, column_name, referenced_table_name, referenced_column_name "
        "FROM information_schema.key_column_usage WHERE table_schema = %s AND referenced_table_schema = %s "
        "AND referenced_table_name IS NOT NULL ORDER BY table_name, constraint_name, ordinal_position",
        (database, database),
    )
    grouped: dict[tuple[str, str], dict[str, Any]] = {}
    for child, name, column, parent, referenced in cur.fetchall():
        fk = grouped.setdefault(
            (str(child), str(name)), {"parent": str(parent), "child_cols": [], "parent_cols": []}
        )
        fk["child_cols"].append(str(column))
        fk["parent_cols"].append(str(referenced))
    actions: dict[tuple[str, str], tuple[str, str]] = {}
    for child in sorted({c for c, _ in grouped}):
        cur.execute(f"SHOW CREATE TABLE {quote(child)}")
        ddl = str(cur.fetchone()[1])  # type: ignore[index]
        for match in FK_ACTIONS.finditer(ddl):
            clauses = match.group(2).upper()
            actions[(child, match.group(1).replace("``", "`"))] = (
                _action(clauses, "UPDATE"),
                _action(clauses, "DELETE"),
            )
    out: dict[str, list[ForeignKey]] = {}
    for (child, name), fk in grouped.items():
        on_update, on_delete = actions.get((child, name), ("RESTRICT", "RESTRICT"))
        if on_update in CHANGING or on_delete in CHANGING:
            key = ForeignKey(name, child, tuple(fk["child_cols"]), fk["parent"],
                             tuple(fk["parent_cols"]), on_update, on_delete)  # fmt: skip
            out.setdefault(fk["parent"], []).append(key)
    return out


CHANGING = {"CASCADE", "SET NULL", "SET DEFAULT"}


def _action(clauses: str, event: str) -> str:
    """The ON DELETE / ON UPDATE action in a foreign key's clauses (RESTRICT when omitted)."""
    found = re.search(
        rf"ON\s+{event}\s+(CASCADE|SET\s+NULL|SET\s+DEFAULT|RESTRICT|NO\s+ACTION)", clauses
    )
    return re.sub(r"\s+", " ", found.group(1)) if found else "RESTRICT"


# The ALTER TABLE clauses known to leave every existing row's landed values as they were.
# Anything else (MODIFY, CHANGE, RENAME COLUMN, CONVERT TO, a column added with a default,
# NOT NULL, AUTO_INCREMENT or as generated, a clause this list does not know) makes lakeshop
# capture the table again: an ALTER writes no row events for the rows it rewrites, and a
# renamed column would leave every row not changed since under its old name. Such an ALTER
# copies the table on the server anyway, so reading it again costs the same order of work.
_NAME = r"(?:`(?:[^`]|``)+`|\w+)"
SAFE_CLAUSES = [
    re.compile(p, re.IGNORECASE | re.DOTALL)
    for p in (
        r"ADD\s+(?:CONSTRAINT\s+(?:"
        + _NAME
        + r"\s+)?)?(?:INDEX|KEY|UNIQUE|FULLTEXT|SPATIAL|FOREIGN\s+KEY|CHECK)\b.*",
        r"ADD\s+CONSTRAINT\b(?!.*\bPRIMARY\b).*",
        r"DROP\s+(?:INDEX|KEY|FOREIGN\s+KEY|CONSTRAINT|CHECK)\b.*",
        r"DROP\s+(?:COLUMN\s+)?(?:IF\s+EXISTS\s+)?" + _NAME + r"\s*(?:RESTRICT|CASCADE)?",
        r"ALTER\s+(?:COLUMN\s+)?(?:IF\s+EXISTS\s+)?"
        + _NAME
        + r"\s+(?:SET\s+DEFAULT\b.*|DROP\s+DEFAULT|SET\s+(?:IN)?VISIBLE)",
        r"ALTER\s+(?:INDEX|KEY)\b.*",
        r"RENAME\s+(?:INDEX|KEY)\b.*",
        r"(?:ENGINE|AUTO_INCREMENT|COMMENT|ROW_FORMAT|KEY_BLOCK_SIZE|STATS_\w+|PACK_KEYS|CHECKSUM|DELAY_KEY_WRITE|MAX_ROWS|MIN_ROWS|ALGORITHM|LOCK|PAGE_CHECKSUM|TRANSACTIONAL)\s*=?\s*\S+",
        r"(?:DEFAULT\s+)?(?:CHARACTER\s+SET|CHARSET|COLLATE)\s*=?\s*\S+(?:\s+COLLATE\s*=?\s*\S+)?",
        r"FORCE|ENABLE\s+KEYS|DISABLE\s+KEYS|ORDER\s+BY\b.*|(?:NO)?WAIT\s+\d+|NOWAIT",
        r"RENAME\s+(?:TO|AS)?\s*" + _NAME + r"(?:\." + _NAME + r")?",
    )
]
# a column added without a value for existing rows: NULL, so no row changes
ADD_COLUMN = re.compile(
    r"ADD\s+(?:COLUMN\s+)?(?:IF\s+NOT\s+EXISTS\s+)?(?!(?:INDEX|KEY|UNIQUE|PRIMARY|CONSTRAINT|FOREIGN|FULLTEXT|SPATIAL|CHECK|PARTITION)\b)(\(?)(.*)",
    re.IGNORECASE | re.DOTALL,
)
ALTER_HEAD = re.compile(
    r"^\s*(?:/\*.*?\*/\s*)*ALTER\s+(?:ONLINE\s+|IGNORE\s+)*TABLE\s+(?:IF\s+EXISTS\s+)?"
    + _NAME
    + r"(?:\."
    + _NAME
    + r")?\s*(?:WAIT\s+\d+\s+|NOWAIT\s+)?",
    re.IGNORECASE | re.DOTALL,
)


def alter_clauses(sql: str) -> list[str]:
    """The clauses of an ALTER TABLE statement, split at commas outside parentheses and quotes."""
    head = ALTER_HEAD.match(sql)
    body = sql[head.end() :] if head else sql
    clauses: list[str] = []
    current: list[str] = []
    depth, quote_char = 0, ""
    for ch in body:
        if quote_char:
            quote_char = "" if ch == quote_char else quote_char
        elif ch in "'\"`":
            quote_char = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            clauses.append("".join(current).strip())
            current = []
            continue
        current.append(ch)
    clauses.append("".join(current).strip())
    return [c for c in clauses if c]


def _adds_values(definition: str) -> str | None:
    """Why an added column gives existing rows a value other than NULL, or None."""
    text = re.sub(r"'(?:[^']|'')*'", "''", definition.upper())
    if re.search(r"\b(AS\s*\(|GENERATED\b)", text):
        return "a generated column was added"
    if "AUTO_INCREMENT" in text:
        return "an AUTO_INCREMENT column was added"
    if re.search(r"\bDEFAULT\s+(?!NULL\b)", text) or re.search(r"\bNOT\s+NULL\b", text):
        return "a column with a default was added"
    return None


def rewrites_rows(
    sql: str, before: TableInfo | None = None, after: TableInfo | None = None
) -> str | None:
    """Why an ALTER may have changed the landed values of existing rows (without row events),
    or None when every clause is known to leave them as they were."""
    del before, after  # the statement alone decides: the schemas around it may be long gone
    for clause in alter_clauses(sql):
        added = ADD_COLUMN.match(clause)
        if added:
            why = _adds_values(added.group(2))
            if why:
                return why
            continue
        if any(p.fullmatch(clause) for p in SAFE_CLAUSES):
            continue
        words = " ".join(clause.split()[:4])
        return f"ALTER clause `{words}` may rewrite rows or rename columns"
    return None


class Reader:
    """Reads rows of one table at an exact binlog position, one consistent snapshot per read."""

    def __init__(self, conn: MySqlConn) -> None:
        self.conn = conn
        self.session: SnapshotSession | None = None

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None

    def read(
        self, table: str, where: str = "", params: Sequence[Any] = (), after: list[Any] | None = None,
        limit: int | None = None, same_snapshot: bool = False,
    ) -> tuple[Position, TableInfo, pa.Table, list[Any] | None]:  # fmt: skip
        """Rows of ``table`` matching ``where`` (and after key ``after``, in key order, at most
        ``limit``), with the exact position they were read at and the table's columns then.
        ``same_snapshot`` reads in the previous read's snapshot instead of a new one."""
        for attempt in range(5):
            if not (same_snapshot and self.session is not None and attempt == 0):
                self.close()
                self.session = SnapshotSession(self.conn)
            session = self.session
            assert session is not None
            try:
                with session.db.cursor(pymysql.cursors.Cursor) as cur:
                    info = describe_table(cur, self.conn.database, table)
                    if not info.columns:
                        return session.position, info, pa.table({}), None
                    names = info.column_names
                    pk = info.primary_key
                    clauses, args = ([f"({where})"] if where else []), list(params)
                    if after is not None and pk:
                        clauses.append(
                            f"({', '.join(map(quote, pk))}) > ({', '.join(['%s'] * len(pk))})"
                        )
                        args += list(after)
                    sql = f"SELECT {', '.join(select_expression(c) for c in info.columns)} FROM {quote(table)}"
                    if clauses:
                        sql += " WHERE " + " AND ".join(clauses)
                    if pk and limit is not None:
                        sql += f" ORDER BY {', '.join(map(quote, pk))} LIMIT {int(limit)}"
                    cur.execute(sql, args)
                    rows = cur.fetchall()
                arrays, _ = text_to_arrow(info.columns, rows)
                last = [rows[-1][names.index(c)] for c in pk] if rows and pk else None
                return session.position, info, pa.Table.from_arrays(arrays, names=names), last
            except pymysql.err.OperationalError as exc:
                # 1412: the table's definition changed after this snapshot began; read again
                if exc.args and exc.args[0] == 1412 and attempt < 4:
                    continue
                raise
        raise AssertionError("unreachable")


def key_filter(columns: Sequence[str], keys: Sequence[Sequence[Any]]) -> tuple[str, list[Any]]:
    """``(a, b) IN ((%s, %s), ...)`` for a list of key tuples."""
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    sql = f"({', '.join(map(quote, columns))}) IN ({', '.join([one] * len(keys))})"
    return sql, [v for key in keys for v in key]


def batches_of(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
