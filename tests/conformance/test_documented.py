"""Every venue's documented messages, read by its own codecs, meet the same
expectations: symbols map both ways; the rules reply gives the grid orders are rounded
onto (and, on a futures venue, the contract size); every order state is read as
documented, or the venue says why it never reports it; fills carry their fee in the
asset the venue charged; funding is normalised per hour with the contract's own
interval; and every error comes to retrying, looking the order up, or rejecting it, with
the wait a rate limit asks for read from the venue's own headers; and where a venue's
replies say how much of its request budget is used, requests are held off before it
refuses them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.runtime.orders.router import Refused, placement_refused
from actors.venues.kinds import FUTURES_VENUES, SPOT_VENUES
from protocols.model import OrderStatus, Symbol
from protocols.rules import round_down, round_to_tick, whole_steps
from protocols.venue import ApiCredentials, RateLimited, RestResponse
from tests.conformance.documented import READERS, body, documented

ORDER_STATES = {
    OrderStatus.NEW,
    OrderStatus.PARTIALLY_FILLED,
    OrderStatus.FILLED,
    OrderStatus.CANCELLED,
    OrderStatus.EXPIRED,
    OrderStatus.REJECTED,
}
"""The states an order may be in at a venue, from accepted to its end."""

pytestmark = pytest.mark.parametrize("kind", sorted(READERS))


def test_symbols_map_both_ways(kind):
    venue = documented(kind)
    for ours, theirs in venue.samples["symbols"]:
        symbol = Symbol.parse(ours)
        assert venue.reader.venue_symbol(symbol) == theirs
        assert venue.reader.parse_symbol(theirs) == symbol


def test_the_rules_reply_reads_as_documented(kind):
    venue = documented(kind)
    rules = venue.rules
    for field, value in venue.samples["rules"]["expect"].items():
        assert getattr(rules, field) == pytest.approx(value), field
    assert rules.qty_step > 0 and rules.price_tick > 0
    if venue.samples["funding"] is None:
        assert rules.contract_size == 0.0  # spot: quantities in base units
    else:
        # Futures: whole contracts, each of contract_size base units.
        assert rules.contract_size > 0 and whole_steps(rules.qty_step, rules.contract_size)


@given(qty=st.floats(1e-6, 1e4), price=st.floats(1e-3, 1e6))
def test_orders_round_onto_the_documented_grid(kind, qty, price):
    rules = documented(kind).rules
    step = rules.contract_size or rules.qty_step
    rounded = round_down(qty, step)
    assert rounded <= qty + 1e-12
    assert whole_steps(rounded, step) is not None
    assert qty - rounded < step * (1 + 1e-9)
    ticked = round_to_tick(price, rules.price_tick)
    assert whole_steps(ticked, rules.price_tick) is not None
    assert abs(ticked - price) <= rules.price_tick / 2 * (1 + 1e-9)


def test_every_order_state_is_read_as_documented_or_said_never_reported(kind):
    venue = documented(kind)
    read = venue.orders()
    for update, status in read:
        assert update.status is status
        assert update.filled_qty is not None and update.qty is not None
        assert 0.0 <= update.filled_qty <= update.qty + 1e-12
    never = {OrderStatus(name) for name in venue.samples["never"]}
    seen = {status for _, status in read}
    assert seen | never == ORDER_STATES
    assert not seen & never
    assert all(venue.samples["never"].values())  # each with its reason


def test_fills_carry_their_fee_in_the_asset_the_venue_charged(kind):
    venue = documented(kind)
    fill = venue.samples["fill"]
    [trade] = venue.reader.fills(body(fill["body"]), venue.rules)
    assert (trade.fee, trade.fee_asset) == (pytest.approx(fill["fee"]), fill["fee_asset"])
    assert trade.qty > 0 and trade.price > 0


def test_funding_is_normalised_per_hour_with_the_contracts_own_interval(kind):
    venue = documented(kind)
    sample = venue.samples["funding"]
    if sample is None:
        assert venue.reader.funding is None  # a spot venue has no funding
        return
    assert venue.reader.funding is not None
    written = venue.samples["rules"]["body"] if sample["body"] == "RULES" else sample["body"]
    intervals = sample.get("intervals")
    funding = venue.reader.funding(body(written), None if intervals is None else body(intervals))
    assert funding.interval_s == sample["interval_s"]
    per_hour = funding.rate * 3600.0 / funding.interval_s
    assert per_hour == pytest.approx(sample["per_hour"])


def test_every_documented_error_is_retried_looked_up_or_rejected(kind):
    venue = documented(kind)
    for sample in venue.samples["errors"]:
        error = venue.reader.error(venue.response(sample), 0.0)
        assert placement_refused(error) is Refused(sample["then"]), sample


def test_a_rate_limit_waits_as_long_as_the_venues_headers_say(kind):
    venue = documented(kind)
    sample = venue.samples["rate_limited"]
    error = venue.reader.error(venue.response(sample), sample["now"])
    assert isinstance(error, RateLimited)
    assert error.retry_after_s == pytest.approx(sample["wait_s"])


def test_usage_headers_hold_requests_off_before_the_venue_refuses_them(kind):
    venue = documented(kind)
    usage = venue.samples["usage"]
    plug = SPOT_VENUES.get(kind) or FUTURES_VENUES[kind]
    keys = ApiCredentials("key", "secret")
    codec = plug.router_codec(keys) if kind in SPOT_VENUES else plug.router_codec(keys, {})
    if "why_none" in usage:
        assert usage["why_none"]  # the venue's replies carry no usage: said why
        assert codec.pause_s(RestResponse(200, b"{}"), 0.0) == 0.0
        return
    spent = RestResponse(200, b"{}", tuple(map(tuple, usage["spent"])))
    left = RestResponse(200, b"{}", tuple(map(tuple, usage["left"])))
    assert codec.pause_s(spent, usage["now"]) == pytest.approx(usage["pause_s"])
    assert codec.pause_s(left, usage["now"]) == 0.0
