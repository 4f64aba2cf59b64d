"""Lambda Managed Instances (`AWS_LAMBDA_MAX_CONCURRENCY`): the runtime's worker threads, end to end through the
emulator's LMI mode."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from lambda_runtime.emulator import Emulator

N = 32


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def _invoke(emulator: Emulator, event: dict[str, Any]) -> requests.Response:
    return requests.post(f"{emulator.url}/2015-03-31/functions/function/invocations", json=event, timeout=60)


def test_32_concurrent_invocations_each_log_line_and_result_carry_their_own_id(serve: Any) -> None:
    emulator = serve("managed.together", max_concurrency=N, timeout=60, env={"TEST_BARRIER_PARTIES": str(N)})
    with ThreadPoolExecutor(N) as pool:
        answers = list(pool.map(lambda n: _invoke(emulator, {"n": n}), range(N)))
    assert [answer.status_code for answer in answers] == [200] * N
    results = [answer.json() for answer in answers]
    ids = [answer.headers["X-Amzn-RequestId"] for answer in answers]
    assert [result["requestId"] for result in results] == ids
    assert [result["n"] for result in results] == list(range(N))
    assert len({result["pid"] for result in results}) == 1  # one interpreter: the barrier was met inside it
    assert all(result["environTraceId"] is None for result in results)  # not process-global under LMI
    assert len({result["traceId"] for result in results}) == N  # each its own, from its contextvars
    for request_id, result in zip(ids, results, strict=True):
        lines = _json_lines(emulator.invocation_output(request_id))
        messages = [line["message"] for line in lines if line.get("logger") == "managed"]
        assert messages == [f"arrived {result['n']}", f"leaving {result['n']}"]
        assert {line["requestId"] for line in lines} == {request_id}
    for line in emulator.runtime_output().splitlines():  # every JSON line anywhere names an invocation
        if line.startswith("{") and json.loads(line).get("logger") == "managed":
            assert json.loads(line)["requestId"] in ids


def test_deferred_jobs_do_not_hold_a_slot(serve: Any, tmp_path: Path) -> None:
    emulator = serve("managed.defer_blocking", max_concurrency=2, timeout=30)
    started, release = tmp_path / "started", tmp_path / "release"
    first = _invoke(emulator, {"started": str(started), "release": str(release)})
    assert first.status_code == 200
    emulator.record(first.headers["X-Amzn-RequestId"])  # the invocation is over while its job still runs
    assert not release.exists()
    # The job blocks until released, yet both slots keep serving: 2 x 5 invocations, each deferring a job too.
    with ThreadPoolExecutor(2) as pool:
        more = list(
            pool.map(lambda n: _invoke(emulator, {"started": str(started), "release": str(release)}), range(10))
        )
    assert [answer.status_code for answer in more] == [200] * 10
    assert started.exists() and not release.exists()
    release.touch()
    ids = [answer.headers["X-Amzn-RequestId"] for answer in [first, *more]]
    for request_id in ids:
        emulator.wait_for_output(f"job released {request_id}: True")
    jobs = [line for line in _json_lines(emulator.runtime_output()) if line.get("logger") == "managed"]
    assert sorted(line["requestId"] for line in jobs) == sorted(ids)  # each job logs with its invocation's id
    assert all(line["message"] == f"job released {line['requestId']}: True" for line in jobs)


def test_a_hung_handler_times_out_without_stopping_the_environment_or_the_others(serve: Any, tmp_path: Path) -> None:
    emulator = serve("managed.route", max_concurrency=2, timeout=1)
    release = tmp_path / "release"
    assert _invoke(emulator, {"do": "echo"}).status_code == 200
    pids = emulator.runtime_pids()
    with ThreadPoolExecutor(1) as pool:
        hung = pool.submit(_invoke, emulator, {"do": "hang", "release": str(release)})
        # While one worker hangs, the other one serves: one after another, each well within the timeout.
        others = [_invoke(emulator, {"do": "echo", "n": n}) for n in range(5)]
        answer = hung.result()
    assert [other.status_code for other in others] == [200] * 5
    assert answer.headers["X-Amz-Function-Error"] == "Unhandled"
    assert answer.json()["errorType"] == "Sandbox.Timedout"
    assert emulator.record(answer.headers["X-Amzn-RequestId"]).status == "timeout"
    assert emulator.runtime_pids() == pids  # marked failed, not killed: the same process serves on
    release.touch()  # the hung handler ends; its late response is refused and the worker serves again
    emulator.wait_for_output("refused the response")
    with ThreadPoolExecutor(2) as pool:
        again = list(pool.map(lambda n: _invoke(emulator, {"do": "echo", "n": n}), range(4)))
    assert [a.status_code for a in again] == [200] * 4
    assert emulator.runtime_pids() == pids
