"""Log set-up: readable lines on the console, structured fields kept on each record."""

from __future__ import annotations

import logging
import sys
import time

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
