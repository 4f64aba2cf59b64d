"""The minimal Runtime API server of the benchmarks and of the tests' scripted server: raw sockets, standard library.

    with RuntimeApiServer(respond) as api:     # listens on 127.0.0.1, port 0: api.address is "127.0.0.1:PORT"
        ...                                     # AWS_LAMBDA_RUNTIME_API=api.address

A thread per connection, kept alive as a runtime keeps it. Each whole request (Content-Length or chunked body,
`Expect: 100-continue` answered) goes to `respond(request)`, and the bytes it returns are sent back as they are (a
reply with `Connection: close` closes the connection after it). No HTTP library: the server's own cost is a few µs
per request, which is what the loop-only measurement needs; `response()` and `invocation()` build the replies.
"""

from __future__ import annotations

import contextlib
import http
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

ARN = "arn:aws:lambda:us-east-1:000000000000:function:bench"
TRACE = "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1"
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]  # as the client spelled them
    body: bytes
    connection: int  # 1 for the server's first connection, 2 for the next ...
    at: float  # time.monotonic() when its last byte arrived


def response(status: int, body: bytes = b"", headers: Mapping[str, str] | None = None, close: bool = False) -> bytes:
    """One HTTP/1.1 reply, whole."""
    phrase = http.HTTPStatus(status).phrase if status in http.HTTPStatus._value2member_map_ else ""
    lines = [f"HTTP/1.1 {status} {phrase}", *(f"{name}: {value}" for name, value in (headers or {}).items())]
    lines.append(f"Content-Length: {len(body)}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


ACCEPTED = response(202, b'{"status":"OK"}\n', {"Content-Type": "application/json"})


def invocation(request_id: str, deadline_ms: int, body: bytes = b"{}") -> bytes:
    """A `/next` reply: the event `body` with the headers Lambda sends."""
    headers = {
        "Content-Type": "application/json",
        "Lambda-Runtime-Aws-Request-Id": request_id,
        "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
        "Lambda-Runtime-Invoked-Function-Arn": ARN,
        "Lambda-Runtime-Invocation-Id": request_id,
        "Lambda-Runtime-Trace-Id": TRACE,
    }
    return response(200, body, headers)


class RuntimeApiServer:
    """`respond(request) -> bytes` behind a listening socket; a context manager (stops listening and closes every
    connection on exit)."""

    def __init__(self, respond: Callable[[Request], bytes], port: int = 0) -> None:
        self.respond = respond
        self.listener = socket.create_server(("127.0.0.1", port))
        self.port: int = self.listener.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._connections: list[socket.socket] = []

    def __enter__(self) -> RuntimeApiServer:
        threading.Thread(target=self._accept, name=f"runtime-api-{self.port}", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for sock in [self.listener, *self._connections]:
            with contextlib.suppress(OSError):  # already closed by the client
                sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept() or recv()
            sock.close()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:  # closed
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._connections.append(sock)
                number = len(self._connections)
            threading.Thread(target=self._serve, args=(sock, number), daemon=True).start()

    def _serve(self, sock: socket.socket, number: int) -> None:
        reader = _Reader(sock)
        with sock:
            while True:
                try:
                    request = reader.request(number)
                except (OSError, ValueError):  # gone, reset, or not HTTP: this connection is over
                    return
                if request is None:
                    return
                answer = self.respond(request)
                try:
                    sock.sendall(answer)
                except OSError:
                    return
                if b"\r\nconnection: close\r\n" in answer.partition(b"\r\n\r\n")[0].lower() + b"\r\n":
                    return


class _Reader:
    """Whole requests from one connection's bytes."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def request(self, connection: int) -> Request | None:
        """The next request, or None when the client closed the connection between two."""
        while b"\r\n\r\n" not in self.buf:
            if not self._receive():
                return None
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        first, *lines = head.decode("latin-1").split("\r\n")
        method, path, _ = first.split(" ", 2)
        headers = {name.strip(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
        lower = {name.lower(): value.lower() for name, value in headers.items()}
        if lower.get("expect") == "100-continue":
            self.sock.sendall(CONTINUE)
        if "chunked" in lower.get("transfer-encoding", ""):
            body = self._chunked()
        else:
            body = self._exactly(int(lower.get("content-length") or 0))
        return Request(method, path, headers, body, connection, time.monotonic())

    def _receive(self) -> bool:
        chunk = self.sock.recv(65536)
        self.buf += chunk
        return bool(chunk)

    def _exactly(self, length: int) -> bytes:
        while len(self.buf) < length:
            if not self._receive():
                raise ConnectionError("the connection closed in the middle of a body")
        body, self.buf = self.buf[:length], self.buf[length:]
        return body

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            if not self._receive():
                raise ConnectionError("the connection closed in the middle of a chunked body")
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def _chunked(self) -> bytes:
        body = b""
        while size := int(self._line().split(b";")[0], 16):
            body += self._exactly(size)
            self._line()  # the CRLF after the chunk
        while self._line():  # trailers, up to the blank line
            pass
        return body
