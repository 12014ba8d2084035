"""The CLI reports a supervision tree that gave up as a readable chain, not a traceback."""

from __future__ import annotations

import trio

from actors.cli.demo import DEMO_FUNDING_INTERVAL_S, demo_config
from actors.cli.run import EXIT_GAVE_UP, run_tree
from actors.cli.user_error import UserError
from actors.sim.config import symbol_config
from protocols.model import Symbol
from supervision import Backoff, ChildSpec, Intensity, Supervisor, SupervisorGaveUp

BTC = Symbol("BTC", "USDT")


def test_a_root_that_gives_up_ends_the_program_with_the_chain_printed(capsys):
    async def broken(inc, *, task_status=trio.TASK_STATUS_IGNORED):
        task_status.started()
        raise ConnectionError("venue unreachable")

    leaf = Supervisor(
        "feeds",
        [ChildSpec("feed-mexc", broken)],
        intensity=Intensity(1, 60),
        backoff=Backoff.none(),
    )
    root = Supervisor("root", [leaf.child_spec()], intensity=Intensity(0, 60))

    assert run_tree(root.run) == EXIT_GAVE_UP
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "basis: stopped because supervisor 'root' gave up: more than 0 restarts within 60 s",
        err[1],
        "    child 'feed-mexc' failed at t=" + err[2].split("t=")[1],
        "    child 'feed-mexc' failed at t=" + err[3].split("t=")[1],
    ]
    assert err[1].startswith("  child 'feeds' failed at t=")
    assert err[1].endswith(
        "SupervisorGaveUp: supervisor 'feeds' gave up: more than 1 restart within 60 s"
    )
    assert err[2].endswith("ConnectionError: venue unreachable")
    assert "Traceback" not in "\n".join(err)


def test_a_give_up_that_passed_through_nurseries_is_still_a_readable_chain(capsys):
    async def broken(inc, *, task_status=trio.TASK_STATUS_IGNORED):
        raise ConnectionError("venue unreachable")  # before it is ready: a failed start

    root = Supervisor("root", [ChildSpec("router-mexc", broken)])

    async def main():
        async with trio.open_nursery() as outer, trio.open_nursery() as inner:
            await inner.start(root.run)
            outer.cancel_scope.cancel()

    assert run_tree(main) == EXIT_GAVE_UP
    err = capsys.readouterr().err
    assert err.startswith(
        "basis: stopped because supervisor 'root' gave up: child 'router-mexc' failed to start"
    )
    assert "Traceback" not in err


def test_a_give_up_with_a_refusal_in_the_same_run_is_still_exit_1(capsys):
    async def main():
        # As the two arrive from sibling tasks of one nursery.
        raise ExceptionGroup(
            "both",
            [
                SupervisorGaveUp("root", "more than 0 restarts within 60 s", ()),
                UserError("the status port 8787 is taken"),
            ],
        )

    assert run_tree(main) == EXIT_GAVE_UP
    err = capsys.readouterr().err
    assert "basis: stopped because supervisor 'root' gave up" in err
    assert "basis: the status port 8787 is taken" in err


def test_the_demos_venues_settle_funding_every_minute_whatever_the_symbol():
    config = demo_config(["BTC/USDT", "COIN001/USDT"], dislocations_per_hour=120.0)
    simulated = config.simulated()
    assert [str(s.symbol) for s in simulated.symbols] == ["BTC/USDT", "COIN001/USDT"]
    assert {s.funding_interval_s for s in simulated.symbols} == {DEMO_FUNDING_INTERVAL_S}
    assert simulated.symbols[0].start_price == symbol_config(BTC).start_price
