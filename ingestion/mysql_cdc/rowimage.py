"""The compiled row-image decoder (``_rowimage.c``) from Python: what it covers, and its buffers as Arrow.

The binary log's row images are decoded by pymysqlreplication one value at a time in Python;
the compiled decoder reads the same bytes straight into Arrow column buffers. It covers every
type the stream lands (integers, DECIMAL, floats, BIT, YEAR, dates and times, text in UTF-8,
latin1 or ASCII, bytes, ENUM, SET). A table with anything else (MySQL's binary JSON, another
character set, a partial row image) is decoded in Python, as is every table when the extension
was not built (no C compiler at install time) or ``LAKESHOP_CDC_ROW_DECODER=python``.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
from pymysqlreplication.constants import FIELD_TYPE
from pymysqlreplication.row_event import (
    DeleteRowsEvent,
    RowsEvent,
    UpdateRowsEvent,
    WriteRowsEvent,
)

from ingestion.mysql_cdc.helpers import CDC_COLUMNS, TS_UTC, Column

try:
    from ingestion.mysql_cdc import _rowimage  # type: ignore[attr-defined]
except ImportError:  # installed without a C compiler: every row image is decoded in Python
    _rowimage = None

OPS = {WriteRowsEvent: 0, UpdateRowsEvent: 1, DeleteRowsEvent: 2}
INTEGER_WIDTH = {FIELD_TYPE.TINY: 1, FIELD_TYPE.SHORT: 2, FIELD_TYPE.INT24: 3, FIELD_TYPE.LONG: 4}


def available() -> bool:
    """True when the compiled decoder is built and not turned off."""
    return _rowimage is not None and os.environ.get("LAKESHOP_CDC_ROW_DECODER", "") != "python"


def _encoding(col: Any, column: Column) -> int | None:
    """How the decoder writes a text or bytes column: what pymysqlreplication decodes it with
    (the column's character set, UTF-8 without one), or None when that is none it knows."""
    if column.arrow == pa.binary():
        return int(_rowimage.ENC_BINARY)
    name = getattr(col, "character_set_name", None)
    try:
        codec = codecs.lookup(RowsEvent.charset_to_encoding(name) if name else "utf-8").name
    except LookupError:
        return None  # pymysqlreplication hands such values over as bytes
    return {
        "utf-8": int(_rowimage.ENC_UTF8),
        "cp1252": int(_rowimage.ENC_CP1252),
        "ascii": int(_rowimage.ENC_ASCII),
    }.get(codec)


def specs(columns: Sequence[Any], landed: Sequence[Column]) -> tuple[tuple[Any, ...], ...] | None:
    """The decoder's description of a table shape, from the TABLE_MAP columns and the Arrow
    types they land as (``stream.binlog_column``); None when a column is not covered."""
    if _rowimage is None:
        return None
    r = _rowimage
    out = []
    for col, column in zip(columns, landed, strict=True):
        t = col.type
        kind, width, unsigned, precision, scale, out_scale, fsp, encoding, bits = (0,) * 9
        labels: tuple[bytes, ...] = ()
        if t in INTEGER_WIDTH:
            kind, width, unsigned = r.K_INT, INTEGER_WIDTH[t], int(bool(col.unsigned))
        elif t == FIELD_TYPE.LONGLONG:
            kind, width = (r.K_UINT64, 8) if col.unsigned else (r.K_INT, 8)
        elif t == FIELD_TYPE.YEAR:
            kind = r.K_YEAR
        elif t == FIELD_TYPE.FLOAT:
            kind = r.K_FLOAT
        elif t == FIELD_TYPE.DOUBLE:
            kind = r.K_DOUBLE
        elif t == FIELD_TYPE.NEWDECIMAL:
            precision, scale = int(col.precision), int(col.decimals)
            if column.arrow == pa.string():
                kind = r.K_DECIMAL_TEXT
            else:
                kind, out_scale = r.K_DECIMAL, int(column.arrow.scale)
        elif t == FIELD_TYPE.BIT:
            kind, width, bits = r.K_BIT, int(col.bytes), int(col.bits)
        elif t == FIELD_TYPE.DATE:
            kind = r.K_DATE
        elif t in (FIELD_TYPE.DATETIME, FIELD_TYPE.TIMESTAMP, FIELD_TYPE.TIME):
            kind = {FIELD_TYPE.DATETIME: r.K_DATETIME, FIELD_TYPE.TIMESTAMP: r.K_TIMESTAMP,
                    FIELD_TYPE.TIME: r.K_TIME}[t]  # fmt: skip
        elif t in (FIELD_TYPE.DATETIME2, FIELD_TYPE.TIMESTAMP2, FIELD_TYPE.TIME2):
            kind = {FIELD_TYPE.DATETIME2: r.K_DATETIME2, FIELD_TYPE.TIMESTAMP2: r.K_TIMESTAMP2,
                    FIELD_TYPE.TIME2: r.K_TIME2}[t]  # fmt: skip
            fsp = int(col.fsp)
        elif t in (FIELD_TYPE.VARCHAR, FIELD_TYPE.STRING):
            kind, width = r.K_STRING, 2 if col.max_length > 255 else 1
        elif t in (FIELD_TYPE.BLOB, FIELD_TYPE.GEOMETRY):
            kind, width = r.K_BLOB, int(col.length_size)
        elif t == FIELD_TYPE.ENUM and col.enum_values:
            kind, width = r.K_ENUM, int(col.size)
            labels = tuple(v.encode() for v in col.enum_values)
        elif t == FIELD_TYPE.SET and col.set_values:
            kind, width = r.K_SET, int(col.size)
            labels = tuple(v.encode() for v in col.set_values)
        else:
            return None  # MySQL's binary JSON, ENUM/SET without FULL metadata, ...
        if kind in (r.K_STRING, r.K_BLOB):
            found = _encoding(col, column)
            if found is None:
                return None
            encoding = found
        out.append(
            (kind, width, unsigned, precision, scale, out_scale, fsp, encoding, bits, labels)
        )
    return tuple(out)


def decoder(spec: tuple[tuple[Any, ...], ...], primary_key: Sequence[int]) -> Any:
    assert _rowimage is not None
    return _rowimage.Decoder(spec, tuple(primary_key))


def _full(bitmap: bytes, columns: int) -> bool:
    whole, rest = divmod(columns, 8)
    return bitmap[:whole] == b"\xff" * whole and (
        not rest or bitmap[whole] & ((1 << rest) - 1) == (1 << rest) - 1
    )


def full_image(event: Any) -> bool:
    """True when a ROWS event carries every column of its rows (binlog_row_image FULL)."""
    if not _full(event.columns_present_bitmap, event.number_of_columns):
        return False
    return not isinstance(event, UpdateRowsEvent) or _full(
        event.columns_present_bitmap2, event.number_of_columns
    )


def event_span(event: Any) -> tuple[bytes, int, int] | None:
    """The bytes of a ROWS event's row images, from where pymysqlreplication stopped reading
    its header: None when the event is not one the decoder reads (a partial row image, MySQL's
    partial JSON update, a header read that left bytes aside)."""
    if type(event) not in OPS:
        return None
    wrapper = event.packet
    if wrapper._BinLogPacketWrapper__data_buffer or event.number_of_columns != len(event.columns):
        return None
    if not _full(event.columns_present_bitmap, event.number_of_columns):
        return None
    if isinstance(event, UpdateRowsEvent) and not _full(
        event.columns_present_bitmap2, event.number_of_columns
    ):
        return None
    packet = wrapper.packet
    start = packet._position
    end = start + event.event_size - wrapper.read_bytes
    if not 0 <= start <= end <= len(packet._data):
        return None
    return packet._data, start, end


def _string(offsets: bytes, data: bytes, rows: int) -> pa.Array:
    return pa.Array.from_buffers(
        pa.string(), rows, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def to_table(
    columns: Sequence[Column], finished: tuple[Any, ...], server: str, database: str
) -> pa.Table:
    """A finished decoder's rows as the change-log table the Python path builds."""
    rows, decoded, (op_offsets, ops), (seq_offsets, seqs), committed, keep, _ = finished
    arrays = []
    for column, (validity, offsets, data, nulls) in zip(columns, decoded, strict=True):
        buffers = [pa.py_buffer(validity) if nulls else None]
        if offsets is not None:
            buffers.append(pa.py_buffer(offsets))
        buffers.append(pa.py_buffer(data))
        arrays.append(pa.Array.from_buffers(column.arrow, rows, buffers, null_count=nulls))
    arrays += [
        _string(op_offsets, ops, rows),
        _string(seq_offsets, seqs, rows),
        pa.Array.from_buffers(TS_UTC, rows, [None, pa.py_buffer(committed)]),
        pa.repeat(pa.scalar(server, pa.string()), rows),
        pa.repeat(pa.scalar(database, pa.string()), rows),
        pa.nulls(rows, pa.int64()),
    ]
    table = pa.Table.from_arrays(arrays, names=[c.name for c in columns] + CDC_COLUMNS)
    if keep is not None:
        table = table.filter(pa.array(np.frombuffer(keep, dtype=np.bool_)))
    return table
