"""Log formats end to end (the real runtime's stdout through the emulator) and the formatters as units."""

from __future__ import annotations

import io
import json
import logging
import re

from lambda_runtime.logs import REQUEST_ID, configure_logging

TEXT_LINE = re.compile(r"^\[(INFO|WARNING|ERROR|DEBUG)\]\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t(\S*)\t(.*)$")


def test_json_logs(serve):
    emu = serve("logging_fn.handler", env={"AWS_LAMBDA_LOG_FORMAT": "JSON"})
    emu.invoke({})
    (record,) = emu.wait_for_records(1)
    output = emu.wait_for_output("from a thread")
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    by_message = {line["message"]: line for line in lines}
    info = by_message["info with extra"]
    assert info["level"] == "INFO" and info["logger"] == "logging_fn" and info["custom"] == 42
    assert info["requestId"] == record["request_id"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", info["timestamp"])
    error = by_message["caught something"]
    assert error["errorType"] == "KeyError" and error["errorMessage"] == "'missing'"
    assert error["stackTrace"] and "logging_fn.py" in error["stackTrace"][0]
    assert by_message["from a thread"]["requestId"] == record["request_id"]
    assert "debug line" not in by_message  # INFO is the default level
    assert "printed line one\nprinted line two" in output


def test_text_logs_and_level(serve):
    emu = serve("logging_fn.handler", env={"AWS_LAMBDA_LOG_LEVEL": "DEBUG"})
    emu.invoke({})
    (record,) = emu.wait_for_records(1)
    output = emu.wait_for_output("from a thread")
    parsed = [TEXT_LINE.match(line) for line in output.splitlines()]
    matches = {m.group(3): m for m in parsed if m}
    assert matches["info with extra"].group(2) == record["request_id"]
    assert matches["debug line"].group(1) == "DEBUG"
    assert matches["from a thread"].group(2) == record["request_id"]
    assert "printed line one" in output


def test_prints_are_flushed_per_line_before_the_next_event(serve):
    emu = serve("basic.logs_and_prints")
    emu.invoke({})
    # No exit, no buffer flush at shutdown: the lines must already be out once the invocation is recorded.
    emu.wait_for_records(1)
    emu.wait_for_output("printed line two")


def test_request_id_comes_from_the_context_not_a_global():
    stream = io.StringIO()
    configure_logging("Text", "INFO", stream)
    log = logging.getLogger("unit")
    token = REQUEST_ID.set("first")
    import contextvars

    captured = contextvars.copy_context()
    REQUEST_ID.set("second")
    captured.run(log.info, "from the copied context")
    log.info("from the current context")
    REQUEST_ID.reset(token)
    lines = stream.getvalue().splitlines()
    assert lines[0].split("\t")[2] == "first"
    assert lines[1].split("\t")[2] == "second"
