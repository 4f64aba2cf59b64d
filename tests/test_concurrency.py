"""Lambda Managed Instances (`AWS_LAMBDA_MAX_CONCURRENCY`): the runtime's worker threads, end to end through the
emulator's LMI mode."""

from __future__ import annotations

import http.server
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from lambda_runtime.emulator import Emulator
from tests.polling import wait_until

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


@pytest.mark.parametrize(
    "policy",
    [{"LAMBDA_RUNTIME_DEFER_OVERRUN": "exit"}, {"LAMBDA_RUNTIME_DEFER_MAX_ABANDONED": "0"}],
    ids=["overrun-exit", "too-many-abandoned"],
)
def test_exit_stops_taking_events_lets_the_invocations_in_flight_finish_then_exits_1(
    serve: Any, tmp_path: Path, policy: dict[str, str]
) -> None:
    # The margin leaves a deferred job 1 s of its invocation's 30: it overruns while the hung handler still runs.
    env = {**policy, "LAMBDA_RUNTIME_DEFER_MARGIN_MS": "29000"}
    emulator = serve("managed.route", max_concurrency=2, timeout=30, env=env)
    release_handler, release_job = tmp_path / "release-handler", tmp_path / "release-job"
    with ThreadPoolExecutor(1) as pool:
        hung = pool.submit(_invoke, emulator, {"do": "hang", "release": str(release_handler)})
        emulator.wait_for_output("hanging until")
        (pid,) = emulator.runtime_pids()
        deferring = _invoke(emulator, {"do": "defer", "started": str(tmp_path / "s"), "release": str(release_job)})
        assert deferring.status_code == 200  # answered at once; its job overruns after the response
        emulator.wait_for_output("no new events")
        assert emulator.runtime_pids() == [pid] and not hung.done()  # it waits for the invocation in flight
        release_handler.touch()
        answer = hung.result()
    assert answer.status_code == 200 and answer.json()["late"] is True  # posted its own result, not cut short
    assert emulator.record(answer.headers["X-Amzn-RequestId"]).status == "success"
    environment = emulator.server.pool.envs[0]
    wait_until(lambda: not emulator.runtime_pids(), what="the runtime to exit")
    assert environment.last_returncode == 1
    fresh = _invoke(emulator, {"do": "echo"})  # the next event gets a fresh environment
    assert fresh.status_code == 200 and fresh.json()["pid"] != pid
    assert emulator.record(fresh.headers["X-Amzn-RequestId"]).init_ms is not None
    assert not release_job.exists()  # the overrunning job was still blocked: the exit, not its end, stopped it


def test_a_workers_next_failures_are_retried_on_its_own_while_another_worker_is_busy(
    serve: Any, tmp_path: Path
) -> None:
    # Three attempts per call of a worker's client; past them the worker itself pauses and calls again.
    emulator = serve("managed.route", max_concurrency=2, timeout=30, env={"LAMBDA_RUNTIME_RETRY_ATTEMPTS": "3"})
    release = tmp_path / "release"
    faults = [{"next": "500*2"}, {"next": "500"}, {"next": "reset*2"}, {"next": "500*4"}]
    with ThreadPoolExecutor(1) as pool:
        hung = pool.submit(_invoke, emulator, {"do": "hang", "release": str(release)})
        emulator.wait_for_output("hanging until")  # one worker is busy: the other alone meets every fault
        answers = [emulator.invoke({"do": "echo", "n": n}, faults=f, timeout=30) for n, f in enumerate(faults)]
        release.touch()  # the busy worker's connection was not disturbed by the other's failures
        assert hung.result().status_code == 200
    assert [answer.status_code for answer in answers] == [200] * len(faults)
    assert all("X-Amz-Function-Error" not in answer.headers for answer in answers)
    messages = [line.get("message", "") for line in _json_lines(emulator.runtime_output())]
    # Each injected 500 but the last of a client's three attempts is followed by a retry of that worker's client.
    assert sum("retrying" in message for message in messages) >= 2 + 1 + 2 + 1
    assert sum("this worker tries again" in message for message in messages) == 1  # the 500*4: past its client
    # Both workers still serve: two invocations that wait for one another.
    (tmp_path / "both").mkdir()
    gathered = {"do": "gather", "dir": str(tmp_path / "both"), "parties": 2}
    with ThreadPoolExecutor(2) as pool:
        together = list(pool.map(lambda n: _invoke(emulator, {**gathered, "n": n}), range(2)))
    assert all(answer.json()["all_arrived"] for answer in together)
    records = emulator.records()
    assert len(records) == 2 + len(faults) + 1 and all(r.status == "success" for r in records)
    assert sum(r.init_ms is not None for r in records) == 1  # one environment served them all


def test_jobs_waiting_for_a_free_worker_are_bounded_over_all_invocations_and_the_refusal_is_seen(
    serve: Any, tmp_path: Path
) -> None:
    env = {"LAMBDA_RUNTIME_DEFER_WORKERS": "1", "LAMBDA_RUNTIME_DEFER_MAX_QUEUED": "2"}
    emulator = serve("managed.route", max_concurrency=2, timeout=30, env=env)
    started, release = tmp_path / "started", tmp_path / "release"
    holder = _invoke(emulator, {"do": "defer", "started": str(started), "release": str(release)})
    wait_until(started.exists, what="the first invocation's job to hold the pool's only thread")
    # start_now: queued in the handler, so that they wait in the pool by the time the next invocation defers.
    queued = _invoke(emulator, {"do": "defer_many", "count": 2, "start_now": True})
    refused = _invoke(emulator, {"do": "defer_many", "count": 1, "start_now": True})
    assert queued.json()["refused"] == []  # two jobs wait behind the holder: the bound
    assert refused.json()["refused"] == [
        "deferred job 'job-0' rejected: 2 jobs of this and other invocations already wait for a free worker "
        "(LAMBDA_RUNTIME_DEFER_MAX_QUEUED=2)"
    ]
    release.touch()
    ids = [answer.headers["X-Amzn-RequestId"] for answer in (holder, queued, refused)]

    def summaries() -> dict[str, dict[str, Any]]:
        lines = _json_lines(emulator.runtime_output())
        return {line["requestId"]: line for line in lines if line.get("message", "").startswith("Deferred jobs:")}

    wait_until(lambda: set(ids) <= set(summaries()), what="the three invocations' job summaries")
    by_id = summaries()
    assert [(by_id[i]["ok"], by_id[i]["rejected"]) for i in ids] == [(1, 0), (2, 0), (0, 1)]
    ran = [line["message"] for line in _json_lines(emulator.runtime_output()) if line.get("logger") == "managed"]
    ran = [message for message in ran if message.endswith(" ran")]
    assert sorted(ran) == [f"job 0 of {ids[1]} ran", f"job 1 of {ids[1]} ran"]


def test_documented_trace_recipe_passes_each_invocations_own_trace_header_on(serve: Any) -> None:
    received: dict[str, str | None] = {}

    class Downstream(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            received[self.path] = self.headers.get("X-Amzn-Trace-Id")
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Downstream) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        emulator = serve("managed.route", max_concurrency=4)
        url = f"http://127.0.0.1:{server.server_address[1]}"
        sent = {f"/{n}": f"Root=1-6750{n:04x}-{n:024x};Parent={n:016x};Sampled=1" for n in range(8)}

        def call(path: str) -> requests.Response:
            event = {"do": "traced", "url": url + path}
            return emulator.invoke(event, headers={"X-Amzn-Trace-Id": sent[path]}, timeout=60)

        with ThreadPoolExecutor(4) as pool:
            answers = dict(zip(sent, pool.map(call, sent), strict=True))
        server.shutdown()
    assert received == sent  # each downstream call carried its own invocation's header
    assert {path: answer.json()["traceHeader"] for path, answer in answers.items()} == sent
