"""The Gate.io feed codec's contract data over a real socket: every contract from one
list request, a contract reply without funding fields still gives the rules and leaves
the funding unknown, and a contract the venue will not give holds back no other."""

from __future__ import annotations

import logging

import pytest

from actors.http_server import HttpRequest, HttpResponse, HttpServer
from actors.venues.gateio import GateioFeedCodec
from actors.venues.rest import RestClient
from protocols.model import Symbol
from protocols.venue import FundingRate, VenueError

BTC = Symbol("BTC", "USDT")
ETH = Symbol("ETH", "USDT")
SOL = Symbol("SOL", "USDT")
FIELDS = (
    b'"quanto_multiplier":"0.0001","order_price_round":"0.1","order_size_min":1,'
    b'"status":"trading","in_delisting":false'
)
CONTRACTS = {
    BTC: b'{"name":"BTC_USDT",'
    + FIELDS
    + b',"funding_rate":"0.0001","funding_interval":14400,"funding_next_apply":1700006400}',
    ETH: b'{"name":"ETH_USDT",' + FIELDS + b"}",
    SOL: b'{"name":"SOL_USDT",'
    + FIELDS.replace(b"0.0001", b"1")
    + b',"funding_rate":"0.0002","funding_interval":28800,"funding_next_apply":1700006400}',
}
LIST = "/api/v4/futures/usdt/contracts"
NOT_FOUND = b'{"label":"CONTRACT_NOT_FOUND","message":"contract not found"}'


class Venue:
    """Gate.io's contract endpoints over ``listed`` contracts; ``known`` are given one by
    one too; ``list_status`` is the list's."""

    def __init__(self, listed, known=(), list_status=200):
        self.listed = list(listed)
        self.known = set(known) | set(self.listed)
        self.list_status = list_status
        self.paths: list[str] = []

    async def __call__(self, request: HttpRequest) -> HttpResponse:
        self.paths.append(request.path)
        if request.path == LIST:
            if self.list_status != 200:
                return HttpResponse(self.list_status, b'{"label":"SERVER_ERROR"}')
            return HttpResponse(200, b"[" + b",".join(CONTRACTS[s] for s in self.listed) + b"]")
        for symbol in self.known:
            if request.path == f"{LIST}/{symbol.base}_{symbol.quote}":
                return HttpResponse(200, CONTRACTS[symbol])
        return HttpResponse(400, NOT_FOUND)


async def prepared(nursery, venue: Venue, symbols, codec=None) -> GateioFeedCodec:
    port = await nursery.start(HttpServer(venue).serve)
    async with RestClient(f"http://127.0.0.1:{port}") as rest:
        codec = codec or GateioFeedCodec(rest)
        codec.rest = rest
        await codec.prepare(symbols)
    return codec


async def test_a_contract_without_funding_gives_its_rules_and_no_funding(nursery):
    codec = await prepared(nursery, Venue([BTC, ETH]), [BTC, ETH])
    assert codec.contract_sizes == {BTC: 0.0001, ETH: 0.0001}
    assert codec.funding_rates(1700000000.0) == [FundingRate(BTC, 0.0001, 14400.0, 1700006400.0)]


async def test_every_contract_comes_from_one_list_request(nursery):
    venue = Venue([BTC, ETH, SOL])
    codec = await prepared(nursery, venue, [BTC, ETH, SOL])
    assert venue.paths == [LIST]
    assert codec.contract_sizes == {BTC: 0.0001, ETH: 0.0001, SOL: 1.0}


async def test_a_contract_the_list_lacks_is_asked_by_itself(nursery):
    venue = Venue([BTC], known=[SOL])
    codec = await prepared(nursery, venue, [BTC, SOL])
    assert venue.paths == [LIST, f"{LIST}/SOL_USDT"]
    assert codec.contract_sizes == {BTC: 0.0001, SOL: 1.0}


async def test_a_contract_the_venue_will_not_give_holds_back_no_other(nursery, caplog):
    caplog.set_level(logging.WARNING, "basis.gateio")
    codec = await prepared(nursery, Venue([BTC, SOL]), [BTC, ETH, SOL])
    assert codec.contract_sizes == {BTC: 0.0001, SOL: 1.0}
    assert {f.symbol for f in codec.funding_rates(1700000000.0)} == {BTC, SOL}
    assert "ETH/USDT: the contract could not be loaded" in caplog.text


async def test_a_contract_delisted_since_keeps_its_size_and_loses_its_funding(nursery):
    codec = await prepared(nursery, Venue([BTC, SOL]), [BTC, SOL])
    codec = await prepared(nursery, Venue([BTC]), [BTC, SOL], codec)
    assert codec.contract_sizes == {BTC: 0.0001, SOL: 1.0}
    assert [f.symbol for f in codec.funding_rates(1700000000.0)] == [BTC]


async def test_a_failed_list_keeps_the_contracts_loaded_and_fails_the_first_load(nursery):
    codec = await prepared(nursery, Venue([BTC, SOL]), [BTC, SOL])
    codec = await prepared(nursery, Venue([BTC, SOL], list_status=500), [BTC, SOL], codec)
    assert codec.contract_sizes == {BTC: 0.0001, SOL: 1.0}
    assert len(codec.funding_rates(1700000000.0)) == 2
    with pytest.raises(VenueError):
        await prepared(nursery, Venue([BTC], list_status=500), [BTC])
