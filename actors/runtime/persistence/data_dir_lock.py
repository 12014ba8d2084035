"""One instance per data directory: an OS-level lock on ``basis.lock`` in it, taken
before anything else there is written and held for the life of the process.

``flock`` belongs to the open file, so the kernel lets it go the moment the holder exits
however it exits (a SIGKILL included): there is never a stale lock to clear by hand. The
file keeps the holder's process id, so a second instance can say whose it is."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_FILE = "basis.lock"


class DataDirUnavailable(Exception):
    """The data directory cannot be had: another instance holds it, or it cannot be
    written. The message names it and what to do."""


def holder(data_dir: Path) -> str | None:
    """The process id of the instance that holds ``data_dir``, or ``None`` if none does.
    Asked by taking the lock shared for an instant, so it needs no write access."""
    try:
        fd = os.open(data_dir / LOCK_FILE, os.O_RDONLY)
    except OSError:
        return None  # never locked, or not readable: no instance we could talk to
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return os.read(fd, 64).decode(errors="replace").strip() or "unknown"
    finally:
        os.close(fd)  # closing releases a lock taken here
    return None


class DataDirLock:
    """The lock, held from construction until :meth:`close` (or the process ends)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_FILE
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise DataDirUnavailable(
                f"cannot use {data_dir} as the data directory ({error.strerror}): give "
                "--data-dir (or BASIS_DATA_DIR) a directory this user can write"
            ) from None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(self._fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(self._fd)
            raise DataDirUnavailable(
                f"{data_dir} is in use by another basis instance (process {holder}): stop "
                "it first, or give this one another --data-dir"
            ) from None
        os.ftruncate(self._fd, 0)
        os.write(self._fd, f"{os.getpid()}\n".encode())

    def close(self) -> None:
        os.close(self._fd)

    def __enter__(self) -> DataDirLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
