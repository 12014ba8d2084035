"""The manager: builds the trading system's supervision tree from a config and runs it.

```
basis (one_for_one)
├── writer                  the store; first up, last down
├── feeds (one_for_one)     one per venue connection
├── routers (one_for_one)   one per venue
├── risk                    the portfolio: caps, balances, stops, the risk mode
├── strategies (one_for_one) one per symbol, added while the system runs (transient)
├── alerts (one_for_one)    the alert actor: incidents, the outbox, the sinks
└── services (one_for_one)  what serves the system to the outside (the dashboard), if any;
                            temporary: given up on, it is off, and trading goes on
```

Children start in this order because each layer needs the ones above it to be there;
none needs them to restart with it, so a restart restarts only what failed
(``one_for_one``). Actors find each other by mailbox address, which survives restarts,
and what is sent to an actor that is down waits for its next incarnation; the writer
keeps what it took from its mailbox until it is written, so a writer restart loses
nothing, and an order whose intent it had not yet committed waits for the next writer
before it leaves. In a cluster the strategies come and go with the symbols' leases
(``actors/runtime/cluster/keeper.py``), which the keeper keeps beside the tree: started
once it is up, handed back once it has stopped. The :class:`TradingSystem` is also the
Python API that the CLI and the tests use: add and stop strategies, read status, stop
the whole.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import socket
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import attrs
import msgspec
import trio

from actors.arbitrage import exposure as notional
from actors.arbitrage.actor import StrategyActor
from actors.arbitrage.config import task_params, task_type_of
from actors.arbitrage.context import ArbitrageContext, ArbitrageParams, LegRules, new_context
from actors.arbitrage.series import SeriesSampler
from actors.risk.caps import Exposure
from actors.risk.limits import EntryLimits
from actors.runtime.alerts.actor import SHUTDOWN_TIMEOUT_S, AlertActor
from actors.runtime.alerts.alert import Sink
from actors.runtime.alerts.conditions import FeedConnects, Observation, Signal, exposure_of
from actors.runtime.alerts.sinks import sinks_from_config
from actors.runtime.cluster.keeper import LeaseKeeper
from actors.runtime.cluster.leases import LeaseBook
from actors.runtime.config import RuntimeConfig
from actors.runtime.controls import Controls
from actors.runtime.market.feed import Feed
from actors.runtime.ops.gc_tuning import freeze_startup_objects
from actors.runtime.ops.recent_fills import RECENT_FILLS, FillOut, keeping_fills
from actors.runtime.ops.statistics import SystemStatistics
from actors.runtime.ops.status import health_signals
from actors.runtime.orders.funding_book import FundingBook
from actors.runtime.orders.position_watch import PositionWatch
from actors.runtime.orders.rate_limit import TokenBucket
from actors.runtime.orders.router import Router
from actors.runtime.orders.short_check import Holding, holding_of
from actors.runtime.other_instances import ForeignOrder, OtherInstance
from actors.runtime.persistence.postgres_store import PostgresStore, StoreUnreachable
from actors.runtime.persistence.source import (
    STORE_FAILURES,
    PostgresSource,
    StoreSource,
    store_source,
)
from actors.runtime.persistence.store import QuarantineRow, RiskModeRow, StoreError
from actors.runtime.persistence.writer import (
    WRITER_MAILBOX,
    LeaseLost,
    Writer,
    WriterClient,
)
from actors.runtime.recovery import Recovery, record_of
from actors.runtime.risk.actor import RiskActor, risk_statistics
from actors.runtime.risk.balances import read_balances
from actors.runtime.risk.portfolio import Portfolio
from actors.runtime.symbol_refusals import SymbolLocked, SymbolQuarantined
from actors.runtime.venue_config import VenueConfig
from actors.venues.kinds import SPOT_VENUES, futures_venue, spot_venue
from actors.venues.rest import VENUE_FAILURES, RestClient
from protocols.client_ids import epoch_tag
from protocols.messages import (
    OperatorAction,
    OperatorCommand,
    ReconcileOrder,
    RulesUpdate,
    StoreHealth,
)
from protocols.model import Leg, Order, RiskMode, Symbol
from protocols.venue import ApiCredentials, WrongAccount
from supervision import (
    Address,
    ChildSpec,
    Intensity,
    Mailbox,
    MailboxClosed,
    Restart,
    RestartStrategy,
    Supervisor,
    SupervisorGaveUp,
    SupervisorNotRunning,
)

log = logging.getLogger("basis.manager")

STORE_FILE = "basis.db"
SERVICES_INTENSITY = Intensity(5, 60)
"""How often the services may restart before they are given up on: a service that keeps
failing is turned off, never a reason to stop trading."""
SYMBOLS_PER_CONNECTION = 30
STORE_COUNT_EVERY_S = 10.0
SERIES_THIN_EVERY_S = 3600.0
STORE_RETRY_MIN_S = 1.0
STORE_RETRY_MAX_S = 30.0
"""A store that does not answer at the start is asked again after a pause doubling from
the first to the second."""
OTHERS_EVERY_S = 1.0
"""How often a cluster's instance reads what the others hold and have in flight: the
portfolio's caps count it, so entries decided on two instances within this long of each
other are the only ones that may not see each other."""
DAY_S = 86400.0
STORE_HEALTH_KEY = "store-health"
"""The conflating key strategies are told the store's health under: only the latest counts."""


class UnknownTask(Exception):
    pass


class AccountRefused(Exception):
    """A venue account Basis cannot trade on as it is; ``str()`` says why and the fix."""


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

    kind: str
    """The venue's kind, as configured (``actors.venues.kinds``)."""
    leg: Leg
    rest: RestClient
    feeds: list[Feed]
    """One per connection: MEXC takes at most 30 subscriptions on one."""
    router: Router
    router_mailbox: Mailbox


class TradingSystem:
    """The trading system of ``config``, its store in ``data_dir``.

    ``recover``: strategies resume from their stored state (the default).
    ``credentials``: the venues' keys by venue kind; without them, read from the
    environment variables that ``[venues]`` names. ``venues_are_new``: the venues hold
    nothing of an earlier run (simulated venues started for this one), so tasks an
    earlier run left active are closed as abandoned instead of resumed on positions
    nobody holds. ``services``: run under a supervisor of their own after everything
    else (the dashboard)."""

    def __init__(
        self,
        config: RuntimeConfig,
        data_dir: Path,
        *,
        recover: bool = True,
        credentials: Mapping[str, ApiCredentials] | None = None,
        venues_are_new: bool = False,
        sinks: Sequence[Sink] | None = None,
        services: Sequence[ChildSpec] = (),
    ) -> None:
        self.config = config
        self.services = list(services)
        """Children of the ``services`` supervisor, last in the tree (the dashboard)."""
        self.data_dir = data_dir
        self.recover = recover
        self.started_at = time.time()
        self.store_path = data_dir / STORE_FILE
        self.store: StoreSource = store_source(config, self.store_path)
        """Where the store is; its parts read it through this (``reading``)."""
        self.writer = Writer(
            self.store_path,
            config.persistence.durability,
            on_health=self._store_health,
            source=self.store,
        )
        self.writer_mailbox = Mailbox(WRITER_MAILBOX, capacity=4096)
        self.writer_client = WriterClient(self.writer_mailbox.address)
        self.venues_are_new = venues_are_new
        self.credentials = dict(credentials) if credentials is not None else self._from_env()
        self.owners: dict[str, Address] = {}
        self.subscribers: dict[Symbol, list[Address]] = {s: [] for s in config.symbol_list}
        self.strategies: dict[str, StrategyHandle] = {}
        self._used_ids: set[str] = set()
        """Every task id of this run, removed ones included: an id is never reused."""
        self.venues: dict[str, VenueLinks] = {}
        """Each venue the symbols trade at, by kind (``[venues]``): one account and one
        set of connections, whichever pairs it is in."""
        self.strategies_supervisor = Supervisor(
            "strategies", [], strategy=RestartStrategy.ONE_FOR_ONE, intensity=Intensity(20, 60)
        )
        self.started = trio.Event()
        """Set once ``run`` has added the strategies of every symbol."""
        alerts = config.alerts
        self.alert_actor = AlertActor(
            alerts,
            sinks_from_config(alerts, os.environ) if sinks is None else sinks,
            self.writer_client,
            self.store,
            self.observation,
            alerts.instance or f"{socket.gethostname()}:{data_dir.resolve()}",
            system_started=self.started,
        )
        self.risk = RiskActor(
            Portfolio(config.risk),
            self.strategies,
            self.writer_client,
            self._read_balances,
            system_started=self.started,
        )
        self.root = self._build_tree()
        self.recovery = Recovery(
            self.store,
            self.writer_client,
            {kind: links.rest for kind, links in self.venues.items()},
            self.credentials,
        )
        self.stopped = trio.Event()
        self.nursery: trio.Nursery | None = None
        """Where the running system's helpers run (set once it is up)."""
        self.stop_requested = False
        """A graceful stop was asked for (perhaps before the start was done)."""
        self._stop_asked = trio.Event()
        self.store_counts: dict[str, int] = {}
        """Active, completed and quarantined tasks in the store, refreshed now and then."""
        self.instance = ""
        """This instance's id, read from the store as the system starts (``run``)."""
        self.other_instances: dict[Symbol, list[OtherInstance]] = {}
        """Symbol → other Basis instances its venues' orders showed when it was added."""
        self.recent_fills: deque[FillOut] = deque(maxlen=RECENT_FILLS)
        """The newest fills the strategies of this run handed to the store, oldest first."""
        self.keeper: LeaseKeeper | None = None
        """This instance's leases in its cluster (``[cluster]``); ``None`` alone."""
        cluster = config.cluster
        if cluster is not None:
            assert isinstance(self.store, PostgresSource)
            self.keeper = LeaseKeeper(
                LeaseBook(self.store.dsn),
                cluster.name,
                cluster.capacity,
                tuple(config.symbols),
                cluster.lease_ttl_s,
                cluster.renew_s,
                self,
            )
            self.store.fence = self.keeper.epochs
            for links in self.venues.values():
                links.router.may_send = self._leased_order
        self.controls = Controls(self)
        """The operator's controls, one set for every way in (the status port, the
        dashboard): one lock, one set of paused symbols."""

    @property
    def quarantined(self) -> list[QuarantineRow]:
        """Records recovery could not restore or the venues contradict, with the reasons."""
        return self.recovery.quarantined

    # ------------------------------------------------------------------ the tree

    def links_of(self, symbol: Symbol) -> dict[Leg, VenueLinks]:
        """The venues ``symbol`` trades at, by leg."""
        return {leg: self.venues[kind] for leg, kind in self.config.pair_of(symbol).kinds.items()}

    def _build_tree(self) -> Supervisor:
        self.venues = {
            kind: self._venue_links(venue) for kind, venue in self.config.venues_in_use.items()
        }
        children = [ChildSpec("writer", self.writer.run, mailbox=self.writer_mailbox)]
        feeds = Supervisor(
            "feeds",
            [
                ChildSpec(feed.name, feed.run, labels={"venue": links.kind})
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
                    labels={"venue": links.kind},
                )
                for links in self.venues.values()
            ],
        )
        # Under a supervisor of its own, so that its failures are counted apart from
        # trading's. It needs only the writer, whose restarts it does not notice.
        alerts = Supervisor(
            "alerts",
            [ChildSpec("alert-actor", self.alert_actor.run, shutdown_timeout_s=SHUTDOWN_TIMEOUT_S)],
            intensity=Intensity(20, 60),
        )
        children += [
            feeds.child_spec(),
            routers.child_spec(),
            # After the routers (it reads balances through their clients), before the
            # strategies, which read their entry room from it.
            # Nothing of it is left to finish at a stop: cancelled at once.
            ChildSpec(self.risk.name, self.risk.run, shutdown_timeout_s=0.0),
            self.strategies_supervisor.child_spec(),
            alerts.child_spec(),
        ]
        if self.services:
            # Last: they show and control what the layers before them run. Temporary:
            # their giving up is not restarted nor counted against trading's restarts.
            services = Supervisor("services", self.services, intensity=SERVICES_INTENSITY)
            spec = services.child_spec(Restart.TEMPORARY)
            children.append(attrs.evolve(spec, entry=_services_entry(spec.entry)))
        return Supervisor("basis", children, strategy=RestartStrategy.ONE_FOR_ONE)

    def _from_env(self) -> dict[str, ApiCredentials]:
        missing = self.config.missing_credentials()
        if missing:
            raise ValueError(
                "the venues' API keys are not in the environment; missing: " + ", ".join(missing)
            )
        found = {}
        for kind, venue in self.config.venues_in_use.items():
            keys = venue.credentials()
            if keys is None:
                raise ValueError(f"[venues] names no environment variables for {kind}'s API keys")
            found[kind] = keys
        return found

    def _venue_links(self, venue: VenueConfig) -> VenueLinks:
        leg = Leg.SPOT if venue.kind in SPOT_VENUES else Leg.FUTURES
        rest = RestClient(venue.rest, timeout_s=venue.request_timeout_s)
        keys = self.credentials[venue.kind]
        symbols = self.config.symbols_at(venue.kind)
        # The lists strategies are appended to, shared with the system's.
        subscribers = {symbol: self.subscribers[symbol] for symbol in symbols}
        if leg is Leg.SPOT:
            spot = spot_venue(venue.kind)
            feed_codec: Any = spot.feed_codec(rest)
            router_codec: Any = spot.router_codec(keys)
            private: Any = spot.private_codec(keys)
        else:
            futures = futures_venue(venue.kind)
            feed_codec = futures.feed_codec(rest)
            # One [strategy] table: every contract at its futures_leverage.
            leverage = self.config.strategy.futures_leverage
            router_codec = futures.router_codec(keys, dict.fromkeys(symbols, leverage))
            private = None  # set below: it shares the router's rules
        chunks = [
            symbols[start : start + SYMBOLS_PER_CONNECTION]
            for start in range(0, len(symbols), SYMBOLS_PER_CONNECTION)
        ]
        # One pace for all of the venue's connections: its limit is per IP, not per socket.
        snapshot_pace = TokenBucket(feed_codec.snapshots_per_s, feed_codec.snapshots_per_s)
        feeds = [
            Feed(
                f"feed-{venue.kind}" + (f"-{n}" if len(chunks) > 1 else ""),
                feed_codec,
                venue.ws,
                {symbol: subscribers[symbol] for symbol in chunk},
                stale_after_s=venue.stale_after_s,
                live_within_s=venue.live_within_s,
                rotate_after_s=venue.rotate_after_s,
                depth=venue.depth,
                book_levels=self.config.risk.book_levels,
                fetch_snapshot=feed_codec.fetch_snapshot,
                snapshot_pace=snapshot_pace,
            )
            for n, chunk in enumerate(chunks, start=1)
        ]
        router = Router(
            f"router-{venue.kind}",
            router_codec,
            rest,
            self.owners,
            subscribers,
            private=private,
            ws_url=venue.ws,
            rules_refresh_s=venue.rules_refresh_s,
            journal=self.writer_client.order_event,
            on_balance_refused=functools.partial(self.risk.balance_refused, leg, venue.kind),
        )
        if leg is Leg.FUTURES:
            router.private = futures.private_codec(
                keys, venue.user_id, router.rules, router_codec.positions
            )
            router.on_position = self.risk.position_pushed
            router.funding = FundingBook(
                f"funding-{venue.kind}",
                futures.funding_book_codec(keys),
                rest,
                subscribers,
                poll_s=venue.funding_poll_s,
            )
            contract_rules = router.rules

            async def read(symbol: Symbol) -> Any:
                rules = contract_rules[symbol]
                return await futures.read_position(rest, keys, symbol, rules, time.time())

            router.position_watch = PositionWatch(
                f"positions-{venue.kind}",
                read,
                self._futures_holdings,
                router.busy,
                self.owners,
                router.rules,
                symbols,
                check_every_s=venue.position_check_s,
                acquire=router.query_bucket.acquire,
                last_fill=router.last_fill,
                read_after_write_s=router.visibility.read_after_write_s,
                on_read=self.risk.position_pushed,
            )
        return VenueLinks(venue.kind, leg, rest, feeds, router, Mailbox(router.name, capacity=1024))

    def _futures_holdings(self, symbol: Symbol) -> tuple[Holding, ...]:
        """What the strategies trading ``symbol`` hold on its futures leg, now."""
        return tuple(
            holding_of(handle.actor.ctx)
            for handle in self.strategies.values()
            if handle.symbol == symbol
        )

    # ---------------------------------------------------------------- strategies

    async def _refuse_if_held(self, symbol: Symbol) -> None:
        held = await self.recovery.held(symbol)
        if held is not None:
            raise SymbolQuarantined(
                f"{symbol} is quarantined (task {held.task_id}: {held.reason}); "
                f"see basis quarantine list, then basis quarantine resolve {symbol}"
            )

    async def add_strategy(
        self,
        symbol: Symbol,
        params: ArbitrageParams | None = None,
        size_usdt: float | None = None,
        *,
        epoch: int | None = None,
    ) -> str:
        """Start a strategy on ``symbol``; returns its task id. Refused with
        :class:`SymbolLocked` while another live strategy trades it, and with
        :class:`SymbolQuarantined` while a quarantine holds it.

        ``epoch``: the cluster's lease of ``symbol`` this instance was granted. Its
        orders carry the epoch instead of the instance id, and the orders of earlier
        grants still open at the venues are settled (looked up, cancelled) before it
        trades: they are no other instance's to leave alone, but the symbol's own past."""
        if symbol not in self.subscribers:
            raise ValueError(
                f"{symbol} is not in this system's symbols ({', '.join(self.config.symbols)})"
            )
        await self._refuse_if_held(symbol)
        pair = self.config.pair_of(symbol)
        for handle in self.strategies.values():
            if handle.symbol == symbol and handle.actor.ctx.state.value != "stopped":
                raise SymbolLocked(
                    f"{symbol} on {pair.title} is already traded by task "
                    f"{handle.task_id}; stop it first"
                )
        strategy = self.config.strategy_of(symbol)
        restored = (
            await self.recovery.restored(symbol, pair.spot.kind, pair.futures.kind)
            if self.recover
            else None
        )
        await self._refuse_if_held(symbol)  # a record that did not restore holds it now
        # The venues' rules as the routers loaded them; until they have (a venue that could
        # not answer at start), what the restored record knew.
        known = restored.rules if restored is not None else LegRules()
        links = self.links_of(symbol)
        rules = LegRules(
            links[Leg.SPOT].router.rules.get(symbol, known.spot),
            links[Leg.FUTURES].router.rules.get(symbol, known.futures),
        )
        kinds = pair.kinds
        instance = self.instance if epoch is None else epoch_tag(epoch)
        grants = set() if epoch is None else await self._earlier_grants(symbol, epoch)
        others = await self.recovery.other_instances(symbol, rules, instance, kinds, grants)
        earlier = [o for other in others if other.instance in grants for o in other.open_orders]
        others = [other for other in others if other.instance not in grants]
        self.other_instances[symbol] = others
        if restored is not None:
            contradiction = await self.recovery.contradiction(
                restored, rules, shared_with=[other.instance for other in others]
            )
            shared = self.recovery.shared_positions.get(symbol)
            self.other_instances[symbol] = [
                msgspec.structs.replace(other, shared_position=shared) for other in others
            ]
            if contradiction is not None:
                await self.recovery.quarantine(restored, contradiction)
                raise ContradictsVenue(f"task {restored.task_id}: {contradiction}")
            # The operator's current parameters apply from now on (those of the task's own
            # type); the state is the store's, its orders from now on this instance's (an
            # older store's carry none).
            ctx = restored.evolve(
                params=params or self._params(restored.task_type, symbol),
                rules=rules,
                instance=instance,
            )
        else:
            task_type = task_type_of(symbol, self.config.funding_carry)
            ctx = new_context(
                self._task_id(symbol),
                symbol,
                now=time.time(),
                base_position_size_usdt=size_usdt or strategy.base_position_size_usdt,
                futures_leverage=strategy.futures_leverage,
                params=params or self._params(task_type, symbol),
                rules=rules,
                spot_venue=pair.spot.kind,
                futures_venue=pair.futures.kind,
                instance=instance,
                task_type=task_type,
            )
        # The portfolio's risk mode, whatever the record says, before it decides anything.
        portfolio = self.risk.portfolio
        ctx = ctx.evolve(
            risk_mode=portfolio.mode,
            risk_reason=None if portfolio.mode is RiskMode.ACTIVE else portfolio.reason,
        )
        task_id = ctx.task_id
        self._used_ids.add(task_id)
        writer = self.writer_client

        async def save(changed: Any) -> None:
            writer.save(changed)

        routers = {leg: leg_links.router_mailbox.address for leg, leg_links in links.items()}
        actor = StrategyActor(
            ctx,
            routers,
            before_orders=writer.journal if self.keeper is None else self._journal_leased,
            on_change=save,
            entry_limits=self.risk.limits if self.keeper is None else self._leased_limits,
            decided=self.risk.decided,
            history=keeping_fills(writer.history, self.recent_fills),
            series=SeriesSampler(self.config.persistence.series_interval_s),
        )
        self.risk.decided(ctx)
        mailbox = Mailbox(f"strategy-{task_id}", capacity=1024)
        handle = StrategyHandle(task_id, symbol, actor, mailbox)
        self.strategies[task_id] = handle
        self.owners[task_id] = mailbox.address
        self.subscribers[symbol].append(mailbox.address)
        writer.save(ctx)
        try:
            await self.strategies_supervisor.add_child(
                ChildSpec(
                    handle.child_name,
                    actor.run,
                    restart=Restart.TRANSIENT,
                    mailbox=mailbox,
                    labels={"symbol": str(symbol), "task_id": task_id},
                )
            )
        except SupervisorNotRunning:
            # Not started: nothing may route to it, nor count it.
            self.subscribers[symbol].remove(mailbox.address)
            del self.owners[task_id]
            del self.strategies[task_id]
            self.risk.portfolio.forget(task_id)
            raise
        # Its connections' liveness now: a feed tells strategies only of its changes.
        for leg_links in links.values():
            for feed in leg_links.feeds:
                if symbol in feed.subscribers:
                    feed.tell_liveness(mailbox.address)
        # Whatever the restored record says, the store's health now.
        mailbox.address.put_latest(STORE_HEALTH_KEY, StoreHealth(time.time(), self.writer.failing))
        for leg, leg_links in links.items():
            rules_now = leg_links.router.rules.get(symbol)
            if rules_now is not None:
                await mailbox.send(RulesUpdate(time.time(), leg, rules_now))
        if restored is not None:
            await self.recovery.reconcile_in_flight(ctx, routers)
        if earlier:
            await self._settle_earlier_grants(symbol, earlier)
        log.info("task %s: trading %s", task_id, symbol)
        return task_id

    def _params(self, task_type: str, symbol: Symbol) -> ArbitrageParams:
        """The configured parameters of a task of ``task_type`` trading ``symbol``."""
        config = self.config
        return task_params(task_type, config.strategy_of(symbol), config.risk, config.funding_carry)

    def _store_health(self, failing: str | None) -> None:
        """Tell every strategy whether the store takes intents (the writer calls this)."""
        health = StoreHealth(time.time(), failing)
        for handle in self.strategies.values():
            with suppress(MailboxClosed):  # being removed: it decides nothing more
                handle.mailbox.address.put_latest(STORE_HEALTH_KEY, health)

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

    async def remove_strategy(self, task_id: str, *, flush: bool = True) -> None:
        """Stop a strategy's actor and forget it (its stored state stays); returns once
        its last snapshot is stored, so a strategy added for the symbol next sees it
        (``flush``; a strategy whose lease has ended has nothing left to store)."""
        handle = self._handle(task_id)
        # Unwired first: a feed or router must never offer to a closed mailbox.
        self.subscribers[handle.symbol].remove(handle.mailbox.address)
        del self.owners[task_id]
        await self.strategies_supervisor.remove_child(handle.child_name)
        del self.strategies[task_id]
        self.risk.portfolio.forget(task_id)
        if flush:
            await self.writer_client.flush()

    # ---------------------------------------------------------------- a cluster

    async def start_symbol(self, symbol: str, epoch: int) -> bool:
        """Take ``symbol`` over under lease ``epoch`` (the lease keeper calls this): its
        task restored from the shared store, its earlier grants' orders settled. ``False``
        when the store could not be read for it: the keeper lets the lease lapse, to be
        granted again (to whichever instance claims it first) and taken over afresh. A
        symbol quarantined, or whose record the venues contradict, stays held and is not
        traded until the operator resolves it, as on an instance alone."""
        if self.stop_requested:
            return True  # stopping: the lease is handed back with the others
        try:
            await self.add_strategy(Symbol.parse(symbol), epoch=epoch)
        except (ContradictsVenue, SymbolQuarantined, SymbolLocked) as error:
            log.error("%s not taken over: %s", symbol, error)
            return True
        except STORE_FAILURES as error:
            log.error("%s not taken over: the store cannot be read (%s)", symbol, error)
            await self.stop_symbol(symbol, lease_over=True)
            return False
        except SupervisorNotRunning as error:
            if self.stop_requested:
                return True  # the stop came while it was being taken over
            # The strategies' supervisor is being restarted: let the lease lapse.
            log.error("%s not taken over: %s", symbol, error)
            await self.stop_symbol(symbol, lease_over=True)
            return False
        assert self.keeper is not None
        if self.keeper.epochs().get(symbol) != epoch:
            # Lost while it was being taken over (the venues took their time): the
            # keeper stopped nothing then, so it is stopped now.
            await self.stop_symbol(symbol, lease_over=True)
        return True

    async def stop_symbol(self, symbol: str, *, lease_over: bool) -> None:
        """Stop trading ``symbol`` (the lease keeper calls this)."""
        for handle in [h for h in self.strategies.values() if str(h.symbol) == symbol]:
            try:
                await self.remove_strategy(handle.task_id, flush=not lease_over)
            except SupervisorNotRunning:
                return  # the system is stopping: every strategy stops with it

    async def _earlier_grants(self, symbol: Symbol, epoch: int) -> set[str]:
        """The instance parts of client ids that name ``symbol``'s grants before ``epoch``,
        as the store recorded them: an instance alone on the same account, whose id may
        read as an epoch, is never taken for one."""

        def read() -> set[int]:
            with self.store.reading() as store:
                assert isinstance(store, PostgresStore)
                return store.lease_epochs(str(symbol))

        return {epoch_tag(e) for e in await trio.to_thread.run_sync(read) if e < epoch}

    async def _journal_leased(self, ctx: ArbitrageContext, orders: Sequence[Order]) -> None:
        """The journal, and the lease checked again on this instance's clock once it is
        stored: a decision journaled as its lease ended here sends nothing."""
        assert self.keeper is not None
        await self.writer_client.journal(ctx, orders)
        if not self.keeper.holds(str(ctx.symbol)):
            raise LeaseLost(f"{ctx.symbol}: its lease ended as task {ctx.task_id} journaled")

    def _leased_order(self, order: Order) -> str | None:
        """Why ``order`` may not leave now: its symbol's lease has ended here (checked by
        the routers right before each attempt, retries included)."""
        assert self.keeper is not None
        if self.keeper.holds(str(order.symbol)):
            return None
        return f"the lease of {order.symbol} has ended on this instance"

    def _leased_limits(self, ctx: ArbitrageContext) -> EntryLimits:
        """No entry on a symbol whose lease is not being renewed."""
        assert self.keeper is not None
        if not self.keeper.may_enter(str(ctx.symbol)):
            why = self.keeper.lame or "not held"
            return EntryLimits(0.0, f"the lease of {ctx.symbol} is not renewed ({why})")
        return self.risk.limits(ctx)

    async def _settle_earlier_grants(self, symbol: Symbol, orders: Sequence[ForeignOrder]) -> None:
        """Hand each order of the symbol's earlier grants still open at the venues to its
        router, which looks it up and cancels it."""
        for order in orders:
            links = self.venues[order.venue]
            log.warning(
                "%s: order %s of an earlier lease is open at %s; cancelling it",
                symbol,
                order.client_id,
                order.venue,
            )
            command = ReconcileOrder(
                links.leg, order.client_id, symbol, order.venue_order_id or None
            )
            await links.router_mailbox.address.send(command)

    async def _count_other_instances(self) -> None:
        """Keep the portfolio counting what the cluster's other instances hold and have
        in flight, as the shared store shows it (every decision's snapshot is stored with
        its intents, before its orders leave), every ``OTHERS_EVERY_S``."""

        def read(ours: frozenset[str]) -> dict[str, Exposure]:
            with self.store.reading() as store:
                rows = store.tasks(active_only=True)
            found = {}
            for row in rows:
                ctx = None if row.task_id in ours else record_of(row)
                if ctx is not None:
                    found[row.task_id] = notional.exposure_of(ctx)
            return found

        while True:
            try:
                theirs = await trio.to_thread.run_sync(read, frozenset(self.strategies))
            except STORE_FAILURES as error:
                log.warning("the other instances' exposure could not be read: %s", error)
            else:
                self.risk.portfolio.set_others(theirs)
            await trio.sleep(OTHERS_EVERY_S)

    async def _count_store(self) -> None:
        """Refresh ``store_counts`` for status views, off the trio thread."""

        def count() -> dict[str, int]:
            with self.store.reading() as store:
                return store.counts()

        while True:
            try:
                self.store_counts = await trio.to_thread.run_sync(count)
            except STORE_FAILURES as error:
                # A database out of reach for a while: the counts shown stay the last read.
                log.warning("the store's tasks could not be counted: %s", error)
            await trio.sleep(STORE_COUNT_EVERY_S)

    async def _thin_series(self) -> None:
        """Thin the series older than ``[persistence] series_full_days`` to a point a
        minute, at the start and every hour (through the writer, like every write), a
        slice at a time: each slice is a request of its own, so the intents of orders
        wait behind one slice at most, never behind the whole hour."""
        keep_s = self.config.persistence.series_full_days * DAY_S
        while True:
            before = time.time() - keep_s
            removed = 0
            try:
                more = True
                while more:
                    thinned = await self.writer_client.thin_series(before)
                    removed += thinned.removed
                    more = thinned.more
            except STORE_FAILURES as error:
                # The series only grows meanwhile; nothing else depends on it.
                log.warning("the series could not be thinned (%s); trying again later", error)
            if removed:
                log.info(
                    "the series: %d points older than %g days thinned to one a minute",
                    removed,
                    keep_s / DAY_S,
                )
            await trio.sleep(SERIES_THIN_EVERY_S)

    async def cleanup(self, max_age_s: float) -> int:
        """Delete tasks that completed more than ``max_age_s`` ago, with their orders;
        returns how many. Active and quarantined records are kept."""
        return await self.writer_client.delete_completed(before=time.time() - max_age_s)

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
        ready = False
        try:
            self.instance, risk_mode = await self._wait_for_store()
            self.risk.restore(risk_mode)
            log.info("instance %s (data directory %s)", self.instance, self.data_dir)
            await self._check_futures_accounts()
            async with trio.open_nursery() as nursery:
                await nursery.start(self._run_root, nursery.cancel_scope)
                if self.keeper is not None:
                    # The cluster's symbols: each taken over as its lease is granted. The
                    # keeper hands them back once the tree has stopped (its helpers end).
                    await nursery.start(self.keeper.run)
                elif self.venues_are_new:
                    await self.recovery.abandon_previous()
                for symbol in self.config.symbol_list if self.keeper is None else ():
                    if self.stop_requested:
                        break
                    try:
                        await self.add_strategy(symbol)
                    except (ContradictsVenue, SymbolQuarantined) as error:
                        # The rest recovers and trades; this symbol waits for the operator.
                        log.error("%s not started: %s", symbol, error)
                    except SupervisorNotRunning:
                        if not self.stop_requested:
                            raise
                        break  # stopped while starting: what is not started stays so
                self.started.set()
                freeze_startup_objects()
                nursery.start_soon(self._count_store)
                if self.keeper is not None:
                    nursery.start_soon(self._count_other_instances)
                nursery.start_soon(self._thin_series)
                self.nursery = nursery
                task_status.started()
                ready = True
        finally:
            self.stopped.set()
        if not ready:
            # A stop (a signal, say) came before the start was done: the tree has stopped,
            # and whoever waited for it to be ready sees it stopped.
            task_status.started()

    async def _wait_for_store(self) -> tuple[str, RiskModeRow | None]:
        """The store's instance id and risk mode, once the store answers: a database that
        does not (yet) is waited for, as a venue would be, however long it takes, with
        the reason in the log; one that refuses (a wrong password, say) ends the start."""
        pause = STORE_RETRY_MIN_S
        while True:
            try:
                return await trio.to_thread.run_sync(self._read_instance)
            except StoreUnreachable as error:
                log.error("%s; trying again in %g s", error, pause)
                with trio.move_on_after(pause):
                    await self._stop_asked.wait()
                if self.stop_requested:
                    raise StoreError(f"stopped before the store answered: {error}") from None
            pause = min(pause * 2.0, STORE_RETRY_MAX_S)

    def _read_instance(self) -> tuple[str, RiskModeRow | None]:
        """The store's instance id (the store made it when it was created or upgraded),
        and the risk mode it keeps."""
        with self.store.reading() as store:
            return store.instance_id(), store.risk_mode()

    async def _read_balances(self, now: float) -> Any:
        accounts = [
            (links.leg, (kind, links.rest, self.credentials[kind]))
            for kind, links in self.venues.items()
        ]
        return await read_balances(
            [account for leg, account in accounts if leg is Leg.SPOT],
            [account for leg, account in accounts if leg is Leg.FUTURES],
            now,
        )

    async def _check_futures_accounts(self) -> None:
        """Refuse to start on a futures account Basis cannot trade: one in dual position
        mode its router does not switch to one-way, or not the account the config names
        (``AccountRefused``). A venue that cannot answer now is asked again later: by the
        router before it trades, and by the private stream before it subscribes."""
        for kind, links in self.venues.items():
            if links.leg is not Leg.FUTURES:
                continue
            keys = self.credentials[kind]
            futures = futures_venue(kind)
            try:
                # A router that switches the account to one-way reads the mode as it does:
                # read here too, it would only weigh on the venue's rate limit at each start.
                dual = (
                    not futures.switches_to_one_way
                    and (await futures.account(links.rest, keys, time.time())).in_dual_mode
                )
                await links.router.private.identify(links.rest, time.time())
            except WrongAccount as error:
                raise AccountRefused(str(error)) from None
            except VENUE_FAILURES as error:
                log.warning("the %s account cannot be checked yet: %s", kind, error)
                continue
            if dual:
                raise AccountRefused(futures.dual_mode_fix)

    async def _run_root(
        self, helpers: trio.CancelScope, *, task_status: Any = trio.TASK_STATUS_IGNORED
    ) -> None:
        await self.root.run(task_status=task_status)
        helpers.cancel()  # the tree has stopped: so does everything that served it

    def statistics(self) -> SystemStatistics:
        """Every actor's own statistics now, and the supervision tree's snapshot."""
        links = self.venues.values()
        depths = [(h.mailbox.name, len(h.mailbox)) for h in self.strategies.values()]
        depths += [(link.router_mailbox.name, len(link.router_mailbox)) for link in links]
        depths.append((self.writer_mailbox.name, len(self.writer_mailbox)))
        return SystemStatistics(
            mode=self.config.mode,
            started_at=self.started_at,
            tree=self.root.snapshot(),
            strategies=tuple(h.actor.statistics() for h in self.strategies.values()),
            feeds=tuple(feed.statistics() for link in links for feed in link.feeds),
            routers=tuple(link.router.statistics() for link in links),
            writer=self.writer.statistics(),
            mailbox_depths=tuple(depths),
            store_counts=dict(self.store_counts),
            quarantined=tuple(f"{q.task_id}: {q.reason}" for q in self.quarantined),
            held_symbols=tuple(
                (q.symbol, q.task_id or "", q.reason, q.ts)
                for q in self.quarantined
                if q.symbol is not None
            ),
            futures_positions={
                str(symbol): position
                for link in links
                if link.leg is Leg.FUTURES
                for symbol, position in link.router.codec.positions.items()
            },
            instance=self.instance,
            other_instances=tuple(o for found in self.other_instances.values() for o in found),
            alerts=self.alert_actor.statistics(),
            risk=risk_statistics(self.risk),
            symbols=tuple(str(symbol) for symbol in self.subscribers),
            recent_fills=tuple(self.recent_fills),
            cluster=None if self.keeper is None else self.keeper.statistics(),
        )

    def observation(self) -> Observation:
        """What the alert actor reads: ``/status``, and what each strategy holds."""
        # Only what alerts read of /status: its health signals and the feeds' connections,
        # not every task's status, which the alert actor would build twice a second.
        stats = self.statistics()
        return Observation(
            tuple(Signal(s.level, s.reason, s.key) for s in health_signals(stats, time.time())),
            tuple(FeedConnects(f.name, f.connects, f.detail) for f in stats.feeds),
            tuple(exposure_of(handle.actor.ctx) for handle in self.strategies.values()),
        )

    def request_stop(self) -> None:
        self.stop_requested = True
        self._stop_asked.set()
        self.alert_actor.system_stopping = True
        self.root.request_stop()

    async def aclose(self) -> None:
        for links in self.venues.values():
            await links.rest.aclose()
        # A PostgreSQL store's connection pools (the writer's, the readers', the leases')
        # are closed with the system; SQLite's connections close with each use.
        if isinstance(self.writer.store, PostgresStore):
            await trio.to_thread.run_sync(self.writer.store.close)
        if isinstance(self.store, PostgresSource):
            await trio.to_thread.run_sync(self.store.close)
        if self.keeper is not None:
            await trio.to_thread.run_sync(self.keeper.leases.close)


def _base36(value: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while value:
        value, digit = divmod(value, 36)
        text = digits[digit] + text
    return text or "0"


@asynccontextmanager
async def running(system: TradingSystem) -> AsyncIterator[TradingSystem]:
    """``system`` running for the block; stopped gracefully when the block ends."""
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(system.run)
            try:
                yield system
            finally:
                system.request_stop()
    finally:
        await system.aclose()


def _services_entry(entry: Any) -> Any:
    """``entry`` (the services supervisor's), saying at its giving up what is off."""

    async def run_services(*args: Any, **kwargs: Any) -> None:
        try:
            await entry(*args, **kwargs)
        except SupervisorGaveUp as error:
            log.error(
                "the services (the dashboard) are off until the next start, trading goes on: %s",
                error.reason,
            )
            raise

    return run_services
