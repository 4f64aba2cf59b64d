"""Deferred jobs and a shutdown hook that leave marks in $SHUTDOWN_DIR: what SIGTERM let run, and what it cut short."""

import os
import time
from pathlib import Path

import lambda_runtime

MARKS = Path(os.environ.get("SHUTDOWN_DIR", "."))


@lambda_runtime.on_shutdown
def hook():
    (MARKS / "hook.started").touch()
    time.sleep(float(os.environ.get("SHUTDOWN_HOOK_SLEEP", "0")))
    if os.environ.get("SHUTDOWN_HOOK_RAISE"):
        raise SystemExit(4)
    (MARKS / "hook.done").touch()


def polite():
    (MARKS / "polite.started").touch()
    job = lambda_runtime.current_job()
    while not job.wait_cancelled(0.01):
        pass
    (MARKS / "polite.cancelled").touch()


def stubborn():
    (MARKS / "stubborn.started").touch()
    time.sleep(600)  # ignores its cancel flag: cut short


def handler(event, context):
    for name in event.get("jobs", []):
        context.defer({"polite": polite, "stubborn": stubborn}[name], job_name=name)
    return "answered"
