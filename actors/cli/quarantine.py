"""``basis quarantine list``: the quarantined symbols, each with its record, what the
venues hold now and why they disagree; ``basis quarantine resolve SYMBOL --adopt |
--flatten | --forget``: the operator's decision (``actors.runtime.quarantine`` says what
each does).

``list`` asks the running instance when there is one (it holds the data directory's
lock), with ``$BASIS_CONTROL_TOKEN``; otherwise it reads the store without writing to it
and asks the venues with the config's keys. A paper run's simulated venues are gone once
it has stopped: then the record is shown and the venues are said to be gone.

``resolve`` is carried out by a running instance only: it holds the lock, the venues'
connections and the store's one writer, and ``flatten`` trades through its routers.
Start ``basis run`` (the quarantined symbol is not traded meanwhile) and resolve.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import msgspec
import trio

from actors.cli.args import port_number
from actors.cli.control import (
    EXIT_REFUSED,
    ControlFailed,
    add_instance_arguments,
    call,
    given_port,
    instance_port,
)
from actors.cli.run import DEFAULT_DATA_DIR, load_system_config
from actors.runtime.persistence.data_dir_lock import holder
from actors.runtime.persistence.store import StoreError, read_quarantine
from actors.runtime.quarantine import Holdings, QuarantinedSymbol, report, venue_holdings
from actors.runtime.recovery import record_of
from actors.runtime.system import STORE_FILE
from actors.system_config import SystemConfig
from actors.venues.rest import VENUE_FAILURES, RestClient
from protocols.model import Symbol

_encode = msgspec.json.Encoder().encode


def add_quarantine_commands(commands: argparse._SubParsersAction) -> None:
    quarantine = commands.add_parser(
        "quarantine",
        help="list quarantined symbols, and resolve one (--adopt, --flatten, --forget)",
        description="A symbol whose stored record the venues contradict is quarantined: not "
        "traded at any start until resolved. list shows each with the record, what the "
        "venues hold and why they disagree; resolve, on a running instance, adopts the "
        "venues' position as the record, flattens both legs at the venues and closes the "
        "record, or forgets the record without touching the venues.",
        epilog="Example: basis quarantine resolve BTC/USDT --flatten",
    )
    actions = quarantine.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser(
        "list",
        help="each quarantined symbol: the record, the venues, why they disagree",
        epilog="Example: basis quarantine list live.toml --json",
    )
    listing.add_argument("config", nargs="?", metavar="CONFIG", help="system config (TOML)")
    listing.add_argument(
        "--data-dir", metavar="DIR", help=f"default ${{BASIS_DATA_DIR}} or ./{DEFAULT_DATA_DIR}"
    )
    listing.add_argument("--port", type=port_number, help="a running instance's status port")
    listing.add_argument("--json", action="store_true", help="a JSON list")
    listing.set_defaults(handler=command_list)
    resolve = actions.add_parser(
        "resolve",
        help="resolve a quarantined symbol on the running instance",
        description="--adopt: the venues' position becomes the record and the task trades "
        "on; --flatten: sell the coin the record held and buy back the short at the venues, "
        "then close the record (the symbol trades afresh from the next start); --forget: "
        "drop the record, leave the venues as they are (a new task trades the symbol).",
        epilog="Example: basis quarantine resolve BTC/USDT --adopt",
    )
    resolve.add_argument("symbol", metavar="SYMBOL", help="e.g. BTC/USDT")
    how = resolve.add_mutually_exclusive_group(required=True)
    for name in ("adopt", "flatten", "forget"):
        how.add_argument(f"--{name}", dest="how", action="store_const", const=name)
    add_instance_arguments(resolve)
    resolve.set_defaults(handler=command_resolve)


def command_resolve(args: argparse.Namespace) -> int:
    try:
        port = instance_port(args, "quarantine resolve")
        answer = call(
            port, "POST", "/control/quarantine/resolve", {"symbol": args.symbol, "how": args.how}
        )
    except ControlFailed as error:
        if str(error):
            print(f"basis quarantine resolve: {error}", file=sys.stderr)
        return EXIT_REFUSED
    print(answer["result"])
    return 0


def command_list(args: argparse.Namespace) -> int:
    config = load_system_config(args.config, "quarantine list")
    if config is None:
        return EXIT_REFUSED
    data_dir = Path(args.data_dir or os.environ.get("BASIS_DATA_DIR") or DEFAULT_DATA_DIR)
    try:
        given = given_port(args)
        if holder(data_dir) is not None or given is not None:
            port = given if given is not None else config.http.port
            if not port:
                raise ControlFailed(
                    f"an instance holds {data_dir}, and the config's [http] port is 0: pass "
                    "the port it logged with --port"
                )
            answer = call(port, "GET", "/quarantine")
            listed = msgspec.convert(answer["quarantined"], list[QuarantinedSymbol])
        else:
            listed = _offline(config, data_dir)
    except (ControlFailed, StoreError) as error:
        print(f"basis quarantine list: {error}", file=sys.stderr)
        return EXIT_REFUSED
    if args.json:
        print(_encode(listed).decode())
    else:
        print(_text(listed))
    return 0


def _offline(config: SystemConfig, data_dir: Path) -> list[QuarantinedSymbol]:
    """The quarantined symbols as the store has them, the venues asked with the config's
    keys (none in paper mode: its venues stopped with its run)."""
    path = data_dir / STORE_FILE
    if not path.exists():
        raise ControlFailed(f"no store at {path}; pass --data-dir")
    held = read_quarantine(path)
    if held and config.mode == "live" and config.missing_credentials():
        missing = ", ".join(config.missing_credentials())
        raise ControlFailed(f"asking the venues needs the API keys; set {missing}")
    listed = []
    for row, task in held:
        ctx = record_of(task)
        holdings, note = None, ""
        if config.mode == "paper":
            note = "the simulated venues of the paper run are gone with it"
        elif ctx is None:
            note = "the record does not restore: nothing says which contract size to ask for"
        else:
            try:
                holdings = trio.run(_ask_venues, config, Symbol.parse(row.symbol or ""), ctx)
            except VENUE_FAILURES as error:
                note = f"the venues did not answer: {error}"
        listed.append(
            report(row.symbol or "", row.task_id, row.reason, row.ts, ctx, holdings, note)
        )
    return listed


async def _ask_venues(config: SystemConfig, symbol: Symbol, ctx) -> Holdings:
    pair = config.pair_of(symbol)
    spot_keys, futures_keys = pair.spot.credentials(), pair.futures.credentials()
    assert spot_keys is not None and futures_keys is not None  # checked by the caller
    spot = RestClient(pair.spot.rest, timeout_s=pair.spot.request_timeout_s)
    futures = RestClient(pair.futures.rest, timeout_s=pair.futures.request_timeout_s)
    try:
        return await venue_holdings(
            (pair.spot.kind, spot, spot_keys),
            (pair.futures.kind, futures, futures_keys),
            symbol,
            ctx.rules.futures,
            time.time(),
        )
    finally:
        await spot.aclose()
        await futures.aclose()


def _text(listed: list[QuarantinedSymbol]) -> str:
    if not listed:
        return "no symbol is quarantined"
    lines = []
    for q in listed:
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(q.since))
        base = q.symbol.partition("/")[0]
        lines.append(f"{q.symbol}  task {q.task_id}  quarantined {since}")
        lines.append(f"  why      {q.reason}")
        if q.record_spot_qty is None:
            lines.append("  record   does not restore")
        else:
            lines.append(
                f"  record   spot {q.record_spot_qty:g} {base}, "
                f"futures short {q.record_futures_qty:g} {base}"
            )
        if q.venue_spot_held is not None:
            lines.append(
                f"  venues   spot {q.venue_spot_held:g} {base} held, "
                f"futures short {q.venue_futures_short:g} {base}"
            )
        if q.note:
            lines.append(f"  note     {q.note}")
        if q.venue_spot_held is not None:
            lines.append(f"  differ   {q.disagreement or 'no longer: the venues match the record'}")
        lines.append(
            f"  resolve  basis quarantine resolve {q.symbol} --adopt | --flatten | --forget"
        )
    return "\n".join(lines)
