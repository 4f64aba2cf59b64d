"""lambda_runtime.testing: a handler run by the runtime's own loop and jobs, in process; deadlines on simulated time."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lambda_runtime.testing import LocalFunction, StillRunning
from tests.functions import testkit_app


def test_the_handler_gets_a_context_like_lambda_s_and_its_jobs_run_after_the_answer(lambda_function):
    function = lambda_function(testkit_app.handler, timeout=30, memory_size=512, function_name="orders")
    run = function.invoke(
        {"record": ["a", "b"]}, client_context={"custom": {"tenant": "t1"}}, identity={"cognitoIdentityId": "id-1"}
    )
    assert run.result == {
        "request_id": run.request_id,
        "function_name": "orders",
        "arn": "arn:aws:lambda:us-east-1:123456789012:function:orders",
        "memory": "512",
        "remaining_ms": run.result["remaining_ms"],
        "log_group": "/aws/lambda/orders",
        "client": {"tenant": "t1"},
        "identity": "id-1",
    }
    assert 25_000 < run.result["remaining_ms"] <= 30_000
    assert [(job.name, job.outcome) for job in run.jobs] == [("record", "ok"), ("record", "ok")]
    assert run.summary["ok"] == 2 and run.summary["failed"] == 0
    lines = run.logs.splitlines()
    assert lines[0].endswith(f"\t{run.request_id}\thandler got ['record']")
    assert [line.split("\t")[-1] for line in lines[1:3]] == ["recorded a", "recorded b"]
    assert "Deferred jobs: 2 ok, 0 failed" in lines[3]


def test_each_invocation_has_its_own_request_id_and_log(lambda_function):
    function = lambda_function(testkit_app.handler)
    first, second = function.invoke({"record": ["one"]}), function.invoke({"record": ["two"]})
    assert first.request_id != second.request_id
    assert "recorded one" in first.logs and "recorded two" not in first.logs
    assert "recorded two" in second.logs and first.request_id not in second.logs


def test_a_handler_error_is_posted_as_lambda_would_and_the_jobs_still_run(lambda_function):
    run = lambda_function(testkit_app.handler).invoke({"raise": "bad order", "record": ["x"]})
    assert run.error is not None
    assert (run.error["errorType"], run.error["errorMessage"]) == ("ValueError", "bad order")
    assert run.error["stackTrace"][0].startswith(f'  File "{testkit_app.__file__}"')
    assert run.outcomes == {"record": "ok"}
    assert "[ERROR] ValueError: bad order" in run.logs
    with pytest.raises(AssertionError, match="ValueError: bad order"):
        run.result  # noqa: B018


def test_the_runtime_s_settings_apply_as_on_lambda(lambda_function):
    function = lambda_function(testkit_app.handler, environ={"LAMBDA_RUNTIME_DEFER_ON_ERROR": "false"})
    run = function.invoke({"raise": "bad", "record": ["x"]})
    assert run.outcomes == {"record": "skipped"}
    with pytest.raises(Exception, match="LAMBDA_RUNTIME_DEFER_WORKERS='many' is invalid"):
        LocalFunction(testkit_app.handler, environ={"LAMBDA_RUNTIME_DEFER_WORKERS": "many"})


def test_a_failing_job_is_reported_and_the_others_are_not_affected(lambda_function):
    run = lambda_function(testkit_app.handler).invoke({"fail_job": "disk full", "record": ["x"]})
    assert run.outcomes == {"record": "ok", "fail": "failed"}
    assert "deferred job 'fail' failed" in run.logs and "RuntimeError: disk full" in run.logs


def test_at_the_simulated_deadline_the_runtime_cancels_what_still_runs(lambda_function):
    run = lambda_function(testkit_app.handler, timeout=60).start({"record": ["quick"], "wait": ["export"]})
    run.expire().wait()
    # The quick job ran: time moved only once every job had its worker, however slow the machine.
    assert run.outcomes == {"record": "ok", "export": "timed_out"}
    assert run.summary["timedOut"] == 1 and run.summary["postResponseMs"] >= 59_000
    assert "deferred job 'export' overran its deadline" in run.logs
    assert "Deferred jobs still running at the deadline (export) are abandoned" in run.logs


def test_a_job_s_own_timeout_passes_when_the_test_advances_the_clock(lambda_function):
    run = lambda_function(testkit_app.handler, timeout=60).start(
        {"wait": ["short", "other"], "job_timeout": 5}, wait=30
    )
    run.advance(4)
    assert all(not job.cancelled for job in run.jobs)  # 4 s of 5: nothing is due yet
    run.advance(1.5).wait()
    assert run.outcomes == {"short": "timed_out", "other": "timed_out"}
    assert [job.name for job in run.jobs if job.cancelled] == ["short", "other"]
    assert "short cancelled with 0 ms left" in run.logs
    # Cancelled at their own timeout, they had a grace to stop: nothing was left running at the end.
    assert run.still_running == [] and "abandoned" not in run.logs


def test_a_job_that_never_ends_fails_the_test_by_name_and_is_cut_off(lambda_function, tmp_path):
    release = tmp_path / "release"
    function = lambda_function(testkit_app.handler)
    run = function.start({"ignore": str(release)})
    with pytest.raises(StillRunning, match="ignore_the_deadline"):
        run.wait(0.5)
    (job,) = run.jobs
    assert job.cancelled  # the deadline was simulated, so the runtime cancelled it
    release.touch()
    assert function.invoke({"record": ["next"]}).outcomes == {"record": "ok"}


def test_process_jobs_run_in_worker_processes_and_their_logs_are_the_invocation_s(lambda_function):
    run = lambda_function(testkit_app.handler).invoke({"process": True})
    assert run.outcomes == {"in_a_worker_process": "ok"}
    assert f"\t{run.request_id}\tworker True is not the runtime {os.getpid()}" in run.logs


def test_a_process_job_at_the_simulated_deadline_is_stopped_with_its_worker(lambda_function):
    function = lambda_function(testkit_app.handler, timeout=60)
    run = function.start({"spin": True}).expire().wait()
    assert run.outcomes == {"spin_in_a_worker_process": "timed_out"}
    assert "its worker process is terminated and replaced" in run.logs
    assert function.invoke({"process": True}).outcomes == {"in_a_worker_process": "ok"}


def test_the_exit_overrun_policy_replaces_the_process_and_the_next_event_gets_a_fresh_one(lambda_function):
    function = lambda_function(testkit_app.handler, environ={"LAMBDA_RUNTIME_DEFER_OVERRUN": "exit"})
    first_runner = function.runner
    run = function.start({"wait": ["stuck"]}).expire().wait()
    assert run.restarted
    assert "the runtime restarts in place" in run.logs
    assert function.runner is not first_runner
    assert function.invoke({"record": ["after"]}).outcomes == {"record": "ok"}


def test_a_streamed_response_is_collected_and_the_jobs_run_after_the_stream(lambda_function):
    run = lambda_function(testkit_app.stream_lines).invoke({"lines": 3})
    assert run.streamed and run.response == b"line 0\nline 1\nline 2\n"
    assert run.outcomes == {"record": "ok"}
    assert "streamed for" in run.logs


def test_an_error_in_the_middle_of_a_stream_is_the_invocation_s_error(lambda_function):
    run = lambda_function(testkit_app.stream_then_fail).invoke({})
    assert run.streamed and run.response == b"first\n"
    assert (run.error["errorType"], run.error["errorMessage"]) == ("RuntimeError", "mid-stream")


def test_jobs_of_the_same_name_are_read_from_jobs_not_outcomes(lambda_function):
    run = lambda_function(testkit_app.handler).invoke({"record": ["a", "b"]})
    with pytest.raises(ValueError, match="several jobs share a name"):
        run.outcomes  # noqa: B018


def test_a_timeout_beyond_lambda_s_is_refused():
    with pytest.raises(ValueError, match="at most 900"):
        LocalFunction(testkit_app.handler, timeout=901)


def test_the_worker_processes_import_the_handler_s_modules_from_its_root(lambda_function):
    function = lambda_function(testkit_app.handler)
    assert Path(function.settings.task_root) == Path(__file__).resolve().parent.parent
