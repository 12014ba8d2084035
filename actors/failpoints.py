"""Failpoints: places where the crash tests make the process die on purpose.

``BASIS_FAILPOINT=NAME:N`` kills the process with SIGKILL the N-th time it passes the
failpoint called NAME (N defaults to 1). Unset, each failpoint is a dictionary lookup.
The crash tests use them to kill at the moments that matter most: after an intent is
journaled but before it is sent, between the two legs of an entry, in the middle of an
exit.
"""

from __future__ import annotations

import os
import signal

_SPEC = os.environ.get("BASIS_FAILPOINT", "")
_NAME, _, _COUNT = _SPEC.partition(":")
_remaining = {_NAME: int(_COUNT or 1)} if _NAME else {}


def failpoint(name: str) -> None:
    """Die here if the environment asked for it (see the module's documentation)."""
    if name not in _remaining:
        return
    _remaining[name] -= 1
    if _remaining[name] <= 0:
        os.kill(os.getpid(), signal.SIGKILL)
