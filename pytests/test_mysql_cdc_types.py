"""One value, however it was read: every MySQL/MariaDB type through the snapshot and the stream.

The same values are inserted once before the snapshot and once while streaming; both rows
must land identical to each other and equal to the source, in the warehouse and in the lake.
"""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingestion.mysql_cdc.helpers import Column
from ingestion.mysql_cdc.runner import sync
from pytests.cdc_support import cdc_url, fresh_database, root
from sandbox.services import MariaDB

COLUMNS = """
    id INT PRIMARY KEY,
    t_tiny TINYINT, t_utiny TINYINT UNSIGNED, t_small SMALLINT, t_usmall SMALLINT UNSIGNED,
    t_medium MEDIUMINT, t_umedium MEDIUMINT UNSIGNED, t_int INT, t_uint INT UNSIGNED,
    t_big BIGINT, t_ubig BIGINT UNSIGNED, t_bool BOOLEAN,
    t_dec DECIMAL(10,2), t_dec_wide DECIMAL(65,30), t_dec_neg DECIMAL(12,4),
    t_float FLOAT, t_double DOUBLE, t_bit BIT(12), t_bit1 BIT(1),
    t_year YEAR, t_year_zero YEAR,
    t_date DATE, t_date_zero DATE, t_time TIME, t_time3 TIME(3), t_time6 TIME(6), t_time_neg TIME, t_time_neg2 TIME(2),
    t_datetime DATETIME, t_datetime6 DATETIME(6), t_datetime_zero DATETIME,
    t_timestamp TIMESTAMP NULL, t_timestamp3 TIMESTAMP(3) NULL,
    t_char CHAR(10), t_varchar VARCHAR(40), t_text TEXT, t_blob BLOB, t_binary VARBINARY(16),
    t_enum ENUM('small','medium','large'), t_set SET('red','green','blue'), t_set_empty SET('a','b'),
    t_json JSON, t_geometry GEOMETRY, t_null_int INT
"""

VALUES: dict[str, Any] = {
    "t_tiny": -128, "t_utiny": 255, "t_small": -32768, "t_usmall": 65535,
    "t_medium": -8388608, "t_umedium": 16777215, "t_int": -2147483648, "t_uint": 4294967295,
    "t_big": -9223372036854775808, "t_ubig": 18446744073709551615, "t_bool": 1,
    "t_dec": Decimal("12345678.91"), "t_dec_wide": Decimal("12345678901234567890123456789012345.123456789012345678901234567891"),
    "t_dec_neg": Decimal("-0.0001"),
    "t_float": 123456789.0, "t_double": 0.1 + 0.2, "t_bit": 0b101000000101, "t_bit1": 1,
    "t_year": 2155, "t_year_zero": 0,
    "t_date": dt.date(1000, 1, 1), "t_date_zero": "0000-00-00", "t_time": "838:59:59",
    "t_time3": "12:34:56.789", "t_time6": "00:00:00.000001", "t_time_neg": "-01:02:03",
    "t_time_neg2": "-00:00:00.01", "t_datetime": dt.datetime(2026, 3, 29, 2, 30, 0), "t_datetime6": dt.datetime(9999, 12, 31, 23, 59, 59, 999999),
    "t_datetime_zero": "0000-00-00 00:00:00",
    "t_timestamp": dt.datetime(2038, 1, 19, 3, 14, 7), "t_timestamp3": dt.datetime(1970, 1, 1, 0, 0, 1, 5000),
    "t_char": "ab", "t_varchar": "trailing  ", "t_text": "ünïcødé ☃ 𝄞", "t_blob": bytes(range(256)),
    "t_binary": b"\x00\x01\x00", "t_enum": "medium", "t_set": "red,blue", "t_set_empty": "",
    "t_json": '{"a": [1, 2.5, "x"], "b": null}', "t_null_int": None,
}  # fmt: skip
GEOMETRY = "ST_GeomFromText('POINT(1.5 -2.25)')"


def _insert(cur: Any, row_id: int) -> None:
    names = ["id", *VALUES, "t_geometry"]
    placeholders = ["%s"] * (len(VALUES) + 1) + [GEOMETRY]
    cur.execute(
        f"INSERT INTO types ({', '.join(names)}) VALUES ({', '.join(placeholders)})",
        (row_id, *VALUES.values()),
    )


def _source(mariadb: MariaDB, database: str) -> dict[str, Any]:
    """Row 1 as MariaDB itself reads it (text protocol), for the columns whose exact value is
    only visible that way: FLOAT at full float32 precision, TIME and YEAR as text."""
    with root(mariadb, database) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT CAST(t_float AS DOUBLE), CAST(t_time3 AS CHAR), CAST(t_year_zero AS CHAR), "
            "ST_AsBinary(t_geometry), CAST(t_time_neg AS CHAR), CAST(t_time_neg2 AS CHAR) "
            "FROM types WHERE id = 1"
        )
        f, time3, year_zero, wkb, time_neg, time_neg2 = cur.fetchone()  # type: ignore[misc]
    return {
        "t_float": f,
        "t_time3": time3,
        "t_year_zero": year_zero,
        "wkb": wkb,
        "t_time_neg": time_neg,
        "t_time_neg2": time_neg2,
    }


def _expected(source: dict[str, Any]) -> dict[str, Any]:
    return {
        **VALUES,
        "t_float": source["t_float"],
        "t_year_zero": 0,
        "t_date_zero": None,  # not representable: NULL, counted
        "t_datetime_zero": None,
        "t_time": "838:59:59",
        "t_time3": source["t_time3"],
        "t_time6": "00:00:00.000001",
        "t_time_neg": source["t_time_neg"],
        "t_time_neg2": source["t_time_neg2"],  # -00:00:00.01, as the server writes it
        "t_timestamp": dt.datetime(2038, 1, 19, 3, 14, 7, tzinfo=dt.UTC),
        "t_timestamp3": dt.datetime(1970, 1, 1, 0, 0, 1, 5000, tzinfo=dt.UTC),
        "t_ubig": Decimal(18446744073709551615),
        "t_dec": Decimal("12345678.91"),
        "t_dec_wide": "12345678901234567890123456789012345.123456789012345678901234567891",
        "t_bit1": 1,
        "t_bool": 1,
    }


def _compare(row: dict[str, Any], expected: dict[str, Any], wkb: bytes, where: str) -> list[str]:
    problems = []
    for name, want in expected.items():
        got = row[name]
        if isinstance(got, Decimal) and isinstance(want, Decimal):
            same = got == want
        else:
            same = got == want and type(got) is type(want)
        if not same:
            problems.append(f"{where} {name}: {got!r} != {want!r}")
    # MariaDB stores GEOMETRY as a 4-byte SRID followed by WKB
    if row["t_geometry"][4:] != wkb:
        problems.append(f"{where} t_geometry: {row['t_geometry']!r} != SRID + {wkb!r}")
    return problems


@pytest.mark.parametrize(("reader", "decoder"), [("connectorx", "compiled"), ("pymysql", "python")])
def test_every_type_lands_the_same_from_snapshot_and_stream(
    mariadb: MariaDB, workdir: Path, reader: str, decoder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On both snapshot readers: connectorx straight into Arrow while the server is quiet,
    and pymysql inside the snapshot's transaction (without connectorx, or after a write); and
    on both decoders of the binary log's row images: the compiled one and pymysqlreplication's
    in Python."""
    from ingestion.mysql_cdc import rowimage

    monkeypatch.setenv("LAKESHOP_CDC_ARROW_READER", "1" if reader == "connectorx" else "0")
    monkeypatch.setenv("LAKESHOP_CDC_ROW_DECODER", decoder)
    assert rowimage.available() == (decoder == "compiled"), "the compiled decoder is not built"
    fresh_database(mariadb, "cdc_types")
    with root(mariadb, "cdc_types") as conn, conn.cursor() as cur:
        cur.execute("SET SESSION sql_mode = ''")  # zero dates are allowed, as on many old servers
        cur.execute(f"CREATE TABLE types ({COLUMNS})")
        _insert(cur, 1)
        conn.commit()
    url = cdc_url(mariadb, "cdc_types")
    first = sync(url, "warehouse", quiet=True)
    sync(url, "lake", quiet=True)
    assert first.snapshot_rows == 1
    assert first.arrow_rows == (1 if reader == "connectorx" else 0)
    with root(mariadb, "cdc_types") as conn, conn.cursor() as cur:
        cur.execute("SET SESSION sql_mode = ''")
        _insert(cur, 2)
        conn.commit()
    second = sync(url, "warehouse", quiet=True)
    sync(url, "lake", quiet=True)
    assert second.change_rows == 1
    assert second.row_events == 1, second
    assert second.compiled_row_events == (1 if decoder == "compiled" else 0), second

    source = _source(mariadb, "cdc_types")
    expected = _expected(source)
    duck = duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True)
    cur = duck.execute("select * from raw_mysql.types order by id")
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    kinds = dict(
        duck.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw_mysql' and table_name = 'types'"
        ).fetchall()
    )
    duck.close()
    assert [r["_cdc_op"] for r in rows] == ["snapshot", "insert"]
    problems = []
    for row in rows:
        problems += _compare(row, expected, source["wkb"], f"warehouse id {row['id']}")
    # wall-clock DATETIME stays without a time zone; TIMESTAMP is an instant in UTC
    assert kinds["t_datetime"] == "TIMESTAMP" and kinds["t_datetime6"] == "TIMESTAMP", (
        "\n".join(problems),
        kinds,
    )
    assert kinds["t_timestamp"] == "TIMESTAMP WITH TIME ZONE", kinds

    files = sorted((workdir / "lake" / "raw_mysql" / "types").rglob("*.parquet"))
    assert len(files) == 2
    for path in files:
        table = pq.read_table(path)
        assert table.schema.field("t_datetime").type.tz is None, table.schema
        assert table.schema.field("t_timestamp").type.tz == "UTC", table.schema
        for row in table.to_pylist():
            problems += _compare(row, expected, source["wkb"], f"lake id {row['id']}")
    assert not problems, "\n".join(problems)
    assert first.invalid_values == 2 and second.invalid_values == 2, (first, second)

    # verification hashes every type the same on the server and on the landed side
    from ingestion.mysql_cdc.runner import verify_target

    for target in ("warehouse", "lake"):
        verified = verify_target(url, target)
        assert verified.differing == 0, [c.line() for c in verified.checks.values()]
        assert verified.checks["types"].chunks_differing == 0, verified.checks["types"]


def test_a_snapshot_chunk_numbers_its_rows_as_the_stream_does() -> None:
    """The snapshot's _cdc_seq column is built by Arrow; it must be the text seq() gives."""
    from ingestion.mysql_cdc.helpers import seq, seq_array
    from ingestion.mysql_cdc.incremental import READ_ROW_BASE

    for file_index, pos, first, n in [(1, 4, 0, 3), (12, 1_234_567_890, 99_998, 4),
                                      (999_999, 9_999_999_999_999, READ_ROW_BASE, 2)]:  # fmt: skip
        expected = [seq(file_index, pos, first + i) for i in range(n)]
        assert seq_array(file_index, pos, first, n).to_pylist() == expected
    assert seq_array(1, 4, 0, 0).to_pylist() == []


WRITES = {
    # what is written during the first connectorx read (of a_child): the tables whose chunks
    # must then come from the transaction, and a_child's row 1 as the snapshot must land it
    "the table itself": ("UPDATE a_child SET v = 'after' WHERE id = 1", {"a_child"}),
    # MariaDB logs no row event for the cascade into a_child: its parent's event must count
    "a parent that cascades into it": ("DELETE FROM b_parent WHERE id = 1", {"a_child", "b_parent"}),
    "an unrelated table": ("UPDATE z_other SET v = 'after' WHERE id = 1", {"z_other"}),
    "a DDL anywhere": ("CREATE TABLE cdc_race_ddl.t (i INT)", {"a_child", "b_parent", "z_other"}),
}  # fmt: skip


@pytest.mark.parametrize("written", list(WRITES))
def test_a_write_during_an_arrow_read_sends_what_it_touched_back_into_the_transaction(
    mariadb: MariaDB, workdir: Path, monkeypatch: pytest.MonkeyPatch, written: str
) -> None:
    """connectorx reads outside the snapshot's transaction, so its rows are the state at the
    snapshot's position only while nothing that can change them was written. A real write
    committed on the server right after connectorx's first query must send every table it
    can have changed back to pymysql inside the transaction (whose rows are the state at the
    snapshot's position), and leave the others on connectorx."""
    from ingestion.mysql_cdc import arrow_read

    statement, exact = WRITES[written]
    fresh_database(mariadb, "cdc_race")
    fresh_database(mariadb, "cdc_race_ddl")
    with root(mariadb, "cdc_race") as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE b_parent (id INT PRIMARY KEY, v VARCHAR(10))")
        cur.execute(
            "CREATE TABLE a_child (id INT PRIMARY KEY, parent_id INT, v VARCHAR(10), FOREIGN KEY "
            "(parent_id) REFERENCES b_parent (id) ON DELETE CASCADE)"
        )
        cur.execute("CREATE TABLE z_other (id INT PRIMARY KEY, v VARCHAR(10))")
        for table in ("b_parent", "z_other"):
            cur.executemany(
                f"INSERT INTO {table} VALUES (%s, 'before')", [(i,) for i in range(1, 4)]
            )
        cur.executemany(
            "INSERT INTO a_child VALUES (%s, %s, 'before')", [(i, 1) for i in range(1, 6)]
        )
        conn.commit()
    original = arrow_read.ArrowChunks.read
    writes = []

    def read_then_write(self: arrow_read.ArrowChunks, table: Any, tail: str) -> Any:
        got = original(self, table, tail)
        if not writes:
            with root(mariadb, "cdc_race") as conn, conn.cursor() as cur:
                cur.execute(statement)
                conn.commit()
            writes.append(table.name)
        return got

    monkeypatch.setattr(arrow_read.ArrowChunks, "read", read_then_write)
    result = sync(cdc_url(mariadb, "cdc_race"), "warehouse", quiet=True)
    rows = {"a_child": 5, "b_parent": 3, "z_other": 3}
    assert writes == ["a_child"] and result.snapshot_rows == 11, result
    assert result.arrow_rows == sum(n for t, n in rows.items() if t not in exact), result
    with duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True) as duck:
        for table in rows:
            first = duck.execute(
                f"select _cdc_op, v from raw_mysql.{table} where id = 1 order by _cdc_seq"
            ).fetchall()
            assert first == [("snapshot", "before")], (table, first)


def test_arrow_chunks_follow_the_key_order_of_any_key(
    mariadb: MariaDB, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks of 7 rows through connectorx, on keys whose text sorts differently from their
    value (an unsigned BIGINT read as text: 1, 10, 100, ...) and on a string key: every row
    lands exactly once and all of them came through connectorx. (A first version sorted the
    chunks by the text and skipped keys.)"""
    from ingestion.mysql_cdc import runner

    monkeypatch.setattr(runner, "CHUNK_ROWS", 7)
    fresh_database(mariadb, "cdc_keys")
    with root(mariadb, "cdc_keys") as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE wide (id BIGINT UNSIGNED PRIMARY KEY, v INT)")
        cur.executemany("INSERT INTO wide VALUES (%s, %s)", [(i, i) for i in range(1, 120, 3)])
        cur.execute("CREATE TABLE named (code VARCHAR(8) PRIMARY KEY, v INT)")
        cur.executemany("INSERT INTO named VALUES (%s, %s)", [(f"k{i}", i) for i in range(23)])
        conn.commit()
    result = sync(cdc_url(mariadb, "cdc_keys"), "warehouse", quiet=True)
    assert result.snapshot_rows == 40 + 23 and result.arrow_rows == 63, result
    with duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True) as duck:
        wide = duck.execute("select cast(id as bigint) from raw_mysql.wide order by id").fetchall()
        named = duck.execute("select v from raw_mysql.named order by v").fetchall()
    assert [r[0] for r in wide] == list(range(1, 120, 3))
    assert [r[0] for r in named] == list(range(23))


# Values beyond the type matrix's, for the two decoders to agree on: the edges of each
# encoding (negative TIME with a fraction, scales above DECIMAL(38,10)'s, latin1's bytes
# 0x80-0x9F, CHAR long enough for a 2-byte length, DATETIME that is not a date).
EDGE_COLUMNS = (
    COLUMNS.rstrip().rstrip(",")
    + """,
    e_time2 TIME(2), e_time4 TIME(4), e_time6 TIME(6), e_dec_scale DECIMAL(30,20),
    e_dec38 DECIMAL(38,0), e_dec_int DECIMAL(5,0), e_latin VARCHAR(20) CHARACTER SET latin1,
    e_latin_text TEXT CHARACTER SET latin1, e_ascii VARCHAR(10) CHARACTER SET ascii,
    e_char_long CHAR(100), e_binary BINARY(4), e_bit64 BIT(63), e_datetime_bad DATETIME(3),
    e_tinytext TINYTEXT, e_mediumblob MEDIUMBLOB, e_float_neg FLOAT, e_enum_big ENUM(
    'v0','v1','v2','v3','v4','v5','v6','v7','v8','v9','v10','v11','v12','v13','v14','v15','v16',
    'v17','v18','v19','v20','v21','v22','v23','v24','v25','v26','v27','v28','v29','v30','v31',
    'v32','v33','v34','v35','v36','v37','v38','v39','v40','v41','v42','v43','v44','v45','v46',
    'v47','v48','v49','v50','v51','v52','v53','v54','v55','v56','v57','v58','v59','v60','v61',
    'v62','v63','v64','v65','v66','v67','v68','v69','v70','v71','v72','v73','v74','v75','v76',
    'v77','v78','v79','v80','v81','v82','v83','v84','v85','v86','v87','v88','v89','v90','v91',
    'v92','v93','v94','v95','v96','v97','v98','v99','v100','v101','v102','v103','v104','v105',
    'v106','v107','v108','v109','v110','v111','v112','v113','v114','v115','v116','v117','v118',
    'v119','v120','v121','v122','v123','v124','v125','v126','v127','v128','v129','v130','v131',
    'v132','v133','v134','v135','v136','v137','v138','v139','v140','v141','v142','v143','v144',
    'v145','v146','v147','v148','v149','v150','v151','v152','v153','v154','v155','v156','v157',
    'v158','v159','v160','v161','v162','v163','v164','v165','v166','v167','v168','v169','v170',
    'v171','v172','v173','v174','v175','v176','v177','v178','v179','v180','v181','v182','v183',
    'v184','v185','v186','v187','v188','v189','v190','v191','v192','v193','v194','v195','v196',
    'v197','v198','v199','v200','v201','v202','v203','v204','v205','v206','v207','v208','v209',
    'v210','v211','v212','v213','v214','v215','v216','v217','v218','v219','v220','v221','v222',
    'v223','v224','v225','v226','v227','v228','v229','v230','v231','v232','v233','v234','v235',
    'v236','v237','v238','v239','v240','v241','v242','v243','v244','v245','v246','v247','v248',
    'v249','v250','v251','v252','v253','v254','v255','v256','v257')
"""
)
EDGES: list[dict[str, Any]] = [
    {"e_time2": "-00:00:00.01", "e_time4": "-838:59:58.9999", "e_time6": "-00:00:01.000001",
     "e_dec_scale": Decimal("-1234567890.12345678901234567890"), "e_dec38": Decimal("9" * 38),
     "e_dec_int": Decimal(-99999), "e_latin": "café €‚ƒ„…†‡ˆ‰Š‹Œ", "e_latin_text": "ÿ" * 300,
     "e_ascii": "plain", "e_char_long": "x" * 100, "e_binary": b"\x00\xff", "e_bit64": 2**63 - 1,
     "e_datetime_bad": "2020-02-30 10:00:00.123", "e_tinytext": "", "e_mediumblob": b"\xff" * 70000,
     "e_float_neg": -0.0, "e_enum_big": "v257", "t_dec_wide": Decimal("-0.5"),
     "t_dec": Decimal("-0.01"), "t_time3": "-12:00:00.5"},
    {"e_time2": "12:34:56.78", "e_time4": "-00:00:00.0001", "e_time6": "-837:00:00.999999",
     "e_dec_scale": Decimal("0.00000000000000000001"), "e_dec38": Decimal("-" + "9" * 38),
     "e_dec_int": Decimal(0), "e_latin": "", "e_latin_text": "A", "e_ascii": "",
     "e_char_long": "ü", "e_binary": b"", "e_bit64": 0, "e_datetime_bad": "0000-00-00 00:00:00",
     "e_tinytext": "t" * 255, "e_mediumblob": b"", "e_float_neg": -1.5e-38, "e_enum_big": "v0",
     "t_dec_wide": Decimal("1"), "t_set": "red,green,blue", "t_enum": "small"},
]  # fmt: skip


def test_the_compiled_decoder_lands_what_the_python_decoder_lands(mariadb: MariaDB) -> None:
    """The same binary log read by both decoders: inserts of every type and its edges, NULLs,
    updates that keep and that change the primary key (several rows in one event), deletes,
    and a multi-row insert; every table is identical, column by column, and so is the count of
    values that cannot be represented."""
    from ingestion.mysql_cdc import rowimage
    from ingestion.mysql_cdc.helpers import MySqlConn, master_position
    from ingestion.mysql_cdc.stream import BinlogReader

    assert rowimage.available(), "the compiled decoder is not built (no C compiler?)"
    fresh_database(mariadb, "cdc_decoders")
    with root(mariadb, "cdc_decoders") as conn, conn.cursor() as cur:
        cur.execute("SET SESSION sql_mode = 'ALLOW_INVALID_DATES'")
        cur.execute(f"CREATE TABLE types ({EDGE_COLUMNS})")
        start = master_position(cur)
        _insert(cur, 1)
        cur.execute("INSERT INTO types (id) VALUES (2)")  # every other column NULL
        for row_id, edge in enumerate(EDGES, start=3):
            _insert(cur, row_id)
            sets = ", ".join(f"{name} = %s" for name in edge)
            cur.execute(f"UPDATE types SET {sets} WHERE id = %s", (*edge.values(), row_id))
        conn.commit()
        cur.execute("UPDATE types SET t_int = t_int + 1, t_varchar = 'both' WHERE id IN (1, 3)")
        cur.execute("UPDATE types SET id = id + 100 WHERE id IN (2, 4)")  # the key moves
        cur.execute("UPDATE types SET id = 5, t_tiny = 1 WHERE id = 1")
        cur.execute("DELETE FROM types WHERE id = 102")
        conn.commit()
        cur.execute("INSERT INTO types (id, t_int, t_varchar) SELECT seq, seq, CONCAT('r', seq) "
                    "FROM seq_1000_to_3000")  # fmt: skip
        cur.execute("UPDATE types SET t_int = -t_int WHERE id BETWEEN 1000 AND 3000")
        cur.execute("DELETE FROM types WHERE id = 2000")
        conn.commit()

    def read(decoder: str) -> tuple[list[pa.Table], int, tuple[int, int]]:
        os.environ["LAKESHOP_CDC_ROW_DECODER"] = decoder
        try:
            reader = BinlogReader(MySqlConn("127.0.0.1", mariadb.port, "root", "", "cdc_decoders"),
                                  91 if decoder == "python" else 92, start, lambda t: t == "types")  # fmt: skip
            tables = [b.to_arrow("srv", "cdc_decoders")
                      for _, batches, _, _ in reader.transactions(lambda pos: False) for b in batches]  # fmt: skip
        finally:
            del os.environ["LAKESHOP_CDC_ROW_DECODER"]
        stats = reader.stats
        return tables, stats.invalid_values, (stats.compiled_events, stats.row_events)

    python, python_invalid, (none, _) = read("python")
    compiled, compiled_invalid, (compiled_events, row_events) = read("compiled")
    # every event through the compiled decoder: none fell back to Python
    assert none == 0 and compiled_events == row_events > 5, (none, compiled_events, row_events)
    assert [t.num_rows for t in compiled] == [t.num_rows for t in python] != []
    for number, (ours, theirs) in enumerate(zip(compiled, python, strict=True)):
        assert ours.schema == theirs.schema, (number, ours.schema, theirs.schema)
        for name in theirs.column_names:
            assert ours[name].equals(theirs[name]), (number, name, ours[name], theirs[name])
    # the zero DATE and DATETIME of each type-matrix row in every image, the invalid DATETIME
    assert compiled_invalid == python_invalid > 0
    landed = pa.concat_tables(compiled)
    ops = landed["_cdc_op"].to_pylist()
    # 4 rows, 3 keys moved (a delete and an insert each), 2 deleted, 2,001 inserted at once
    assert ops.count("delete") == 3 + 2 and ops.count("insert") == 4 + 3 + 2001, ops
    # and the edges as the server itself reads them (text), so agreeing is not both wrong
    checked = ["e_time2", "e_time4", "e_time6", "t_time3", "e_latin", "e_latin_text", "t_dec_wide"]
    last = {row["id"]: row for row in landed.to_pylist()}
    with root(mariadb, "cdc_decoders") as conn, conn.cursor() as cur:
        casts = ", ".join(f"CAST({c} AS CHAR)" for c in checked)
        cur.execute(f"SELECT id, {casts} FROM types WHERE id IN (3, 5, 104) ORDER BY id")
        found = cur.fetchall()
    assert len(found) == 3
    for row_id, *texts in found:
        assert [last[row_id][c] for c in checked] == texts, row_id


def test_the_compiled_decoder_refuses_a_cut_off_event_and_keeps_what_it_had() -> None:
    """Bytes that end inside a value raise ValueError (the stream then decodes that event in
    Python) and leave the rows decoded before it as they were."""
    from ingestion.mysql_cdc import rowimage

    if not rowimage.available():
        pytest.fail("the compiled decoder is not built (no C compiler?)")
    r = rowimage._rowimage
    spec = (
        (r.K_INT, 4, 0, 0, 0, 0, 0, 0, 0, ()),
        (r.K_STRING, 1, 0, 0, 0, 0, 0, r.ENC_UTF8, 0, ()),
    )
    decoder = rowimage.decoder(spec, [0])
    row = b"\x00" + (7).to_bytes(4, "little") + bytes([3]) + b"abc"
    assert decoder.feed(row * 2, 0, 2 * len(row), 0, "000001.0000000000004.", 0) == 2
    with pytest.raises(ValueError, match="ends early"):
        decoder.feed(row + row[:-1], 0, 2 * len(row) - 1, 0, "000001.0000000000009.", 0)
    with pytest.raises(ValueError, match="UTF-8"):
        decoder.feed(row[:-1] + b"\xff", 0, len(row), 0, "000001.0000000000009.", 0)
    assert decoder.rows == 2
    table = rowimage.to_table(
        [Column("id", "int", "", None, None, pa.int64()), Column("v", "varchar", "", None, None, pa.string())],
        decoder.finish(), "srv", "db")  # fmt: skip
    assert table.select(["id", "v", "_cdc_op", "_cdc_seq"]).to_pylist() == [
        {"id": 7, "v": "abc", "_cdc_op": "insert", "_cdc_seq": "000001.0000000000004.0000000000"},
        {"id": 7, "v": "abc", "_cdc_op": "insert", "_cdc_seq": "000001.0000000000004.0000000002"},
    ]


def test_without_the_compiled_decoder_the_stream_decodes_in_python() -> None:
    """An install without a C compiler has no _rowimage module: the decoder is reported
    unavailable, no table gets a spec, and the stream takes the Python path (the type matrix
    runs that path with LAKESHOP_CDC_ROW_DECODER=python)."""
    import subprocess
    import sys

    probe = (
        "import sys; sys.modules['ingestion.mysql_cdc._rowimage'] = None\n"
        "from ingestion.mysql_cdc import rowimage, stream\n"
        "assert not rowimage.available() and rowimage.specs([], []) is None\n"
        "print('python decoder only')"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and "python decoder only" in done.stdout, done.stderr
