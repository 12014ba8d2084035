"""What the simulated venues show of themselves: where they listen, what each account
holds, each venue's ledger and faults (the control API's answers)."""

from __future__ import annotations

import msgspec

from actors.sim.ledger import LedgerEntry
from actors.sim.records import FuturesAccount, PerpetualPosition
from actors.sim.venue_server import VenueFaultsView
from protocols.venue import Balance


class SimUrls(msgspec.Struct, frozen=True):
    """Where the servers listen. REST URLs are origins (request paths carry ``/api/v3``
    or ``/api/v4``); websocket URLs are complete."""

    mexc_rest: str
    mexc_ws: str
    gateio_rest: str
    gateio_ws: str
    control: str


class SpotHoldings(msgspec.Struct, frozen=True):
    balances: list[Balance]


class FuturesHoldings(msgspec.Struct, frozen=True):
    account: FuturesAccount
    positions: list[PerpetualPosition]


class Holdings(msgspec.Struct, frozen=True):
    """What the account holds on each venue (``GET /positions``)."""

    mexc: SpotHoldings
    gateio: FuturesHoldings


class Ledgers(msgspec.Struct, frozen=True):
    """Each venue's ledger, every entry in order (``GET /ledger``)."""

    mexc: list[LedgerEntry]
    gateio: list[LedgerEntry]


class Faults(msgspec.Struct, frozen=True):
    """Each venue's faults (``GET /faults``)."""

    mexc: VenueFaultsView
    gateio: VenueFaultsView
