"""The Gate.io feed codec's contract data over a real socket: a contract reply without
funding fields still gives the rules, and leaves the funding unknown."""

from __future__ import annotations

from actors.http_server import HttpRequest, HttpResponse, HttpServer
from actors.venues.gateio import GateioFeedCodec
from actors.venues.rest import RestClient
from protocols.model import Symbol
from protocols.venue import FundingRate

BTC = Symbol("BTC", "USDT")
ETH = Symbol("ETH", "USDT")
FIELDS = (
    b'"quanto_multiplier":"0.0001","order_price_round":"0.1","order_size_min":1,'
    b'"status":"trading","in_delisting":false'
)
CONTRACTS = {
    "/api/v4/futures/usdt/contracts/BTC_USDT": b'{"name":"BTC_USDT",'
    + FIELDS
    + b',"funding_rate":"0.0001","funding_interval":14400,"funding_next_apply":1700006400}',
    "/api/v4/futures/usdt/contracts/ETH_USDT": b'{"name":"ETH_USDT",' + FIELDS + b"}",
}


async def contracts(request: HttpRequest) -> HttpResponse:
    return HttpResponse(200, CONTRACTS[request.path])


async def test_a_contract_without_funding_gives_its_rules_and_no_funding(nursery):
    port = await nursery.start(HttpServer(contracts).serve)
    async with RestClient(f"http://127.0.0.1:{port}") as rest:
        codec = GateioFeedCodec(rest)
        await codec.prepare([BTC, ETH])
    assert codec.contract_sizes == {BTC: 0.0001, ETH: 0.0001}
    assert codec.funding_rates(1700000000.0) == [FundingRate(BTC, 0.0001, 14400.0, 1700006400.0)]
