"""Builds of the trading process broken on purpose, for the chaos tests that show each
invariant failing (``tests/integration/test_chaos_catches.py``).

Python imports ``sitecustomize`` at start-up from the first directory of ``sys.path``
that holds one: the tests put this directory, and the source tree under test after it,
on ``PYTHONPATH`` of the chaos run, whose trading process inherits its environment.
``BASIS_BROKEN`` names what to break, comma-separated (``leak=KIB`` sets how much the
leak keeps a tick); nothing else in the code knows of it. Each break is a small change a
real regression could make.
"""

from __future__ import annotations

import os


async def _sent_nowhere(*_args: object, **_kwargs: object) -> None:
    return None


def _no_correction() -> None:
    """An imbalanced strategy never places a corrective order."""
    from actors.arbitrage import machine

    machine._correct = lambda ctx, now, spot, futures, limits: (ctx, machine.NOTHING)


def _no_journal() -> None:
    """Orders leave without their intents committed to the journal first."""
    from actors.runtime.persistence.writer import WriterClient

    WriterClient.journal = _sent_nowhere


def _entries_not_live() -> None:
    """The strategy enters on connections that are not live, or on quotes that are not
    the latest: only the liveness gate fails, the quotes' age and the feeds' staleness
    still stop entries."""
    from actors.arbitrage import machine

    machine.live_and_latest = lambda live, spot, futures: True


def _fills_twice() -> None:
    """Each fill is told to its strategy twice, under two trade ids, as a router that
    counted a placement's reply and the venue's trade report apart would."""
    import msgspec

    from actors.runtime.orders.router import Filled, Router

    hand_over = Router._hand_over

    async def told_twice(self, tracked, deliveries):
        for delivery in deliveries:
            await hand_over(self, tracked, [delivery])
            if type(delivery) is Filled and delivery.message.qty > 0.0:
                again = msgspec.structs.replace(
                    delivery.message, trade_id=f"{delivery.message.trade_id}-again"
                )
                await tracked.owner.send(again)

    Router._hand_over = told_twice


def _no_restarts() -> None:
    """Every supervisor gives up at the first failure of a child (an intensity of 0)."""
    from supervision.restarts import Intensity
    from supervision.supervisor import Supervisor

    init = Supervisor.__init__

    def at_most_none(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.intensity = Intensity(0, self.intensity.period_s)

    Supervisor.__init__ = at_most_none


def _leak(kib: str = "1024") -> None:
    """Each strategy keeps ``kib`` KiB for every timer tick it handles (two a second)."""
    from actors.arbitrage import actor

    handle = actor.StrategyActor.handle
    kept: list[bytearray] = []
    size = int(kib) * 1024

    async def leaking(self, message):
        if type(message) is actor.TimerTick:
            kept.append(bytearray(b"\x01") * size)  # written: resident, not just mapped
        await handle(self, message)

    actor.StrategyActor.handle = leaking


def _alerts_unsent() -> None:
    """The webhook sink reports every alert delivered and sends none."""
    from actors.runtime.alerts.webhook import WebhookSink

    WebhookSink.send = _sent_nowhere


BREAKS = {
    "no-correction": _no_correction,
    "no-journal": _no_journal,
    "entries-not-live": _entries_not_live,
    "fills-twice": _fills_twice,
    "no-restarts": _no_restarts,
    "leak": _leak,
    "alerts-unsent": _alerts_unsent,
}

for _break in filter(None, os.environ.get("BASIS_BROKEN", "").split(",")):
    _name, _, _value = _break.partition("=")
    BREAKS[_name](*filter(None, [_value]))
