"""The job as its own code sees it: deadline, cancellation flag, current_job(), error hooks (pure, in-process)."""

from __future__ import annotations

import decimal
import functools
import time

import pytest

from lambda_runtime.jobs import CURRENT_JOB, ERROR_HOOKS, Job, current_job, on_job_error
from lambda_runtime.jobs.job import check_job, default_name


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


class Notifier:
    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self) -> None: ...

    def notify(self) -> None: ...


def test_default_names_are_qualified_names_never_reprs():
    secret = "arg-secret"
    assert default_name(functools.partial(functools.partial(print, secret), secret)) == "print"
    assert default_name(Notifier(secret)) == "Notifier"
    assert default_name(Notifier(secret).notify) == "Notifier.notify"
    assert default_name(functools.partial(Notifier(secret).notify)) == "Notifier.notify"
    assert default_name(lambda: None) == "test_default_names_are_qualified_names_never_reprs.<locals>.<lambda>"


@pytest.mark.parametrize(
    ("timeout", "error"),
    [
        ("1", TypeError),
        (decimal.Decimal("1"), TypeError),
        ([1], TypeError),
        (True, TypeError),
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        (0, ValueError),
        (-1.5, ValueError),
    ],
)
def test_bad_timeouts_are_refused_naming_the_argument(timeout, error):
    with pytest.raises(error, match="job_timeout"):
        check_job(print, timeout, None)


def test_good_arguments_pass():
    check_job(print, 1, "name")
    check_job(print, 0.25, None)
    check_job(print, None, None)


def test_a_coroutine_instead_of_a_function_is_refused_and_closed():
    async def send() -> None: ...

    coroutine = send()
    with pytest.raises(TypeError, match=r"fn must be callable.*not the result of calling it"):
        check_job(coroutine, None, None)
    assert coroutine.cr_frame is None  # closed: no "never awaited" warning later


def test_job_name_must_be_a_string():
    with pytest.raises(TypeError, match="job_name"):
        check_job(print, None, 5)


def test_a_job_s_own_timeout_error_is_a_failure_not_its_deadline():
    """The app's TimeoutError (a request that timed out, say) is the job's error: logged, hooked, "failed"; only
    the cancellation the runtime sent at the deadline makes a job "timed_out"."""
    from lambda_runtime.jobs.call import call

    def gives_up() -> None:
        raise TimeoutError("the upstream service did not answer")

    seen: list[BaseException] = []
    job = Job(gives_up, (), {}, request_id="req", deadline=time.monotonic() + 60)
    assert call(job, on_error=lambda job, error: seen.append(error)) == "failed"
    assert [type(error) for error in seen] == [TimeoutError]
