"""Run an ASGI app (FastAPI, Starlette, ...) as a Lambda handler, with its background tasks after the response.

What runs when, for one invocation:
1. The handler thread reads the event and hands the app call to the process's event loop.
2. The app sends `http.response.start` and its last `http.response.body`: the response is complete. That last
   `send` does not return yet; the handler returns the response, and the runtime posts it: the caller has its answer.
3. One deferred job (`context.defer`) then lets that `send` return and waits for the rest of the app call:
   Starlette's `BackgroundTasks`, `Response.background`, middleware unwinding. The invocation's deadline, the margin,
   the summary line and the error isolation of `context.defer` all apply, and `/next` waits for it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Iterable
from typing import Any

from lambda_runtime.errors import DeferRejected, InvocationError, LambdaRuntimeError
from lambda_runtime.web.eventloop import LoopThread, shared_loop
from lambda_runtime.web.events import HttpRequest, read_event
from lambda_runtime.web.lifespan import Lifespan
from lambda_runtime.web.responses import TEXT_TYPES, lambda_response, plain_response
from lambda_runtime.web.types import ASGIApp, Message, Scope

logger = logging.getLogger("lambda_runtime.web")

_UNWIND_S = 0.05  # how long before the job's deadline background work is cancelled, to unwind in time


class BackgroundTimeout(LambdaRuntimeError):
    """The app's work after the response outlived its deferred job's deadline and was cancelled."""


class HttpCycle:
    """One request through the app: feeds it the body, collects the response, notices when it is complete."""

    def __init__(self, scope: Scope, body: bytes) -> None:
        self.scope = scope
        self.body = body
        self.status = 0
        self.headers: list[tuple[str, str]] = []
        self.chunks: list[bytes] = []
        self.started = self.complete = False
        self.in_background = False  # the response is out: what the app does from now on is deferred work
        self.ready = threading.Event()  # set (on the loop) when the handler may return
        self._request_read = False
        self._disconnected: asyncio.Event | None = None
        self._released: asyncio.Event | None = None

    async def run(self, app: ASGIApp) -> None:
        self._disconnected, self._released = asyncio.Event(), asyncio.Event()
        try:
            await app(self.scope, self._receive, self._send)
        except BaseException as error:
            if self.in_background:
                raise  # the deferred job reports it: it failed after the response was sent
            # Uvicorn and Mangum log it the same way; the request id comes with the context copied from the handler.
            logger.error("Exception in ASGI application", exc_info=error)
            if not self.complete:
                self._respond_plain(500, "Internal Server Error")
        finally:
            if not self.complete:
                logger.error("ASGI app returned without completing a response")
                self._respond_plain(500, "Internal Server Error")
            self.ready.set()

    def release(self) -> None:
        """The response is posted: let the app's call go on past its last `send` (call on the loop)."""
        assert self._released is not None
        self._released.set()

    async def _receive(self) -> Message:
        if not self._request_read:
            self._request_read = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        # Nothing more to read: the client "disconnects" once the response is complete, as a real server does
        # after the last byte. Returning at once would make StreamingResponse think the client left mid-stream.
        assert self._disconnected is not None
        await self._disconnected.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: Message) -> None:
        kind = message.get("type")
        if kind == "http.response.start" and not self.started:
            self.started = True
            self.status = int(message["status"])
            self.headers = [(_text(name), _text(value)) for name, value in message.get("headers", ())]
        elif kind == "http.response.body" and self.started and not self.complete:
            self.chunks.append(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                assert self._disconnected is not None and self._released is not None
                self.complete = self.in_background = True
                self._disconnected.set()
                self.ready.set()
                # Hold the app here until the response is posted: whatever follows (background tasks) must not
                # start before the caller has its answer.
                await self._released.wait()
        elif self.complete:
            return  # a server ignores messages after the response (ASGI spec: they may be dropped)
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r} (response started: {self.started})")

    def _respond_plain(self, status: int, message: str) -> None:
        self.status, self.headers, body = plain_response(status, message)
        self.chunks = [body]
        self.started = self.complete = True


class ASGIAdapter:
    """A Lambda handler serving one ASGI app; create it at import time (`handler = asgi(app)`)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        lifespan: str = "auto",
        root_path: str | None = None,
        text_types: Iterable[str] = TEXT_TYPES,
        shutdown_timeout: float = 0.25,
        loop: LoopThread | None = None,
    ) -> None:
        self.app = app
        self.root_path = root_path
        self.text_types = tuple(text_types)
        self.shutdown_timeout = shutdown_timeout
        self.loop = loop or shared_loop()
        self.lifespan = Lifespan(app, lifespan, self.loop)
        self.lifespan.startup()

    def __call__(self, event: Any, context: Any) -> dict[str, Any]:
        request = read_event(event, self.root_path)
        cycle = HttpCycle(self.scope(request, event, context), request.body)
        future = self.loop.submit(cycle.run(self.app))
        remaining_s = context.get_remaining_time_in_millis() / 1000 if context is not None else None
        if not cycle.ready.wait(remaining_s):
            future.cancel()
            raise InvocationError("Web.NoResponse", "the ASGI app sent no complete response before the deadline")
        if cycle.in_background:
            self._finish_later(cycle, future, context, f"{_name(self.app)} {request.method} {request.path}")
        return lambda_response(request, cycle.status, cycle.headers, b"".join(cycle.chunks), self.text_types)

    def scope(self, request: HttpRequest, event: Any, context: Any) -> Scope:
        """The ASGI HTTP scope for `request` (ASGI spec 2.x "HTTP Connection Scope"), as Mangum fills it."""
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": request.scheme,
            "path": request.path,
            "raw_path": request.raw_path.encode() if request.raw_path is not None else None,
            "root_path": request.root_path,
            "query_string": request.query_string.encode(),
            "headers": [(name.encode("latin-1"), value.encode("latin-1")) for name, value in request.headers],
            "client": (request.source_ip, 0),
            "server": request.server,
            "state": dict(self.lifespan.state),
            "aws.event": event,
            "aws.context": context,
        }

    def shutdown(self) -> None:
        """Run the app's lifespan shutdown (call it when the process is told to stop, e.g. on SIGTERM)."""
        self.lifespan.shutdown(self.shutdown_timeout)

    def _finish_later(self, cycle: HttpCycle, future: concurrent.futures.Future[None], context: Any, name: str) -> None:
        defer = getattr(context, "defer", None)
        if defer is not None:
            try:
                defer(self._await_app, cycle, future, job_name=f"{name} (after the response)")
                return
            except DeferRejected as error:
                logger.warning("ASGI background work runs before the response: %s", error)
        # Not on lambda_runtime (awslambdaric, a test calling the handler directly): finish first, as Mangum does.
        self.loop.loop.call_soon_threadsafe(cycle.release)
        try:
            future.result()
        except Exception:
            logger.exception("Exception in ASGI application after the response")

    def _await_app(self, cycle: HttpCycle, future: concurrent.futures.Future[None]) -> None:
        """The deferred job: release the app past its response, wait for it, cancel it just before the deadline."""
        from lambda_runtime import current_job

        self.loop.loop.call_soon_threadsafe(cycle.release)
        job = current_job()
        remaining_s = job.remaining_ms() / 1000 if job is not None else None
        # Cancel a little before the deadline, so the app's tasks unwind (finally blocks, logs) within this
        # invocation instead of being frozen mid-cleanup at /next.
        slack_s = min(_UNWIND_S, remaining_s / 10) if remaining_s is not None else 0.0
        try:
            future.result(None if remaining_s is None else max(0.0, remaining_s - slack_s))
            return
        except concurrent.futures.TimeoutError:
            if future.done():
                raise  # the app's own TimeoutError, not the deadline
        future.cancel()  # cancels the task on the loop
        with contextlib.suppress(concurrent.futures.CancelledError, concurrent.futures.TimeoutError):
            future.result(slack_s)
        raise BackgroundTimeout("ASGI background work was still running at the job's deadline: cancelled")


def _text(value: Any) -> str:
    return value.decode("latin-1") if isinstance(value, (bytes, bytearray)) else str(value)


def _name(app: Any) -> str:
    return str(getattr(app, "__qualname__", None) or type(app).__qualname__)
