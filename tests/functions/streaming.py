"""Handlers that stream their responses (tests/test_streaming.py)."""

import json
import os
import time

from lambda_runtime import StreamingResponse


def chunks(event, context):
    for i in range(event.get("n", 3)):
        yield f"chunk {i}\n"


def gated(event, context):
    """Chunk 1, then wait for the test to create the gate file (it does so after reading chunk 1), then chunk 2."""
    yield b"first\n"
    deadline = time.monotonic() + 20
    while not os.path.exists(event["gate"]) and time.monotonic() < deadline:
        time.sleep(0.005)
    yield b"second\n" if os.path.exists(event["gate"]) else b"gate never opened\n"


def fails_mid_stream(event, context):
    yield "partial "
    raise ValueError("broke mid-stream")


def fails_before_first_byte(event, context):
    raise KeyError("nothing streamed")
    yield "never"


def http(event, context):
    def body():
        yield "<p>"
        yield event.get("rawPath", "")
        yield "</p>"

    return StreamingResponse(
        body(), status_code=201, headers={"X-Custom": "yes"}, cookies=["a=1", "b=2"], content_type="text/html"
    )


def defers(event, context):
    def audit(path):
        with open(path, "w") as f:
            f.write(repr(time.time()))

    context.defer(audit, event["marker"])
    yield "streamed before the audit\n"


def big(event, context):
    block = b"x" * (1024 * 1024)
    megabytes = event["mb"] if "mb" in event else json.loads(event["body"])["mb"]  # Invoke, or a function URL
    for _ in range(megabytes):
        yield block


def plain(event, context):
    return {"streamed": False}


def defers_while_streaming(event, context):
    """Defers a job (held until the stream ends) and a start_now job (runs at once) between chunk 1 and chunk 2."""

    def stamp(path):
        with open(path, "w") as f:
            f.write(repr(time.time()))

    yield "chunk 1\n"
    context.defer(stamp, event["held"])
    context.defer(stamp, event["now"], start_now=True)
    deadline = time.monotonic() + 20
    while not os.path.exists(event["gate"]) and time.monotonic() < deadline:
        time.sleep(0.005)
    yield "chunk 2\n"


def empty(event, context):
    """A stream with no chunk: nothing at all, only empty strings, or only a status in the prelude."""
    path = event.get("rawPath", "")
    if path == "/nothing":
        return iter(())
    if path == "/empty-strings":
        return iter(["", b"", ""])
    return StreamingResponse(iter(["", b""]), status_code=204, headers={"X-Empty": "yes"})


def ticks(event, context):
    """A tick every 50 ms for 30 s; notes in `dir` how it ended: closed at a yield, or run to its end."""
    directory = json.loads(event["body"])["dir"] if "body" in event else event["dir"]
    ended = "finished"
    try:
        for i in range(600):
            yield f"tick {i}\n"
            time.sleep(0.05)
    except GeneratorExit:
        ended = "GeneratorExit"
        raise
    finally:
        with open(os.path.join(directory, "ended.tmp"), "w") as f:
            f.write(ended)
        os.replace(os.path.join(directory, "ended.tmp"), os.path.join(directory, "ended"))
