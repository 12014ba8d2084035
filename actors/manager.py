"""The manager: builds the trading system's supervision tree from a config and runs it.

```
basis (rest_for_one)
├── writer                  the store; first up, last down
├── venues (one_for_one)    the simulated venues, in paper mode
├── feeds (one_for_one)     one per venue connection
├── routers (one_for_one)   one per venue
└── strategies (one_for_one) one per symbol, added while the system runs (transient)
```

``rest_for_one`` because each layer needs the ones above it: a writer that had to restart
takes everything after it down and up again in order. Actors find each other by address,
which survives restarts. The :class:`TradingSystem` is also the Python API that the CLI
and the tests use: add and stop strategies, read status, stop the whole.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import trio

from actors.arbitrage.actor import StrategyActor
from actors.arbitrage.context import ArbitrageContext, ArbitrageParams, LegRules, new_context
from actors.feed import Feed
from actors.heap import settle
from actors.recovery import restore
from actors.rest import OutcomeUnknown, RequestNotSent, RestClient
from actors.router import Router
from actors.sim.servers import SimServers, SimUrls
from actors.store import QuarantineRow, Store
from actors.system_config import SystemConfig, VenuesSection
from actors.venues.gateio import (
    GateioFeedCodec,
    GateioPrivateCodec,
    GateioRouterCodec,
    short_position,
)
from actors.venues.mexc import MexcFeedCodec, MexcPrivateCodec, MexcRouterCodec, base_holdings
from actors.writer import Writer, WriterClient
from protocols.messages import CancelOrder, OperatorAction, OperatorCommand, RulesUpdate
from protocols.model import Leg, Symbol
from protocols.venue import ApiCredentials, VenueError
from supervision import (
    Address,
    Backoff,
    ChildSpec,
    Intensity,
    Mailbox,
    Restart,
    Strategy,
    Supervisor,
)

log = logging.getLogger("basis.manager")

STORE_FILE = "basis.db"
SYMBOLS_PER_CONNECTION = 30
STORE_COUNT_EVERY_S = 10.0
POSITION_CHECK_ATTEMPTS = 8
POSITION_CHECK_BACKOFF = Backoff(min_s=0.2, max_s=5.0)
"""About 20 s in all: longer than a burst of errors, short enough not to hold up a start."""


class SymbolLocked(Exception):
    """A live strategy already trades this symbol on these venues."""


class UnknownTask(Exception):
    pass


class ContradictsVenue(Exception):
    """A restored strategy's record disagrees with what the venues hold."""


@attrs.define(eq=False)
class StrategyHandle:
    task_id: str
    symbol: Symbol
    actor: StrategyActor
    mailbox: Mailbox

    @property
    def child_name(self) -> str:
        return f"strategy-{self.task_id}"


@attrs.define(eq=False)
class VenueLinks:
    """One venue's feed and router, as the manager wires them."""

    leg: Leg
    rest: RestClient
    feeds: list[Feed]
    """One per connection: MEXC takes at most 30 subscriptions on one."""
    router: Router
    router_mailbox: Mailbox


class TradingSystem:
    """``recover``: strategies resume from their stored state (the default). ``venues``:
    simulated venues already running elsewhere (a demo that outlives the system); in
    paper mode the system otherwise runs its own."""

    def __init__(
        self,
        config: SystemConfig,
        data_dir: Path,
        *,
        recover: bool = True,
        venues: SimUrls | None = None,
    ) -> None:
        self.config = config
        self.data_dir = data_dir
        self.recover = recover
        self.started_at = time.time()
        self.writer = Writer(data_dir / STORE_FILE, config.persistence.durability)
        self.writer_mailbox = Mailbox("writer", capacity=4096)
        self.writer_client = WriterClient(self.writer_mailbox.address)
        paper = config.mode == "paper"
        self.sim: SimServers | None = (
            SimServers(config.simulated()) if paper and venues is None else None
        )
        self.owners: dict[str, Address] = {}
        self.subscribers: dict[Symbol, list[Address]] = {s: [] for s in config.symbol_list}
        self.strategies: dict[str, StrategyHandle] = {}
        self._rng = random.Random()
        self._used_ids: set[str] = set()
        """Every task id of this run, removed ones included: an id is never reused."""
        self.venues: dict[Leg, VenueLinks] = {}
        self.strategies_supervisor = Supervisor(
            "strategies", [], strategy=Strategy.ONE_FOR_ONE, intensity=Intensity(20, 60)
        )
        self.root = self._build_tree()
        if venues is not None:
            self._point_at(config.venues_at(venues))
        self.stopped = trio.Event()
        self.quarantined: list[QuarantineRow] = []
        """Records recovery could not restore, with the reasons."""
        self.store_counts: dict[str, int] = {}
        """Active, completed and quarantined tasks in the store, refreshed now and then."""

    # ------------------------------------------------------------------ the tree

    def _build_tree(self) -> Supervisor:
        venues = self.config.venues
        credentials = self._credentials()
        self.venues = {
            Leg.SPOT: self._venue_links(Leg.SPOT, venues, credentials),
            Leg.FUTURES: self._venue_links(Leg.FUTURES, venues, credentials),
        }
        children = [ChildSpec("writer", self.writer.run, mailbox=self.writer_mailbox)]
        if self.sim is not None:
            sim = self.sim

            async def run_sim(inc: Any, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
                async with trio.open_nursery() as nursery:
                    urls = await nursery.start(sim.run)
                    self._point_at(self.config.venues_at(urls))
                    task_status.started()
                    await inc.stopping.wait()
                    nursery.cancel_scope.cancel()

            venue_tree = Supervisor("venues", [ChildSpec("sim", run_sim)])
            children.append(venue_tree.child_spec())
        feeds = Supervisor(
            "feeds",
            [
                ChildSpec(feed.name, feed.run, labels={"venue": feed.codec.venue})
                for links in self.venues.values()
                for feed in links.feeds
            ],
        )
        routers = Supervisor(
            "routers",
            [
                ChildSpec(
                    links.router.name,
                    links.router.run,
                    mailbox=links.router_mailbox,
                    shutdown_timeout_s=10.0,
                    labels={"venue": links.router.codec.venue},
                )
                for links in self.venues.values()
            ],
        )
        children += [
            feeds.child_spec(),
            routers.child_spec(),
            self.strategies_supervisor.child_spec(),
        ]
        return Supervisor("basis", children, strategy=Strategy.REST_FOR_ONE)

    def _credentials(self) -> dict[Leg, ApiCredentials]:
        if self.config.mode == "paper":
            sim = self.config.sim
            return {
                Leg.SPOT: ApiCredentials(sim.spot.api_key, sim.spot.api_secret),
                Leg.FUTURES: ApiCredentials(sim.futures.api_key, sim.futures.api_secret),
            }
        missing = self.config.missing_credentials()
        if missing:
            raise ValueError(
                "live mode needs the API keys in the environment; missing: " + ", ".join(missing)
            )
        spot = self.config.venues.spot.credentials()
        futures = self.config.venues.futures.credentials()
        assert spot is not None and futures is not None
        return {Leg.SPOT: spot, Leg.FUTURES: futures}

    def _venue_links(
        self, leg: Leg, venues: VenuesSection, credentials: dict[Leg, ApiCredentials]
    ) -> VenueLinks:
        venue = venues.spot if leg is Leg.SPOT else venues.futures
        rest = RestClient(venue.rest, timeout_s=venue.request_timeout_s)
        keys = credentials[leg]
        if leg is Leg.SPOT:
            feed_codec: Any = MexcFeedCodec(rest)
            router_codec: Any = MexcRouterCodec(keys)
            private: Any = MexcPrivateCodec(keys)
        else:
            feed_codec = GateioFeedCodec(rest)
            router_codec = GateioRouterCodec(keys)
            private = None  # set below: it shares the router's rules
        symbols = list(self.subscribers)
        chunks = [
            symbols[start : start + SYMBOLS_PER_CONNECTION]
            for start in range(0, len(symbols), SYMBOLS_PER_CONNECTION)
        ]
        feeds = [
            Feed(
                f"feed-{venue.kind}" + (f"-{n}" if len(chunks) > 1 else ""),
                feed_codec,
                venue.ws,
                # The chunk's symbols, sharing the lists strategies are appended to.
                {symbol: self.subscribers[symbol] for symbol in chunk},
                stale_after_s=venue.stale_after_s,
                rotate_after_s=venue.rotate_after_s,
                depth=venue.depth,
                fetch_snapshot=feed_codec.fetch_snapshot,
            )
            for n, chunk in enumerate(chunks, start=1)
        ]
        router = Router(
            f"router-{venue.kind}",
            router_codec,
            rest,
            self.owners,
            self.subscribers,
            private=private,
            ws_url=venue.ws,
            rules_refresh_s=venue.rules_refresh_s,
            journal=self.writer_client.order_event,
        )
        if leg is Leg.FUTURES:
            user = self.config.sim.futures.user_id if self.config.mode == "paper" else venue.user_id
            router.private = GateioPrivateCodec(keys, user, router.rules)
        return VenueLinks(leg, rest, feeds, router, Mailbox(router.name, capacity=1024))

    def _point_at(self, venues: VenuesSection) -> None:
        """Aim feeds and routers at the simulated venues, once their ports are known."""
        for leg, venue in ((Leg.SPOT, venues.spot), (Leg.FUTURES, venues.futures)):
            links = self.venues[leg]
            links.rest.rebase(venue.rest)
            for feed in links.feeds:
                feed.url = venue.ws
            links.router.ws_url = venue.ws

    # ---------------------------------------------------------------- strategies

    async def add_strategy(
        self, symbol: Symbol, params: ArbitrageParams | None = None, size_usdt: float | None = None
    ) -> str:
        """Start a strategy on ``symbol``; returns its task id. Refused with
        :class:`SymbolLocked` while another live strategy trades it."""
        if symbol not in self.subscribers:
            raise ValueError(
                f"{symbol} is not in this system's symbols ({', '.join(self.config.symbols)})"
            )
        for handle in self.strategies.values():
            if handle.symbol == symbol and handle.actor.ctx.state.value != "stopped":
                raise SymbolLocked(
                    f"{symbol} on {self.config.venues.spot.kind}/"
                    f"{self.config.venues.futures.kind} is already traded by task "
                    f"{handle.task_id}; stop it first"
                )
        strategy = self.config.strategy
        restored = await self._restored(symbol) if self.recover else None
        # The venues' rules as the routers loaded them; until they have (a venue that could
        # not answer at start), what the restored record knew.
        known = restored.rules if restored is not None else LegRules()
        rules = LegRules(
            self.venues[Leg.SPOT].router.rules.get(symbol, known.spot),
            self.venues[Leg.FUTURES].router.rules.get(symbol, known.futures),
        )
        if restored is not None:
            contradiction = await self._contradiction(restored, rules)
            if contradiction is not None:
                await self._quarantine(restored, contradiction)
                raise ContradictsVenue(f"task {restored.task_id}: {contradiction}")
            # The operator's current parameters apply from now on; the state is the store's.
            ctx = restored.evolve(params=params or strategy.params(), rules=rules)
        else:
            ctx = new_context(
                self._task_id(symbol),
                symbol,
                now=time.time(),
                base_position_size_usdt=size_usdt or strategy.base_position_size_usdt,
                futures_leverage=strategy.futures_leverage,
                params=params or strategy.params(),
                rules=rules,
                spot_venue=self.config.venues.spot.kind,
                futures_venue=self.config.venues.futures.kind,
            )
        task_id = ctx.task_id
        self._used_ids.add(task_id)
        writer = self.writer_client

        async def save(changed: Any) -> None:
            writer.save(changed)

        actor = StrategyActor(
            ctx,
            {leg: links.router_mailbox.address for leg, links in self.venues.items()},
            before_orders=writer.journal,
            on_change=save,
        )
        mailbox = Mailbox(f"strategy-{task_id}", capacity=1024)
        handle = StrategyHandle(task_id, symbol, actor, mailbox)
        self.strategies[task_id] = handle
        self.owners[task_id] = mailbox.address
        self.subscribers[symbol].append(mailbox.address)
        writer.save(ctx)
        await self.strategies_supervisor.add_child(
            ChildSpec(
                handle.child_name,
                actor.run,
                restart=Restart.TRANSIENT,
                mailbox=mailbox,
                labels={"symbol": str(symbol), "task_id": task_id},
            )
        )
        for links in self.venues.values():
            rules_now = links.router.rules.get(symbol)
            if rules_now is not None:
                await mailbox.send(RulesUpdate(time.time(), links.leg, rules_now))
        if restored is not None:
            # Orders in flight when the last run ended: each router looks its own up at
            # the venue by client id (cancelling what is still open), and the strategy
            # hears what became of them before it trades on.
            for leg, orders in ctx.active_orders.items():
                router = self.venues[Leg(leg)].router_mailbox.address
                for client_id in orders:
                    await router.send(CancelOrder(Leg(leg), client_id, symbol))
        log.info("task %s: trading %s", task_id, symbol)
        return task_id

    async def _contradiction(self, ctx: ArbitrageContext, rules: LegRules) -> str | None:
        """What the venues hold that the restored ``ctx`` does not say, if anything.

        Checked only when no order was in flight (those are settled by the routers). The
        spot account may hold more of the coin than the strategy (other holdings); never
        less. The futures short must match to within half a contract."""
        if ctx.active_orders:
            return None
        if not rules.futures.contract_size:
            log.warning("task %s: no venue rules yet, positions not checked", ctx.task_id)
            return None
        spot, futures = self.venues[Leg.SPOT], self.venues[Leg.FUTURES]
        keys = self._credentials()
        for attempt in range(POSITION_CHECK_ATTEMPTS):
            now = time.time()
            try:
                held = await base_holdings(spot.rest, keys[Leg.SPOT], ctx.symbol, now)
                short = await short_position(
                    futures.rest, keys[Leg.FUTURES], ctx.symbol, rules.futures, now
                )
                break
            except (VenueError, RequestNotSent, OutcomeUnknown) as error:
                # A venue briefly down, erring or rate limiting at start is no reason to
                # stop: ask again, a little later each time.
                log.warning("task %s: positions not checked yet: %s", ctx.task_id, error)
                await trio.sleep(POSITION_CHECK_BACKOFF.delay(attempt, self._rng))
        else:
            log.error(
                "task %s: the venues did not answer %d times; positions not checked",
                ctx.task_id,
                POSITION_CHECK_ATTEMPTS,
            )
            return None
        step = rules.spot.qty_step or 1e-12
        if held < ctx.positions.spot.qty - step / 2:
            return (
                f"the spot account holds {held:g} {ctx.symbol.base}, the record says "
                f"{ctx.positions.spot.qty:g}"
            )
        half_contract = (rules.futures.contract_size or 1e-12) / 2
        if abs(short - ctx.positions.futures.qty) > half_contract:
            return (
                f"the futures short is {short:g} {ctx.symbol.base}, the record says "
                f"{ctx.positions.futures.qty:g}"
            )
        return None

    async def _quarantine(self, ctx: ArbitrageContext, reason: str) -> None:
        log.error("task %s quarantined: %s; %s needs the operator", ctx.task_id, reason, ctx.symbol)

        def write() -> list[QuarantineRow]:
            store = Store(self.data_dir / STORE_FILE, self.config.persistence.durability)
            try:
                store.quarantine(ctx.task_id, f"contradicts the venues: {reason}", None)
                store.mark_quarantined(ctx.task_id)
                return store.quarantined()
            finally:
                store.close()

        self.quarantined = await trio.to_thread.run_sync(write)

    async def _restored(self, symbol: Symbol) -> ArbitrageContext | None:
        venues = self.config.venues

        def read() -> ArbitrageContext | None:
            # A connection of its own: the writer's belongs to its thread.
            store = Store(self.data_dir / STORE_FILE, self.config.persistence.durability)
            try:
                ctx = restore(store, str(symbol), venues.spot.kind, venues.futures.kind)
                self.quarantined = store.quarantined()
                return ctx
            finally:
                store.close()

        return await trio.to_thread.run_sync(read)

    def _task_id(self, symbol: Symbol) -> str:
        """``btc_sj3kx0``: the coin and the start time in base 36, so that a new task never
        takes the id (and the stored history) of one from an earlier run."""
        stem = re.sub(r"[^a-z0-9]", "", symbol.base.lower())[:9] or "task"
        stamp = _base36(int(time.time() * 10))
        task_id = f"{stem}_{stamp}"[:16]
        n = 1
        while task_id in self._used_ids:
            n += 1
            task_id = f"{stem}_{stamp}"[: 16 - len(str(n))] + str(n)
        return task_id

    async def command(self, task_id: str, action: OperatorAction) -> None:
        handle = self._handle(task_id)
        await handle.mailbox.send(OperatorCommand(time.time(), action))

    async def remove_strategy(self, task_id: str) -> None:
        """Stop a strategy's actor and forget it (its stored state stays)."""
        handle = self._handle(task_id)
        # Unwired first: a feed or router must never offer to a closed mailbox.
        self.subscribers[handle.symbol].remove(handle.mailbox.address)
        del self.owners[task_id]
        await self.strategies_supervisor.remove_child(handle.child_name)
        del self.strategies[task_id]

    async def _count_store(self) -> None:
        """Refresh ``store_counts`` for status views, off the trio thread."""

        def count() -> dict[str, int]:
            store = Store(self.data_dir / STORE_FILE, self.config.persistence.durability)
            try:
                return store.counts()
            finally:
                store.close()

        while True:
            self.store_counts = await trio.to_thread.run_sync(count)
            await trio.sleep(STORE_COUNT_EVERY_S)

    async def _abandon_previous_paper_tasks(self) -> None:
        """This run's simulated venues are new: positions stored by an earlier paper run
        are held nowhere, so those tasks are closed rather than resumed."""
        path = self.data_dir / STORE_FILE
        if not path.exists():
            return

        def abandon() -> int:
            store = Store(path, self.config.persistence.durability)
            try:
                return store.abandon_active()
            finally:
                store.close()

        abandoned = await trio.to_thread.run_sync(abandon)
        if abandoned:
            log.warning(
                "%d task(s) from an earlier paper run closed as abandoned: their simulated "
                "venues are gone (run `basis sim` separately to keep venues across runs)",
                abandoned,
            )

    async def cleanup(self, max_age_s: float) -> int:
        """Delete tasks that completed more than ``max_age_s`` ago, with their orders;
        returns how many. Active and quarantined records are kept."""

        def delete() -> int:
            store = Store(self.data_dir / STORE_FILE, self.config.persistence.durability)
            try:
                return store.delete_completed(before=time.time() - max_age_s)
            finally:
                store.close()

        return await trio.to_thread.run_sync(delete)

    def _handle(self, task_id: str) -> StrategyHandle:
        try:
            return self.strategies[task_id]
        except KeyError:
            raise UnknownTask(
                f"no task {task_id!r}; running: {', '.join(self.strategies)}"
            ) from None

    # ------------------------------------------------------------------- running

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Run the tree; ready once every layer is up and a strategy trades each symbol.
        Returns once the tree has stopped (``stopped`` is then set)."""
        if self.sim is not None:
            await self._abandon_previous_paper_tasks()
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(self._run_root, nursery.cancel_scope)
                for symbol in self.config.symbol_list:
                    try:
                        await self.add_strategy(symbol)
                    except ContradictsVenue as error:
                        # The rest recovers and trades; this symbol waits for the operator.
                        log.error("%s not started: %s", symbol, error)
                settle()
                nursery.start_soon(self._count_store)
                task_status.started()
        finally:
            self.stopped.set()

    async def _run_root(
        self, helpers: trio.CancelScope, *, task_status: Any = trio.TASK_STATUS_IGNORED
    ) -> None:
        await self.root.run(task_status=task_status)
        helpers.cancel()  # the tree has stopped: so does everything that served it

    def request_stop(self) -> None:
        self.root.request_stop()

    async def aclose(self) -> None:
        for links in self.venues.values():
            await links.rest.aclose()


def _base36(value: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while value:
        value, digit = divmod(value, 36)
        text = digits[digit] + text
    return text or "0"


@asynccontextmanager
async def open_system(
    config: SystemConfig,
    data_dir: Path,
    *,
    recover: bool = True,
    venues: SimUrls | None = None,
) -> AsyncIterator[TradingSystem]:
    """A running system for the block; stopped gracefully when the block ends."""
    system = TradingSystem(config, data_dir, recover=recover, venues=venues)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(system.run)
            try:
                yield system
            finally:
                system.request_stop()
    finally:
        await system.aclose()
