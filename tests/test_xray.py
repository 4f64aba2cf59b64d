"""The X-Ray error cause: awslambdaric's JSON, bounded in size."""

from __future__ import annotations

import json
import os
import traceback

from awslambdaric.bootstrap import make_xray_fault

from lambda_runtime.errors import InvocationError
from lambda_runtime.invocation.payloads import error_report
from lambda_runtime.invocation.xray import MAX_CAUSE_BYTES, xray_cause


def _nested(depth: int) -> None:
    if depth:
        _nested(depth - 1)
    raise ValueError("deep é")


def frames_of(error: BaseException) -> list[traceback.FrameSummary]:
    return list(traceback.extract_tb(error.__traceback__))


def caught(depth: int) -> BaseException:
    try:
        _nested(depth)
    except ValueError as error:
        return error
    raise AssertionError("not raised")


def test_same_json_as_awslambdaric():
    error = caught(3)
    frames = frames_of(error)
    theirs = make_xray_fault(
        "ValueError", str(error), "/var/task", [(f.filename, f.lineno, f.name, f.line) for f in frames]
    )
    ours = json.loads(xray_cause("ValueError", str(error), frames, "/var/task"))
    assert {**ours, "paths": sorted(ours["paths"])} == {**theirs, "paths": sorted(theirs["paths"])}
    assert xray_cause("ValueError", str(error), frames, "/var/task").isascii()


def test_a_deep_stack_keeps_the_innermost_frames_within_the_bound():
    error = caught(900)
    frames = frames_of(error)
    cause = xray_cause("ValueError", str(error), frames, "/var/task")
    assert len(cause) <= MAX_CAUSE_BYTES
    stack = json.loads(cause)["exceptions"][0]["stack"]
    assert 10 < len(stack) < len(frames)
    assert stack[-1] == {"label": "_nested", "path": frames[-1].filename, "line": frames[-1].lineno}


def test_a_huge_message_is_cut_to_the_bound():
    cause = xray_cause("ValueError", "é" * 100_000, [], "/var/task")
    assert len(cause) <= MAX_CAUSE_BYTES
    assert json.loads(cause)["exceptions"][0]["message"].startswith("éé")


def test_error_reports_carry_the_cause():
    report = error_report(caught(0), "req")
    cause = json.loads(report.xray_cause)
    assert cause["working_directory"] == os.getcwd()
    assert cause["exceptions"][0]["type"] == "ValueError" and cause["exceptions"][0]["stack"][-1]["label"] == "_nested"
    # The runtime's own faults: one LambdaValidationError without a stack, as awslambdaric reports them.
    fault = json.loads(error_report(InvocationError("Runtime.MarshalError", "nope"), "req").xray_cause)
    assert fault["exceptions"] == [{"message": "nope", "type": "LambdaValidationError", "stack": []}]
