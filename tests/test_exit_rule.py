"""One rule for every exit, end to end under Lambda Managed Instances: before the runtime goes, every invocation's
deferred work has finished or is named in a log line carrying that invocation's request id, and no hung handler or
job holds the exit past its documented bound."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from lambda_runtime.emulator import Emulator
from tests.test_logs import RUNTIME, framed_runtime, read_frames


def _invoke(emulator: Emulator, event: dict[str, Any]) -> requests.Response:
    return requests.post(f"{emulator.url}/2015-03-31/functions/function/invocations", json=event, timeout=90)


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def _wait_until(condition: Callable[[], bool], what: str, seconds: float = 30.0) -> None:
    give_up = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < give_up, f"still waiting for {what}"
        time.sleep(0.01)


def _lines_of(emulator: Emulator, request_id: str, containing: str) -> list[dict[str, Any]]:
    lines = _json_lines(emulator.runtime_output())
    return [line for line in lines if line.get("requestId") == request_id and containing in line.get("message", "")]


def _exit_status(emulator: Emulator, seconds: float = 30.0) -> int:
    environment = emulator.server.pool.envs[0]
    _wait_until(lambda: not emulator.runtime_pids(), "the runtime to exit", seconds)
    status = environment.last_returncode
    assert isinstance(status, int)
    return status


EXIT_TRIGGERS = [
    pytest.param({"LAMBDA_RUNTIME_DEFER_OVERRUN": "exit"}, id="overrun-exit"),
    pytest.param({"LAMBDA_RUNTIME_DEFER_MAX_ABANDONED": "0"}, id="abandoned-cap"),
]


@pytest.mark.parametrize("trigger", EXIT_TRIGGERS)
def test_an_exit_lets_another_invocations_healthy_job_finish_and_log_its_summary(
    serve: Any, tmp_path: Path, trigger: dict[str, str]
) -> None:
    emulator = serve("managed.route", max_concurrency=4, timeout=30, env=trigger)
    healthy = {"do": "healthy_job", "seconds": 3, "started": str(tmp_path / "a.started"), "done": str(tmp_path / "a")}
    first = _invoke(emulator, healthy)
    assert first.status_code == 200
    _wait_until((tmp_path / "a.started").exists, "the healthy job to start")
    stubborn = {"do": "stubborn_job", "job_timeout": 0.3, "started": str(tmp_path / "b.started")}
    second = _invoke(emulator, stubborn)
    assert second.status_code == 200
    assert _exit_status(emulator) == 1
    first_id, second_id = first.headers["X-Amzn-RequestId"], second.headers["X-Amzn-RequestId"]
    assert (tmp_path / "a").exists()  # the healthy job ran to its end before the process went
    (summary,) = _lines_of(emulator, first_id, "Deferred jobs:")
    assert summary["ok"] == 1
    (named,) = _lines_of(emulator, second_id, "cut short")
    assert "stubborn" in named["message"] and named["cutShort"] == ["stubborn"]


def test_abandoned_jobs_of_earlier_invocations_are_each_named_with_their_own_request_id(
    serve: Any, tmp_path: Path
) -> None:
    emulator = serve("managed.route", max_concurrency=2, timeout=30, env={"LAMBDA_RUNTIME_DEFER_MAX_ABANDONED": "1"})
    ids = []
    for n in range(2):  # the second abandoned job passes the cap of one
        answer = _invoke(emulator, {"do": "stubborn_job", "job_timeout": 0.3, "started": str(tmp_path / f"{n}")})
        ids.append(answer.headers["X-Amzn-RequestId"])
        _wait_until(lambda: bool(_lines_of(emulator, ids[-1], "Deferred jobs:")), "the invocation's summary")
    assert _exit_status(emulator) == 1
    for request_id in ids:
        (named,) = _lines_of(emulator, request_id, "cut short")
        assert named["cutShort"] == ["stubborn"] and "abandoned" in named["message"]


def test_a_hung_handler_holds_an_exit_only_until_its_invocations_deadline(serve: Any, tmp_path: Path) -> None:
    # A handler Lambda never stops: the exit waits for it until its deadline (3 s here), then names it and goes.
    emulator = serve("managed.route", max_concurrency=2, timeout=3, env={"LAMBDA_RUNTIME_DEFER_OVERRUN": "exit"})
    release = tmp_path / "release"
    with ThreadPoolExecutor(1) as pool:
        hung = pool.submit(_invoke, emulator, {"do": "hang", "release": str(release)})
        emulator.wait_for_output("hanging until")
        stubborn = {"do": "stubborn_job", "job_timeout": 0.3, "started": str(tmp_path / "b.started")}
        assert _invoke(emulator, stubborn).status_code == 200
        try:
            status = _exit_status(emulator, seconds=30)  # the handler would hang for 60 s
        finally:
            release.touch()
        hung_answer = hung.result()
    assert status == 1
    hung_id = hung_answer.headers["X-Amzn-RequestId"]
    assert hung_answer.json()["errorType"] == "Sandbox.Timedout"
    (named,) = _lines_of(emulator, hung_id, "cut short")
    assert "handler" in named["message"] and "still running" in named["message"]


@pytest.mark.parametrize("processes", ["1", "2"], ids=["threads", "processes"])
def test_sigterm_names_every_invocations_running_jobs_with_its_own_request_id(
    serve: Any, tmp_path: Path, processes: str
) -> None:
    env = {"LAMBDA_RUNTIME_WORKER_PROCESSES": processes}
    emulator = serve("managed.route", max_concurrency=4, timeout=30, kill_grace=30.0, shutdown_budget=30.0, env=env)
    ids = []
    for n in range(3):
        answer = _invoke(emulator, {"do": "stubborn_job", "started": str(tmp_path / f"{n}.started")})
        ids.append(answer.headers["X-Amzn-RequestId"])
        _wait_until((tmp_path / f"{n}.started").exists, "the job to start")
    emulator.stop()
    assert emulator.server.pool.envs[0].last_returncode == 143
    for request_id in ids:
        (named,) = _lines_of(emulator, request_id, "cut short by SIGTERM")
        assert named["cutShort"] == ["stubborn"]


def _job_workers_under(pid: int) -> list[int]:
    """The `executor="process"` job workers among the descendants of `pid` (from /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            todo.append(child)
            try:
                command = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"lambda_runtime.jobs.worker" in command:
                found.append(child)
    return found


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        pytest.param({}, 2, id="one-at-a-time"),
        pytest.param({"max_concurrency": 4}, 2, id="managed-threads"),
        pytest.param(
            {"max_concurrency": 4, "env": {"LAMBDA_RUNTIME_WORKER_PROCESSES": "2"}}, 4, id="managed-processes"
        ),
    ],
)
def test_each_runtime_process_starts_its_job_worker_pool_once(
    serve: Any, tmp_path: Path, options: dict[str, Any], expected: int
) -> None:
    env = {"LAMBDA_RUNTIME_DEFER_PROCESSES_AT_INIT": "true", "LAMBDA_RUNTIME_DEFER_PROCESSES": "2"}
    emulator = serve("managed.route", timeout=30, **{**options, "env": {**env, **options.get("env", {})}})
    # Every slot busy at once: every runtime process has answered /next, so its init (and its pool) is complete.
    parties = options.get("max_concurrency", 1)
    gather = {"do": "gather", "dir": str(tmp_path), "parties": parties}
    with ThreadPoolExecutor(parties) as pool:
        answers = list(pool.map(lambda n: _invoke(emulator, {**gather, "n": n}), range(parties)))
    assert all(answer.json()["all_arrived"] for answer in answers)
    (root,) = emulator.runtime_pids()
    assert len(_job_workers_under(root)) == expected


def test_after_a_restart_in_place_the_logs_still_go_to_the_telemetry_descriptor(serve: Any, tmp_path: Path) -> None:
    env = {
        "LAMBDA_RUNTIME_DEFER_OVERRUN": "exit",
        "_LAMBDA_TELEMETRY_LOG_FD": "3",
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_LAMBDA_LOG_LEVEL": "INFO",
    }
    command = framed_runtime(tmp_path, *RUNTIME)
    emulator = serve("unhappy.route", timeout=1.5, env=env, runtime_command=command)
    assert emulator.invoke({"do": "hang", "dir": str(tmp_path), "hang": ["stuck"]}).json() == "answered"
    _wait_until(lambda: b"restarts in place" in (tmp_path / "frames.bin").read_bytes(), "the restart in place")
    assert emulator.invoke({"do": "quick", "dir": str(tmp_path)}).json() == "answered"
    _, second = emulator.wait_for_records(2)

    def summaries() -> list[dict[str, Any]]:
        frames = [json.loads(frame[2]) for frame in read_frames((tmp_path / "frames.bin").read_bytes())]
        return [f for f in frames if f.get("requestId") == second.request_id and "Deferred jobs" in f["message"]]

    _wait_until(lambda: bool(summaries()), "the fresh image's summary line on the descriptor")
    assert summaries()[0]["ok"] == 1
    assert "Deferred jobs" not in emulator.runtime_output()  # nothing went to stdout instead
