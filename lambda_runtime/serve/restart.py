"""Replacing the process without failing the invocation: exec a fresh runtime with the next `/next` already sent.

Lambda counts a runtime that exits after `/response` and before `/next` as a failed invocation: the caller keeps
its response, but the invocation reports `Runtime.ExitError` and an Event invocation is retried, so its handler
would run twice (aws-lambda-runtime-interface-emulator, internal/lambda/rapid/handlers.go `watchEvents` and
`handleReset`; docs "Error handling and automatic retries in Lambda": errors "returned by the function's runtime"
are retried). An `/next` ends the invocation as a success instead. So the process sends `/next` itself on a socket
it keeps open across `os.execve`, and the fresh image — no threads, so no hung jobs — reads the next event from it.
"""

from __future__ import annotations

import http.client
import os
import socket
import sys
from collections.abc import Mapping
from typing import NoReturn

from requests.structures import CaseInsensitiveDict

from lambda_runtime.api.client import API_VERSION
from lambda_runtime.api.invocation import Invocation
from lambda_runtime.api.transport import USER_AGENT
from lambda_runtime.errors import RuntimeApiError
from lambda_runtime.jobs.phase import flush_output

PENDING_NEXT_FD = "_LAMBDA_RUNTIME_PENDING_NEXT_FD"
_DROPPED = ("_X_AMZN_TRACE_ID", PENDING_NEXT_FD)  # per invocation or per process: never for the new image


def restart_with_next_sent(runtime_api: str, environ: Mapping[str, str], keep_fds: tuple[int, ...] = ()) -> NoReturn:
    """End this invocation with `/next`, then become a fresh runtime that reads the next event from that socket.
    `keep_fds` (Lambda's telemetry descriptor) stay open in the new image, as `environ` says they are."""
    host, _, port = runtime_api.rpartition(":")
    sock = socket.create_connection((host, int(port)))
    request = f"GET /{API_VERSION}/runtime/invocation/next HTTP/1.1\r\nHost: {runtime_api}\r\n"
    sock.sendall(f"{request}User-Agent: {USER_AGENT}\r\n\r\n".encode())
    for fd in (sock.fileno(), *keep_fds):
        os.set_inheritable(fd, True)
    env = {name: value for name, value in environ.items() if name not in _DROPPED}
    env[PENDING_NEXT_FD] = str(sock.fileno())
    flush_output()
    os.execve(sys.executable, sys.orig_argv, env)


def read_pending_next(fd: int, runtime_api: str) -> Invocation:
    """The answer to the `/next` the previous image sent before it was replaced."""
    with socket.socket(fileno=fd) as sock:
        response = http.client.HTTPResponse(sock, method="GET")
        response.begin()
        body = response.read()
    if response.status != 200:
        call = f"GET http://{runtime_api}/{API_VERSION}/runtime/invocation/next"
        raise RuntimeApiError(response.status, body.decode(errors="replace"), call)
    headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(response.getheaders())
    return Invocation(headers.get("Lambda-Runtime-Aws-Request-Id", ""), body, headers)
