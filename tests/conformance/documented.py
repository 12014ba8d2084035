"""Each venue's documented sample messages (``documented/<kind>.json``, every file naming
the documentation pages its bodies come from), read by that venue's own codecs into what
Basis works with, so that the conformance suite holds every venue to the same
expectations.

A body is written out, or names a file of ``tests/data`` that keeps the documentation's
sample (``{"file": ...}``), with some of its fields set otherwise (``"set"``: the same
documented message in another of its documented states). A venue joins by a fixture file
and a :class:`Reader`: how its codecs read a rules reply, an order, its account's fills,
its funding and its errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from protocols import (
    binance,
    binance_futures,
    binance_futures_rest,
    binance_rest,
    gateio_rest,
    mexc,
    mexc_rest,
)
from protocols.gateio import parse_symbol as gateio_symbol
from protocols.gateio import venue_symbol as gateio_venue_symbol
from protocols.model import OrderStatus, Symbol, VenueRules
from protocols.venue import FundingRate, OrderUpdate, RestResponse, Trade, VenueError

FIXTURES = Path(__file__).parent / "documented"
DATA = Path(__file__).parent.parent / "data"


@attrs.frozen
class Reader:
    """How one venue's codecs read its documented messages."""

    venue_symbol: Callable[[Symbol], str]
    parse_symbol: Callable[[str], Symbol]
    rules: Callable[[bytes, Symbol], VenueRules]
    order: Callable[[bytes, VenueRules], OrderUpdate]
    fills: Callable[[bytes, VenueRules], list[Trade]]
    error: Callable[[RestResponse, float], VenueError]
    funding: Callable[[bytes, bytes | None], FundingRate] | None = None
    """From the funding sample and, where the venue gives them apart, its intervals."""


READERS: dict[str, Reader] = {
    "binance": Reader(
        binance.venue_symbol,
        binance.parse_symbol,
        binance_rest.parse_exchange_info,
        lambda body, _: binance_rest.parse_order(body),
        lambda body, _: list(binance_rest.parse_my_trades(body)),
        lambda response, _: binance_rest.error_from_response(response),
    ),
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
        lambda body, _: gateio_rest.parse_funding(body),
    ),
    "binance_futures": Reader(
        binance_futures.venue_symbol,
        binance_futures.parse_symbol,
        binance_futures_rest.parse_exchange_info,
        lambda body, _: binance_futures_rest.parse_order(body),
        lambda body, _: binance_futures_rest.parse_user_trades(body),
        lambda response, now: binance_futures_rest.error_from_response(response, now),
        lambda body, intervals: binance_futures_rest.parse_funding(
            body, _interval_s(body, intervals)
        ),
    ),
}


def _interval_s(premium_index: bytes, intervals: bytes | None) -> float:
    """Binance USDⓈ-M: the symbol's own funding interval, 8 h for one ``fundingInfo``
    does not list."""
    symbol = binance_futures.parse_symbol(json.loads(premium_index)["symbol"])
    listed = binance_futures_rest.parse_funding_intervals(intervals or b"[]")
    return listed.get(symbol, 8 * 3600.0)


@attrs.frozen
class Documented:
    """One venue's documented samples (the fixture as written) and its reader."""

    kind: str
    samples: dict[str, Any]
    reader: Reader

    @property
    def rules(self) -> VenueRules:
        rules = self.samples["rules"]
        return self.reader.rules(body(rules["body"]), Symbol.parse(rules["symbol"]))

    def orders(self) -> list[tuple[OrderUpdate, OrderStatus]]:
        """Each documented order as read, with the status the documentation gives it."""
        rules = self.rules
        return [
            (self.reader.order(body(o["body"]), rules), OrderStatus(o["status"]))
            for o in self.samples["orders"]
        ]

    def response(self, sample: dict[str, Any]) -> RestResponse:
        headers = tuple((name, value) for name, value in sample.get("headers", ()))
        return RestResponse(sample["status"], body(sample["body"]), headers)


def body(written: str | dict[str, Any] | None) -> bytes:
    """A sample's body: written out, or the documentation's sample a file of
    ``tests/data`` keeps, with the fields ``"set"`` names set otherwise."""
    if written is None:
        return b""
    if isinstance(written, str):
        return written.encode()
    sample = json.loads((DATA / written["file"]).read_text())
    if "set" in written:
        sample |= written["set"]
    return json.dumps(sample).encode()


def documented(kind: str) -> Documented:
    samples = json.loads((FIXTURES / f"{kind}.json").read_text())
    return Documented(kind, samples, READERS[kind])
