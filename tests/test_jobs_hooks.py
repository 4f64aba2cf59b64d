"""Hooks: registered in order, called in order, and a hook that fails never stops the others."""

from __future__ import annotations

import pytest

from lambda_runtime.jobs.hooks import after_jobs, call_after_jobs_hooks, call_error_hooks
from lambda_runtime.jobs.job import Job


@pytest.fixture(autouse=True)
def no_hooks(monkeypatch):
    monkeypatch.setattr("lambda_runtime.jobs.hooks.ERROR_HOOKS", [])
    monkeypatch.setattr("lambda_runtime.jobs.hooks.AFTER_JOBS_HOOKS", [])


def test_after_jobs_hooks_run_in_order_and_a_failing_one_is_logged(caplog):
    import lambda_runtime.jobs.hooks as hooks

    calls: list[str] = []

    @after_jobs
    def first() -> None:
        calls.append("first")
        raise RuntimeError("flush failed")

    after_jobs(lambda: calls.append("second"))
    call_after_jobs_hooks()
    assert calls == ["first", "second"] and hooks.AFTER_JOBS_HOOKS[0] is first
    assert "after-jobs hook test_after_jobs_hooks_run_in_order_and_a_failing_one_is_logged.<locals>.first failed" in (
        caplog.text
    )


@pytest.mark.parametrize("raised", [SystemExit(3), KeyboardInterrupt(), ValueError("x")])
def test_an_error_hook_may_raise_anything(raised, caplog):
    import lambda_runtime.jobs.hooks as hooks

    seen: list[str] = []

    def bad(job: Job, error: BaseException) -> None:
        raise raised

    hooks.ERROR_HOOKS.extend([bad, lambda job, error: seen.append(job.name)])
    job = Job(print, (), {}, request_id="r", deadline=0.0, name="the_job")
    call_error_hooks(job, RuntimeError("job failed"))
    assert seen == ["the_job"]
    assert "error hook" in caplog.text and "failed for deferred job 'the_job'" in caplog.text
