"""Lambda Managed Instances: `AWS_LAMBDA_MAX_CONCURRENCY=N` invocations at once in one interpreter.

N worker threads share the handler (imported once) and the deferred-job pool; each owns an `InvocationLoop` with its
own Runtime API connection and runs next → handler → response on its own. awslambdaric 4.x starts a process per slot
instead (lambda_multi_concurrent_utils.py); threads cost one interpreter, which suits I/O-bound handlers.

Per-invocation state lives in contextvars only: with several workers `_X_AMZN_TRACE_ID` is never written (AWS documents
it unusable with several invocations in one process; `current_trace_id()` gives the trace id instead), and a thread
started without a context (by a library, such as the durable execution SDK's worker) gets the request id of the only
invocation in flight, or none while several are, rather than another invocation's (logs/records.py). A process with one
worker (P processes x 1 thread, supervisor.py) serves one invocation at a time, as each of awslambdaric 4.x's processes
does, and sets it as awslambdaric does there (AWS: lambda-managed-instances-python-runtime, "Request context").

Nothing is frozen between invocations, so a worker posts its result and goes straight back to `/next`: the invocation's
post-response phase (join its jobs by their deadline, log the summary, the after-jobs hooks) runs on a drainer thread
of its own, and the jobs on the shared bounded pool. A slot is never held by deferred work.

The restart in place (`LAMBDA_RUNTIME_DEFER_OVERRUN=exit`, or too many abandoned jobs) would cut the other invocations
short, so here it means: stop fetching events, let every invocation in flight post its result and finish its jobs by
its own deadline, name what is still running then, exit with status 1 (exits.py: the one rule, with its sources);
Lambda starts a fresh environment for the next events. The Runtime API cannot take back a `/next` already waiting:
an event it brings after the exit began is served too, and waited for by its deadline like the others.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable, MutableMapping
from typing import NoReturn

import requests

from lambda_runtime.api.client import RuntimeClient
from lambda_runtime.config import Settings
from lambda_runtime.errors import RuntimeApiError
from lambda_runtime.invocation.handler import Handler
from lambda_runtime.invocation.loop import InvocationLoop
from lambda_runtime.jobs.batch import Batch
from lambda_runtime.jobs.hooks import AFTER_JOBS_HOOKS
from lambda_runtime.jobs.phase import JobRunner
from lambda_runtime.lifecycle.startup import shutdown_budget_s
from lambda_runtime.logs.records import end_request, serve_concurrently
from lambda_runtime.serve.exits import API_GONE, Exit, Trigger, overrun
from lambda_runtime.threads import start_thread

logger = logging.getLogger("lambda_runtime")

_RETRY_PAUSE_S = 1.0  # between a worker's rounds of /next retries, once its client's policy has given up
_SIGNAL_POLL_S = 0.02  # how often the main thread wakes to run a signal's handler (see `run`)


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
    """`count` workers, each with its own client; `run()` serves until an exit, which the main thread performs."""

    def __init__(
        self,
        settings: Settings,
        handler: Handler,
        new_client: Callable[[], RuntimeClient],
        count: int,
        environ: MutableMapping[str, str] | None = None,
        telemetry_fd: int | None = None,
    ) -> None:
        self.settings = settings
        self.environ = environ
        self.handler = handler
        self.new_client = new_client
        self.count = count
        # This mode's one job runner, and its worker processes: nobody else builds one in this process.
        self.jobs = DetachedJobRunner.from_settings(settings, telemetry_fd=telemetry_fd)
        self.jobs.escalate = lambda reason: self._request_exit(overrun(reason))
        # No restart in place: it would cut the other invocations short (exits.py says what an exit does here).
        self.exit = Exit(self.jobs, shutdown_budget_s(settings))
        self._lock = threading.Condition()
        self._failing: set[str] = set()  # workers whose /next failed after retries, and has not succeeded since
        self._trigger: Trigger | None = None

    def run(self) -> NoReturn:
        serve_concurrently()
        for index in range(1, self.count + 1):
            start_thread(self._work, name=f"worker-{index}")
        try:
            with self._lock:
                while self._trigger is None:
                    # A short timeout: a SIGTERM the kernel delivered to another thread runs its Python handler only
                    # when this (the main) thread wakes, and Lambda's budget is 300-500 ms from the signal.
                    self._lock.wait(_SIGNAL_POLL_S)
                trigger = self._trigger
        except KeyboardInterrupt as stop:
            trigger = Trigger.from_signal(stop)
        self.exit.perform(trigger)

    def _work(self) -> None:
        client = self.new_client()
        # With one worker, one invocation at a time: `_X_AMZN_TRACE_ID` goes to the process environment, as under
        # awslambdaric. Else each worker's own mapping: the trace id reaches no other invocation, nor os.environ.
        environ = self.environ if self.count == 1 and self.environ is not None else {}
        loop = InvocationLoop(client, self.handler, self.settings, self.jobs, environ)
        while not self.exit.stopping.is_set():
            try:
                invocation = client.next_invocation()
            except (requests.RequestException, RuntimeApiError) as error:
                if self._give_up_on_next(error):
                    return
                continue
            with self._lock:
                self._failing.discard(threading.current_thread().name)
            # Served even when the exit has begun: Lambda cannot take an event back, and the exit waits for it too.
            try:
                loop.run_once(invocation)
            except Exception:  # run_once reports handler errors itself: this is the runtime's own bug
                logger.exception("Serving request %r failed", invocation.request_id)
            finally:
                end_request(invocation.request_id)

    def _give_up_on_next(self, error: BaseException) -> bool:
        """This worker's /next failed after its retries: pause and try again, unless every worker is failing."""
        with self._lock:
            self._failing.add(threading.current_thread().name)
            every_worker = len(self._failing) >= self.count
        if every_worker:
            logger.critical(
                "Runtime API at %s is unavailable to every worker, exiting: %s", self.settings.runtime_api, error
            )
            self._request_exit(API_GONE)
        logger.error("Fetching the next event failed after retries (%s); this worker tries again", error)
        time.sleep(_RETRY_PAUSE_S)
        return False

    def _request_exit(self, trigger: Trigger) -> NoReturn:
        """From any thread: the main thread performs the exit (signals reach it there); this thread waits for it."""
        self.exit.stopping.set()
        with self._lock:
            if self._trigger is None:
                self._trigger = trigger
            self._lock.notify_all()
        while True:  # a daemon thread: the process ends under it
            time.sleep(3600)
