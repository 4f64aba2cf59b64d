"""One invocation of a `LocalFunction`: its answer, its deferred jobs' outcomes, its log, and the simulated time."""

from __future__ import annotations

import base64
import json
import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

from lambda_runtime.api.client import RuntimeClient
from lambda_runtime.api.invocation import Invocation
from lambda_runtime.invocation.context import LambdaContext
from lambda_runtime.jobs.batch import Batch
from lambda_runtime.jobs.job import Job
from lambda_runtime.testing.clock import SimulatedClock
from lambda_runtime.testing.logbook import LogBook
from lambda_runtime.threads import start_thread

if TYPE_CHECKING:
    import logging

    from tenacity import Retrying

    from lambda_runtime.api.transport import StreamBody
    from lambda_runtime.invocation.loop import InvocationLoop


_REAL_GRACE_S = 2.0


class StillRunning(AssertionError):
    """The handler or its deferred jobs did not finish within the test's wait (real seconds)."""


class ProcessReplaced(BaseException):
    """The runtime replaced its process (`LAMBDA_RUNTIME_DEFER_OVERRUN=exit`): the invocation's phase ends here."""


def replace_process() -> NoReturn:
    raise ProcessReplaced()


class LocalInvocation:
    """What a test inspects: `result`/`error`, `jobs`/`outcomes`/`summary`, `logs`; `advance`/`expire` move time."""

    def __init__(self, request_id: str, clock: SimulatedClock, logbook: LogBook) -> None:
        self.request_id = request_id
        self.context: LambdaContext | None = None  # the context the handler was given
        self.response: bytes | None = None  # the bytes posted, as the caller gets them (a stream's, joined)
        self.content_type = ""
        self.streamed = False
        self.error: dict[str, Any] | None = None  # the error as posted: errorType, errorMessage, stackTrace
        self.restarted = False  # the runtime replaced its process after this invocation's jobs
        self._clock = clock
        self._logbook = logbook
        self._answered = threading.Event()
        self._thread: threading.Thread | None = None
        self._outcomes: list[tuple[str, str]] = []
        self._still_running: list[str] = []
        self._crash: BaseException | None = None

    def __repr__(self) -> str:
        return f"LocalInvocation(request_id={self.request_id!r}, error={self.error is not None})"

    # -- the answer --------------------------------------------------------------------------------------------

    @property
    def result(self) -> Any:
        """The response as the caller reads it: JSON decoded, other bytes as they are. Raises if the handler
        failed, with the posted error in the message."""
        if self.error is not None:
            raise AssertionError(f"the invocation failed: {self.error['errorType']}: {self.error['errorMessage']}")
        if self.response is None:
            raise AssertionError("the invocation has no response")
        return json.loads(self.response) if self.content_type == "application/json" else self.response

    # -- the deferred jobs -------------------------------------------------------------------------------------

    @property
    def jobs(self) -> list[Job]:
        """Every job the invocation deferred (its jobs' own deferrals too), in order."""
        batch = self._batch
        return list(batch.jobs) if batch is not None else []

    @property
    def outcomes(self) -> dict[str, str]:
        """Job name → outcome when the post-response phase ended: ok, failed, timed_out, not_started, skipped.

        A job still running then counts as timed_out, as in the runtime's summary line."""
        names = [name for name, _ in self._outcomes]
        if len(set(names)) != len(names):
            raise ValueError(f"several jobs share a name ({names}): name them (defer(job_name=...)) or read .jobs")
        return dict(self._outcomes)

    @property
    def summary(self) -> dict[str, Any]:
        """The runtime's "Deferred jobs: ..." line's fields (ok, failed, timedOut, notStarted, rejected, skipped,
        postResponseMs); empty when the invocation deferred nothing."""
        for record in self.records:
            if record.getMessage().startswith("Deferred jobs:"):
                keys = ("ok", "failed", "timedOut", "notStarted", "rejected", "skipped", "postResponseMs")
                return {key: getattr(record, key) for key in keys}
        return {}

    @property
    def still_running(self) -> list[str]:
        """Jobs running when the phase ended (abandoned at the deadline, as on Lambda)."""
        return list(self._still_running)

    # -- the log -----------------------------------------------------------------------------------------------

    @property
    def logs(self) -> str:
        """The invocation's log as the runtime would write it: one record per line, in the function's log
        format, worker processes' records included."""
        return "\n".join(self._logbook.lines(self.request_id))

    def wait_for_log(self, text: str, timeout: float = 30.0) -> str:
        """The first line of the log holding `text`, waiting for it up to `timeout` real seconds: for what a job
        logs after the phase ended (a job abandoned at the deadline that stops later)."""
        give_up = time.monotonic() + timeout
        while not (found := [line for line in self._logbook.lines(self.request_id) if text in line]):
            if time.monotonic() > give_up:
                raise StillRunning(f"no log line of {self.request_id} holds {text!r} after {timeout:g} s")
            time.sleep(0.005)
        return found[0]

    @property
    def records(self) -> list[logging.LogRecord]:
        """The invocation's log records from this process (the handler, thread jobs, the runtime)."""
        return self._logbook.records(self.request_id)

    # -- simulated time ----------------------------------------------------------------------------------------

    def advance(self, seconds: float) -> LocalInvocation:
        """Let `seconds` pass for the jobs' deadlines, once every job that can start has started. Each job whose
        own deadline passes on the way is cancelled then, and gets up to 2 s of real time to stop (on Lambda, the
        runtime's grace)."""
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"advance() takes a finite number of seconds >= 0, got {seconds!r}")
        self._move_to(self._clock() + seconds)
        return self

    def expire(self) -> LocalInvocation:
        """Move to the invocation's deadline (less the runtime's margin), as `advance` does: what is still
        running then is cut off, as on Lambda."""
        batch = self._settle()
        if batch is not None:
            self._move_to(batch.deadline)
        return self

    def _move_to(self, when: float) -> None:
        batch = self._settle()
        if batch is None:
            self._clock.advance_to(when)
            return
        while due := sorted({job.deadline for job in batch.jobs if job.running and self._clock() < job.deadline}):
            if due[0] > when:
                break
            self._clock.advance_to(due[0])
            batch.wake()
            # The simulated grace stands still: the jobs get real time instead, enough for a loaded machine.
            give_up = time.monotonic() + max(batch.policy.cancel_grace_s, _REAL_GRACE_S)
            while any(job.running and job.deadline <= due[0] for job in batch.jobs) and time.monotonic() < give_up:
                time.sleep(0.001)
        self._clock.advance_to(when)
        batch.wake()

    def _settle(self, timeout: float = 30.0) -> Batch | None:
        """Wait until the jobs are released and each has a worker, or waits for a busy one: so that time moves
        on what the jobs are doing, not on how fast this machine hands them a thread."""
        give_up = time.monotonic() + timeout
        while (batch := self._batch) is not None and time.monotonic() < give_up and self._thread_alive():
            if batch.released and all(_waiting(batch, kind) <= pools for kind, pools in _pools(batch)):
                break
            time.sleep(0.001)
        return self._batch

    def _thread_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout: float = 30.0) -> LocalInvocation:
        """Wait for the post-response phase to end, at most `timeout` real seconds; then `StillRunning`, after
        the deadline was simulated so that nothing keeps running unnoticed."""
        assert self._thread is not None
        self._thread.join(timeout)
        if self._thread.is_alive():
            running = [job.name for job in self.jobs if not job.finished]
            self.expire()
            self._thread.join(timeout)
            raise StillRunning(
                f"deferred jobs of {self.request_id} still running after {timeout:g} s (real time): "
                f"{', '.join(running) or 'none'}; the deadline was simulated to stop them. A job that waits for its "
                "deadline needs `run.expire()` or `run.advance(seconds)` (simulated time stands still)"
            )
        if self._crash is not None:
            raise self._crash
        return self

    # -- used by LocalFunction ---------------------------------------------------------------------------------

    def wrap(self, handler: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        def recorded(event: Any, context: LambdaContext) -> Any:
            self.context = context
            return handler(event, context)

        return recorded

    def serve(self, loop: InvocationLoop, invocation: Invocation, on_replaced: Callable[[], None]) -> None:
        """Run the runtime's loop for this one invocation in a thread of its own; returns once it is answered."""

        def run() -> None:
            try:
                loop.run_once(invocation)
            except ProcessReplaced:
                self.restarted = True
                on_replaced()
            except BaseException as error:  # reported to the test by wait()
                self._crash = error
            finally:
                self._logbook.settle()  # the records of finished process jobs are in run.logs from now on
                self._outcomes = [(job.name, job.outcome if job.finished else "timed_out") for job in self.jobs]
                self._still_running = [job.name for job in self.jobs if not job.finished]
                self._answered.set()

        self._thread = start_thread(run, name=f"invocation-{self.request_id}")

    def wait_answered(self, timeout: float) -> None:
        if not self._answered.wait(timeout):
            raise StillRunning(f"the handler did not answer {self.request_id} within {timeout:g} s (real time)")

    def answer(self, body: bytes, content_type: str, streamed: bool = False, error: bytes | None = None) -> None:
        """The posted response (`error`: the error a stream ended with, as its trailer carried it)."""
        self.response, self.content_type, self.streamed = body, content_type, streamed
        if error is not None:
            self.error = json.loads(error)
        self._answered.set()

    def fail(self, body: bytes) -> None:
        self.error = json.loads(body)
        self._answered.set()

    @property
    def _batch(self) -> Batch | None:
        return self.context.end() if self.context is not None else None


def _pools(batch: Batch) -> list[tuple[str, int]]:
    """Per executor, how many of its jobs queue for a busy worker (not about to be taken by a free one)."""
    pools = [("thread", batch.workers.waiting())]
    if batch.processes is not None:
        pools.append(("process", batch.processes.dispatchers.waiting()))
    return pools


def _waiting(batch: Batch, executor: str) -> int:
    """This invocation's jobs of `executor` not started yet."""
    return sum(job.started_at is None and not job.finished and job.executor == executor for job in batch.jobs)


def _no_retries() -> Retrying:
    raise AssertionError("a local invocation never calls the Runtime API")


class Recorder(RuntimeClient):
    """Where the loop posts an invocation's answer: kept for the test instead of sent to a Runtime API."""

    def __init__(self, run: LocalInvocation) -> None:
        super().__init__("127.0.0.1:9001", 10.0, _no_retries)
        self.run = run

    def post_response(self, invocation: Invocation, body: bytes, content_type: str) -> None:
        self.run.answer(body, content_type)

    def post_stream(
        self, invocation: Invocation, body: StreamBody, content_type: str, timeout_s: float | None = None
    ) -> None:
        data = b"".join(body)  # the runtime's Stream: ends early, with trailers, on a mid-stream error
        trailers: dict[str, str] = dict(getattr(body, "trailers", dict)())
        error_body = trailers.get("Lambda-Runtime-Function-Error-Body")
        error = base64.b64decode(error_body) if error_body is not None else None
        self.run.answer(data, content_type, streamed=True, error=error)

    def post_error(self, invocation: Invocation, error_type: str, body: bytes, xray_cause: str = "") -> None:
        self.run.fail(body)
