"""The job as its own code sees it: deadline, cancellation flag, current_job(), error hooks (pure, in-process)."""

from __future__ import annotations

import time

from lambda_runtime.jobs import CURRENT_JOB, ERROR_HOOKS, Job, current_job, on_job_error


def make_job(seconds_left: float) -> Job:
    return Job(print, (), {}, request_id="req", deadline=time.monotonic() + seconds_left)


def test_remaining_ms_counts_down_and_never_goes_negative():
    assert 29_000 < make_job(30).remaining_ms() <= 30_000
    assert make_job(-5).remaining_ms() == 0


def test_wait_cancelled_wakes_on_cancellation():
    job = make_job(30)
    assert job.wait_cancelled(0) is False and not job.cancelled
    job.cancel_event.set()
    assert job.wait_cancelled(30) is True and job.cancelled


def test_current_job_follows_the_context_variable():
    job = make_job(30)
    assert current_job() is None
    token = CURRENT_JOB.set(job)
    try:
        assert current_job() is job
    finally:
        CURRENT_JOB.reset(token)


def test_on_job_error_registers_and_returns_the_hook():
    def hook(job: Job, error: BaseException) -> None:
        pass

    try:
        assert on_job_error(hook) is hook and ERROR_HOOKS[-1] is hook
    finally:
        ERROR_HOOKS.remove(hook)
