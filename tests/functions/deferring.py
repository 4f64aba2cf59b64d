"""Handlers that defer jobs. Jobs synchronise with the test through files in event["dir"], never through sleeps."""

import logging
import os
import threading
import time

import lambda_runtime

logger = logging.getLogger("deferring")
WAIT = 30.0  # generous: a loaded machine must not make these fail


def _path(event, name):
    return os.path.join(event["dir"], name)


def _touch(path, text=""):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)  # atomic, so the test never reads a half-written file


def _wait_for(path, timeout=WAIT):
    end = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > end:
            raise TimeoutError(path)
        time.sleep(0.005)


def stamp(event, name):
    """A job that records when it ran (epoch seconds) and its request id's view of the world."""
    job = lambda_runtime.current_job()
    _touch(_path(event, name), f"{time.time()!r} {job.request_id if job else ''}")


def wait_then_stamp(event, gate, name):
    _wait_for(_path(event, gate))
    stamp(event, name)


def defer_one(event, context):
    context.defer(wait_then_stamp, event, "release", "done", job_name="wait_then_stamp")
    return {"deferred": 1}


def defer_stamp(event, context):
    context.defer(stamp, event, "job", start_now=event.get("start_now", False))
    return "ok"


def start_now_overlaps_handler(event, context):
    started = threading.Event()
    context.defer(started.set, start_now=True)
    overlapped = started.wait(WAIT)
    deferred_after = threading.Event()
    context.defer(deferred_after.set)
    return {"start_now_ran_during_handler": overlapped, "default_ran_during_handler": deferred_after.wait(0.2)}


def hang(event, context):
    """A job that ignores its cancellation flag and never ends (until the test releases it)."""
    context.defer(_hang_job, event, job_name="hanging_job")
    return "answered"


def _hang_job(event):
    _touch(_path(event, "hang_started"))
    _wait_for(_path(event, "unhang"), timeout=3600)
    logger.info("late log from the abandoned job")
    _touch(_path(event, "hang_finished"))


def cooperative(event, context):
    context.defer(_cooperative_job, event, job_timeout=event.get("job_timeout"), job_name="cooperative_job")
    return "answered"


def _cooperative_job(event):
    job = lambda_runtime.current_job()
    cancelled = job.wait_cancelled(WAIT)
    _touch(_path(event, "cooperative-" + job.request_id), f"cancelled={cancelled} remaining={job.remaining_ms()}")


def fail_and_succeed(event, context):
    context.defer(_explode, job_name="exploding_job")
    context.defer(stamp, event, "sibling")
    return "fine"


def _explode():
    raise RuntimeError("job blew up")


@lambda_runtime.on_job_error
def _record_failure(job, error):
    directory = os.environ.get("ERROR_HOOK_DIR")
    if directory:
        _touch(os.path.join(directory, "hook"), f"{job.name} {type(error).__name__} {job.request_id}")


def nested(event, context):
    def parent():
        context.defer(stamp, event, "child1")
        lambda_runtime.current_job()  # a job may also look itself up
        context.defer(stamp, event, "child2")
        stamp(event, "parent")

    context.defer(parent, job_name="parent")
    return "ok"


def over_the_bound(event, context):
    outcomes = []
    gate = threading.Event()
    for i in range(3):
        try:
            context.defer(gate.wait, WAIT, job_name=f"job{i}", start_now=True)
            outcomes.append("accepted")
        except lambda_runtime.DeferRejected:
            outcomes.append("rejected")
    gate.set()
    return outcomes


def over_the_bound_inline(event, context):
    ran_in = []
    gate = threading.Event()
    for _ in range(2):
        context.defer(gate.wait, WAIT, start_now=True)
    context.defer(lambda: ran_in.append(threading.current_thread().name))
    gate.set()
    return ran_in


def defer_then_raise(event, context):
    context.defer(stamp, event, "job")
    raise ValueError("handler failed after deferring")


def defer_none(event, context):
    context.defer(None)  # a TypeError: the handler fails, its traceback in one log record


def no_defer(event, context):
    return "plain"


def sys_exit_job(event, context):
    context.defer(_exit_job)
    context.defer(stamp, event, "sibling")
    return "ok"


def _exit_job():
    import sys

    sys.exit(9)


def defer_self_forever(event, context):
    def again():
        context.defer(again)

    context.defer(again)
    return "ok"
