"""The simulated venues: a seeded market and matching venues, and their wire servers.

``SimVenues`` is the engine, with no I/O: built from a ``SimConfig`` and a start time, it
holds the ``SimMarket`` (prices, books, funding), a ``SpotExchange`` and a
``FuturesExchange`` (orders, matching, balances, positions, ledgers, fault hooks). Time
is passed in; randomness comes from the config's seed.

``SimServers`` puts it on the wire on 127.0.0.1: a MEXC server and a Gate.io server
(``VenueServer``), speaking the real venues' formats, that call the engine synchronously
and forward its events (``actors.sim.events``) to their private streams; a market timer;
fault injection; and a control API.
"""

from actors.sim.book import DepthProfile, SimBook
from actors.sim.config import (
    DEFAULT_SYMBOLS,
    FuturesVenueConfig,
    GateioRateLimits,
    MexcRateLimits,
    RateLimit,
    ServerConfig,
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
from actors.sim.servers import SimServers
from actors.sim.spot_exchange import SpotExchange
from actors.sim.venue_server import VenueFaultsView, VenueServer
from actors.sim.venues import SimVenues
from actors.sim.views import SimUrls
from actors.sim.wire_faults import WireFaultsView

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
    "GateioRateLimits",
    "Ledger",
    "LedgerEntry",
    "Listener",
    "MexcRateLimits",
    "OrderAccepted",
    "OrderFinished",
    "OrderRefused",
    "OrderUpdated",
    "PairPriceProcess",
    "PerpetualPosition",
    "PositionChanged",
    "PriceProcessParams",
    "RateLimit",
    "ServerConfig",
    "SimBook",
    "SimConfig",
    "SimExchange",
    "SimMarket",
    "SimServers",
    "SimUrls",
    "SimVenues",
    "SpotExchange",
    "SpotVenueConfig",
    "SymbolConfig",
    "TradeExecuted",
    "VenueEvent",
    "VenueFaults",
    "VenueFaultsView",
    "VenueFill",
    "VenueOrder",
    "VenueServer",
    "WireFaultsView",
    "touch",
]
