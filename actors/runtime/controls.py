"""The operator's controls on a running system: pause and resume entries, add a
strategy for a symbol no live one trades, stop (flat or not), set the portfolio's risk
mode, and list and resolve quarantined symbols (``actors.runtime.quarantine``).

One set per system (``TradingSystem.controls``), shared by every way in (the status
port, the dashboard). Each action is carried out by the running instance, which holds
the data directory's lock, the venues' connections and the store's one writer; each
says who asked (``who``), and is logged and written to the store (``operator_actions``)
with who and what came of it, a refused one included. A pause stops new entries of the
strategies it reaches (exits go on) and stays in their records until resumed, across
restarts; symbols paused in this run start paused when an ``add`` or a resolution
starts them.

Resolutions: ``adopt`` and ``forget`` start the symbol trading at once (the adopted task,
or a new one); ``flatten`` unwinds both legs through the strategy's own exit, closes the
record and leaves the symbol at rest until the next start, so that no fresh entry
follows an unwind the operator asked for.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

import attrs
import trio

from actors.arbitrage.context import ArbitrageContext, ArbitrageState, LegRules
from actors.runtime.persistence.source import StoreSource
from actors.runtime.persistence.store import QuarantineRow
from actors.runtime.quarantine import (
    RESOLUTIONS,
    Holdings,
    QuarantinedSymbol,
    ResolutionRefused,
    adopted,
    flattening,
    report,
    venue_holdings,
)
from actors.runtime.recovery import stored_record
from actors.runtime.symbol_refusals import SymbolLocked, SymbolQuarantined
from actors.venues.rest import VENUE_FAILURES
from protocols.messages import OperatorAction
from protocols.model import Leg, RiskMode, Symbol

if TYPE_CHECKING:
    from actors.runtime.config import RuntimeConfig
    from actors.runtime.persistence.writer import WriterClient
    from actors.runtime.recovery import Recovery
    from actors.runtime.risk.actor import RiskActor
    from protocols.venue import ApiCredentials

log = logging.getLogger("basis.controls")

FLATTEN_WAIT_S = 60.0
"""How long a ``flatten`` resolution waits for both legs to close before it answers that
the unwind is still under way."""
STOP_POLL_S = 0.1


class ControlledSystem(Protocol):
    """What the controls use of the trading system (``actors.runtime.system``, which
    makes them: a protocol, so that neither module imports the other)."""

    config: RuntimeConfig
    store: StoreSource
    credentials: dict[str, ApiCredentials]
    """Each venue's keys, by kind."""
    instance: str
    venues_are_new: bool
    stop_requested: bool
    nursery: trio.Nursery | None
    subscribers: dict[Symbol, list[Any]]
    strategies: dict[str, Any]
    """Task id → ``StrategyHandle``."""
    venues: dict[str, Any]
    """Venue kind → ``VenueLinks``."""
    risk: RiskActor
    recovery: Recovery
    writer_client: WriterClient

    async def add_strategy(self, symbol: Symbol) -> str: ...

    def links_of(self, symbol: Symbol) -> dict[Leg, Any]: ...

    async def command(self, task_id: str, action: OperatorAction) -> None: ...

    def request_stop(self) -> None: ...


class ControlRefused(Exception):
    """The action cannot be carried out; the message says why and what to do. ``status``:
    the HTTP status it is answered with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@attrs.define(eq=False)
class Controls:
    system: ControlledSystem
    paused: set[Symbol] = attrs.field(factory=set)
    """Symbols paused in this run: a strategy started for one later starts paused."""
    stopping: bool = False
    _acting: trio.Lock = attrs.field(factory=trio.Lock)
    """One action at a time: two resolutions at once would both find the symbol held and
    both start a strategy on it."""

    # ----------------------------------------------------------- pause and resume

    async def pause(self, symbol: str | None, *, who: str) -> str:
        return await self._act("pause", symbol, who, self._pause)

    async def resume(self, symbol: str | None, *, who: str) -> str:
        return await self._act("resume", symbol, who, self._resume)

    async def _pause(self, symbol: str | None) -> str:
        symbols = self._symbols(symbol)
        self.paused.update(symbols)
        tasks = await self._command(symbols, OperatorAction.PAUSE)
        return f"paused {_names(symbols)}: no new entries, exits go on ({_tasks(tasks)})"

    async def _resume(self, symbol: str | None) -> str:
        symbols = self._symbols(symbol)
        self.paused.difference_update(symbols)
        tasks = await self._command(symbols, OperatorAction.RESUME)
        return f"resumed {_names(symbols)} ({_tasks(tasks)})"

    async def _command(self, symbols: list[Symbol], action: OperatorAction) -> list[str]:
        tasks = []
        for handle in list(self.system.strategies.values()):
            if handle.symbol in symbols and handle.actor.ctx.state is not ArbitrageState.STOPPED:
                await self.system.command(handle.task_id, action)
                tasks.append(handle.task_id)
        return tasks

    # ------------------------------------------------------------------------ add

    async def add(self, symbol: str, *, who: str) -> str:
        """Start a strategy for ``symbol``, one of this instance's that no live strategy
        trades (one stopped, or never started: quarantined then resolved elsewhere, or
        flattened); it starts paused if the symbol was paused in this run."""
        return await self._act("add", symbol, who, self._add)

    async def _add(self, text: str | None) -> str:
        [symbol] = self._symbols(text)
        if self.stopping or self.system.stop_requested:
            raise ControlRefused("the instance is stopping: add after the next start", 409)
        try:
            return f"{symbol}: {await self._started(symbol)}"
        except (SymbolLocked, SymbolQuarantined) as error:
            raise ControlRefused(str(error), 409) from None

    # ------------------------------------------------------------------ risk mode

    async def risk_mode(self, mode: RiskMode, reason: str | None, via: str, *, who: str) -> str:
        """Set the portfolio's risk mode for every strategy; ``active`` also lifts a
        tripped stop (its marks start from the P&L now)."""
        return await self._act(
            f"risk {_VERBS[mode]}", None, who, self._risk_mode, mode, reason, via
        )

    async def _risk_mode(self, _: str | None, mode: RiskMode, reason: str | None, via: str) -> str:
        risk = self.system.risk
        set_by = f"operator via {via}"
        if mode is RiskMode.ACTIVE:
            await risk.resume(set_by)
            return "risk mode active: entries allowed again (a tripped stop is lifted)"
        await risk.set_mode(mode, reason or f"{_VERBS[mode]} by the operator", set_by)
        if mode is RiskMode.REDUCING:
            return "risk mode reducing: no new entries, exits and corrections go on"
        return "risk mode halted: nothing new is placed, orders in flight are cancelled"

    # ------------------------------------------------------------------- stopping

    async def stop(self, flatten: bool, *, who: str) -> str:
        action = "stop --flatten" if flatten else "stop"
        return await self._act(action, None, who, self._stop, flatten)

    async def _stop(self, _: str | None, flatten: bool) -> str:
        system = self.system
        if system.nursery is None:
            raise ControlRefused("the system is not running", 409)
        if not flatten:
            system.request_stop()
            return "stopping; open positions are kept"
        if self.stopping:
            raise ControlRefused("already stopping: unwinding every position", 409)
        if system.risk.portfolio.mode is RiskMode.HALTED:
            # Halted places nothing, a closing order included: the unwind would never end.
            raise ControlRefused(
                "the portfolio is halted: nothing is placed; `basis risk resume` or "
                "`basis risk reduce` first",
                409,
            )
        self.stopping = True
        running = [
            h for h in system.strategies.values() if h.actor.ctx.state is not ArbitrageState.STOPPED
        ]
        for handle in running:
            await system.command(handle.task_id, OperatorAction.STOP)
        system.nursery.start_soon(self._stop_when_flat)
        return f"unwinding every position ({_tasks([h.task_id for h in running])}), then stopping"

    async def _stop_when_flat(self) -> None:
        strategies = self.system.strategies
        while any(h.actor.ctx.state is not ArbitrageState.STOPPED for h in strategies.values()):  # noqa: ASYNC110 - a strategy's state has no event to wait on
            await trio.sleep(STOP_POLL_S)
        log.warning("every position is unwound: stopping")
        self.system.request_stop()

    # ------------------------------------------------------------------ quarantine

    async def quarantine_list(self) -> list[QuarantinedSymbol]:
        """Each quarantined symbol: the record, what the venues hold now, why they differ."""
        system = self.system
        found = []
        for row in await self._held_rows():
            ctx = await self._stored(row.task_id)
            symbol = Symbol.parse(row.symbol or "")
            holdings, note = None, ""
            try:
                holdings = await self._holdings(symbol, ctx)
            except ControlRefused as error:
                note = str(error)
            if holdings is not None and system.venues_are_new:
                note = "the venues are this paper run's own: they hold nothing of the record's run"
            found.append(report(str(symbol), row.task_id, row.reason, row.ts, ctx, holdings, note))
        return found

    async def resolve(self, symbol: str, how: str, *, who: str) -> str:
        return await self._act(f"resolve --{how}", symbol, who, self._resolve, how)

    async def _resolve(self, text: str | None, how: str) -> str:
        if how not in RESOLUTIONS:
            raise ControlRefused(f"no resolution {how!r}; use one of {', '.join(RESOLUTIONS)}")
        if self.stopping:
            raise ControlRefused(
                "the instance is unwinding to stop: resolve after the next start", 409
            )
        [symbol] = self._symbols(text)
        row = next((r for r in await self._held_rows() if r.symbol == str(symbol)), None)
        if row is None:
            raise ControlRefused(f"{symbol} is not quarantined; basis quarantine list shows", 404)
        ctx = await self._stored(row.task_id)
        now = time.time()
        if how == "forget":
            await self._release(symbol, how, None)
            started = await self._start(symbol)
            return (
                f"{symbol}: the record of task {row.task_id} is dropped, the venues "
                f"untouched; {started}"
            )
        if ctx is None:
            raise ControlRefused(
                f"{symbol}: task {row.task_id}'s record does not restore, so nothing says what "
                "it held: close the position at the venues by hand, then resolve with --forget",
                409,
            )
        others = await self._other_instances(symbol, ctx)
        if others and how == "adopt":
            raise ControlRefused(
                f"{symbol}: other Basis instances trade it on this account ({others}), so the "
                "venues' position is not this record's alone: resolve with --flatten (which "
                "closes only the record's share) or close it by hand, then --forget",
                409,
            )
        holdings = await self._holdings(symbol, ctx)
        try:
            if how == "adopt":
                resolved = adopted(ctx, holdings, now)
            else:
                resolved = flattening(ctx, holdings, now, shared=bool(others))
        except ResolutionRefused as error:
            raise ControlRefused(f"{symbol}: {error}", 409) from None
        await self._release(symbol, how, resolved)
        if how == "adopt":
            positions = resolved.positions
            started = await self._start(symbol)
            return (
                f"{symbol}: task {ctx.task_id} adopts the venues' position (spot "
                f"{positions.spot.qty:g}, futures short {positions.futures.qty:g} "
                f"{symbol.base}); {started}"
            )
        if resolved.state is ArbitrageState.STOPPED:
            return (
                f"{symbol}: nothing to close at the venues; task {ctx.task_id}'s record is closed"
            )
        return await self._flatten(symbol, resolved)

    async def _release(self, symbol: Symbol, how: str, record: ArbitrageContext | None) -> None:
        """Resolve ``symbol``'s quarantine, and read it again so that what reports it (the
        health signal) sees it gone, whatever follows."""
        await self.system.writer_client.resolve_quarantine(str(symbol), how, record)
        await self.system.recovery.unresolved()

    async def _other_instances(self, symbol: Symbol, ctx: ArbitrageContext) -> str:
        """The other Basis instances trading ``symbol`` on this account, named ("" if none)."""
        system = self.system
        links = system.links_of(symbol)
        rules = LegRules(
            links[Leg.SPOT].router.rules.get(symbol, ctx.rules.spot),
            links[Leg.FUTURES].router.rules.get(symbol, ctx.rules.futures),
        )
        kinds = {leg: leg_links.kind for leg, leg_links in links.items()}
        others = await system.recovery.other_instances(symbol, rules, system.instance, kinds)
        return ", ".join(sorted({other.instance for other in others}))

    async def _flatten(self, symbol: Symbol, closing: ArbitrageContext) -> str:
        positions = closing.positions
        what = (
            f"selling {positions.spot.qty:g} {symbol.base} spot, buying back "
            f"{positions.futures.qty:g} short"
        )
        try:
            task_id = await self.system.add_strategy(symbol)
        except Exception as error:  # the venues moved again, or the system is stopping
            raise ControlRefused(f"{symbol}: the unwind did not start: {error}", 409) from None
        handle = self.system.strategies[task_id]
        with trio.move_on_after(FLATTEN_WAIT_S):
            while handle.actor.ctx.state is not ArbitrageState.STOPPED:  # noqa: ASYNC110 - a strategy's state has no event to wait on
                await trio.sleep(STOP_POLL_S)
            await self.system.writer_client.flush()
            return (
                f"{symbol}: flattened ({what}); task {task_id}'s record is closed; the symbol "
                "trades afresh from the next start"
            )
        return f"{symbol}: still flattening ({what}); basis status shows task {task_id}"

    async def _start(self, symbol: Symbol) -> str:
        """Trade ``symbol`` again in this run, as the store now has it."""
        try:
            return await self._started(symbol)
        except Exception as error:  # the venues moved again, or the system is stopping
            return f"not started again in this run: {error}"

    async def _started(self, symbol: Symbol) -> str:
        """Start a strategy for ``symbol``, paused if the symbol was paused in this run;
        what ``add_strategy`` refuses is raised."""
        task_id = await self.system.add_strategy(symbol)
        if symbol in self.paused:
            await self.system.command(task_id, OperatorAction.PAUSE)
            return f"task {task_id} started, paused"
        return f"task {task_id} trades it"

    async def _holdings(self, symbol: Symbol, ctx: ArbitrageContext | None) -> Holdings:
        links = self.system.links_of(symbol)
        rules = links[Leg.FUTURES].router.rules.get(symbol)
        if rules is None and ctx is not None:
            rules = ctx.rules.futures
        if rules is None or not rules.contract_size:
            raise ControlRefused(
                f"{symbol}: the futures venue's rules are not known yet; try again shortly", 503
            )
        keys = self.system.credentials
        spot, futures = links[Leg.SPOT], links[Leg.FUTURES]
        try:
            return await venue_holdings(
                (spot.kind, spot.rest, keys[spot.kind]),
                (futures.kind, futures.rest, keys[futures.kind]),
                symbol,
                rules,
                time.time(),
            )
        except VENUE_FAILURES as error:
            raise ControlRefused(f"the venues did not answer ({error}); try again", 503) from None

    # -------------------------------------------------------------------- helpers

    def _symbols(self, text: str | None) -> list[Symbol]:
        """The symbols ``text`` names (all of this instance's without it)."""
        known = list(self.system.subscribers)
        if text is None:
            return known
        try:
            symbol = Symbol.parse(text)
        except ValueError as error:
            raise ControlRefused(str(error)) from None
        if symbol not in known:
            raise ControlRefused(
                f"this instance does not trade {symbol}; it trades {_names(known)}", 404
            )
        return [symbol]

    async def _held_rows(self) -> list[QuarantineRow]:
        rows = await self.system.recovery.unresolved()
        return [row for row in rows if row.symbol is not None]

    async def _stored(self, task_id: str | None) -> ArbitrageContext | None:
        def read() -> ArbitrageContext | None:
            with self.system.store.reading() as store:
                return stored_record(store, task_id)

        return await trio.to_thread.run_sync(read)

    async def _act(
        self,
        action: str,
        symbol: str | None,
        who: str,
        carry_out: Callable[..., Awaitable[str]],
        *args: object,
    ) -> str:
        """Carry out ``action`` that ``who`` asked for, then log it and write it to the
        store with who and its result; one action at a time. An unexpected failure is
        recorded and answered with status 500."""
        async with self._acting:
            try:
                result = await carry_out(symbol, *args)
            except ControlRefused as error:
                await self._record(action, symbol, who, f"refused: {error}")
                raise
            except Exception as error:
                log.exception("operator: %s failed", action)
                await self._record(action, symbol, who, f"failed: {error!r}")
                raise ControlRefused(f"{action} failed: {error!r}; see the log", 500) from error
            await self._record(action, symbol, who, result)
            return result

    async def _record(self, action: str, symbol: str | None, who: str, result: str) -> None:
        log.warning("operator (%s): %s%s: %s", who, action, f" {symbol}" if symbol else "", result)
        await self.system.writer_client.operator_action(action, symbol, result, who)


_VERBS = {RiskMode.ACTIVE: "resume", RiskMode.REDUCING: "reduce", RiskMode.HALTED: "halt"}


def _names(symbols: list[Symbol]) -> str:
    return ", ".join(str(s) for s in symbols) or "no symbols"


def _tasks(task_ids: list[str]) -> str:
    return f"tasks {', '.join(task_ids)}" if task_ids else "no running task"
