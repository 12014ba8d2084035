"""A mistake of the user's: a bad argument, file, config value or output, reported by
``basis`` (``actors.cli.main``) as one line that names what is wrong and the fix, with
exit status 2, and raised before anything is written."""

from __future__ import annotations

EXIT_USER_ERROR = 2
"""Every ``basis`` command's exit status for a mistake of the user's; 1 is kept for a
supervision tree that gave up."""


class UserError(Exception):
    """The message says what is wrong and how to fix it, in one line."""
