"""Two CPU-bound thread jobs that report, while both are running, whether the GIL is on."""

import sys
import threading

from deferring import _path, _touch

both_running = threading.Barrier(2, timeout=30)


def spin_and_report(event, name):
    both_running.wait()  # both jobs are now in Python code at the same time
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    total = sum(i * i for i in range(300_000))
    _touch(_path(event, name), f"gil={gil} total={total > 0}")


def handler(event, context):
    both_running.reset()
    context.defer(spin_and_report, event, "a")
    context.defer(spin_and_report, event, "b")
    return "answered"
