"""The simulated venues' control API: JSON over HTTP on its own port, for chaos runs,
tests and people.

Reading:

- ``GET /ledger``: both venues' ledgers, every entry in order (``Ledgers``): accepted
  orders with their client ids, fills, finished orders, funding;
- ``GET /positions``: spot balances, the futures account and positions (``Holdings``);
- ``GET /faults``: each venue's active faults and what was injected so far (``Faults``);
- ``GET /urls``: where the venues listen (``SimUrls``).

Switching (``POST``, JSON body, ``{}`` or empty when there are no parameters), each
answered with ``FaultApplied``, that venue's faults after the change:

- ``/faults/{venue}/drop_websockets``
- ``/faults/{venue}/stall_websockets`` ``{"seconds": S}``
- ``/faults/{venue}/delay_frames`` ``{"ms": MS}``
- ``/faults/{venue}/refuse_connections`` ``{"seconds": S}``
- ``/faults/{venue}/fail_requests`` ``{"count": N}``
- ``/faults/{venue}/rate_limit_requests`` ``{"count": N, "retry_after_s": S = 1}``
- ``/faults/{venue}/time_out_orders`` ``{"count": N, "hold_s": S = 10}``
- ``/faults/{venue}/reject_orders`` ``{"count": N, "error": NAME = "VenueUnavailable"}``
- ``/faults/{venue}/fill_partially`` ``{"fraction": F, "probability": P = 1}``
- ``/faults/{venue}/fill_fully``
- ``/faults/{venue}/skip_depth_update`` ``{"symbol": "BTC/USDT"}`` (or none: every symbol)
- ``/faults/{venue}/read_after_write`` ``{"lag_s": S, "forget_unfilled_after_s": S | null}``:
  queries miss an order for ``lag_s`` after it is accepted, and an order that ended
  unfilled is forgotten that long after (``null``: never); ``clear`` restores the config's
- ``/faults/gateio/upgrade_notice`` (MEXC documents no upgrade notice: 400)
- ``/faults/{venue}/clear``
- ``/dislocate`` ``{"symbol": "BTC/USDT", "size": 0.012}`` (both optional)

Holding the market still:

- ``/hold`` ``{"seconds": S}`` (0 < S <= 600): for the next ``S`` seconds no price
  moves, no premium accrues, no random dislocation comes (a settlement falling due is
  paid at the rate accrued before); the venues keep pushing every book each tick as it
  is, so that feeds stay fresh. Answered ``{"held_until": <Unix time>}``; a new hold
  replaces the one going on.

Moving the market and the account's position, as the venues would by themselves:

- ``/price_run`` ``{"symbol": "BTC/USDT", "price": P, "seconds": S}``: the perpetual's
  mark price runs towards ``P`` over the next ``S`` seconds, spot along with it (the
  basis stays); a position whose liquidation price it crosses is liquidated. Answered
  ``{"symbol", "price", "seconds"}``;
- ``/auto_deleverage`` ``{"symbol": "BTC/USDT", "contracts": N}`` (``contracts``
  optional: all of the position): Gate.io's auto-deleveraging takes ``N`` contracts off
  the account's position at the mark price, pushed on ``futures.auto_deleverages`` and
  ``futures.positions``. Answered with the ``AutoDeleverage``; no position, or more
  contracts than it holds, is a 400;
- ``/transfer`` ``{"venue": "mexc", "usdt": -150.0}``: USDT moved into the account at
  ``venue`` (out of it when negative: a withdrawal, no more than is free, or at Gate.io
  available), as its owner would from elsewhere. Answered ``{"venue", "usdt"}`` with
  what moved.

``{venue}`` names a venue served: ``mexc``, ``gateio``, ``binance`` or
``binance_futures``, those the symbols' pairs name. A bad request gets 400 and
``{"error": ...}`` naming what was wrong; an unknown route 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import attrs
import msgspec
import trio

from actors.config_files import Mismatch, convert
from actors.http_server import HttpRequest, HttpResponse, HttpServer
from actors.sim.gateio_server import GateioServer
from actors.sim.records import AutoDeleverage
from actors.sim.venue_server import VenueFaultsView, VenueServer
from actors.sim.views import Faults, Holdings, Ledgers, SimUrls
from protocols.model import Symbol
from protocols.venue import (
    BelowMinimum,
    InsufficientBalance,
    InvalidParameter,
    VenueError,
    VenueUnavailable,
)

INJECTABLE_ERRORS: dict[str, type[VenueError]] = {
    kind.__name__: kind
    for kind in (VenueUnavailable, InsufficientBalance, BelowMinimum, InvalidParameter)
}
"""Rejections both venues can word (each has a code on MEXC and a label on Gate.io)."""


class FaultApplied(msgspec.Struct, frozen=True):
    """The answer to a fault switch: how many connections it reached (dropped or told),
    when it acts on connections, and the venue's faults now."""

    venue: str
    affected: int | None
    faults: VenueFaultsView


class _NoParameters(msgspec.Struct, forbid_unknown_fields=True):
    pass


class _Seconds(msgspec.Struct, forbid_unknown_fields=True):
    seconds: float


class _Milliseconds(msgspec.Struct, forbid_unknown_fields=True):
    ms: float


class _Count(msgspec.Struct, forbid_unknown_fields=True):
    count: int


class _RateLimit(msgspec.Struct, forbid_unknown_fields=True):
    count: int
    retry_after_s: float = 1.0


class _Timeout(msgspec.Struct, forbid_unknown_fields=True):
    count: int
    hold_s: float = 10.0


class _Rejection(msgspec.Struct, forbid_unknown_fields=True):
    count: int
    error: str = "VenueUnavailable"


class _PartialFill(msgspec.Struct, forbid_unknown_fields=True):
    fraction: float
    probability: float = 1.0


class _ReadAfterWrite(msgspec.Struct, forbid_unknown_fields=True):
    lag_s: float
    forget_unfilled_after_s: float | None = None


class _Symbol(msgspec.Struct, forbid_unknown_fields=True):
    symbol: str | None = None


class _Dislocation(msgspec.Struct, forbid_unknown_fields=True):
    symbol: str | None = None
    size: float | None = None


MAX_HOLD_S = 600.0


class _PriceRun(msgspec.Struct, forbid_unknown_fields=True):
    symbol: str
    price: float
    seconds: float


class _AutoDeleverage(msgspec.Struct, forbid_unknown_fields=True):
    symbol: str
    contracts: int | None = None


class _Transfer(msgspec.Struct, forbid_unknown_fields=True):
    venue: str
    usdt: float
    """Into the account when positive, out of it when negative."""


class BadRequest(Exception):
    """The request cannot be carried out; the message says why."""


def _symbol(text: str | None) -> Symbol | None:
    try:
        return None if text is None else Symbol.parse(text)
    except ValueError as error:
        raise BadRequest(str(error)) from None


_Switch = Callable[[VenueServer, Any], int | None]
"""Carries out one fault on a venue with its parameters; how many connections it reached."""


def _reject_orders(venue: VenueServer, rejection: _Rejection) -> None:
    error = INJECTABLE_ERRORS.get(rejection.error)
    if error is None:
        raise BadRequest(f"error {rejection.error!r} is not one of {', '.join(INJECTABLE_ERRORS)}")
    venue.reject_orders(rejection.count, error)


def _upgrade_notice(venue: VenueServer, _: _NoParameters) -> int:
    if not isinstance(venue, GateioServer):
        raise BadRequest("MEXC documents no upgrade notice; drop_websockets is the nearest fault")
    return venue.send_upgrade_notice()


_SWITCHES: dict[str, tuple[type[msgspec.Struct], _Switch]] = {
    "drop_websockets": (_NoParameters, lambda v, p: v.drop_websockets()),
    "stall_websockets": (_Seconds, lambda v, p: v.stall_websockets(p.seconds)),
    "delay_frames": (_Milliseconds, lambda v, p: v.delay_frames(p.ms)),
    "refuse_connections": (_Seconds, lambda v, p: v.refuse_connections(p.seconds)),
    "fail_requests": (_Count, lambda v, p: v.fail_requests(p.count)),
    "rate_limit_requests": (
        _RateLimit,
        lambda v, p: v.rate_limit_requests(p.count, p.retry_after_s),
    ),
    "time_out_orders": (_Timeout, lambda v, p: v.time_out_orders(p.count, p.hold_s)),
    "reject_orders": (_Rejection, _reject_orders),
    "fill_partially": (_PartialFill, lambda v, p: v.fill_partially(p.fraction, p.probability)),
    "fill_fully": (_NoParameters, lambda v, p: v.fill_fully()),
    "skip_depth_update": (_Symbol, lambda v, p: v.skip_depth_update(_symbol(p.symbol))),
    "upgrade_notice": (_NoParameters, _upgrade_notice),
    "read_after_write": (
        _ReadAfterWrite,
        lambda v, p: v.set_read_after_write(p.lag_s, p.forget_unfilled_after_s),
    ),
    "clear": (_NoParameters, lambda v, p: v.clear_faults()),
}


class SimControls(Protocol):
    """What the control API works: the simulated venues as a whole."""

    @property
    def urls(self) -> SimUrls | None: ...

    @property
    def served(self) -> tuple[str, ...]:
        """The names of the venues served."""
        ...

    @property
    def symbols(self) -> tuple[Symbol, ...]:
        """The symbols simulated."""
        ...

    def ledgers(self) -> Ledgers: ...

    def holdings(self) -> Holdings: ...

    def faults(self) -> Faults: ...

    def dislocate(self, symbol: Symbol | None = None, size: float | None = None) -> None: ...

    def exchange(self, name: str) -> VenueServer | None: ...

    def run_price(self, symbol: Symbol, mark_price: float, seconds: float) -> None: ...

    def auto_deleverage(self, symbol: Symbol, contracts: int | None = None) -> AutoDeleverage: ...

    def transfer(self, venue_name: str, amount: float) -> float: ...

    def hold(self, seconds: float) -> float: ...


@attrs.define(eq=False)
class ControlApi:
    servers: SimControls
    http: HttpServer = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.http = HttpServer(self._answer, name="control")

    async def serve(
        self, port: int = 0, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Serve on 127.0.0.1:``port``; started with the bound port."""
        await self.http.serve(port, task_status=task_status)

    async def _answer(self, request: HttpRequest) -> HttpResponse:
        try:
            return self._route(request)
        except BadRequest as error:
            return _json({"error": str(error)}, 400)

    def _route(self, request: HttpRequest) -> HttpResponse:
        servers = self.servers
        parts = request.path.strip("/").split("/")
        match request.method, parts:
            case "GET", ["ledger"]:
                return _json(servers.ledgers())
            case "GET", ["positions"]:
                return _json(servers.holdings())
            case "GET", ["faults"]:
                return _json(servers.faults())
            case "GET", ["urls"]:
                return _json(servers.urls)
            case "POST", ["faults", venue_name, fault]:
                return self._switch(venue_name, fault, request.body)
            case "POST", ["dislocate"]:
                dislocation = _parameters(_Dislocation, request.body)
                servers.dislocate(_symbol(dislocation.symbol), dislocation.size)
                return _json({"dislocated": dislocation.symbol or "every symbol"})
            case "POST", ["hold"]:
                seconds = _parameters(_Seconds, request.body).seconds
                if not 0.0 < seconds <= MAX_HOLD_S:
                    raise BadRequest(
                        f"seconds must be above 0 and at most {MAX_HOLD_S:g}, got {seconds:g}"
                    )
                return _json({"held_until": servers.hold(seconds)})
            case "POST", ["price_run"]:
                run = _parameters(_PriceRun, request.body)
                try:
                    servers.run_price(self._listed(run.symbol), run.price, run.seconds)
                except ValueError as error:
                    raise BadRequest(str(error)) from None
                return _json({"symbol": run.symbol, "price": run.price, "seconds": run.seconds})
            case "POST", ["auto_deleverage"]:
                adl = _parameters(_AutoDeleverage, request.body)
                try:
                    return _json(servers.auto_deleverage(self._listed(adl.symbol), adl.contracts))
                except VenueError as error:
                    raise BadRequest(error.message) from None
            case "POST", ["transfer"]:
                transfer = _parameters(_Transfer, request.body)
                if self.servers.exchange(transfer.venue) is None:
                    raise BadRequest(f"no venue {transfer.venue!r}; use {self._served()}")
                try:
                    moved = servers.transfer(transfer.venue, transfer.usdt)
                except VenueError as error:
                    raise BadRequest(error.message) from None
                return _json({"venue": transfer.venue, "usdt": moved})
        return _json({"error": f"no route {request.method} {request.path}"}, 404)

    def _listed(self, text: str) -> Symbol:
        """The symbol ``text`` names, which the venues must list."""
        symbol = _symbol(text)
        assert symbol is not None
        simulated = self.servers.symbols
        if symbol not in simulated:
            listed = ", ".join(str(s) for s in simulated)
            raise BadRequest(f"symbol {symbol} is not simulated; use one of {listed}")
        return symbol

    def _served(self) -> str:
        return " or ".join(self.servers.served)

    def _switch(self, venue_name: str, fault: str, body: bytes) -> HttpResponse:
        venue = self.servers.exchange(venue_name)
        if venue is None:
            return _json({"error": f"no venue {venue_name!r}; use {self._served()}"}, 404)
        switch = _SWITCHES.get(fault)
        if switch is None:
            known = ", ".join(_SWITCHES)
            return _json({"error": f"no fault {fault!r}; known: {known}"}, 404)
        kind, carry_out = switch
        parameters = _parameters(kind, body)
        try:
            affected = carry_out(venue, parameters)
        except ValueError as error:
            raise BadRequest(str(error)) from None
        return _json(FaultApplied(venue_name, affected, venue.faults_view()))


def _parameters(kind: type[msgspec.Struct], body: bytes) -> Any:
    try:
        raw = msgspec.json.decode(body or b"{}")
    except msgspec.DecodeError as error:
        raise BadRequest(f"the body is not JSON: {error}") from None
    try:
        return convert(raw, kind)
    except Mismatch as error:
        raise BadRequest(str(error)) from None


def _json(value: object, status: int = 200) -> HttpResponse:
    return HttpResponse(status, msgspec.json.encode(value))
