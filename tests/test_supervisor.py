"""Process workers under Lambda Managed Instances (`LAMBDA_RUNTIME_WORKER_PROCESSES`), end to end."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from lambda_runtime.emulator import Emulator
from lambda_runtime.serve.supervisor import shares
from tests.conftest import FUNCTIONS
from tests.scripted_server import Reply, ScriptedRuntimeApi


def _invoke(emulator: Emulator, event: dict[str, Any]) -> requests.Response:
    return requests.post(f"{emulator.url}/2015-03-31/functions/function/invocations", json=event, timeout=60)


def test_shares_split_the_slots_evenly() -> None:
    assert shares(8, 3) == [3, 3, 2]
    assert shares(2, 4) == [1, 1]
    assert sum(shares(64, 5)) == 64


def test_processes_share_the_slots_and_a_crashed_one_is_replaced_while_the_others_serve(
    serve: Any, tmp_path: Path
) -> None:
    emulator = serve("managed.route", max_concurrency=4, timeout=2, env={"LAMBDA_RUNTIME_WORKER_PROCESSES": "2"})

    def gather(name: str) -> list[Any]:
        # Four invocations that wait for one another: one process holds only two slots, so both must serve.
        (tmp_path / name).mkdir()
        event = {"do": "gather", "dir": str(tmp_path / name), "parties": 4}
        with ThreadPoolExecutor(4) as pool:
            return list(pool.map(lambda n: _invoke(emulator, {**event, "n": n}), range(4)))

    first = gather("first")
    assert [answer.status_code for answer in first] == [200] * 4
    assert all(answer.json()["all_arrived"] for answer in first)
    pids = {answer.json()["pid"] for answer in first}
    assert len(pids) == 2  # two worker processes (the supervisor serves nothing itself)
    crashed = _invoke(emulator, {"do": "crash"})
    assert crashed.headers["X-Amz-Function-Error"] == "Unhandled"  # nobody answers it: it times out
    emulator.wait_for_output("it is replaced")
    after = gather("after")
    assert [answer.status_code for answer in after] == [200] * 4
    now = {answer.json()["pid"] for answer in after}
    assert len(now) == 2 and now != pids  # one survivor, one replacement


def test_each_process_reports_its_init_error_and_the_second_403_is_not_an_error(serve: Any) -> None:
    emulator = serve("import_raises.handler", max_concurrency=2, env={"LAMBDA_RUNTIME_WORKER_PROCESSES": "2"})
    answer = _invoke(emulator, {})
    assert answer.headers["X-Amz-Function-Error"] == "Unhandled"
    assert emulator.record(answer.headers["X-Amzn-RequestId"]).status == "init_error"
    assert "Could not report the init error" not in emulator.runtime_output()


def test_a_403_from_init_error_means_another_worker_reported_it_first() -> None:
    with ScriptedRuntimeApi() as api:
        api.script[("POST", "/init/error")].append(Reply(403, b'{"errorType":"InvalidStateTransition"}'))
        env = {"PATH": "/usr/bin:/bin", "AWS_LAMBDA_RUNTIME_API": api.address, "LAMBDA_TASK_ROOT": str(FUNCTIONS)}
        result = subprocess.run(
            [sys.executable, "-m", "lambda_runtime", "import_raises.handler"],
            env=env,
            cwd=FUNCTIONS,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert [seen.path for seen in api.seen] == ["/2018-06-01/runtime/init/error"]  # not retried
    assert "Could not report the init error" not in result.stdout + result.stderr


def test_one_thread_per_process_sets_the_trace_variable_as_awslambdarics_processes_do(serve: Any) -> None:
    # 2 processes x 1 thread: each serves one invocation at a time, so the X-Ray SDK and Powertools Tracer, which
    # read _X_AMZN_TRACE_ID, work unchanged there (with several threads per process it is never set).
    emulator = serve("managed.route", max_concurrency=2, env={"LAMBDA_RUNTIME_WORKER_PROCESSES": "2"})
    for n in range(4):
        header = f"Root=1-67500000-{n:024x};Parent={n:016x};Sampled=1"
        answer = emulator.invoke({"do": "trace_ids"}, headers={"X-Amzn-Trace-Id": header})
        assert answer.json()["traceId"] == answer.json()["environTraceId"] == header


NO_SHM = shutil.which("unshare") is not None and os.geteuid() == 0


@pytest.mark.skipif(not NO_SHM, reason="needs root and unshare(1) to hide /dev/shm in a mount namespace")
def test_process_workers_serve_without_dev_shm(serve: Any, tmp_path: Path) -> None:
    # As on Lambda: no usable /dev/shm. A read-only empty tmpfs hides the host's from the supervisor and its workers.
    hide_shm = 'mount -t tmpfs -o ro,size=4k none /dev/shm && exec "$@"'
    command = ["unshare", "-m", "sh", "-c", hide_shm, "sh", sys.executable, "-m", "lambda_runtime"]
    env = {"LAMBDA_RUNTIME_WORKER_PROCESSES": "2"}
    emulator = serve("managed.route", max_concurrency=2, runtime_command=command, env=env)
    assert emulator.invoke({"do": "semaphore"}).json()["lock"].startswith("OSError: [Errno 30]")  # really hidden
    event = {"do": "gather", "dir": str(tmp_path), "parties": 2}
    with ThreadPoolExecutor(2) as pool:
        together = list(pool.map(lambda n: _invoke(emulator, {**event, "n": n}), range(2)))
    assert all(answer.json()["all_arrived"] for answer in together)
    assert len({answer.json()["pid"] for answer in together}) == 2  # both worker processes serve
