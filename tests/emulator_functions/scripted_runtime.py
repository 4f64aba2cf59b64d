"""A tiny hand-written runtime (http.client only) that misbehaves on purpose, for the emulator tests.

Usage: python scripted_runtime.py MODE. It prints one line per step so the tests can follow it.

Modes:
- ``wait_file``: post the response, then wait until the file named by the event's ``"file"`` exists
  before calling ``/next`` again (the caller must have its answer meanwhile).
- ``double_post``: post ``/response`` twice and then ``/error``; print the statuses.
- ``no_request_id``: post the response to ``/invocation/None/response`` (for the header-removal hook).
- ``no_response``: call ``/next`` again without answering.
- ``ignore_sigterm``: ignore SIGTERM, answer normally (then, if the event names a ``"file"``, wait for it).
- ``bad_invocation_id``: post with a wrong ``Lambda-Runtime-Invocation-Id``, then with the right one.
- ``headers``: answer with the ``/next`` headers it received.
- ``big_response``: post a response one byte over the 6 MB limit; print the status.
- ``retry_different``: post ``"first"``; on a 5xx, "retry" with ``"second"``; print both statuses.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import sys
import time

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
BASE = "/2018-06-01/runtime"


def call(method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None):
    conn = http.client.HTTPConnection(API)
    try:
        conn.request(method, BASE + path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def say(*parts: object) -> None:
    print(*parts, flush=True)


def main(mode: str) -> None:
    if mode == "ignore_sigterm":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    say(f"scripted runtime {mode} pid {os.getpid()} started")
    while True:
        status, headers, body = call("GET", "/invocation/next")
        request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        invocation_id = headers.get("Lambda-Runtime-Invocation-Id", "")
        say(f"got event {request_id} status {status}")
        event = json.loads(body) if body else None
        result = json.dumps({"mode": mode, "event": event}).encode()
        if mode == "wait_file" or (mode == "ignore_sigterm" and isinstance(event, dict) and "file" in event):
            status, _, _ = call("POST", f"/invocation/{request_id}/response", result)
            say(f"posted {request_id} status {status}")
            while not os.path.exists(event["file"]):
                time.sleep(0.005)
            say(f"file seen {request_id}")
        elif mode == "double_post":
            first, _, _ = call("POST", f"/invocation/{request_id}/response", b'{"answer": "first"}')
            second, _, body2 = call("POST", f"/invocation/{request_id}/response", b'{"answer": "second"}')
            third, _, _ = call("POST", f"/invocation/{request_id}/error", b'{"errorType": "Late"}')
            say(f"double_post statuses {first} {second} {third}")
            say(f"second body {body2.decode()}")
        elif mode == "no_request_id":
            status, _, _ = call("POST", f"/invocation/{request_id}/response", result)
            say(f"posted to {request_id} status {status}")
        elif mode == "no_response":
            say("not answering")
        elif mode == "bad_invocation_id":
            wrong, _, _ = call(
                "POST", f"/invocation/{request_id}/response", b'"wrong"', {"Lambda-Runtime-Invocation-Id": "nope"}
            )
            right, _, _ = call(
                "POST",
                f"/invocation/{request_id}/response",
                b'"right"',
                {"Lambda-Runtime-Invocation-Id": invocation_id},
            )
            say(f"invocation id statuses {wrong} {right}")
        elif mode == "big_response":
            status, _, _ = call("POST", f"/invocation/{request_id}/response", b"x" * 6_291_557)
            say(f"big response status {status}")
        elif mode == "retry_different":
            first, _, _ = call("POST", f"/invocation/{request_id}/response", b'"first"')
            second, _, _ = (
                call("POST", f"/invocation/{request_id}/response", b'"second"') if first >= 500 else (0, 0, 0)
            )
            say(f"retry_different statuses {first} {second}")
        elif mode == "headers":
            call("POST", f"/invocation/{request_id}/response", json.dumps(headers).encode())
        else:
            call("POST", f"/invocation/{request_id}/response", result)


if __name__ == "__main__":
    main(sys.argv[1])
