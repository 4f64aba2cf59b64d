"""context.defer on the unhappy path, end to end: hung jobs, misuse, hooks that raise, forks, contexts, exits.

Each test reproduces something seen in production-like use; they synchronise through files and the emulator's
timestamps, never sleeps.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import FUNCTIONS as FUNCTIONS_DIR
from tests.polling import wait_until
from tests.scripted_server import Reply, ScriptedRuntimeApi
from tests.test_deferred import json_lines, read_stamp, wait_for_file

JSON = {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"}  # jobs log at INFO


def summaries(output: str) -> list[dict]:
    return [line for line in json_lines(output) if "postResponseMs" in line]


def thread_count(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError("no Threads line")


def test_hung_jobs_never_starve_later_invocations(serve, tmp_path):
    emu = serve("unhappy.route", timeout=1.5, env={**JSON, "LAMBDA_RUNTIME_DEFER_WORKERS": "2"})
    emu.invoke({"do": "hang", "dir": str(tmp_path), "hang": ["stuck1", "stuck2"]})
    (first,) = emu.wait_for_records(1)
    assert first["status"] == "success"
    for _ in range(8):
        emu.invoke({"do": "quick", "dir": str(tmp_path)})
    records = emu.wait_for_records(9)
    for record in records[1:]:
        # The job ran, within its own invocation, and the invocation ended long before its deadline.
        ran_at, _ = read_stamp(tmp_path / record["request_id"])
        assert record["responded_at"] <= ran_at <= record["next_at"]
        assert record["next_at"] < record["deadline_ms"] / 1000 - 0.5
    later = summaries(emu.runtime_output())[1:]
    assert [(s["ok"], s["timedOut"], s["notStarted"]) for s in later] == [(1, 0, 0)] * 8
    # Two written-off threads, two workers that replaced them, the main thread: no more, however long this goes on.
    assert thread_count(emu.runtime_pid) <= 5


def test_a_job_whose_deadline_passed_while_queued_is_reported_and_never_runs(serve, tmp_path):
    emu = serve("unhappy.route", timeout=1.5, env={**JSON, "LAMBDA_RUNTIME_DEFER_WORKERS": "1"})
    emu.invoke({"do": "hang_then_queue", "dir": str(tmp_path)})
    (first,) = emu.wait_for_records(1)
    output = emu.wait_for_output("postResponseMs")
    (summary,) = summaries(output)
    assert (summary["ok"], summary["timedOut"], summary["notStarted"]) == (0, 1, 1)
    lines = json_lines(output)
    never = [line for line in lines if "never started" in line["message"]]
    assert [line["job"] for line in never] == ["queued"]
    overran = [line for line in lines if "overran" in line["message"]]
    assert [line["job"] for line in overran] == ["holder"]  # no "overran after 0 ms" for the one that never ran
    # The next invocation's job gets the replacement worker; the queued job is gone for good.
    emu.invoke({"do": "quick", "dir": str(tmp_path)})
    second = emu.wait_for_records(2)[1]
    assert (tmp_path / second["request_id"]).exists()
    assert not (tmp_path / "queued").exists()
    assert first["next_at"] < first["deadline_ms"] / 1000


def test_job_arguments_never_reach_the_logs(serve, tmp_path):
    secret = "s3cr3t-in-a-partial-77"
    emu = serve("unhappy.route", env=JSON)
    emu.invoke({"do": "leak_arguments", "dir": str(tmp_path), "secret": secret})
    output = emu.wait_for_output("postResponseMs")
    (tmp_path / "overrun.go").touch()
    assert secret not in output
    failed = sorted(line["job"] for line in json_lines(output) if "failed" in line["message"] and "job" in line)
    assert failed == ["Sender", "Sender.send", "_fail_with"]
    overran = [line["job"] for line in json_lines(output) if "overran" in line["message"]]
    assert overran == ["_ignore_overrun"]


def test_misuse_of_defer_is_refused_at_once_with_the_argument_named(serve, tmp_path):
    emu = serve("unhappy.route")
    errors = emu.invoke({"do": "misuse", "dir": str(tmp_path)}).json()
    for case, error in errors.items():
        assert error is not None, f"{case} was accepted"
        kind, message = error
        argument = {"timeout": "job_timeout", "fn": "fn", "name": "job_name"}[case.split("_")[0]]
        assert argument in message, (case, message)
        wrong_value = case in ("timeout_nan", "timeout_inf", "timeout_zero", "timeout_negative")
        assert kind == ("ValueError" if wrong_value else "TypeError"), (case, kind)
    assert "not the result of calling it" in errors["fn_coroutine"][1]
    (record,) = emu.wait_for_records(1)
    assert record["status"] == "success" and "Deferred jobs:" not in emu.runtime_output()
    assert "never awaited" not in emu.runtime_output()


def test_async_jobs_really_run_and_are_cancelled_at_their_deadline(serve, tmp_path):
    emu = serve("unhappy.route", env=JSON)
    emu.invoke({"do": "defer_async", "dir": str(tmp_path), "forever": True})
    (record,) = emu.wait_for_records(1)
    ran_at, request_id = read_stamp(tmp_path / "async_job")
    assert record["responded_at"] <= ran_at <= record["next_at"] and request_id == record["request_id"]
    assert (tmp_path / "async_cancelled").exists()  # a coroutine, unlike a thread, can be stopped
    (summary,) = summaries(emu.wait_for_output("postResponseMs"))
    assert (summary["ok"], summary["timedOut"], summary["failed"]) == (1, 1, 0)
    assert record["next_at"] < record["deadline_ms"] / 1000 - 1


@pytest.mark.parametrize("first_defers", [False, True])
def test_defer_after_the_invocation_is_over_is_rejected_from_any_thread(serve, tmp_path, first_defers):
    emu = serve("unhappy.route")
    emu.invoke({"do": "keep_context", "dir": str(tmp_path), "defer": first_defers})
    outcomes = emu.invoke({"do": "defer_on_previous", "dir": str(tmp_path)}).json()
    assert set(outcomes) == {"handler", "thread", "job"}
    for where, outcome in outcomes.items():
        assert "rejected: the invocation is over" in outcome, where
    emu.wait_for_records(2)
    assert not list(tmp_path.glob("dropped_*"))


@pytest.mark.parametrize("raises", ["SystemExit", "KeyboardInterrupt", "ValueError"])
def test_an_error_hook_that_raises_never_loses_the_outcome(serve, tmp_path, raises):
    emu = serve("unhappy.route", timeout=30, env={**JSON, "HOOK_RAISES": raises})
    for _ in range(2):
        assert emu.invoke({"do": "fail_one", "dir": str(tmp_path)}).json() == "answered"
    records = emu.wait_for_records(2)
    assert [s["failed"] for s in summaries(emu.wait_for_output("postResponseMs"))][:1] == [1]
    for record in records:
        assert record["status"] == "success"
        assert record["next_at"] < record["deadline_ms"] / 1000 - 20  # not billed to the deadline
    assert records[1]["init_ms"] is None
    assert "error hook _hook_that_raises failed" in emu.runtime_output()


def test_a_child_forked_in_a_job_exits_when_its_job_is_done(serve, tmp_path):
    emu = serve("unhappy.route", freeze=False)  # a frozen child could not exit; this is about the worker loop
    emu.invoke({"do": "fork_in_job", "dir": str(tmp_path)})
    emu.wait_for_records(1)
    child = int(wait_for_file(tmp_path / "child_pid").read_text())

    def child_gone() -> bool:
        return not Path(f"/proc/{child}").exists() or Path(f"/proc/{child}/stat").read_text().split()[2] == "Z"

    wait_until(child_gone, what="the forked child to leave the worker loop")
    assert emu.invoke({"do": "quick", "dir": str(tmp_path)}).json() == "answered"
    assert len(emu.wait_for_records(2)) == 2


def test_the_context_reaches_every_kind_of_job(serve, tmp_path):
    emu = serve("unhappy.route", timeout=1.5, env=JSON)
    emu.invoke({"do": "context_everywhere", "dir": str(tmp_path)})
    (first,) = emu.wait_for_records(1)
    expected = f"set-by-{first['request_id']} {first['request_id']}"
    for name in ("default", "start_now", "parent", "nested"):
        assert (tmp_path / name).read_text() == expected, name
    # The abandoned job resumes only once the second invocation is running (its handler lets it go and waits for
    # it), so its late line is logged while another request id is current: it must still carry its own.
    assert emu.invoke({"do": "release", "dir": str(tmp_path), "release": "abandoned"}).json() == "released"
    assert (tmp_path / "abandoned.ended").read_text() == f"set-by-{first['request_id']}"
    late = [line for line in json_lines(emu.runtime_output()) if line["message"].startswith("late log from")]
    assert [line["requestId"] for line in late] == [first["request_id"]]


def test_powertools_metrics_recorded_in_a_job_are_flushed_in_their_own_invocation(serve, tmp_path):
    pytest.importorskip("aws_lambda_powertools")
    emu = serve("unhappy.route", env={"POWERTOOLS_METRICS_NAMESPACE": "LambdaRuntimeTests"})
    for _ in range(2):
        emu.invoke({"do": "record_metric", "dir": str(tmp_path)})
    for record in emu.wait_for_records(2):
        output = emu.invocation_output(record["request_id"])
        metrics = [json_line for json_line in json_lines(output) if "_aws" in json_line]
        names = sorted(name for line in metrics for name in line if name.endswith("Metric"))
        assert names == ["DeferredMetric", "HandlerMetric"], output
        for line in metrics:  # stamped within the invocation, not at the next flush
            stamped = line["_aws"]["Timestamp"] / 1000
            assert record["delivered_at"] - 1 <= stamped <= record["next_at"] + 1


def run_runtime(api: ScriptedRuntimeApi, handler: str, **env: str) -> subprocess.Popen[str]:
    environ = {**os.environ, "AWS_LAMBDA_RUNTIME_API": api.address, "LAMBDA_TASK_ROOT": str(FUNCTIONS_DIR), **env}
    return subprocess.Popen(
        [sys.executable, "-m", "lambda_runtime", handler],
        env=environ,
        cwd=FUNCTIONS_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def hang_event(tmp_path: Path, seconds: float) -> Reply:
    deadline = str(int((time.time() + seconds) * 1000))
    body = json.dumps({"do": "hang", "hang": ["never_ends"], "dir": str(tmp_path)}).encode()
    headers = {"Lambda-Runtime-Aws-Request-Id": "req-1", "Lambda-Runtime-Deadline-Ms": deadline}
    return Reply(200, body, {**headers, "Content-Type": "application/json"})


def test_a_fatal_runtime_api_error_exits_at_once_despite_an_abandoned_job(tmp_path):
    with ScriptedRuntimeApi() as api:
        api.add("GET", "/next", hang_event(tmp_path, 1.0), Reply(400, b"gone"))
        runtime = run_runtime(api, "unhappy.route", LAMBDA_RUNTIME_RETRY_ATTEMPTS="1")
        try:
            output, _ = runtime.communicate(timeout=60)
        finally:
            runtime.kill()
    assert (tmp_path / "never_ends.started").exists()
    assert runtime.returncode == 1, output
    assert "abandoned" in output and "is unavailable, exiting" in output


@pytest.mark.parametrize(("sig", "status", "name"), [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGINT, 130, "SIGINT")])
def test_a_signal_during_deferred_jobs_names_them_and_exits_at_once(tmp_path, sig, status, name):
    with ScriptedRuntimeApi() as api:
        api.add("GET", "/next", hang_event(tmp_path, 600))
        runtime = run_runtime(api, "unhappy.route")
        try:
            wait_for_file(tmp_path / "never_ends.started")
            runtime.send_signal(sig)
            output, _ = runtime.communicate(timeout=60)
        finally:
            runtime.kill()
    assert runtime.returncode == status, output
    assert f"Deferred jobs cut short by {name}: never_ends" in output
    assert "Traceback" not in output


def test_overrun_exit_restarts_in_place_and_the_invocation_is_a_success(serve, tmp_path):
    emu = serve("unhappy.route", timeout=1.5, env={"LAMBDA_RUNTIME_DEFER_OVERRUN": "exit"})
    assert emu.invoke({"do": "hang", "dir": str(tmp_path), "hang": ["stuck"]}).json() == "answered"
    pid = emu.runtime_pid
    emu.wait_for_output("the runtime restarts in place")
    assert emu.invoke({"do": "quick", "dir": str(tmp_path)}).json() == "answered"
    first, second = emu.wait_for_records(2)
    # Lambda sees /next: a success, no Runtime.ExitError, no cold start; the same process, a fresh image.
    assert (first["status"], first["error_type"], second["init_ms"]) == ("success", None, None)
    assert first["next_at"] < first["deadline_ms"] / 1000
    assert (tmp_path / second["request_id"]).exists() and emu.runtime_pid == pid
    # The main thread and the worker that ran the quick job: the hung one is gone with the old image. (Releasing it
    # with stuck.go right after the log line would race the execve: the thread could still end and log before it.)
    assert thread_count(pid) == 2


def test_overrun_exit_never_runs_an_event_invocation_twice(serve, tmp_path):
    emu = serve("unhappy.route", timeout=1.5, env={"LAMBDA_RUNTIME_DEFER_OVERRUN": "exit"}, retry_delays=[0.0, 0.0])
    emu.invoke({"do": "hang", "dir": str(tmp_path), "hang": ["stuck"]}, invocation_type="Event")
    (outcome,) = emu.wait_for_async_outcomes(1)
    assert outcome["requestContext"]["condition"] == "Success"
    assert outcome["requestContext"]["approximateInvokeCount"] == 1
    assert len((tmp_path / "runs").read_text().splitlines()) == 1


def test_an_exit_after_the_response_is_a_runtime_exit_error_as_on_lambda(serve, tmp_path):
    emu = serve("unhappy.route", retry_delays=[0.0, 0.0])
    assert emu.invoke({"do": "exit_in_job", "dir": str(tmp_path)}).json() == "answered"  # the caller keeps it
    (record,) = emu.wait_for_records(1)
    assert record["status"] == "crash" and record["exit_code"] == 7
    output = emu.invocation_output(record["request_id"])
    assert f"RequestId: {record['request_id']} Error: Runtime exited with error: exit status 7" in output
    assert "Status: error\tError Type: Runtime.ExitError" in output
    # An Event invocation that exits after its response failed: Lambda retries it, and so does the emulator.
    emu.invoke({"do": "exit_in_job", "dir": str(tmp_path)}, invocation_type="Event")
    (outcome,) = emu.wait_for_async_outcomes(1)
    assert outcome["requestContext"]["condition"] == "RetriesExhausted"
    assert len((tmp_path / "runs").read_text().splitlines()) == 1 + 3


def test_ctrl_c_on_the_emulator_names_the_jobs_it_cuts_short(tmp_path):
    command = [sys.executable, "-m", "lambda_runtime.emulator.cli", "serve", "unhappy.route", "--port", "0"]
    cli = subprocess.Popen(
        [*command, "--timeout", "600"], cwd=FUNCTIONS_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []
    try:
        assert cli.stdout is not None
        for line in cli.stdout:
            lines.append(line)
            listening = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if listening:
                port = int(listening[1])
                break
        body = json.dumps({"do": "hang", "dir": str(tmp_path), "hang": ["mail_merge"]}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/2015-03-31/functions/function/invocations", body)
        with urllib.request.urlopen(request, timeout=60) as response:
            assert json.loads(response.read()) == "answered"
        wait_for_file(tmp_path / "mail_merge.started")
        cli.send_signal(signal.SIGINT)
        rest, _ = cli.communicate(timeout=60)
    finally:
        cli.kill()
    output = "".join(lines) + rest
    assert "Deferred jobs cut short by SIGTERM: mail_merge" in output
    report = next(line for line in output.splitlines() if line.startswith("REPORT"))
    assert "Status: shutdown" in report and "Runtime.ExitError" not in output
