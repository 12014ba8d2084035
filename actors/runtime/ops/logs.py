"""Log set-up: readable lines on the console, structured fields kept on each record."""

from __future__ import annotations

import logging
import logging.handlers
import sys
import time
from collections import deque
from pathlib import Path

import msgspec

_encode_json = msgspec.json.Encoder().encode

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
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def configure_console(level: int = logging.INFO) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(ConsoleFormatter())
    root.addHandler(handler)
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
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return _encode_json(entry).decode()


def configure_file(path: Path, max_bytes: int = 10 << 20, backups: int = 5) -> None:
    """Also write JSON lines to ``path``, rotated at ``max_bytes`` with ``backups`` kept."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
    )
    handler.setFormatter(JsonFormatter())
    logging.getLogger().addHandler(handler)


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
    root = logging.getLogger()
    for handler in list(root.handlers):
        if type(handler) is logging.StreamHandler:
            root.removeHandler(handler)
    root.addHandler(view)
