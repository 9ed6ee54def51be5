"""Run the API in the foreground, or as a detached private service stopped by PID."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from sandbox.services.base import Service
from sandbox.shop.target import shop_mysql
from sandbox.shop_api.records import RecordsWorld
from sandbox.shop_api.server import Faults, ShopApi, World, make_server
from sandbox.shop_api.world import ApiWorld


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    src = parser.add_argument_group("data")
    src.add_argument(
        "--source",
        choices=["mysql", "synthetic", "records"],
        default="mysql",
        help="serve the live shop database (default), a generated shop held in memory, or "
        "JSON records exactly as they are (--records-dir), paged as the real DummyJSON does",
    )
    src.add_argument(
        "--records-dir",
        help="for --source records: a folder with products.json, carts.json, users.json "
        "(e.g. ../shared/data/dummyjson, DummyJSON's own records)",
    )
    src.add_argument(
        "--mysql-url",
        help="shop database URL (default: $LAKESHOP_MYSQL_URL or the private MariaDB)",
    )
    src.add_argument(
        "--orders", type=int, default=2000, help="orders to generate for --source synthetic"
    )
    src.add_argument("--seed", type=int, default=42, help="random seed for generated fields")
    src.add_argument("--end-date", type=dt.date.fromisoformat, help="the synthetic shop's last day")
    limits = parser.add_argument_group("auth and limits")
    limits.add_argument(
        "--rate-limit", type=float, default=0.0, help="requests per second per client; 0 = off"
    )
    limits.add_argument("--api-key", help="also accept this key in X-API-Key on /auth/... routes")
    faults = parser.add_argument_group("fault injection (all off by default)")
    faults.add_argument(
        "--fault-error-rate", type=float, default=0.0, help="fraction of requests answered 5xx"
    )
    faults.add_argument(
        "--fault-burst-every", type=int, default=0, help="after every N requests ..."
    )
    faults.add_argument(
        "--fault-burst-length", type=int, default=0, help="... answer the next M with 503"
    )
    faults.add_argument(
        "--fault-delay-ms", type=int, default=0, help="extra latency in milliseconds"
    )
    faults.add_argument(
        "--fault-delay-rate", type=float, default=1.0, help="fraction of requests delayed"
    )
    faults.add_argument(
        "--fault-truncate-rate", type=float, default=0.0, help="fraction of bodies cut off"
    )
    faults.add_argument(
        "--fault-truncate-every", type=int, default=0, help="cut off every Nth body"
    )
    faults.add_argument("--fault-seed", type=int, default=7, help="seed for random faults")


def server_argv(args: argparse.Namespace) -> list[str]:
    """The command line that recreates these server settings in another process."""
    probe = argparse.ArgumentParser(add_help=False)
    add_server_arguments(probe)
    argv = ["--port", str(args.port)]
    for action in probe._actions:
        value = getattr(args, action.dest, None)
        if action.option_strings and value is not None and value != action.default:
            argv += [action.option_strings[0], str(value)]
    return argv


def faults_from_args(args: argparse.Namespace) -> Faults:
    return Faults(
        error_rate=args.fault_error_rate,
        burst_every=args.fault_burst_every,
        burst_length=args.fault_burst_length,
        delay_ms=args.fault_delay_ms,
        delay_rate=args.fault_delay_rate,
        truncate_rate=args.fault_truncate_rate,
        truncate_every=args.fault_truncate_every,
        seed=args.fault_seed,
    )


def world_loader(args: argparse.Namespace) -> Callable[[], World]:
    """A function that (re)builds the world from the chosen source."""
    if args.source == "records":
        if not args.records_dir:
            raise SystemExit("--source records needs --records-dir FOLDER (products.json, ...)")
        folder = Path(args.records_dir).resolve()
        if not (folder / "products.json").exists():
            raise SystemExit(f"{folder} has no products.json; point --records-dir at the folder")
        return lambda: RecordsWorld.from_folder(folder)
    if args.source == "synthetic":
        from sandbox.shop.generator import ShopConfig, generate

        cfg = ShopConfig(
            orders=args.orders,
            seed=args.seed,
            **({"end_date": args.end_date} if args.end_date else {}),
        )
        return lambda: ApiWorld.from_tables(generate(cfg).tables, seed=args.seed)
    target = shop_mysql(args.mysql_url)
    return lambda: ApiWorld.from_mysql(target, seed=args.seed)


def build_api(args: argparse.Namespace) -> ShopApi:
    load = world_loader(args)
    api = ShopApi(
        load(), rate_limit=args.rate_limit, faults=faults_from_args(args), api_key=args.api_key
    )
    api.reload_hook = load
    return api


def serve_forever(args: argparse.Namespace, pid_file: Path | None = None) -> None:
    api = build_api(args)
    server = make_server(api, args.port)
    if pid_file is not None:
        pid_file.write_text(f"{os.getpid()}\n")
    stop = threading.Event()

    def _stop(*_: object) -> None:
        if not stop.is_set():
            stop.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(
        f"lakeshop API on http://127.0.0.1:{args.port} - {len(api.world.products)} products, "
        f"{api.world.user_count()} users, {len(api.world.carts)} carts (Ctrl-C stops)",
        flush=True,
    )
    server.serve_forever()
    server.server_close()


class ApiService(Service):
    """`lakeshop api serve --background`: the API as a private service with a PID file."""

    name = "api"

    def __init__(self, state_dir: Path, port: int, argv: list[str] | None = None) -> None:
        super().__init__(state_dir, port)
        self.argv = argv or []

    def launch(self) -> None:
        self.spawn(
            [
                sys.executable,
                "-m",
                "sandbox.shop_api.service",
                "--state-dir",
                str(self.dir),
                *self.argv,
            ]
        )

    def ready(self) -> bool:
        return self.pid_file.exists() and super().ready()

    def address(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox.shop_api.service")
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--port", type=int, required=True)
    add_server_arguments(parser)
    args = parser.parse_args(argv)
    serve_forever(args, Path(args.state_dir) / "api.pid")


if __name__ == "__main__":
    main(sys.argv[1:])
