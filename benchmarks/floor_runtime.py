"""The floor: the smallest sensible Python runtime loop, one kept-alive `http.client` connection.

No error handling beyond "stop when the Runtime API goes away", no context object, no logging set-up: what is
left is the HTTP round trips and JSON, the cost any Python runtime pays. Run by the benchmarks as
``python benchmarks/floor_runtime.py`` with ``AWS_LAMBDA_RUNTIME_API`` and ``_HANDLER`` set, cwd = task root.
"""

from __future__ import annotations

import http.client
import importlib
import json
import os
import sys

API = "/2018-06-01/runtime/invocation/"


def main() -> int:
    host, _, port = os.environ["AWS_LAMBDA_RUNTIME_API"].rpartition(":")
    module, _, name = os.environ["_HANDLER"].rpartition(".")
    sys.path.insert(0, os.environ.get("LAMBDA_TASK_ROOT", os.getcwd()))
    handler = getattr(importlib.import_module(module), name)
    conn = http.client.HTTPConnection(host, int(port))
    headers = {"Content-Type": "application/json"}
    while True:  # ends when the Runtime API goes away (the benchmark stops it)
        try:
            conn.request("GET", API + "next")
            response = conn.getresponse()
            event = json.loads(response.read())
            request_id = response.getheader("Lambda-Runtime-Aws-Request-Id")
            body = json.dumps(handler(event, None)).encode()
            conn.request("POST", f"{API}{request_id}/response", body, headers)
            conn.getresponse().read()
        except (OSError, http.client.HTTPException):
            return 0


if __name__ == "__main__":
    sys.exit(main())
