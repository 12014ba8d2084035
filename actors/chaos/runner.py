"""A chaos run: the trading system in a process of its own, trading against simulated
venues served from this process, while a fault plan plays; then the invariants.

The trading process is ``basis run`` on a config made from the user's: the same symbols,
strategy and feed timings, ``live`` mode pointed at the simulated venues, crash injection
allowed on its status port. It is killed and started again (with recovery) when the plan
says so. Meanwhile this process:

- plays each fault at its moment (on the venues directly, or through the trading
  process's ``POST /faults/crash``, or with SIGKILL); a fault on the order path is armed
  on the venues and waits there for the placement it aims at, up to its deadline; what
  the venues do by themselves (auto-deleveraging, a price run towards a short's
  liquidation) waits for a short to be held; a balance shortfall withdraws USDT and pays
  it back; the operator's risk modes are set through ``POST /control/risk/...``;
- stirs the market (``actors.chaos.stir``): jumps each symbol's perpetual away from
  spot and, the next time round, back, so every symbol enters and exits while faults
  play, and resumes a strategy paused after flattening (as its operator would);
- samples ``/status``, ``/health`` and the process's memory;
- after each fault clears, measures how long the feeds took to be fresh again and the
  strategies to decide, and, once no fault is active, whether positions match the
  venues' ledgers within the settling period.

At the end every fault is cleared, the system settles, is stopped gracefully, and the
invariants (``actors.chaos.invariants``) are checked against the venues' ledgers, the
journal in the store and the decisions in the log.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import httpx
import msgspec
import tomli_w
import trio

from actors.chaos import invariants as inv
from actors.chaos.alerts import AlertInbox
from actors.chaos.plan import (
    BURST_S,
    FEED_FAULTS,
    LIQUIDATION_RUN_DISTANCES_PCT,
    ORDER_FAULTS,
    SCENARIOS,
    FaultKind,
    FaultStep,
    Timing,
    build_plan,
)
from actors.chaos.report import (
    ChaosReport,
    FaultRecord,
    OrderOutcomes,
    aim_held,
    recoveries,
    tally,
)
from actors.chaos.stir import STIR_SIZES, Stirring
from actors.runtime.ops.control_endpoints import CONTROL_TOKEN_ENV
from actors.runtime.ops.status import SystemStatus
from actors.runtime.persistence.store import Store
from actors.runtime.venue_config import VenueConfig
from actors.sim.aimed_faults import OrderFault, OrderFaultKind, OrderHit, OrderTarget
from actors.sim.config import SimConfig
from actors.sim.ledger import (
    Deleveraged,
    FillExecuted,
    LedgerEntry,
    Liquidated,
    OrderAccepted,
    OrderFinished,
    OrderRefused,
)
from actors.sim.records import AutoDeleverage, Liquidation, VenueFill
from actors.sim.servers import SERVERS, SimServers
from actors.sim.venue_server import VenueServer
from actors.sim.venues import leg_of
from actors.sim.views import SimUrls
from actors.system_config import SystemConfig
from actors.venues.kinds import FUTURES_VENUES, SPOT_VENUES, venue_of_kind
from protocols.messages import TradeRecord
from protocols.model import Leg, Symbol
from protocols.rules import FLOAT_TOLERANCE, at_least, min_order_usdt
from protocols.venue import InsufficientBalance, VenueError

log = logging.getLogger("basis.chaos")

STORE_FILE = "basis.db"
STATUS_EVERY_S = 0.25
MEMORY_EVERY_S = 1.0
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 60.0
RECOVERY_TIMEOUT_S = 30.0
KILL_WAIT_FOR_CYCLE_S = 5.0
"""A kill waits this long for a strategy to be mid-cycle, then kills anyway."""
MID_CYCLE = ("entering", "position_open", "exiting", "imbalanced")
CONNECTION_FAULTS = frozenset(
    {FaultKind.WS_DROP, FaultKind.WS_STALL, FaultKind.VENUE_DOWN, FaultKind.UPGRADE_NOTICE}
)
"""Faults that act on a venue's open websockets: each waits for one to be open."""
CONNECTION_WAIT_S = 5.0
"""How long such a fault waits for a websocket to be open before it plays on none."""
DEPTH_GAP_WAIT_S = 0.3
"""How long a depth gap is given to leave out a depth diff: the venues push them every
tick (0.1 s). Its recovery counts from when it was asked for, as before."""
_ORDER_FAULT_KINDS = {
    FaultKind.REJECTS: OrderFaultKind.REJECT,
    FaultKind.PARTIAL_FILLS: OrderFaultKind.PARTIAL_FILL,
    FaultKind.REST_TIMEOUT: OrderFaultKind.TIMEOUT,
    FaultKind.SERVER_ERRORS: OrderFaultKind.SERVER_ERROR,
    FaultKind.RATE_LIMITS: OrderFaultKind.RATE_LIMIT,
}


def key_env(kind: str) -> tuple[str, str]:
    """The environment variables that hold the simulated venue of ``kind``'s key and
    secret in a chaos run's trading process."""
    return f"BASIS_CHAOS_{kind.upper()}_KEY", f"BASIS_CHAOS_{kind.upper()}_SECRET"


_decode_status = msgspec.json.Decoder(SystemStatus).decode


def printed_status(output: Path) -> SystemStatus | None:
    """The status a trading process run with ``--json`` printed last to ``output`` as it
    ended (after a graceful stop, or a tree's giving up); ``None`` if it printed none (a
    SIGKILL leaves none)."""
    lines = output.read_text(encoding="utf-8").strip().splitlines()
    if not lines:
        return None
    try:
        return _decode_status(lines[-1])
    except msgspec.DecodeError:
        log.warning("chaos: %s holds no final status", output)
        return None


class ChaosFailed(Exception):
    """The run could not be carried out (not: an invariant failed)."""


@attrs.frozen
class ChaosOptions:
    scenarios: tuple[str, ...]
    duration_s: float
    seed: int
    data_dir: Path
    env: Mapping[str, str] = attrs.field(factory=dict)
    """Set in the trading process's environment beside this one's (runs that break it on
    purpose, side by side, each its own way)."""


def timing_of(config: SystemConfig) -> Timing:
    venues = config.venues_in_use.values()
    names = list(feed_prefixes(config))
    return Timing(
        stale_after_s=max(v.stale_after_s for v in venues),
        request_timeout_s=max(v.request_timeout_s for v in venues),
        # The stirring brings each symbol a premium, then a discount, in turn.
        cycle_s=2.0 * config.chaos.stir_every_s * len(config.symbol_list),
        spot_venues=tuple(name for name in names if leg_of(name) is Leg.SPOT),
        futures_venues=tuple(name for name in names if leg_of(name) is Leg.FUTURES),
        # Only a venue that sends a server-upgrade notice (Gate.io) is made to.
        upgrade_notices=tuple(
            name for name in names if hasattr(SERVERS[name], "send_upgrade_notice")
        ),
        order_venues=_arbitrage_venues(config, names),
    )


def _arbitrage_venues(config: SystemConfig, names: list[str]) -> tuple[str, ...] | None:
    """Of the venues ``names``, those a symbol trading the arbitrage trades at; ``None``
    when that is all of them."""
    carry = config.funding_carry
    traded = {
        venue_of_kind(kind).exchange
        for symbol in config.symbol_list
        if carry is None or not carry.runs(symbol)
        for kind in config.pair_of(symbol).kinds.values()
    }
    found = tuple(name for name in names if name in traded)
    return None if len(found) == len(names) else found


def feed_prefixes(config: SystemConfig) -> dict[str, str]:
    """The simulated venues ``config``'s symbols trade at, spot first, by name: how the
    names of the feeds reading each begin."""
    return {venue_of_kind(kind).exchange: f"feed-{kind}" for kind in config.venues_in_use}


@attrs.frozen
class _Outcome:
    """What a fault met (``hit``, as a person reads it), and whether that is what it
    aims at (``met``)."""

    hit: str
    met: bool
    order: OrderHit | None = None


FULL_BOOK_EVERY = 100
"""How many Gate.io order book updates apart a depth-keeping chaos run gets the whole book
(about every 10 s at the simulated venue's pace), unless the config says otherwise."""


def scenario_config(config: SystemConfig, scenarios: tuple[str, ...]) -> SystemConfig:
    """``config`` as the scenarios trade it: at a scenario's futures leverage, with the
    liquidation distances that go with it (``plan.LIQUIDATION_RUN_DISTANCES_PCT``)."""
    leverages = [SCENARIOS[name].futures_leverage for name in scenarios]
    chosen = [leverage for leverage in leverages if leverage is not None]
    if not chosen:
        return config
    reduce_pct, exit_pct = LIQUIDATION_RUN_DISTANCES_PCT
    risk = msgspec.structs.replace(
        config.risk,
        liquidation_reduce_distance_pct=reduce_pct,
        liquidation_exit_distance_pct=exit_pct,
    )
    strategy = msgspec.structs.replace(config.strategy, futures_leverage=max(chosen))
    return msgspec.structs.replace(config, strategy=strategy, risk=risk)


ENTRY_NEED_SLACK = 1.01
"""What one entry's leg needs beyond its notional (spot) or margin (futures): fees."""


def entry_need_usdt(config: SystemConfig, venue: str) -> float:
    """The free USDT one entry's leg at ``venue`` needs: the spot buy's notional, or the
    short's initial margin and the taker fee on its notional."""
    size = config.strategy.base_position_size_usdt
    if leg_of(venue) is Leg.SPOT:
        return size * ENTRY_NEED_SLACK
    return size / config.strategy.futures_leverage + size * (ENTRY_NEED_SLACK - 1.0)


def plan_for(config: SystemConfig, options: ChaosOptions) -> tuple[FaultStep, ...]:
    return build_plan(list(options.scenarios), options.seed, options.duration_s, timing_of(config))


async def run_chaos(config: SystemConfig, options: ChaosOptions) -> ChaosReport:
    """Play ``options``' scenarios against the system ``config`` describes; the report
    says whether every invariant held."""
    config = scenario_config(config, options.scenarios)
    plan = plan_for(config, options)
    depth = any(SCENARIOS[name].needs_depth for name in options.scenarios)
    sim_config = msgspec.structs.replace(config.simulated(), seed=options.seed)
    if depth and not sim_config.servers.gateio_full_book_every:
        # Gate.io may send the whole book at any time: books kept from depth meet it often.
        servers = msgspec.structs.replace(
            sim_config.servers, gateio_full_book_every=FULL_BOOK_EVERY
        )
        sim_config = msgspec.structs.replace(sim_config, servers=servers)
    forgets = [SCENARIOS[name].gateio_forgets_s for name in options.scenarios]
    if any(s is not None for s in forgets):
        futures = msgspec.structs.replace(
            sim_config.futures, forget_unfilled_after_s=min(s for s in forgets if s is not None)
        )
        sim_config = msgspec.structs.replace(sim_config, futures=futures)
    sim = SimServers(sim_config)
    inbox = AlertInbox()
    options.data_dir.mkdir(parents=True, exist_ok=True)
    async with trio.open_nursery() as nursery:
        urls = await nursery.start(sim.run)
        alerts_url = await nursery.start(inbox.serve)
        async with httpx.AsyncClient(timeout=5.0) as http:
            run = ChaosRun(config, options, sim, urls, http, depth, inbox, alerts_url)
            try:
                report = await run.play(plan)
            finally:
                await run.kill()
        nursery.cancel_scope.cancel()
    return report


@attrs.define(eq=False)
class _Incarnation:
    """One trading process."""

    number: int
    process: trio.Process
    launched_at: float
    stdout: Path
    last_status: SystemStatus | None = None


@attrs.define(eq=False)
class ChaosRun:
    config: SystemConfig
    options: ChaosOptions
    sim: SimServers
    urls: SimUrls
    http: httpx.AsyncClient
    depth: bool
    inbox: AlertInbox = attrs.Factory(AlertInbox)
    """Where the trading process's alerts arrive."""
    alerts_url: str | None = None
    """The inbox's URL; ``None``: the trading process sends no alerts, none are checked."""
    rng: random.Random = attrs.field(init=False)
    feeds: dict[str, str] = attrs.field(init=False)
    """How the names of the feeds reading each venue begin, by venue name."""
    port: int = attrs.field(init=False)
    config_path: Path = attrs.field(init=False)
    log_path: Path = attrs.field(init=False)
    current: _Incarnation | None = None
    incarnations: list[_Incarnation] = attrs.field(factory=list)
    exits: list[inv.ProcessExit] = attrs.field(factory=list)
    health: list[inv.HealthSample] = attrs.field(factory=list)
    memory: list[inv.MemorySample] = attrs.field(factory=list)
    checks: list[inv.PositionCheck] = attrs.field(factory=list)
    timeline: list[FaultRecord] = attrs.field(factory=list)
    outages: list[inv.DataOutage] = attrs.field(factory=list)
    active: int = 0
    """Faults on right now."""
    last_cleared: float = 0.0
    """When the latest-clearing fault so far cleared: a kill's restart may outlast faults
    played meanwhile, or they it, and positions settle only after the last of them."""
    phase_start: float = 0.0
    """Wall-clock time the fault phase began."""
    cold_start: tuple[float, float] | None = None
    """The first process: launched → every feed fresh, launched → every strategy deciding."""
    stirring: Stirring | None = None
    mode_switches: list[inv.ModeSwitch] = attrs.field(factory=list)
    modes_at_kills: list[inv.ModeAfterKill] = attrs.field(factory=list)
    shortfalls: list[inv.Shortfall] = attrs.field(factory=list)
    killing: trio.Lock = attrs.field(factory=trio.Lock, init=False)
    """Held from a kill to its process's restart: a kill planned sooner than the last
    restart took waits for it, rather than killing a process that is still starting."""

    control_token: str = attrs.field(init=False)
    """The trading process's control token: the run resumes flattened strategies."""

    def __attrs_post_init__(self) -> None:
        self.control_token = secrets.token_hex(16)
        self.rng = random.Random(f"{self.options.seed}:stir")
        self.feeds = feed_prefixes(self.config)
        self.port = free_port()
        self.config_path = self.options.data_dir / "chaos-run.toml"
        self.log_path = self.options.data_dir / "basis-stderr.log"
        self.config_path.write_text(
            run_config_toml(self.config, self.urls, self.port, self.depth, self.alerts_url),
            encoding="utf-8",
        )

    def _stirring(self) -> Stirring:
        self.stirring = Stirring(
            self.config.symbol_list,
            self.config.chaos.stir_every_s,
            self.sim,
            self.http,
            lambda symbol: self.port,
            self.control_token,
            lambda: self.current.last_status if self.current else None,
        )
        return self.stirring

    @property
    def settle_s(self) -> float:
        return self.config.chaos.settle_bound_s(self.config.venues_in_use.values())

    # ------------------------------------------------------------------ the run

    async def play(self, plan: tuple[FaultStep, ...]) -> ChaosReport:
        await self.start_system(recover=False)
        async with trio.open_nursery() as helpers:
            helpers.start_soon(self._measure_cold_start)
            helpers.start_soon(self._sample_status)
            helpers.start_soon(self._sample_memory)
            helpers.start_soon(self._stirring().run)
            self.phase_start = time.time()
            t0 = trio.current_time()
            async with trio.open_nursery() as faults:
                for step in plan:
                    await trio.sleep_until(t0 + step.at_s)
                    faults.start_soon(self._play_step, step, faults, helpers)
                await trio.sleep_until(t0 + self.options.duration_s)
            self._clear_all()
            await self._check_positions("the end of the faults", time.time(), final=True)
            helpers.cancel_scope.cancel()
        await self.stop_system()
        return self.report(plan)

    def _since_start(self, at: float) -> float:
        return at - self.phase_start

    async def _play_step(
        self, step: FaultStep, faults: trio.Nursery, measurements: trio.Nursery
    ) -> None:
        started = time.time()
        if step.kind in ORDER_FAULTS:
            outcome = await self._aim(step)
        elif step.kind in (FaultKind.ADL, FaultKind.LIQUIDATION_RUN):
            outcome = await self._move_short(step)
        elif step.kind is FaultKind.RISK_MODE:
            outcome = await self._set_mode(step.target)
        else:
            self.active += 1
            try:
                outcome = await self._apply(step)
            finally:
                self.active -= 1
        hit = outcome.hit
        if step.kind is FaultKind.KILL:
            cleared = self._launched_at()
        elif step.kind is FaultKind.DEPTH_GAP:
            cleared = started  # a one-off: the wait after it only saw it served
        else:
            cleared = time.time()
        if outcome.met:
            self.last_cleared = max(self.last_cleared, cleared)
        record = FaultRecord(
            step,
            self._since_start(started),
            self._since_start(cleared),
            hit,
            met=outcome.met,
            order=outcome.order,
        )
        index = len(self.timeline)
        self.timeline.append(record)
        log.info("chaos: %.2f s %s -> %s", record.started_s, step.describe(), hit or "done")
        if step.kind in (FaultKind.WS_STALL, FaultKind.VENUE_DOWN):
            self.outages.append(inv.DataOutage(step.target, started, cleared))
        if _interrupts_decisions(step) and not hit.startswith("not crashed"):
            measurements.start_soon(self._measure_recovery, index, cleared)
        if self.active == 0 and outcome.met:
            faults.start_soon(self._check_positions, f"{step.describe()}", self.last_cleared)

    def _launched_at(self) -> float:
        return self.current.launched_at if self.current else time.time()

    async def _apply(self, step: FaultStep) -> _Outcome:
        """Carry out one fault (not on the order path) until it clears; what it hit. A
        fault on a venue's feeds hits when it met a connection (or a depth diff to leave
        out), one on its lookups when it hid a lookup, a crash when an actor crashed."""
        kind = step.kind
        if kind is FaultKind.CRASH:
            hit = await self._crash(step.target)
            return _Outcome(hit, hit.startswith("crashed"))
        if kind is FaultKind.KILL:
            return _Outcome(await self._kill_mid_cycle(step.lasts_s), True)
        venue = self.sim.exchange(step.target)
        assert venue is not None, step.target
        if kind in CONNECTION_FAULTS:
            await self._until_connected(venue)
        met = 0
        hit = ""
        hidden = sum(venue.exchange.read_after_write.served().values())
        skipped = venue.wire_faults.injected["depth_skip"]
        if kind is FaultKind.WS_DROP:
            met = venue.drop_websockets()
            hit = f"{met} connection(s) dropped"
        elif kind is FaultKind.WS_STALL:
            met = len(venue.websockets.clients)
            hit = f"{met} connection(s) stalled"
            venue.stall_websockets(step.lasts_s)
        elif kind is FaultKind.VENUE_DOWN:
            met = venue.drop_websockets()
            hit = f"{met} connection(s) dropped"
            venue.refuse_connections(step.lasts_s)
        elif kind is FaultKind.DEPTH_GAP:
            venue.skip_depth_update(None)
        elif kind is FaultKind.UPGRADE_NOTICE:
            met = venue.send_upgrade_notice()
            hit = f"{met} connection(s) told"
        elif kind is FaultKind.BALANCE_SHORTFALL:
            return await self._shortfall(step)
        elif kind is FaultKind.READ_AFTER_WRITE:
            forget_s = venue.exchange.read_after_write.forget_unfilled_after_s
            venue.set_read_after_write(step.lag_s, forget_s)
        if step.lasts_s > 0:
            await trio.sleep(step.lasts_s)
        if kind is FaultKind.VENUE_DOWN:
            venue.refuse_connections(0.0)
        elif kind is FaultKind.DEPTH_GAP:
            await trio.sleep(DEPTH_GAP_WAIT_S)  # served with the next depth diffs pushed
            met = venue.wire_faults.injected["depth_skip"] - skipped
            hit = f"{met} depth diff(s) left out"
        elif kind is FaultKind.READ_AFTER_WRITE:
            venue.exchange.read_after_write.reset()
            met = sum(venue.exchange.read_after_write.served().values()) - hidden
            hit = f"{met} lookup(s) hidden"
        return _Outcome(hit, met > 0)

    def auto_deleverage(self, symbol: Symbol, contracts: int | None = None) -> AutoDeleverage:
        """Have the futures venue auto-deleverage ``contracts`` (``None``: all) of the
        position in ``symbol`` now, as Gate.io's ADL would; ``InvalidParameter`` when
        there is none to take."""
        return self.sim.auto_deleverage(symbol, contracts)

    def run_towards_liquidation(self, symbol: Symbol, share: float, seconds: float) -> float:
        """Run ``symbol``'s mark price ``share`` of the way (1: all of it, beyond 1: past
        it) from where it is to the futures position's liquidation price, over
        ``seconds``, spot along with it; returns the price aimed at. ``ValueError`` when
        nothing is held."""
        position = self.sim.venues.futures_of(symbol).position(symbol)
        if position.contracts == 0 or position.liq_price <= 0.0:
            raise ValueError(f"{symbol}: no futures position to run towards the liquidation of")
        target = position.mark_price + share * (position.liq_price - position.mark_price)
        self.sim.run_price(symbol, target, seconds)
        return target

    async def _held_short(self, venue: str, wait_s: float) -> tuple[Symbol, int] | None:
        """A symbol whose short futures venue ``venue`` holds, and its contracts (> 0),
        as soon as one is held within ``wait_s``; ``None`` when none was."""
        deadline = trio.current_time() + wait_s
        futures = self.sim.venues.futures_venues[venue]
        traded = [s for s in self.config.symbol_list if self.sim.venues.futures_of(s) is futures]
        while True:
            held = [
                (symbol, -futures.position(symbol).contracts)
                for symbol in traded
                if futures.position(symbol).contracts < 0
            ]
            if held:
                return self.rng.choice(held)
            if trio.current_time() >= deadline:
                return None
            await trio.sleep(0.05)

    async def _move_short(self, step: FaultStep) -> _Outcome:
        """Auto-deleverage ``step.fraction`` of a held short, or run its price that share
        of the way to its liquidation price, once a short is held."""
        held = await self._held_short(step.target, step.lasts_s)
        if held is None:
            return _Outcome(f"expired unmet after {step.lasts_s:.1f} s: no short held", False)
        symbol, contracts = held
        if step.kind is FaultKind.ADL:
            take = math.floor(contracts * step.fraction)
            try:
                adl = self.auto_deleverage(symbol, None if take >= contracts else max(1, take))
            except VenueError as error:  # closed meanwhile
                return _Outcome(f"not deleveraged: {error.message}", False)
            left = adl.position_contracts
            return _Outcome(
                f"deleveraged {adl.trade_contracts} of {contracts} contracts of {symbol} at "
                f"{adl.price:g}, {abs(left)} left",
                True,
            )
        # Only the liquidation watch may close the short meanwhile: the symbol is not
        # stirred, and its perpetual is held at the premium shorts are entered on (a
        # discount the last stir left would offer an exit); the run keeps that basis.
        quiet = self.stirring.quiet if self.stirring is not None else set()
        quiet.add(symbol)
        self.sim.dislocate(symbol, STIR_SIZES[0])
        position = self.sim.venues.futures_of(symbol).position(symbol)
        target = self.run_towards_liquidation(symbol, step.fraction, step.run_s)
        self.active += 1
        try:
            await trio.sleep(step.run_s)
        finally:
            self.active -= 1
            quiet.discard(symbol)
        return _Outcome(
            f"ran {symbol} from {position.mark_price:g} to {target:g} (its short's "
            f"liquidation price {position.liq_price:g}) over {step.run_s:g} s",
            True,
        )

    async def _shortfall(self, step: FaultStep) -> _Outcome:
        """Withdraw USDT from a venue down to ``step.fraction`` of what an entry's leg
        there needs, for ``step.lasts_s``, then pay it back."""
        need = entry_need_usdt(self.config, step.target)
        free = self.sim.free_usdt(step.target)
        moved = self.sim.transfer(step.target, -max(0.0, free - step.fraction * need))
        start = time.time()
        self.active += 1
        try:
            await trio.sleep(step.lasts_s)
        finally:
            self.active -= 1
            self.sim.transfer(step.target, -moved)
            self.shortfalls.append(inv.Shortfall(step.target, start, time.time()))
        return _Outcome(
            f"{-moved:.2f} USDT withdrawn, {free + moved:.2f} left (an entry's leg needs "
            f"{need:.2f}); paid back",
            moved < 0.0,
        )

    async def _set_mode(self, mode: str) -> _Outcome:
        """Set the portfolio's risk mode through the status port, as the operator would
        (not while a kill's restart is under way: the operator waits for it to be up)."""
        route = {"active": "resume", "reducing": "reduce", "halted": "halt"}[mode]
        async with self.killing:
            asked = time.time()
            try:
                reply = await self.http.post(
                    f"http://127.0.0.1:{self.port}/control/risk/{route}",
                    json={"reason": "chaos: the operator's switch", "via": "basis chaos"},
                    headers={"authorization": f"Bearer {self.control_token}"},
                )
            except httpx.HTTPError as error:
                self.mode_switches.append(inv.ModeSwitch(asked, None, mode))
                return _Outcome(f"not set: {error}", False)
        set_at = time.time() if reply.status_code == 200 else None
        self.mode_switches.append(inv.ModeSwitch(asked, set_at, mode))
        if set_at is None:
            return _Outcome(f"not set: {reply.status_code} {reply.text[:200]}", False)
        return _Outcome(f"set {mode}", True)

    async def _until_connected(self, venue: VenueServer) -> None:
        """Wait up to ``CONNECTION_WAIT_S`` for ``venue`` to have a websocket open (one
        just cut may be reconnecting)."""
        for _ in range(round(CONNECTION_WAIT_S / 0.05)):
            if venue.websockets.clients:
                return
            await trio.sleep(0.05)

    async def _aim(self, step: FaultStep) -> _Outcome:
        """Arm an order fault on its venue and wait until it hits or expires. It counts
        as on only while what it did plays out (a placement held unanswered, a burst)."""
        assert step.role is not None, step
        target = OrderTarget(step.target, step.role, step.arrival)
        fault = OrderFault(
            _ORDER_FAULT_KINDS[step.kind],
            error=InsufficientBalance if step.kind is FaultKind.REJECTS else None,
            fraction=step.fraction,
            hold_s=step.hold_s,
            retry_after_s=step.retry_after_s or 1.0,
            count=max(1, step.count),
        )
        order = await self.sim.aimed.arm(target, fault, step.lasts_s).outcome()
        if order is None:
            return _Outcome(f"expired unmet after {step.lasts_s:.1f} s", False)
        self.active += 1
        try:
            await trio.sleep(step.hold_s + BURST_S.get(step.kind, 0.0))
        finally:
            self.active -= 1
            venue = self.sim.exchange(step.target)
            assert venue is not None
            if step.kind is FaultKind.SERVER_ERRORS:
                venue.fail_requests(0)
            elif step.kind is FaultKind.RATE_LIMITS:
                venue.rate_limit_requests(0)
        return _Outcome(f"hit {order.describe()} after {order.after_s:.1f} s", True, order)

    def _clear_all(self) -> None:
        for venue in self.sim.servers.values():
            venue.clear_faults()
        self.sim.aimed.clear()

    async def _crash(self, kind: str) -> str:
        status = self.current.last_status if self.current else None
        if status is None:
            return "not crashed: the system was not up"
        running = [
            path.rsplit("/", 1)[-1]
            for path, child in status.tree.walk()
            if child.state.value == "running" and _actor_kind(path) == kind
        ]
        if not running:
            return f"not crashed: no {kind} running"
        actor = self.rng.choice(sorted(running))
        try:
            reply = await self.http.post(
                f"http://127.0.0.1:{self.port}/faults/crash", json={"actor": actor}
            )
        except httpx.HTTPError as error:
            return f"not crashed: {error}"
        if reply.status_code != 200:
            return f"not crashed: {reply.json().get('error', reply.text)}"
        return f"crashed {actor}"

    async def _kill_mid_cycle(self, down_s: float) -> str:
        async with self.killing:
            return await self._kill_and_restart(down_s)

    async def _kill_and_restart(self, down_s: float) -> str:
        deadline = trio.current_time() + KILL_WAIT_FOR_CYCLE_S
        state = "at rest"
        while trio.current_time() < deadline:
            status = self.current.last_status if self.current else None
            busy = [t.state for t in status.tasks if t.state in MID_CYCLE] if status else []
            if busy:
                state = busy[0]
                break
            await trio.sleep(0.05)
        before = await self._fetch_status()
        killed_at = time.time()
        await self.kill()
        await trio.sleep(down_s)
        await self.start_system(recover=True)
        after = await self._fetch_status()
        self.modes_at_kills.append(
            inv.ModeAfterKill(killed_at, _risk_mode(before), _risk_mode(after))
        )
        mode = _risk_mode(before)
        return f"killed with a strategy {state}{f', {mode}' if mode else ''}; restarted"

    # ----------------------------------------------------------- the process

    async def start_system(self, *, recover: bool) -> None:
        number = len(self.incarnations) + 1
        stdout = self.options.data_dir / f"run-{number}.out"
        command = [
            sys.executable,
            "-m",
            "actors.cli",
            "run",
            str(self.config_path),
            "--data-dir",
            str(self.options.data_dir),
            "--no-view",
            "--json",
            "--allow-crash-injection",
        ]
        if not recover:
            command.append("--no-recover")
        env = {
            **os.environ,
            **self.options.env,
            **self._keys(),
            CONTROL_TOKEN_ENV: self.control_token,
        }
        with self.log_path.open("ab") as stderr, stdout.open("wb") as out:
            process = await trio.lowlevel.open_process(
                command, stdout=out, stderr=stderr, stdin=subprocess.DEVNULL, env=env
            )
        incarnation = _Incarnation(number, process, time.time(), stdout)
        self.incarnations.append(incarnation)
        self.current = incarnation
        deadline = trio.current_time() + START_TIMEOUT_S
        while trio.current_time() < deadline:
            if process.poll() is not None:
                self._exited(incarnation, None)
                raise ChaosFailed(
                    f"the trading process exited with {process.returncode} while starting; "
                    f"its log: {self.log_path}"
                )
            status = await self._fetch_status()
            if status is not None and len(status.tasks) == len(self.config.symbols):
                return
            await trio.sleep(0.05)
        raise ChaosFailed(f"the trading process was not up within {START_TIMEOUT_S:g} s")

    def _keys(self) -> dict[str, str]:
        return venue_keys(self.sim.config)

    async def kill(self) -> None:
        incarnation = self.current
        if incarnation is None or incarnation.process.poll() is not None:
            return
        self.current = None
        incarnation.process.send_signal(signal.SIGKILL)
        await incarnation.process.wait()
        self._exited(incarnation, "kill")

    async def stop_system(self) -> None:
        incarnation = self.current
        if incarnation is None:
            return
        self.current = None
        incarnation.process.send_signal(signal.SIGTERM)
        with trio.move_on_after(STOP_TIMEOUT_S):
            await incarnation.process.wait()
        if incarnation.process.poll() is None:
            incarnation.process.kill()
            await incarnation.process.wait()
        self._exited(incarnation, "stop")

    def _exited(self, incarnation: _Incarnation, asked: str | None) -> None:
        """Records how ``incarnation`` ended, with the final status it printed if any."""
        gave_up: list[str] = []
        final = printed_status(incarnation.stdout)
        if final is not None:
            incarnation.last_status = final
            gave_up = final.tree.gave_up_anywhere()
        code = incarnation.process.returncode
        self.exits.append(inv.ProcessExit(incarnation.number, code, asked, gave_up))

    # -------------------------------------------------------------- sampling

    async def _fetch_status(self) -> SystemStatus | None:
        incarnation = self.current
        if incarnation is None:
            return None
        try:
            reply = await self.http.get(f"http://127.0.0.1:{self.port}/status")
        except httpx.HTTPError:
            return None
        if reply.status_code != 200 or self.current is not incarnation:
            return None
        status = _decode_status(reply.content)
        incarnation.last_status = status
        return status

    async def _sample_status(self) -> None:
        while True:
            await self._restart_if_ended()
            status = await self._fetch_status()
            if status is not None:
                try:
                    reply = await self.http.get(f"http://127.0.0.1:{self.port}/health")
                    health = reply.json()
                except (httpx.HTTPError, ValueError):
                    health = None
                if health is not None:
                    self.health.append(
                        inv.HealthSample(
                            time.time(),
                            bool(health["healthy"]),
                            str(health["reason"]),
                            status.tree.gave_up_anywhere(),
                            [health.key for health in status.health_signals],
                        )
                    )
            await trio.sleep(STATUS_EVERY_S)

    async def _restart_if_ended(self) -> None:
        """A trading process that ended without being asked to (its supervision tree gave
        up, say) is recorded and started again with recovery, as a service manager would."""
        incarnation = self.current
        if incarnation is None or incarnation.process.poll() is None:
            return
        self.current = None
        self._exited(incarnation, None)
        log.error(
            "chaos: the trading process ended by itself (exit %s); starting it again",
            incarnation.process.returncode,
        )
        await self.start_system(recover=True)

    async def _sample_memory(self) -> None:
        while True:
            incarnation = self.current
            if incarnation is not None:
                rss = _rss_mb(incarnation.process.pid)
                if rss is not None:
                    self.memory.append(inv.MemorySample(time.time(), incarnation.number, rss))
            await trio.sleep(MEMORY_EVERY_S)

    # ------------------------------------------------------------ measuring

    async def _check_positions(self, after: str, cleared_at: float, final: bool = False) -> None:
        """Wait up to the settling period for positions to match the venues. A check
        that another fault interrupts is dropped: the one after that fault covers it;
        the ``final`` one, after every fault was cleared, is never dropped."""
        deadline = cleared_at + self.settle_s
        mismatch = "the system did not answer"
        while True:
            if self.active == 0 or final:
                status = await self._fetch_status()
                if status is not None:
                    mismatch = self._mismatch(status)
                    if not mismatch:
                        settled = max(0.0, time.time() - cleared_at)
                        self.checks.append(inv.PositionCheck(after, cleared_at, settled, ""))
                        return
            elif time.time() < deadline:
                return  # another fault started: the check after it clears covers this one
            if time.time() >= deadline:
                self.checks.append(inv.PositionCheck(after, cleared_at, None, mismatch))
                return
            await trio.sleep(0.1)

    def _mismatch(self, status: SystemStatus) -> str:
        """How the system's positions differ from the venues' fills ("" when equal)."""
        venue = self.venue_positions()
        held: dict[str, list[float]] = {}
        for task in status.tasks:
            spot_short = held.setdefault(task.symbol, [0.0, 0.0])
            spot_short[0] += task.position_qty
            spot_short[1] += task.futures_qty
        for symbol in self.config.symbols:
            spot, short = venue.get(symbol, (0.0, 0.0))
            system_spot, system_short = held.get(symbol, [0.0, 0.0])
            if not _same(spot, system_spot) or not _same(short, system_short):
                return (
                    f"{symbol}: venues spot {spot:g} short {short:g}, system spot "
                    f"{system_spot:g} short {system_short:g}"
                )
        return ""

    def venue_positions(self) -> dict[str, tuple[float, float]]:
        """Per symbol: the spot holding and the futures short the venues' fills add up to,
        less the fees charged in the coin itself (a venue that takes its fee from what it
        gives), with what the futures venue closed by itself (liquidations,
        auto-deleveraging)."""
        found: dict[str, list[float]] = {}
        for name, exchange in self.sim.venues.exchanges.items():
            leg = 0 if leg_of(name) is Leg.SPOT else 1
            for entry in exchange.ledger.entries():
                if type(entry) is FillExecuted:
                    change: VenueFill | Liquidation | AutoDeleverage = entry.fill
                elif type(entry) is Liquidated:
                    change = entry.liquidation
                elif type(entry) is Deleveraged:
                    change = entry.deleverage
                else:
                    continue
                net = found.setdefault(str(change.symbol), [0.0, 0.0])
                net[leg] += inv.held(change) if type(change) is VenueFill else change.signed_qty
        return {symbol: (spot, -futures) for symbol, (spot, futures) in found.items()}

    async def _measure_recovery(self, index: int, cleared: float) -> None:
        """Fault cleared → the feeds it cut fresh again → every strategy deciding again;
        for the writer, which cuts no feed and stops no strategy: → the journal committing
        again."""
        record = self.timeline[index]
        step = record.step
        feeds = _feeds_hit(step, self.feeds)
        crashed = record.hit.removeprefix("crashed ") if step.target == "strategy" else None
        journal = step.kind is FaultKind.CRASH and step.target == "writer"
        fresh_at, decided_at = await self._recovered(feeds, cleared, crashed, journal)
        self.timeline[index] = msgspec.structs.replace(
            record,
            fresh_after_s=None if fresh_at is None or not feeds else fresh_at - cleared,
            decided_after_s=None if decided_at is None else decided_at - cleared,
        )

    async def _measure_cold_start(self) -> None:
        launched = self._launched_at()
        fresh_at, decided_at = await self._recovered(tuple(self.feeds.values()), launched)
        if fresh_at is not None and decided_at is not None:
            self.cold_start = (fresh_at - launched, decided_at - launched)

    async def _recovered(
        self,
        feeds: tuple[str, ...],
        since: float,
        only: str | None = None,
        journal: bool = False,
    ) -> tuple[float | None, float | None]:
        """When the feeds named by ``feeds`` were fresh again after ``since`` (``since``
        itself when none are named), and when the strategies (or only the one named
        ``only``) decided again after that, or with ``journal`` when the writer committed
        again; ``None`` for what did not happen in time."""
        fresh_at: float | None = None if feeds else since
        decided_at: float | None = None
        deadline = trio.current_time() + RECOVERY_TIMEOUT_S
        while trio.current_time() < deadline and decided_at is None:
            status = await self._fetch_status()
            if status is not None:
                if fresh_at is None:
                    fresh_at = _fresh_again(status, feeds, since)
                if fresh_at is not None and journal:
                    decided_at = _writing_again(status, since)
                elif fresh_at is not None:
                    decided_at = _deciding_again(status, max(fresh_at, since), only)
            await trio.sleep(0.02)
        return fresh_at, decided_at

    # -------------------------------------------------------------- the report

    def report(self, plan: tuple[FaultStep, ...]) -> ChaosReport:
        config = self.config
        ledgers: dict[str, tuple[LedgerEntry, ...]] = {
            name: venue.ledger.entries() for name, venue in self.sim.venues.exchanges.items()
        }
        end = time.time()
        found = inv.excursions(inv.leg_fills(ledgers), self._unhedged_threshold, end)
        venues = config.venues_in_use.values()
        bound = config.chaos.unhedged_bound_s(venues)
        moves = inv.venue_moves(ledgers)
        if moves:
            # A short the venue cut is seen at the latest by the next position check,
            # then the spot leg is sold down to match, which settles within settle_s.
            check_s = max(venue.position_check_s for venue in venues)
            bound = max(bound, check_s + self.settle_s)
        grace = config.strategy.entry_send_within_s + inv.STALE_GRACE_S
        alerts = config.alerts
        told, alert_delays = inv.alerts_follow_incidents(
            self.health, self.inbox.received, alerts.open_after_s, alerts.resolve_after_s
        )
        checked = [told] if self.alerts_url is not None else []
        results = [
            inv.orders_once(ledgers, self._journaled()),
            inv.positions_settled(self.checks, self.settle_s),
            inv.unhedged_bounded(found, bound),
            inv.unhedged_notional_bounded(
                found, inv.unhedged_notional_bound(bound, config.strategy.base_position_size_usdt)
            ),
            inv.no_stale_entries(
                ledgers, self._entry_decisions(), self.outages, self._entries_stop_s()
            ),
            inv.supervisors_held(self.health, self.exits),
            inv.memory_flat(
                self.memory, config.chaos.memory_allowance_mb, config.chaos.memory_growth_mb_per_h
            ),
            inv.no_entry_while_reducing(ledgers, self.mode_switches, grace),
            inv.mode_survives_kill(self.modes_at_kills),
            inv.no_liquidation(ledgers),
            inv.no_one_leg_entry_on_shortfall(
                ledgers,
                self.shortfalls,
                config.risk.balance_interval_s + grace,
                grace + inv.BALANCE_READ_S,
            ),
            inv.history_adds_up(*self._history()),
            *checked,
        ]
        statuses = [i.last_status for i in self.incarnations if i.last_status is not None]
        aim = aim_held(self.timeline, config.chaos.min_hit_share, config.chaos.min_aimed_faults)
        return ChaosReport(
            seed=self.options.seed,
            scenarios=list(self.options.scenarios),
            duration_s=self.options.duration_s,
            faults_by_kind=dict(Counter(step.kind.value for step in plan)),
            faults=tally(self.timeline),
            aim=aim,
            venue_faults_served={
                name: {
                    **venue.wire_faults.injected,
                    # Lookups the venue's read-after-write lag or forgetting hid.
                    **{k: n for k, n in venue.exchange.read_after_write.served().items() if n},
                }
                for name, venue in self.sim.servers.items()
            },
            reconnects=sum(max(0, f.connects - 1) for s in statuses for f in s.feeds),
            restarts=sum(child.restarts for s in statuses for _, child in s.tree.walk()),
            process_restarts=len(self.incarnations) - 1,
            ws_disconnects=sum(
                venue.wire_faults.injected["dropped_websocket"]
                for venue in self.sim.servers.values()
            ),
            kills=sum(1 for ended in self.exits if ended.asked == "kill"),
            orders=_outcomes(ledgers, statuses),
            max_unhedged_usdt=max((e.peak_usdt for e in found), default=0.0),
            max_unhedged_s=max((e.lasted_s for e in found), default=0.0),
            unhedged_bound_s=bound,
            recovery=recoveries(self.timeline),
            cold_start_fresh_s=self.cold_start[0] if self.cold_start else None,
            cold_start_decided_s=self.cold_start[1] if self.cold_start else None,
            position_checks=self.checks,
            invariants=results,
            timeline=sorted(self.timeline, key=lambda r: r.started_s),
            passed=all(r.passed for r in results) and aim.passed,
            alert_delays_s=alert_delays,
            risk_play=self._risk_play(moves),
        )

    def _risk_play(self, moves: list[Liquidation | AutoDeleverage]) -> dict[str, int]:
        """What the run played on the risk side, by what it was."""
        runs = [r for r in self.timeline if r.step.kind is FaultKind.LIQUIDATION_RUN and r.met]
        return {
            "auto-deleveragings": sum(1 for m in moves if type(m) is AutoDeleverage),
            "liquidations": sum(1 for m in moves if type(m) is Liquidation),
            "liquidation runs": len(runs),
            "balance shortfalls": len(self.shortfalls),
            "mode switches": sum(1 for m in self.mode_switches if m.set_at is not None),
            "kills while reducing or halted": sum(
                1 for k in self.modes_at_kills if k.before in ("reducing", "halted")
            ),
        }

    def _unhedged_threshold(self, symbol: str, price: float) -> float:
        return unhedged_threshold(self.sim, symbol, price)

    def _journaled(self) -> set[str]:
        store = Store(self.options.data_dir / STORE_FILE)
        try:
            return {o.client_id for row in store.tasks() for o in store.orders(row.task_id)}
        finally:
            store.close()

    def _history(self) -> tuple[list[TradeRecord], dict[tuple[str, int], float]]:
        """The store's cycle records, and its stored fills' fees by (task id, cycle)."""
        store = Store(self.options.data_dir / STORE_FILE)
        try:
            return store.cycles(), store.fill_fees()
        finally:
            store.close()

    def _entries_stop_s(self) -> float:
        """How long into a data outage an entry may still be sent: the strategy stops
        deciding once a connection has been silent for its liveness bound, and a leg
        decided just before is not sent after its send deadline."""
        live_s = max(venue.live_within_s for venue in self.config.venues_in_use.values())
        return live_s + self.config.strategy.entry_send_within_s

    def _entry_decisions(self) -> list[inv.EntryDecision]:
        decisions = []
        for path in sorted((self.options.data_dir / "logs").glob("basis.jsonl*")):
            for line in path.read_text(encoding="utf-8").splitlines():
                if '"event":"entry"' not in line:
                    continue
                try:
                    fields = json.loads(line)["fields"]
                    decisions.append(msgspec.convert(fields, inv.EntryDecision, strict=False))
                except (ValueError, KeyError, msgspec.ValidationError):
                    log.warning("chaos: an unreadable entry line in %s: %.200s", path, line)
        return decisions


# ------------------------------------------------------------------ helpers


def _risk_mode(status: SystemStatus | None) -> str | None:
    return status.risk.mode if status is not None and status.risk is not None else None


def _interrupts_decisions(step: FaultStep) -> bool:
    """Faults after which the strategies have to start deciding again."""
    return (
        step.kind in FEED_FAULTS
        or step.kind is FaultKind.KILL
        or (step.kind is FaultKind.CRASH and step.target in ("strategy", "writer"))
    )


def _feeds_hit(step: FaultStep, feeds: Mapping[str, str]) -> tuple[str, ...]:
    """Prefixes of the feeds a fault cuts off (none for a crash: only a kill restarts
    the feeds with the rest); ``feeds``: each venue's (:func:`feed_prefixes`)."""
    if step.kind in FEED_FAULTS:
        return (feeds[step.target],)
    if step.kind is FaultKind.KILL:
        return tuple(feeds.values())
    return ()


def _fresh_again(status: SystemStatus, prefixes: tuple[str, ...], since: float) -> float | None:
    """When the last of the feeds named by ``prefixes`` turned fresh after ``since``."""
    times = []
    for feed in status.feeds:
        if not feed.name.startswith(prefixes):
            continue
        if feed.state != "fresh" or feed.fresh_at is None or feed.fresh_at < since:
            return None
        times.append(feed.fresh_at)
    return max(times) if times else None


def _writing_again(status: SystemStatus, since: float) -> float | None:
    """When the writer, running again, last committed, if that was after ``since``."""
    writer = next((c for path, c in status.tree.walk() if path.endswith("/writer")), None)
    last = status.persistence.last_write_at
    if writer is None or writer.state.value != "running" or last is None or last < since:
        return None
    return last


def _deciding_again(status: SystemStatus, since: float, only: str | None) -> float | None:
    """When the last strategy (or only the one whose actor is named ``only``) made its
    first decision after ``since``."""
    times = [
        t.resumed_at
        for t in status.tasks
        if t.state != "stopped" and (only is None or only == f"strategy-{t.task_id}")
    ]
    if not times or any(t is None or t < since for t in times):
        return None
    return max(t for t in times if t is not None)


def _actor_kind(path: str) -> str | None:
    name = path.rsplit("/", 1)[-1]
    if name == "writer":
        return "writer"
    for kind in ("strategy", "router"):
        if name.startswith(f"{kind}-"):
            return kind
    return None


def _outcomes(
    ledgers: dict[str, tuple[LedgerEntry, ...]], statuses: list[SystemStatus]
) -> OrderOutcomes:
    accepted = refused = filled = partly = unfilled = 0
    for entries in ledgers.values():
        for entry in entries:
            kind = type(entry)
            if kind is OrderAccepted:
                accepted += 1
            elif kind is OrderRefused:
                refused += 1
            elif kind is OrderFinished:
                order = entry.order
                if order.filled_qty <= 0.0:
                    unfilled += 1
                elif at_least(order.filled_qty, order.qty):
                    filled += 1
                else:
                    partly += 1
    routers = [r for s in statuses for r in s.routers]
    return OrderOutcomes(
        venue_accepted=accepted,
        venue_filled=filled,
        venue_partly_filled=partly,
        venue_unfilled=unfilled,
        venue_refused=refused,
        routers_placed=sum(r.placed for r in routers),
        routers_rejected=sum(r.rejected for r in routers),
        unknown_resolved=sum(r.unknown_resolved for r in routers),
        rate_limited=sum(r.rate_limited for r in routers),
    )


def unhedged_threshold(sim: SimServers, symbol: str, price: float) -> float:
    """The least difference between ``symbol``'s legs that counts as unhedged at
    ``price``: the smaller of the venues' smallest orders (a difference below it cannot
    be traded away)."""
    parsed = Symbol.parse(symbol)
    spot_name, futures_name = sim.venues.pairs[parsed]
    spot = sim.venues.spot_venues[spot_name].rules(parsed)
    futures = sim.venues.futures_venues[futures_name].rules(parsed)
    return max(min(min_order_usdt(spot, price), min_order_usdt(futures, price)), 1e-6)


def venue_keys(sim: SimConfig) -> dict[str, str]:
    """The simulated venues' keys, by the environment variables :func:`key_env` names."""
    found = {}
    for kind in (*SPOT_VENUES, *FUTURES_VENUES):
        table = sim.venue_table(venue_of_kind(kind).exchange)
        key, secret = key_env(kind)
        found |= {key: table.api_key, secret: table.api_secret}
    return found


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=FLOAT_TOLERANCE, abs_tol=FLOAT_TOLERANCE)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _rss_mb(pid: int) -> float | None:
    """Resident memory of process ``pid`` in MB (Linux), ``None`` where it cannot be read."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError):
        return None
    return None


# ------------------------------------------------------------- the run config

_RUN_CONFIG_HEADER = "# Written by basis chaos: the trading process's config for one chaos run.\n"


def _without_none(table: dict[str, Any]) -> dict[str, Any]:
    """TOML has no null: an unset optional key is left out, which loads as unset."""
    return {key: value for key, value in table.items() if value is not None}


def run_config_toml(
    config: SystemConfig, urls: SimUrls, port: int, depth: bool, alerts_url: str | None = None
) -> str:
    """The trading process's config: the user's symbols, strategy and feed timings, in
    live mode against the simulated venues at ``urls`` (keys from :func:`key_env`); its
    alerts, with the user's thresholds, to the webhook at ``alerts_url`` alone."""
    at = config.venues_at(urls)
    served = config.venues_in_use

    def table(venue: VenueConfig) -> dict[str, Any]:
        key, secret = key_env(venue.kind)
        found = msgspec.to_builtins(venue) | {
            "api_key_env": key,
            "api_secret_env": secret,
            "depth": depth or venue.depth,
        }
        if venue.kind == "gateio_futures" and venue.kind in served:
            # The simulated Gate.io account's user id, which its private channels name.
            found["user_id"] = config.sim.futures.user_id
        return _without_none(found)

    venues: dict[str, Any] = {"spot": table(at.spot), "futures": table(at.futures)}
    if at.pairs:
        venues["pairs"] = [
            {
                "symbols": list(pair.symbols),
                "spot": table(pair.spot),
                "futures": table(pair.futures),
            }
            for pair in at.pairs
        ]
    document = {
        "mode": "live",
        "symbols": list(config.symbols),
        "status_every_s": config.status_every_s,
        "venues": venues,
        "strategy": _without_none(msgspec.to_builtins(config.strategy)),
        **(
            {}
            if config.funding_carry is None
            else {"funding_carry": _without_none(msgspec.to_builtins(config.funding_carry))}
        ),
        "risk": _without_none(msgspec.to_builtins(config.risk)),
        "http": {"port": port},
        "persistence": _without_none(msgspec.to_builtins(config.persistence)),
    }
    if alerts_url is not None:
        alerts = {
            key: value
            for key, value in _without_none(msgspec.to_builtins(config.alerts)).items()
            if key not in ("webhook", "telegram", "discord")
        }
        # Every window is checked against its alerts: none held back by the rate limit.
        alerts |= {"webhook": {"url": alerts_url}, "max_alerts_per_incident": 1_000_000}
        document["alerts"] = alerts
    return _RUN_CONFIG_HEADER + tomli_w.dumps(document)
