"""The process executor: `context.defer(fn, ..., executor="process")` runs the job in a worker process.

For pure-Python CPU-bound jobs, which the GIL runs one at a time on threads. Workers are fresh interpreters
(`python -m lambda_runtime.jobs.worker`) started on first use and reused; they talk to the runtime through pipes
only, so they work without `/dev/shm`, as on Lambda. Unlike a thread, a worker can be stopped: at its job's deadline
it gets SIGTERM, then SIGKILL after a grace, and is replaced. Each busy worker is driven by one dispatcher thread of
a `Workers` pool of the same size, so process jobs share the batch's deadlines, summary and error isolation.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from typing import Any

from lambda_runtime.errors import ProcessJobError
from lambda_runtime.jobs.call import log_and_hook
from lambda_runtime.jobs.hooks import call_error_hooks
from lambda_runtime.jobs.job import Job
from lambda_runtime.jobs.workers import Workers

logger = logging.getLogger("lambda_runtime.deferred")

KILL_GRACE_S = 0.2


class WorkerProcess:
    """One worker: jobs go down its stdin, outcomes come back on a pipe of their own; its output is the runtime's."""

    def __init__(self, task_root: str, log_format: str, log_level: str, telemetry_fd: int | None) -> None:
        import subprocess  # on the first process job, not at every cold start (most functions never start one)

        reply_read, reply_write = os.pipe()
        # The worker logs where the runtime does: framed records on Lambda's telemetry descriptor, else stdout.
        telemetry = [] if telemetry_fd is None else [telemetry_fd]
        try:
            command = [sys.executable, "-m", "lambda_runtime.jobs.worker", task_root, log_format, log_level]
            self.process = subprocess.Popen(
                [*command, str(reply_write), str(telemetry_fd) if telemetry else "-"],
                stdin=subprocess.PIPE,
                pass_fds=(reply_write, *telemetry),
                cwd=task_root,
            )
        finally:
            os.close(reply_write)
        self.replies = os.fdopen(reply_read, "rb")

    def run(self, request: tuple[Any, ...]) -> tuple[str, tuple[str, str] | None]:
        """Send one job and wait for its outcome; EOFError or OSError if the worker died meanwhile."""
        from lambda_runtime.jobs.frames import read_frame, write_frame  # pickle: loaded with the first process job

        assert self.process.stdin is not None
        write_frame(self.process.stdin, request)
        outcome: tuple[str, tuple[str, str] | None] = read_frame(self.replies)
        return outcome

    def terminate(self) -> None:
        """SIGTERM now (the job's `finally` blocks run), SIGKILL after a grace if it is still there."""
        self._signal(signal.SIGTERM)
        timer = threading.Timer(KILL_GRACE_S, self._signal, (signal.SIGKILL,))
        timer.daemon = True
        timer.start()

    def close(self) -> str:
        """Stop and reap it (never a zombie); returns how it ended, e.g. "signal SIGSEGV" or "exit status 3"."""
        for stream in (self.process.stdin, self.replies):
            if stream is not None:
                # A worker stopped in the middle of a write leaves bytes nobody will read: closing still closes the
                # pipe, and its BrokenPipeError must not escape into the dispatcher thread (which would die).
                with contextlib.suppress(OSError):
                    stream.close()
        self._signal(signal.SIGKILL)
        status = self.process.wait()
        return f"signal {signal.Signals(-status).name}" if status < 0 else f"exit status {status}"

    def _signal(self, sig: int) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(sig)


class ProcessExecutor:
    """`size` worker processes, started on first use (or at init: `start`), each driven by one dispatcher thread
    while it runs a job."""

    def __init__(
        self,
        size: int,
        task_root: str,
        log_format: str,
        log_level: str,
        telemetry_fd: int | None = None,
        max_queued: int | None = None,
    ) -> None:
        self.size = size
        self.dispatchers = Workers(size, max_abandoned=size, max_queued=max_queued)
        self._spawn_args = (task_root, log_format, log_level, telemetry_fd)
        self._idle: list[WorkerProcess] = []
        self._started: set[WorkerProcess] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start every worker now (LAMBDA_RUNTIME_DEFER_PROCESSES_AT_INIT): they boot while init goes on."""
        for _ in range(self.size - len(self._started)):
            try:
                worker = self._spawn()
            except OSError as error:  # the first process job will try again, and fail with this error if it must
                logger.warning("could not start a worker process at init: %s", error)
                return
            with self._lock:
                self._idle.append(worker)

    def call(self, job: Job) -> str:
        """Run `job` in a worker process (in a dispatcher thread); returns its outcome."""
        with self._lock:
            worker = self._idle.pop() if self._idle else None
        if worker is None:
            try:
                worker = self._spawn()
            except OSError as error:
                log_and_hook(job, ProcessJobError("OSError", f"could not start a worker process: {error}"))
                return "failed"
        job.on_cancel.append(worker.terminate)
        if job.cancelled:
            worker.terminate()
        try:
            outcome, failure = worker.run((job.request_id, job.name, job.deadline, job.payload))
        except (EOFError, OSError):
            ended = self._discard(worker)
            if job.cancelled:  # stopped at its deadline, as it should be: the overrun line already said so
                return "timed_out"
            log_and_hook(job, ProcessJobError("WorkerDied", f"the worker process died during the job ({ended})"))
            return "failed"
        if job.cancelled:  # it stopped in its grace period: replaced all the same, a SIGKILL is on its way
            self._discard(worker)
        else:
            with self._lock:
                self._idle.append(worker)
        if failure is not None:  # the worker logged it with its traceback; the hooks run here, in the runtime
            call_error_hooks(job, ProcessJobError(*failure))
        return outcome

    def close(self) -> None:
        """Stop every worker, busy or idle, and reap it: before the runtime replaces its own process image."""
        with self._lock:
            started, self._started, self._idle = list(self._started), set(), []
        for worker in started:
            worker.close()

    def _spawn(self) -> WorkerProcess:
        """A new worker, counted as started (so `close` reaps it); OSError if it cannot be started."""
        worker = WorkerProcess(*self._spawn_args)
        with self._lock:
            self._started.add(worker)
        return worker

    def _discard(self, worker: WorkerProcess) -> str:
        with self._lock:
            self._started.discard(worker)
        return worker.close()
