"""What a venue's "no such order" means for an order Basis sent, and when it may be
believed: a pure decision, no I/O.

Venues do not show an order from the instant they take it until forever:

* MEXC may answer "order does not exist" (``-2013``) to a query sent just after it
  accepted the order: a read-after-write lag;
* Gate.io forgets an order that ended with nothing filled some minutes after it was
  cancelled (it answers 404 even to the order's own id, and leaves it out of its list of
  finished orders), and forgets an order's client id (``text``) a minute after the order
  ended: after that only the order's own id, or its lists of orders, find it.

A router that took "not found" at its word could go wrong both ways. Concluding that an
order the venue did take never arrived either sends it again (a second order: the leg
doubled) or reports it rejected while it fills (the leg unhedged). Never concluding
anything leaves the owner waiting forever for an order the venue has forgotten.

:func:`judge_not_found` decides between asking again and concluding, from what the
router knows of the order; the router applies it wherever a lookup answers "not found"
(``Router._find_or_conclude`` and ``Router._follow`` in ``router.py``).

Asking again is not always answered in the end. An order the venue acknowledged (to this
router, or to an earlier run that journaled its venue id) may stay "not found" for good
where the venue does not forget orders (MEXC): a venue that lost it, an account that
changed, a journaled id that is wrong. No outcome may be inferred from that: "rejected"
would be wrong if it filled (the leg it fills goes unhedged and its owner trades on),
"ended unfilled" likewise, and a resend could double the leg. So after
:data:`LOOKUP_GIVE_UP_S` of "not found" past the venue's lag (:func:`gives_up`) the
router reports the order *unresolved*: an ERROR in its log, the order in its statistics
(``unresolved_orders``, shown by ``/status``) and ``/health`` degraded. Its owner hears
nothing new, so it goes on waiting for the order (cancelling it and alerting at each
timeout) and opens nothing meanwhile; the router goes on asking, so the order is taken
up the moment the venue shows it, and an operator can look it up at the venue. The
"not found" log line is written the first time and then at most every
``Router.not_found_log_every_s``, not at every poll.
"""

from __future__ import annotations

import enum

import attrs


class NotFound(enum.Enum):
    """What a "no such order" answer is taken to mean."""

    ASK_AGAIN = "ask again"
    """Not conclusive: the venue may not show the order yet, or should still know it."""
    NEVER_ARRIVED = "never arrived"
    """The venue's lookups show no such order: it never got the order, or (Gate.io, a
    lookup by client id more than a minute after the end) it ended. The router asks the
    venue's lists before it acts on this."""
    ENDED_UNFILLED = "ended unfilled"
    """The order ended with nothing filled and the venue has forgotten it."""


@attrs.frozen
class Visibility:
    """How a venue shows the orders it holds (each venue's router codec gives its own)."""

    read_after_write_s: float
    """How long after an order reached the venue a query may still say it does not exist."""
    forgets_unfilled: bool
    """Whether the venue forgets, even by its own id, an order that ended unfilled."""


@attrs.frozen
class OrderKnowledge:
    """What the router knows of one order when the venue says it has no such order."""

    since_sent_s: float
    """Seconds since the venue last may have received the order: since the last placement
    attempt ended, or, for an order an earlier run sent, since this router began looking."""
    accepted: bool
    """The venue has reported the order (a reply, a query, a push or a trade; or, to an
    earlier run, an acknowledgement whose venue id the journal kept): it arrived."""
    asked_by_venue_id: bool
    """The lookup named the venue's own id for the order, not only the client id."""
    ending: bool
    """The order is meant to have ended, or may have without this router knowing: a
    cancel was sent, it was immediate-or-cancel, or an earlier run sent it."""
    filled: bool
    """Some of it was reported filled."""


LOOKUP_GIVE_UP_S = 300.0
"""How long an acknowledged order may go unfound before it is reported unresolved: well
past every venue's read-after-write lag (seconds), short enough for an operator to act."""


def gives_up(not_found_for_s: float, give_up_s: float) -> bool:
    """Whether an acknowledged order not found for ``not_found_for_s`` is to be reported
    unresolved (see the module's documentation): the asking goes on either way."""
    return not_found_for_s >= give_up_s


def may_not_show_yet(since_sent_s: float, venue: Visibility) -> bool:
    """Whether ``venue`` may still hide an order that may have reached it only
    ``since_sent_s`` ago: any "no such order" about it, to a query or a cancel, says
    nothing yet."""
    return since_sent_s < venue.read_after_write_s


def judge_not_found(known: OrderKnowledge, venue: Visibility) -> NotFound:
    """What "no such order" means for the order ``known`` describes at ``venue``.

    Why each conclusion is safe:

    * Within the venue's read-after-write lag after the order may have reached it, "not
      found" says nothing: ask again. The lag is counted from when the last placement
      attempt *ended* (its answer, its timeout), the latest moment the venue could have
      received it, so a slow request does not shorten it.
    * After the lag, an order the venue never reported has **never arrived** as far as
      lookups by client id can tell: a venue shows every order it holds once the lag has
      passed. Gate.io, though, finds an order by its client id only until 60 s after the
      order ended, so a lookup later than that (a venue unreachable for over a minute
      after a placement of unknown outcome, a restart after a longer stop) cannot tell an
      order that came and ended from one that never came. So before the router acts on
      this verdict (sends the same intent again, or reports it rejected) it asks the
      venue's lists of open and finished orders for the client id (``listed_order``),
      every page of them, and takes up the order if they hold it. Why what is left may be
      acted on:

      - nothing that filled is missed: Gate.io keeps an order that filled anything, by
        its id and in its finished list; an order whose venue id the router knows (from
        the venue, or journaled by an earlier run) is asked by that id, and never
        concluded "never arrived";
      - nothing that may still fill is missed: an open order is found by its client id
        and in the open list;
      - so what is concluded never arrived either never reached the venue, or ended there
        with nothing filled and was forgotten (10 minutes after its cancel). Either way
        no part of it was or will be executed: a resend is the only order of the intent
        that can fill, and "rejected" tells the owner what the position got, nothing.
    * An order the venue *did* report never "never arrived": it is **ended unfilled**
      only where the venue forgets such orders (Gate.io), only when asked by the venue's
      own id (by id the venue forgets nothing but orders that ended with nothing filled;
      a client id it forgets a minute after any end), only when nothing of it was
      reported filled (a venue that forgets a filled order contradicts its own
      documentation: keep asking rather than guess), and only when the order was meant to
      end — a cancel was sent, it was immediate-or-cancel, or an earlier run sent it and
      nobody watched it since. An open order is never forgotten, so without a reason for
      the order to have ended "not found" can only be a lag, and concluding would leave a
      live order unfollowed, free to fill unhedged.
    * Everything else: ask again. Asking costs a request; a wrong conclusion costs a
      position.
    """
    if may_not_show_yet(known.since_sent_s, venue):
        return NotFound.ASK_AGAIN
    if not known.accepted:
        return NotFound.NEVER_ARRIVED
    if venue.forgets_unfilled and known.asked_by_venue_id and known.ending and not known.filled:
        return NotFound.ENDED_UNFILLED
    return NotFound.ASK_AGAIN
