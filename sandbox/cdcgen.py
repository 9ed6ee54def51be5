"""Draws MariaDB schemas and workloads for the CDC generator: plain SQL, seeded, replayable.

A case is a list of steps. Each step is SQL for one session (with that session's binlog
settings), an XA transaction left prepared or ended, a binlog rotation or purge, or a run of
the capture (``Run``), optionally SIGKILLed. The schema is tracked as the steps are drawn, so
every statement fits the table it names when drawn; a statement the server refuses on replay
(a foreign key, a shrunk case without the step that made it valid) is skipped and counted.

Nothing here imports lakeshop's sources: the harness in ``pytests/cdc_generator.py`` replays a
case on a real server, runs the capture and compares with the source.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

# (column type, kind) pairs: every MariaDB column type family, with the edges that broke
# something once (DECIMAL(65,30), BIGINT UNSIGNED, partial zero dates, 4-byte UTF-8, BLOBs)
TYPES = [
    ("INT", "int"),
    ("TINYINT", "tiny"),
    ("BIGINT UNSIGNED", "ubig"),
    ("DECIMAL(10,2)", "dec"),
    ("DECIMAL(65,30)", "widedec"),
    ("FLOAT", "float"),
    ("DOUBLE", "double"),
    ("BIT(5)", "bit"),
    ("YEAR", "year"),
    ("DATE", "date"),
    ("DATETIME(6)", "datetime"),
    ("TIMESTAMP(3) NULL", "timestamp"),
    ("TIME(2)", "time"),
    ("CHAR(3)", "char"),
    ("VARCHAR(40)", "text"),
    ("TEXT", "text"),
    ("VARCHAR(20) CHARACTER SET latin1", "latin"),
    ("ENUM('new','paid','shipped')", "enum"),
    ("SET('a','b','c')", "set"),
    ("JSON", "json"),
    ("VARBINARY(16)", "bin"),
    ("BLOB", "blob"),
    ("LONGBLOB", "bigblob"),
    ("POINT", "geo"),
]
WIDER = {
    "INT": "BIGINT",
    "DECIMAL(10,2)": "DECIMAL(14,4)",
    "VARCHAR(40)": "VARCHAR(80)",
    "FLOAT": "DOUBLE",
}
NARROWER = {
    "DECIMAL(10,2)": "DECIMAL(10,1)",
    "VARCHAR(40)": "VARCHAR(6)",
    "INT": "SMALLINT",
    "DOUBLE": "FLOAT",
}
WORDS = ["ok", "naïve", "Zoë", "日本", "🛒 cart", "a'b", "back\\slash", "", "tab\there", "NULL"]
FK_ACTIONS = ["CASCADE", "SET NULL", "RESTRICT", "NO ACTION"]


@dataclass
class Column:
    name: str
    type: str
    kind: str


@dataclass
class Table:
    name: str
    columns: list[Column]
    key: list[str]  # primary key columns (integers the generator numbers), or none
    next_id: int = 1
    parent: str | None = None  # a foreign key to that table's first key column
    engine: str = "InnoDB"  # Aria has no foreign keys

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def others(self) -> list[Column]:
        return [c for c in self.columns if c.name not in self.key and c.name != "parent_id"]


@dataclass
class Sql:
    """Statements of one session, committed at the end (a savepoint or rollback inside is SQL
    like any other). ``session``: SET SESSION assignments for that session only."""

    statements: list[str]
    session: list[str] = field(default_factory=list)
    ddl: bool = False


@dataclass
class XaPrepare:
    xid: str
    statements: list[str]


@dataclass
class XaEnd:
    xid: str
    commit: bool


@dataclass
class Binlog:
    action: str  # "rotate" or "purge"


@dataclass
class Run:
    kill: bool = False
    refused: str | None = None  # the run must stop with an error holding this text


@dataclass
class Server:
    """As root, not in the workload's session: SQL such as SET GLOBAL, or a restart."""

    statements: list[str] = field(default_factory=list)
    restart: bool = False


Step = Sql | XaPrepare | XaEnd | Binlog | Run | Server


def quote(name: str) -> str:
    return f"`{name}`"


class Drawer:
    """Draws one case: a schema, then a workload over it, with runs in between."""

    def __init__(self, seed: int, kills: bool = False, big_blobs: bool = True) -> None:
        self.rng = random.Random(seed)
        self.kills = kills
        self.big_blobs = big_blobs
        self.tables: dict[str, Table] = {}
        self.counter = 0
        self.open_xa: list[str] = []
        self.stats: dict[str, int] = {}

    # -- names and values ----------------------------------------------------------------
    def name(self, prefix: str) -> str:
        self.counter += 1
        style = self.rng.choice(["snake", "Camel", "lower"])
        word = f"{prefix}{self.counter}"
        if style == "Camel":
            return "".join(p.capitalize() for p in f"{prefix}_item_{self.counter}".split("_"))
        return word if style == "lower" else f"{prefix}_{self.counter}"

    def value(self, kind: str) -> str:
        r = self.rng
        if r.random() < 0.12 and kind not in {"geo"}:
            return "NULL"
        if kind == "int":
            return str(r.choice([0, -1, 2**31 - 1, -(2**31), r.randint(-1000, 1000)]))
        if kind == "tiny":
            return str(r.randint(-128, 127))
        if kind == "ubig":
            return str(r.choice([0, 2**64 - 1, 2**63, r.randint(0, 10**12)]))
        if kind == "dec":
            return f"{r.randint(-99999999, 99999999) / 100:.2f}"
        if kind == "widedec":
            digits = "".join(r.choice("0123456789") for _ in range(30))
            return f"{r.choice(['-', ''])}{r.randint(0, 10**34)}.{digits}"
        if kind in {"float", "double"}:
            return repr(r.choice([0.0, -1.5, 3.25e10, 1e-7, r.uniform(-1e6, 1e6)]))
        if kind == "bit":
            return f"b'{r.randint(0, 31):05b}'"
        if kind == "year":
            return str(r.choice([1901, 2155, 2000, r.randint(1901, 2155)]))
        if kind == "date":
            return r.choice(["'2024-02-29'", "'1000-01-01'", "'9999-12-31'", "'0000-00-00'",
                             "'2021-05-00'", "'2021-00-10'", f"'20{r.randint(10, 30)}-0{r.randint(1, 9)}-1{r.randint(0, 9)}'"])  # fmt: skip
        if kind == "datetime":
            return r.choice(["'2024-02-29 23:59:59.999999'", "'1000-01-01 00:00:00'", "'0000-00-00 00:00:00'",
                             f"'2025-0{r.randint(1, 9)}-1{r.randint(0, 9)} 1{r.randint(0, 9)}:30:0{r.randint(0, 9)}.{r.randint(0, 999999):06d}'"])  # fmt: skip
        if kind == "timestamp":
            return r.choice(["'1970-01-01 00:00:01'", "'2038-01-19 03:14:07.999'",
                             f"'2026-0{r.randint(1, 9)}-0{r.randint(1, 9)} 0{r.randint(0, 9)}:00:00.{r.randint(0, 999):03d}'"])  # fmt: skip
        if kind == "time":
            return r.choice(["'-838:59:59'", "'838:59:59'", "'-00:00:00.01'", f"'{r.randint(-99, 99)}:{r.randint(0, 59):02d}:00.5'"])  # fmt: skip
        if kind == "char":
            return "'" + r.choice(["a", "ab", "abc", "é", ""]) + "'"
        if kind in {"text", "latin"}:
            word = r.choice(WORDS if kind == "text" else ["plain", "café", "x'y", ""])
            return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"
        if kind == "enum":
            return r.choice(["'new'", "'paid'", "'shipped'"])
        if kind == "set":
            return r.choice(["''", "'a'", "'a,c'", "'a,b,c'"])
        if kind == "json":
            return r.choice(["'{}'", "'[1, 2.5, \"é\", null]'", '\'{"k": {"n": [true, false]}}\''])
        if kind == "bin":
            return f"X'{r.randbytes(r.randint(0, 16)).hex()}'"
        if kind == "blob":
            return f"X'{r.randbytes(r.randint(0, 300)).hex()}'"
        if kind == "bigblob":
            size = r.choice([0, 10, 70_000] + ([3_000_000] if self.big_blobs else []))
            return f"REPEAT(X'{r.randbytes(7).hex()}', {size // 7})"
        if kind == "geo":
            return f"ST_GeomFromText('POINT({r.randint(-180, 180)} {r.randint(-90, 90)})')"
        raise ValueError(kind)

    def count(self, what: str) -> None:
        self.stats[what] = self.stats.get(what, 0) + 1

    # -- schema --------------------------------------------------------------------------
    def new_table(self) -> tuple[Table, str]:
        r = self.rng
        name = self.name(r.choice(["order", "item", "event", "customer", "line"]))
        key_kind = r.choices(["single", "composite", "none"], [5, 2, 2])[0]
        key = {"single": ["id"], "composite": ["id", "part"], "none": []}[key_kind]
        columns = [Column(k, "INT", "int") for k in key]
        for _ in range(r.randint(1, 5)):
            type_, kind = r.choice(TYPES)
            columns.append(Column(self.name("col"), type_, kind))
        parent = None
        candidates = [t for t in self.tables.values() if t.key == ["id"] and t.engine == "InnoDB"]
        if candidates and r.random() < 0.4:
            parent = r.choice(candidates).name
            columns.append(Column("parent_id", "INT", "int"))
        table = Table(name, columns, key, parent=parent)
        defs = [
            f"{quote(c.name)} {c.type}" + (" NOT NULL" if c.name in key else "") for c in columns
        ]
        if key:
            defs.append(f"PRIMARY KEY ({', '.join(map(quote, key))})")
        if parent:
            on_delete, on_update = r.choice(FK_ACTIONS), r.choice(FK_ACTIONS)
            defs.append(f"FOREIGN KEY (`parent_id`) REFERENCES {quote(parent)} (`id`) "
                        f"ON DELETE {on_delete} ON UPDATE {on_update}")  # fmt: skip
        engine = table.engine = "Aria" if r.random() < 0.2 and not parent else "InnoDB"
        self.tables[name] = table
        return (
            table,
            f"CREATE TABLE {quote(name)} ({', '.join(defs)}) ENGINE={engine} DEFAULT CHARSET=utf8mb4",
        )

    def _referenced(self, name: str) -> bool:
        return any(t.parent == name for t in self.tables.values())

    # -- rows ----------------------------------------------------------------------------
    def insert(self, table: Table, rows: int) -> str:
        if rows == 0:
            return "DO 0"  # an empty table
        values = []
        for _ in range(rows):
            row = []
            for c in table.columns:
                if c.name in table.key:
                    row.append(str(table.next_id if c.name == "id" else self.rng.randint(1, 3)))
                elif c.name == "parent_id":
                    parent = self.tables.get(table.parent or "")
                    row.append(
                        str(self.rng.randint(1, max(1, parent.next_id - 1))) if parent else "NULL"
                    )
                else:
                    row.append(self.value(c.kind))
            table.next_id += 1
            values.append(f"({', '.join(row)})")
        cols = ", ".join(quote(c.name) for c in table.columns)
        return f"INSERT IGNORE INTO {quote(table.name)} ({cols}) VALUES {', '.join(values)}"

    def where(self, table: Table) -> str:
        if table.key:
            low = self.rng.randint(1, max(1, table.next_id))
            return f"WHERE `id` BETWEEN {low} AND {low + self.rng.randint(0, 3)}"
        column = self.rng.choice(table.columns)
        return f"WHERE {quote(column.name)} IS NOT NULL ORDER BY {quote(column.name)} LIMIT {self.rng.randint(1, 2)}"

    def update(self, table: Table) -> str:
        others = table.others()
        if table.key and (not others or self.rng.random() < 0.15):
            # a primary-key change (and, by cascade, its children's)
            low = self.rng.randint(1, max(1, table.next_id))
            table.next_id += 1
            return (
                f"UPDATE {quote(table.name)} SET `id` = {table.next_id + 1000} WHERE `id` = {low}"
            )
        if not others:
            return f"DELETE FROM {quote(table.name)} {self.where(table)}"
        column = self.rng.choice(others)
        return f"UPDATE {quote(table.name)} SET {quote(column.name)} = {self.value(column.kind)} {self.where(table)}"

    def delete(self, table: Table) -> str:
        return f"DELETE FROM {quote(table.name)} {self.where(table)}"

    def dml(self) -> str:
        table = self.rng.choice(list(self.tables.values()))
        kind = self.rng.choices(["insert", "update", "delete"], [4, 4, 2])[0]
        self.count(kind)
        if kind == "insert":
            return self.insert(table, self.rng.randint(1, 4))
        return self.update(table) if kind == "update" else self.delete(table)

    # -- schema changes ----------------------------------------------------------------------
    def ddl(self) -> list[str]:
        r = self.rng
        table = r.choice(list(self.tables.values()))
        t = quote(table.name)
        others = table.others()
        choices = ["add_null", "add_default", "drop", "rename_col", "change", "widen", "narrow",
                   "add_pk", "drop_pk", "rename_table", "create", "drop_table", "truncate", "engine"]  # fmt: skip
        kind = r.choice(choices)
        self.count(f"ddl:{kind}")
        if kind in {"add_null", "add_default"}:
            type_, k = r.choice(TYPES[:16])
            column = Column(self.name("col"), type_, k)
            table.columns.append(column)
            if kind == "add_null":
                return [f"ALTER TABLE {t} ADD COLUMN {quote(column.name)} {type_}"]
            default = self.value(k)
            default = "0" if default == "NULL" or k in {"blob", "text", "json", "geo"} else default
            if k in {"text", "json", "blob"}:
                column.type, column.kind = "INT", "int"
            return [
                f"ALTER TABLE {t} ADD COLUMN {quote(column.name)} {column.type} NOT NULL DEFAULT {default}"
            ]
        if kind == "drop" and len(others) > 1:
            column = r.choice(others)
            table.columns.remove(column)
            return [f"ALTER TABLE {t} DROP COLUMN {quote(column.name)}"]
        if kind in {"rename_col", "change"} and others:
            column = r.choice(others)
            old, column.name = column.name, self.name("col")
            if kind == "rename_col":
                return [f"ALTER TABLE {t} RENAME COLUMN {quote(old)} TO {quote(column.name)}"]
            return [f"ALTER TABLE {t} CHANGE {quote(old)} {quote(column.name)} {column.type}"]
        if kind in {"widen", "narrow"}:
            mapping = WIDER if kind == "widen" else NARROWER
            fitting = [c for c in others if c.type in mapping]
            if fitting:
                column = r.choice(fitting)
                column.type = mapping[column.type]
                column.kind = {"BIGINT": "int", "SMALLINT": "int", "FLOAT": "float", "DOUBLE": "double"}.get(column.type, column.kind)  # fmt: skip
                return [f"ALTER TABLE {t} MODIFY {quote(column.name)} {column.type}"]
        if kind == "add_pk" and not table.key:
            table.columns.insert(0, Column("id", "INT", "int"))
            table.key = ["id"]
            table.next_id = 100_000
            return [f"ALTER TABLE {t} ADD COLUMN `id` INT AUTO_INCREMENT PRIMARY KEY FIRST",
                    f"ALTER TABLE {t} MODIFY `id` INT NOT NULL"]  # fmt: skip
        if kind == "drop_pk" and table.key and not self._referenced(table.name):
            table.key = []
            return [f"ALTER TABLE {t} DROP PRIMARY KEY"]
        if kind == "rename_table" and not self._referenced(table.name) and not table.parent:
            del self.tables[table.name]
            table.name = self.name("renamed")
            self.tables[table.name] = table
            return [f"RENAME TABLE {t} TO {quote(table.name)}"]
        if kind == "drop_table" and len(self.tables) > 1 and not self._referenced(table.name):
            del self.tables[table.name]
            return [f"DROP TABLE {t}"]
        if kind == "truncate" and not self._referenced(table.name):
            return [f"TRUNCATE TABLE {t}"]
        if kind == "engine" and not table.parent and not self._referenced(table.name):
            table.engine = r.choice(["Aria", "InnoDB"])
            return [f"ALTER TABLE {t} ENGINE={table.engine}"]
        new, sql = self.new_table()
        return [sql, self.insert(new, r.randint(0, 5))]

    # -- the case ------------------------------------------------------------------------
    def schema(self) -> list[Step]:
        steps: list[Step] = []
        for _ in range(self.rng.randint(1, 4)):
            table, sql = self.new_table()
            steps.append(Sql([sql, self.insert(table, self.rng.randint(0, 30))], ddl=True))
        if self.rng.random() < 0.2:
            # prepared before the first snapshot, committed after it
            xid = f"early{self.counter}"
            steps.append(XaPrepare(xid, [self.dml()]))
            self.open_xa.append(xid)
        return steps

    def collide(self) -> list[Step]:
        """A table or a column whose name lands as one already captured: the run refuses
        before anything lands; once it is gone again, capture goes on."""
        table = self.rng.choice(list(self.tables.values()))
        camel = [c for c in table.others() if any(ch.isupper() for ch in c.name)]
        if camel and self.rng.random() < 0.5:
            twin = _snake(self.rng.choice(camel).name)
            self.count("collide:column")
            return [Sql([f"ALTER TABLE {quote(table.name)} ADD COLUMN {quote(twin)} INT"], ddl=True),
                    Run(refused="would both land as"),
                    Sql([f"ALTER TABLE {quote(table.name)} DROP COLUMN {quote(twin)}"], ddl=True)]  # fmt: skip
        twin = _snake(table.name) if any(ch.isupper() for ch in table.name) else table.name.upper()
        if _snake(twin) != _snake(table.name) or twin == table.name:
            return [self.step_one()]
        self.count("collide:table")
        return [Sql([f"CREATE TABLE {quote(twin)} (id INT PRIMARY KEY)"], ddl=True),
                Run(refused="would both land as"), Sql([f"DROP TABLE {quote(twin)}"], ddl=True)]  # fmt: skip

    def server(self) -> list[Step]:
        if self.rng.random() < 0.5:
            self.count("server:restart")
            return [Server(restart=True)]
        setting, fix = self.rng.choice([("binlog_row_image = 'MINIMAL'", "binlog_row_image"),
                                        ("binlog_format = 'STATEMENT'", "binlog_format")])  # fmt: skip
        self.count(f"server:{fix}")
        back = "binlog_row_image = 'FULL'" if "image" in setting else "binlog_format = 'ROW'"
        return [Server([f"SET GLOBAL {setting}"]), Run(refused=fix), Server([f"SET GLOBAL {back}"])]

    def step(self) -> list[Step]:
        kind = self.rng.choices(["one", "collide", "server"], [40, 1, 1])[0]
        if kind == "collide":
            return self.collide()
        if kind == "server":
            return self.server()
        return [self.step_one()]

    def step_one(self) -> Step:
        r = self.rng
        if self.open_xa and r.random() < 0.3:
            xid = self.open_xa.pop(0)
            self.count("xa_commit")
            return XaEnd(xid, commit=r.random() < 0.7)
        kind = r.choices(
            ["txn", "savepoint", "rollback", "xa", "ddl", "session", "binlog", "run"],
            [10, 2, 2, 2, 3, 2, 1, 3],
        )[0]
        if kind == "txn":
            return Sql([self.dml() for _ in range(r.randint(1, 5))])
        if kind == "savepoint":
            self.count("savepoint")
            # rows written before ROLLBACK TO SAVEPOINT vanish; the drawer's model does not
            # track rows, so nothing about them needs undoing here
            return Sql(
                [self.dml(), "SAVEPOINT sp1", self.dml(), "ROLLBACK TO SAVEPOINT sp1", self.dml()]
            )
        if kind == "rollback":
            self.count("rollback")
            return Sql([self.dml(), self.dml(), "ROLLBACK"])
        if kind == "xa":
            xid = f"x{self.counter}"
            self.counter += 1
            self.open_xa.append(xid)
            self.count("xa")
            return XaPrepare(xid, [self.dml() for _ in range(r.randint(1, 3))])
        if kind == "ddl":
            return Sql(self.ddl(), ddl=True)
        if kind == "session":
            setting = r.choice(["binlog_format = 'STATEMENT'", "binlog_format = 'MIXED'",
                                "binlog_row_image = 'MINIMAL'", "binlog_row_image = 'NOBLOB'"])  # fmt: skip
            self.count(f"session:{setting}")
            return Sql([self.dml() for _ in range(r.randint(1, 3))], session=[setting])
        if kind == "binlog":
            action = r.choice(["rotate", "rotate", "purge"])
            self.count(f"binlog:{action}")
            return Binlog(action)
        kill = self.kills and r.random() < 0.5
        self.count("kill" if kill else "run")
        return Run(kill=kill)

    def case(self, steps: int) -> list[Step]:
        out = [*self.schema(), Run()]
        for _ in range(steps):
            out += self.step()
        out += [XaEnd(x, commit=True) for x in self.open_xa]
        self.open_xa = []
        out.append(Run())
        return out


def _snake(name: str) -> str:
    """dlt's snake_case of a generated name (CamelCase words split, lower case)."""
    out = ""
    for i, ch in enumerate(name):
        if ch.isupper() and i and (name[i - 1].islower() or name[i - 1].isdigit()):
            out += "_"
        out += ch.lower()
    return out


def draw(
    seed: int, steps: int = 40, kills: bool = False, big_blobs: bool = True
) -> tuple[list[Step], dict[str, int]]:
    """A seeded case and what it holds (statement kinds, DDL kinds, sessions, kills)."""
    drawer = Drawer(seed, kills=kills, big_blobs=big_blobs)
    steps_ = drawer.case(steps)
    return steps_, drawer.stats


def as_sql(steps: list[Step]) -> str:
    """A case as a script a person can read and replay by hand."""
    lines = []
    for step in steps:
        if isinstance(step, Sql):
            lines += [f"SET SESSION {s};" for s in step.session]
            lines += [f"{s};" for s in step.statements]
            lines.append("COMMIT;")
            lines += (
                ["SET SESSION binlog_format = 'ROW', binlog_row_image = 'FULL';"]
                if step.session
                else []
            )
        elif isinstance(step, XaPrepare):
            lines += [f"XA START '{step.xid}';", *[f"{s};" for s in step.statements],
                      f"XA END '{step.xid}';", f"XA PREPARE '{step.xid}';  -- and disconnect"]  # fmt: skip
        elif isinstance(step, XaEnd):
            lines.append(f"XA {'COMMIT' if step.commit else 'ROLLBACK'} '{step.xid}';")
        elif isinstance(step, Server):
            lines += [f"{s};  -- as root" for s in step.statements]
            lines += ["-- restart the server"] if step.restart else []
        elif isinstance(step, Binlog):
            lines.append(
                "FLUSH BINARY LOGS;"
                if step.action == "rotate"
                else "-- purge every binary log but the current one"
            )
        else:
            note = (
                "  (SIGKILLed)"
                if step.kill
                else f"  (must refuse: {step.refused})"
                if step.refused
                else ""
            )
            lines.append("-- lakeshop ingest mysql --to lake warehouse --recapture-unlogged" + note)
    return "\n".join(lines)
