"""The soak test's function: every invocation defers jobs of both start policies, and one of them fails."""

import hashlib
import logging

logger = logging.getLogger("soak")


def _digest(data: bytes) -> None:
    hashlib.sha256(data * 64).hexdigest()


def _fail(n: int) -> None:
    if n % 100 == 0:  # a failing job now and then exercises the error path and its traceback logging
        raise ValueError("periodic job failure")


def handler(event, context):
    n = event["n"]
    context.defer(_digest, str(n).encode(), start_now=True)
    context.defer(_digest, b"after the response")
    context.defer(_fail, n)
    return {"n": n}
