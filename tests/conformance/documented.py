"""Each venue's documented sample messages (``documented/<kind>.json``, every file naming
the documentation pages its bodies come from), read by that venue's own codecs into what
Basis works with, so that the conformance suite holds every venue to the same
expectations.

A venue joins by a fixture file and a :class:`Reader`: how its codecs read a rules
reply, an order, its account's fills, its funding and its errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from protocols import gateio_rest, mexc, mexc_rest
from protocols.gateio import parse_symbol as gateio_symbol
from protocols.gateio import venue_symbol as gateio_venue_symbol
from protocols.model import OrderStatus, Symbol, VenueRules
from protocols.venue import FundingRate, OrderUpdate, RestResponse, Trade, VenueError

FIXTURES = Path(__file__).parent / "documented"


@attrs.frozen
class Reader:
    """How one venue's codecs read its documented messages."""

    venue_symbol: Callable[[Symbol], str]
    parse_symbol: Callable[[str], Symbol]
    rules: Callable[[bytes, Symbol], VenueRules]
    order: Callable[[bytes, VenueRules], OrderUpdate]
    fills: Callable[[bytes, VenueRules], list[Trade]]
    error: Callable[[RestResponse, float], VenueError]
    funding: Callable[[bytes], FundingRate] | None = None


READERS: dict[str, Reader] = {
    "mexc": Reader(
        mexc.venue_symbol,
        mexc.parse_symbol,
        mexc_rest.parse_exchange_info,
        lambda body, _: mexc_rest.parse_order(body),
        lambda body, _: list(mexc_rest.parse_my_trades(body)),
        lambda response, _: mexc_rest.error_from_response(response),
    ),
    "gateio_futures": Reader(
        gateio_venue_symbol,
        gateio_symbol,
        lambda body, _: gateio_rest.parse_contract(body),
        lambda body, rules: gateio_rest.parse_order(body, rules.contract_size),
        lambda body, rules: gateio_rest.parse_trades(body, rules.contract_size),
        lambda response, now: gateio_rest.error_from_response(response, now),
        gateio_rest.parse_funding,
    ),
}


@attrs.frozen
class Documented:
    """One venue's documented samples (the fixture as written) and its reader."""

    kind: str
    samples: dict[str, Any]
    reader: Reader

    @property
    def rules(self) -> VenueRules:
        rules = self.samples["rules"]
        return self.reader.rules(rules["body"].encode(), Symbol.parse(rules["symbol"]))

    def orders(self) -> list[tuple[OrderUpdate, OrderStatus]]:
        """Each documented order as read, with the status the documentation gives it."""
        rules = self.rules
        return [
            (self.reader.order(o["body"].encode(), rules), OrderStatus(o["status"]))
            for o in self.samples["orders"]
        ]

    def response(self, sample: dict[str, Any]) -> RestResponse:
        headers = tuple((name, value) for name, value in sample.get("headers", ()))
        return RestResponse(sample["status"], sample["body"].encode(), headers)


def documented(kind: str) -> Documented:
    samples = json.loads((FIXTURES / f"{kind}.json").read_text())
    return Documented(kind, samples, READERS[kind])
