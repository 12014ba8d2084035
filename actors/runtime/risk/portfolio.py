"""The portfolio: every strategy's exposure, the venues' free balances, the stops' state
and the risk mode. Strategies read their entry room from it and publish their exposure
to it synchronously (trio is cooperative: no other strategy decides in between, so two
can never both take the same room)."""

from __future__ import annotations

import time
from collections.abc import Mapping

import attrs

from actors.arbitrage.context import ArbitrageContext
from actors.arbitrage.exposure import exposure_of
from actors.risk.caps import Balances, Exposure, ExposureTotals, entry_room
from actors.risk.config import RiskConfig
from actors.risk.limits import EntryLimits
from actors.risk.stops import StopsState
from protocols.model import Leg, RiskMode

NOT_SET = "never set: active from the start"
NO_BALANCES = Balances()


@attrs.frozen
class Spending:
    """What one more USDT of a strategy's notional costs each venue's free balance."""

    spot_fee: float
    fut_fee: float
    leverage: float


@attrs.define(eq=False)
class Portfolio:
    config: RiskConfig
    totals: ExposureTotals = attrs.field(factory=ExposureTotals)
    polled: Balances | None = None
    """The venues' free balances as last read (``None`` before the first answer)."""
    polled_at: float | None = None
    poll_error: str | None = None
    """Why the last poll failed (the figures are then the last read), or ``None``."""
    refused: dict[str, tuple[float, int]] = attrs.field(factory=dict)
    """Venue → when (wall time) it refused an order for the balance and that refusal's
    number, until a reading begun after it: its free balance counts as spent meanwhile."""
    refusals: int = 0
    """Refusals for the balance so far: a reading begun at ``n`` answers those before."""
    _at_poll: dict[str, Exposure] = attrs.field(factory=dict)
    """Each strategy's exposure when the balances were read: what grew since is spent."""
    _spending: dict[str, Spending] = attrs.field(factory=dict)
    mode: RiskMode = RiskMode.ACTIVE
    reason: str = NOT_SET
    since: float = attrs.field(factory=time.time)
    set_by: str = "start"
    stops: StopsState = attrs.field(factory=StopsState)
    realized: dict[str, float] = attrs.field(factory=dict)
    """Each strategy's realised P&L by task id, those removed in this run included."""
    _others: frozenset[str] = frozenset()
    """Task ids in ``totals`` that the cluster's other instances trade (``set_others``)."""
    # A strategy reads its room on every quote while it looks for an entry; what it is
    # computed from (the totals, the balances read) is replaced, never changed in place,
    # so each result stands while those are the very same objects.
    _left: tuple[ExposureTotals, Balances | None, Balances | None] | None = None
    _limits: dict[str, tuple[ExposureTotals, Balances, Spending, EntryLimits]] = attrs.field(
        factory=dict
    )

    def publish(self, ctx: ArbitrageContext) -> bool:
        """A strategy's exposure after its decision; whether its realised P&L changed (a
        cycle closed)."""
        changed = self.realized.get(ctx.task_id) != ctx.realized_pnl_usdt
        self.realized[ctx.task_id] = ctx.realized_pnl_usdt
        spending = Spending(ctx.params.spot_fee, ctx.params.fut_fee, ctx.futures_leverage)
        if self._spending.get(ctx.task_id) != spending:
            self._spending[ctx.task_id] = spending
            self._left = None
        self.totals = self.totals.with_exposure(ctx.task_id, exposure_of(ctx))
        if ctx.task_id in self._others:  # taken over from another instance: ours now
            self._others = self._others - {ctx.task_id}
        return changed

    def set_others(self, exposures: Mapping[str, Exposure]) -> None:
        """The exposure of the tasks the cluster's other instances trade, by task id, as
        the shared store last showed them (their positions and the orders their intents
        put in flight): the caps and the balances count them with this instance's own.
        A task this instance trades itself is never replaced by what the store says."""
        ours = {t: e for t, e in self.totals.by_task.items() if t not in self._others}
        theirs = {t: e for t, e in exposures.items() if t not in ours}
        if theirs == {t: self.totals.by_task[t] for t in self._others}:
            return
        self._others = frozenset(theirs)
        self.totals = ExposureTotals.of({**ours, **theirs})

    def forget(self, task_id: str) -> None:
        self.totals = ExposureTotals.of(
            {task: exposure for task, exposure in self.totals.by_task.items() if task != task_id}
        )
        self._spending.pop(task_id, None)
        self._limits.pop(task_id, None)

    def balances_read(self, balances: Balances, now: float, begun_at: int | None = None) -> None:
        """The balances read by a request begun when ``refusals`` was ``begun_at``
        (``None``: after every refusal): a refusal since is not answered by them (they
        may predate what the venue refused)."""
        self.refused = {
            venue: refusal
            for venue, refusal in self.refused.items()
            if begun_at is not None and refusal[1] >= begun_at
        }
        self.polled = _spent(balances, self.refused)
        self.polled_at = now
        self.poll_error = None
        self._left = None
        self._at_poll = dict(self.totals.by_task)

    def balance_refused(self, venue: str, leg: Leg, now: float) -> None:
        """``venue`` refused an order of ``leg`` for the balance: its free balance is
        spent until the next reading, whatever the last one said."""
        self.refused[venue] = (now, self.refusals)
        self.refusals += 1
        polled = self.polled or NO_BALANCES
        if leg is Leg.SPOT:
            polled = Balances({**polled.spot_free_usdt, venue: 0.0}, polled.futures_available_usdt)
        else:
            polled = Balances(polled.spot_free_usdt, {**polled.futures_available_usdt, venue: 0.0})
        # A new object, never the old one changed: the room kept for it is stale.
        self.polled = _spent(polled, self.refused)

    def balances_now(self) -> Balances | None:
        """The balances as last read, less what strategies' orders filled since have
        spent: the notional and its fee on spot, the margin and the fee on futures (what
        orders still in flight will spend :func:`entry_room` takes off)."""
        left = self._left
        if left is not None and left[0] is self.totals and left[1] is self.polled:
            return left[2]
        now = self._balances_now()
        self._left = (self.totals, self.polled, now)
        return now

    def _balances_now(self) -> Balances | None:
        polled = self.polled
        if polled is None:
            return None
        spot = dict(polled.spot_free_usdt)
        futures = dict(polled.futures_available_usdt)
        for task_id, now in self.totals.by_task.items():
            then = self._at_poll.get(task_id)
            rates = self._spending.get(task_id, Spending(0.0, 0.0, 1.0))
            # What was filled since: orders still in flight are taken off by entry_room.
            grown_spot = max(_held(now, Leg.SPOT) - (_held(then, Leg.SPOT) if then else 0.0), 0.0)
            grown_futures = max(
                _held(now, Leg.FUTURES) - (_held(then, Leg.FUTURES) if then else 0.0), 0.0
            )
            if now.spot_venue in spot:
                spot[now.spot_venue] -= grown_spot * (1.0 + rates.spot_fee)
            if now.futures_venue in futures:
                futures[now.futures_venue] -= grown_futures * (
                    1.0 / max(rates.leverage, 1.0) + rates.fut_fee
                )
        return Balances(spot, futures)

    def limits_for(self, ctx: ArbitrageContext) -> EntryLimits:
        """What the caps and the balances leave for ``ctx``'s strategy's next entry."""
        totals = self.totals
        balances = self.balances_now() or NO_BALANCES
        spending = self._spending.get(ctx.task_id)
        exposure = totals.by_task.get(ctx.task_id)
        if exposure is None or spending is None:  # not published yet: nothing to keep
            return self._room(totals, balances, exposure_of(ctx), ctx)
        kept = self._limits.get(ctx.task_id)
        if kept is not None and kept[0] is totals and kept[1] is balances and kept[2] is spending:
            return kept[3]
        limits = self._room(totals, balances, exposure, ctx)
        self._limits[ctx.task_id] = (totals, balances, spending, limits)
        return limits

    def _room(
        self, totals: ExposureTotals, balances: Balances, exposure: Exposure, ctx: ArbitrageContext
    ) -> EntryLimits:
        for venue in (exposure.spot_venue, exposure.futures_venue):
            refusal = self.refused.get(venue)
            if refusal is not None:
                when = time.strftime("%H:%M:%S UTC", time.gmtime(refusal[0]))
                return EntryLimits(
                    0.0,
                    f"the {venue} refused an order for the balance at {when}; waiting for "
                    "its next reading",
                )
        return entry_room(
            totals,
            balances,
            exposure,
            self.config,
            ctx.params.spot_fee,
            ctx.params.fut_fee,
            ctx.futures_leverage,
        )


def _spent(balances: Balances, refused: dict[str, tuple[float, int]]) -> Balances:
    """``balances`` with every venue in ``refused`` at 0 on the leg it serves there."""
    if not refused:
        return balances
    return Balances(
        {v: 0.0 if v in refused else usdt for v, usdt in balances.spot_free_usdt.items()},
        {v: 0.0 if v in refused else usdt for v, usdt in balances.futures_available_usdt.items()},
    )


def _held(exposure: Exposure, leg: Leg) -> float:
    """What a leg holds, apart from its orders in flight (USDT)."""
    if leg is Leg.SPOT:
        return exposure.spot_usdt - exposure.spot_pending_usdt
    return exposure.futures_usdt - exposure.futures_pending_usdt
