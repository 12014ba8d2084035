"""What the simulated venues show of themselves: where they listen, what each account
holds, each venue's ledger and faults (the control API's answers)."""

from __future__ import annotations

import msgspec

from actors.sim.ledger import LedgerEntry
from actors.sim.records import FuturesAccount, PerpetualPosition
from actors.sim.venue_server import VenueFaultsView
from protocols.venue import Balance


class SimUrls(msgspec.Struct, frozen=True, omit_defaults=True):
    """Where the servers listen: the control API, and each venue served (``""`` for one
    that is not). REST URLs are origins (request paths carry the API's prefix, like
    ``/api/v3``); websocket URLs are complete."""

    mexc_rest: str = ""
    mexc_ws: str = ""
    gateio_rest: str = ""
    gateio_ws: str = ""
    control: str = ""
    binance_rest: str = ""
    binance_ws: str = ""
    binance_futures_rest: str = ""
    binance_futures_ws: str = ""

    def of(self, name: str) -> tuple[str, str]:
        """Venue ``name``'s REST origin and websocket URL (``ValueError`` if not served)."""
        rest, ws = getattr(self, f"{name}_rest", ""), getattr(self, f"{name}_ws", "")
        if not rest:
            raise ValueError(f"the simulated venues do not serve {name!r}")
        return rest, ws


class SpotHoldings(msgspec.Struct, frozen=True):
    balances: list[Balance]


class FuturesHoldings(msgspec.Struct, frozen=True):
    account: FuturesAccount
    positions: list[PerpetualPosition]


class Holdings(msgspec.Struct, frozen=True):
    """What the account holds on each venue served (``GET /positions``)."""

    mexc: SpotHoldings | None = None
    gateio: FuturesHoldings | None = None
    binance: SpotHoldings | None = None
    binance_futures: FuturesHoldings | None = None


class Ledgers(msgspec.Struct, frozen=True):
    """Each venue's ledger, every entry in order (``GET /ledger``); empty for a venue
    not served."""

    mexc: list[LedgerEntry] = msgspec.field(default_factory=list)
    gateio: list[LedgerEntry] = msgspec.field(default_factory=list)
    binance: list[LedgerEntry] = msgspec.field(default_factory=list)
    binance_futures: list[LedgerEntry] = msgspec.field(default_factory=list)


class Faults(msgspec.Struct, frozen=True):
    """Each served venue's faults (``GET /faults``)."""

    mexc: VenueFaultsView | None = None
    gateio: VenueFaultsView | None = None
    binance: VenueFaultsView | None = None
    binance_futures: VenueFaultsView | None = None
