"""The JSON log: one object per line, with a record's structured event and fields."""

from __future__ import annotations

import json
import logging

from actors.runtime.ops.logs import JsonFormatter


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
