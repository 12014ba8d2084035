"""A funding-aware strategy shows what its entries weigh: in the entry's log line, and
in its statistics on the latest quotes (for ``/status``) without a decision per quote."""

from __future__ import annotations

import logging

import pytest
from trio.testing import wait_all_tasks_blocked

from actors.arbitrage.actor import StrategyActor
from actors.arbitrage.context import ArbitrageParams, new_context
from actors.arbitrage.entry_terms import entry_terms
from protocols.messages import FeedLiveness, FundingRateUpdate, MarketQuote
from protocols.model import Leg, Quote, Symbol
from supervision import Incarnation, Mailbox

BTC = Symbol("BTC", "USDT")
NOW = 1_000.0


def quote(bid, ask):
    return Quote(BTC, bid, 10.0, ask, 10.0, NOW, NOW)


async def start(nursery, params: ArbitrageParams):
    inbox = Mailbox("strategy-t1")
    spot, futures = Mailbox("router-spot"), Mailbox("router-futures")
    actor = StrategyActor(
        new_context("t1", BTC, now=NOW, params=params),
        {Leg.SPOT: spot.address, Leg.FUTURES: futures.address},
        wall_clock=lambda: NOW,
    )
    await nursery.start(actor.run, Incarnation("strategy-t1", 0, None, inbox))
    for leg in Leg:
        inbox.address.put_latest(("live", leg), FeedLiveness(leg, NOW - 10.0))
    inbox.address.send_nowait(FundingRateUpdate(NOW - 1.0, 0.0003, 8 * 3600.0, NOW + 3600.0))
    await wait_all_tasks_blocked()
    return actor, inbox, spot, futures


def put_quotes(inbox, spot: Quote, futures: Quote) -> None:
    inbox.address.put_latest((Leg.SPOT, BTC), MarketQuote(Leg.SPOT, spot))
    inbox.address.put_latest((Leg.FUTURES, BTC), MarketQuote(Leg.FUTURES, futures))


async def test_the_statistics_show_the_terms_of_an_entry_not_taken(nursery):
    actor, inbox, spot_router, _ = await start(nursery, ArbitrageParams(funding_aware_entry=True))
    spot, futures = quote(99.9, 100.0), quote(99.8, 99.9)
    put_quotes(inbox, spot, futures)
    await wait_all_tasks_blocked()
    assert len(spot_router) == 0
    decisions = actor.decisions
    terms = actor.statistics().entry_terms
    assert terms == entry_terms(actor.ctx, NOW, spot, futures, 100.0 / 100.0)
    assert not terms.passes and terms.net < terms.margin
    assert terms.settlements == 1 and terms.funding == pytest.approx(0.0003 * 99.8 / 100 * 100)
    assert actor.decisions == decisions  # asking for the terms decides nothing


async def test_an_entry_logs_what_it_weighed(nursery, caplog):
    caplog.set_level(logging.INFO, logger="basis.strategy")
    actor, inbox, spot_router, _ = await start(nursery, ArbitrageParams(funding_aware_entry=True))
    put_quotes(inbox, quote(99.9, 100.0), quote(100.4, 100.5))
    await spot_router.receive()
    (entry,) = [r for r in caplog.records if getattr(r, "event", None) == "entry"]
    terms = actor.ctx.current_opportunity.terms
    assert entry.fields["terms"]["net"] == terms.net
    assert set(entry.fields["terms"]) >= {"cost", "fees", "slippage", "convergence", "funding"}
    assert "over 6 h: convergence -0.1000% + funding +0.0301% (1 settlements)" in (
        entry.getMessage()
    )
    assert f"= {terms.net:+.4f}% >= margin 0%" in entry.getMessage()


async def test_a_task_that_weighs_no_funding_shows_no_terms(nursery):
    actor, inbox, _, _ = await start(nursery, ArbitrageParams())
    put_quotes(inbox, quote(99.9, 100.0), quote(99.8, 99.9))
    await wait_all_tasks_blocked()
    assert actor.statistics().entry_terms is None
