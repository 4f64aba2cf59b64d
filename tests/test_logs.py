"""Log formats end to end (the real runtime's stdout through the emulator) and the formatters as units."""

from __future__ import annotations

import io
import json
import logging
import re
import struct
import sys
import time

import pytest

from lambda_runtime.logs.configure import configure_logging
from lambda_runtime.logs.records import REQUEST_ID

RUNTIME = (sys.executable, "-m", "lambda_runtime")

TEXT_LINE = re.compile(r"^\[(INFO|WARNING|ERROR|DEBUG)\]\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t(\S*)\t(.*)$")


def test_json_logs(serve):
    emu = serve("logging_fn.handler", env={"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"})
    emu.invoke({}, headers={"X-Emulator-Next-Headers": json.dumps({"Lambda-Runtime-Aws-Tenant-Id": "tenant-9"})})
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
    assert re.fullmatch(r".*/logging_fn\.py:handler:\d+", error["location"])  # file:function:line, on exceptions
    assert "location" not in info
    assert info["tenantId"] == error["tenantId"] == "tenant-9"
    assert by_message["from a thread"]["requestId"] == record["request_id"]
    assert "debug line" not in by_message
    assert "printed line one\nprinted line two" in output


@pytest.mark.parametrize("log_format", ["Text", "JSON"])
def test_without_a_level_the_root_logger_is_at_warning_like_awslambdaric(serve, log_format):
    emu = serve("logging_fn.handler", env={"AWS_LAMBDA_LOG_FORMAT": log_format})
    emu.invoke({})
    emu.wait_for_records(1)
    output = emu.wait_for_output("from a thread")
    assert "caught something" in output
    assert "info with extra" not in output


def test_json_logs_have_no_tenant_id_without_one(serve):
    emu = serve("logging_fn.forge", env={"AWS_LAMBDA_LOG_FORMAT": "JSON"})
    emu.invoke({"message": "plain"})
    line = json.loads(next(line for line in emu.wait_for_output("plain").split("\n") if "plain" in line))
    assert "tenantId" not in line and line["message"] == "plain"


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


# --- one record, one CloudWatch event ------------------------------------------------------------------------------

NEXT_HEADERS = "X-Emulator-Next-Headers"


def test_a_logged_traceback_stays_on_one_line(serve):
    emu = serve("logging_fn.handler", env={"AWS_LAMBDA_LOG_LEVEL": "INFO"})
    emu.invoke({})
    output = emu.wait_for_output("from a thread")
    lines = output.split("\n")
    (caught,) = [line for line in lines if "caught something" in line]
    assert TEXT_LINE.match(caught.replace("\r", " "))
    assert "\rTraceback (most recent call last):\r" in caught and "KeyError: 'missing'" in caught
    assert not [line for line in lines if line.startswith(("Traceback", " ", "KeyError"))]


def test_a_newline_in_a_message_never_forges_another_record(serve):
    emu = serve("logging_fn.forge")
    forged = "first\n[ERROR]\t2024-01-01T00:00:00.000Z\tsomeone-elses-request\tforged"
    response = emu.invoke({"message": forged})
    output = emu.wait_for_output("forged")
    records = [TEXT_LINE.match(line) for line in output.split("\n")]
    assert [m.group(2) for m in records if m and m.group(2) == "someone-elses-request"] == []
    (line,) = [line for line in output.split("\n") if "forged" in line]
    assert line.endswith("first\r[ERROR]\t2024-01-01T00:00:00.000Z\tsomeone-elses-request\tforged")
    assert response.json() == "ok"


def test_a_handler_error_is_logged_on_one_line_as_awslambdaric_does(serve):
    emu = serve("logging_fn.raise_error")
    emu.invoke({})
    output = emu.wait_for_output("across lines")
    (line,) = [line for line in output.split("\n") if "broken" in line]
    assert line.startswith("[ERROR] ValueError: broken\racross lines\rTraceback (most recent call last):\r")
    assert '\r\u00a0\u00a0File "' in line and "line" in line and "\u00a0\u00a0\u00a0\u00a0raise ValueError" in line


def test_an_init_error_logs_its_traceback(serve):
    emu = serve("import_raises.handler")
    assert emu.invoke({}).json()["errorType"] == "RuntimeError"
    output = emu.wait_for_output("configuration missing")
    (line,) = [line for line in output.split("\n") if "configuration missing" in line]
    assert line.startswith("[ERROR] RuntimeError: configuration missing at import time\rTraceback (most recent")
    assert "import_raises.py" in line and "\u00a0\u00a0File" in line


def read_frames(data: bytes) -> list[tuple[int, int, str]]:
    """Decode awslambdaric's telemetry frames: (type, timestamp µs, message)."""
    frames, offset = [], 0
    while offset < len(data):
        kind, length, stamp = struct.unpack(">IIQ", data[offset : offset + 16])
        frames.append((kind, stamp, data[offset + 16 : offset + 16 + length].decode()))
        offset += 16 + length
    assert offset == len(data)
    return frames


def framed_runtime(tmp_path, *command: str) -> list[str]:
    sink = tmp_path / "frames.bin"
    return ["/bin/sh", "-c", f'exec "$@" 3>"{sink}"', "sh", *command]


@pytest.mark.parametrize("log_format", ["Text", "JSON"])
def test_records_are_frames_on_the_telemetry_descriptor(serve, tmp_path, log_format):
    started_us = time.time_ns() // 1000
    env = {"_LAMBDA_TELEMETRY_LOG_FD": "3", "AWS_LAMBDA_LOG_FORMAT": log_format}
    emu = serve("logging_fn.log_env", env=env, runtime_command=framed_runtime(tmp_path, *RUNTIME))
    assert emu.invoke({}).json() == {"telemetry_fd": None}  # not passed on to the handler's children
    emu2 = serve("logging_fn.raise_error", env=env, runtime_command=framed_runtime(tmp_path / "2", *RUNTIME))
    (tmp_path / "2").mkdir()
    emu2.invoke({})
    emu.wait_for_records(1), emu2.wait_for_records(1)
    frames = read_frames((tmp_path / "frames.bin").read_bytes())
    text = log_format == "Text"
    # No level configured: Text records are all "Text, level unknown" (0xA55A0003), JSON ones carry their level.
    (warning,) = [f for f in frames if "warning line" in f[2]]
    assert warning[0] == (0xA55A0003 if text else 0xA55A0012)
    assert started_us <= warning[1] <= time.time_ns() // 1000
    assert warning[2].endswith("\n") and warning[2].count("\n") == 1
    assert not [f for f in frames if "info line" in f[2]]  # WARNING is the default level
    (error,) = read_frames((tmp_path / "2" / "frames.bin").read_bytes())
    assert error[0] == (0xA55A0017 if text else 0xA55A0016)
    if text:
        assert error[2].startswith("[ERROR] ValueError: broken\nacross lines\nTraceback (most recent call last):\n")
    else:
        assert json.loads(error[2])["errorType"] == "ValueError"
    assert "broken" not in emu2.runtime_output()  # the record went to the descriptor, not to stdout


def test_a_telemetry_descriptor_that_is_not_open_falls_back_to_stdout(serve):
    emu = serve("logging_fn.log_env", env={"_LAMBDA_TELEMETRY_LOG_FD": "97"})
    assert emu.invoke({}).json() == {"telemetry_fd": None}
    output = emu.wait_for_output("warning line")
    assert "_LAMBDA_TELEMETRY_LOG_FD=97 is not an open descriptor: logging to stdout" in output
