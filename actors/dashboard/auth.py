"""Who may open the dashboard, as pure functions and small state: the password's scrypt
hash, signed session cookies, and the lock-out after repeated failures. Nothing here
reads a clock; the caller passes ``now`` (Unix seconds).

A hash is ``scrypt$N$r$p$<salt>$<key>`` (salt and key base64), what ``basis dashboard
hash`` prints: N=16384, r=8, p=1, a 16-byte salt and a 32-byte key. A session cookie is
``b64url(json {"who", "sid", "exp"}) + "." + b64url(HMAC-SHA256(key, first part))``:
it names who logged in (for the log of their actions), a random session id (which a
logout revokes) and when it expires.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections import deque

import attrs

SCRYPT_N = 16384
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
KEY_BYTES = 32
MAX_SCRYPT_MEMORY = 64 << 20
"""The most memory a hash's parameters may ask of a verification (128 · N · r bytes):
more than any sensible hash, less than a config could make the process spend."""

SECRET_MIN_CHARS = 32
"""The shortest session key taken from the environment."""

MAX_FAILURES = 5
FAILURE_WINDOW_S = 300.0
LOCK_S = 900.0
MAX_TRACKED_ADDRESSES = 10_000
"""Addresses whose failures are remembered at most; beyond, the oldest are forgotten."""


class BadHash(ValueError):
    """The text is not a password hash of this form; ``str()`` says what is wrong."""


@attrs.frozen
class ScryptHash:
    n: int
    r: int
    p: int
    salt: bytes
    key: bytes

    @property
    def line(self) -> str:
        """The hash as :func:`make_hash` writes it."""
        return "$".join(
            ["scrypt", str(self.n), str(self.r), str(self.p), _b64(self.salt), _b64(self.key)]
        )


def make_hash(password: str, *, n: int = SCRYPT_N, salt: bytes | None = None) -> str:
    """The hash line of ``password`` (a fresh random salt unless given). Raises
    ``ValueError`` for a password holding a NUL character (:func:`verify_password`)."""
    if "\x00" in password:
        raise ValueError("a dashboard password cannot hold a NUL character")
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    key = _scrypt(password, salt, n, SCRYPT_R, SCRYPT_P, KEY_BYTES)
    return "$".join(["scrypt", str(n), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(key)])


def parse_hash(text: str, *, min_n: int = 2) -> ScryptHash:
    """The hash ``text`` is; ``min_n``: the smallest N it may have (a configured hash
    must cost a guesser what :func:`make_hash`'s do)."""
    parts = text.strip().split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise BadHash("not of the form scrypt$N$r$p$<salt>$<hash>")
    try:
        n, r, p = (int(part) for part in parts[1:4])
        salt = base64.b64decode(parts[4], validate=True)
        key = base64.b64decode(parts[5], validate=True)
    except (ValueError, binascii.Error):
        raise BadHash("N, r and p must be whole numbers and salt and hash base64") from None
    if n < 2 or n & (n - 1) or r < 1 or p < 1 or 128 * n * r > MAX_SCRYPT_MEMORY:
        raise BadHash(f"N={n}, r={r}, p={p} are not scrypt parameters this accepts")
    if n < min_n:
        raise BadHash(f"N={n} is too cheap to guess against; N must be at least {min_n}")
    if not salt or len(key) < 16:
        raise BadHash("the salt is empty or the hash too short")
    return ScryptHash(n, r, p, salt, key)


def verify_password(password: str, hashed: ScryptHash) -> bool:
    """Whether ``password`` is the one ``hashed`` was made of (compared in constant
    time). Slow on purpose (about 0.1 s): run it in a worker thread.

    A password holding a NUL character never verifies: scrypt keys its HMAC with the
    password padded with zero bytes, so ``"secret"`` and ``"secret\\x00"`` would make the
    same key (a login form can send either)."""
    if "\x00" in password:
        return False
    key = _scrypt(password, hashed.salt, hashed.n, hashed.r, hashed.p, len(hashed.key))
    return hmac.compare_digest(key, hashed.key)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, dklen=length, maxmem=2 * MAX_SCRYPT_MEMORY
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# ------------------------------------------------------------------------ sessions


@attrs.frozen
class Session:
    who: str
    sid: str
    exp: float


@attrs.define(eq=False)
class Sessions:
    """Issues and checks session cookies signed with ``key``; remembers the sessions
    logged out until they would have expired anyway."""

    key: bytes
    revoked: dict[str, float] = attrs.field(factory=dict)
    """Session id → its expiry."""

    def issue(self, who: str, now: float, lifetime_s: float) -> tuple[str, Session]:
        session = Session(who, secrets.token_urlsafe(16), now + lifetime_s)
        payload = json.dumps(
            {"who": session.who, "sid": session.sid, "exp": session.exp},
            separators=(",", ":"),
        ).encode()
        body = _b64url(payload)
        return f"{body}.{self._sign(body)}", session

    def verify(self, cookie: str, now: float) -> Session | None:
        """The session ``cookie`` carries, or ``None`` if it is not one this key signed,
        it expired, or it was logged out."""
        body, dot, signature = cookie.partition(".")
        if not dot or not hmac.compare_digest(signature.encode(), self._sign(body).encode()):
            return None
        try:
            fields = json.loads(_unb64url(body))
            session = Session(str(fields["who"]), str(fields["sid"]), float(fields["exp"]))
        except (ValueError, KeyError, TypeError, binascii.Error):
            return None
        if not now < session.exp or session.sid in self.revoked:
            return None
        return session

    def revoke(self, session: Session, now: float) -> None:
        self.revoked = {sid: exp for sid, exp in self.revoked.items() if exp > now}
        self.revoked[session.sid] = session.exp

    def _sign(self, body: str) -> str:
        return _b64url(hmac.new(self.key, body.encode("ascii", "replace"), hashlib.sha256).digest())


def session_key(env_secret: str | None) -> bytes:
    """The key sessions are signed with: ``BASIS_DASHBOARD_SECRET`` (so that logins
    survive a restart), else a random one for this process. A :class:`ValueError` for
    a secret too short to be one."""
    if env_secret is None or env_secret == "":
        return secrets.token_bytes(32)
    if len(env_secret) < SECRET_MIN_CHARS:
        raise ValueError(
            f"BASIS_DASHBOARD_SECRET has {len(env_secret)} characters; give it at least "
            f"{SECRET_MIN_CHARS} random ones (or unset it for a key per process)"
        )
    return env_secret.encode()


def signing_key(secret: bytes, password: ScryptHash) -> bytes:
    """The key the sessions are signed with: ``secret`` bound to the password's hash, so
    that a new password makes every cookie of the old one worthless."""
    return hmac.new(secret, password.line.encode("ascii"), hashlib.sha256).digest()


# ------------------------------------------------------------------------ lock-out


@attrs.define(eq=False)
class LockOut:
    """``max_failures`` failed logins from one address within ``window_s`` lock that
    address out for ``lock_s``."""

    max_failures: int = MAX_FAILURES
    window_s: float = FAILURE_WINDOW_S
    lock_s: float = LOCK_S
    failures: dict[str, deque[float]] = attrs.field(factory=dict)
    locked_until: dict[str, float] = attrs.field(factory=dict)

    def locked_for(self, address: str, now: float) -> float:
        """How many seconds ``address`` stays locked out (0: it may try)."""
        until = self.locked_until.get(address)
        if until is None:
            return 0.0
        if now >= until:
            del self.locked_until[address]
            return 0.0
        return until - now

    def failed(self, address: str, now: float) -> None:
        times = self.failures.pop(address, None) or deque()
        times.append(now)
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if len(times) >= self.max_failures:
            self.locked_until[address] = now + self.lock_s
            times.clear()
        else:
            self.failures[address] = times  # re-inserted: the newest last
        self._forget_old(now)

    def succeeded(self, address: str) -> None:
        self.failures.pop(address, None)

    def _forget_old(self, now: float) -> None:
        while len(self.failures) > MAX_TRACKED_ADDRESSES:
            del self.failures[next(iter(self.failures))]
        self.locked_until = {a: t for a, t in self.locked_until.items() if t > now}
