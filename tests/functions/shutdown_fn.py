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
    (MARKS / f"hook.done.{os.getpid()}").touch()  # one per runtime, when several share MARKS


def polite():
    (MARKS / "polite.started").touch()
    job = lambda_runtime.current_job()
    while not job.wait_cancelled(0.01):
        pass
    (MARKS / "polite.cancelled").touch()


def stubborn():
    (MARKS / "stubborn.started").touch()
    time.sleep(600)  # ignores its cancel flag: cut short


def quick():
    (MARKS / "quick.done").touch()


def _meet(count):
    """Wait until ``count`` invocations are in their handlers at once (each in an environment of its own)."""
    (MARKS / f"arrived.{os.getpid()}").touch()
    deadline = time.monotonic() + 30
    while len(list(MARKS.glob("arrived.*"))) < count and time.monotonic() < deadline:
        time.sleep(0.005)


def handler(event, context):
    if "meet" in event:
        _meet(event["meet"])
    for name in event.get("jobs", []):
        context.defer({"polite": polite, "stubborn": stubborn, "quick": quick}[name], job_name=name)
    return "answered"
