"""Who may open the dashboard: password hashes, signed session cookies, the lock-out."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.dashboard.auth import (
    BadHash,
    LockOut,
    Sessions,
    make_hash,
    parse_hash,
    session_key,
    signing_key,
    verify_password,
)

FAST_N = 16
"""A cheap scrypt for the properties; the real cost is tested once."""
passwords = st.text(
    st.characters(codec="utf-8", exclude_characters="\x00"), min_size=0, max_size=40
)
"""What a hash may be made of (``make_hash`` refuses a NUL character)."""
NOW = 1_700_000_000.0


def test_a_hash_verifies_its_password_only():
    line = make_hash("correct horse")
    assert line.startswith("scrypt$16384$8$1$")
    hashed = parse_hash(line)
    assert len(hashed.salt) == 16 and len(hashed.key) == 32
    assert verify_password("correct horse", hashed)
    assert not verify_password("correct horse ", hashed)
    assert make_hash("correct horse") != line  # a fresh salt each time


@settings(max_examples=200, deadline=None)
@given(passwords, passwords)
def test_a_hash_never_verifies_another_password(password, other):
    hashed = parse_hash(make_hash(password, n=FAST_N))
    assert verify_password(password, hashed)
    assert verify_password(other, hashed) == (other == password)


@settings(max_examples=50, deadline=None)
@given(passwords, st.integers(0, 3), st.integers(1, 3))
def test_a_password_with_a_nul_never_verifies_and_is_never_hashed(password, at, nuls):
    # scrypt pads its HMAC key with zero bytes: a trailing NUL would make the same key.
    hashed = parse_hash(make_hash(password, n=FAST_N))
    at = min(at, len(password))
    padded = password[:at] + "\x00" * nuls + password[at:]
    assert not verify_password(padded, hashed)
    with pytest.raises(ValueError, match="NUL"):
        make_hash(padded, n=FAST_N)


@pytest.mark.parametrize(
    "line",
    [
        "",
        "bcrypt$16384$8$1$AAAA$AAAA",
        "scrypt$16384$8$1$AAAA",
        "scrypt$1000$8$1$AAAAAAAAAAAAAAAAAAAAAA==$" + "A" * 44,
        "scrypt$16384$8$1$!!!$" + "A" * 44,
        "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAA",
        "scrypt$1048576$8$1$AAAAAAAAAAAAAAAAAAAAAA==$" + "A" * 44,
    ],
)
def test_what_is_not_a_hash_is_refused(line):
    with pytest.raises(BadHash):
        parse_hash(line)


def test_a_session_cookie_verifies_until_it_expires_or_is_revoked():
    sessions = Sessions(b"k" * 32)
    cookie, session = sessions.issue("ana", NOW, 3600.0)
    assert sessions.verify(cookie, NOW + 10) == session
    assert session.who == "ana" and session.exp == NOW + 3600
    assert sessions.verify(cookie, NOW + 3600) is None
    sessions.revoke(session, NOW + 20)
    assert sessions.verify(cookie, NOW + 30) is None
    other, _ = sessions.issue("ana", NOW, 3600.0)
    assert sessions.verify(other, NOW + 30) is not None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40), st.data())
def test_a_cookie_changed_anywhere_never_verifies(who, data):
    sessions = Sessions(b"the key of this process, 32 bytes")
    cookie, _ = sessions.issue(who, NOW, 3600.0)
    raw = bytearray(cookie.encode())
    at = data.draw(st.integers(0, len(raw) - 1))
    raw[at] = data.draw(st.integers(0, 255).filter(lambda b: b != raw[at]))
    try:
        tampered = raw.decode()
    except UnicodeDecodeError:
        return  # no browser sends it; nothing to verify
    assert sessions.verify(tampered, NOW + 1) is None


def _signed(key: bytes, payload: dict) -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    mac = hmac.new(key, body.encode(), hashlib.sha256).digest()
    return body + "." + base64.urlsafe_b64encode(mac).decode().rstrip("=")


@settings(max_examples=200, deadline=None)
@given(
    st.binary(min_size=1, max_size=64),
    st.text(max_size=20),
    st.floats(NOW - 1e6, NOW + 1e9, allow_nan=False),
)
def test_a_payload_signed_with_another_key_never_verifies(other_key, who, exp):
    key = b"the key of this process, 32 bytes"
    if other_key == key:
        return
    sessions = Sessions(key)
    assert sessions.verify(_signed(other_key, {"who": who, "sid": "s", "exp": exp}), NOW) is None
    # The same payload with this key is a session: the key alone made the difference.
    forged_with_key = _signed(key, {"who": who, "sid": "s", "exp": exp})
    assert (sessions.verify(forged_with_key, NOW) is not None) == (exp > NOW)


@settings(max_examples=100, deadline=None)
@given(st.floats(0.0, 1e7))
def test_an_expired_cookie_never_verifies(late_by):
    sessions = Sessions(b"k" * 32)
    cookie, session = sessions.issue("ana", NOW, 60.0)
    assert sessions.verify(cookie, session.exp + late_by) is None


def test_the_session_key_comes_from_the_environment_when_long_enough():
    assert session_key("x" * 32) == b"x" * 32
    assert len(session_key(None)) == 32 and session_key(None) != session_key(None)
    with pytest.raises(ValueError, match="BASIS_DASHBOARD_SECRET has 5 characters"):
        session_key("short")


def test_five_failures_in_five_minutes_lock_an_address_out_for_fifteen():
    lock = LockOut()
    for n in range(4):
        lock.failed("10.0.0.1", NOW + n * 60)
    assert lock.locked_for("10.0.0.1", NOW + 240) == 0.0
    lock.failed("10.0.0.1", NOW + 250)
    assert lock.locked_for("10.0.0.1", NOW + 250) == 900.0
    assert lock.locked_for("10.0.0.2", NOW + 250) == 0.0  # another address may try
    assert lock.locked_for("10.0.0.1", NOW + 250 + 899) == 1.0
    assert lock.locked_for("10.0.0.1", NOW + 250 + 900) == 0.0


def test_failures_spread_beyond_the_window_or_a_success_do_not_lock():
    lock = LockOut()
    for n in range(10):
        lock.failed("a", NOW + n * 76)  # never five within 300 s
    assert lock.locked_for("a", NOW + 700) == 0.0 and lock.locked_until == {}
    for n in range(4):
        lock.failed("b", NOW + n)
    lock.succeeded("b")
    lock.failed("b", NOW + 5)
    assert lock.locked_for("b", NOW + 5) == 0.0


def test_a_new_password_signs_every_session_out():
    old = parse_hash(make_hash("old", n=FAST_N))
    new = parse_hash(make_hash("new", n=FAST_N))
    assert parse_hash(old.line) == old  # the hash's line is the one it was read from
    secret = b"s" * 32
    cookie, _ = Sessions(signing_key(secret, old)).issue("ana", NOW, 3600.0)
    assert Sessions(signing_key(secret, old)).verify(cookie, NOW) is not None
    assert Sessions(signing_key(secret, new)).verify(cookie, NOW) is None


def test_a_hash_may_be_held_to_a_least_cost():
    line = make_hash("pw", n=FAST_N)
    assert parse_hash(line).n == FAST_N
    with pytest.raises(BadHash, match="N=16 is too cheap to guess against"):
        parse_hash(line, min_n=16384)
