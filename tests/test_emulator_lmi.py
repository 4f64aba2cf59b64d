"""The emulator's Lambda Managed Instances mode (``max_concurrency``): one environment, N invocations at once."""

from __future__ import annotations

import json
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from lambda_runtime.emulator import Emulator
from tests.conftest import OFFICIAL_CLIENT


def _invoke(emulator: Emulator, event: dict[str, Any]) -> requests.Response:
    return requests.post(f"{emulator.url}/2015-03-31/functions/function/invocations", json=event, timeout=60)


def test_beyond_max_concurrency_the_caller_gets_429(serve: Any, tmp_path: Path) -> None:
    emulator = serve("managed.route", max_concurrency=1, timeout=30)
    release = tmp_path / "release"
    with ThreadPoolExecutor(1) as pool:
        hung = pool.submit(_invoke, emulator, {"do": "hang", "release": str(release)})
        emulator.wait_for_output("hanging until")  # the one slot is taken
        refused = _invoke(emulator, {"do": "echo"})
        release.touch()
        assert hung.result().status_code == 200
    assert refused.status_code == 429
    assert _invoke(emulator, {"do": "echo"}).status_code == 200


def test_it_sets_the_variable_and_never_freezes_the_environment(serve: Any, tmp_path: Path) -> None:
    emulator = serve("managed.route", max_concurrency=3)
    answer = _invoke(emulator, {"do": "environ"})
    assert answer.json() == {"AWS_LAMBDA_MAX_CONCURRENCY": "3", "AWS_LAMBDA_LOG_FORMAT": "JSON"}
    emulator.record(answer.headers["X-Amzn-RequestId"])
    (pid,) = emulator.runtime_pids()
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    assert state != "T"  # idle, and not stopped (SIGSTOP) as an environment is between invocations otherwise


def test_report_lines_and_log_lines_carry_the_request_id(serve: Any) -> None:
    emulator = serve("managed.route", max_concurrency=4)
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda n: _invoke(emulator, {"do": "echo", "n": n}), range(8)))
    for answer in answers:
        request_id = answer.headers["X-Amzn-RequestId"]
        lines = emulator.invocation_output(request_id).splitlines()
        assert lines[0] == f"START RequestId: {request_id} Version: $LATEST"
        assert lines[-1].startswith(f"REPORT RequestId: {request_id}\t")
        logged = [json.loads(line) for line in lines if line.startswith("{")]
        assert [line["requestId"] for line in logged] == [request_id]


def test_awslambdaric_multi_concurrent_mode_runs_under_it(serve: Any, tmp_path: Path) -> None:
    handler = "managed.route"
    emulator = serve(handler, max_concurrency=4, runtime_command=[*OFFICIAL_CLIENT, handler])
    # Four invocations that wait for one another: awslambdaric serves one at a time per process, so they prove four.
    gathered = {"do": "gather", "dir": str(tmp_path), "parties": 4}
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda n: _invoke(emulator, {**gathered, "n": n}), range(4)))
        answers = list(pool.map(lambda n: _invoke(emulator, {"do": "echo", "n": n}), range(12)))
    assert all(answer.json()["all_arrived"] for answer in together)
    assert len({answer.json()["pid"] for answer in together}) == 4  # one process per slot, as awslambdaric 4.x does
    answers += together
    assert [answer.status_code for answer in answers] == [200] * 16
    assert [answer.json()["requestId"] for answer in answers] == [a.headers["X-Amzn-RequestId"] for a in answers]
    for answer in answers:
        request_id = answer.headers["X-Amzn-RequestId"]
        logged = [json.loads(line) for line in emulator.invocation_output(request_id).splitlines() if line[:1] == "{"]
        assert [line["requestId"] for line in logged] == [request_id]


def test_a_crashed_runtime_fails_the_invocations_in_flight_and_the_next_one_starts_it_again(
    serve: Any, tmp_path: Path
) -> None:
    emulator = serve("managed.route", max_concurrency=2)
    assert _invoke(emulator, {"do": "echo"}).status_code == 200
    (pid,) = emulator.runtime_pids()
    with ThreadPoolExecutor(1) as pool:
        hung = pool.submit(_invoke, emulator, {"do": "hang", "release": str(tmp_path / "never")})
        emulator.wait_for_output("hanging until")
        os.kill(pid, signal.SIGKILL)
        crashed = hung.result()
    assert crashed.headers["X-Amz-Function-Error"] == "Unhandled"
    assert emulator.record(crashed.headers["X-Amzn-RequestId"]).status == "crash"
    answer = _invoke(emulator, {"do": "echo"})
    assert answer.status_code == 200 and answer.json()["pid"] != pid
