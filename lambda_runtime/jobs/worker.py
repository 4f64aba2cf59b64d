"""A process-executor worker: `python -m lambda_runtime.jobs.worker TASK_ROOT LOG_FORMAT LOG_LEVEL REPLY_FD LOG_FD`.

It reads jobs from stdin, runs them one at a time and answers on REPLY_FD. Its stdout and stderr are the runtime's,
and LOG_FD is Lambda's telemetry descriptor (or "-"), so its records land in the function's log stream as the
runtime's do, in its format, with the deferring invocation's request id; what a job prints reaches the log line by
line while it runs. At a job's deadline the runtime sends SIGTERM (then SIGKILL after a grace): the job's `finally`
blocks run, the worker reports the job as stopped and exits. SIGTERM between jobs (the environment shutting down: it
may come to the whole process group) or the end of its input: the worker exits at once, its output flushed, and
never with a traceback.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
from typing import BinaryIO

from lambda_runtime.errors import Terminated, describe
from lambda_runtime.jobs.call import call, log_failure
from lambda_runtime.jobs.frames import read_frame, write_frame
from lambda_runtime.jobs.job import CURRENT_JOB, Job
from lambda_runtime.logs.configure import configure_logging
from lambda_runtime.logs.records import set_request_id, unbuffered_output
from lambda_runtime.logs.stdio import print_whole_lines
from lambda_runtime.threads import open_main_thread_signals

_told_to_stop = False


def serve(task_root: str, log_format: str, log_level: str, reply_fd: int, telemetry_fd: int | None) -> int:
    sys.path.insert(0, task_root)  # unpickling a job imports the handler's own modules
    unbuffered_output()  # every write reaches the pipe at once
    print_whole_lines()  # under the lock the records take: a record never splits a line (stdio.py)
    configure_logging(log_format, log_level, sys.stdout, telemetry_fd)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the runtime, which stops its workers itself
    open_main_thread_signals()  # started by a thread of the runtime, it inherited them blocked (threads.py)
    try:
        return _serve_jobs(sys.stdin.buffer, os.fdopen(reply_fd, "wb"))
    except (Terminated, BrokenPipeError):  # told to stop between jobs, or the runtime is gone: nothing to report
        return 0


def _serve_jobs(jobs: BinaryIO, replies: BinaryIO) -> int:
    errors: list[tuple[str, str]] = []

    def failed(job: Job, error: BaseException) -> None:
        log_failure(job, error)  # here, with the real traceback; the runtime calls the error hooks
        errors.append((type(error).__name__, describe(error)))

    while True:
        try:
            request_id, name, deadline, payload = read_frame(jobs)
        except EOFError:
            return 0  # the runtime is gone, or has replaced this worker
        set_request_id(request_id)
        errors.clear()
        try:
            fn, args, kwargs = pickle.loads(payload)
            job = Job(fn, args, kwargs, request_id=request_id, deadline=deadline, name=name)
            outcome = call(job, on_error=failed)
        except Exception as error:  # the job could not even be unpickled: an import failing in the worker, say
            job = Job(print, (), {}, request_id=request_id, deadline=deadline, name=name)
            failed(job, error)
            outcome = "failed"
        write_frame(replies, (outcome, errors[0] if errors else None))
        if _told_to_stop:  # SIGTERM stopped the job: the runtime replaces this worker
            return 0


def _terminate(signum: int, frame: object) -> None:
    global _told_to_stop
    _told_to_stop = True
    job = CURRENT_JOB.get()
    if job is not None:
        job.cancel_event.set()  # so the job's end counts as stopped at its deadline, not as a failure
    raise Terminated()


if __name__ == "__main__":
    task_root, log_format, log_level, reply_fd, log_fd = sys.argv[1:6]
    sys.exit(serve(task_root, log_format, log_level, int(reply_fd), None if log_fd == "-" else int(log_fd)))
