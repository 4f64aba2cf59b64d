"""Keeps every kind of thread the runtime starts alive while a test looks at the process: a job on a thread, a job
in a worker process (and the thread that drives it), the asyncio loop of the web adapters, and, under Managed
Instances, the workers and the post-response drainers. Jobs wait for $SIGNALS_DIR/release (or their cancel flag)."""

import os
from pathlib import Path

import lambda_runtime
from lambda_runtime.web.eventloop import shared_loop

MARKS = Path(os.environ.get("SIGNALS_DIR", "."))


def wait_for_release(name):
    (MARKS / f"{name}.started").touch()
    job = lambda_runtime.current_job()
    while not (MARKS / "release").exists() and not job.wait_cancelled(0.01):
        pass


def handler(event, context):
    shared_loop()  # the web adapters' event loop thread
    for executor in event.get("jobs", []):
        context.defer(wait_for_release, executor, executor=executor, job_name=f"{executor}-job")
    return "answered"
