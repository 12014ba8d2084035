"""The stirring of a chaos run: what makes the trading process enter and exit while
faults play, so that the order faults waiting for an entry or an exit meet one.

Every ``[chaos] stir_every_s`` the next symbol in turn that can act on it has its
perpetual jumped away from spot: one at rest gets a premium to enter on, one holding a
position a discount to exit on; one with orders in flight is left alone. Each symbol so
cycles at least once in ``Timing.cycle_s``. While the system's state is unknown (its
process down), each symbol gets a premium and, the next time round, a discount.

A symbol whose price the run is moving otherwise (a run towards a short's liquidation)
is left alone while it moves (``quiet``): a stir would exit its position on a discount
first, and the run would test the stirring rather than the liquidation watch.

A strategy that paused after flattening an imbalance it could not correct would stay
out of the run; the stirring resumes it, as its operator would once the legs are flat.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import attrs
import httpx
import trio

from actors.runtime.ops.status import SystemStatus
from actors.sim.servers import SimServers
from protocols.model import Symbol

log = logging.getLogger("basis.chaos")

STIR_SIZES = (0.012, -0.015)
"""A premium to enter on, then a discount to exit on (fractions of the price)."""
STIR_FOR = {"monitoring": STIR_SIZES[0], "position_open": STIR_SIZES[1]}
"""The stir a strategy in each state acts on."""
FLATTENED = "both legs flattened"
"""What the reason of a strategy paused after flattening an imbalance it could not
correct says; the run resumes it, as its operator would once the legs are flat."""


@attrs.define(eq=False)
class Stirring:
    """Stirs ``symbols`` on ``sim`` every ``every_s``, reading the trading process's last
    ``status`` (``None``: unknown), and resumes flattened strategies through the control
    endpoint of the process trading each (on the status port ``port_of`` gives, ``None``
    for none) with ``control_token``."""

    symbols: list[Symbol]
    every_s: float
    sim: SimServers
    http: httpx.AsyncClient
    port_of: Callable[[str], int | None]
    control_token: str
    status: Callable[[], SystemStatus | None]
    quiet: set[Symbol] = attrs.field(factory=set)
    """Symbols not stirred for now."""

    async def run(self) -> None:
        turn = 0
        while True:
            await trio.sleep(self.every_s)
            status = self.status()
            states = {t.symbol: t.state for t in status.tasks} if status else {}
            for task in status.tasks if status else ():
                if task.state == "paused" and FLATTENED in (task.paused_reason or ""):
                    await self._resume(task.symbol)
            symbols = self.symbols
            for offset in range(len(symbols)):
                symbol = symbols[(turn + offset) % len(symbols)]
                if symbol in self.quiet:
                    continue
                state = states.get(str(symbol)) if status else None
                if state is None:
                    size = STIR_SIZES[(turn + offset) // len(symbols) % len(STIR_SIZES)]
                elif state in STIR_FOR:
                    size = STIR_FOR[state]
                else:
                    continue
                self.sim.dislocate(symbol, size)
                turn += offset
                break
            turn += 1

    async def _resume(self, symbol: str) -> None:
        """Resume ``symbol``'s entries, as its operator would (a failed attempt is tried
        again at the next stir)."""
        port = self.port_of(symbol)
        if port is None:
            return
        try:
            reply = await self.http.post(
                f"http://127.0.0.1:{port}/control/resume",
                json={"symbol": symbol},
                headers={"authorization": f"Bearer {self.control_token}"},
            )
        except httpx.HTTPError as error:
            log.warning("chaos: could not resume %s: %s", symbol, error)
            return
        log.info("chaos: resumed %s after its flattening: %s", symbol, reply.text)
