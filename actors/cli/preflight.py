"""``basis preflight CONFIG``: before going live, ask the configured venues whether the
config can trade on them, and say for each thing checked ok or failing with the fix.

It reads and never places an order. The one thing it changes is each contract's
leverage on Gate.io, set to ``strategy.futures_leverage``: the futures router sets it
to that value at start anyway, and setting it is the only proof that it can be set.

Each check is a small function of :class:`Preflight` returning its results; they run
in order, keeping what they read for the checks after them (each symbol's rules, the
Gate.io futures account, the account's user id).
Exit codes: 0 when every check passed, 4 when one failed, 2 for bad arguments or a
config that cannot be checked (not live, keys missing from the environment).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import msgspec
import trio

from actors.cli.run import load_system_config
from actors.runtime.market.websocket import HandshakeFailed, WebSocketClosed, open_websocket
from actors.system_config import SystemConfig
from actors.venues.gateio import GateioPrivateCodec, futures_account, held_otherwise
from actors.venues.mexc import MexcPrivateCodec
from actors.venues.rest import VENUE_FAILURES, RequestNotSent, RestClient
from protocols import gateio_rest, mexc_rest
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

EXIT_FAILING = 4
"""Not 1, which means only that a supervision tree gave up."""
EXIT_BAD_INPUT = 2

MAX_CLOCK_SKEW_S = 1.0
"""MEXC refuses a request stamped more than 1 s ahead of its clock (Gate.io allows
60 s); past this either venue may refuse signed requests at any moment."""
STREAM_ACK_TIMEOUT_S = 10.0
"""How long a private channel may take to answer a subscription."""

VENUE_NAMES = {Leg.SPOT: "MEXC", Leg.FUTURES: "Gate.io"}


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
    """The venues as the config names them, with the keys from the environment."""

    config: SystemConfig
    spot_rest: RestClient
    futures_rest: RestClient
    spot_keys: ApiCredentials
    futures_keys: ApiCredentials
    gateio_private: GateioPrivateCodec
    """Gate.io's private channels as ``basis run`` opens them, the account's user id read
    from the venue once (the user id check) and named by the private stream check."""
    rules: dict[tuple[Leg, Symbol], VenueRules] = attrs.field(factory=dict)
    """Each symbol's rules on each leg, as the symbol checks read them."""
    account: FuturesAccountSettings | None = None
    """The Gate.io futures account, once read: the keys, position mode and balance
    checks all look at it."""

    @staticmethod
    def now() -> float:
        return time.time()

    async def mexc(self, request: RestRequest) -> RestResponse:
        return await _send(self.spot_rest, request, mexc_rest.error_from_response)

    async def gateio(self, request: RestRequest) -> RestResponse:
        return await _send(self.futures_rest, request, gateio_rest.error_from_response)

    async def futures_account(self) -> FuturesAccountSettings:
        """The Gate.io futures account, read at the first ask; raises ``VenueRefused``."""
        if self.account is None:
            try:
                self.account = await futures_account(
                    self.futures_rest, self.futures_keys, self.now()
                )
            except VENUE_FAILURES as error:
                raise VenueRefused(error) from error
        return self.account


async def _send(
    rest: RestClient, request: RestRequest, error_of: Callable[[RestResponse], VenueError]
) -> RestResponse:
    try:
        response = await rest.send(request)
    except VENUE_FAILURES as error:
        raise VenueRefused(error) from error
    if not 200 <= response.status < 300:
        raise VenueRefused(error_of(response))
    return response


def _answer(refused: VenueRefused) -> str:
    error = refused.error
    if isinstance(error, VenueError):
        # Without a code the message says it all: an unlabelled HTTP status, or what the
        # venue's answer means for the config (an account not the configured one).
        if error.code is None:
            return error.message
        return f"the venue answered {error.code}: {error.message}"
    return f"no answer: {error}"


def _key_fix(leg: Leg, config: SystemConfig, error: Exception) -> str:
    """What to do about a refused signed request, by what the venue said."""
    venue = config.venues.spot if leg is Leg.SPOT else config.venues.futures
    name = VENUE_NAMES[leg]
    if isinstance(error, RequestNotSent):
        return f"check venues.{leg.value}.rest_url ({venue.rest}) and the network"
    # The labels first: Gate.io's whitelist, permission and lock refusals are credential
    # errors too, but new keys would not mend them.
    code = error.code if isinstance(error, VenueError) else None
    if code in ("IP_FORBIDDEN", 700006):
        return f"add this machine's IP address to the key's whitelist on {name}"
    if code in ("READ_ONLY", "FORBIDDEN", 700007):
        trade = "spot trading" if leg is Leg.SPOT else "futures trading"
        return f"give the key {trade} permission on {name}'s API management page"
    if code == "ACCOUNT_LOCKED":
        return f"the {name} account is locked: have {name} unlock it"
    if isinstance(error, BadCredentials | BadSignature):
        return (
            f"set {venue.api_key_env} and {venue.api_secret_env} to a {name} API key and "
            "its secret, exactly as the venue showed them"
        )
    if isinstance(error, TimestampRejected):
        return "synchronise this machine's clock (NTP)"
    return f"see {name}'s answer above"


# ------------------------------------------------------------------ the checks


async def check_spot_keys(p: Preflight) -> list[CheckResult]:
    name = "MEXC keys"
    try:
        response = await p.mexc(mexc_rest.account_request(p.spot_keys, _ms(p.now())))
    except VenueRefused as refused:
        return [failed(name, _answer(refused), _key_fix(Leg.SPOT, p.config, refused.error))]
    permissions = mexc_rest.parse_account_permissions(response.body)
    if not permissions.canTrade or (
        permissions.permissions and "SPOT" not in permissions.permissions
    ):
        return [
            failed(
                name,
                f"valid, but canTrade is {permissions.canTrade} with permissions "
                f"{permissions.permissions}",
                "give the key spot trading permission on MEXC's API management page",
            )
        ]
    return [passed(name, "valid; the account can trade spot (canTrade)")]


async def check_futures_keys(p: Preflight) -> list[CheckResult]:
    name = "Gate.io keys"
    try:
        await p.futures_account()
    except VenueRefused as refused:
        return [failed(name, _answer(refused), _key_fix(Leg.FUTURES, p.config, refused.error))]
    return [
        passed(
            name,
            "valid; the futures account reads (trading permission: see the leverage check, "
            "which writes)",
        )
    ]


async def check_clocks(p: Preflight) -> list[CheckResult]:
    venues: list[tuple[str, Callable[[RestRequest], Awaitable[RestResponse]], Any, Any]] = [
        ("MEXC", p.mexc, mexc_rest.server_time_request, mexc_rest.parse_server_time),
        ("Gate.io", p.gateio, gateio_rest.server_time_request, gateio_rest.parse_server_time),
    ]
    results = []
    for venue, send, request, parse in venues:
        name = f"{venue} clock"
        sent = p.now()
        try:
            response = await send(request())
        except VenueRefused as refused:
            key = "spot" if venue == "MEXC" else "futures"
            results.append(failed(name, _answer(refused), f"check venues.{key}.rest_url"))
            continue
        received = p.now()
        skew = (sent + received) / 2 - parse(response.body)
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
    for symbol in p.config.symbol_list:
        for leg in (Leg.SPOT, Leg.FUTURES):
            name = f"{VENUE_NAMES[leg]} lists {symbol}"
            try:
                if leg is Leg.SPOT:
                    response = await p.mexc(mexc_rest.exchange_info_request(symbol))
                    rules = mexc_rest.parse_exchange_info(response.body, symbol)
                else:
                    response = await p.gateio(gateio_rest.contract_request(symbol))
                    rules = gateio_rest.parse_contract(response.body)
            except (VenueRefused, InvalidSymbol, TradingDisabled) as error:
                detail = _answer(error) if isinstance(error, VenueRefused) else str(error)
                fix = f"remove {symbol} from symbols, or name one both venues trade"
                results.append(failed(name, detail, fix))
                continue
            p.rules[leg, symbol] = rules
            results.append(passed(name, _rules_text(rules, symbol)))
    return results


async def check_fees(p: Preflight) -> list[CheckResult]:
    """The taker fee each venue publishes against the fee the strategy prices with: a
    strategy pricing a lower fee than it pays enters trades that lose."""
    strategy = p.config.strategy
    configured = {
        Leg.SPOT: ("spot_fee", strategy.spot_fee),
        Leg.FUTURES: ("fut_fee", strategy.fut_fee),
    }
    results = []
    for (leg, symbol), rules in p.rules.items():
        key, fee = configured[leg]
        name = f"{VENUE_NAMES[leg]} fee {symbol}"
        if rules.taker_fee is None:
            results.append(
                failed(name, "the venue's rules carry no taker fee", "check the venue's fee page")
            )
        elif rules.taker_fee > fee:
            results.append(
                failed(
                    name,
                    f"taker fee {rules.taker_fee:g}, but strategy.{key} is {fee:g}",
                    f"set strategy.{key} to at least {rules.taker_fee:g}",
                )
            )
        else:
            results.append(passed(name, f"taker fee {rules.taker_fee:g} (strategy.{key} {fee:g})"))
    return results


async def check_leverage(p: Preflight) -> list[CheckResult]:
    leverage = p.config.strategy.futures_leverage
    results = []
    for symbol in p.config.symbol_list:
        if (Leg.FUTURES, symbol) not in p.rules:
            continue  # not listed: its symbol check says so
        name = f"Gate.io leverage {symbol}"
        request = gateio_rest.set_leverage_request(symbol, leverage, p.futures_keys, int(p.now()))
        try:
            response = await p.gateio(request)
        except VenueRefused as refused:
            fix = _key_fix(Leg.FUTURES, p.config, refused.error)
            error = refused.error
            code = error.code if isinstance(error, VenueError) else None
            if code in ("LEVERAGE_TOO_HIGH", "LEVERAGE_TOO_LOW"):
                fix = (
                    f"set strategy.futures_leverage within what Gate.io allows for {symbol} "
                    "(from 1 to the contract's leverage_max)"
                )
            elif fix.startswith("see "):
                fix = (
                    f"make sure the key may trade futures and {symbol} takes "
                    f"strategy.futures_leverage = {leverage:g}"
                )
            results.append(failed(name, _answer(refused), fix))
            continue
        contract_size = p.rules[Leg.FUTURES, symbol].contract_size
        position = gateio_rest.parse_position_settings(response.body, contract_size)
        otherwise = held_otherwise(position, leverage)
        if otherwise is not None:
            fix = (
                f"hold {symbol} on Gate.io at isolated margin in single position mode, "
                f"where strategy.futures_leverage = {leverage:g} can be set"
            )
            results.append(failed(name, otherwise, fix))
            continue
        results.append(
            passed(
                name,
                f"set to {position.leverage:g}x at isolated margin, the configured leverage "
                "basis run sets at start",
            )
        )
    return results


async def check_position_mode(p: Preflight) -> list[CheckResult]:
    name = "Gate.io position mode"
    try:
        account = await p.futures_account()
    except VenueRefused as refused:
        return [failed(name, _answer(refused), _key_fix(Leg.FUTURES, p.config, refused.error))]
    if account.in_dual_mode:
        return [
            failed(
                name,
                "dual (hedge) mode: a long and a short per contract",
                "switch the Gate.io USDT futures account to single position mode; Basis "
                "holds one short per contract and refuses dual mode",
            )
        ]
    return [passed(name, "single: one position per contract")]


def _spot_need(p: Preflight) -> float:
    """USDT the spot leg spends: every symbol's buy at once, with its fee."""
    strategy = p.config.strategy
    size = strategy.base_position_size_usdt * len(p.config.symbols)
    return size * (1.0 + strategy.spot_fee)


def _futures_need(p: Preflight) -> float:
    """USDT margin the futures leg needs: every symbol's short at once at the configured
    leverage, plus its fee."""
    strategy = p.config.strategy
    size = strategy.base_position_size_usdt * len(p.config.symbols)
    return size / strategy.futures_leverage + size * strategy.fut_fee


def _funding_fix(venue: str, have: float, need: float) -> str:
    return (
        f"add at least {need - have:.2f} USDT to the {venue}, or lower "
        "strategy.base_position_size_usdt or the number of symbols"
    )


async def check_balances(p: Preflight) -> list[CheckResult]:
    results = []
    symbols = len(p.config.symbols)
    size = p.config.strategy.base_position_size_usdt
    basis = f"{symbols} symbol{'s' * (symbols > 1)} x {size:g} USDT"
    name = "MEXC balance"
    try:
        response = await p.mexc(mexc_rest.account_request(p.spot_keys, _ms(p.now())))
    except VenueRefused as refused:
        results.append(failed(name, _answer(refused), "see the MEXC keys check"))
    else:
        balances = mexc_rest.parse_account(response.body)
        have = next((b.free for b in balances if b.asset == "USDT"), 0.0)
        need = _spot_need(p)
        detail = f"{have:.2f} USDT free; the buys of {basis} with fees need {need:.2f}"
        results.append(
            passed(name, detail)
            if have >= need
            else failed(name, detail, _funding_fix("MEXC spot account", have, need))
        )
    name = "Gate.io balance"
    try:
        account = await p.futures_account()
    except VenueRefused as refused:
        results.append(failed(name, _answer(refused), "see the Gate.io keys check"))
    else:
        have = account.available
        need = _futures_need(p)
        leverage = p.config.strategy.futures_leverage
        detail = (
            f"{have:.2f} USDT available; the shorts of {basis} at {leverage:g}x with fees "
            f"need {need:.2f} margin"
        )
        results.append(
            passed(name, detail)
            if have >= need
            else failed(name, detail, _funding_fix("Gate.io USDT futures account", have, need))
        )
    return results


async def check_user_id(p: Preflight) -> list[CheckResult]:
    """The account's user id, which Gate.io's private channels name: read from the venue,
    and the config's, when it names one, must be it."""
    name = "Gate.io user id"
    configured = p.config.venues.futures.user_id
    try:
        user_id = await p.gateio_private.identify(p.futures_rest, p.now())
    except WrongAccount as error:
        return [failed(name, "venues.futures.user_id names another account", str(error))]
    except VENUE_FAILURES as error:
        return [failed(name, _answer(VenueRefused(error)), _key_fix(Leg.FUTURES, p.config, error))]
    if configured:
        return [passed(name, f"{user_id}, the key's account, as venues.futures.user_id says")]
    return [passed(name, f"{user_id}, read from the venue (venues.futures.user_id is unset)")]


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
    spot, futures = p.config.venues.spot, p.config.venues.futures

    async def mexc_stream() -> list[SubscriptionResult]:
        codec = MexcPrivateCodec(p.spot_keys)
        try:
            url = await codec.open_url(p.spot_rest, spot.ws, p.now())
        except VENUE_FAILURES as error:
            raise VenueRefused(error) from error
        try:
            return await _subscribe(url, codec, p.now())
        finally:
            assert codec.listen_key is not None
            close = mexc_rest.listen_key_request(
                "DELETE", p.spot_keys, _ms(p.now()), codec.listen_key
            )
            # A key left open expires by itself within the hour: a failed close is no
            # finding about the config.
            with trio.move_on_after(STREAM_ACK_TIMEOUT_S), contextlib.suppress(*VENUE_FAILURES):
                await p.spot_rest.send(close)

    async def gateio_stream() -> list[SubscriptionResult]:
        # Opening identifies the account (as the user id check did: asked once).
        codec = p.gateio_private
        try:
            url = await codec.open_url(p.futures_rest, futures.ws, p.now())
        except VENUE_FAILURES as error:
            raise VenueRefused(error) from error
        return await _subscribe(url, codec, p.now())

    return [
        await _stream_check(
            "MEXC private stream",
            f"check venues.spot.ws_url ({spot.ws}) and that the key may read the account",
            mexc_stream,
        ),
        await _stream_check(
            "Gate.io private stream",
            f"check venues.futures.ws_url ({futures.ws}), the key, and venues.futures.user_id "
            "(unset, it is read from the account; set, it must be the account's)",
            gateio_stream,
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
    config: SystemConfig, spot_keys: ApiCredentials, futures_keys: ApiCredentials
) -> PreflightReport:
    """Every check against the venues ``config`` names, in order."""
    spot, futures = config.venues.spot, config.venues.futures
    async with (
        RestClient(spot.rest, timeout_s=spot.request_timeout_s) as spot_rest,
        RestClient(futures.rest, timeout_s=futures.request_timeout_s) as futures_rest,
    ):
        private = GateioPrivateCodec(futures_keys, futures.user_id, {})
        p = Preflight(config, spot_rest, futures_rest, spot_keys, futures_keys, private)
        results = []
        for check in CHECKS:
            try:
                results.extend(await check(p))
            except MalformedResponse as error:
                results.append(unreadable(check.__name__, error))
            except (VenueRefused, *VENUE_FAILURES) as error:
                # Each check names what the venue said; one that could not is still a line.
                refused = error if isinstance(error, VenueRefused) else VenueRefused(error)
                results.append(unanswered(check.__name__, refused))
    return PreflightReport(all(result.ok for result in results), results)


def unanswered(check: str, refused: VenueRefused) -> CheckResult:
    """A venue failure a check did not turn into a line of its own."""
    return failed(
        check.removeprefix("check_").replace("_", " "),
        _answer(refused),
        "check that the venues are reachable (rest_url, ws_url) and try again",
    )


def unreadable(check: str, error: MalformedResponse) -> CheckResult:
    """A reply a check could not read: not the venue its documentation describes."""
    return failed(
        check.removeprefix("check_").replace("_", " "),
        f"unreadable {error.exchange} reply: {error.message}",
        "check that the venues' rest_url and ws_url name MEXC's and Gate.io's APIs",
    )


def _ms(now: float) -> int:
    return int(now * 1000)


# ------------------------------------------------------------------ the command


def add_preflight_commands(commands: argparse._SubParsersAction) -> None:
    command = commands.add_parser(
        "preflight",
        help="check a live config against its venues before going live (never trades)",
        description="Connect to the venues CONFIG names, with the keys from the environment, "
        "and check: keys and their permissions, clock skew, each symbol's rules on both "
        "venues, fee rates against [strategy], leverage (set to strategy.futures_leverage, "
        "as basis run does at start) and position mode, balances for every symbol's "
        "position on both legs, the Gate.io user id, and the private streams. Places no "
        "order. Exits 0 only when every check passed.",
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
    spot_keys = config.venues.spot.credentials()
    futures_keys = config.venues.futures.credentials()
    if missing or spot_keys is None or futures_keys is None:
        print(
            "basis preflight: the venues' API keys are read from the environment; set "
            + ", ".join(missing),
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    report = trio.run(preflight, config, spot_keys, futures_keys)
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
