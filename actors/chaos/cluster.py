"""The cluster chaos scenario: instances of the trading system sharing the symbols over one
PostgreSQL, trading against simulated venues served from this process, while one after
another is killed, frozen and cut off from the database; then the cluster's promises
(``actors.chaos.cluster_invariants``) and the single instance's checks of the ledgers.

Each instance is ``basis run`` on a config made from the user's (``run_config_toml``:
the same symbols, strategy and feed timings, live mode against the simulated venues),
with a data directory and a status port of its own, ``[cluster] name = "node-N"``, the
capacity to hold every symbol (whichever instances are left can hold them all) and
leases of ``lease_ttl_s`` (:data:`CHAOS_LEASE_TTL_S` unless told: short, so that
failovers play out within seconds). Their store is the PostgreSQL whose connection
string is in the environment variable the user's ``[persistence] dsn_env`` names, in a
schema of the run's own (``basis_chaos_<random>``: dropped once the run passed,
kept for reading when it failed), each instance reaching it through a proxy of its own
(``actors.chaos.db_proxy``), which the run cuts to cut it off.

The run starts the instances and waits for the cluster to settle: every symbol held by
one instance, with a strategy deciding on it. Then it plays the plan
(``actors.chaos.cluster_plan``), one fault at a time, while the market is stirred
(``actors.chaos.stir``) so that entries and exits happen throughout, and after each
fault waits for the cluster to settle again. Meanwhile it samples each instance's
``/status``: what it holds under which epoch, and when each of its strategies began
deciding. An instance that ended by itself is recorded and started again, as a service
manager would. At the end every instance is stopped gracefully and the invariants are
checked against the venues' ledgers and the store's grants and journal.
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs
import httpx
import msgspec
import psycopg
import tomli_w
import trio
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from actors.chaos import cluster_invariants as ci
from actors.chaos import invariants as inv
from actors.chaos.cluster_plan import (
    FAILOVER_SLACK_S,
    ClusterFaultKind,
    ClusterStep,
    build_cluster_plan,
)
from actors.chaos.cluster_report import ClusterFaultRecord, ClusterReport, ProxyCounts, spreads
from actors.chaos.db_proxy import DbProxy, through, upstream_of
from actors.chaos.runner import (
    KILL_WAIT_FOR_CYCLE_S,
    MID_CYCLE,
    START_TIMEOUT_S,
    STOP_TIMEOUT_S,
    ChaosFailed,
    free_port,
    printed_status,
    run_config_toml,
    unhedged_threshold,
    venue_keys,
)
from actors.chaos.stir import Stirring
from actors.runtime.ops.control_endpoints import CONTROL_TOKEN_ENV
from actors.runtime.ops.status import SystemStatus
from actors.sim.ledger import LedgerEntry
from actors.sim.servers import SimServers
from actors.sim.views import SimUrls
from actors.system_config import SystemConfig

log = logging.getLogger("basis.chaos")

INSTANCES = 3
CHAOS_LEASE_TTL_S = 4.0
RENEWALS_PER_TTL = 4
"""How many renewals an instance makes within a lease's time to live."""
DSN_ENV = "BASIS_CHAOS_CLUSTER_DSN"
"""The environment variable each instance reads its connection string from: the
database's, through the instance's proxy, in the run's schema."""
STATUS_EVERY_S = 0.25
STATUS_TIMEOUT_S = 1.0
SETTLE_PATIENCE_S = 30.0
"""How long the run waits for the cluster to settle after a fault cleared: a killed
instance started again (a few seconds), takes its share back from the others (a lease's
time to live at most) and its strategies begin deciding. Not a promise of the system's
(those are the failover's bound): how long the run waits before calling it stuck."""
SCHEMA_PREFIX = "basis_chaos_"
_RUN_CONFIG_HEADER = "# Written by basis chaos: one instance's config for a cluster chaos run.\n"

_decode_status = msgspec.json.Decoder(SystemStatus).decode


class MissingDatabase(ValueError):
    """The cluster scenario has no PostgreSQL to run on."""


class ClusterView(msgspec.Struct, frozen=True):
    """The ``cluster`` object of an instance's ``/status``."""

    name: str
    instance_id: str | None
    """Its id in the cluster, once joined."""
    held: dict[str, int]
    """Symbol → the epoch it is held under."""
    lame: list[str]
    """Held symbols whose renewal failed: no entries on them."""
    lease_ttl_s: float


class _WithCluster(msgspec.Struct):
    cluster: ClusterView | None = None


_decode_cluster = msgspec.json.Decoder(_WithCluster).decode


@attrs.frozen
class ClusterOptions:
    duration_s: float
    seed: int
    data_dir: Path
    lease_ttl_s: float = CHAOS_LEASE_TTL_S
    instances: int = INSTANCES


# ------------------------------------------------------------------ configs


def database_dsn(env_name: str, environ: Mapping[str, str]) -> str:
    """The connection string in ``env_name``; ``MissingDatabase`` saying what to set."""
    dsn = environ.get(env_name, "").strip()
    if not dsn:
        raise MissingDatabase(
            f"the cluster scenario runs on PostgreSQL: set {env_name} (the variable "
            "[persistence] dsn_env names) to a connection string, such as "
            "'host=127.0.0.1 dbname=basis user=basis'"
        )
    return dsn


def configured_dsn(config: SystemConfig) -> str:
    """The connection string of the database ``config``'s ``[persistence] dsn_env``
    names; ``MissingDatabase`` when it is not set."""
    return database_dsn(config.persistence.dsn_env, os.environ)


def in_schema(dsn: str, schema: str) -> str:
    """``dsn`` with ``schema`` first on its search path: the store's tables are made,
    and found, there."""
    options = conninfo_to_dict(dsn).get("options")
    path = f"-c search_path={schema}"
    return make_conninfo(dsn, options=f"{options} {path}" if options else path)


def instance_config_toml(run_toml: str, name: str, capacity: int, lease_ttl_s: float) -> str:
    """One instance's config: the chaos run's trading config (``run_config_toml``) on the
    PostgreSQL store whose connection string is in :data:`DSN_ENV`, in a cluster as
    ``name``."""
    document = tomllib.loads(run_toml)
    document["persistence"] = document.get("persistence", {}) | {
        "backend": "postgresql",
        "dsn_env": DSN_ENV,
    }
    document["cluster"] = {
        "name": name,
        "capacity": capacity,
        "lease_ttl_s": lease_ttl_s,
        "renew_every_s": lease_ttl_s / RENEWALS_PER_TTL,
    }
    return _RUN_CONFIG_HEADER + tomli_w.dumps(document)


# ---------------------------------------------------------------- settling


class NodeView(msgspec.Struct, frozen=True):
    """What an instance said it holds, and on which symbols a strategy is deciding."""

    name: str
    held: dict[str, int]
    lame: list[str]
    deciding: list[str]


def coverage_gap(views: Sequence[NodeView], symbols: Sequence[str]) -> str:
    """What keeps the cluster from being settled: every symbol held by one instance (its
    lease not lame) with a strategy deciding on it; ``""`` when it is."""
    holders: dict[str, list[NodeView]] = {symbol: [] for symbol in symbols}
    for view in views:
        for symbol in view.held:
            if symbol not in view.lame:
                holders.setdefault(symbol, []).append(view)
    gaps = []
    for symbol, held in holders.items():
        if not held:
            gaps.append(f"{symbol} held by none")
        elif len(held) > 1:
            gaps.append(f"{symbol} held by {' and '.join(v.name for v in held)}")
        elif symbol not in held[0].deciding:
            gaps.append(f"{symbol} held by {held[0].name}, no strategy deciding")
    return "; ".join(gaps)


def deciding(status: SystemStatus) -> list[str]:
    """The symbols on which a strategy of ``status`` is deciding."""
    return sorted(
        t.symbol for t in status.tasks if t.state != "stopped" and t.resumed_at is not None
    )


# ------------------------------------------------------------- the database


def create_schema(dsn: str, schema: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))


def drop_schema(dsn: str, schema: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


CLOCK_READINGS = 5


class StoreRecords(msgspec.Struct, frozen=True):
    """The store's grants and journal, on this host's clock."""

    grants: list[ci.LeaseGrant]
    orders: list[ci.WrittenOrder]
    tasks: list[ci.TaskRow]
    offset_s: float
    """The database's clock minus this host's."""
    uncertainty_s: float
    """How far off that offset may be: half the quickest reading's round trip."""


def read_store(dsn: str) -> StoreRecords:
    """The grants, orders and tasks of the store at ``dsn`` (blocking)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        offset, uncertainty = _clock_offset(conn)

        def local(at: float | None) -> float | None:
            return None if at is None else at - offset

        grants = [
            ci.LeaseGrant(epoch, symbol, holder, granted - offset, local(ended))
            for epoch, symbol, holder, granted, ended in conn.execute(
                "SELECT epoch, symbol, holder, extract(epoch FROM granted_at)::float8, "
                "extract(epoch FROM ended_at)::float8 FROM lease_grants ORDER BY epoch"
            )
        ]
        orders = [
            ci.WrittenOrder(client_id, symbol, epoch, written - offset)
            for client_id, symbol, epoch, written in conn.execute(
                "SELECT client_id, symbol, epoch, extract(epoch FROM written_at)::float8 "
                "FROM orders ORDER BY written_at"
            )
        ]
        tasks = [
            ci.TaskRow(task_id, symbol, epoch)
            for task_id, symbol, epoch in conn.execute(
                "SELECT task_id, symbol, epoch FROM tasks ORDER BY task_id"
            )
        ]
    return StoreRecords(grants, orders, tasks, offset, uncertainty)


def _clock_offset(conn: psycopg.Connection) -> tuple[float, float]:
    """The database's clock minus this host's, from the quickest of a few readings, and
    half that reading's round trip."""
    best: tuple[float, float] | None = None
    for _ in range(CLOCK_READINGS):
        sent = time.time()
        row = conn.execute("SELECT extract(epoch FROM clock_timestamp())::float8").fetchone()
        answered = time.time()
        assert row is not None
        reading = (row[0] - (sent + answered) / 2, (answered - sent) / 2)
        if best is None or reading[1] < best[1]:
            best = reading
    assert best is not None
    return best


# ------------------------------------------------------------------ the run


async def run_cluster_chaos(
    config: SystemConfig, options: ClusterOptions, dsn: str
) -> ClusterReport:
    """Play the cluster scenario on the system ``config`` describes, its instances'
    store on the PostgreSQL at ``dsn``; the report says whether every promise held."""
    plan = build_cluster_plan(
        options.seed, options.duration_s, options.lease_ttl_s, options.instances
    )
    schema = SCHEMA_PREFIX + secrets.token_hex(4)
    try:
        await trio.to_thread.run_sync(create_schema, dsn, schema)
    except psycopg.Error as error:
        raise ChaosFailed(f"could not make the run's schema in the database: {error}") from None
    try:
        report = await _play_cluster(config, options, dsn, schema, plan)
    except ExceptionGroup as group:
        failed, other = group.split(ChaosFailed)
        if failed is None or other is not None:
            raise
        # Instances started side by side, each failing: one failure naming them all.
        raise ChaosFailed("; ".join(str(e) for e in _leaves(failed))) from None
    if report.passed:
        await trio.to_thread.run_sync(drop_schema, dsn, schema)
    return report


def _leaves(group: BaseExceptionGroup) -> list[BaseException]:
    found: list[BaseException] = []
    for error in group.exceptions:
        found += _leaves(error) if isinstance(error, BaseExceptionGroup) else [error]
    return found


async def _play_cluster(
    config: SystemConfig,
    options: ClusterOptions,
    dsn: str,
    schema: str,
    plan: tuple[ClusterStep, ...],
) -> ClusterReport:
    upstream = upstream_of(dsn)
    sim = SimServers(msgspec.structs.replace(config.simulated(), seed=options.seed))
    options.data_dir.mkdir(parents=True, exist_ok=True)
    async with trio.open_nursery() as nursery:
        urls = await nursery.start(sim.run)
        nodes = []
        for index in range(options.instances):
            proxy = DbProxy(upstream)
            port = await nursery.start(proxy.run)
            nodes.append(_Node(f"node-{index + 1}", proxy, in_schema(through(dsn, port), schema)))
        async with httpx.AsyncClient(timeout=STATUS_TIMEOUT_S) as http:
            run = ClusterRun(
                config, options, sim, urls, http, nodes, in_schema(dsn, schema), schema
            )
            try:
                report = await run.play(plan)
            finally:
                await run.kill_all()
        nursery.cancel_scope.cancel()
    return report


@attrs.define(eq=False)
class _Node:
    """One instance: its proxy to the database, and its current process."""

    name: str
    proxy: DbProxy
    dsn: str
    """Its connection string: through its proxy, in the run's schema."""
    port: int = attrs.field(factory=free_port)
    process: trio.Process | None = None
    """``None`` while it is down (killed, or between processes)."""
    run: int = 0
    frozen: bool = False
    status: SystemStatus | None = None
    view: ClusterView | None = None
    status_at: float = 0.0
    """When ``status`` was read (Unix time)."""

    @property
    def answering(self) -> bool:
        return self.process is not None and not self.frozen


@attrs.define(eq=False)
class ClusterRun:
    config: SystemConfig
    options: ClusterOptions
    sim: SimServers
    urls: SimUrls
    http: httpx.AsyncClient
    nodes: list[_Node]
    store_dsn: str
    """The store, reached directly (not through a proxy): for the checks at the end."""
    schema: str
    control_token: str = attrs.field(factory=lambda: secrets.token_hex(16))
    runs: int = 0
    exits: list[ci.NodeExit] = attrs.field(factory=list)
    gave_up: set[str] = attrs.field(factory=set)
    sightings: set[ci.TradingSighting] = attrs.field(factory=set)
    faults: list[ci.FaultAt] = attrs.field(factory=list)
    timeline: list[ClusterFaultRecord] = attrs.field(factory=list)
    settles: list[ci.SettleCheck] = attrs.field(factory=list)
    phase_start: float = 0.0

    def __attrs_post_init__(self) -> None:
        capacity = len(self.config.symbols)
        for node in self.nodes:
            data_dir = self._data_dir(node)
            data_dir.mkdir(parents=True, exist_ok=True)
            run_toml = run_config_toml(self.config, self.urls, node.port, depth=False)
            self._config_path(node).write_text(
                instance_config_toml(run_toml, node.name, capacity, self.options.lease_ttl_s),
                encoding="utf-8",
            )

    def _data_dir(self, node: _Node) -> Path:
        return self.options.data_dir / node.name

    def _config_path(self, node: _Node) -> Path:
        return self._data_dir(node) / "chaos-run.toml"

    # ------------------------------------------------------------------ the run

    async def play(self, plan: tuple[ClusterStep, ...]) -> ClusterReport:
        launched = time.time()
        async with trio.open_nursery() as starting:
            for node in self.nodes:
                starting.start_soon(self.start_node, node)
        async with trio.open_nursery() as helpers:
            for node in self.nodes:
                helpers.start_soon(self._watch, node)
            first = await self._until_settled("the start", launched, START_TIMEOUT_S)
            if first.settled_after_s is None:
                raise ChaosFailed(
                    f"the cluster did not settle within {START_TIMEOUT_S:g} s of its start: "
                    f"{first.missing}; the instances' logs are in {self.options.data_dir}"
                )
            helpers.start_soon(self._stirring().run)
            self.phase_start = time.time()
            t0 = trio.current_time()
            for step in plan:
                await trio.sleep_until(t0 + step.at_s)
                await self._play(step)
            await trio.sleep_until(t0 + self.options.duration_s)
            helpers.cancel_scope.cancel()
        await self.stop_all()
        return await self.report()

    async def _play(self, step: ClusterStep) -> None:
        node = self.nodes[step.node]
        if not node.answering:
            # Being started again after it ended by itself: the plan's fault waits for it.
            await self._until_answering(node)
        state = await self._mid_cycle(node)
        held = dict(node.view.held) if node.view is not None else {}
        started = time.time()
        self.faults.append(ci.FaultAt(step.kind.value, node.name, started))
        log.info("chaos: %s", step.describe(node.name))
        if step.kind is ClusterFaultKind.KILL:
            await self.kill(node)
            await trio.sleep(step.lasts_s)
            await self.start_node(node)
        elif step.kind is ClusterFaultKind.FREEZE:
            process = node.process
            assert process is not None
            node.frozen = True
            process.send_signal(signal.SIGSTOP)
            await trio.sleep(step.lasts_s)
            process.send_signal(signal.SIGCONT)
            node.frozen = False
        else:
            node.proxy.cut()
            await trio.sleep(step.lasts_s)
            node.proxy.restore()
        cleared = time.time()
        symbols = ", ".join(f"{s} (epoch {e})" for s, e in sorted(held.items())) or "nothing"
        self.timeline.append(
            ClusterFaultRecord(
                step,
                node.name,
                started - self.phase_start,
                cleared - self.phase_start,
                f"{node.name} held {symbols}; a strategy {state}",
            )
        )
        await self._until_settled(step.describe(node.name), cleared, SETTLE_PATIENCE_S)

    async def _until_answering(self, node: _Node) -> None:
        with trio.move_on_after(START_TIMEOUT_S):
            while not node.answering:  # noqa: ASYNC110 - started by another task, unsignalled
                await trio.sleep(0.05)
        if not node.answering:
            raise ChaosFailed(f"{node.name} was not up again within {START_TIMEOUT_S:g} s")

    async def _mid_cycle(self, node: _Node) -> str:
        """Wait up to ``KILL_WAIT_FOR_CYCLE_S`` for a strategy of ``node`` to be
        mid-cycle, when a fault does the most harm; the state it found."""
        deadline = trio.current_time() + KILL_WAIT_FOR_CYCLE_S
        while trio.current_time() < deadline:
            status = node.status
            busy = [t.state for t in status.tasks if t.state in MID_CYCLE] if status else []
            if busy:
                return busy[0]
            await trio.sleep(0.05)
        return "at rest"

    async def _until_settled(self, after: str, since: float, patience_s: float) -> ci.SettleCheck:
        """Wait up to ``patience_s`` for every symbol to be held by one instance and
        traded, as the instances' statuses read after ``since`` show."""
        symbols = list(self.config.symbols)
        deadline = trio.current_time() + patience_s
        missing = "no status read"
        while trio.current_time() < deadline:
            views = []
            silent = []
            for node in self.nodes:
                if not node.answering:
                    continue
                if node.status is None or node.view is None or node.status_at < since:
                    silent.append(node.name)
                    continue
                views.append(
                    NodeView(node.name, node.view.held, node.view.lame, deciding(node.status))
                )
            missing = "; ".join(
                [f"no status from {name} yet" for name in silent]
                + ([coverage_gap(views, symbols)] if not silent else [])
            )
            if not missing:
                check = ci.SettleCheck(after, since, max(0.0, time.time() - since), "")
                self.settles.append(check)
                return check
            await trio.sleep(STATUS_EVERY_S)
        check = ci.SettleCheck(after, since, None, missing)
        self.settles.append(check)
        log.error("chaos: the cluster did not settle after %s: %s", after, missing)
        return check

    def _stirring(self) -> Stirring:
        return Stirring(
            self.config.symbol_list,
            self.config.chaos.stir_every_s,
            self.sim,
            self.http,
            self._port_of,
            self.control_token,
            self._merged_status,
        )

    def _holder(self, symbol: str) -> _Node | None:
        for node in self.nodes:
            if node.answering and node.view is not None and symbol in node.view.held:
                return node
        return None

    def _port_of(self, symbol: str) -> int | None:
        holder = self._holder(symbol)
        return holder.port if holder is not None else None

    def _merged_status(self) -> SystemStatus | None:
        """The cluster as one trading process: each symbol's strategy as its holder
        shows it (``None`` before any instance answered)."""
        tasks = []
        first = None
        for node in self.nodes:
            if not node.answering or node.status is None or node.view is None:
                continue
            first = first or node.status
            held = set(node.view.held) - set(node.view.lame)
            tasks += [t for t in node.status.tasks if t.symbol in held]
        return msgspec.structs.replace(first, tasks=tasks) if first is not None else None

    # ------------------------------------------------------------ the processes

    async def start_node(self, node: _Node) -> None:
        self.runs += 1
        node.run = self.runs
        data_dir = self._data_dir(node)
        command = [
            sys.executable,
            "-m",
            "actors.cli",
            "run",
            str(self._config_path(node)),
            "--data-dir",
            str(data_dir),
            "--no-view",
            "--json",
        ]
        env = {
            **os.environ,
            **venue_keys(self.sim.config),
            CONTROL_TOKEN_ENV: self.control_token,
            DSN_ENV: node.dsn,
        }
        stderr_path = data_dir / "basis-stderr.log"
        with stderr_path.open("ab") as stderr, self._run_output(node).open("wb") as out:
            process = await trio.lowlevel.open_process(
                command, stdout=out, stderr=stderr, stdin=subprocess.DEVNULL, env=env
            )
        node.process = process
        deadline = trio.current_time() + START_TIMEOUT_S
        while trio.current_time() < deadline:
            if process.poll() is not None:
                node.process = None
                self.exits.append(ci.NodeExit(node.name, node.run, process.returncode, None))
                raise ChaosFailed(
                    f"{node.name} exited with {process.returncode} while starting; its log: "
                    f"{stderr_path}"
                )
            if await self._fetch(node) is not None and node.view is not None:
                return
            await trio.sleep(0.05)
        raise ChaosFailed(
            f"{node.name} did not show a cluster in /status within {START_TIMEOUT_S:g} s; "
            f"its log: {stderr_path}"
        )

    async def kill(self, node: _Node) -> None:
        process = node.process
        if process is None or process.poll() is not None:
            return
        node.process = None
        process.send_signal(signal.SIGKILL)
        await process.wait()
        node.frozen = False
        self.exits.append(ci.NodeExit(node.name, node.run, process.returncode, "kill"))

    async def kill_all(self) -> None:
        for node in self.nodes:
            await self.kill(node)

    async def stop_all(self) -> None:
        async with trio.open_nursery() as stopping:
            for node in self.nodes:
                stopping.start_soon(self._stop, node)

    async def _stop(self, node: _Node) -> None:
        process = node.process
        if process is None:
            return
        node.process = None
        process.send_signal(signal.SIGTERM)
        with trio.move_on_after(STOP_TIMEOUT_S):
            await process.wait()
        if process.poll() is None:
            process.kill()
            await process.wait()
        self.exits.append(ci.NodeExit(node.name, node.run, process.returncode, "stop"))

    async def _watch(self, node: _Node) -> None:
        """Sample ``node``'s status; start it again if it ended by itself."""
        while True:
            process = node.process
            if process is not None and process.poll() is not None:
                node.process = None
                self.exits.append(ci.NodeExit(node.name, node.run, process.returncode, None))
                final = printed_status(self._run_output(node))
                if final is not None:
                    # Ended before a sample could show the give-up: its last words do.
                    self._note_give_ups(node, final)
                log.error(
                    "chaos: %s ended by itself (exit %s); starting it again",
                    node.name,
                    process.returncode,
                )
                await self.start_node(node)
            elif node.answering:
                await self._fetch(node)
            await trio.sleep(STATUS_EVERY_S)

    async def _fetch(self, node: _Node) -> SystemStatus | None:
        process = node.process
        try:
            reply = await self.http.get(f"http://127.0.0.1:{node.port}/status")
        except httpx.HTTPError:
            return None
        if reply.status_code != 200 or node.process is not process or node.frozen:
            return None
        status = _decode_status(reply.content)
        view = _decode_cluster(reply.content).cluster
        node.status, node.view, node.status_at = status, view, time.time()
        self._note_give_ups(node, status)
        if view is not None:
            for task in status.tasks:
                epoch = view.held.get(task.symbol)
                if epoch is not None and task.state != "stopped" and task.resumed_at is not None:
                    self.sightings.add(
                        ci.TradingSighting(task.symbol, epoch, node.name, task.resumed_at)
                    )
        return status

    def _note_give_ups(self, node: _Node, status: SystemStatus) -> None:
        for supervisor in status.tree.given_up():
            # With why, as the status has it: the log saying so may have rotated away
            # by the end of a long run.
            why = (supervisor.last_give_up or "").replace("\n", " / ")
            self.gave_up.add(f"{node.name}: {supervisor.name} ({why})")

    def _run_output(self, node: _Node) -> Path:
        return self._data_dir(node) / f"run-{node.run}.out"

    # -------------------------------------------------------------- the report

    async def report(self) -> ClusterReport:
        try:
            store = await trio.to_thread.run_sync(read_store, self.store_dsn)
        except psycopg.Error as error:
            raise ChaosFailed(f"could not read the run's store ({self.schema}): {error}") from None
        config = self.config
        ledgers: dict[str, tuple[LedgerEntry, ...]] = {
            name: venue.ledger.entries() for name, venue in self.sim.venues.exchanges.items()
        }
        end = time.time()
        slack = abs(self.sim.clock.now() - end) + store.uncertainty_s
        placed = ci.placements(ledgers)
        failover_bound = self.options.lease_ttl_s + FAILOVER_SLACK_S
        found_failovers = ci.failovers(self.faults, store.grants, self.sightings, slack)
        # A gap between the legs an instance left when it went away is closed by the
        # instance that takes the symbol over: within the failover's bound, then as
        # quickly as a single instance closes one.
        bound = config.chaos.unhedged_bound_s(config.venues_in_use.values()) + failover_bound
        excursions = inv.excursions(
            inv.leg_fills(ledgers), functools.partial(unhedged_threshold, self.sim), end
        )
        results = [
            ci.one_holder_at_a_time(placed, store.grants, slack),
            ci.failover_bounded(self.faults, found_failovers, failover_bound),
            ci.no_stale_writes(store.orders, store.tasks, store.grants),
            inv.orders_once(ledgers, {o.client_id for o in store.orders}),
            inv.unhedged_bounded(excursions, bound),
            inv.unhedged_notional_bounded(
                excursions,
                inv.unhedged_notional_bound(bound, config.strategy.base_position_size_usdt),
            ),
            ci.cluster_settled(self.settles, SETTLE_PATIENCE_S),
            ci.instances_held(self.exits, self.gave_up),
        ]
        return ClusterReport(
            seed=self.options.seed,
            duration_s=self.options.duration_s,
            instances=[node.name for node in self.nodes],
            lease_ttl_s=self.options.lease_ttl_s,
            schema=self.schema,
            timeline=self.timeline,
            failovers=found_failovers,
            spreads=spreads(found_failovers),
            grants=len(store.grants),
            max_epoch=max((g.epoch for g in store.grants), default=0),
            placements_by_instance=ci.placements_by_holder(placed, store.grants),
            proxies={
                node.name: ProxyCounts(
                    node.proxy.forwarded, node.proxy.closed_by_cuts, node.proxy.black_holed
                )
                for node in self.nodes
            },
            max_unhedged_usdt=max((e.peak_usdt for e in excursions), default=0.0),
            max_unhedged_s=max((e.lasted_s for e in excursions), default=0.0),
            unhedged_bound_s=bound,
            clock_slack_s=slack,
            invariants=results,
            passed=all(r.passed for r in results),
        )
