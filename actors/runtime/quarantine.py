"""Quarantine: a record the venues contradict, its symbol held out of trading until the
operator resolves it, and what each resolution makes of the record.

Recovery quarantines a restored task whose positions the venues contradict
(:func:`disagreement`); the quarantine row names the symbol, and every later start skips
that symbol until the row is resolved. The operator resolves it on a running instance
(``basis quarantine resolve``), in one of three ways:

* ``adopt``: the venues' position becomes the record (:func:`adopted`). The futures short
  is taken as the venue holds it; of the spot coin, the record takes what hedges that
  short, and the rest is the account's other holdings, as the position check always
  treated them. Legs that do not hedge each other (less coin than the short, or a long
  futures position) are refused: that is for ``flatten``.
* ``flatten``: both legs are closed at the venues (:func:`flattening`): the spot coin the
  record held is sold, or what is held if less, and the short is bought back
  reduce-only, by the strategy's own exit; then the record is closed. When other Basis
  instances trade the symbol on the account, only the record's share of the short is
  bought back (``adopt`` is refused then: the position is not the record's alone).
* ``forget``: the record is dropped and the venues are not touched.

Pure functions, but for :func:`venue_holdings`, which asks the venues.
"""

from __future__ import annotations

import attrs
import msgspec

from actors.arbitrage.context import ArbitrageContext, ArbitrageState, Cycle, LegRules, Positions
from actors.venues.kinds import futures_venue, spot_venue
from actors.venues.rest import RestClient
from protocols.model import LegPosition, Symbol, VenueRules
from protocols.venue import ApiCredentials

RESOLUTIONS = ("adopt", "flatten", "forget")


class ResolutionRefused(Exception):
    """The resolution cannot be carried out as asked; the message says why and what to do."""


@attrs.frozen
class Holdings:
    """What the venues hold of one symbol now: the spot coin (free and locked) and the
    futures short, both in base units (the short negative if the account is long)."""

    spot_held: float
    futures_short: float


async def venue_holdings(
    spot: tuple[str, RestClient, ApiCredentials],
    futures: tuple[str, RestClient, ApiCredentials],
    symbol: Symbol,
    futures_rules: VenueRules,
    now: float,
) -> Holdings:
    """Ask the venues (each given as its kind, client and keys), as recovery's position
    check does."""
    spot_kind, spot_rest, spot_keys = spot
    held = await spot_venue(spot_kind).base_holdings(spot_rest, spot_keys, symbol, now)
    futures_kind, futures_rest, futures_keys = futures
    position = await futures_venue(futures_kind).read_position(
        futures_rest, futures_keys, symbol, futures_rules, now
    )
    return Holdings(held, -position.qty or 0.0)  # no position is 0, not the -0 of negating it


def disagreement(
    positions: Positions, holdings: Holdings, rules: LegRules, base: str
) -> str | None:
    """Why ``holdings`` contradict a record of ``positions``, or ``None``.

    Like is compared with like: the record's spot leg is what the account holds after
    fees and includes its dust. The spot account may hold more of the coin than the record
    (other holdings), never less; the futures short must match to within half a contract."""
    step = rules.spot.qty_step or 1e-12
    held, short = holdings.spot_held, holdings.futures_short
    if held < positions.spot.qty - step / 2:
        return f"the spot account holds {held:g} {base}, the record says {positions.spot.qty:g}"
    half_contract = (rules.futures.contract_size or 1e-12) / 2
    if abs(short - positions.futures.qty) > half_contract:
        return f"the futures short is {short:g} {base}, the record says {positions.futures.qty:g}"
    return None


def adopted(ctx: ArbitrageContext, holdings: Holdings, now: float) -> ArbitrageContext:
    """``ctx`` holding what the venues hold, to trade on from now (see the module's
    ``adopt``). The record's prices and fees stay: they are what the position cost, as
    far as anyone knows. Raises :class:`ResolutionRefused` for legs that do not hedge."""
    half_contract = (ctx.rules.futures.contract_size or 1e-12) / 2
    short = holdings.futures_short
    if short < -half_contract:
        raise ResolutionRefused(
            f"the futures account is long {-short:g} {ctx.symbol.base}, which no task of "
            "Basis holds: close it at the venue by hand, then resolve with --forget"
        )
    if short <= half_contract:
        # No short: no position to adopt; the coin held is the account's own. IDLE: the
        # first quotes take it to monitoring, or to paused if the record was paused.
        flat = ctx.evolve(positions=Positions(), cycle=Cycle(), position_opened_at=None)
        return _settled(flat, ArbitrageState.IDLE, now)
    record = ctx.positions
    base_fees = min(record.spot.base_fees, short)
    hedge = short - base_fees
    step = ctx.rules.spot.qty_step or 1e-12
    if holdings.spot_held < hedge - step / 2:
        raise ResolutionRefused(
            f"the venues' legs do not hedge each other (spot {holdings.spot_held:g}, "
            f"futures short {short:g} {ctx.symbol.base}): resolve with --flatten"
        )
    spot_price = record.spot.avg_price or record.futures.avg_price
    futures_price = record.futures.avg_price or record.spot.avg_price
    if not spot_price:
        raise ResolutionRefused(
            "the record knows no price for a position (it held none): resolve with --flatten"
        )
    positions = Positions(
        LegPosition(hedge, spot_price, record.spot.fees, base_fees),
        LegPosition(short, futures_price, record.futures.fees, 0.0),
    )
    holding = ctx.evolve(
        positions=positions, position_opened_at=ctx.position_opened_at or now, exit_reason=None
    )
    return _settled(holding, ArbitrageState.POSITION_OPEN, now)


def flattening(
    ctx: ArbitrageContext, holdings: Holdings, now: float, shared: bool = False
) -> ArbitrageContext:
    """``ctx`` set to close what the venues hold of it and stop (see the module's
    ``flatten``): its exit sells the spot coin the record held (what is held, if less) and
    buys back the short reduce-only, at the next quotes; once both are flat the strategy
    stops and its record is closed. With nothing to close, it is stopped at once.

    ``shared``: other Basis instances trade the symbol on this account, so the short
    beyond the record's is theirs: only the record's short is bought back."""
    short = holdings.futures_short
    half_contract = (ctx.rules.futures.contract_size or 1e-12) / 2
    if short < -half_contract:
        raise ResolutionRefused(
            f"the futures account is long {-short:g} {ctx.symbol.base}: a reduce-only buy "
            "cannot close it; close it at the venue by hand, then resolve with --forget"
        )
    record = ctx.positions
    sell = max(0.0, min(record.spot.qty, holdings.spot_held))
    buy_back = max(0.0, min(short, record.futures.qty) if shared else short)
    positions = Positions(
        msgspec.structs.replace(record.spot, qty=sell, base_fees=0.0),
        msgspec.structs.replace(record.futures, qty=buy_back),
    )
    closing = ctx.evolve(positions=positions, stop_requested=True)
    step = ctx.rules.spot.qty_step or 1e-12
    if sell < step / 2 and buy_back <= half_contract:
        return _settled(closing.evolve(positions=Positions()), ArbitrageState.STOPPED, now)
    closing = closing.evolve(
        exit_reason="operator", position_opened_at=ctx.position_opened_at or now
    )
    return _settled(closing, ArbitrageState.POSITION_OPEN, now)


def _settled(ctx: ArbitrageContext, state: ArbitrageState, now: float) -> ArbitrageContext:
    """``ctx`` in ``state`` with nothing in flight: how a resolved record starts again."""
    return ctx.evolve(
        state=state,
        active_orders={},
        deadline=None,
        overdue_count=0,
        imbalance_goal=None,
        correction_attempts=0,
        last_update=now,
    )


class QuarantinedSymbol(msgspec.Struct, frozen=True):
    """One quarantined symbol as ``basis quarantine list`` shows it."""

    symbol: str
    task_id: str | None
    reason: str
    """Why it was quarantined, as recovery found it."""
    since: float
    """When (Unix time)."""
    record_spot_qty: float | None
    """The spot coin the record holds; ``None`` if the record does not restore."""
    record_futures_qty: float | None
    """The futures short the record holds, in base units; likewise."""
    venue_spot_held: float | None = None
    """The spot coin the account holds now; ``None`` if the venues were not asked."""
    venue_futures_short: float | None = None
    """The futures short the account holds now, in base units; likewise."""
    note: str = ""
    """Why the venues were not asked, or what to bear in mind of their answer."""
    disagreement: str | None = None
    """Why what the venues hold now contradicts the record; ``None`` if it no longer does
    (or the venues were not asked)."""


def report(
    symbol: str,
    task_id: str | None,
    reason: str,
    since: float,
    ctx: ArbitrageContext | None,
    holdings: Holdings | None,
    note: str = "",
) -> QuarantinedSymbol:
    """What the record holds of ``symbol``, what the venues hold, and why they disagree."""
    positions = None if ctx is None else ctx.positions
    why = None
    if ctx is not None and holdings is not None:
        why = disagreement(ctx.positions, holdings, ctx.rules, ctx.symbol.base)
    return QuarantinedSymbol(
        symbol,
        task_id,
        reason,
        since,
        None if positions is None else positions.spot.qty,
        None if positions is None else positions.futures.qty,
        None if holdings is None else holdings.spot_held,
        None if holdings is None else holdings.futures_short,
        note,
        why,
    )
