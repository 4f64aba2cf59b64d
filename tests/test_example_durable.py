"""The durable example (examples/durable) under `serve --durable`: its workflow's result, its two invocations around
the wait, and its deferred metric, once per execution although the handler runs twice."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from lambda_runtime.emulator import Emulator

EXAMPLE = Path(__file__).parent.parent / "examples" / "durable"


def test_the_order_is_reserved_then_charged_after_the_wait_and_its_metric_recorded_once(
    serve: Callable[..., Emulator],
) -> None:
    if importlib.util.find_spec("aws_durable_execution_sdk_python_testing") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("the [durable] extra is not installed: `make install` installs it with the dev extra")
        pytest.skip("AWS's durable execution testing SDK is not installed (the [durable] extra)")
    emu = serve("app.handler", task_root=str(EXAMPLE), durable=True, timeout=30)
    answer = emu.invoke({"order_id": "o-9", "amount": 5, "wait_seconds": 1})
    assert "X-Amz-Function-Error" not in answer.headers, answer.text
    assert answer.json() == {
        "reservation": {"order_id": "o-9", "reserved": True},
        "payment": {"order_id": "o-9", "charged": 5},
    }
    first, second = emu.wait_for_records(2)
    before, after = emu.invocation_output(first.request_id), emu.invocation_output(second.request_id)
    assert "reserving o-9" in before and "charging" not in before  # the wait ended the first invocation
    assert "reserving o-9" not in after and "charging o-9: 5" in after  # the replay skipped the finished step
    assert "metric recorded for o-9" not in before and after.count("metric recorded for o-9") == 1
