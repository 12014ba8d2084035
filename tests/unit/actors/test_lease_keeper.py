"""The lease keeper's timing, on trio's mock clock, against a lease table kept in memory
(the real one, on PostgreSQL, is tested in tests/integration/test_leases.py): symbols
taken over when granted, entries stopped at the first failed renewal, trading stopped at
the lease's end whatever the database does, symbols handed back when over the share, and
everything handed back at a stop."""

from __future__ import annotations

import attrs
import psycopg
import pytest
import trio
import trio.testing

from actors.runtime.cluster.keeper import LEASE_MARGIN_S, LeaseKeeper

TTL_S = 10.0
RENEW_S = 2.5


@attrs.frozen
class FakeGrant:
    symbol: str
    epoch: int


@attrs.define(eq=False)
class FakeLeases:
    """One lease per symbol, expiring on the mock clock (the database's clock here)."""

    clock: trio.testing.MockClock
    leases: dict[str, tuple[str, int, float]] = attrs.field(factory=dict)
    epoch: int = 0
    down: bool = False
    join_down: bool = False
    hang: bool = False
    over: int = 0
    calls: list[tuple] = attrs.field(factory=list)
    renewed_at: list[float] = attrs.field(factory=list)
    """When each renewal that succeeded was received."""

    def _enter(self, call: tuple) -> None:
        self.calls.append(call)
        if self.down:
            raise psycopg.OperationalError("connection refused")

    def join(self, name, capacity):
        self.calls.append(("join", name))
        if self.join_down:
            raise psycopg.OperationalError("connection refused")
        return "k3x9"

    def claim(self, name, symbols, capacity, ttl_s):
        self._enter(("claim", name))
        now = self.clock.current_time()
        mine = sum(1 for holder, _, ends in self.leases.values() if holder == name and ends > now)
        grants = []
        for symbol in symbols:
            if mine >= capacity:
                break
            lease = self.leases.get(symbol)
            if lease is None or lease[2] <= now:
                self.epoch += 1
                self.leases[symbol] = (name, self.epoch, now + ttl_s)
                grants.append(FakeGrant(symbol, self.epoch))
                mine += 1
        return grants

    def renew(self, name, held, ttl_s):
        self._enter(("renew", name, dict(held)))
        now = self.clock.current_time()
        still = {}
        for symbol, epoch in held.items():
            lease = self.leases.get(symbol)
            if lease is not None and lease[:2] == (name, epoch) and lease[2] > now:
                self.leases[symbol] = (name, epoch, now + ttl_s)
                still[symbol] = FakeGrant(symbol, epoch)
        self.renewed_at.append(now)
        return still

    def excess(self, name, symbols, capacity, ttl_s):
        self._enter(("excess", name))
        over, self.over = self.over, 0
        return over

    def release(self, name, symbols, held):
        self._enter(("release", name, tuple(symbols)))
        for symbol in symbols:
            if self.leases.get(symbol, ("",))[0] == name:
                del self.leases[symbol]

    def leave(self, name, held):
        self._enter(("leave", name, dict(held)))
        self.release(name, list(held), held)

    def take_over(self, symbol: str, by: str) -> None:
        self.epoch += 1
        self.leases[symbol] = (by, self.epoch, self.clock.current_time() + TTL_S)


@attrs.define(eq=False)
class FakeTrading:
    events: list[tuple] = attrs.field(factory=list)

    refuse: set[str] = attrs.field(factory=set)
    """Symbols whose takeover fails (the store out of reach as it is read)."""

    async def start_symbol(self, symbol, epoch):
        self.events.append(("start", symbol, epoch, trio.current_time()))
        return symbol not in self.refuse

    async def stop_symbol(self, symbol, *, lease_over):
        self.events.append(("stop", symbol, lease_over, trio.current_time()))


@pytest.fixture
def clock():
    return trio.testing.MockClock(autojump_threshold=0)


def keeper_for(clock, symbols=("BTC/USDT", "ETH/USDT"), capacity=5):
    leases, trading = FakeLeases(clock), FakeTrading()

    async def inline(call):
        # The calls made in the test's own thread, so that the mock clock sees them; a
        # hanging database is a call that never returns.
        if leases.hang:
            await trio.sleep_forever()
        return call()

    keeper = LeaseKeeper(
        leases, "node-1", capacity, symbols, TTL_S, RENEW_S, trading, run_sync=inline
    )
    return keeper, leases, trading


async def test_granted_symbols_are_taken_over_and_their_leases_kept(clock):
    keeper, leases, trading = keeper_for(clock)
    async with trio.open_nursery() as nursery:
        await nursery.start(keeper.run)
        await trio.sleep(60.0)
        assert keeper.epochs() == {"BTC/USDT": 1, "ETH/USDT": 2}
        assert keeper.may_enter("BTC/USDT") and keeper.holds("ETH/USDT")
        nursery.cancel_scope.cancel()
    assert [e[:3] for e in trading.events] == [("start", "BTC/USDT", 1), ("start", "ETH/USDT", 2)]
    assert sum(1 for c in leases.calls if c[0] == "renew") >= 60.0 / RENEW_S - 2


async def test_a_failed_renewal_stops_entries_at_once_and_trading_at_the_leases_end(clock):
    keeper, leases, trading = keeper_for(clock, symbols=("BTC/USDT",))
    async with trio.open_nursery() as nursery:
        await nursery.start(keeper.run)
        await trio.sleep(0.1)
        renewed = [c for c in leases.calls if c[0] == "renew"]
        assert keeper.holds("BTC/USDT") and not renewed
        await trio.sleep(RENEW_S * 3)  # a few renewals
        leases.down = True
        await trio.sleep(RENEW_S + 0.01)
        assert keeper.lame is not None and not keeper.may_enter("BTC/USDT")
        assert keeper.holds("BTC/USDT")  # its lease has not ended yet
        assert not [e for e in trading.events if e[0] == "stop"]
        await trio.sleep(TTL_S)
        [stop] = [e for e in trading.events if e[0] == "stop"]
        assert stop[1:3] == ("BTC/USDT", True)
        # Stopped when the last renewal's lease ended here, short of the database's end.
        assert stop[3] == pytest.approx(leases.renewed_at[-1] + TTL_S - LEASE_MARGIN_S)
        assert stop[3] < leases.leases["BTC/USDT"][2]
        assert keeper.epochs() == {} and not keeper.holds("BTC/USDT")
        nursery.cancel_scope.cancel()


async def test_a_database_that_hangs_is_a_failed_renewal_and_the_lease_ends_on_time(clock):
    keeper, leases, trading = keeper_for(clock, symbols=("BTC/USDT",))
    async with trio.open_nursery() as nursery:
        await nursery.start(keeper.run)
        await trio.sleep(0.1)
        leases.hang = True
        await trio.sleep(TTL_S + RENEW_S)
        assert keeper.lame is not None and "did not answer" in keeper.lame
        [stop] = [e for e in trading.events if e[0] == "stop"]
        assert stop[3] == pytest.approx(TTL_S - LEASE_MARGIN_S)  # granted at 0, never renewed
        leases.hang = False
        nursery.cancel_scope.cancel()


async def test_a_lease_another_instance_holds_now_stops_its_symbol_at_the_next_renewal(clock):
    keeper, leases, trading = keeper_for(clock)
    async with trio.open_nursery() as nursery:
        await nursery.start(keeper.run)
        await trio.sleep(0.1)
        leases.take_over("ETH/USDT", by="node-2")
        taken_at = trio.current_time()
        await trio.sleep(RENEW_S + 0.1)
        stops = [e for e in trading.events if e[0] == "stop"]
        assert [s[1:3] for s in stops] == [("ETH/USDT", True)]
        assert stops[0][3] <= taken_at + RENEW_S
        assert keeper.epochs() == {"BTC/USDT": 1} and keeper.may_enter("BTC/USDT")
        nursery.cancel_scope.cancel()


async def test_symbols_over_the_share_are_stopped_then_released(clock):
    keeper, leases, trading = keeper_for(clock)
    async with trio.open_nursery() as nursery:
        await nursery.start(keeper.run)
        await trio.sleep(0.1)
        leases.over = 1
        await trio.sleep(RENEW_S + 0.1)
        stop = [e for e in trading.events if e[0] == "stop"]
        assert [s[1:3] for s in stop] == [("ETH/USDT", False)]
        assert ("release", "node-1", ("ETH/USDT",)) in leases.calls
        assert "ETH/USDT" not in leases.leases
        nursery.cancel_scope.cancel()


async def test_a_stop_hands_every_symbol_back(clock):
    keeper, leases, _ = keeper_for(clock)
    async with trio.open_nursery() as nursery:
        await nursery.start(keeper.run)
        await trio.sleep(1.0)
        nursery.cancel_scope.cancel()
    assert ("leave", "node-1", {"BTC/USDT": 1, "ETH/USDT": 2}) in leases.calls
    assert leases.leases == {} and keeper.epochs() == {}


async def test_a_database_back_after_an_outage_lets_entries_start_again(clock):
    keeper, leases, trading = keeper_for(clock, symbols=("BTC/USDT",))
    leases.down = True  # joined (the fake's join always answers), then nothing does
    async with trio.open_nursery() as nursery:
        await nursery.start(keeper.run)
        await trio.sleep(RENEW_S * 2)
        assert keeper.lame is not None and keeper.epochs() == {}
        leases.down = False
        await trio.sleep(RENEW_S + 0.1)
        assert keeper.lame is None and keeper.may_enter("BTC/USDT")
        assert [e[:2] for e in trading.events] == [("start", "BTC/USDT")]
        nursery.cancel_scope.cancel()


async def test_a_database_down_at_the_start_is_waited_for_before_joining(clock):
    keeper, leases, trading = keeper_for(clock, symbols=("BTC/USDT",))
    leases.join_down = True
    async with trio.open_nursery() as nursery:
        nursery.start_soon(keeper.run)
        await trio.sleep(RENEW_S * 3)
        assert keeper.instance_id is None and keeper.lame is not None
        assert sum(1 for c in leases.calls if c[0] == "join") >= 3
        leases.join_down = False
        await trio.sleep(RENEW_S + 0.1)
        assert keeper.instance_id == "k3x9" and keeper.lame is None
        assert keeper.may_enter("BTC/USDT")
        assert [e[:2] for e in trading.events] == [("start", "BTC/USDT")]
        nursery.cancel_scope.cancel()


async def test_a_symbol_that_could_not_be_taken_over_lapses_and_is_taken_over_again(clock):
    keeper, leases, trading = keeper_for(clock, symbols=("BTC/USDT", "ETH/USDT"))
    trading.refuse.add("ETH/USDT")
    async with trio.open_nursery() as nursery:
        await nursery.start(keeper.run)
        await trio.sleep(0.1)
        assert keeper.epochs() == {"BTC/USDT": 1}  # not renewed: it lapses at the database
        trading.refuse.clear()
        await trio.sleep(TTL_S + RENEW_S)
        assert keeper.epochs() == {"BTC/USDT": 1, "ETH/USDT": 3}
        starts = [e[1:3] for e in trading.events if e[0] == "start"]
        assert starts == [("BTC/USDT", 1), ("ETH/USDT", 2), ("ETH/USDT", 3)]
        assert leases.leases["ETH/USDT"][:2] == ("node-1", 3)
        nursery.cancel_scope.cancel()
