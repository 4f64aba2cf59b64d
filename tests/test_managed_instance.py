"""Managed Instances' workers in process, with scripted `/next` answers: when the runtime gives up on the Runtime
API, and what runs after an invocation that deferred nothing."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any, NoReturn

import pytest
import requests

from lambda_runtime.api.invocation import Invocation
from lambda_runtime.config import Settings
from lambda_runtime.jobs.hooks import AFTER_JOBS_HOOKS
from lambda_runtime.logs import records as logs
from lambda_runtime.serve import managed as concurrency
from lambda_runtime.serve.managed import DetachedJobRunner, ManagedInstance
from tests.polling import wait_until

WAIT = 30.0
ENVIRON = {"_HANDLER": "app.handler", "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9", "AWS_LAMBDA_MAX_CONCURRENCY": "2"}
EVENT = Invocation("req-1", b"{}", {})


def refused() -> requests.RequestException:
    return requests.ConnectionError("the Runtime API refused /next (after the client's retries)")


class ScriptedNext:
    """A client whose `/next` answers are scripted: each step is called, and what it returns is delivered or, an
    exception, raised. Past the script, `/next` fails once `over` is set (so every worker fails: the run ends)."""

    def __init__(self, steps: list[Callable[[], Any]], over: threading.Event) -> None:
        self.steps = steps
        self.over = over

    def next_invocation(self) -> Invocation:
        answer = self.steps.pop(0)() if self.steps else (self.over.wait(WAIT), refused())[1]
        if isinstance(answer, BaseException):
            raise answer
        return answer


@pytest.fixture
def one_at_a_time_logging_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    """`ManagedInstance.run` switches the logs to several invocations at once: for this test only."""
    monkeypatch.setattr(logs, "_one_at_a_time", logs._one_at_a_time)
    monkeypatch.setattr(logs, "_serving", logs._serving)


@pytest.mark.usefixtures("one_at_a_time_logging_restored")
def test_a_worker_whose_next_recovered_no_longer_counts_as_failing(monkeypatch):
    """Worker A's /next fails, then succeeds; later worker B's fails: one failing worker of two, not two."""
    monkeypatch.setattr(concurrency, "_RETRY_PAUSE_S", 0.0)
    served, b_tried_again, over = threading.Event(), threading.Event(), threading.Event()

    class ServedOnce:  # in place of the invocation loop: serving is not what this test is about
        def __init__(self, *args: Any) -> None:
            pass

        def run_once(self, invocation: Invocation) -> None:
            served.set()

    monkeypatch.setattr(concurrency, "InvocationLoop", ServedOnce)
    scripts = [
        [refused, lambda: EVENT],  # A: fails, then recovers and serves
        [lambda: (served.wait(WAIT), refused())[1], lambda: (b_tried_again.set(), over.wait(WAIT), refused())[2]],
    ]
    handed_out = threading.Lock()

    def new_client() -> ScriptedNext:
        with handed_out:
            return ScriptedNext(scripts.pop(0), over)

    settings = Settings.from_environ(ENVIRON)
    managed = ManagedInstance(settings, lambda event, context: None, new_client, count=2)
    status: list[int] = []

    def leave(code: int) -> NoReturn:  # where the process would end: this thread ends instead
        status.append(code)
        raise SystemExit(code)

    def run_until_it_leaves() -> None:
        with contextlib.suppress(SystemExit):
            managed.run()

    managed.exit.leave = leave
    run = threading.Thread(target=run_until_it_leaves, daemon=True)
    run.start()
    wait_until(lambda: b_tried_again.is_set() or status, WAIT, what="worker B to retry /next, or the run to end")
    assert status == [], "the runtime gave up although worker A had recovered"
    over.set()  # now every worker fails: the run ends with status 1
    run.join(WAIT)
    assert status == [1]


def test_after_jobs_hooks_run_for_an_invocation_that_deferred_nothing():
    ran = threading.Event()

    def hook() -> None:
        ran.set()

    runner = DetachedJobRunner.from_settings(Settings.from_environ(ENVIRON))
    AFTER_JOBS_HOOKS.append(hook)
    try:
        runner.after_response(None, handler_failed=False)
        assert ran.wait(WAIT), "the after-jobs hook did not run"
    finally:
        AFTER_JOBS_HOOKS.remove(hook)
