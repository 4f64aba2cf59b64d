"""A scripted Runtime API server for client tests: a context manager on port 0 that records every request.

Replies are scripted per (method, path suffix); unscripted requests get a default answer. It is the benchmarks'
minimal server (benchmarks/runtime_api_server.py) with a script for `respond`; modelled on requests'
tests/testserver/server.py.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.runtime_api_server import Request, RuntimeApiServer, response

#: What the server saw: method, path, headers, body, connection (1, 2 ...), at (time.monotonic() on arrival).
Seen = Request


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
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self.server = RuntimeApiServer(self._respond)

    @property
    def address(self) -> str:
        return self.server.address

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

    def _respond(self, request: Request) -> bytes:
        with self._changed:
            self.seen.append(request)
            self._changed.notify_all()
        reply = self._reply_for(request.method, request.path)
        if reply.hold is not None:
            reply.hold.wait(60)
        return response(reply.status, reply.body, reply.headers, reply.close)

    def __enter__(self) -> ScriptedRuntimeApi:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.close()
