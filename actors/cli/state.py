"""``basis state list|show ID|export|cleanup --max-age-hours H``: inspect and maintain the
store without a running system (SQLite's WAL lets it read beside a running one). A
PostgreSQL store (``--config``) is read beside the running instances: its tasks are the
cluster's; the instance id shown, and the alerts and runs ``cleanup`` deletes, are those
of the instance the config names."""

from __future__ import annotations

import argparse
import sys
import time

import msgspec

from actors.cli.args import positive_seconds
from actors.cli.store_args import add_store_arguments, store_named
from actors.cli.user_error import UserError
from actors.runtime.persistence.postgres_store import PostgresStore
from actors.runtime.persistence.read_only import READ_FAILURES, read_only
from actors.runtime.persistence.source import PostgresSource, SqliteSource, StoreSource
from actors.runtime.persistence.store import Store, StoreError, check_store

EXIT_BAD_INPUT = 2
_encode = msgspec.json.Encoder().encode


def add_state_commands(commands: argparse._SubParsersAction) -> None:
    state = commands.add_parser(
        "state",
        help="inspect and maintain the stored state: list, show, export, cleanup",
        description="Read the store in the data directory, or the PostgreSQL database a "
        "config keeps its store in (--config): tasks, their snapshots and orders, and what "
        "was quarantined.",
        epilog="Example: basis state cleanup --max-age-hours 168",
    )
    state.add_argument("action", choices=("list", "show", "export", "cleanup"))
    state.add_argument("task_id", nargs="?", metavar="ID", help="show: the task")
    add_store_arguments(state)
    state.add_argument(
        "--max-age-hours",
        type=lambda text: positive_seconds(text) * 3600.0,
        metavar="H",
        help="cleanup: delete tasks completed (and alerts answered) more than H hours ago",
    )
    state.set_defaults(handler=command_state)


def command_state(args: argparse.Namespace) -> int:
    # What is missing from the command line is said before the store is opened.
    if args.action == "show" and not args.task_id:
        raise UserError("name the task, e.g. basis state show btc_88yp3x2")
    if args.action == "cleanup" and args.max_age_hours is None:
        raise UserError("say how old, e.g. basis state cleanup --max-age-hours 168")
    source = store_named(args)
    if isinstance(source, SqliteSource) and not source.path.exists():
        print(f"basis state: no store at {source.path}; pass --data-dir", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        store = _open(source)
    except StoreError as error:
        print(f"basis state: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        if args.action == "list":
            print(listing(store))
        elif args.action == "show":
            row = store.task(args.task_id)
            if row is None:
                print(
                    f"basis state: no task {args.task_id!r}; see basis state list", file=sys.stderr
                )
                return EXIT_BAD_INPUT
            print(_encode(_task_object(store, row.task_id)).decode())
        elif args.action == "export":
            everything = {
                "tasks": [_task_object(store, row.task_id) for row in store.tasks()],
                "quarantined": [msgspec.structs.asdict(q) for q in _quarantine(store)],
                "instance": store.instance_id(),
            }
            print(_encode(everything).decode())
        else:
            removed = store.delete_completed(before=time.time() - args.max_age_hours)
            print(f"removed {removed} completed task(s) older than {args.max_age_hours / 3600:g} h")
    finally:
        store.close()
    return 0


def _open(source: StoreSource) -> Store | PostgresStore:
    """The store ``source`` names, once it is known to be a Basis store: a database that
    holds none is left as it is, not given Basis's tables."""
    if isinstance(source, PostgresSource):
        try:
            with read_only(source) as db:
                found = db.schema_version()
        except READ_FAILURES as error:
            said = " ".join(str(error).split())
            raise StoreError(f"{source.name}: cannot be read ({said})") from None
        if found == 0:
            raise StoreError(
                f"{source.name}: no Basis store there (no basis_schema table); point --config "
                "at the config of the instances that keep their store there"
            )
        return PostgresStore(source.dsn, source.instance)
    assert isinstance(source, SqliteSource)
    check_store(source.path)
    return Store(source.path)


class _Quarantined(msgspec.Struct):
    id: int
    task_id: str | None
    reason: str
    ts: float


def _quarantine(store: Store | PostgresStore) -> list[_Quarantined]:
    return [_Quarantined(q.id, q.task_id, q.reason, q.ts) for q in store.quarantined()]


def _task_object(store: Store | PostgresStore, task_id: str) -> dict:
    row = store.task(task_id)
    assert row is not None
    try:
        snapshot = msgspec.json.decode(row.snapshot)
    except msgspec.DecodeError:
        snapshot = row.snapshot.decode("utf-8", "replace")
    return {
        "task_id": row.task_id,
        "type": row.task_type,
        "symbol": row.symbol,
        "state": row.state,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "completed_at": row.completed_at,
        "snapshot": snapshot,
        "orders": [msgspec.structs.asdict(_order(o)) for o in store.orders(task_id)],
    }


class _Order(msgspec.Struct):
    client_id: str
    venue: str
    side: str
    qty: float
    price: float
    status: str
    filled_qty: float
    avg_price: float


def _order(row) -> _Order:
    return _Order(
        row.client_id,
        row.venue,
        row.side,
        row.qty,
        row.price,
        row.status,
        row.filled_qty,
        row.avg_price,
    )


def listing(store: Store | PostgresStore) -> str:
    counts = store.counts()
    lines = [
        f"{counts['active']} active, {counts['completed']} completed, "
        f"{counts['quarantined']} quarantined",
        f"instance {store.instance_id()} (the last part of each client order id)",
        "",
        f"{'task':<18} {'symbol':<12} {'state':<14} {'open orders':>11}  updated",
    ]
    for row in store.tasks():
        updated = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row.updated_at))
        open_orders = len(store.open_orders(row.task_id))
        lines.append(
            f"{row.task_id:<18} {row.symbol:<12} {row.state:<14} {open_orders:>11}  {updated}"
        )
    for q in store.quarantined():
        lines.append(f"quarantined {q.task_id}: {q.reason}")
    return "\n".join(lines)
