"""The promises a chaos run checks, as pure functions of what was recorded.

The venues' ledgers are the truth: what the system believes is held to them, never the
other way round. Each check returns an :class:`InvariantResult` whose ``detail`` says what
was measured, and on failure exactly what broke, so a report can be read without the
code.

1. ``orders_once``: no client id reached a venue twice; every venue order is journaled.
2. ``positions_settled``: after each fault cleared, positions matched the venues within
   the settling period.
3. ``unhedged_bounded``: an unhedged delta above the smallest order either venue takes
   never lasted longer than the bound; ``unhedged_notional_bounded``: nor did one
   incident's unhedged notional-seconds exceed that time bound at one entry's
   notional.
4. ``no_stale_entries``: every entry at a venue was decided on quotes no older than
   ``max_quote_age_s`` (as logged), and none reached a venue later into a cut-off of
   its market data than the strategy could have decided and sent it (the connection's
   liveness bound, then the entry's send deadline, and a grace).
5. ``supervisors_held``: no supervisor gave up, and any that did was reported in
   ``/health``.
6. ``memory_flat``: the trading process's memory did not grow beyond the allowance.
7. ``alerts_follow_incidents``: each health signal that lasted long enough to be an
   incident was told once opened and once resolved at the webhook, each within
   ``within_s`` of the signal's appearance in ``/status`` and of its end.
8. ``no_entry_while_reducing``: no entry leg reached a venue while the operator held the
   portfolio ``reducing`` or ``halted`` (past a grace for legs already decided).
9. ``mode_survives_kill``: after each SIGKILL the restarted process showed the risk mode
   it had when killed.
10. ``no_liquidation``: the simulated perpetual liquidated nothing.
11. ``no_one_leg_entry_on_shortfall``: while a venue's free balance was short, no entry
   placed a leg there that the venue refused for the balance, its partner accepted at
   the other venue (past a grace for the balance reading to catch up, or for the first
   refusal there to be heard).
12. ``history_adds_up``: every cycle the store kept decomposes into its parts (basis,
   each leg's fees, funding, each leg's slippage) within ``HISTORY_TOLERANCE_USDT`` of
   its P&L, and the fees of the fills stored for it are its fees: kills, restarts and a
   crashing writer neither lose a cycle's fill nor store one twice.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

import msgspec

from actors.sim.ledger import (
    Deleveraged,
    FillExecuted,
    LedgerEntry,
    Liquidated,
    OrderAccepted,
    OrderRefused,
)
from actors.sim.records import AutoDeleverage, Liquidation, VenueFill
from actors.sim.venues import leg_of
from protocols.client_ids import client_order_id, parse_client_id
from protocols.gateio import CLIENT_TEXT_PREFIX
from protocols.messages import TradeRecord
from protocols.model import Leg, Side
from protocols.rules import at_least


class InvariantResult(msgspec.Struct, frozen=True):
    name: str
    passed: bool
    detail: str


class LegFill(msgspec.Struct, frozen=True):
    """One venue fill, as the unhedged-delta replay needs it."""

    ts: float
    symbol: str
    leg: str
    """``spot`` or ``futures``."""
    signed_qty: float
    """+ bought, - sold, in base units."""
    price: float


class Excursion(msgspec.Struct, frozen=True):
    """A stretch of time a symbol's legs differed by at least the threshold."""

    symbol: str
    start: float
    end: float
    peak_usdt: float
    usdt_s: float = 0.0
    """The difference's value integrated over the stretch (USDT-seconds), each value
    holding from the fill that made it to the next."""

    @property
    def lasted_s(self) -> float:
        return self.end - self.start


class PositionCheck(msgspec.Struct, frozen=True):
    """Whether positions matched the venues after a fault cleared, and how soon."""

    after: str
    cleared_at: float
    settled_after_s: float | None
    """``None``: they did not match within the settling period."""
    mismatch: str
    """The last difference seen (empty once they matched)."""


class EntryDecision(msgspec.Struct, frozen=True):
    """An entry as the strategy logged it."""

    client_ids: list[str]
    decided_at: float
    spot_quote_age_s: float | None
    futures_quote_age_s: float | None
    max_quote_age_s: float


class DataOutage(msgspec.Struct, frozen=True):
    """A time a venue sent no market data (a stall, or the venue down)."""

    venue: str
    start: float
    end: float


class HealthSample(msgspec.Struct, frozen=True):
    at: float
    healthy: bool
    reason: str
    gave_up: list[str]
    """Supervisors whose snapshots showed a give-up."""
    keys: list[str] = msgspec.field(default_factory=list)
    """The keys of the health signals ``/status`` listed."""


class ReceivedAlert(msgspec.Struct, frozen=True):
    """An alert as the chaos run's webhook took it."""

    at: float
    id: str
    incident: str
    kind: str


class MemorySample(msgspec.Struct, frozen=True):
    at: float
    incarnation: int
    rss_mb: float


class ProcessExit(msgspec.Struct, frozen=True):
    incarnation: int
    code: int | None
    asked: str | None
    """``kill`` (the plan's SIGKILL), ``stop`` (the graceful stop at the end), or ``None``:
    the process ended by itself."""
    gave_up: list[str] = msgspec.field(default_factory=list)
    """Supervisors the final status it printed showed a give-up in (a process that ended
    before any health sample saw it still names what gave up)."""


# -------------------------------------------------------------------- 1. orders


def venue_client_id(venue: str, client_id: str) -> str:
    """The system's client id of a venue order (Gate.io's carry a ``t-`` prefix)."""
    if venue == "gateio":
        return client_id.removeprefix(CLIENT_TEXT_PREFIX)
    return client_id


def orders_once(ledgers: dict[str, Sequence[LedgerEntry]], journaled: set[str]) -> InvariantResult:
    name = "no order sent twice; every venue order journaled"
    problems = []
    accepted_total = 0
    for venue, entries in ledgers.items():
        sent = [
            venue_client_id(venue, e.order.client_id)
            for e in entries
            if type(e) is OrderAccepted and e.order.client_id
        ]
        accepted_total += len(sent)
        twice = sorted(cid for cid, times in Counter(sent).items() if times > 1)
        if twice:
            problems.append(f"{venue} accepted {', '.join(twice[:5])} more than once")
        duplicates = [
            e.client_id
            for e in entries
            if type(e) is OrderRefused and e.error == "DuplicateClientId" and e.client_id
        ]
        if duplicates:
            problems.append(
                f"{venue} refused {len(duplicates)} placement(s) under a used client id "
                f"(sent twice): {', '.join(duplicates[:5])}"
            )
        unknown = sorted(set(sent) - journaled)
        if unknown:
            problems.append(f"{venue} holds orders the system never journaled: {unknown[:5]}")
    if problems:
        return InvariantResult(name, False, "; ".join(problems))
    return InvariantResult(
        name, True, f"{accepted_total} venue orders, each client id once, all journaled"
    )


# ----------------------------------------------------------------- 2. positions


def positions_settled(checks: Sequence[PositionCheck], settle_s: float) -> InvariantResult:
    name = "positions match the venues after each fault"
    failed = [c for c in checks if c.settled_after_s is None]
    if not checks:
        return InvariantResult(name, False, "no check was made: the run never settled")
    if failed:
        listed = "; ".join(f"after {c.after}: {c.mismatch}" for c in failed[:3])
        return InvariantResult(
            name, False, f"{len(failed)} of {len(checks)} checks not settled in {settle_s:g} s: "
            f"{listed}"
        )  # fmt: skip
    slowest = max(c.settled_after_s or 0.0 for c in checks)
    return InvariantResult(
        name,
        True,
        f"{len(checks)} checks, all matched within {settle_s:g} s (slowest {slowest:.2f} s)",
    )


# ------------------------------------------------------------------ 3. unhedged


def leg_fills(ledgers: dict[str, Sequence[LedgerEntry]]) -> list[LegFill]:
    """Every fill of both venues, with what the futures venue closed by itself
    (liquidations, auto-deleveraging: a leg changed without an order), in time order."""
    moves = [
        LegFill(m.ts, str(m.symbol), "futures", m.signed_qty, m.price) for m in venue_moves(ledgers)
    ]
    fills = moves + [
        LegFill(e.fill.ts, str(e.fill.symbol), leg_of(venue).value, held(e.fill), e.fill.price)
        for venue, entries in ledgers.items()
        for e in entries
        if type(e) is FillExecuted
    ]
    fills.sort(key=lambda f: f.ts)
    return fills


def held(fill: VenueFill) -> float:
    """What ``fill`` changed the holding by: + bought, - sold, less a fee the venue took in
    the coin itself (Binance spot's, without BNB), which leaves the coin bought short of
    the order's quantity and is no gap between the legs."""
    return fill.signed_qty - fill.fee if fill.fee_asset == fill.symbol.base else fill.signed_qty


def venue_moves(
    ledgers: dict[str, Sequence[LedgerEntry]],
) -> list[Liquidation | AutoDeleverage]:
    """What the futures venues did to positions by themselves: liquidations and
    auto-deleveraging, in ledger order."""
    found: list[Liquidation | AutoDeleverage] = []
    for venue, entries in ledgers.items():
        if leg_of(venue) is not Leg.FUTURES:
            continue
        for entry in entries:
            if type(entry) is Liquidated:
                found.append(entry.liquidation)
            elif type(entry) is Deleveraged:
                found.append(entry.deleverage)
    return found


def excursions(
    fills: Iterable[LegFill], threshold_usdt: Callable[[str, float], float], end: float
) -> list[Excursion]:
    """Each stretch of time a symbol's spot holding and futures short differed by at
    least ``threshold_usdt(symbol, price)`` in value (at the latest fill price), from the
    fill that opened the gap to the fill that closed it (or ``end``). ``fills`` must be
    in time order."""
    spot: dict[str, float] = {}
    futures: dict[str, float] = {}
    # Per symbol while its legs differ: start, peak, USDT-seconds so far, and the value
    # and time of the last fill.
    opened: dict[str, tuple[float, float, float, float, float]] = {}
    found = []
    for fill in fills:
        symbol = fill.symbol
        book = spot if fill.leg == "spot" else futures
        book[symbol] = book.get(symbol, 0.0) + fill.signed_qty
        # The futures leg is short: hedged means spot + futures (negative) is zero.
        value = abs(spot.get(symbol, 0.0) + futures.get(symbol, 0.0)) * fill.price
        above = at_least(value, threshold_usdt(symbol, fill.price))
        if symbol in opened:
            start, peak, usdt_s, last_value, last_ts = opened.pop(symbol)
            usdt_s += last_value * (fill.ts - last_ts)
        elif above:
            start, peak, usdt_s = fill.ts, 0.0, 0.0
        else:
            continue
        if above:
            opened[symbol] = (start, max(peak, value), usdt_s, value, fill.ts)
        else:
            found.append(Excursion(symbol, start, fill.ts, peak, usdt_s))
    for symbol, (start, peak, usdt_s, value, ts) in opened.items():
        finish = max(end, start)
        found.append(Excursion(symbol, start, finish, peak, usdt_s + value * max(0.0, finish - ts)))
    return sorted(found, key=lambda e: e.start)


def unhedged_bounded(found: Sequence[Excursion], bound_s: float) -> InvariantResult:
    name = "unhedged delta bounded in time"
    if not found:
        return InvariantResult(name, True, "the legs never differed by a tradable amount")
    longest = max(found, key=lambda e: e.lasted_s)
    worst = max(found, key=lambda e: e.peak_usdt)
    summary = (
        f"{len(found)} excursion(s); longest {longest.lasted_s:.2f} s ({longest.symbol}), "
        f"largest {worst.peak_usdt:.2f} USDT ({worst.symbol}); bound {bound_s:g} s"
    )
    return InvariantResult(name, longest.lasted_s <= bound_s, summary)


NOTIONAL_SLACK = 1.25
"""How far past one entry's configured notional a difference between the legs may be
valued: prices move between the entry and the fills that value it (the chaos stir jumps
the perpetual by a few percent). A correction that overshoots, doubling the gap, does
not fit."""


def unhedged_notional_bound(bound_s: float, entry_usdt: float) -> float:
    """The most unhedged notional-seconds one incident may cost: the legs of one entry
    (``entry_usdt``, with :data:`NOTIONAL_SLACK`) apart for the whole time bound."""
    return bound_s * entry_usdt * NOTIONAL_SLACK


def unhedged_notional_bounded(found: Sequence[Excursion], bound_usdt_s: float) -> InvariantResult:
    name = "unhedged notional x seconds bounded per incident"
    if not found:
        return InvariantResult(name, True, "the legs never differed by a tradable amount")
    worst = max(found, key=lambda e: e.usdt_s)
    total = sum(e.usdt_s for e in found)
    summary = (
        f"worst incident {worst.usdt_s:.1f} USDT-s ({worst.symbol}, {worst.lasted_s:.2f} s, "
        f"peak {worst.peak_usdt:.2f} USDT); all {total:.1f} USDT-s; "
        f"bound {bound_usdt_s:.1f} USDT-s per incident"
    )
    return InvariantResult(name, worst.usdt_s <= bound_usdt_s, summary)


# ---------------------------------------------------------------- 4. staleness

STALE_GRACE_S = 0.5
"""Beyond the liveness bound and the send deadline, what may still pass between a
venue's last frame and an entry accepted there: the frame and the feed's "not live"
on their way to the strategy, and the placement sent just before its deadline on its way
to the venue (loopback and three actors' mailboxes, milliseconds each on an idle
machine; half a second leaves room for two busy cores without covering a gate that
failed, which lets entries through for the whole outage)."""


class EntryLeg(NamedTuple):
    """One leg of an entry found at its venue."""

    accepted_at: float
    venue: str
    pair: tuple[str, str]
    """The entry's spot venue and futures venue: the two whose data it was decided on."""


def venue_entries(ledgers: dict[str, Sequence[LedgerEntry]]) -> dict[str, EntryLeg]:
    """Entry legs found at the venues, by client id. An entry is a spot buy ``T-Ns`` and a
    futures sell ``T-(N+1)f`` decided together; corrections and exits never form that
    pair."""
    orders: dict[str, tuple[float, str, Side, bool]] = {}
    for venue, entries in ledgers.items():
        for e in entries:
            if type(e) is OrderAccepted and e.order.client_id:
                cid = venue_client_id(venue, e.order.client_id)
                orders[cid] = (e.order.created_ts, venue, e.order.side, e.order.reduce_only)
    found = {}
    for cid, (ts, venue, side, _) in orders.items():
        parsed = parse_client_id(cid)
        if parsed is None or parsed.leg is not Leg.SPOT or side is not Side.BUY:
            continue
        # Read the way the strategy writes them (base 36, with the instance), so that
        # the outage check sees every entry.
        partner = client_order_id(parsed.task_id, parsed.seq + 1, Leg.FUTURES, parsed.instance)
        other = orders.get(partner)
        if other is not None and other[2] is Side.SELL and not other[3]:
            pair = (venue, other[1])
            found[cid] = EntryLeg(ts, venue, pair)
            found[partner] = EntryLeg(other[0], other[1], pair)
    return found


def no_stale_entries(
    ledgers: dict[str, Sequence[LedgerEntry]],
    decisions: Sequence[EntryDecision],
    outages: Sequence[DataOutage],
    entries_stop_s: float,
) -> InvariantResult:
    """``entries_stop_s``: how long into a data outage an entry may still be sent (the
    connection's liveness bound, ``live_within_s``, plus the send deadline of an entry's
    legs, ``entry_send_within_s``); :data:`STALE_GRACE_S` is added to it."""
    name = "no entry on a stale quote"
    logged = {cid: d for d in decisions for cid in d.client_ids}
    problems = []
    for d in decisions:
        ages = [a for a in (d.spot_quote_age_s, d.futures_quote_age_s) if a is not None]
        if len(ages) < 2:
            problems.append(f"entry {d.client_ids} logged without its quote ages")
        elif max(ages) > d.max_quote_age_s:
            problems.append(
                f"entry {d.client_ids} decided on a quote {max(ages):.3f} s old "
                f"(max_quote_age_s {d.max_quote_age_s:g})"
            )
    at_venues = venue_entries(ledgers)
    unlogged = sorted(cid for cid in at_venues if cid not in logged)
    if unlogged:
        problems.append(f"entries at the venues with no logged decision: {unlogged[:5]}")
    latest_s = entries_stop_s + STALE_GRACE_S
    for cid, (accepted_at, venue, pair) in at_venues.items():
        # An outage matters to the entries decided on its venue's data: with several
        # pairs of venues, one venue's outage is no other pair's.
        for outage in (outage for outage in outages if outage.venue in pair):
            if outage.start + latest_s <= accepted_at <= outage.end:
                problems.append(
                    f"{cid} reached {venue} {accepted_at - outage.start:.2f} s into a "
                    f"{outage.venue} data outage"
                )
    if problems:
        return InvariantResult(name, False, "; ".join(problems[:5]))
    oldest = max(
        (
            max(d.spot_quote_age_s or 0.0, d.futures_quote_age_s or 0.0)
            for d in decisions
            if d.client_ids
        ),
        default=0.0,
    )
    return InvariantResult(
        name,
        True,
        f"{len(decisions)} entries logged, {len(at_venues) // 2} found at the venues; "
        f"oldest quote used {oldest:.3f} s; none later than {latest_s:g} s into "
        f"{len(outages)} data outage(s)",
    )


# --------------------------------------------------------------- 5. supervisors


def supervisors_held(
    samples: Sequence[HealthSample], exits: Sequence[ProcessExit]
) -> InvariantResult:
    name = "no supervisor gave up (and any that did was reported)"
    problems = []
    gave_up = sorted(
        {g for s in samples for g in s.gave_up} | {g for x in exits for g in x.gave_up}
    )
    if gave_up:
        problems.append(f"gave up: {'; '.join(gave_up[:3])}")
    unreported = [s for s in samples if s.gave_up and (s.healthy or "gave up" not in s.reason)]
    if unreported:
        problems.append(f"{len(unreported)} status sample(s) showed a give-up /health did not")
    by_itself = [x for x in exits if x.asked is None]
    if by_itself:
        codes = ", ".join(f"run {x.incarnation}: exit {x.code}" for x in by_itself)
        problems.append(f"the trading process ended by itself ({codes})")
    failed_stops = [x for x in exits if x.asked == "stop" and x.code != 0]
    if failed_stops:
        codes = ", ".join(f"run {x.incarnation}: exit {x.code}" for x in failed_stops)
        problems.append(f"a graceful stop did not end cleanly ({codes})")
    if problems:
        return InvariantResult(name, False, "; ".join(problems))
    return InvariantResult(
        name,
        True,
        f"{len(samples)} health samples, no give-up; every run ended as asked",
    )


# -------------------------------------------------------------------- 6. memory

MEMORY_WARMUP_S = 60.0
"""Caches fill up first: routers keep finished orders for five minutes, the store warms."""
MEMORY_MIN_JUDGED_S = 120.0
"""The least stretch, after the warm-up, that memory is judged on."""


def memory_growth(samples: Sequence[MemorySample]) -> tuple[float, float] | None:
    """``(growth MB, stretch s)`` of the longest-lived process after its warm-up: the
    mean of the last tenth of samples less the mean of the first tenth; ``None`` if no
    process lived long enough to judge."""
    by_run: dict[int, list[MemorySample]] = {}
    for sample in samples:
        by_run.setdefault(sample.incarnation, []).append(sample)
    best: tuple[float, float] | None = None
    for run in by_run.values():
        warm = max(MEMORY_WARMUP_S, (run[-1].at - run[0].at) / 5.0)
        judged = [s for s in run if s.at >= run[0].at + warm]
        if len(judged) < 10 or judged[-1].at - judged[0].at < MEMORY_MIN_JUDGED_S:
            continue
        tenth = max(1, len(judged) // 10)
        first = sum(s.rss_mb for s in judged[:tenth]) / tenth
        last = sum(s.rss_mb for s in judged[-tenth:]) / tenth
        stretch = judged[-1].at - judged[0].at
        if best is None or stretch > best[1]:
            best = (last - first, stretch)
    return best


def memory_flat(
    samples: Sequence[MemorySample], allowance_mb: float, per_hour_mb: float
) -> InvariantResult:
    name = "memory stays flat"
    growth = memory_growth(samples)
    if growth is None:
        return InvariantResult(
            name,
            True,
            f"not judged: no process ran {MEMORY_WARMUP_S + MEMORY_MIN_JUDGED_S:g} s without "
            f"a kill ({len(samples)} samples)",
        )
    grew, stretch = growth
    allowed = allowance_mb + per_hour_mb * stretch / 3600.0
    peak = max(s.rss_mb for s in samples)
    detail = (
        f"{grew:+.1f} MB over {stretch / 60:.1f} min after the warm-up (allowed {allowed:.1f} "
        f"MB); peak RSS {peak:.0f} MB"
    )
    return InvariantResult(name, grew <= allowed, detail)


class IncidentWindow(msgspec.Struct, frozen=True):
    """A stretch of samples in which a health signal was listed, with the gaps shorter
    than the alerts' ``resolve_after_s`` (which do not resolve it) bridged."""

    key: str
    start: float
    """The first sample listing it."""
    end: float | None
    """The first sample after it no longer listed it; ``None``: listed to the last."""
    gaps: tuple[float, ...]
    """The bridged gaps' lengths."""


def incident_windows(samples: Sequence[HealthSample], bridge_s: float) -> list[IncidentWindow]:
    """Each health signal's windows in ``samples``, gaps shorter than ``bridge_s``
    bridged, ordered by start."""
    spans: dict[str, list[list[float | None]]] = {}
    listed: set[str] = set()
    for sample in samples:
        now = set(sample.keys)
        for key in now - listed:
            spans.setdefault(key, []).append([sample.at, None])
        for key in listed - now:
            spans[key][-1][1] = sample.at
        listed = now
    windows = []
    for key, found in spans.items():
        start, end = found[0]
        gaps: list[float] = []
        for next_start, next_end in found[1:]:
            assert end is not None and next_start is not None
            if next_start - end < bridge_s:
                gaps.append(next_start - end)
                end = next_end
                continue
            assert start is not None
            windows.append(IncidentWindow(key, start, end, tuple(gaps)))
            start, end, gaps = next_start, next_end, []
        assert start is not None
        windows.append(IncidentWindow(key, start, end, tuple(gaps)))
    return sorted(windows, key=lambda w: w.start)


SAMPLES_GAP_S = 1.5
"""Samples further apart than this: the trading process was down (killed, restarting)."""


def alerts_follow_incidents(
    samples: Sequence[HealthSample],
    alerts: Sequence[ReceivedAlert],
    open_after_s: float,
    resolve_after_s: float,
    within_s: float = 5.0,
    margin_s: float = 1.0,
) -> tuple[InvariantResult, list[float]]:
    """Each window of a health signal that lasted ``open_after_s`` (and ``margin_s``
    more, for the samples' and the alert actor's own pace) was told exactly once
    opened, within ``within_s`` of its first sample, and once resolved, within
    ``within_s`` of its end (``resolve_after_s`` more if the signal flickered back
    between two samples, which the samples cannot tell). Not checked: windows too close
    to ``open_after_s`` or with a gap too close to ``resolve_after_s`` to say what the
    alerts should be, and those the trading process was down in, or the run ended in.
    Also returns each checked alert's delay (from the signal's appearance, or its end)."""
    name = "each incident told once opened and once resolved, within 5 s"
    if within_s != 5.0:
        name = f"each incident told once opened and once resolved, within {within_s:g} s"
    times = [s.at for s in samples]
    delays: list[float] = []
    problems: list[str] = []
    skipped = 0
    # A flicker back of the signal too short for the samples to see restarts the alert
    # actor's resolve_after_s: a resolution is given that much longer.
    resolve_within_s = within_s + resolve_after_s
    windows = incident_windows(samples, resolve_after_s + margin_s)
    for window in windows:
        end = window.end
        following = [w.start for w in windows if w.key == window.key and w.start > window.start]
        until = end + resolve_within_s if end is not None else 0.0
        if following:
            until = min(until, following[0] + open_after_s - margin_s)
        if (
            end is None
            or end - window.start < open_after_s + margin_s
            or any(gap > resolve_after_s - margin_s for gap in window.gaps)
            # An incident open before a restart is not announced again after it.
            or _down_between(times, window.start - open_after_s - resolve_after_s, until)
        ):
            skipped += 1
            continue
        told = [
            a
            for a in alerts
            if a.incident == window.key
            and a.kind in ("opened", "resolved")
            and window.start + open_after_s - margin_s <= a.at < until
        ]
        kinds = [a.kind for a in told]
        if kinds != ["opened", "resolved"]:
            problems.append(
                f"{window.key} listed for {end - window.start:.1f} s from "
                f"{window.start:.1f}: told {kinds or 'nothing'}"
            )
            continue
        opened, resolved = told
        late = [
            (what, delay)
            for what, delay, bound in (
                ("opened", opened.at - window.start, within_s),
                ("resolved", resolved.at - end, resolve_within_s),
            )
            if delay > bound
        ]
        delays += [opened.at - window.start, resolved.at - end]
        if late:
            problems.append(
                f"{window.key}: "
                + ", ".join(f"{what} {delay:.1f} s after it was detectable" for what, delay in late)
            )
    checked = len(delays) // 2
    if problems:
        return InvariantResult(name, False, "; ".join(problems[:3])), delays
    slowest = f"; the slowest {max(delays):.2f} s" if delays else ""
    return (
        InvariantResult(
            name,
            True,
            f"{checked} incident(s) told once opened and once resolved{slowest}; "
            f"{skipped} window(s) too short, too close to a limit, or with the process "
            "down, not checked",
        ),
        delays,
    )


def _down_between(times: Sequence[float], start: float, end: float) -> bool:
    """The trading process was down, or not yet up, at some moment between ``start``
    and ``end``: before the first sample, or between samples further apart than
    ``SAMPLES_GAP_S``, or after the last."""
    if not times or start < times[0] or end > times[-1]:
        return True
    return any(
        b - a > SAMPLES_GAP_S and a < end and b > start for a, b in itertools.pairwise(times)
    )


# ---------------------------------------------------------------- 8. risk modes


class ModeSwitch(msgspec.Struct, frozen=True):
    """The operator's risk mode, as the chaos run set it through the status port."""

    asked_at: float
    set_at: float | None
    """When the instance answered that it was set (``None``: it was not)."""
    mode: str


def not_active_spans(switches: Sequence[ModeSwitch], grace_s: float) -> list[tuple[float, float]]:
    """The stretches the operator held the portfolio ``reducing`` or ``halted``: from
    ``grace_s`` after the instance said so to when the next mode was asked for."""
    done = sorted((s for s in switches if s.set_at is not None), key=lambda s: s.asked_at)
    spans = []
    for index, switch in enumerate(done):
        if switch.mode == "active" or switch.set_at is None:
            continue
        until = done[index + 1].asked_at if index + 1 < len(done) else float("inf")
        if switch.set_at + grace_s < until:
            spans.append((switch.set_at + grace_s, until))
    return spans


def no_entry_while_reducing(
    ledgers: dict[str, Sequence[LedgerEntry]], switches: Sequence[ModeSwitch], grace_s: float
) -> InvariantResult:
    """``grace_s``: how long after the switch an entry decided before it may still reach
    its venue (the entry's send deadline, and :data:`STALE_GRACE_S`)."""
    name = "no entry while reducing or halted"
    spans = not_active_spans(switches, grace_s)
    entries = venue_entries(ledgers)
    late = [
        f"{cid} reached {venue} {accepted_at - start + grace_s:.2f} s after the switch"
        for cid, (accepted_at, venue, _) in sorted(entries.items(), key=lambda item: item[1])
        for start, end in spans
        if start <= accepted_at < end
    ]
    if late:
        return InvariantResult(name, False, "; ".join(late[:5]))
    return InvariantResult(
        name,
        True,
        f"{len(switches)} mode switch(es), {len(spans)} stretch(es) reducing or halted; "
        f"{len(entries) // 2} entries at the venues, none past {grace_s:g} s into one",
    )


class ModeAfterKill(msgspec.Struct, frozen=True):
    """The risk mode ``/status`` showed just before a SIGKILL, and once restarted."""

    killed_at: float
    before: str | None
    after: str | None
    """``None``: not read (the process did not answer)."""


def mode_survives_kill(records: Sequence[ModeAfterKill]) -> InvariantResult:
    name = "the risk mode survives a SIGKILL"
    judged = [r for r in records if r.before is not None]
    lost = [r for r in judged if r.after != r.before]
    if lost:
        listed = "; ".join(f"killed {r.before}, came back {r.after or 'unread'}" for r in lost[:3])
        return InvariantResult(name, False, f"{len(lost)} of {len(judged)} kills: {listed}")
    modes = Counter(r.before for r in judged)
    shown = ", ".join(f"{mode} {count}" for mode, count in sorted(modes.items())) or "none"
    return InvariantResult(
        name,
        True,
        f"{len(judged)} kill(s) with the mode read before, each back in it ({shown}); "
        f"{len(records) - len(judged)} not judged (no status before the kill)",
    )


# --------------------------------------------------------------- 10. liquidation


def no_liquidation(ledgers: dict[str, Sequence[LedgerEntry]]) -> InvariantResult:
    name = "no liquidation on the simulated venue"
    moves = venue_moves(ledgers)
    liquidations = [m for m in moves if type(m) is Liquidation]
    if liquidations:
        listed = "; ".join(
            f"{m.symbol} {m.contracts} contracts at {m.price:g} (mark {m.mark_price:g}, "
            f"liquidation price {m.liq_price:g})"
            for m in liquidations[:3]
        )
        return InvariantResult(name, False, f"{len(liquidations)} liquidated: {listed}")
    deleveraged = len(moves) - len(liquidations)
    return InvariantResult(name, True, f"none; {deleveraged} auto-deleveraging(s) by the venue")


# ----------------------------------------------------------------- 11. balances


BALANCE_READ_S = 1.0
"""A reading of both venues' balances (a request to each), begun at a refusal for the
balance: until it answers the refused venue's balance counts as spent, and after, the
room follows what it read."""


class Shortfall(msgspec.Struct, frozen=True):
    """A time a venue's free USDT was cut below what an entry's leg there needs."""

    venue: str
    start: float
    end: float


def one_leg_entries(
    ledgers: dict[str, Sequence[LedgerEntry]],
) -> list[tuple[str, float, str]]:
    """Entries that placed one leg while the other venue refused its partner for the
    balance: ``(refused client id, refused at, venue)``."""
    accepted: dict[str, tuple[Side, bool]] = {}
    refused: list[tuple[str, float, str, Side]] = []
    for venue, entries in ledgers.items():
        for e in entries:
            if type(e) is OrderAccepted and e.order.client_id:
                cid = venue_client_id(venue, e.order.client_id)
                accepted[cid] = (e.order.side, e.order.reduce_only)
            elif type(e) is OrderRefused and e.client_id and e.error == "InsufficientBalance":
                refused.append((venue_client_id(venue, e.client_id), e.ts, venue, e.side))
    found = []
    for cid, ts, venue, side in refused:
        parsed = parse_client_id(cid)
        if parsed is None:
            continue
        # An entry is a spot buy T-Ns and a futures sell T-(N+1)f (venue_entries).
        if parsed.leg is Leg.SPOT and side is Side.BUY:
            partner = client_order_id(parsed.task_id, parsed.seq + 1, Leg.FUTURES, parsed.instance)
            other = accepted.get(partner)
            placed = other is not None and other[0] is Side.SELL and not other[1]
        elif parsed.leg is Leg.FUTURES and side is Side.SELL:
            partner = client_order_id(parsed.task_id, parsed.seq - 1, Leg.SPOT, parsed.instance)
            other = accepted.get(partner)
            placed = other is not None and other[0] is Side.BUY
        else:
            continue
        if placed:
            found.append((cid, ts, venue))
    return found


def balance_refusals(ledgers: dict[str, Sequence[LedgerEntry]]) -> dict[str, list[float]]:
    """When each venue refused an order for the balance."""
    return {
        venue: [
            e.ts for e in entries if type(e) is OrderRefused and e.error == "InsufficientBalance"
        ]
        for venue, entries in ledgers.items()
    }


def no_one_leg_entry_on_shortfall(
    ledgers: dict[str, Sequence[LedgerEntry]],
    shortfalls: Sequence[Shortfall],
    grace_s: float,
    after_refusal_s: float,
) -> InvariantResult:
    """``grace_s``: how long into a shortfall the system may not know of it yet (the
    balances are read every ``[risk] balance_interval_s``; an entry decided on the last
    reading is sent within its send deadline). ``after_refusal_s``: how long after the
    venue's first refusal for the balance in the shortfall (the router tells the risk
    actor, which spends that balance until it is read again at once)."""
    name = "no entry leg the other venue cannot match on a balance shortfall"
    refusals = balance_refusals(ledgers)

    def deadline(s: Shortfall) -> float:
        first = min(
            (ts for ts in refusals.get(s.venue, ()) if s.start <= ts <= s.end), default=None
        )
        late_at = s.start + grace_s
        return late_at if first is None else min(late_at, first + after_refusal_s)

    deadlines = [(s, deadline(s)) for s in shortfalls]
    late = [
        f"{cid} refused at {venue} {ts - s.start:.2f} s into its shortfall, its partner placed"
        for cid, ts, venue in one_leg_entries(ledgers)
        for s, late_at in deadlines
        if s.venue == venue and late_at <= ts <= s.end
    ]
    if late:
        return InvariantResult(name, False, "; ".join(late[:5]))
    held = sum(s.end - s.start for s in shortfalls)
    return InvariantResult(
        name,
        True,
        f"{len(shortfalls)} shortfall(s) ({held:.1f} s); no entry placed one leg while the "
        f"other venue refused its partner for the balance, {grace_s:g} s into one or "
        f"{after_refusal_s:g} s after the venue's first refusal or later",
    )


# ------------------------------------------------------------------ 12. history

HISTORY_TOLERANCE_USDT = 1e-9


def history_adds_up(
    cycles: Sequence[TradeRecord], fill_fees: dict[tuple[str, int], float]
) -> InvariantResult:
    """``cycles``: the store's cycle records; ``fill_fees``: the fees of its stored fills
    by (task id, cycle)."""
    name = "every cycle's P&L decomposes, its stored fills' fees are its fees"
    problems = []
    for t in cycles:
        parts = t.decomposed_usdt
        if abs(parts - t.pnl_usdt) > HISTORY_TOLERANCE_USDT:
            problems.append(
                f"{t.task_id} cycle {t.cycle}: parts sum to {parts:.12g}, P&L {t.pnl_usdt:.12g}"
            )
        fees = fill_fees.get((t.task_id, t.cycle), 0.0)
        if abs(fees - t.fees_usdt) > HISTORY_TOLERANCE_USDT:
            problems.append(
                f"{t.task_id} cycle {t.cycle}: stored fills' fees {fees:.12g}, the cycle's "
                f"{t.fees_usdt:.12g}"
            )
    if problems:
        return InvariantResult(name, False, "; ".join(problems[:5]))
    return InvariantResult(name, True, f"{len(cycles)} cycles, each adding up")
