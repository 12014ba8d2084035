"""The lease book against a real PostgreSQL server: grants, renewals, expiry by the
database's clock, hand-backs, placement among the live instances, and claims racing
from several instances never granting one symbol twice."""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Callable

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from actors.runtime.cluster.leases import VALIDITY_MARGIN, LeaseBook, NotJoined
from protocols.client_ids import is_instance_id
from tests.integration.cluster_database import apply_schema

SYMBOLS = [f"S{n:02d}/USDT" for n in range(10)]
LONG_TTL_S = 30.0
"""Long enough never to run out in a test that does not wait for it."""
SHORT_TTL_S = 0.3
"""Short enough to wait for, long enough that a claim and its checks finish well inside it."""
WAIT_S = 10.0
"""The most any wait for the database's clock to pass a point may take before the test fails."""


@pytest.fixture
def dsn(postgres_dsn):
    apply_schema(postgres_dsn)
    return postgres_dsn


@pytest.fixture
def book(dsn):
    with LeaseBook(dsn) as book:
        yield book


def wait_until(predicate: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        assert time.monotonic() < deadline, "the condition did not come about"
        time.sleep(0.02)


def expired(book: LeaseBook, symbol: str) -> Callable[[], bool]:
    """Whether the database's clock has passed ``symbol``'s lease's expiry."""
    return lambda: next(s for s in book.status().leases if s.symbol == symbol).expires_in_s < 0


def lease_row(dsn: str, symbol: str):
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT holder, epoch, granted_at, renewed_at, expires_at FROM leases "
            "WHERE symbol = %s",
            (symbol,),
        ).fetchone()


def grant_rows(dsn: str):
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT symbol, epoch, holder, granted_at, ended_at FROM lease_grants ORDER BY epoch"
        ).fetchall()


def assert_grants_never_overlap(dsn: str) -> None:
    by_symbol: dict[str, list] = {}
    for row in grant_rows(dsn):
        by_symbol.setdefault(row[0], []).append(row)
    for grants in by_symbol.values():
        for before, after in itertools.pairwise(grants):
            assert after[1] > before[1]  # epochs only grow
            assert before[4] is not None, f"grant {before} was never ended before {after}"
            assert before[3] <= before[4] <= after[3]


# ------------------------------------------------------------------ joining


def test_an_instance_keeps_its_id_across_joins_and_its_capacity_follows(book):
    first = book.join("east", 3)
    assert is_instance_id(first)
    assert book.join("east", 5) == first
    assert is_instance_id(book.join("west", 3))
    status = book.status()
    assert [(i.name, i.capacity, i.stopped) for i in status.instances] == [
        ("east", 5, False),
        ("west", 3, False),
    ]
    assert status.instances[0].instance_id != status.instances[1].instance_id


def test_an_id_another_instance_has_is_drawn_again(book, monkeypatch):
    taken = book.join("east", 1)
    draws = iter(taken + "w3st")
    monkeypatch.setattr("actors.runtime.cluster.leases.secrets.choice", lambda _: next(draws))
    assert book.join("west", 1) == "w3st"


def test_claiming_or_renewing_needs_a_joined_instance(book):
    with pytest.raises(NotJoined, match="'east' is not in the cluster"):
        book.claim("east", SYMBOLS, 3, LONG_TTL_S)
    with pytest.raises(NotJoined):
        book.renew("east", {}, LONG_TTL_S)


def test_a_lease_book_works_over_a_pool_it_is_given(dsn):
    with ConnectionPool(dsn, min_size=1, max_size=1, open=True) as pool:
        book = LeaseBook(pool=pool)
        book.join("east", 2)
        assert len(book.claim("east", SYMBOLS, 2, LONG_TTL_S)) == 2
        book.close()  # the pool is its owner's to close
        assert len(book.status().leases) == len(SYMBOLS)


# ------------------------------------------------------------------ grants and renewals


def test_a_claim_grants_up_to_the_share_each_under_a_new_epoch(book, dsn):
    book.join("east", 4)
    before = time.monotonic()
    grants = book.claim("east", SYMBOLS, 4, LONG_TTL_S)
    after = time.monotonic()
    assert [g.symbol for g in grants] == SYMBOLS[:4]
    assert len({g.epoch for g in grants}) == 4
    assert all(g.holder == "east" and g.ttl_s == LONG_TTL_S for g in grants)
    counted = LONG_TTL_S * (1 - VALIDITY_MARGIN)
    assert all(before + counted <= g.valid_until <= after + counted for g in grants)
    holder, epoch, granted_at, renewed_at, expires_at = lease_row(dsn, grants[0].symbol)
    assert (holder, epoch) == ("east", grants[0].epoch)
    assert granted_at == renewed_at
    assert (expires_at - granted_at).total_seconds() == LONG_TTL_S
    assert [(r[0], r[1], r[2], r[4]) for r in grant_rows(dsn)] == [
        (g.symbol, g.epoch, "east", None) for g in grants
    ]
    # At its share, a claim takes nothing more.
    assert book.claim("east", SYMBOLS, 4, LONG_TTL_S) == []


def test_a_renewal_extends_a_lease_under_the_same_epoch(book, dsn):
    book.join("east", 2)
    grants = book.claim("east", SYMBOLS, 2, 1.0)
    held = {g.symbol: g.epoch for g in grants}
    *_, granted_expiry = lease_row(dsn, SYMBOLS[0])
    renewed = book.renew("east", held, LONG_TTL_S)
    assert {s: g.epoch for s, g in renewed.items()} == held
    assert all(g.valid_until > grants[0].valid_until for g in renewed.values())
    holder, epoch, granted_at, renewed_at, expires_at = lease_row(dsn, SYMBOLS[0])
    assert (holder, epoch) == ("east", held[SYMBOLS[0]])
    assert renewed_at > granted_at
    assert expires_at > granted_expiry
    assert (expires_at - renewed_at).total_seconds() == LONG_TTL_S
    assert len(grant_rows(dsn)) == 2  # a renewal is not a grant


def test_a_renewal_under_another_epoch_or_by_another_instance_extends_nothing(book):
    book.join("east", 1)
    book.join("west", 1)
    (grant,) = book.claim("east", SYMBOLS[:1], 1, LONG_TTL_S)
    assert book.renew("east", {grant.symbol: grant.epoch + 1}, LONG_TTL_S) == {}
    assert book.renew("west", {grant.symbol: grant.epoch}, LONG_TTL_S) == {}
    assert book.renew("east", {"NEVER/USDT": 1}, LONG_TTL_S) == {}


def test_an_expired_lease_is_never_renewed_only_granted_again_under_a_new_epoch(book, dsn):
    book.join("east", 1)
    (grant,) = book.claim("east", SYMBOLS[:1], 1, SHORT_TTL_S)
    wait_until(expired(book, grant.symbol))
    # Nobody took it, and still it is not renewed.
    assert book.renew("east", {grant.symbol: grant.epoch}, LONG_TTL_S) == {}
    assert book.status().instances[0].symbols == ()
    (again,) = book.claim("east", SYMBOLS[:1], 1, LONG_TTL_S)
    assert again.epoch > grant.epoch
    assert_grants_never_overlap(dsn)


def test_another_instance_takes_an_expired_lease_and_the_old_grant_ends_at_its_expiry(book, dsn):
    book.join("west", 1)
    (old,) = book.claim("west", SYMBOLS[:1], 1, SHORT_TTL_S)
    *_, expiry = lease_row(dsn, old.symbol)
    book.join("east", 1)  # first by name: the one symbol is east's share
    wait_until(expired(book, old.symbol))
    (new,) = book.claim("east", SYMBOLS[:1], 1, LONG_TTL_S)
    assert new.epoch > old.epoch
    grants = {row[1]: row for row in grant_rows(dsn)}
    assert grants[old.epoch][4] == expiry
    assert grants[new.epoch][3] >= expiry
    assert book.renew("west", {old.symbol: old.epoch}, LONG_TTL_S) == {}
    assert_grants_never_overlap(dsn)


def test_a_lease_held_is_not_free_whatever_the_shares_say(book):
    book.join("west", 1)
    assert len(book.claim("west", SYMBOLS[:1], 1, LONG_TTL_S)) == 1
    book.join("east", 1)  # first by name: the one symbol is east's share
    assert book.claim("east", SYMBOLS[:1], 1, LONG_TTL_S) == []
    assert book.excess("west", SYMBOLS[:1], 1, LONG_TTL_S) == 1


# ------------------------------------------------------------------ handing back


def test_a_released_symbol_is_free_at_once_and_a_stale_release_changes_nothing(book, dsn):
    book.join("west", 1)
    (grant,) = book.claim("west", SYMBOLS[:1], 1, LONG_TTL_S)
    book.join("east", 1)  # first by name: the one symbol is east's share
    book.release("west", [grant.symbol], {grant.symbol: grant.epoch})
    holder, *_ = lease_row(dsn, grant.symbol)
    assert holder is None
    assert grant_rows(dsn)[0][4] is not None
    (taken,) = book.claim("east", SYMBOLS[:1], 1, LONG_TTL_S)
    # west's release of its old epoch leaves east's grant alone.
    book.release("west", [grant.symbol], {grant.symbol: grant.epoch})
    assert lease_row(dsn, grant.symbol)[:2] == ("east", taken.epoch)
    assert_grants_never_overlap(dsn)


def test_release_hands_back_only_the_symbols_named(book, dsn):
    book.join("east", 3)
    grants = book.claim("east", SYMBOLS[:3], 3, LONG_TTL_S)
    held = {g.symbol: g.epoch for g in grants}
    book.release("east", [SYMBOLS[1]], held)
    assert [lease_row(dsn, s)[0] for s in SYMBOLS[:3]] == ["east", None, "east"]


def test_leaving_hands_everything_back_and_the_others_spread_over_it(book, dsn):
    book.join("east", 10)
    book.join("west", 10)
    east = book.claim("east", SYMBOLS, 10, LONG_TTL_S)
    west = book.claim("west", SYMBOLS, 10, LONG_TTL_S)
    assert (len(east), len(west)) == (5, 5)
    book.leave("east", {g.symbol: g.epoch for g in east})
    status = book.status()
    assert [(i.name, i.stopped, len(i.symbols)) for i in status.instances] == [
        ("east", True, 0),
        ("west", False, 5),
    ]
    assert len(book.claim("west", SYMBOLS, 10, LONG_TTL_S)) == 5
    with pytest.raises(NotJoined):
        book.claim("east", SYMBOLS, 10, LONG_TTL_S)
    book.join("east", 10)
    assert book.excess("west", SYMBOLS, 10, LONG_TTL_S) == 5
    assert_grants_never_overlap(dsn)


# ------------------------------------------------------------------ placement


def test_a_share_is_never_above_the_capacity(book):
    book.join("east", 2)
    assert len(book.claim("east", SYMBOLS, 2, LONG_TTL_S)) == 2
    book.join("west", 20)
    assert len(book.claim("west", SYMBOLS, 20, LONG_TTL_S)) == 8


def test_an_instance_above_its_share_after_a_join_hands_back_the_difference(book):
    book.join("east", 10)
    east = book.claim("east", SYMBOLS[:6], 10, LONG_TTL_S)
    assert len(east) == 6
    book.join("west", 10)
    assert book.excess("east", SYMBOLS[:6], 10, LONG_TTL_S) == 3
    assert book.excess("west", SYMBOLS[:6], 10, LONG_TTL_S) == 0
    # Nothing is free: west waits for east to hand back.
    assert book.claim("west", SYMBOLS[:6], 10, LONG_TTL_S) == []
    chosen = [g.symbol for g in east[3:]]
    book.release("east", chosen, {g.symbol: g.epoch for g in east})
    assert sorted(g.symbol for g in book.claim("west", SYMBOLS[:6], 10, LONG_TTL_S)) == chosen
    assert book.excess("east", SYMBOLS[:6], 10, LONG_TTL_S) == 0


def test_an_instance_not_heard_from_within_the_ttl_is_not_counted(book):
    book.join("east", 10)
    book.claim("east", SYMBOLS[:6], 10, LONG_TTL_S)
    book.join("west", 10)
    assert book.excess("east", SYMBOLS[:6], 10, LONG_TTL_S) == 3
    wait_until(
        lambda: (
            next(i for i in book.status().instances if i.name == "west").last_seen_age_s
            > SHORT_TTL_S
        )
    )
    assert book.excess("east", SYMBOLS[:6], 10, SHORT_TTL_S) == 0
    # Without a ttl, the one east claimed with counts west as live still.
    assert book.excess("east", SYMBOLS[:6], 10) == 3
    with pytest.raises(ValueError, match="'west' has claimed nothing here"):
        book.excess("west", SYMBOLS[:6], 10)


# ------------------------------------------------------------------ status


def test_status_shows_who_holds_what_by_the_database_clock(book):
    book.join("east", 2)
    book.join("west", 2)
    east = book.claim("east", SYMBOLS[:3], 2, LONG_TTL_S)
    (lapsing,) = book.claim("west", SYMBOLS[:3], 2, SHORT_TTL_S)
    book.release("east", [east[1].symbol], {g.symbol: g.epoch for g in east})
    wait_until(expired(book, lapsing.symbol))
    status = book.status()
    assert [(i.name, i.symbols) for i in status.instances] == [
        ("east", (east[0].symbol,)),
        ("west", ()),
    ]
    assert all(0 <= i.last_seen_age_s < WAIT_S for i in status.instances)
    leases = {lease.symbol: lease for lease in status.leases}
    held = leases[east[0].symbol]
    assert (held.holder, held.epoch) == ("east", east[0].epoch)
    assert 0 <= held.renewed_age_s <= held.granted_age_s
    assert held.expires_in_s == pytest.approx(LONG_TTL_S - held.renewed_age_s, abs=1e-3)
    handed_back = leases[east[1].symbol]
    assert (handed_back.holder, handed_back.epoch) == (None, east[1].epoch)
    assert handed_back.expires_in_s <= 0
    lapsed = leases[lapsing.symbol]
    assert (lapsed.holder, lapsed.epoch) == ("west", lapsing.epoch)
    assert lapsed.expires_in_s < 0


def test_status_of_an_empty_cluster(book):
    status = book.status()
    assert (status.instances, status.leases) == ((), ())


# ------------------------------------------------------------------ racing


def test_instances_claiming_at_once_share_the_symbols_without_a_symbol_twice(dsn):
    capacities = {"a": 10, "b": 10, "c": 10, "d": 2}
    books = {name: LeaseBook(dsn) for name in capacities}
    try:
        for name, capacity in capacities.items():
            books[name].join(name, capacity)
        start = threading.Barrier(len(books))
        got: dict[str, list] = {}

        def claim(name: str) -> None:
            start.wait()
            got[name] = books[name].claim(name, SYMBOLS, capacities[name], LONG_TTL_S)

        threads = [threading.Thread(target=claim, args=(name,)) for name in books]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        taken = [g.symbol for grants in got.values() for g in grants]
        assert len(taken) == len(set(taken))
        assert {name: len(grants) for name, grants in got.items()} == {
            "a": 3,
            "b": 3,
            "c": 2,
            "d": 2,
        }
    finally:
        for book in books.values():
            book.close()
    assert_grants_never_overlap(dsn)


def test_churning_instances_never_hold_a_symbol_twice_and_epochs_only_grow(dsn):
    # Four instances claim, renew, hand back and lapse (stop renewing until their leases
    # expire) at random for a while; every grant any of them was given is checked
    # against the record, and the record's spans per symbol against each other.
    names = ["a", "b", "c", "d"]
    given: dict[int, tuple[str, str]] = {}
    lock = threading.Lock()
    failures: list[BaseException] = []
    stop_at = time.monotonic() + 2.0

    def run(name: str, seed: int) -> None:
        rng = random.Random(seed)
        held: dict[str, int] = {}
        try:
            with LeaseBook(dsn) as book:
                book.join(name, 4)
                while time.monotonic() < stop_at:
                    held = {s: g.epoch for s, g in book.renew(name, held, SHORT_TTL_S).items()}
                    for grant in book.claim(name, SYMBOLS, 4, SHORT_TTL_S):
                        with lock:
                            assert grant.epoch not in given
                            given[grant.epoch] = (grant.symbol, name)
                        held[grant.symbol] = grant.epoch
                    roll = rng.random()
                    if roll < 0.15 and held:
                        chosen = rng.sample(sorted(held), rng.randint(1, len(held)))
                        book.release(name, chosen, held)
                        held = {s: e for s, e in held.items() if s not in chosen}
                    elif roll < 0.2:
                        time.sleep(SHORT_TTL_S * 1.2)  # lapses: everything held expires
                    time.sleep(rng.uniform(0.0, 0.03))
                book.leave(name, held)
        except BaseException as error:  # reported by the test, from its own thread
            failures.append(error)

    threads = [threading.Thread(target=run, args=(n, i)) for i, n in enumerate(names)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    rows = grant_rows(dsn)
    assert {row[1]: (row[0], row[2]) for row in rows} == given
    assert len(rows) > len(SYMBOLS)  # the symbols did change hands
    assert_grants_never_overlap(dsn)


def test_the_connection_strings_own_options_are_kept(postgres_dsn):
    # A search path in the connection string: the leases are found where the store is.
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA elsewhere")
    dsn = f"{postgres_dsn} options='-c search_path=elsewhere'"
    apply_schema(dsn)
    with LeaseBook(dsn) as book:
        book.join("node-a", 2)
        assert [g.symbol for g in book.claim("node-a", SYMBOLS[:2], 2, LONG_TTL_S)] == SYMBOLS[:2]
    with psycopg.connect(postgres_dsn) as conn:
        found = conn.execute("SELECT count(*) FROM elsewhere.lease_grants").fetchone()
    assert found == (2,)
