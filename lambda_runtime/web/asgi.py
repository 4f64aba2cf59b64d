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

import concurrent.futures
import contextlib
import contextvars
import logging
from collections.abc import Iterable
from typing import Any

from lambda_runtime.errors import DeferRejected, InvocationError
from lambda_runtime.invocation.streaming import StreamingResponse
from lambda_runtime.web.cycle import HttpCycle
from lambda_runtime.web.eventloop import LoopThread, shared_loop
from lambda_runtime.web.events import HttpRequest, read_event
from lambda_runtime.web.lifespan import Lifespan
from lambda_runtime.web.responses import TEXT_TYPES, lambda_response, split_cookies
from lambda_runtime.web.types import ASGIApp, Scope

logger = logging.getLogger("lambda_runtime.web")

#: As the function URL's InvokeMode (and Lambda Web Adapter's AWS_LWA_INVOKE_MODE): "response_stream" streams the
#: app's body as it sends it, with status, headers and cookies in the HTTP-integration prelude.
INVOKE_MODES = ("buffered", "response_stream")


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
        invoke_mode: str = "buffered",
        loop: LoopThread | None = None,
    ) -> None:
        if invoke_mode not in INVOKE_MODES:
            raise ValueError(f"invoke_mode must be one of {', '.join(INVOKE_MODES)}, not {invoke_mode!r}")
        self.app = app
        self.invoke_mode = invoke_mode
        self.root_path = root_path
        self.text_types = tuple(text_types)
        self.shutdown_timeout = shutdown_timeout
        self.loop = loop or shared_loop()
        self.lifespan = Lifespan(app, lifespan, self.loop)
        self.lifespan.startup()

    def __call__(self, event: Any, context: Any) -> Any:
        request = read_event(event, self.root_path)
        # An ALB cannot take a streamed response; every other HTTP kind can (function URLs, API Gateway).
        streaming = self.invoke_mode == "response_stream" and request.kind != "alb"
        cycle = HttpCycle(self.scope(request, event, context), request.body, streaming)
        future = self.loop.submit(cycle.run(self.app), cycle.context)
        remaining_s = context.get_remaining_time_in_millis() / 1000 if context is not None else None
        if not cycle.ready.wait(remaining_s):
            future.cancel()
            raise InvocationError("Web.NoResponse", "the ASGI app sent no complete response before the deadline")
        if streaming:
            return self._stream(cycle, future, context, f"{_name(self.app)} {request.method} {request.path}")
        if cycle.in_background:
            self._finish_later(cycle, future, context, f"{_name(self.app)} {request.method} {request.path}")
        return lambda_response(request, cycle.status, cycle.headers, b"".join(cycle.chunks), self.text_types)

    def _stream(self, cycle: HttpCycle, future: concurrent.futures.Future[None], context: Any, name: str) -> Any:
        """The response as a StreamingResponse: the runtime posts each chunk as the app sends it."""
        # Released after the stream has ended: the app's work after its last `send` is deferred work, as buffered.
        # Never waited for here: the app's body has not been taken yet.
        try:
            context.defer(self._await_app, cycle, future, job_name=f"{name} (after the response)")
        except (AttributeError, DeferRejected) as error:
            logger.warning("ASGI background work is not deferred, it runs alongside the stream: %s", error)
            self.loop.loop.call_soon_threadsafe(cycle.release)
        headers, cookies = split_cookies(cycle.headers)
        remaining_s = context.get_remaining_time_in_millis() / 1000 if context is not None else None
        return StreamingResponse(cycle.stream(remaining_s), status_code=cycle.status, headers=headers, cookies=cookies)

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
            # UTF-8: the bytes a client sends for text outside ASCII, which a server hands over as they came (and
            # what Mangum does); the framework decodes them as Latin-1, as it would behind uvicorn.
            "headers": [(name.encode(), value.encode()) for name, value in request.headers],
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
        """The deferred job: the app's call past its response *is* this job. It sees it as `current_job()` (in
        `def` background tasks too: they run in a copy of the app's context), it is cancelled when the job is
        (at its deadline, or at shutdown), and it is waited for until it is over: a `def` task ignoring its
        deadline keeps this job's thread, which the post-response phase writes off under the overrun policy
        (LAMBDA_RUNTIME_DEFER_OVERRUN), exactly as for a `context.defer` job ignoring its deadline."""
        from lambda_runtime.jobs import CURRENT_JOB, current_job

        loop = self.loop.loop
        job = current_job()
        if job is not None:
            loop.call_soon_threadsafe(_enter, cycle.context, CURRENT_JOB, job)

            def cancel() -> None:  # the task unwinds on the loop: CancelledError, finally blocks
                future.cancel()

            job.on_cancel.append(cancel)
            if job.cancelled:
                future.cancel()
        loop.call_soon_threadsafe(cycle.release)
        cycle.done.wait()
        future.result()  # the app's error after the response; CancelledError when stopped at the deadline


def _enter(context: contextvars.Context, variable: contextvars.ContextVar[Any], value: Any) -> None:
    """Set `variable` in `context`, the app task's own (call on the loop, where the task is between two steps)."""
    with contextlib.suppress(RuntimeError):  # entered right now: only if a task ran in it outside the loop
        context.run(variable.set, value)


def _name(app: Any) -> str:
    return str(getattr(app, "__qualname__", None) or type(app).__qualname__)
