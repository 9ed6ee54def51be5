"""`lakeshop events simulate`: IoT sensor readings and website events as files in the lake.

What a shop's devices and web tracker drop into a landing prefix, one file per hour window:

- ``sensors/dt=YYYY-MM-DD/readings-HH-<batch>.<ext>``: the readings of every device (cold
  rooms and stores: temperature, humidity, pressure) every few minutes;
- ``web/dt=YYYY-MM-DD/events-HH-<batch>.<ext>``: website sessions, a customer id when logged
  in, page and product views, add-to-cart and checkout events. Given the shop's orders, the
  sessions that end in each order are among them, its checkout carrying the order id.

Files alternate between JSON lines and CSV (optionally gzipped), are deterministic under a
seed, and carry dirt at a configurable rate: out-of-range readings, readings in the wrong
unit, malformed lines, unknown event types, files delivered twice under another name, and
late files (an earlier hour's file written last, with an old modification time, as `cp -p`
or a device's clock would leave it). Every file is written whole under a temporary name and
renamed, as an upload would appear.

The generator keeps its own account of what it wrote (``Truth``): per file the lines meant
to be valid and the rejected ones with the reason. Tests compare the pipeline with it.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import os
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# reading type -> (unit, lowest plausible, highest plausible, typical, spread)
SENSOR_TYPES: dict[str, tuple[str, float, float, float, float]] = {
    "temperature": ("C", -30.0, 60.0, 4.0, 2.5),
    "humidity": ("%", 0.0, 100.0, 55.0, 8.0),
    "pressure": ("hPa", 870.0, 1085.0, 1013.0, 6.0),
}
EVENT_TYPES = ("page_view", "product_view", "add_to_cart", "checkout")
UNKNOWN_EVENT_TYPES = ("hover", "scroll_depth", "wishlist_add")
SENSOR_COLUMNS = ["device_id", "reading_type", "value", "unit", "recorded_at"]
WEB_COLUMNS = [
    "session_id", "customer_id", "event_type", "page", "product_id", "order_id", "occurred_at",
]  # fmt: skip


@dataclass(frozen=True)
class Order:
    order_id: int
    customer_id: int
    placed_at: dt.datetime  # UTC


@dataclass
class EventsConfig:
    seed: int = 42
    start: dt.datetime = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)  # the first hour window
    hours: int = 6
    devices: int = 12
    reading_minutes: int = 10  # each device reports every type this often
    sessions_per_hour: int = 40  # besides the sessions of the shop's orders
    customers: Sequence[int] = tuple(range(1, 201))
    products: Sequence[int] = tuple(range(1, 61))
    dirt_rate: float = 0.02  # share of lines made dirty, and of files delivered twice
    late_files: int = 1  # earlier hours' files written again at the end, as late arrivals
    gzip: bool = False
    batch: str = "0"  # part of every file name: separate runs write separate files


@dataclass
class FileTruth:
    path: str  # relative to the landing prefix
    kind: str  # sensors | web
    lines: int
    valid: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    duplicate_of: str | None = None
    orders: set[int] = field(default_factory=set)  # order ids of valid checkout events
    late: bool = False  # written last, with its hour's end as modification time


@dataclass
class Truth:
    files: list[FileTruth] = field(default_factory=list)

    def total(self, kind: str) -> tuple[int, int]:
        """(valid, rejected) lines of one kind over every file."""
        chosen = [f for f in self.files if f.kind == kind]
        return sum(f.valid for f in chosen), sum(sum(f.rejected.values()) for f in chosen)

    def reasons(self, kind: str) -> Counter[str]:
        out: Counter[str] = Counter()
        for f in self.files:
            if f.kind == kind:
                out.update(f.rejected)
        return out

    def ordered_sessions(self) -> set[int]:
        return {o for f in self.files if f.duplicate_of is None for o in f.orders}


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


class _Writer:
    """Files under a local folder or an fsspec URL (s3://, az://), written whole then renamed."""

    def __init__(self, landing: str, storage_options: dict[str, Any] | None = None) -> None:
        self.landing = landing.rstrip("/")
        self.local = "://" not in landing or landing.startswith("file://")
        if self.local:
            self.root = Path(landing.removeprefix("file://"))
        else:
            import fsspec

            self.fs, self.base = fsspec.core.url_to_fs(landing, **(storage_options or {}))

    def write(self, relative: str, data: bytes, mtime: dt.datetime | None = None) -> None:
        if self.local:
            path = self.root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
            if mtime is not None:
                stamp = mtime.timestamp()
                os.utime(path, (stamp, stamp))
        else:  # one PUT: an object appears whole; its time is the upload's
            self.fs.pipe_file(f"{self.base.rstrip('/')}/{relative}", data)


def _encode(rows: list[list[str] | str], columns: list[str], fmt: str, zipped: bool) -> bytes:
    """Rows (a list of values, or a str: a malformed line written as it is) as one file."""
    out = io.StringIO()
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            if isinstance(row, str):
                out.write(row + "\n")
            else:
                writer.writerow(row)
    else:
        for row in rows:
            if isinstance(row, str):
                out.write(row + "\n")
            else:
                record = {c: (v if v != "" else None) for c, v in zip(columns, row, strict=True)}
                out.write(json.dumps(record, separators=(",", ":")) + "\n")
    data = out.getvalue().encode()
    return gzip.compress(data, mtime=0) if zipped else data


def _malformed(rng: random.Random, row: list[str], columns: list[str], fmt: str) -> str:
    if fmt == "csv":  # a field short
        return ",".join(row[: len(columns) - 2])
    text = json.dumps(dict(zip(columns, row, strict=True)))
    return text[: rng.randint(5, len(text) - 5)]  # cut off mid-record


def _sensor_file(
    cfg: EventsConfig, rng: random.Random, hour: dt.datetime, path: str
) -> tuple[list[list[str] | str], FileTruth]:
    truth = FileTruth(path, "sensors", 0)
    rows: list[list[str] | str] = []
    fmt = "csv" if ".csv" in path else "jsonl"
    for minute in range(0, 60, cfg.reading_minutes):
        for d in range(1, cfg.devices + 1):
            for kind, (unit, low, high, typical, spread) in SENSOR_TYPES.items():
                moment = hour + dt.timedelta(minutes=minute, seconds=rng.randint(0, 59))
                value = round(rng.gauss(typical + (d % 4), spread), 2)
                value = min(max(value, low), high)
                row = [f"dev-{d:03d}", kind, f"{value}", unit, _iso(moment)]
                reason = None
                if rng.random() < cfg.dirt_rate:
                    reason = rng.choice(("malformed_line", "value_out_of_range", "wrong_unit"))
                    if reason == "value_out_of_range":
                        row[2] = f"{high + rng.uniform(50, 500):.2f}"
                    elif reason == "wrong_unit":
                        row[3] = {"C": "F", "%": "ratio", "hPa": "psi"}[unit]
                rows.append(
                    _malformed(rng, row, SENSOR_COLUMNS, fmt) if reason == "malformed_line" else row
                )
                if reason:
                    truth.rejected[reason] += 1
                else:
                    truth.valid += 1
    truth.lines = len(rows)
    return rows, truth


def _web_file(
    cfg: EventsConfig, rng: random.Random, hour: dt.datetime, path: str,
    orders: Sequence[Order], first_session: int,
) -> tuple[list[list[str] | str], FileTruth]:  # fmt: skip
    truth = FileTruth(path, "web", 0)
    fmt = "csv" if ".csv" in path else "jsonl"
    sessions: list[tuple[str, str, dt.datetime, Order | None]] = []
    for n in range(cfg.sessions_per_hour):
        logged_in = rng.random() < 0.4
        customer = str(rng.choice(list(cfg.customers))) if logged_in else ""
        start = hour + dt.timedelta(seconds=rng.randint(0, 3000))
        sessions.append((f"s{cfg.seed}-{cfg.batch}-{first_session + n}", customer, start, None))
    for k, placed in enumerate(orders):  # each order's session, ending in its checkout
        start = max(hour, placed.placed_at - dt.timedelta(minutes=rng.randint(3, 20)))
        sid = f"s{cfg.seed}-{cfg.batch}-o{placed.order_id}-{k}"
        sessions.append((sid, str(placed.customer_id), start, placed))
    rows: list[list[str] | str] = []
    for sid, customer, start, order in sessions:
        moment = start
        steps = ["page_view"]
        if order is not None or rng.random() < 0.7:
            steps += ["product_view"] * rng.randint(1, 4)
            if order is not None or rng.random() < 0.35:
                steps.append("add_to_cart")
                if order is not None or rng.random() < 0.3:
                    steps.append("checkout")
        for step in steps:
            moment += dt.timedelta(seconds=rng.randint(5, 90))
            if order is not None and step == "checkout":
                moment = max(moment, order.placed_at - dt.timedelta(seconds=30))
            product = (
                str(rng.choice(list(cfg.products)))
                if step in ("product_view", "add_to_cart")
                else ""
            )
            page = {"page_view": "/", "product_view": f"/products/{product}", "add_to_cart": "/cart",
                    "checkout": "/checkout"}[step]  # fmt: skip
            order_id = str(order.order_id) if order is not None and step == "checkout" else ""
            row = [sid, customer, step, page, product, order_id, _iso(moment)]
            reason = None
            if rng.random() < cfg.dirt_rate and order is None:
                reason = rng.choice(("malformed_line", "unknown_event_type"))
                if reason == "unknown_event_type":
                    row[2] = rng.choice(UNKNOWN_EVENT_TYPES)
            rows.append(
                _malformed(rng, row, WEB_COLUMNS, fmt) if reason == "malformed_line" else row
            )
            if reason:
                truth.rejected[reason] += 1
            else:
                truth.valid += 1
                if order is not None and order_id:
                    truth.orders.add(order.order_id)
    truth.lines = len(rows)
    return rows, truth


def simulate_events(
    landing: str,
    cfg: EventsConfig | None = None,
    orders: Sequence[Order] = (),
    storage_options: dict[str, Any] | None = None,
) -> Truth:
    """Write cfg.hours hour windows of sensor and website files under ``landing``."""
    cfg = cfg or EventsConfig()
    rng = random.Random(cfg.seed)
    writer = _Writer(landing, storage_options)
    truth = Truth()
    late: list[tuple[str, bytes, FileTruth, dt.datetime]] = []
    ext = ".gz" if cfg.gzip else ""
    session = 0
    for h in range(cfg.hours):
        hour = cfg.start + dt.timedelta(hours=h)
        day, hh = hour.strftime("%Y-%m-%d"), hour.strftime("%H")
        for kind in ("sensors", "web"):
            fmt = "csv" if (h + (kind == "web")) % 2 else "jsonl"
            name = "readings" if kind == "sensors" else "events"
            path = f"{kind}/dt={day}/{name}-{hh}-{cfg.batch}.{fmt}{ext}"
            if kind == "sensors":
                rows, ft = _sensor_file(cfg, rng, hour, path)
                columns = SENSOR_COLUMNS
            else:
                due = [o for o in orders if hour <= o.placed_at < hour + dt.timedelta(hours=1)]
                rows, ft = _web_file(cfg, rng, hour, path, due, session)
                session += cfg.sessions_per_hour
                columns = WEB_COLUMNS
            data = _encode(rows, columns, fmt, cfg.gzip)
            if h < cfg.late_files:  # an early hour arrives last, its clock in the past
                late.append((path, data, ft, hour + dt.timedelta(hours=1)))
                continue
            writer.write(path, data)
            truth.files.append(ft)
            if rng.random() < cfg.dirt_rate * 5:  # the same file delivered again
                copy = path.replace(f"-{cfg.batch}.", f"-{cfg.batch}.resent.")
                writer.write(copy, data)
                truth.files.append(
                    FileTruth(copy, kind, ft.lines, 0, Counter({"duplicate_file": ft.lines}), path)
                )
    for path, data, ft, mtime in late:
        writer.write(path, data, mtime=mtime)
        ft.late = True
        truth.files.append(ft)
    return truth


def orders_from_shop(conn: Any, start: dt.datetime, hours: int) -> list[Order]:
    """The shop's orders placed in the window (a PyMySQL connection to the shop database)."""
    end = start + dt.timedelta(hours=hours)
    with conn.cursor() as cur:
        cur.execute(
            "select order_id, customer_id, placed_at from orders"
            " where placed_at >= %s and placed_at < %s order by order_id",
            (start.replace(tzinfo=None), end.replace(tzinfo=None)),
        )
        return [Order(int(o), int(c), p.replace(tzinfo=dt.UTC)) for o, c, p in cur.fetchall()]


def latest_window(conn: Any, hours: int) -> dt.datetime:
    """The start of the ``hours`` whole hours ending with the shop's latest order, so the
    simulated website traffic covers orders the shop really took."""
    with conn.cursor() as cur:
        cur.execute("select max(placed_at) from orders where placed_at <= utc_timestamp()")
        (latest,) = cur.fetchone()
    end = (latest or dt.datetime.now(dt.UTC).replace(tzinfo=None)).replace(
        minute=0, second=0, microsecond=0
    ) + dt.timedelta(hours=1)
    return end.replace(tzinfo=dt.UTC) - dt.timedelta(hours=hours)
