"""The database proxy of a cluster chaos run against a real PostgreSQL: queries pass
through it, a cut breaks the connections it forwards and leaves new ones unanswered, a
restore lets a new connection through."""

from __future__ import annotations

import psycopg
import pytest
import trio

from actors.chaos.db_proxy import DbProxy, through, upstream_of
from tests.integration.polling import wait_until


def query(dsn: str, timeout_s: int | None = 2) -> int:
    with psycopg.connect(dsn, connect_timeout=timeout_s, autocommit=True) as conn:
        row = conn.execute("SELECT 41 + 1").fetchone()
    assert row is not None
    return row[0]


async def in_thread(function, *args):
    return await trio.to_thread.run_sync(function, *args)


async def test_queries_pass_a_cut_breaks_them_and_a_restore_lets_a_new_connection_through(
    postgres_dsn,
):
    proxy = DbProxy(upstream_of(postgres_dsn))
    async with trio.open_nursery() as nursery:
        dsn = through(postgres_dsn, await nursery.start(proxy.run))
        assert await in_thread(query, dsn) == 42
        held = await in_thread(lambda: psycopg.connect(dsn, autocommit=True))
        try:
            assert await in_thread(lambda: held.execute("SELECT 1").fetchone()) == (1,)
            assert proxy.open_links == 1

            assert proxy.cut() == 1
            await trio.sleep(0.1)
            with pytest.raises(psycopg.OperationalError):
                await in_thread(lambda: held.execute("SELECT 1"))
            # A new connection is taken and never answered: the client's own timeout
            # ends it, as it would across a partition.
            with pytest.raises(psycopg.OperationalError, match="timeout"):
                await in_thread(query, dsn)
            assert proxy.black_holed >= 1
        finally:
            held.close()

        proxy.restore()
        assert await in_thread(query, dsn) == 42
        assert proxy.forwarded == 3 and proxy.closed_by_cuts == 1
        nursery.cancel_scope.cancel()


async def test_a_connection_waiting_in_the_black_hole_is_closed_at_the_restore(postgres_dsn):
    proxy = DbProxy(upstream_of(postgres_dsn))
    async with trio.open_nursery() as nursery:
        dsn = through(postgres_dsn, await nursery.start(proxy.run))
        proxy.cut()
        outcome: list[BaseException | int] = []

        def patient() -> None:
            try:
                # Without a connect timeout it would wait for ever.
                outcome.append(query(dsn, timeout_s=None))
            except psycopg.OperationalError as error:
                outcome.append(error)

        async def connect_meanwhile() -> None:
            await trio.to_thread.run_sync(patient, abandon_on_cancel=True)

        nursery.start_soon(connect_meanwhile)
        await wait_until(lambda: proxy.black_holed == 1)
        proxy.restore()
        await wait_until(lambda: outcome != [], 5.0)
        assert isinstance(outcome[0], psycopg.OperationalError)
        nursery.cancel_scope.cancel()
