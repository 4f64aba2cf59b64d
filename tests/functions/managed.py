"""Handlers for Lambda Managed Instances tests: several invocations at once in one runtime process."""

import logging
import multiprocessing
import os
import threading
import time
from pathlib import Path

import requests

from lambda_runtime import DeferRejected, current_trace_id

logger = logging.getLogger("managed")
# Every invocation waits here until PARTIES of them are in the handler at once: proof that they overlap.
_BARRIER = threading.Barrier(int(os.environ.get("TEST_BARRIER_PARTIES", "1")))


def together(event, context):
    logger.warning("arrived %s", event["n"])
    _BARRIER.wait(timeout=30)
    logger.warning("leaving %s", event["n"])
    return {
        "requestId": context.aws_request_id,
        "n": event["n"],
        "pid": os.getpid(),
        "traceId": current_trace_id(),
        "environTraceId": os.environ.get("_X_AMZN_TRACE_ID"),
    }


def _wait_for(path: str, seconds: float) -> bool:
    give_up = time.monotonic() + seconds
    while not Path(path).exists():
        if time.monotonic() > give_up:
            return False
        time.sleep(0.01)
    return True


def defer_blocking(event, context):
    """Defers a job that blocks until the test creates `release`; answers at once."""

    def job():
        Path(event["started"]).touch()
        logger.warning("job released %s: %s", context.aws_request_id, _wait_for(event["release"], 20))

    context.defer(job, job_name="blocked")
    return {"requestId": context.aws_request_id}


def hang(event, context):
    """Never answers before the test creates `release` (or 60 s pass)."""
    logger.warning("hanging until %s exists", event["release"])
    _wait_for(event["release"], 60)
    return {"requestId": context.aws_request_id, "late": True}


def echo(event, context):
    logger.warning("echo %s", event.get("n"))
    return {"requestId": context.aws_request_id, "pid": os.getpid()}


def gather(event, context):
    """Waits until `parties` invocations have arrived (a file each in `dir`): works across processes too."""
    logger.warning("gather %s", event["n"])
    Path(event["dir"], str(event["n"])).touch()
    arrived = lambda: len(list(Path(event["dir"]).iterdir())) >= event["parties"]  # noqa: E731
    give_up = time.monotonic() + 30
    while not arrived() and time.monotonic() < give_up:
        time.sleep(0.01)
    return {"requestId": context.aws_request_id, "pid": os.getpid(), "all_arrived": arrived()}


def route(event, context):
    """One handler string, several behaviours: `event["do"]` names the function above to run."""
    ops = {
        "hang": hang,
        "echo": echo,
        "environ": environ,
        "crash": crash,
        "gather": gather,
        "defer": defer_blocking,
        "defer_many": defer_many,
        "traced": traced,
        "trace_ids": trace_ids,
        "semaphore": semaphore,
        "healthy_job": healthy_job,
        "stubborn_job": stubborn_job,
        "pool_pids": pool_pids,
    }
    return ops[event["do"]](event, context)


def crash(event, context):
    """The process dies mid-invocation, without answering."""
    os._exit(3)


def environ(event, context):
    return {name: os.environ.get(name) for name in ("AWS_LAMBDA_MAX_CONCURRENCY", "AWS_LAMBDA_LOG_FORMAT")}


def defer_many(event, context):
    """Defers `count` jobs that log when they run (queued at once with `start_now`); says which were refused, why."""

    def job(number):
        logger.warning("job %s of %s ran", number, context.aws_request_id)

    refused = []
    for number in range(event["count"]):
        try:
            context.defer(job, number, job_name=f"job-{number}", start_now=event.get("start_now", False))
        except DeferRejected as error:
            refused.append(str(error))
    return {"requestId": context.aws_request_id, "refused": refused}


# docs/guides/managed-instances.md shows this function (tests/test_readme.py checks it is here verbatim).
def traced(event, context):
    # Under threads _X_AMZN_TRACE_ID is not set: this invocation's trace header comes from its own context.
    trace_header = current_trace_id()  # as Lambda sent it: "Root=1-...;Parent=...;Sampled=1"
    requests.get(event["url"], headers={"X-Amzn-Trace-Id": trace_header}, timeout=10)
    return {"traceHeader": trace_header}


def trace_ids(event, context):
    return {"pid": os.getpid(), "traceId": current_trace_id(), "environTraceId": os.environ.get("_X_AMZN_TRACE_ID")}


def semaphore(event, context):
    """Whether a POSIX semaphore can be made here: multiprocessing's primitives need a writable /dev/shm."""
    try:
        multiprocessing.Lock()
    except OSError as error:
        return {"pid": os.getpid(), "lock": f"OSError: {error}"}
    return {"pid": os.getpid(), "lock": "ok"}


def healthy_job(event, context):
    """Defers a job that sleeps `seconds` (well within its deadline), then marks `done` and logs it."""

    def job():
        Path(event["started"]).touch()
        time.sleep(event["seconds"])
        Path(event["done"]).touch()
        logger.warning("healthy job done %s", context.aws_request_id)

    context.defer(job, job_name="healthy")
    return {"requestId": context.aws_request_id}


def stubborn_job(event, context):
    """Defers a job that ignores its cancellation for `seconds` (a `job_timeout` makes it overrun)."""

    def job():
        Path(event["started"]).touch()
        time.sleep(event.get("seconds", 600))

    context.defer(job, job_name="stubborn", job_timeout=event.get("job_timeout"))
    return {"requestId": context.aws_request_id}


def pool_pids(event, context):
    """This runtime process's id: the test counts the job worker processes under it."""
    return {"pid": os.getpid()}
