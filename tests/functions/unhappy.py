"""Handlers for the unhappy path of context.defer. Jobs synchronise with the test through files in event["dir"]."""

import contextvars
import decimal
import functools
import logging
import os
import sys
import threading

from deferring import WAIT, _path, _touch, _wait_for, stamp

import lambda_runtime

logger = logging.getLogger("unhappy")
USER_VAR: contextvars.ContextVar[str] = contextvars.ContextVar("user_var", default="unset")
_previous_context = []


def _ignore_cancellation(event, name):
    """Never ends until the test (or a later invocation) creates `<name>.go`; ignores its cancellation flag."""
    _touch(_path(event, name + ".started"))
    _wait_for(_path(event, name + ".go"), timeout=3600)
    logger.info("late log from %s, user_var=%s", name, USER_VAR.get())
    _touch(_path(event, name + ".ended"), USER_VAR.get())


def hang(event, context):
    with open(_path(event, "runs"), "a") as runs:  # how often the handler ran, retries included
        runs.write(context.aws_request_id + "\n")
    for name in event["hang"]:
        context.defer(_ignore_cancellation, event, name, job_name=name)
    return "answered"


def quick(event, context):
    context.defer(stamp, event, context.aws_request_id)
    return "answered"


def hang_then_queue(event, context):
    """With one worker: the first job holds it to the deadline, so the second never gets one."""
    context.defer(_ignore_cancellation, event, "holder", job_name="holder")
    context.defer(stamp, event, "queued", job_name="queued")
    return "answered"


def release(event, context):
    """A later invocation lets an abandoned job go on, and waits for it, so its late log lands in this one."""
    _touch(_path(event, event["release"] + ".go"))
    _wait_for(_path(event, event["release"] + ".ended"))
    return "released"


def misuse(event, context):
    """Each bad defer() gets its error at once; the invocation still answers."""
    cases = {
        "timeout_str": lambda: context.defer(print, job_timeout="1"),
        "timeout_decimal": lambda: context.defer(print, job_timeout=decimal.Decimal("1")),
        "timeout_list": lambda: context.defer(print, job_timeout=[1]),
        "timeout_bool": lambda: context.defer(print, job_timeout=True),
        "timeout_nan": lambda: context.defer(print, job_timeout=float("nan")),
        "timeout_inf": lambda: context.defer(print, job_timeout=float("inf")),
        "timeout_zero": lambda: context.defer(print, job_timeout=0),
        "timeout_negative": lambda: context.defer(print, job_timeout=-1),
        "fn_not_callable": lambda: context.defer("print"),
        "fn_coroutine": lambda: context.defer(_async_stamp(event, "never")),
        "name_not_str": lambda: context.defer(print, job_name=5),
    }
    errors = {}
    for case, call in cases.items():
        try:
            call()
            errors[case] = None
        except (TypeError, ValueError) as error:
            errors[case] = [type(error).__name__, str(error)]
    return errors


async def _async_stamp(event, name):
    import asyncio

    await asyncio.sleep(0)
    stamp(event, name)


async def _async_forever(event):
    import asyncio

    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        _touch(_path(event, "async_cancelled"))
        raise


def defer_async(event, context):
    context.defer(_async_stamp, event, "async_job")
    if event.get("forever"):
        context.defer(_async_forever, event, job_timeout=0.2)
    return "answered"


def keep_context(event, context):
    """Stores this invocation's context for a later one to misuse; defers something only if asked."""
    _previous_context[:] = [context]
    if event.get("defer"):
        context.defer(stamp, event, "first_job")
    return "kept"


def defer_on_previous(event, context):
    """Calls defer() on an earlier invocation's context: from this thread, a job and a plain thread."""
    previous = _previous_context[0]
    outcomes = {}

    def attempt(where):
        try:
            previous.defer(stamp, event, "dropped_" + where)
            outcomes[where] = "accepted"
        except lambda_runtime.DeferRejected as error:
            outcomes[where] = str(error)

    attempt("handler")
    thread = threading.Thread(target=attempt, args=("thread",))
    thread.start()
    thread.join()
    done = threading.Event()
    context.defer(lambda: (attempt("job"), done.set()), start_now=True)
    done.wait(WAIT)
    return outcomes


def leak_arguments(event, context):
    """Failing and overrunning jobs whose arguments hold a secret: their names appear in the logs, never the secret."""
    secret = event["secret"]
    context.defer(functools.partial(_fail_with, secret))
    context.defer(Sender(secret))
    context.defer(Sender(secret).send, secret)
    context.defer(functools.partial(_ignore_overrun, event, secret), job_timeout=0.05)
    return "answered"


def _fail_with(secret):
    raise RuntimeError("job failed")


def _ignore_overrun(event, secret):
    lambda_runtime.current_job().wait_cancelled(WAIT)
    _wait_for(_path(event, "overrun.go"))


class Sender:
    def __init__(self, secret):
        self.secret = secret

    def __repr__(self):
        return f"Sender({self.secret!r})"

    def __call__(self):
        raise RuntimeError("call failed")

    def send(self, secret):
        raise RuntimeError("send failed")


@lambda_runtime.on_job_error
def _hook_that_raises(job, error):
    kind = os.environ.get("HOOK_RAISES")
    if kind == "SystemExit":
        sys.exit(3)
    if kind == "KeyboardInterrupt":
        raise KeyboardInterrupt
    if kind == "ValueError":
        raise ValueError("hook failed")


def fail_one(event, context):
    context.defer(_fail_with, "x", job_name="failing_job")
    return "answered"


def fork_in_job(event, context):
    """A job forks; the child does its part and calls sys.exit(), the parent goes on without waiting for it."""

    def job():
        pid = os.fork()
        if pid == 0:
            _touch(_path(event, "child_pid"), str(os.getpid()))
            sys.exit(0)
        _touch(_path(event, "parent_done"))

    context.defer(job, job_name="forking_job")
    return "answered"


def context_everywhere(event, context):
    """A user ContextVar and the request id, as seen by default, start_now, nested and abandoned jobs."""
    USER_VAR.set("set-by-" + context.aws_request_id)

    def seen(name):
        job = lambda_runtime.current_job()
        _touch(_path(event, name), f"{USER_VAR.get()} {job.request_id}")

    def parent():
        context.defer(seen, "nested")
        seen("parent")

    context.defer(seen, "default")
    context.defer(seen, "start_now", start_now=True)
    context.defer(parent)
    context.defer(_ignore_cancellation, event, "abandoned", job_name="abandoned")
    return "answered"


def record_metric(event, context):
    """Powertools Metrics: the handler's metric and a deferred job's metric, each flushed in this invocation."""
    from powertools_metrics import metrics

    @metrics.log_metrics
    def handler(event, context):
        metrics.add_metric(name="HandlerMetric", unit="Count", value=1)
        context.defer(metrics.add_metric, name="DeferredMetric", unit="Count", value=1)
        return "answered"

    return handler(event, context)


def exit_in_job(event, context):
    """The process exits after the response is posted: Lambda's view of it is what the emulator must model."""
    with open(_path(event, "runs"), "a") as runs:
        runs.write(context.aws_request_id + "\n")
    context.defer(os._exit, 7)
    return "answered"


def route(event, context):
    """One handler for tests that need several behaviours in one environment: event["do"] names the function."""
    return globals()[event["do"]](event, context)
