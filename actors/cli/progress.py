"""A progress bar on stderr for long batch commands (backtest, synth).

It appears only on a terminal and only once the work has taken a second, so short runs and
redirected output stay clean; it redraws at most ten times a second.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

SHOW_AFTER_S = 1.0
REDRAW_EVERY_S = 0.1
WIDTH = 30


class ProgressBar:
    def __init__(self, label: str, stream: TextIO | None = None, *, force: bool = False) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = force or self.stream.isatty()
        self._began = time.monotonic()
        self._last_draw = 0.0
        self._drawn = False

    def update(self, done: float, total: float, detail: str = "") -> None:
        """Report ``done`` out of ``total``; draws only when it is time to."""
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._began < SHOW_AFTER_S or now - self._last_draw < REDRAW_EVERY_S:
            return
        self._last_draw = now
        fraction = min(max(done / total, 0.0), 1.0) if total > 0 else 0.0
        filled = round(fraction * WIDTH)
        bar = "#" * filled + "-" * (WIDTH - filled)
        suffix = f" {detail}" if detail else ""
        self.stream.write(f"\r{self.label} [{bar}] {fraction:6.1%}{suffix}")
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        """Erase the bar, so what is printed next starts on a clean line."""
        if self._drawn:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self._drawn = False
