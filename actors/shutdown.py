"""Run a supervision tree until it ends, a deadline passes, or the user asks it to stop.

The first SIGINT or SIGTERM asks the root supervisor for an ordered, graceful stop;
a second one cancels everything at once.
"""

from __future__ import annotations

import logging
import signal

import trio

from supervision import Supervisor, SupervisorGaveUp

log = logging.getLogger("basis")


async def run_until_stopped(root: Supervisor, duration_s: float | None = None) -> None:
    """Run ``root``; stop it gracefully on a signal or after ``duration_s`` seconds.

    Raises :class:`SupervisorGaveUp`, unwrapped, when the tree gave up.
    """
    gave_up: SupervisorGaveUp | None = None
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:

            async def watch_signals() -> None:
                graceful = True
                async for signum in signals:
                    name = signal.Signals(signum).name
                    if graceful:
                        log.warning("%s received: stopping gracefully (again to force)", name)
                        root.request_stop()
                        graceful = False
                    else:
                        log.warning("%s received again: stopping now", name)
                        nursery.cancel_scope.cancel()

            async def stop_after(seconds: float) -> None:
                await trio.sleep(seconds)
                log.info("run time of %g s reached: stopping", seconds)
                root.request_stop()

            nursery.start_soon(watch_signals)
            if duration_s is not None:
                nursery.start_soon(stop_after, duration_s)
            try:
                await root.run()
            except SupervisorGaveUp as error:
                gave_up = error
            finally:
                nursery.cancel_scope.cancel()
    if gave_up is not None:
        raise gave_up
