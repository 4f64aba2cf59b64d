"""Handlers for tests/test_testkit.py: each defers what its event asks for, and logs what it does."""

import logging
import os

import lambda_runtime

logger = logging.getLogger("testkit_app")
logger.setLevel(logging.INFO)


def record(what):
    logger.info("recorded %s", what)


def wait_for_the_deadline(name):
    job = lambda_runtime.current_job()
    logger.info("%s waiting", name)
    if job.wait_cancelled(600):
        logger.warning("%s cancelled with %d ms left", name, job.remaining_ms())


def ignore_the_deadline(release_path):
    # Ignores cancellation, as careless code does; the test lets it end by creating `release_path`.
    while not os.path.exists(release_path):
        lambda_runtime.current_job().wait_cancelled(0.01)


def in_a_worker_process(parent_pid):
    logger.warning("worker %s is not the runtime %s", os.getpid() != parent_pid, parent_pid)
    return os.getpid()


def spin_in_a_worker_process():
    while True:
        pass


def fail(message):
    raise RuntimeError(message)


def handler(event, context):
    logger.info("handler got %s", sorted(event))
    for what in event.get("record", []):
        context.defer(record, what)
    for name in event.get("wait", []):
        context.defer(wait_for_the_deadline, name, job_name=name, job_timeout=event.get("job_timeout"))
    if "ignore" in event:
        context.defer(ignore_the_deadline, event["ignore"])
    if event.get("process"):
        context.defer(in_a_worker_process, os.getpid(), executor="process")
    if event.get("spin"):
        context.defer(spin_in_a_worker_process, executor="process")
    if "fail_job" in event:
        context.defer(fail, event["fail_job"])
    if "raise" in event:
        raise ValueError(event["raise"])
    return {
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "arn": context.invoked_function_arn,
        "memory": context.memory_limit_in_mb,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "log_group": context.log_group_name,
        "client": context.client_context.custom if context.client_context else None,
        "identity": context.identity.cognito_identity_id,
    }


def stream_lines(event, context):
    context.defer(record, "after the stream")
    return (f"line {n}\n" for n in range(event["lines"]))


def stream_then_fail(event, context):
    def lines():
        yield "first\n"
        raise RuntimeError("mid-stream")

    return lines()
