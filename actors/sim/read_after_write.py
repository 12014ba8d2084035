"""When a simulated venue's order queries do not see an order it holds, as the real
venues' do not:

- ``lag_s``: for this long after an order was accepted, a query or a cancel of it
  answers that no such order exists (MEXC's "order does not exist", ``-2013``, just
  after a placement);
- ``forget_unfilled_after_s``: this long after an order ended with nothing filled, the
  venue forgets it, by its own id too (Gate.io: 10 minutes after such an order was
  cancelled, a 404); ``None``: never.

Both are set from the venue's config and can be changed while it runs (the control
API's ``read_after_write`` switch; ``clear`` restores the config's). Every lookup they
hide is counted, so a run can show it met them.
"""

from __future__ import annotations

import attrs


def _check(lag_s: float, forget_unfilled_after_s: float | None) -> None:
    if lag_s < 0.0 or (forget_unfilled_after_s is not None and forget_unfilled_after_s < 0.0):
        raise ValueError(
            f"read_after_write: lag_s {lag_s} and forget_unfilled_after_s "
            f"{forget_unfilled_after_s} must be >= 0"
        )


@attrs.define
class ReadAfterWrite:
    """One venue's lookup lag and forgetting, with what they hid so far."""

    configured_lag_s: float = 0.0
    configured_forget_s: float | None = None
    lag_s: float = attrs.field(init=False)
    forget_unfilled_after_s: float | None = attrs.field(init=False)
    lagged: int = attrs.field(default=0, init=False)
    """Lookups answered "no such order" because the order was too new."""
    forgotten: int = attrs.field(default=0, init=False)
    """Lookups answered "no such order" because the order ended unfilled too long ago."""

    def __attrs_post_init__(self) -> None:
        _check(self.configured_lag_s, self.configured_forget_s)
        self.reset()

    def set(self, lag_s: float, forget_unfilled_after_s: float | None) -> None:
        _check(lag_s, forget_unfilled_after_s)
        self.lag_s = lag_s
        self.forget_unfilled_after_s = forget_unfilled_after_s

    def reset(self) -> None:
        """Back to the configured lag and forgetting (what was hidden stays counted)."""
        self.lag_s = self.configured_lag_s
        self.forget_unfilled_after_s = self.configured_forget_s

    def too_new(self, created_ts: float, now: float) -> bool:
        """A lookup at ``now`` does not see an order accepted at ``created_ts``; counted."""
        hidden = now - created_ts < self.lag_s
        self.lagged += hidden
        return hidden

    def forgets(self, filled: bool, finished_ts: float | None, now: float) -> bool:
        """Whether the venue has forgotten, at ``now``, an order that ended at
        ``finished_ts`` with ``filled`` something or not (not counted)."""
        forget_s = self.forget_unfilled_after_s
        return (
            forget_s is not None
            and not filled
            and finished_ts is not None
            and now - finished_ts > forget_s
        )

    def forgot(self, filled: bool, finished_ts: float | None, now: float) -> bool:
        """A lookup at ``now`` no longer finds an order that ended at ``finished_ts`` with
        ``filled`` something or not; counted."""
        hidden = self.forgets(filled, finished_ts, now)
        self.forgotten += hidden
        return hidden

    def served(self) -> dict[str, int]:
        """What was hidden so far, by reason, as a chaos report counts served faults."""
        return {"lagged_lookup": self.lagged, "forgotten_lookup": self.forgotten}
