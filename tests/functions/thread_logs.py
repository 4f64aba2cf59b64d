"""A handler that logs from a thread it starts itself, with no copy of the invocation's context (as libraries do)."""

import logging
import os
import threading

logger = logging.getLogger("thread_logs")
logger.setLevel(logging.INFO)
# Under Managed Instances, the invocations meet here: all of them are in flight while their threads log.
TOGETHER = threading.Barrier(int(os.environ.get("TEST_BARRIER_PARTIES", "1")), timeout=30)


def handler(event, context):
    TOGETHER.wait()
    thread = threading.Thread(target=logger.info, args=("from a plain thread for %s", event["n"]))
    thread.start()
    thread.join()
    TOGETHER.wait()
    return {"requestId": context.aws_request_id}
