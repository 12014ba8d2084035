"""A small, fully predictable venue pair for the simulator's tests.

One coin, ``COIN/USDT`` at 100 USDT, whose prices do not move unless a test moves them
(no volatility, no gap noise, no random dislocations), and books drawn without jitter:
five levels 0.1 USDT apart holding 1,000, 2,000, 4,000 ... USDT. Tests read the levels
from the book instead of restating them.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec

from actors.sim import (
    DepthProfile,
    FuturesVenueConfig,
    Ledger,
    OrderAccepted,
    OrderRefused,
    PriceProcessParams,
    SimConfig,
    SimVenues,
    SpotVenueConfig,
    SymbolConfig,
    VenueEvent,
    VenueFill,
    VenueOrder,
)
from protocols.model import Leg, Symbol, VenueRules
from protocols.venue import BookLevel

COIN = Symbol("COIN", "USDT")
T0 = 1_700_000_000.0  # between two 8-hour funding times (the next is 1_700_006_400)

STILL = PriceProcessParams(
    volatility_annual=0.0, gap_mean=0.0, gap_stdev=0.0, dislocations_per_hour=0.0
)
SPOT_RULES = VenueRules(qty_step=0.01, min_qty=0.01, min_notional=5.0, price_tick=0.01)
FUTURES_RULES = VenueRules(qty_step=0.1, price_tick=0.01, contract_size=0.1, min_contracts=1)
DEPTH = DepthProfile(
    levels=5, level_spacing_bps=10.0, top_notional_usdt=1_000.0, growth=2.0, jitter=0.0
)


def coin(process: PriceProcessParams = STILL, **overrides: Any) -> SymbolConfig:
    """The coin, its perpetual without a premium unless ``overrides`` give it one."""
    still = SymbolConfig(
        COIN, 100.0, SPOT_RULES, FUTURES_RULES, process, funding_mean=0.0, funding_stdev=0.0
    )
    return msgspec.structs.replace(still, **overrides)


def config(symbol: SymbolConfig | None = None, **overrides: Any) -> SimConfig:
    base = SimConfig(
        seed=7,
        symbols=(symbol or coin(),),
        spot=SpotVenueConfig(
            maker_fee=0.0002, taker_fee=0.0005, balances={"USDT": 100_000.0, "COIN": 100.0}
        ),
        futures=FuturesVenueConfig(balance_usdt=100_000.0),
        depth=DEPTH,
    )
    return msgspec.structs.replace(base, **overrides)


def venues(cfg: SimConfig | None = None) -> SimVenues:
    return SimVenues(cfg or config(), T0)


def asks(v: SimVenues, leg: Leg, symbol: Symbol = COIN) -> tuple[BookLevel, ...]:
    return v.market.book(symbol, leg).snapshot().asks


def bids(v: SimVenues, leg: Leg, symbol: Symbol = COIN) -> tuple[BookLevel, ...]:
    return v.market.book(symbol, leg).snapshot().bids


class Recorder:
    """A listener that keeps every event."""

    def __init__(self) -> None:
        self.events: list[VenueEvent] = []

    def __call__(self, event: VenueEvent) -> None:
        self.events.append(event)

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


# ------------------------------------------------------------- reading a ledger


def fills_of(ledger: Ledger, order: VenueOrder) -> list[VenueFill]:
    """Every fill of ``order``, oldest first."""
    return [f for f in ledger.fills(order.symbol) if f.venue_order_id == order.venue_order_id]


def refusals(ledger: Ledger) -> list[OrderRefused]:
    return [e for e in ledger.entries() if isinstance(e, OrderRefused)]


def sent_client_ids(ledger: Ledger) -> list[str]:
    """The client order id of every placement that reached the venue, accepted or
    refused, in arrival order: an id listed twice was sent twice."""
    sent = []
    for entry in ledger.entries():
        if isinstance(entry, OrderAccepted):
            client_id = entry.order.client_id
        elif isinstance(entry, OrderRefused):
            client_id = entry.client_id
        else:
            continue
        if client_id is not None:
            sent.append(client_id)
    return sent


def net_qty(ledger: Ledger, symbol: Symbol) -> float:
    """The base units the fills of ``symbol`` added up to: + bought, - sold."""
    return math.fsum(fill.signed_qty for fill in ledger.fills(symbol))
