"""Invariants under any sequence of orders, cancels, market moves and faults:

- spot: every asset's balance moved by exactly what the ledger's fills say (the base by
  the signed quantities, the quote by minus their value and fees): value is conserved
  up to the fees;
- futures: the position is the sum of the ledger's signed fills, and the account's
  equity at any price moved by what those fills, their fees and funding say;
- reduce-only orders never grew a position; nothing went negative;
- the ledger is consistent: unique client ids and trade ids, fills that add up to
  their orders, every finished order final, what the listeners heard is what it says;
- the same seed and the same calls give the same ledgers and books.
"""

from __future__ import annotations

import math

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.sim import (
    FillExecuted,
    FundingApplied,
    OrderAccepted,
    OrderFinished,
    OrderRefused,
    PriceProcessParams,
    SimVenues,
    TradeExecuted,
)
from protocols.model import Leg, OrderType, Side, TimeInForce
from protocols.venue import (
    BelowMinimum,
    DuplicateClientId,
    InsufficientBalance,
    OrderAlreadyFinal,
    ReduceOnlyViolated,
)

from .helpers import COIN, T0, Recorder, coin, config, net_qty

# A volatile coin with frequent dislocations, so resting orders get crossed, funding
# every ten minutes, so positions pay it, and a modest account, so balance and margin
# refusals happen too. Every order stays queryable (no forgetting of unfilled ones), so
# each can be checked against the ledger at the end.
MOVING = PriceProcessParams(volatility_annual=2.0, dislocations_per_hour=30.0)
CONFIG = msgspec.structs.replace(
    config(coin(MOVING, funding_interval_s=600.0)),
    spot=msgspec.structs.replace(config().spot, balances={"USDT": 20_000.0, "COIN": 50.0}),
    futures=msgspec.structs.replace(
        config().futures, balance_usdt=20_000.0, forget_unfilled_after_s=None
    ),
)
START_USDT, START_COIN = 20_000.0, 50.0
SIZE = 0.1
# Refusals a well-formed random order can meet; anything else is a bug.
EXPECTED = (InsufficientBalance, BelowMinimum, ReduceOnlyViolated, DuplicateClientId)
# Float error: each operation adds at most a few ulps (~1e-16) of the amounts it
# touches; a few hundred operations stay far below a billionth of the money moved.
RELATIVE = 1e-9

sides = st.sampled_from([Side.BUY, Side.SELL])
order_types = st.sampled_from([OrderType.LIMIT, OrderType.LIMIT, OrderType.MARKET])
tifs = st.sampled_from([TimeInForce.GTC, TimeInForce.IOC])
client_ids = st.one_of(st.none(), st.integers(0, 6))  # a small pool: duplicates happen
offsets = st.integers(-80, 80)  # ticks from the touch; positive is more aggressive

spot_orders = st.tuples(
    st.just("spot"), sides, order_types, tifs, st.integers(1, 2_000), offsets, client_ids
)
futures_orders = st.tuples(
    st.just("futures"),
    sides,
    order_types,
    tifs,
    st.integers(1, 300),
    offsets,
    client_ids,
    st.booleans(),
)
actions = st.one_of(
    spot_orders,
    spot_orders,
    futures_orders,
    futures_orders,
    st.tuples(st.just("cancel"), st.sampled_from(list(Leg)), st.integers(0, 5)),
    st.tuples(st.just("advance"), st.sampled_from([0.1, 1.0, 30.0, 600.0, 9_000.0])),
    st.tuples(st.just("dislocate"), st.floats(-0.02, 0.02)),
    st.tuples(
        st.just("partial"), st.sampled_from(list(Leg)), st.one_of(st.none(), st.floats(0.0, 0.9))
    ),
)


class Run:
    def __init__(self) -> None:
        self.now = T0
        self.v = SimVenues(CONFIG, self.now)
        self.heard = {Leg.SPOT: Recorder(), Leg.FUTURES: Recorder()}
        self.v.spot.add_listener(self.heard[Leg.SPOT])
        self.v.futures.add_listener(self.heard[Leg.FUTURES])

    def limit_price(self, leg: Leg, side: Side, offset: int) -> float:
        book = self.v.market.book(COIN, leg)
        quote = book.quote()
        touch = quote.ask if side is Side.BUY else quote.bid
        if touch == 0.0:  # an emptied side: price off the other one
            touch = quote.bid if side is Side.BUY else quote.ask
        ticks = round(touch / book.tick) + (offset if side is Side.BUY else -offset)
        return book.price_of(max(ticks, 1))

    def place(self, leg: Leg, side, type_, tif, qty, offset, cid, reduce_only=False) -> None:
        market = type_ is OrderType.MARKET
        price = None if market else self.limit_price(leg, side, offset)
        tif = None if market else tif
        if leg is Leg.SPOT:
            client_id = None if cid is None else f"c{cid}"
            self.v.spot.place_order(
                COIN, side, type_, qty, price=price, tif=tif, client_id=client_id, now=self.now
            )
            return
        held = self.v.futures.position(COIN).contracts
        if reduce_only and held:  # mostly aim reduce-only orders at the position
            side = Side.BUY if held < 0 else Side.SELL
        self.v.futures.place_order(
            COIN,
            side,
            type_,
            qty,
            price=price,
            tif=tif,
            reduce_only=reduce_only,
            client_id=None if cid is None else f"t-c{cid}",
            now=self.now,
        )

    def cancel(self, leg: Leg, index: int) -> None:
        """Cancel an open order, or now and then one that just finished."""
        venue = self.v.spot if leg is Leg.SPOT else self.v.futures
        ids = [o.venue_order_id for o in venue.open_orders()]
        recent = venue.ledger.entries()[-3:]
        ids += [e.order.venue_order_id for e in recent if isinstance(e, OrderFinished)]
        if ids:
            venue.cancel_order(venue_order_id=ids[index % len(ids)], now=self.now)

    def do(self, action: tuple) -> None:
        kind, *args = action
        try:
            if kind == "spot":
                side, type_, tif, lots, offset, cid = args
                self.place(Leg.SPOT, side, type_, tif, round(lots * 0.01, 2), offset, cid)
            elif kind == "futures":
                self.place(Leg.FUTURES, *args)
            elif kind == "cancel":
                self.cancel(*args)
            elif kind == "advance":
                self.now += args[0]
                self.v.advance(self.now)
            elif kind == "dislocate":
                self.v.dislocate(COIN, args[0])
            else:
                leg, fraction = args
                venue = self.v.spot if leg is Leg.SPOT else self.v.futures
                if fraction is None:
                    venue.faults.fill_fully()
                else:
                    venue.faults.fill_partially(fraction, probability=0.7)
        except EXPECTED:
            pass
        except OrderAlreadyFinal:
            assert kind == "cancel"


def check_spot(run: Run) -> None:
    spot = run.v.spot
    fills = spot.ledger.fills(COIN)
    coin_balance, usdt = spot.balance("COIN"), spot.balance("USDT")
    assert coin_balance.free >= 0.0 and coin_balance.locked >= 0.0
    assert round(coin_balance.free + coin_balance.locked, 2) == round(
        START_COIN + net_qty(spot.ledger, COIN), 2
    )
    spent = math.fsum(-f.signed_qty * f.price - f.fee for f in fills)
    moved = START_USDT + math.fsum(f.qty * f.price for f in fills)
    assert abs(usdt.free + usdt.locked - (START_USDT + spent)) <= RELATIVE * moved
    assert usdt.free >= -RELATIVE * moved and usdt.locked >= 0.0
    if not spot.open_orders():
        assert usdt.locked == 0.0 and coin_balance.locked == 0.0


def check_futures(run: Run) -> None:
    futures = run.v.futures
    fills = futures.ledger.fills(COIN)
    position = futures.position(COIN)
    signed = [f.contracts if f.side is Side.BUY else -f.contracts for f in fills]
    assert position.contracts == sum(signed)
    account = futures.account()
    mark = position.mark_price
    equity = account.total + position.unrealised_pnl
    expected = (
        START_USDT
        + math.fsum(c * SIZE * (mark - f.price) for c, f in zip(signed, fills, strict=True))
        - math.fsum(f.fee for f in fills)
        + math.fsum(p.amount for p in futures.ledger.funding())
    )
    moved = START_USDT + math.fsum(
        abs(c) * SIZE * (mark + f.price) for c, f in zip(signed, fills, strict=True)
    )
    assert abs(equity - expected) <= RELATIVE * moved
    assert account.order_margin >= 0.0
    # Replay the fills: a reduce-only order's fill never grew the position or flipped it.
    reduce_only = {o.venue_order_id for o in futures.ledger.accepted_orders() if o.reduce_only}
    held = 0
    for c, f in zip(signed, fills, strict=True):
        after = held + c
        if f.venue_order_id in reduce_only:
            assert abs(after) < abs(held) and after * held >= 0
        held = after


def check_ledger(run: Run, leg: Leg) -> None:
    venue = run.v.spot if leg is Leg.SPOT else run.v.futures
    entries = venue.ledger.entries()
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    accepted = {e.order.venue_order_id: e.order for e in entries if isinstance(e, OrderAccepted)}
    client_ids = venue.ledger.client_ids()
    assert len(client_ids) == len(set(client_ids))
    # A client id was only ever refused as a duplicate after an order had taken it.
    taken: set[str] = set()
    for entry in entries:
        if isinstance(entry, OrderAccepted) and entry.order.client_id is not None:
            taken.add(entry.order.client_id)
        elif isinstance(entry, OrderRefused) and entry.error == "DuplicateClientId":
            assert entry.client_id in taken
    fills = [e.fill for e in entries if isinstance(e, FillExecuted)]
    assert len({f.trade_id for f in fills}) == len(fills)
    finished = [e.order for e in entries if isinstance(e, OrderFinished)]
    assert len({o.venue_order_id for o in finished}) == len(finished)
    assert all(o.status.is_final for o in finished)
    open_ids = {o.venue_order_id for o in venue.open_orders()}
    assert open_ids == set(accepted) - {o.venue_order_id for o in finished}
    for order_id, order in accepted.items():
        now_ = venue.order(venue_order_id=order_id, now=run.now)
        own = [f for f in fills if f.venue_order_id == order_id]
        assert now_.trade_ids == tuple(f.trade_id for f in own)
        assert now_.filled_qty == round(sum(f.qty for f in own), 8) <= order.qty
        assert all(f.client_id == order.client_id and f.side is order.side for f in own)
    heard = [e.fill for e in run.heard[leg].of(TradeExecuted)]
    assert heard == fills
    if leg is Leg.FUTURES:
        assert [e.payment for e in run.heard[leg].of(FundingApplied)] == venue.ledger.funding()


@settings(max_examples=150, deadline=None)
@given(st.lists(actions, min_size=10, max_size=60))
def test_value_positions_and_ledgers_add_up_after_every_step(steps):
    run = Run()
    for action in steps:
        run.do(action)
        check_spot(run)
        check_futures(run)
    for leg in Leg:
        check_ledger(run, leg)


@settings(max_examples=15, deadline=None)
@given(st.lists(actions, min_size=10, max_size=40))
def test_the_same_seed_and_calls_give_the_same_venues(steps):
    def replay():
        run = Run()
        for action in steps:
            run.do(action)
        return msgspec.json.encode(
            [
                run.v.spot.ledger.entries(),
                run.v.futures.ledger.entries(),
                [run.v.market.book(COIN, leg).snapshot() for leg in Leg],
                run.v.spot.balances(),
                run.v.futures.positions(),
            ]
        )

    assert replay() == replay()
