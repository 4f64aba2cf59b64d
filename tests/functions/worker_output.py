"""Process jobs that print while they run, and a thread that prints long lines while the runtime logs records."""

import logging
import os
import threading
import time
from pathlib import Path

MARKS = Path(os.environ.get("OUTPUT_DIR", "."))
LONG_LINE = 20_000  # characters: more than a stream buffer (8 KB) and a pipe's atomic write (4 KB)
logger = logging.getLogger("worker_output")


def talk(lines, wait):
    """A process job: prints `lines` lines, then waits for $OUTPUT_DIR/release if `wait` (or for SIGTERM)."""
    try:
        for n in range(lines):
            print(f"job line {n}")
        if wait:
            while not (MARKS / "release").exists():
                time.sleep(0.01)
    finally:
        print("job finally ran")


def handler(event, context):
    context.defer(talk, event.get("lines", 1), event.get("wait", False), executor="process", job_name="talk")
    return "answered"


def long_lines(event, context):
    """A thread prints long lines while this one logs short records: each must come out whole."""

    def printer():
        for _ in range(event["lines"]):
            print("x" * LONG_LINE)

    thread = threading.Thread(target=printer)
    thread.start()
    while thread.is_alive():
        logger.warning("a record between the lines")
    thread.join()
    return "answered"
