"""Gate.io USDT perpetual futures (API v4), the venue's side: what the simulated venue
sends, in exactly Gate.io's wire format. How it reads and checks what a client sends is
``protocols.gateio_client_requests``.

Quantities are given in base units and written in contracts (signed for orders, trades
and positions), so each encoder takes the contract's size. Pushes write prices as JSON
numbers where Gate.io does (order pushes) and REST replies write them as strings.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import msgspec

from protocols._wire import decimal, exact_product
from protocols.gateio import (
    AUTO_DELEVERAGES,
    BOOK_TICKER,
    LIQUIDATES,
    ORDER_BOOK_UPDATE,
    ORDERS,
    PONG,
    POSITIONS,
    SYSTEM,
    TICKERS,
    USER_TRADES,
    ChannelRequest,
    contracts_of,
    venue_symbol,
)
from protocols.gateio_rest import ERRORS_BY_LABEL, LIMIT_HEADER, REMAIN_HEADER, RESET_HEADER
from protocols.model import OrderStatus, Quote, Side, Symbol, VenueRules
from protocols.venue import (
    BookLevel,
    CandleFigures,
    DepthDiff,
    DepthSnapshot,
    FundingRate,
    FuturesPosition,
    Headers,
    OrderUpdate,
    PublicTrade,
    RateLimited,
    RestResponse,
    Trade,
    UnknownOrder,
    VenueError,
    VenueUnavailable,
)

_encode = msgspec.json.Encoder().encode


def _ms(ts: float) -> int:
    return round(ts * 1000.0)


def _seconds(ts: float) -> float:
    """A time in Unix seconds as Gate.io writes it: to the millisecond."""
    return round(ts, 3)


def _venue_id(venue_order_id: str) -> int | str:
    # Gate.io's ids are numbers; anything else the simulator made up stays a string.
    return int(venue_order_id) if venue_order_id.isdigit() else venue_order_id


# ------------------------------------------------------------ websocket answers


def subscription_ack(
    request: ChannelRequest, time_s: float, error: VenueError | None = None
) -> str:
    """The answer to a (un)subscription: ``result.status`` success, or ``error`` with
    code 2 (bad argument) and the error's message."""
    answer: dict[str, object] = {
        "time": int(time_s),
        "time_ms": _ms(time_s),
        "id": request.id,
        "channel": request.channel,
        "event": request.event,
    }
    if error is None:
        answer["result"] = {"status": "success"}
    else:
        answer["error"] = {"code": 2, "message": error.message}
        answer["result"] = None
    return _encode(answer).decode()


def pong_message(time_s: float) -> str:
    return _encode(
        {"time": int(time_s), "time_ms": _ms(time_s), "channel": PONG, "event": "", "result": None}
    ).decode()


def upgrade_notice(time_s: float) -> str:
    """An upgrade notice; it carries both documented forms (``event: upgrade`` and
    ``futures.system`` with ``result.type: upgrade``), so either reading sees it."""
    return _encode(
        {
            "time": int(time_s),
            "time_ms": _ms(time_s),
            "channel": SYSTEM,
            "event": "upgrade",
            "result": {"type": "upgrade", "msg": "server upgrade, please reconnect"},
        }
    ).decode()


def _push(channel: str, event: str, time_s: float, result: object) -> str:
    return _encode(
        {
            "time": int(time_s),
            "time_ms": _ms(time_s),
            "channel": channel,
            "event": event,
            "result": result,
        }
    ).decode()


# ------------------------------------------------------------------------- pushes


def book_ticker_push(quote: Quote, contract_size: float, update_id: int, time_s: float) -> str:
    """``futures.book_ticker``: prices as strings (``""`` for an empty side), sizes in
    contracts."""
    bid_empty, ask_empty = quote.bid <= 0.0, quote.ask <= 0.0
    return _push(
        BOOK_TICKER,
        "update",
        time_s,
        {
            "t": _ms(quote.venue_ts),
            "u": update_id,
            "s": venue_symbol(quote.symbol),
            "b": "" if bid_empty else decimal(quote.bid),
            "B": 0 if bid_empty else contracts_of(quote.bid_qty, contract_size),
            "a": "" if ask_empty else decimal(quote.ask),
            "A": 0 if ask_empty else contracts_of(quote.ask_qty, contract_size),
        },
    )


class TickerFigures(msgspec.Struct, frozen=True):
    """What a contract's ticker says: its best prices (``quote``), mark and index
    prices, and funding."""

    quote: Quote
    mark_price: float
    index_price: float
    funding: FundingRate


def _ticker_object(figures: TickerFigures, contract_size: float) -> dict[str, object]:
    """A ticker as ``GET tickers`` and ``futures.tickers`` write it. The 24 h statistics
    are of a market without trade history here: the last price is the mark, no volume."""
    quote = figures.quote
    last = decimal(figures.mark_price)
    return {
        "contract": venue_symbol(quote.symbol),
        "last": last,
        "change_percentage": "0",
        "total_size": "0",
        "low_24h": last,
        "high_24h": last,
        "volume_24h": "0",
        "volume_24h_base": "0",
        "volume_24h_quote": "0",
        "volume_24h_settle": "0",
        "mark_price": decimal(figures.mark_price),
        "funding_rate": decimal(figures.funding.rate),
        "funding_rate_indicative": decimal(figures.funding.rate),
        "index_price": decimal(figures.index_price),
        "quanto_base_rate": "",
        "lowest_ask": decimal(quote.ask) if quote.ask > 0.0 else "",
        "lowest_size": str(contracts_of(quote.ask_qty, contract_size)),
        "highest_bid": decimal(quote.bid) if quote.bid > 0.0 else "",
        "highest_size": str(contracts_of(quote.bid_qty, contract_size)),
    }


def tickers_push(figures: TickerFigures, contract_size: float, time_s: float) -> str:
    """``futures.tickers``: a list of one contract's ticker."""
    return _push(TICKERS, "update", time_s, [_ticker_object(figures, contract_size)])


def _levels(levels: Sequence[BookLevel], contract_size: float) -> list[dict[str, object]]:
    # Every contract's book update on every tick of the simulated venue passes here:
    # ``contracts_of`` is inlined, falling back to it (which names the fault) only for a
    # quantity between whole contracts.
    out: list[dict[str, object]] = []
    for level in levels:
        qty = level.qty
        contracts = qty / contract_size
        whole = round(contracts)
        if abs(contracts - whole) > 1e-6 * max(1.0, abs(contracts)):
            whole = contracts_of(qty, contract_size)
        out.append({"p": decimal(level.price), "s": whole})
    return out


def order_book_update_push(
    diff: DepthDiff, contract_size: float, time_s: float, levels: int = 20
) -> str:
    """``futures.order_book_update`` covering update ids ``U..u``."""
    return _push(
        ORDER_BOOK_UPDATE,
        "update",
        time_s,
        {
            "t": _ms(diff.venue_ts),
            "s": venue_symbol(diff.symbol),
            "U": diff.first_version,
            "u": diff.last_version,
            "b": _levels(diff.bids, contract_size),
            "a": _levels(diff.asks, contract_size),
            "l": str(levels),
        },
    )


def order_book_full_push(
    snapshot: DepthSnapshot, contract_size: float, time_s: float, first_version: int, levels: int
) -> str:
    """``futures.order_book_update`` with ``full: true``: the whole book at
    ``snapshot.version`` (its best ``levels`` each side), which replaces the client's;
    ``U`` is the first version it covers since the previous update."""
    return _push(
        ORDER_BOOK_UPDATE,
        "update",
        time_s,
        {
            "t": _ms(time_s),
            "full": True,
            "s": venue_symbol(snapshot.symbol),
            "U": first_version,
            "u": snapshot.version,
            "b": _levels(snapshot.bids[:levels], contract_size),
            "a": _levels(snapshot.asks[:levels], contract_size),
            "l": str(levels),
        },
    )


def _order_object(
    update: OrderUpdate, contract_size: float, tif: str, as_push: bool
) -> dict[str, object]:
    if update.side is None:
        raise ValueError(f"order {update.client_id!r} needs a side to be written")
    sign_ = 1 if update.side is Side.BUY else -1
    size = contracts_of(update.qty or 0.0, contract_size)
    left = size - contracts_of(update.filled_qty or 0.0, contract_size)
    price, fill_price = update.price or 0.0, update.avg_price or 0.0
    finished = update.status.is_final
    if update.status not in _WRITABLE_STATUSES:
        raise ValueError(f"Gate.io has no order status for {update.status.value!r}")
    finish_as = None
    if finished:
        finish_as = "filled" if left == 0 else "ioc" if tif == "ioc" else "cancelled"
    order: dict[str, object] = {
        "id": _venue_id(update.venue_order_id),
        "contract": venue_symbol(update.symbol),
        "create_time": _seconds(update.ts),
        "size": sign_ * size,
        "left": sign_ * left,
        # Pushes write prices as numbers, REST as strings.
        "price": price if as_push else decimal(price),
        "fill_price": fill_price if as_push else decimal(fill_price),
        "tif": tif,
        "text": _text(update.client_id),
        "status": "finished" if finished else "open",
        "finish_as": finish_as,
        "is_reduce_only": bool(update.reduce_only),
        "iceberg": 0,
    }
    if as_push:
        order["update_time"] = _ms(update.ts)
    else:
        order["finish_time"] = _seconds(update.ts) if finished else None
    return order


_WRITABLE_STATUSES = frozenset(
    {OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED, OrderStatus.CANCELLED}
)


def _text(client_id: str) -> str:
    # The decoders strip the t- prefix; put it back, except on the texts of orders that
    # were not placed through the API with a client id.
    return client_id if client_id in ("", "-") else f"t-{client_id}"


def orders_push(
    updates: Sequence[OrderUpdate], contract_size: float, time_s: float, tif: str = "ioc"
) -> str:
    """``futures.orders``: one contract's order updates."""
    return _push(
        ORDERS,
        "update",
        time_s,
        [_order_object(u, contract_size, tif, as_push=True) for u in updates],
    )


def user_trades_push(trades: Sequence[Trade], contract_size: float, time_s: float) -> str:
    """``futures.usertrades``: size signed (negative = sell), fee in USDT."""
    items = []
    for trade in trades:
        contracts = contracts_of(trade.qty, contract_size)
        items.append(
            {
                "id": trade.trade_id,
                "contract": venue_symbol(trade.symbol),
                "order_id": trade.venue_order_id,
                "size": contracts if trade.side is Side.BUY else -contracts,
                "price": decimal(trade.price),
                "role": "maker" if trade.is_maker else "taker",
                "text": _text(trade.client_id),
                "fee": trade.fee,
                "create_time": int(trade.ts),
                "create_time_ms": _ms(trade.ts),
            }
        )
    return _push(USER_TRADES, "update", time_s, items)


def _position_object(
    position: FuturesPosition, contract_size: float, as_push: bool
) -> dict[str, object]:
    def money(value: float) -> object:
        return value if as_push else decimal(value)

    size = contracts_of(position.qty, contract_size)
    return {
        "contract": venue_symbol(position.symbol),
        "size": size,
        "leverage": money(position.leverage),
        "cross_leverage_limit": money(0.0),
        "value": money(exact_product(exact_product(abs(size), contract_size), position.mark_price)),
        "margin": money(position.margin),
        "entry_price": money(position.entry_price),
        "liq_price": money(position.liq_price),
        "mark_price": money(position.mark_price),
        "unrealised_pnl": money(position.unrealised_pnl),
        "realised_pnl": money(position.realised_pnl),
        "pnl_fund": money(position.funding_pnl),
        "maintenance_rate": money(position.maintenance_rate),
        "risk_limit": money(position.risk_limit),
        "mode": "single",
    }


def positions_push(
    positions: Sequence[FuturesPosition], contract_size: float, time_s: float
) -> str:
    """``futures.positions``: size in signed contracts (negative = short)."""
    items = [_position_object(p, contract_size, as_push=True) for p in positions]
    return _push(POSITIONS, "update", time_s, items)


class LiquidateFigures(msgspec.Struct, frozen=True):
    """A liquidation of the account's position, as ``futures.liquidates`` and ``GET
    /futures/usdt/liquidates`` report it: ``size`` the position liquidated (signed
    contracts), its liquidation order's ``order_price`` and average taker
    ``fill_price``, ``left`` what the order left (contracts)."""

    time: float
    contract: str
    user: str
    leverage: float
    size: int
    margin: float
    entry_price: float
    liq_price: float
    mark_price: float
    order_id: int
    order_price: float
    fill_price: float
    left: int = 0


class AutoDeleverageFigures(msgspec.Struct, frozen=True):
    """An auto-deleveraging of the account's position, as ``futures.auto_deleverages``
    and ``GET /futures/usdt/auto_deleverages`` report it: ``trade_size`` contracts
    traded (signed as a trade), ``position_size`` the position left."""

    time: float
    contract: str
    user: str
    order_id: int
    leverage: float
    entry_price: float
    fill_price: float
    trade_size: int
    position_size: int


def _liquidate_object(item: LiquidateFigures, as_push: bool) -> dict[str, object]:
    def money(value: float) -> object:
        return value if as_push else decimal(value)

    return {
        "time": int(item.time),
        **({"time_ms": _ms(item.time), "user": item.user} if as_push else {}),
        "contract": item.contract,
        "leverage": money(item.leverage),
        "size": item.size,
        "margin": money(item.margin),
        "entry_price": money(item.entry_price),
        "liq_price": money(item.liq_price),
        "mark_price": money(item.mark_price),
        "order_id": item.order_id,
        "order_price": money(item.order_price),
        "fill_price": money(item.fill_price),
        "left": item.left,
    }


def _auto_deleverage_object(item: AutoDeleverageFigures, as_push: bool) -> dict[str, object]:
    def money(value: float) -> object:
        return value if as_push else decimal(value)

    return {
        "time": int(item.time),
        **({"time_ms": _ms(item.time)} if as_push else {}),
        "user": item.user if as_push else int(item.user),
        "order_id": item.order_id,
        "contract": item.contract,
        "leverage": money(item.leverage),
        "cross_leverage_limit": money(0.0),
        "entry_price": money(item.entry_price),
        "fill_price": money(item.fill_price),
        "trade_size": item.trade_size,
        "position_size": item.position_size,
    }


def liquidates_push(items: Sequence[LiquidateFigures], time_s: float) -> str:
    """``futures.liquidates``: numbers as numbers, as its documented sample shows."""
    return _push(LIQUIDATES, "update", time_s, [_liquidate_object(i, True) for i in items])


def auto_deleverages_push(items: Sequence[AutoDeleverageFigures], time_s: float) -> str:
    """``futures.auto_deleverages``: numbers as numbers, as its documented sample shows."""
    objects = [_auto_deleverage_object(i, True) for i in items]
    return _push(AUTO_DELEVERAGES, "update", time_s, objects)


# -------------------------------------------------------------------- REST bodies


def _contract_object(symbol: Symbol, rules: VenueRules, funding: FundingRate) -> dict:
    return {
        "name": venue_symbol(symbol),
        "type": "direct",
        "quanto_multiplier": decimal(rules.contract_size),
        "order_price_round": decimal(rules.price_tick),
        "order_size_min": round(rules.min_contracts),
        "order_size_max": 1_000_000,
        "taker_fee_rate": decimal(rules.taker_fee or 0.0),
        "maker_fee_rate": decimal(rules.taker_fee or 0.0),
        "funding_rate": decimal(funding.rate),
        "funding_rate_indicative": decimal(funding.rate),
        "funding_interval": round(funding.interval_s),
        "funding_next_apply": funding.next_ts,
        "status": "trading",
        "in_delisting": False,
        "enable_decimal": True,
    }


def contract_body(symbol: Symbol, rules: VenueRules, funding: FundingRate) -> bytes:
    """``GET /futures/usdt/contracts/{contract}`` for ``rules`` (which must give the
    contract size and the minimum in contracts)."""
    return _encode(_contract_object(symbol, rules, funding))


def contracts_body(contracts: Sequence[tuple[Symbol, VenueRules, FundingRate]]) -> bytes:
    """``GET /futures/usdt/contracts``: every contract, as one is written."""
    return _encode([_contract_object(*contract) for contract in contracts])


class RiskTierFigures(msgspec.Struct, frozen=True):
    """One row of ``GET /futures/usdt/risk_limit_tiers``."""

    tier: int
    risk_limit: float
    initial_rate: float
    maintenance_rate: float
    leverage_max: float


def risk_limit_tiers_body(rows: Sequence[RiskTierFigures]) -> bytes:
    """``GET /futures/usdt/risk_limit_tiers``: the tiers in order, numbers as strings but
    ``tier``."""
    return _encode(
        [
            {
                "tier": row.tier,
                "risk_limit": decimal(row.risk_limit),
                "initial_rate": decimal(row.initial_rate),
                "maintenance_rate": decimal(row.maintenance_rate),
                "leverage_max": decimal(row.leverage_max),
            }
            for row in rows
        ]
    )


def tickers_body(tickers: Sequence[tuple[TickerFigures, float]]) -> bytes:
    """``GET /futures/usdt/tickers``: each contract's ticker, with its contract size."""
    return _encode([_ticker_object(figures, size) for figures, size in tickers])


class AccountChange(msgspec.Struct, frozen=True):
    """One change of the futures account's ledger (``account_book``): ``change`` USDT
    at ``time`` leaving ``balance``, of ``type`` (``fund`` for funding)."""

    id: int
    time: float
    change: float
    balance: float
    type: str
    text: str
    contract: str


def account_book_body(changes: Sequence[AccountChange]) -> bytes:
    """``GET /futures/usdt/account_book``: changes newest first, amounts as strings."""
    return _encode(
        [
            {
                "time": change.time,
                "change": decimal(change.change),
                "balance": decimal(change.balance),
                "type": change.type,
                "text": change.text,
                "contract": change.contract,
                "trade_id": "",
                "id": str(change.id),
            }
            for change in sorted(changes, key=lambda c: c.id, reverse=True)
        ]
    )


def order_book_body(snapshot: DepthSnapshot, contract_size: float, time_s: float) -> bytes:
    return _encode(
        {
            "id": snapshot.version,
            "current": _seconds(time_s),
            "update": _seconds(time_s),
            "asks": _levels(snapshot.asks, contract_size),
            "bids": _levels(snapshot.bids, contract_size),
        }
    )


def order_body(update: OrderUpdate, contract_size: float, tif: str = "ioc") -> bytes:
    """An order reply (place, cancel, query); a placement is sent with HTTP 201."""
    return _encode(_order_object(update, contract_size, tif, as_push=False))


def orders_body(
    orders: Sequence[tuple[OrderUpdate, str]], contract_sizes: Mapping[Symbol, float]
) -> bytes:
    """A list of orders, each with its ``tif``; ``contract_sizes`` has each contract's."""
    return _encode(
        [_order_object(u, contract_sizes[u.symbol], tif, as_push=False) for u, tif in orders]
    )


def _trade_object(trade: Trade, closed: float, contract_size: float, id_field: str) -> dict:
    sign_ = 1 if trade.side is Side.BUY else -1
    return {
        id_field: trade.trade_id,
        "create_time": _seconds(trade.ts),
        "contract": venue_symbol(trade.symbol),
        "order_id": trade.venue_order_id,
        "size": sign_ * contracts_of(trade.qty, contract_size),
        "close_size": sign_ * contracts_of(abs(closed), contract_size),
        "price": decimal(trade.price),
        "role": "maker" if trade.is_maker else "taker",
        "text": _text(trade.client_id),
        "fee": decimal(trade.fee),
        "point_fee": "0",
    }


def my_trades_timerange_body(
    trades: Sequence[tuple[Trade, float]], contract_sizes: Mapping[Symbol, float]
) -> bytes:
    """``GET /futures/usdt/my_trades_timerange``: each of the account's trades with the
    part of it (base units, signed like the trade) that closed a position, as Gate.io's
    ``close_size``; sizes in signed contracts, ids, prices and fees as strings."""
    return _encode(
        [
            _trade_object(trade, closed, contract_sizes[trade.symbol], "trade_id")
            for trade, closed in trades
        ]
    )


def my_trades_body(
    trades: Sequence[tuple[Trade, float]], contract_sizes: Mapping[Symbol, float]
) -> bytes:
    """``GET /futures/usdt/my_trades``: as ``my_trades_timerange``, but each trade's id
    is its ``id``, a number."""
    items = []
    for trade, closed in trades:
        item = _trade_object(trade, closed, contract_sizes[trade.symbol], "id")
        item["id"] = int(trade.trade_id) if trade.trade_id.isdigit() else trade.trade_id
        items.append(item)
    return _encode(items)


def position_body(position: FuturesPosition, contract_size: float) -> bytes:
    return _encode(_position_object(position, contract_size, as_push=False))


def positions_body(positions: Sequence[tuple[FuturesPosition, float]]) -> bytes:
    """``GET /futures/usdt/positions``: each position with its contract's size."""
    return _encode([_position_object(p, size, as_push=False) for p, size in positions])


def liquidates_body(items: Sequence[LiquidateFigures]) -> bytes:
    """``GET /futures/usdt/liquidates``: newest first, prices as strings."""
    ordered = sorted(items, key=lambda i: i.time, reverse=True)
    return _encode([_liquidate_object(i, False) for i in ordered])


def auto_deleverages_body(items: Sequence[AutoDeleverageFigures]) -> bytes:
    """``GET /futures/usdt/auto_deleverages``: newest first, prices as strings."""
    ordered = sorted(items, key=lambda i: i.time, reverse=True)
    return _encode([_auto_deleverage_object(i, False) for i in ordered])


def accounts_body(
    total: float,
    available: float,
    *,
    unrealised_pnl: float = 0.0,
    position_margin: float = 0.0,
    order_margin: float = 0.0,
    currency: str = "USDT",
    in_dual_mode: bool = False,
) -> bytes:
    """``GET /futures/usdt/accounts``: ``total`` is the wallet, ``available`` what new
    orders can use; ``in_dual_mode`` the position mode (hedge mode when true)."""
    return _encode(
        {
            "currency": currency,
            "total": decimal(total),
            "available": decimal(available),
            "unrealised_pnl": decimal(unrealised_pnl),
            "position_margin": decimal(position_margin),
            "order_margin": decimal(order_margin),
            "point": "0",
            "bonus": "0",
            "in_dual_mode": in_dual_mode,
            "enable_credit": False,
        }
    )


CLASSIC_ACCOUNT_MODE = 1
"""The key's ``mode`` in the account detail: 1 a classic account, 2 a unified
(portfolio) one. Basis trades a classic futures account."""


def account_detail_body(user_id: str) -> bytes:
    """``GET /account/detail``: the user id is a number where it reads as one."""
    return _encode(
        {
            "user_id": int(user_id) if user_id.isdigit() else user_id,
            "ip_whitelist": [],
            "currency_pairs": [],
            "key": {"mode": CLASSIC_ACCOUNT_MODE},
            "tier": 0,
            "copy_trading_role": 0,
        }
    )


def server_time_body(server_ts: float) -> bytes:
    """``GET /spot/time``: ``server_time`` in milliseconds."""
    return _encode({"server_time": _ms(server_ts)})


def candlesticks_body(candles: Sequence[CandleFigures], contract_size: float) -> bytes:
    """``GET /futures/usdt/candlesticks``: each candle with its start ``t`` (seconds),
    ``o``, ``h``, ``l``, ``c`` as strings, volume ``v`` in contracts and ``sum``, the
    quote volume; oldest first."""
    return _encode(
        [
            {
                "t": int(c.open_ts),
                "v": contracts_of(c.volume, contract_size),
                "c": decimal(c.close),
                "h": decimal(c.high),
                "l": decimal(c.low),
                "o": decimal(c.open),
                "sum": decimal(c.quote_volume),
            }
            for c in candles
        ]
    )


def public_trades_body(
    symbol: Symbol, trades: Sequence[PublicTrade], contract_size: float
) -> bytes:
    """``GET /futures/usdt/trades``: the contract's trades newest first, each ``size``
    in contracts, positive when the taker bought and negative when it sold."""
    return _encode(
        [
            {
                "id": t.trade_id,
                "create_time": _seconds(t.ts),
                "create_time_ms": _ms(t.ts),
                "contract": venue_symbol(symbol),
                "size": (1 if t.taker_buys else -1) * contracts_of(t.qty, contract_size),
                "price": decimal(t.price),
                "is_internal": False,
            }
            for t in reversed(trades)
        ]
    )


def futures_fee_body(fees: Sequence[tuple[Symbol, float, float]]) -> bytes:
    """``GET /futures/usdt/fee``: each contract's ``taker_fee`` and ``maker_fee``, keyed
    by contract."""
    return _encode(
        {
            venue_symbol(symbol): {"taker_fee": decimal(taker), "maker_fee": decimal(maker)}
            for symbol, taker, maker in fees
        }
    )


def wallet_fee_body(user_id: str, taker: float, maker: float) -> bytes:
    """``GET /wallet/fee``: the account's fee rates; those of futures in
    ``futures_taker_fee`` and ``futures_maker_fee`` (the venue trades nothing else)."""
    return _encode(
        {
            "user_id": int(user_id) if user_id.isdigit() else user_id,
            "taker_fee": decimal(taker),
            "maker_fee": decimal(maker),
            "gt_discount": False,
            "gt_taker_fee": "0",
            "gt_maker_fee": "0",
            "loan_fee": "0",
            "point_type": "0",
            "futures_taker_fee": decimal(taker),
            "futures_maker_fee": decimal(maker),
            "delivery_taker_fee": decimal(taker),
            "delivery_maker_fee": decimal(maker),
        }
    )


def funding_history_body(history: Sequence[tuple[float, float]]) -> bytes:
    """``GET /futures/usdt/funding_rate``: each settlement's ``(time_s, rate)`` as
    ``{"t": seconds, "r": "rate"}``, newest first as Gate.io lists them."""
    return _encode([{"t": int(t), "r": decimal(r)} for t, r in reversed(history)])


# ------------------------------------------------------------------------ errors

# The label a simulated error carries when it names none: the first of its kind.
_DEFAULT_LABELS: dict[type[VenueError], str] = {}
for _label, _kind in ERRORS_BY_LABEL.items():
    _DEFAULT_LABELS.setdefault(_kind, _label)


def _default_label(kind: type[VenueError]) -> str | None:
    # A refinement (DuplicateClientId) carries the label of the error it refines.
    for ancestor in kind.__mro__:
        if ancestor in _DEFAULT_LABELS:
            return _DEFAULT_LABELS[ancestor]
    return None


def rate_limit_headers(limit: int, remaining: int, reset_ts: float) -> Headers:
    """The rate limit headers Gate.io puts on every reply: the endpoint's ``limit`` per
    window, the requests ``remaining`` in it, and ``reset_ts``, when it resets if
    exceeded and the current time if not (Unix seconds, rounded up)."""
    return (
        (REMAIN_HEADER, str(remaining)),
        (LIMIT_HEADER, str(limit)),
        (RESET_HEADER, str(math.ceil(reset_ts))),
    )


def error_response(error: VenueError, reset_ts: float | None = None) -> RestResponse:
    """The HTTP reply Gate.io gives for ``error``: ``{"label","message"}`` with 429 when
    rate limited (``reset_ts`` goes in the reset-timestamp header, in Unix seconds), 503
    when unavailable, 404 for an order it does not know (``ORDER_NOT_FOUND``), the
    error's own status if it has one (401 for authentication) and 400 otherwise."""
    label = error.code if isinstance(error.code, str) else _default_label(type(error))
    headers: tuple[tuple[str, str], ...] = ()
    if isinstance(error, RateLimited):
        status, label = 429, label or "TOO_MANY_REQUESTS"
        if reset_ts is not None:
            headers = ((RESET_HEADER, str(math.ceil(reset_ts))),)
    elif isinstance(error, VenueUnavailable):
        status = 503
    elif isinstance(error, UnknownOrder):
        status = 404
    else:
        status = error.http_status or 400
    if label is None:
        raise ValueError(f"no Gate.io label for {type(error).__name__}; give the error one")
    return RestResponse(status, _encode({"label": label, "message": error.message}), headers)
