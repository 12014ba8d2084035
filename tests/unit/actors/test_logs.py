"""The log: JSON lines with a record's structured event and fields, and lines written
by a thread of their own, so that nothing that logs waits for a destination."""

from __future__ import annotations

import json
import logging
import threading
import uuid

import pytest

from actors.runtime.ops.logs import (
    ConsoleFormatter,
    JsonFormatter,
    Logs,
    configure_console,
    flush_logs,
)


def record(**extra) -> logging.LogRecord:
    made = logging.LogRecord(
        "basis.strategy", logging.INFO, __file__, 1, "entering %s", ("x",), None
    )
    for key, value in extra.items():
        setattr(made, key, value)
    return made


def test_a_record_with_an_event_carries_its_fields():
    line = JsonFormatter().format(record(event="entry", fields={"client_ids": ["a-1s"]}))
    entry = json.loads(line)
    assert entry["message"] == "entering x"
    assert (entry["event"], entry["fields"]) == ("entry", {"client_ids": ["a-1s"]})


def test_a_plain_record_has_no_event_keys():
    assert set(json.loads(JsonFormatter().format(record()))) == {"ts", "level", "logger", "message"}


class Held(logging.Handler):
    """A destination that takes lines only once it is let go, as a stalled pipe does."""

    def __init__(self) -> None:
        super().__init__()
        self.go = threading.Event()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.go.wait(10)
        self.lines.append(self.format(record))


@pytest.fixture
def logger():
    made = logging.getLogger(f"basis.test.{uuid.uuid4().hex}")
    made.propagate = False
    made.setLevel(logging.INFO)
    yield made
    for handler in list(made.handlers):
        made.removeHandler(handler)


def test_lines_are_written_by_the_thread_with_their_arguments_and_traceback(logger):
    logs = Logs(logger)
    console, file = Held(), Held()
    console.setFormatter(ConsoleFormatter())
    file.setFormatter(JsonFormatter())
    console.go.set()
    file.go.set()
    logs.write_to((console, file))
    shown = ["before"]
    logger.info("entering %s", shown)
    shown.append("after")  # changed once the call returned: the line says what it was
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed")
    logs.flush()
    assert console.lines[0].endswith("INF entering ['before']")
    assert console.lines[1].split("\n")[0].endswith("ERR failed")
    assert "ValueError: boom" in console.lines[1]
    entry = json.loads(file.lines[1])
    assert entry["message"] == "failed" and "ValueError: boom" in entry["exception"]


def test_a_destination_that_stops_taking_lines_stops_nothing_and_loses_only_the_overflow(logger):
    logs = Logs(logger, capacity=3)
    held = Held()
    logs.write_to((held,))
    for n in range(10):
        logger.info("line %d", n)  # returns at once: nothing here waits for the destination
    assert held.lines == []
    held.go.set()
    logs.flush()
    logger.info("after")
    logs.flush()
    # The line being written when it stalled and the three waiting got through; the
    # rest were dropped, counted, and said where they were missing.
    written = [line for line in held.lines if line.startswith("line ")]
    assert written == [f"line {n}" for n in range(len(written))]
    assert 3 <= len(written) <= 4
    dropped = 10 - len(written)
    assert held.lines[len(written) :] == [
        f"{dropped} log line(s) dropped: the log's destination did not keep up",
        "after",
    ]


def test_destinations_changed_on_the_way_get_every_line_once(logger):
    logs = Logs(logger)
    first, second = Held(), Held()
    first.go.set()
    second.go.set()
    logs.write_to((first,))
    logger.info("one")
    logs.write_to((second,))
    logger.info("two")
    logs.flush()
    assert (first.lines, second.lines) == (["one"], ["two"])


def test_a_flush_gives_up_on_a_destination_that_never_takes_a_line(logger):
    logs = Logs(logger)
    held = Held()
    logs.write_to((held,))
    logger.info("stuck")
    logs.flush(timeout_s=0.05)  # returns, with the line still unwritten
    assert held.lines == []
    held.go.set()
    logs.flush()
    assert held.lines == ["stuck"]


def test_the_console_set_up_again_still_gets_every_line(capsys):
    configure_console()
    configure_console()  # as every in-process command does
    logging.getLogger("basis.test").info("once")
    flush_logs()
    assert capsys.readouterr().err.endswith("INF once\n")
