"""``basis preflight CONFIG``: before going live, ask the configured venues whether the
config can trade on them, and say for each thing checked ok or failing with the fix.

Each venue is asked through its plug (``actors.venues.kinds``), so any spot venue and
any futures venue are checked alike, each line naming the venue by its title.

It reads and never places an order. The one thing it changes is how each contract is
held on the futures venue: isolated margin at ``strategy.futures_leverage``. The futures
router sets that at start anyway, and setting it is the only proof that it can be set.
The position mode is the whole account's, and only read.

Each check is a small function of :class:`Preflight` returning its results; they run
in order, keeping what they read for the checks after them (each symbol's rules, the
futures account, the account's user id where the venue has one).
Exit codes: 0 when every check passed, 4 when one failed, 2 for bad arguments or a
config that cannot be checked (not live, keys missing from the environment).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import attrs
import msgspec
import trio

from actors.arbitrage.config import StrategyConfig
from actors.cli.run import load_system_config
from actors.runtime.market.websocket import HandshakeFailed, WebSocketClosed, open_websocket
from actors.runtime.venue_config import VenuePair
from actors.system_config import SystemConfig
from actors.venues.kinds import FuturesVenue, SpotVenue, futures_venue, spot_venue, venue_of_kind
from actors.venues.rest import VENUE_FAILURES, RequestNotSent, RestClient
from protocols.model import Leg, Symbol, VenueRules
from protocols.venue import (
    ApiCredentials,
    BadCredentials,
    BadSignature,
    FuturesAccountSettings,
    InvalidSymbol,
    MalformedResponse,
    RestRequest,
    RestResponse,
    SubscriptionResult,
    TimestampRejected,
    TradingDisabled,
    VenueError,
    WrongAccount,
)

T = TypeVar("T")

EXIT_FAILING = 4
"""Not 1, which means only that a supervision tree gave up."""
EXIT_BAD_INPUT = 2

MAX_CLOCK_SKEW_S = 1.0
"""MEXC and Binance refuse a request stamped more than 1 s ahead of their clocks
(Gate.io allows 60 s); past this a venue may refuse signed requests at any moment."""
STREAM_ACK_TIMEOUT_S = 10.0
"""How long a private channel may take to answer a subscription."""

LEVERAGE_RANGES = {
    "LEVERAGE_TOO_HIGH": "from 1 to the contract's leverage_max",
    "LEVERAGE_TOO_LOW": "from 1 to the contract's leverage_max",
    -4028: "a whole number from 1 to the symbol's highest leverage bracket",
}
"""The venues' refusals of a leverage (Gate.io's labels, Binance's code), with the
leverage each venue takes."""


class CheckResult(msgspec.Struct, frozen=True):
    """One line of the report: what was checked, whether it passed, what was found, and
    for a failure what to do about it."""

    check: str
    ok: bool
    detail: str
    fix: str = ""


class PreflightReport(msgspec.Struct, frozen=True):
    passed: bool
    checks: list[CheckResult]


def passed(check: str, detail: str) -> CheckResult:
    return CheckResult(check, True, detail)


def failed(check: str, detail: str, fix: str) -> CheckResult:
    return CheckResult(check, False, detail, fix)


class VenueRefused(Exception):
    """A venue answered a request with an error, or could not be asked at all."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


@attrs.define
class Preflight:
    """One pair of venues as the config names them, with the keys from the environment,
    and the symbols that trade at them."""

    config: SystemConfig
    pair: VenuePair
    symbols: list[Symbol]
    spot: SpotVenue
    futures: FuturesVenue
    spot_rest: RestClient
    futures_rest: RestClient
    spot_keys: ApiCredentials
    futures_keys: ApiCredentials
    routers: dict[Leg, Any]
    """Each venue's router codec, as ``basis run`` builds it (without leverage, which the
    leverage check sets itself): what the clock checks ask, how replies are read as
    errors."""
    futures_private: Any
    """The futures venue's private stream codec as ``basis run`` builds it: where the
    venue names the account by a user id, it reads that once (the user id check) and the
    private stream check names it."""
    rules: dict[tuple[Leg, Symbol], VenueRules] = attrs.field(factory=dict)
    """Each symbol's rules on each leg, as the symbol checks read them."""
    account: FuturesAccountSettings | None = None
    """The futures account, once read: the keys, position mode and balance checks all
    look at it."""
    user_id: str | None = None
    """The account's user id as the user id check read it: ``""`` where the venue names
    the account by the key alone."""

    @staticmethod
    def now() -> float:
        return time.time()

    @property
    def strategy(self) -> StrategyConfig:
        """``[strategy]`` as this pair's symbols trade it (its fee rates)."""
        return self.config.strategy_of(self.symbols[0])

    def venue(self, leg: Leg) -> SpotVenue | FuturesVenue:
        return self.spot if leg is Leg.SPOT else self.futures

    async def ask(self, reading: Awaitable[T]) -> T:
        """What a venue's plug reads; raises ``VenueRefused`` when the venue says no."""
        try:
            return await reading
        except VENUE_FAILURES as error:
            raise VenueRefused(error) from error

    async def send(self, leg: Leg, request: RestRequest) -> RestResponse:
        rest = self.spot_rest if leg is Leg.SPOT else self.futures_rest
        response = await self.ask(rest.send(request))
        if not 200 <= response.status < 300:
            raise VenueRefused(self.routers[leg].error(response, self.now()))
        return response

    async def futures_account(self) -> FuturesAccountSettings:
        """The futures account, read at the first ask; raises ``VenueRefused``."""
        if self.account is None:
            self.account = await self.ask(
                self.futures.account(self.futures_rest, self.futures_keys, self.now())
            )
        return self.account


def _answer(refused: VenueRefused) -> str:
    error = refused.error
    if isinstance(error, VenueError):
        # Without a code the message says it all: an unlabelled HTTP status, or what the
        # venue's answer means for the config (an account not the configured one).
        if error.code is None:
            return error.message
        return f"the venue answered {error.code}: {error.message}"
    return f"no answer: {error}"


def _key_fix(leg: Leg, pair: VenuePair, error: Exception) -> str:
    """What to do about a refused signed request, by what the venue said."""
    section = pair.of(leg)
    venue = venue_of_kind(section.kind)
    name = venue.title
    if isinstance(error, RequestNotSent):
        return f"check {pair.table(leg)}.rest_url ({section.rest}) and the network"
    set_keys = (
        f"set {section.api_key_env} and {section.api_secret_env} to a {name} API key and "
        "its secret, exactly as the venue showed them"
    )
    # The labels first: Gate.io's whitelist, permission and lock refusals are credential
    # errors too, but new keys would not mend them.
    code = error.code if isinstance(error, VenueError) else None
    if code in ("IP_FORBIDDEN", 700006):
        return f"add this machine's IP address to the key's whitelist on {name}"
    if code in ("READ_ONLY", "FORBIDDEN", 700007):
        return venue.trade_permission
    if code == "ACCOUNT_LOCKED":
        return f"the {name} account is locked: have {name} unlock it"
    if code == -2015:
        # Binance says the same of an unknown key, an IP off its whitelist and a
        # permission it lacks.
        return (
            f"{set_keys}. If they are, {venue.trade_permission}, and add this machine's IP "
            "address to the key's whitelist if it has one"
        )
    if isinstance(error, BadCredentials | BadSignature):
        return set_keys
    if isinstance(error, TimestampRejected):
        return "synchronise this machine's clock (NTP)"
    return f"see {name}'s answer above"


# ------------------------------------------------------------------ the checks


async def check_spot_keys(p: Preflight) -> list[CheckResult]:
    name = f"{p.spot.title} keys"
    try:
        permissions = await p.ask(p.spot.permissions(p.spot_rest, p.spot_keys, p.now()))
    except VenueRefused as refused:
        return [failed(name, _answer(refused), _key_fix(Leg.SPOT, p.pair, refused.error))]
    if not permissions.canTrade or (
        permissions.permissions and "SPOT" not in permissions.permissions
    ):
        return [
            failed(
                name,
                f"valid, but canTrade is {permissions.canTrade} with permissions "
                f"{permissions.permissions}",
                p.spot.trade_permission,
            )
        ]
    return [passed(name, "valid; the account can trade spot (canTrade)")]


async def check_futures_keys(p: Preflight) -> list[CheckResult]:
    name = f"{p.futures.title} keys"
    try:
        await p.futures_account()
    except VenueRefused as refused:
        return [failed(name, _answer(refused), _key_fix(Leg.FUTURES, p.pair, refused.error))]
    return [
        passed(
            name,
            "valid; the futures account reads (trading permission: see the leverage check, "
            "which writes)",
        )
    ]


async def check_clocks(p: Preflight) -> list[CheckResult]:
    results = []
    for leg in (Leg.SPOT, Leg.FUTURES):
        name = f"{p.venue(leg).title} clock"
        router = p.routers[leg]
        sent = p.now()
        try:
            response = await p.send(leg, router.clock_request())
        except VenueRefused as refused:
            results.append(failed(name, _answer(refused), f"check {p.pair.table(leg)}.rest_url"))
            continue
        received = p.now()
        skew = (sent + received) / 2 - router.parse_clock(response)
        detail = (
            f"this machine is {abs(skew) * 1000:.0f} ms "
            f"{'ahead of' if skew >= 0 else 'behind'} the venue "
            f"(round trip {(received - sent) * 1000:.0f} ms)"
        )
        if abs(skew) > MAX_CLOCK_SKEW_S:
            fix = f"synchronise this machine's clock (NTP): keep it within {MAX_CLOCK_SKEW_S:g} s"
            results.append(failed(name, detail, fix))
        else:
            results.append(passed(name, detail))
    return results


def _rules_text(rules: VenueRules, symbol: Symbol) -> str:
    text = (
        f"step {rules.qty_step:g} {symbol.base}, min {rules.min_qty:g}, tick {rules.price_tick:g}"
    )
    if rules.min_notional:
        text += f", min notional {rules.min_notional:g} {symbol.quote}"
    if rules.contract_size:
        text += f", contract {rules.contract_size:g} {symbol.base}"
    return text


async def check_symbols(p: Preflight) -> list[CheckResult]:
    results = []
    for symbol in p.symbols:
        for leg in (Leg.SPOT, Leg.FUTURES):
            venue = p.venue(leg)
            rest, keys = (
                (p.spot_rest, p.spot_keys) if leg is Leg.SPOT else (p.futures_rest, p.futures_keys)
            )
            name = f"{venue.title} lists {symbol}"
            try:
                rules = await p.ask(venue.rules(rest, keys, symbol, p.now()))
            except VenueRefused as refused:
                unlisted = isinstance(refused.error, InvalidSymbol | TradingDisabled)
                detail = str(refused.error) if unlisted else _answer(refused)
                # Some venues give the account's fee only to a signed request: a refused
                # key is no reason to drop the symbol.
                fix = "" if unlisted else _key_fix(leg, p.pair, refused.error)
                if not fix or fix.startswith("see "):
                    fix = f"remove {symbol} from symbols, or name one both venues trade"
                results.append(failed(name, detail, fix))
                continue
            p.rules[leg, symbol] = rules
            results.append(passed(name, _rules_text(rules, symbol)))
    return results


async def check_fees(p: Preflight) -> list[CheckResult]:
    """The taker fee each venue charges the account against the fee the strategy prices
    with: a strategy pricing a lower fee than it pays enters trades that lose."""
    strategy = p.strategy
    configured = {
        Leg.SPOT: (p.pair.fee_key(Leg.SPOT), strategy.spot_fee),
        Leg.FUTURES: (p.pair.fee_key(Leg.FUTURES), strategy.fut_fee),
    }
    results = []
    for (leg, symbol), rules in p.rules.items():
        key, fee = configured[leg]
        name = f"{p.venue(leg).title} fee {symbol}"
        if rules.taker_fee is None:
            results.append(
                failed(name, "the venue's rules carry no taker fee", "check the venue's fee page")
            )
        elif rules.taker_fee > fee:
            results.append(
                failed(
                    name,
                    f"taker fee {rules.taker_fee:g}, but {key} is {fee:g}",
                    f"set {key} to at least {rules.taker_fee:g}",
                )
            )
        else:
            results.append(passed(name, f"taker fee {rules.taker_fee:g} ({key} {fee:g})"))
    return results


async def check_leverage(p: Preflight) -> list[CheckResult]:
    leverage = p.config.strategy.futures_leverage
    title = p.futures.title
    results = []
    for symbol in p.symbols:
        rules = p.rules.get((Leg.FUTURES, symbol))
        if rules is None:
            continue  # not listed: its symbol check says so
        name = f"{title} leverage {symbol}"
        try:
            otherwise = await p.ask(
                p.futures.hold(p.futures_rest, p.futures_keys, symbol, rules, leverage, p.now())
            )
        except VenueRefused as refused:
            fix = _key_fix(Leg.FUTURES, p.pair, refused.error)
            error = refused.error
            code = error.code if isinstance(error, VenueError) else None
            if code in LEVERAGE_RANGES:
                fix = (
                    f"set strategy.futures_leverage within what {title} allows for {symbol} "
                    f"({LEVERAGE_RANGES[code]})"
                )
            elif fix.startswith("see "):
                fix = (
                    f"make sure the key may trade futures and {symbol} takes "
                    f"strategy.futures_leverage = {leverage:g}"
                )
            results.append(failed(name, _answer(refused), fix))
            continue
        if otherwise is not None:
            fix = (
                f"hold {symbol} on {title} at isolated margin in {p.futures.one_way_mode} "
                f"position mode, where strategy.futures_leverage = {leverage:g} can be set"
            )
            results.append(failed(name, otherwise, fix))
            continue
        results.append(
            passed(
                name,
                f"set to {leverage:g}x at isolated margin, the configured leverage basis run "
                "sets at start",
            )
        )
    return results


async def check_position_mode(p: Preflight) -> list[CheckResult]:
    name = f"{p.futures.title} position mode"
    one_way = p.futures.one_way_mode
    try:
        account = await p.futures_account()
    except VenueRefused as refused:
        return [failed(name, _answer(refused), _key_fix(Leg.FUTURES, p.pair, refused.error))]
    if account.in_dual_mode:
        return [
            failed(
                name,
                "dual (hedge) mode: a long and a short per contract",
                f"switch the {p.futures.account_name} to {one_way} position mode; Basis "
                "holds one short per contract and refuses dual mode",
            )
        ]
    return [passed(name, f"{one_way}: one position per contract")]


def _traded_at(p: Preflight, leg: Leg) -> int:
    """How many symbols trade at ``leg``'s venue: this pair's, and any other pair's that
    shares the venue (and its account)."""
    return len(p.config.symbols_at(p.pair.of(leg).kind))


def _spot_need(p: Preflight) -> float:
    """USDT the spot account spends: the buy of every symbol it trades at once, with its
    fee."""
    strategy = p.strategy
    size = strategy.base_position_size_usdt * _traded_at(p, Leg.SPOT)
    return size * (1.0 + strategy.spot_fee)


def _futures_need(p: Preflight) -> float:
    """USDT margin the futures account needs: the short of every symbol it trades at
    once at the configured leverage, plus its fee."""
    strategy = p.strategy
    size = strategy.base_position_size_usdt * _traded_at(p, Leg.FUTURES)
    return size / strategy.futures_leverage + size * strategy.fut_fee


def _funding_fix(account: str, have: float, need: float) -> str:
    return (
        f"add at least {need - have:.2f} USDT to the {account}, or lower "
        "strategy.base_position_size_usdt or the number of symbols"
    )


async def check_balances(p: Preflight) -> list[CheckResult]:
    results = []
    size = p.config.strategy.base_position_size_usdt

    def basis(leg: Leg) -> str:
        symbols = _traded_at(p, leg)
        return f"{symbols} symbol{'s' * (symbols > 1)} x {size:g} USDT"

    name = f"{p.spot.title} balance"
    try:
        have = await p.ask(p.spot.free_usdt(p.spot_rest, p.spot_keys, p.now()))
    except VenueRefused as refused:
        results.append(failed(name, _answer(refused), f"see the {p.spot.title} keys check"))
    else:
        need = _spot_need(p)
        detail = f"{have:.2f} USDT free; the buys of {basis(Leg.SPOT)} with fees need {need:.2f}"
        results.append(
            passed(name, detail)
            if have >= need
            else failed(name, detail, _funding_fix(p.spot.account_name, have, need))
        )
    name = f"{p.futures.title} balance"
    try:
        account = await p.futures_account()
    except VenueRefused as refused:
        results.append(failed(name, _answer(refused), f"see the {p.futures.title} keys check"))
    else:
        have = account.available
        need = _futures_need(p)
        leverage = p.config.strategy.futures_leverage
        detail = (
            f"{have:.2f} USDT available; the shorts of {basis(Leg.FUTURES)} at {leverage:g}x "
            f"with fees need {need:.2f} margin"
        )
        results.append(
            passed(name, detail)
            if have >= need
            else failed(name, detail, _funding_fix(p.futures.account_name, have, need))
        )
    return results


async def check_user_id(p: Preflight) -> list[CheckResult]:
    """The account's user id, which some venues' private channels name (Gate.io's): read
    from the venue, and the config's, when it names one, must be it. A venue whose key
    names the account has none to check."""
    name = f"{p.futures.title} user id"
    configured = p.pair.futures.user_id
    table = p.pair.table(Leg.FUTURES)
    try:
        user_id = await p.futures_private.identify(p.futures_rest, p.now())
    except WrongAccount as error:
        return [failed(name, f"{table}.user_id names another account", str(error))]
    except VENUE_FAILURES as error:
        return [failed(name, _answer(VenueRefused(error)), _key_fix(Leg.FUTURES, p.pair, error))]
    p.user_id = user_id
    if not user_id:
        return []
    if configured:
        return [passed(name, f"{user_id}, the key's account, as {table}.user_id says")]
    return [passed(name, f"{user_id}, read from the venue ({table}.user_id is unset)")]


async def _subscribe(url: str, codec: Any, now: float) -> list[SubscriptionResult]:
    """Connect to ``url``, send ``codec``'s subscriptions and return the venue's answer
    to each; closes the connection."""
    answers: list[SubscriptionResult] = []
    async with open_websocket(url, headers=codec.handshake_headers) as ws:
        requests = codec.subscriptions(now)
        for request in requests:
            await ws.send_message(request)
        with trio.fail_after(STREAM_ACK_TIMEOUT_S):
            while len(answers) < len(requests):
                for event in codec.decode(await ws.get_message(), time.time()):
                    if isinstance(event, SubscriptionResult):
                        answers.append(event)
    return answers


def _stream_result(name: str, answers: list[SubscriptionResult], fix: str) -> CheckResult:
    refused = [answer for answer in answers if not answer.ok]
    if refused:
        said = "; ".join(f"{answer.channel}: {answer.message}" for answer in refused)
        return failed(name, f"subscription refused: {said}", fix)
    channels = ", ".join(answer.channel for answer in answers)
    return passed(name, f"subscribed ({channels}), then closed")


async def _stream_check(
    name: str, fix: str, run: Callable[[], Awaitable[list[SubscriptionResult]]]
) -> CheckResult:
    problem = ""
    try:
        answers = await run()
    except VenueRefused as refused:
        problem = _answer(refused)
    except trio.TooSlowError:
        problem = f"no answer within {STREAM_ACK_TIMEOUT_S:g} s"
    except (OSError, HandshakeFailed, WebSocketClosed) as error:
        problem = f"cannot connect: {error}"
    if problem:
        return failed(name, problem, fix)
    return _stream_result(name, answers, fix)


async def check_private_streams(p: Preflight) -> list[CheckResult]:
    spot, futures = p.pair.spot, p.pair.futures

    async def spot_stream() -> list[SubscriptionResult]:
        codec = p.spot.private_codec(p.spot_keys)
        url = await p.ask(codec.open_url(p.spot_rest, spot.ws, p.now()))
        try:
            return await _subscribe(url, codec, p.now())
        finally:
            if p.spot.close_private is not None:
                # What is left open expires by itself within the hour: a failed close is
                # no finding about the config.
                with (
                    trio.move_on_after(STREAM_ACK_TIMEOUT_S),
                    contextlib.suppress(*VENUE_FAILURES),
                ):
                    await p.spot.close_private(p.spot_rest, codec, p.now())

    async def futures_stream() -> list[SubscriptionResult]:
        # Opening identifies the account where the venue asks it (as the user id check
        # did: asked once).
        codec = p.futures_private
        url = await p.ask(codec.open_url(p.futures_rest, futures.ws, p.now()))
        return await _subscribe(url, codec, p.now())

    what = (
        " and the key"
        if p.user_id == ""
        else f", the key, and {p.pair.table(Leg.FUTURES)}.user_id (unset, it is read from the "
        "account; set, it must be the account's)"
    )
    return [
        await _stream_check(
            f"{p.spot.title} private stream",
            f"check {p.pair.table(Leg.SPOT)}.ws_url ({spot.ws}) and that the key may read the "
            "account",
            spot_stream,
        ),
        await _stream_check(
            f"{p.futures.title} private stream",
            f"check {p.pair.table(Leg.FUTURES)}.ws_url ({futures.ws}){what}",
            futures_stream,
        ),
    ]


CHECKS: tuple[Callable[[Preflight], Awaitable[list[CheckResult]]], ...] = (
    check_spot_keys,
    check_futures_keys,
    check_clocks,
    check_symbols,
    check_fees,
    check_leverage,
    check_position_mode,
    check_balances,
    check_user_id,
    check_private_streams,
)


async def preflight(
    config: SystemConfig, credentials: Mapping[str, ApiCredentials]
) -> PreflightReport:
    """Every check against the venues ``config`` names, in order, for each pair of venues
    its symbols trade at (``credentials``: each venue's keys, by kind)."""
    pairs: dict[str, tuple[VenuePair, list[Symbol]]] = {}
    for symbol in config.symbol_list:
        pair = config.pair_of(symbol)
        pairs.setdefault(pair.title, (pair, []))[1].append(symbol)
    results = []
    for pair, symbols in pairs.values():
        results += await _pair_preflight(config, pair, symbols, credentials)
    return PreflightReport(all(result.ok for result in results), results)


async def _pair_preflight(
    config: SystemConfig,
    pair: VenuePair,
    symbols: list[Symbol],
    credentials: Mapping[str, ApiCredentials],
) -> list[CheckResult]:
    spot, futures = pair.spot, pair.futures
    spot_plug, futures_plug = spot_venue(spot.kind), futures_venue(futures.kind)
    spot_keys, futures_keys = credentials[spot.kind], credentials[futures.kind]
    async with (
        RestClient(spot.rest, timeout_s=spot.request_timeout_s) as spot_rest,
        RestClient(futures.rest, timeout_s=futures.request_timeout_s) as futures_rest,
    ):
        p = Preflight(
            config,
            pair,
            symbols,
            spot_plug,
            futures_plug,
            spot_rest,
            futures_rest,
            spot_keys,
            futures_keys,
            {
                Leg.SPOT: spot_plug.router_codec(spot_keys),
                Leg.FUTURES: futures_plug.router_codec(futures_keys, {}),
            },
            futures_plug.private_codec(futures_keys, futures.user_id, {}, {}),
        )
        titles = f"{spot_plug.title}'s and {futures_plug.title}'s"
        results = []
        for check in CHECKS:
            try:
                results.extend(await check(p))
            except MalformedResponse as error:
                results.append(unreadable(check.__name__, error, titles))
            except (VenueRefused, *VENUE_FAILURES) as error:
                # Each check names what the venue said; one that could not is still a line.
                refused = error if isinstance(error, VenueRefused) else VenueRefused(error)
                results.append(unanswered(check.__name__, refused))
    return results


def unanswered(check: str, refused: VenueRefused) -> CheckResult:
    """A venue failure a check did not turn into a line of its own."""
    return failed(
        check.removeprefix("check_").replace("_", " "),
        _answer(refused),
        "check that the venues are reachable (rest_url, ws_url) and try again",
    )


def unreadable(check: str, error: MalformedResponse, titles: str) -> CheckResult:
    """A reply a check could not read: not the venue its documentation describes.
    ``titles``: whose APIs the config should name."""
    return failed(
        check.removeprefix("check_").replace("_", " "),
        f"unreadable {error.exchange} reply: {error.message}",
        f"check that the venues' rest_url and ws_url name {titles} APIs",
    )


# ------------------------------------------------------------------ the command


def add_preflight_commands(commands: argparse._SubParsersAction) -> None:
    command = commands.add_parser(
        "preflight",
        help="check a live config against its venues before going live (never trades)",
        description="Connect to the venues CONFIG names, with the keys from the environment, "
        "and check: keys and their permissions, clock skew, each symbol's rules on both "
        "venues, fee rates against [strategy], leverage (set to strategy.futures_leverage, "
        "as basis run does at start) and position mode, balances for every symbol's "
        "position on both legs, the account's user id where the venue names one (Gate.io), "
        "and the private streams. Any spot venue (mexc, binance) with any futures venue "
        "(gateio_futures, binance_futures). Places no order. Exits 0 only when every check "
        "passed.",
        epilog="Example: basis preflight configs/sim-live.toml --json",
    )
    command.add_argument("config", metavar="CONFIG", help="a live system config (TOML)")
    command.add_argument("--json", action="store_true", help="print the report as JSON")
    command.set_defaults(handler=command_preflight)


def command_preflight(args: argparse.Namespace) -> int:
    config = load_system_config(args.config, "preflight")
    if config is None:
        return EXIT_BAD_INPUT
    if config.mode != "live":
        print(
            f"basis preflight: {args.config} is in {config.mode} mode; preflight checks the "
            'venues of a live config (mode = "live")',
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    missing = config.missing_credentials()
    credentials = {kind: venue.credentials() for kind, venue in config.venues_in_use.items()}
    if missing or None in credentials.values():
        print(
            "basis preflight: the venues' API keys are read from the environment; set "
            + ", ".join(missing),
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    report = trio.run(preflight, config, credentials)
    if args.json:
        sys.stdout.write(msgspec.json.encode(report).decode() + "\n")
    else:
        print(render(report))
    return 0 if report.passed else EXIT_FAILING


def render(report: PreflightReport) -> str:
    lines = []
    for result in report.checks:
        lines.append(f"{'ok' if result.ok else 'FAILING':8} {result.check}: {result.detail}")
        if result.fix:
            lines.append(f"{'':8}   fix: {result.fix}")
    failing = sum(not result.ok for result in report.checks)
    lines.append(
        "preflight passed: every check ok"
        if report.passed
        else f"preflight failed: {failing} of {len(report.checks)} checks failing"
    )
    return "\n".join(lines)
