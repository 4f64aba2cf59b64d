"""A thread the handler starts without a copy of the invocation's context (as libraries do: the durable SDK's worker
thread, a `threading.Thread`) logs with the request id of the invocation in flight, in every mode; with several in
flight at once it logs with none rather than another invocation's."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from lambda_runtime.emulator import Emulator


def thread_lines(emu: Emulator) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in emu.runtime_output().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("message", "").startswith("from a plain thread")]


@pytest.mark.parametrize("max_concurrency", [0, 2], ids=["one invocation at a time", "managed instances"])
def test_a_thread_started_by_the_handler_logs_the_request_id(
    serve: Callable[..., Emulator], max_concurrency: int
) -> None:
    emu = serve("thread_logs.handler", max_concurrency=max_concurrency, env={"AWS_LAMBDA_LOG_FORMAT": "JSON"})
    ids = [emu.invoke({"n": n}).json()["requestId"] for n in range(2)]
    emu.wait_for_records(2)
    by_message = {line["message"]: line["requestId"] for line in thread_lines(emu)}
    assert by_message == {"from a plain thread for 0": ids[0], "from a plain thread for 1": ids[1]}


def test_with_several_invocations_in_flight_such_a_thread_names_none_of_them(serve: Callable[..., Emulator]) -> None:
    emu = serve("thread_logs.handler", max_concurrency=2, env={"TEST_BARRIER_PARTIES": "2"})
    with ThreadPoolExecutor(2) as callers:
        answers = list(callers.map(lambda n: emu.invoke({"n": n}), range(2)))
    assert all(answer.status_code == 200 for answer in answers)
    lines = thread_lines(emu)
    assert len(lines) == 2 and all(line["requestId"] == "" for line in lines), lines
