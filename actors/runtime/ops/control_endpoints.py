"""The operator's endpoints on the status port (the system's ``controls`` do the work).

``POST /control/pause`` and ``/control/resume`` (``{"symbol": "BTC/USDT"}``, or ``{}`` for
every symbol), ``POST /control/add`` (``{"symbol": "BTC/USDT"}``: start a strategy for a
symbol of the instance that no live one trades), ``POST /control/stop`` (``{"flatten":
true}`` to unwind every position first), ``POST /control/quarantine/resolve``
(``{"symbol": ..., "how": "adopt" | "flatten" | "forget"}``), ``POST
/control/risk/reduce``, ``/control/risk/halt`` and ``/control/risk/resume`` (``{"reason":
..., "via": ...}``, both optional: the portfolio's risk mode, and where the operator
asked from) and ``GET /quarantine`` (the quarantined symbols, the venues asked now).

Who may ask, checked before anything is done:

* the peer is this machine (the port is bound to 127.0.0.1; a request from any other
  address is refused all the same);
* ``Host`` is ``127.0.0.1:PORT`` or ``localhost:PORT``, and ``Origin``, if sent, is
  ``http://`` one of those: a web page the operator's browser opens cannot reach the port
  through a DNS name it rebinds to 127.0.0.1, nor post to it from another origin;
* for every request, ``Authorization: Bearer TOKEN`` with the instance's token, from the
  environment variable ``BASIS_CONTROL_TOKEN`` (compared in constant time): ``GET
  /quarantine`` too, since it makes signed calls to the venues and so spends their rate
  limits. An instance started without one refuses them all: control is off until it is set.

Who asked is logged and stored with each action: the ``X-Basis-Operator`` header (what
``basis`` sends: ``user@host``; printable, at most 80 characters, else 400) followed by
`` via the status port``, or ``the status port from PEER`` without it.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from typing import TYPE_CHECKING

import attrs
import msgspec

from actors.http_server import HttpRequest, HttpResponse
from actors.runtime.controls import ControlRefused, Controls
from protocols.model import RiskMode

if TYPE_CHECKING:
    from actors.runtime.system import TradingSystem

log = logging.getLogger("basis.controls")

CONTROL_TOKEN_ENV = "BASIS_CONTROL_TOKEN"
OPERATOR_HEADER = "X-Basis-Operator"
OPERATOR_MAX_CHARS = 80
_encode = msgspec.json.Encoder().encode


class SymbolRequest(msgspec.Struct, forbid_unknown_fields=True):
    symbol: str | None = None


class AddRequest(msgspec.Struct, forbid_unknown_fields=True):
    symbol: str


class StopRequest(msgspec.Struct, forbid_unknown_fields=True):
    flatten: bool = False


class RiskRequest(msgspec.Struct, forbid_unknown_fields=True):
    reason: str | None = None
    via: str | None = None
    """Where the operator asked from (``basis risk halt``); the status port otherwise."""


RISK_ROUTES = {
    "/control/risk/reduce": RiskMode.REDUCING,
    "/control/risk/halt": RiskMode.HALTED,
    "/control/risk/resume": RiskMode.ACTIVE,
}


class ResolveRequest(msgspec.Struct, forbid_unknown_fields=True):
    symbol: str
    how: str


def _error(status: int, message: str) -> HttpResponse:
    return HttpResponse(status, _encode({"error": message}))


@attrs.define(eq=False)
class ControlEndpoints:
    """The control routes of ``system``'s status port ``port``, with its ``token``."""

    system: TradingSystem
    port: int
    token: str | None

    @property
    def controls(self) -> Controls:
        return self.system.controls

    def serves(self, request: HttpRequest) -> bool:
        return request.path.startswith("/control/") or request.path == "/quarantine"

    async def handle(self, request: HttpRequest) -> HttpResponse:
        refused = self._refusal(request)
        if refused is not None:
            log.warning(
                "control request %s %s from %s refused: %s",
                request.method,
                request.path,
                request.peer or "?",
                refused.body.decode(),
            )
            return refused
        try:
            if (request.method, request.path) == ("GET", "/quarantine"):
                listed = await self.controls.quarantine_list()
                return HttpResponse(200, _encode({"quarantined": listed}))
            return HttpResponse(200, _encode({"result": await self._act(request)}))
        except ControlRefused as error:
            return _error(error.status, str(error))
        except (msgspec.ValidationError, msgspec.DecodeError) as error:
            return _error(400, f"the request's body is not what {request.path} takes: {error}")

    async def _act(self, request: HttpRequest) -> str:
        controls = self.controls
        body = request.body or b"{}"
        who = _who(request)
        if request.path == "/control/pause":
            symbol = msgspec.json.decode(body, type=SymbolRequest).symbol
            return await controls.pause(symbol, who=who)
        if request.path == "/control/resume":
            symbol = msgspec.json.decode(body, type=SymbolRequest).symbol
            return await controls.resume(symbol, who=who)
        if request.path == "/control/add":
            symbol = msgspec.json.decode(body, type=AddRequest).symbol
            return await controls.add(symbol, who=who)
        if request.path == "/control/stop":
            flatten = msgspec.json.decode(body, type=StopRequest).flatten
            return await controls.stop(flatten, who=who)
        if request.path in RISK_ROUTES:
            risk = msgspec.json.decode(body, type=RiskRequest)
            via = risk.via or f"the status port from {request.peer}"
            return await controls.risk_mode(RISK_ROUTES[request.path], risk.reason, via, who=who)
        resolve = msgspec.json.decode(body, type=ResolveRequest)
        return await controls.resolve(resolve.symbol, resolve.how, who=who)

    def _refusal(self, request: HttpRequest) -> HttpResponse | None:
        """Why ``request`` may not be served (an answer saying so), or ``None``."""
        routes = {
            ("GET", "/quarantine"),
            ("POST", "/control/pause"),
            ("POST", "/control/resume"),
            ("POST", "/control/add"),
            ("POST", "/control/stop"),
            ("POST", "/control/quarantine/resolve"),
            *(("POST", path) for path in RISK_ROUTES),
        }
        if (request.method, request.path) not in routes:
            return _error(404, f"no {request.method} {request.path}")
        if not _loopback(request.peer):
            return _error(403, "control is served to this machine only")
        hosts = (f"127.0.0.1:{self.port}", f"localhost:{self.port}")
        if request.headers.get("host", "").lower() not in hosts:
            return _error(403, f"Host must be {hosts[0]} or {hosts[1]}")
        origin = request.headers.get("origin")
        if origin is not None and origin.lower() not in {f"http://{host}" for host in hosts}:
            return _error(403, f"Origin {origin!r} may not control this instance")
        if not self.token:
            return _error(
                403,
                f"control is off: this instance was started without {CONTROL_TOKEN_ENV}; "
                "restart basis run with it set",
            )
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), self.token.encode()
        ):
            return _error(401, f"a valid Authorization: Bearer ${CONTROL_TOKEN_ENV} is required")
        operator = request.headers.get(OPERATOR_HEADER.lower())
        if operator is not None and not _names_someone(operator):
            return _error(
                400,
                f"{OPERATOR_HEADER} must be printable and at most {OPERATOR_MAX_CHARS} "
                "characters (user@host)",
            )
        return None


def _names_someone(operator: str) -> bool:
    return 0 < len(operator) <= OPERATOR_MAX_CHARS and operator.isprintable()


def _who(request: HttpRequest) -> str:
    """Who asked: the operator the request names (checked by ``_refusal``), or its peer."""
    operator = request.headers.get(OPERATOR_HEADER.lower())
    if operator is None:
        return f"the status port from {request.peer}"
    return f"{operator} via the status port"


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
