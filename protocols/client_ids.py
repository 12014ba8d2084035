"""Basis's client order ids: how an order is named at the venues, and how a name is read
back: whether Basis made it, for which task, and which instance of Basis.

An id is ``<task id>-<seq><leg>-<instance>``, for example ``btc_sj3kx0-1s-k3x9``:

- the task id (1 to 16 of ``[A-Za-z0-9_]``, no hyphen) names the strategy that owns the
  order, which is how a router finds whom to tell;
- ``seq`` is the task's order number in base 36 (at most :data:`SEQ_DIGITS` digits), then
  ``s`` or ``f`` for the spot or futures leg;
- the instance id (:data:`INSTANCE_ID_LENGTH` base-36 characters) names the data
  directory, so that orders another Basis instance sends on the same account are told
  apart from this one's. In a cluster (instances sharing the symbols of one PostgreSQL
  store) the same characters carry the lease epoch under which the order was made
  (:func:`epoch_tag`): the epoch names one grant of the symbol to one instance, so the
  instance that took a symbol over tells the orders of the grants before its own from
  its own, and the store says whose they were.

The longest id is 16 + 1 + 5 + 1 + 1 + 4 = 28 characters of ``[0-9a-z_-]``: what Gate.io
allows after the ``t-`` prefix of its order ``text`` (28 bytes of ``[0-9A-Za-z_.-]``), and
within the 1-32 of ``[A-Za-z0-9_-]`` Basis keeps to at MEXC. Ids made before instance ids
existed, ``<task id>-<seq><leg>`` with a decimal ``seq``, still read back (orders in
flight in an older snapshot carry them); their instance is unknown.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from protocols.model import Leg

BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
INSTANCE_ID_LENGTH = 4
"""36**4, about 1.7 million ids: two instances on one account share one by chance about
once in a million."""
SEQ_DIGITS = 5
MAX_SEQ = 36**SEQ_DIGITS - 1
"""About 60 million orders per task."""

_INSTANCE = re.compile(rf"[0-9a-z]{{{INSTANCE_ID_LENGTH}}}")
_CURRENT = re.compile(
    rf"(?P<task>[A-Za-z0-9_]{{1,16}})-(?P<seq>[0-9a-z]{{1,{SEQ_DIGITS}}})(?P<leg>[sf])"
    rf"-(?P<instance>[0-9a-z]{{{INSTANCE_ID_LENGTH}}})"
)
_BEFORE_INSTANCES = re.compile(r"(?P<task>[A-Za-z0-9_]{1,16})-(?P<seq>[0-9]+)(?P<leg>[sf])")
_LEGS = {Leg.SPOT: "s", Leg.FUTURES: "f"}


class ClientId(NamedTuple):
    """A Basis client order id, read back."""

    task_id: str
    seq: int
    leg: Leg
    instance: str | None
    """The instance that made it; ``None`` for an id made before instance ids existed."""


MAX_EPOCH = 36**INSTANCE_ID_LENGTH - 1
"""The last lease epoch a client id can carry: 1,679,615 grants in a cluster's life."""


def epoch_tag(epoch: int) -> str:
    """Lease epoch ``epoch`` as the instance part of a client id: base 36, zero-padded."""
    if not 1 <= epoch <= MAX_EPOCH:
        raise ValueError(f"lease epoch {epoch} is outside 1..{MAX_EPOCH}")
    return _base36(epoch).rjust(INSTANCE_ID_LENGTH, "0")


def tag_epoch(tag: str) -> int:
    """The lease epoch :func:`epoch_tag` made ``tag`` of."""
    if not is_instance_id(tag):
        raise ValueError(f"{tag!r} is not {INSTANCE_ID_LENGTH} of [0-9a-z]")
    return int(tag, 36)


def is_instance_id(text: str) -> bool:
    return _INSTANCE.fullmatch(text) is not None


def client_order_id(task_id: str, seq: int, leg: Leg, instance: str | None) -> str:
    """The client id of ``task_id``'s order number ``seq`` on ``leg``; ``instance``
    ``None`` makes the form without an instance (a backtest, which no venue sees)."""
    if instance is None:
        return f"{task_id}-{seq}{_LEGS[leg]}"
    if not is_instance_id(instance):
        raise ValueError(f"instance id {instance!r} is not {INSTANCE_ID_LENGTH} of [0-9a-z]")
    if not 0 <= seq <= MAX_SEQ:
        raise ValueError(f"order number {seq} is outside 0..{MAX_SEQ}")
    return f"{task_id}-{_base36(seq)}{_LEGS[leg]}-{instance}"


def parse_client_id(client_id: str) -> ClientId | None:
    """``client_id`` read back, or ``None`` when Basis did not make it (an order placed
    by hand, another program's, a venue's own ``text`` such as ``web``)."""
    found = _CURRENT.fullmatch(client_id)
    if found is not None:
        seq = int(found["seq"], 36)
        instance: str | None = found["instance"]
    else:
        found = _BEFORE_INSTANCES.fullmatch(client_id)
        if found is None:
            return None
        seq, instance = int(found["seq"]), None
    leg = Leg.SPOT if found["leg"] == "s" else Leg.FUTURES
    return ClientId(found["task"], seq, leg, instance)


def task_of(client_id: str) -> str | None:
    """The task that owns the order ``client_id``, if Basis made it."""
    parsed = parse_client_id(client_id)
    return None if parsed is None else parsed.task_id


def other_instance(client_id: str, instance: str) -> str | None:
    """The instance that made ``client_id`` if it is another Basis instance than
    ``instance``; ``None`` for this instance's ids, ids of unknown instance, and ids
    Basis did not make."""
    parsed = parse_client_id(client_id)
    if parsed is None or parsed.instance is None or parsed.instance == instance:
        return None
    return parsed.instance


def _base36(value: int) -> str:
    text = ""
    while value:
        value, digit = divmod(value, 36)
        text = BASE36[digit] + text
    return text or "0"
