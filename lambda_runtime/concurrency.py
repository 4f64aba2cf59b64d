"""Lambda Managed Instances: `AWS_LAMBDA_MAX_CONCURRENCY=N` invocations at once in one interpreter.

N worker threads share the handler (imported once) and the deferred-job pool; each owns an `InvocationLoop` with its
own Runtime API connection and runs next → handler → response on its own. awslambdaric 4.x starts a process per slot
instead (lambda_multi_concurrent_utils.py); threads cost one interpreter, which suits I/O-bound handlers.

Per-invocation state lives in contextvars only: with several workers `_X_AMZN_TRACE_ID` is never written (AWS
documents it unusable with several invocations in one process; `current_trace_id()` gives the trace id instead), and a
thread started without a context (by a library, such as the durable execution SDK's worker) gets the request id of
the only invocation in flight, or none while several are, rather than another invocation's (logs.py). A process with
one worker (P processes x 1 thread, supervisor.py) serves one invocation at a time, as each of awslambdaric 4.x's
processes does, and sets it as awslambdaric does there (AWS: lambda-managed-instances-python-runtime, "Request
context").

Nothing is frozen between invocations, so a worker posts its result and goes straight back to `/next`: the invocation's
post-response phase (join its jobs by their deadline, log the summary, the after-jobs hooks) runs on a drainer thread
of its own, and the jobs on the shared bounded pool. A slot is never held by deferred work.

The restart in place (`LAMBDA_RUNTIME_DEFER_OVERRUN=exit`, or too many abandoned jobs) would cut the other invocations
short, so here it means: stop fetching events, let every invocation in flight post its result, then exit with status 1;
Lambda starts a fresh environment for the next events. The Runtime API cannot take back a `/next` already waiting:
an event it brings before the exit is served first (counted in flight); one it brings at the very moment of the exit
fails, as Lambda fails the invocations of any environment that exits.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable, MutableMapping
from typing import NoReturn

import requests

from lambda_runtime.client import RuntimeClient
from lambda_runtime.config import Settings
from lambda_runtime.errors import RuntimeApiError
from lambda_runtime.handler import Handler
from lambda_runtime.jobs.batch import Batch
from lambda_runtime.jobs.hooks import AFTER_JOBS_HOOKS
from lambda_runtime.jobs.phase import JobRunner, exit_now
from lambda_runtime.logs import end_request, serve_concurrently
from lambda_runtime.loop import InvocationLoop
from lambda_runtime.threads import start_thread

logger = logging.getLogger("lambda_runtime")

_RETRY_PAUSE_S = 1.0  # between a worker's rounds of /next retries, once its client's policy has given up


class DetachedJobRunner(JobRunner):
    """The post-response phase on a drainer thread, in the invocation's context: the worker does not wait for it."""

    def after_response(self, batch: Batch | None, handler_failed: bool, streamed_ms: float | None = None) -> None:
        if batch is None and not AFTER_JOBS_HOOKS:
            return
        phase = contextvars.copy_context()  # the drainer logs with this invocation's request id
        name = f"drain-{batch.request_id}" if batch is not None else "after-jobs"
        start_thread(phase.run, self._phase, batch, handler_failed, streamed_ms, name=name)

    def _phase(self, batch: Batch | None, handler_failed: bool, streamed_ms: float | None) -> None:
        try:
            JobRunner.after_response(self, batch, handler_failed, streamed_ms)
        except Exception:  # a drainer's failure is logged; it must not pass silently, nor stop anything else
            logger.exception("The post-response phase failed")


class ManagedInstance:
    """`count` workers, each with its own client; `run()` returns the exit status once none can serve any more."""

    def __init__(
        self,
        settings: Settings,
        handler: Handler,
        new_client: Callable[[], RuntimeClient],
        count: int,
        environ: MutableMapping[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.environ = environ
        self.handler = handler
        self.new_client = new_client
        self.count = count
        self.jobs = DetachedJobRunner.from_settings(settings, self._drain_and_exit)
        self._lock = threading.Condition()
        self._in_flight = 0
        self._failing: set[str] = set()  # workers whose /next failed after retries, and has not succeeded since
        self._stopping = False
        self._status: int | None = None

    def run(self) -> int:
        serve_concurrently()
        for index in range(1, self.count + 1):
            start_thread(self._work, name=f"worker-{index}")
        with self._lock:
            while self._status is None:
                self._lock.wait(1.0)  # a timeout, so SIGTERM and Ctrl-C are handled in this (the main) thread
            return self._status

    def _work(self) -> None:
        client = self.new_client()
        # With one worker, one invocation at a time: `_X_AMZN_TRACE_ID` goes to the process environment, as under
        # awslambdaric. Else each worker's own mapping: the trace id reaches no other invocation, nor os.environ.
        environ = self.environ if self.count == 1 and self.environ is not None else {}
        loop = InvocationLoop(client, self.handler, self.settings, self.jobs, environ)
        while not self._stopping:
            try:
                invocation = client.next_invocation()
            except (requests.RequestException, RuntimeApiError) as error:
                if self._give_up_on_next(error):
                    return
                continue
            with self._lock:
                self._failing.discard(threading.current_thread().name)
                self._in_flight += 1
            try:
                loop.run_once(invocation)
            except Exception:  # run_once reports handler errors itself: this is the runtime's own bug
                logger.exception("Serving request %r failed", invocation.request_id)
            finally:
                end_request(invocation.request_id)
                with self._lock:
                    self._in_flight -= 1
                    self._lock.notify_all()

    def _give_up_on_next(self, error: BaseException) -> bool:
        """This worker's /next failed after its retries: pause and try again, unless every worker is failing."""
        with self._lock:
            self._failing.add(threading.current_thread().name)
            if len(self._failing) >= self.count:
                logger.critical(
                    "Runtime API at %s is unavailable to every worker, exiting: %s", self.settings.runtime_api, error
                )
                self._finish(1)
                return True
        logger.error("Fetching the next event failed after retries (%s); this worker tries again", error)
        time.sleep(_RETRY_PAUSE_S)
        return False

    def _finish(self, status: int) -> None:
        # Called with the lock held.
        if self._status is None:
            self._status = status
        self._lock.notify_all()

    def _drain_and_exit(self) -> NoReturn:
        """LMI's restart: no new events; the invocations in flight post their results; then the process exits."""
        with self._lock:
            self._stopping = True
            logger.critical(
                "No new events: %d invocations in flight post their results, then the runtime exits with status 1 "
                "and Lambda starts a fresh environment",
                self._in_flight,
            )
            while self._in_flight:
                self._lock.wait()
            exit_now(1)  # with the lock held: a worker whose /next returns now cannot start serving it
