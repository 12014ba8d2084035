"""The simulated venues' engine: a seeded market and matching venues, with no I/O.

``SimVenues`` is the entry point: built from a ``SimConfig`` and a start time, it holds the
``SimMarket`` (prices, books, funding), a ``SpotExchange`` and a ``FuturesExchange``
(orders, matching, balances, positions, ledgers, fault hooks). Time is passed in;
randomness comes from the config's seed. Wire servers call these synchronously and
forward the venues' events (``actors.sim.events``) to their private streams.
"""

from actors.sim.book import DepthProfile, SimBook, depth_diff
from actors.sim.config import (
    DEFAULT_SYMBOLS,
    FuturesVenueConfig,
    SimConfig,
    SpotVenueConfig,
    SymbolConfig,
)
from actors.sim.events import (
    BalanceChanged,
    FundingApplied,
    Listener,
    OrderUpdated,
    PositionChanged,
    TradeExecuted,
    VenueEvent,
)
from actors.sim.exchange import SimExchange
from actors.sim.faults import VenueFaults
from actors.sim.funding import FundingSettlement
from actors.sim.futures_exchange import FuturesExchange
from actors.sim.ledger import (
    FillExecuted,
    FundingSettled,
    Ledger,
    LedgerEntry,
    OrderAccepted,
    OrderFinished,
    OrderRefused,
)
from actors.sim.market import SimMarket
from actors.sim.price_process import PairPriceProcess, PriceProcessParams, touch
from actors.sim.records import (
    FinishReason,
    FundingPayment,
    FuturesAccount,
    PerpetualPosition,
    VenueFill,
    VenueOrder,
)
from actors.sim.spot_exchange import SpotExchange
from actors.sim.venues import SimVenues

__all__ = [
    "DEFAULT_SYMBOLS",
    "BalanceChanged",
    "DepthProfile",
    "FillExecuted",
    "FinishReason",
    "FundingApplied",
    "FundingPayment",
    "FundingSettled",
    "FundingSettlement",
    "FuturesAccount",
    "FuturesExchange",
    "FuturesVenueConfig",
    "Ledger",
    "LedgerEntry",
    "Listener",
    "OrderAccepted",
    "OrderFinished",
    "OrderRefused",
    "OrderUpdated",
    "PairPriceProcess",
    "PerpetualPosition",
    "PositionChanged",
    "PriceProcessParams",
    "SimBook",
    "SimConfig",
    "SimExchange",
    "SimMarket",
    "SimVenues",
    "SpotExchange",
    "SpotVenueConfig",
    "SymbolConfig",
    "TradeExecuted",
    "VenueEvent",
    "VenueFaults",
    "VenueFill",
    "VenueOrder",
    "depth_diff",
    "touch",
]
