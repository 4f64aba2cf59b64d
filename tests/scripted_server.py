"""A scripted Runtime API server for client tests: a context manager on port 0 that records every request.

Replies are scripted per (method, path suffix); unscripted requests get a default answer. Modelled on requests'
tests/testserver/server.py.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    connection: int
    at: float = 0.0  # time.monotonic() on arrival


@dataclass
class Reply:
    status: int = 202
    body: bytes = b'{"status":"OK"}'
    headers: dict[str, str] | None = None
    close: bool = False
    hold: threading.Event | None = None  # the reply waits until this is set (a /next with no event yet)


class ScriptedRuntimeApi:
    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.script: dict[tuple[str, str], deque[Reply]] = defaultdict(deque)
        self.defaults: dict[str, Reply] = {
            "GET": Reply(
                200,
                b'{"event":1}',
                {
                    "Lambda-Runtime-Aws-Request-Id": "req-1",
                    "Lambda-Runtime-Deadline-Ms": "9999999999999",
                    "Lambda-Runtime-Invocation-Id": "inv-1",
                    "Content-Type": "application/json",
                },
            ),
            "POST": Reply(),
        }
        self._connections = 0
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{host}:{port}"

    def wait_for(self, ready: Callable[[list[Seen]], bool], timeout: float = 30.0) -> list[Seen]:
        """Block until `ready(seen)` holds; return a copy of the requests seen. Raises TimeoutError."""
        with self._changed:
            if not self._changed.wait_for(lambda: ready(self.seen), timeout):
                raise TimeoutError(f"condition not met after {timeout} s; seen {len(self.seen)} requests")
            return list(self.seen)

    def add(self, method: str, suffix: str, *replies: Reply) -> None:
        self.script[(method, suffix)].extend(replies)

    def _reply_for(self, method: str, path: str) -> Reply:
        with self._lock:
            for (m, suffix), queue in self.script.items():
                if m == method and path.endswith(suffix) and queue:
                    return queue.popleft()
        return self.defaults[method]

    def _new_connection(self) -> int:
        with self._lock:
            self._connections += 1
            return self._connections

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                self.connection_number = api._new_connection()

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                seen = Seen(self.command, self.path, dict(self.headers), body, self.connection_number, time.monotonic())
                with api._changed:
                    api.seen.append(seen)
                    api._changed.notify_all()
                reply = api._reply_for(self.command, self.path)
                if reply.hold is not None:
                    reply.hold.wait(60)
                self.send_response(reply.status)
                for name, value in (reply.headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                if reply.close:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def __enter__(self) -> ScriptedRuntimeApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
