"""Log set-up: readable lines on the console, structured fields kept on each record.

Lines are written by a thread of their own, never by the code that logs: a strategy
entering logs its decision and each router the order it sends, on the path from a quote
to the orders it causes, and writing a line to a console and a file cost that path
~40 µs each (``bench.tick_bench``); a console that does not read (a terminal paused, a
log collector that stalls) would stop the trading with it. The code that logs only
hands the record over (:class:`Backlog`); :func:`flush_logs` waits until every line handed
over is written, and the process does so as it exits. A process killed outright loses
the lines of its last moments, which are at most the backlog's.
"""

from __future__ import annotations

import atexit
import copy
import logging
import logging.handlers
import queue
import sys
import threading
import time
from collections import deque
from pathlib import Path

import msgspec

_encode_json = msgspec.json.Encoder().encode

BACKLOG_LINES = 10_000
"""Lines waiting to be written past which new ones are dropped (and counted, and said):
a destination that stopped taking lines costs memory up to this bound, never a wait."""

_LEVEL_MARK = {
    logging.DEBUG: "DBG",
    logging.INFO: "INF",
    logging.WARNING: "WRN",
    logging.ERROR: "ERR",
    logging.CRITICAL: "CRT",
}


class ConsoleFormatter(logging.Formatter):
    """``12:03:04.512 INF supervisor 'root': 'writer' started`` and indented detail lines."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        millis = int(record.msecs)
        mark = _LEVEL_MARK.get(record.levelno, record.levelname[:3])
        text = f"{stamp}.{millis:03d} {mark} {record.getMessage()}"
        if (exception := _exception_text(self, record)) is not None:
            text += "\n" + exception
        return text


def _exception_text(formatter: logging.Formatter, record: logging.LogRecord) -> str | None:
    """A record's traceback: as the backlog wrote it down (``exc_text``), or from its
    ``exc_info`` for a record that did not go through the backlog."""
    if record.exc_info:
        return formatter.formatException(record.exc_info)
    return record.exc_text or None


class Backlog(logging.handlers.QueueHandler):
    """The root logger's one handler: a record handed to the writing thread, with its
    message and traceback made text here (they may refer to objects that change once
    the call that logged returns), up to ``BACKLOG_LINES`` waiting."""

    def __init__(self, capacity: int = BACKLOG_LINES) -> None:
        super().__init__(queue.Queue(capacity))
        self.dropped = 0
        """Lines dropped since the last that fitted."""
        self._dropped_lock = threading.Lock()

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        prepared = copy.copy(record)
        prepared.msg, prepared.args = record.getMessage(), None
        if record.exc_info:
            prepared.exc_text = logging.Formatter().formatException(record.exc_info)
            prepared.exc_info = None
        return prepared

    def enqueue(self, record: logging.LogRecord) -> None:
        with self._dropped_lock:
            # The first line that fits after some were dropped carries their count, so
            # that the gap is said where it is.
            record.dropped_before = self.dropped
            try:
                self.queue.put_nowait(record)
            except queue.Full:
                self.dropped += 1
            else:
                self.dropped = 0


WRITE_EVERY_S = 0.01
"""How often the writing thread looks for lines: it never waits on the backlog, so that
handing a line over wakes no thread. A strategy's decision logs, then its intents commit
and its orders leave, within a millisecond; a thread woken by its lines would take a
core and the interpreter's lock just then (measured: the venue's side of the path
+250 µs at p50), where one that looks on its own clock meets the path only by chance."""


class _Writing(logging.handlers.QueueListener):
    """The thread that writes what the backlog holds, saying where lines were dropped."""

    def __init__(self, backlog: Backlog, handlers: tuple[logging.Handler, ...]) -> None:
        super().__init__(backlog.queue, *handlers, respect_handler_level=True)

    def dequeue(self, block: bool) -> logging.LogRecord:
        while True:
            try:
                return self.queue.get_nowait()
            except queue.Empty:
                time.sleep(WRITE_EVERY_S)

    def handle(self, record: logging.LogRecord) -> None:
        dropped = getattr(record, "dropped_before", 0)
        if dropped:
            said = logging.LogRecord(
                "basis.logs",
                logging.WARNING,
                __file__,
                0,
                f"{dropped} log line(s) dropped: the log's destination did not keep up",
                None,
                None,
            )
            super().handle(said)
        super().handle(record)


FLUSH_TIMEOUT_S = 5.0
"""How long :func:`flush_logs` waits at most: a destination that stopped taking lines
(a stalled pipe) must not keep a process from ending."""


class Logs:
    """A backlog on ``logger`` and the thread writing what it holds to the destinations
    (the process's own: :data:`_logs`, on the root logger)."""

    def __init__(self, logger: logging.Logger, capacity: int = BACKLOG_LINES) -> None:
        self.logger = logger
        self.backlog = Backlog(capacity)
        self.destinations: tuple[logging.Handler, ...] = ()
        self._writing: _Writing | None = None

    def write_to(self, destinations: tuple[logging.Handler, ...]) -> None:
        """From now on, lines go to ``destinations``; those handed over before go to the
        former ones, unless they do not take them within ``FLUSH_TIMEOUT_S``."""
        self.destinations = destinations
        if self.backlog not in self.logger.handlers:
            self.logger.addHandler(self.backlog)
        if self._writing is None:
            self._writing = _Writing(self.backlog, destinations)
            self._writing.start()
            return
        self.flush()
        # Read by the thread for each line it writes: a new tuple is taken whole.
        self._writing.handlers = destinations

    def flush(self, timeout_s: float = FLUSH_TIMEOUT_S) -> None:
        """Returns once every line handed over so far is written, or after ``timeout_s``."""
        waiting = self.backlog.queue
        with waiting.all_tasks_done:
            waiting.all_tasks_done.wait_for(lambda: waiting.unfinished_tasks == 0, timeout_s)


_logs = Logs(logging.getLogger())
atexit.register(_logs.flush)


def flush_logs() -> None:
    """Returns once every log line handed over so far is written."""
    _logs.flush()


class _StandardError:
    """``sys.stderr`` as it is when a line is written, not when the console was set up:
    the thread writes after the code that logged has returned, by when a command run
    in-process (tests, the live view) may have put another in its place."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_console(level: int = logging.INFO) -> None:
    """Readable lines on standard error, and nowhere else."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(_StandardError())
    handler.setFormatter(ConsoleFormatter())
    _logs.write_to((handler,))
    root.setLevel(level)
    # A line per HTTP request would drown everything else; their failures are ours to log.
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(max(level, logging.WARNING))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the structured
    ``event`` and ``fields`` a record carries (``extra={"event": ..., "fields": ...}``)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        event = getattr(record, "event", None)
        if event is not None:
            entry["event"] = event
            entry["fields"] = getattr(record, "fields", {})
        if (exception := _exception_text(self, record)) is not None:
            entry["exception"] = exception
        return _encode_json(entry).decode()


def configure_file(path: Path, max_bytes: int = 10 << 20, backups: int = 5) -> None:
    """Also write JSON lines to ``path``, rotated at ``max_bytes`` with ``backups`` kept."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
    )
    handler.setFormatter(JsonFormatter())
    _logs.write_to((*_logs.destinations, handler))


class RecentLines(logging.Handler):
    """Keeps the last few console lines, for a live view that owns the terminal."""

    def __init__(self, keep: int = 8) -> None:
        super().__init__()
        self.lines: deque[str] = deque(maxlen=keep)
        self.setFormatter(ConsoleFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def hand_console_to(view: RecentLines) -> None:
    """Stop writing logs to the console: ``view`` shows the latest instead."""
    kept = tuple(h for h in _logs.destinations if type(h) is not logging.StreamHandler)
    _logs.write_to((*kept, view))


def stop_handing_to(view: RecentLines) -> None:
    """``view`` no longer shows the log (the console is not written again: the run is
    over)."""
    _logs.write_to(tuple(h for h in _logs.destinations if h is not view))
