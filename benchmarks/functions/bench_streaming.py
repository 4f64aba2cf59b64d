"""Handlers for ``python -m benchmarks.streaming``. Each chunk of the paced ones starts with the epoch time at which
the handler yielded it, so the client can tell how long the chunk took to arrive."""

import time

CHUNKS = 10
GAP_S = 0.1


def _paced():
    for index in range(CHUNKS):
        if index:
            time.sleep(GAP_S)
        yield f"{time.time():.6f} chunk {index}\n".encode()


def paced_stream(event, context):
    return _paced()


def paced_buffered(event, context):
    return b"".join(_paced())


def big(event, context):
    block = b"x" * event.get("chunk", 65536)
    for _ in range(event["bytes"] // len(block)):
        yield block
