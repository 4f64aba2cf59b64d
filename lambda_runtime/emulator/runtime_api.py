"""The Runtime API (2018-06-01) the runtime processes call: ``/next``, ``/response``, ``/error``, ``/init/error``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import struct
import time
from collections.abc import Callable

from aiohttp import web

from lambda_runtime.emulator.config import API_VERSION, MAX_SYNC_PAYLOAD, EmulatorConfig
from lambda_runtime.emulator.environment import Environment
from lambda_runtime.emulator.hooks import INVOCATION_ID_HEADER, Fault
from lambda_runtime.emulator.invocation import Answer, Delivery, EnvState, Invocation, NextWaiter
from lambda_runtime.emulator.ledger import Ledger
from lambda_runtime.emulator.pool import Pool
from lambda_runtime.emulator.responses import error_type_of, new_trace_id, runtime_error
from lambda_runtime.emulator.streams import is_streaming, receive

logger = logging.getLogger("lambda_runtime.emulator")

ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"


def reset_connection(request: web.BaseRequest) -> web.Response:
    """Drop the caller's connection with a TCP reset (an injected fault); the returned response is never sent."""
    transport = request.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    return web.Response(status=500)


def not_an_environment() -> web.Response:
    """A Runtime API call on the Invoke API port: no runtime was given this address, so it changes nothing."""
    return runtime_error(403, "InvalidStateTransition", "Not a Runtime API address: no environment listens here")


def injected_500(what: str) -> web.Response:
    return runtime_error(500, "ServiceException", f"Injected fault: {what}")


async def next_fault(request: web.Request, fault: Fault | None) -> web.Response | None:
    """An injected ``/next`` fault: what to answer instead of the event, or None to send it (after any stall)."""
    if fault is not None and fault.mode == "500":
        return injected_500("/next failed; the event stays queued")
    if fault is not None and fault.mode == "reset":
        return reset_connection(request)
    if fault is not None and fault.mode == "stall":
        await asyncio.sleep(fault.seconds)
    return None


class RuntimeApi:
    """``env_for(request)`` tells which environment a request comes from (each has its own port)."""

    def __init__(
        self,
        config: EmulatorConfig,
        pool: Pool,
        ledger: Ledger,
        env_for: Callable[[web.BaseRequest], Environment | None],
    ) -> None:
        self.config = config
        self.pool = pool
        self.ledger = ledger
        self.env_for = env_for

    def add_routes(self, app: web.Application) -> None:
        base = f"/{API_VERSION}/runtime"
        app.router.add_get(f"{base}/invocation/next", self.next)
        app.router.add_post(f"{base}/invocation/{{request_id:[^/]*}}/response", self.response)
        app.router.add_post(f"{base}/invocation/{{request_id:[^/]*}}/error", self.error)
        app.router.add_post(f"{base}/init/error", self.init_error)
        app.router.add_get(f"{base}/restore/next", self.restore_next)
        app.router.add_post(f"{base}/restore/error", self.restore_error)

    async def next(self, request: web.Request) -> web.StreamResponse:
        env = self.env_for(request)
        if env is None:
            return not_an_environment()
        now = time.time()
        if env.state is EnvState.STOPPED or self.pool.stopping:
            return runtime_error(403, "InvalidStateTransition", "No runtime is running in this environment")
        if env.pending_next is not None and not env.pending_next.gone:
            return runtime_error(400, "InvalidStateTransition", "Another /next request is already waiting")
        if env.current is not None:  # what it printed before this call belongs to the invocation ending now
            generation = env.generation
            await env.catch_up_output()
            if env.generation != generation:
                return runtime_error(410, "EnvironmentReset", "The execution environment was reset")
        if env.state is EnvState.BUSY and env.current is not None:
            if self.config.freeze and not self.pool.queue:
                env.freeze()  # first, so that whoever sees the record sees a frozen runtime
            self._end_invocation(env, env.current, now)
        elif env.state is EnvState.INIT and env.restored_at is not None:  # SnapStart: Lambda reports the restore
            env.cold_restore_ms = (now - env.restored_at) * 1000.0
            env.after_restore_peer = request.transport.get_extra_info("peername") if request.transport else None
        elif env.state is EnvState.INIT:
            env.cold_init_ms = (now - env.started_at) * 1000.0
        future: asyncio.Future[Delivery | None] = asyncio.get_running_loop().create_future()
        env.wait_for_event(NextWaiter(request, future))
        self.pool.dispatch()
        if not future.done() and env.state is EnvState.IDLE:
            if self.config.freeze:
                env.freeze()  # like Lambda: nothing runs between invocations
            self.pool.waiting_for_event(env)
        delivery = await future
        if delivery is None:
            return runtime_error(410, "EnvironmentReset", "The execution environment was reset")
        faulted = await next_fault(request, delivery.fault)
        if faulted is not None:
            return faulted
        inv = delivery.inv
        assert inv is not None
        return web.Response(body=inv.payload, headers=inv.hooks.next_headers(self._next_headers(inv)))

    def _next_headers(self, inv: Invocation) -> dict[str, str]:
        headers = {
            "Lambda-Runtime-Aws-Request-Id": inv.request_id,
            "Lambda-Runtime-Deadline-Ms": str(inv.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": self.config.function_arn,
            "Lambda-Runtime-Trace-Id": inv.trace_id or new_trace_id(),
            "Lambda-Runtime-Invocation-Id": inv.invocation_id,
            "Content-Type": "application/json",
        }
        if inv.client_context is not None:
            headers["Lambda-Runtime-Client-Context"] = inv.client_context
        if inv.tenant_id is not None:
            headers["Lambda-Runtime-Aws-Tenant-Id"] = inv.tenant_id
        return headers

    def _end_invocation(self, env: Environment, inv: Invocation, now: float) -> None:
        """The runtime asked for the next event: the current invocation ends here."""
        env.take_current()
        no_response = Answer.function_failure(
            "Runtime.NoResponse",
            f"RequestId: {inv.request_id} Error: the runtime asked for the next event "
            "without posting a response or an error",
        )
        answer = inv.answer_future.result() if inv.answered else no_response
        self.ledger.finish(inv, now, "error" if answer.failed else "success", env, answer=no_response)

    def _lookup(self, env: Environment, request: web.Request) -> Invocation | web.Response:
        """The invocation a ``/response`` or ``/error`` post is for, or the error response to send."""
        request_id = request.match_info["request_id"]
        inv = self.ledger.active.get(request_id)
        current = env.current
        if (inv is None or not inv.delivered) and current is not None and current.request_id_tampered:
            inv = current  # a test hook hid the request id: the post is for the current invocation
        if inv is None:
            if self.ledger.is_finished(request_id):
                return runtime_error(410, "InvalidStateTransition", f"Invocation {request_id} is over")
            return runtime_error(400, "InvalidRequestID", f"Unknown request id {request_id!r}")
        if inv.answered:
            return runtime_error(410, "InvalidStateTransition", f"Invocation {inv.request_id} was already answered")
        if inv is not current:
            return runtime_error(400, "InvalidRequestID", f"Invocation {inv.request_id} is not in progress")
        sent = request.headers.get(INVOCATION_ID_HEADER)
        if sent is not None and sent not in (inv.invocation_id, inv.hooks.override_value(INVOCATION_ID_HEADER)):
            return runtime_error(400, "InvalidInvocationID", f"{INVOCATION_ID_HEADER} {sent!r} does not match")
        return inv

    async def _post(
        self, request: web.Request, record: Callable[[Invocation, bytes], web.Response]
    ) -> web.StreamResponse:
        """A result post: faults first (drop, 500), then ``record`` it unless it is refused."""
        env = self.env_for(request)
        if env is None:
            return not_an_environment()
        found = self._lookup(env, request)
        fault = found.hooks.take_fault("response") if isinstance(found, Invocation) else None
        if fault is not None:
            assert isinstance(found, Invocation)
            found.note_fault("response", fault.mode)
        if fault is not None and fault.mode == "drop-mid-post":
            await request.content.read(max(1, (request.content_length or 0) // 2))
            return reset_connection(request)
        body = await request.read()
        await env.catch_up_output()  # the Tail log covers what was printed before the result
        found = self._lookup(env, request)  # again: the invocation may have ended while the body was read
        if isinstance(found, web.Response):
            return found
        if fault is not None and fault.mode == "500":
            return injected_500("the result was not recorded")
        response = record(found, body)
        if fault is not None and fault.mode == "500-after-record":
            return injected_500("the result was recorded, but this answer is lost")
        return response

    async def response(self, request: web.Request) -> web.StreamResponse:
        if is_streaming(request):
            return await self._post_stream(request)
        return await self._post(request, self._record_response)

    async def _post_stream(self, request: web.Request) -> web.StreamResponse:
        """A streamed ``/response``: the caller is answered at once and gets the chunks as they come."""
        env = self.env_for(request)
        if env is None:
            return not_an_environment()
        found = self._lookup(env, request)
        if isinstance(found, web.Response):
            return found
        await env.catch_up_output()
        return await receive(request, found)

    async def error(self, request: web.Request) -> web.StreamResponse:
        return await self._post(request, lambda inv, body: self._record_error(inv, body, request))

    @staticmethod
    def _record_response(inv: Invocation, body: bytes) -> web.Response:
        if len(body) > MAX_SYNC_PAYLOAD:  # never truncated: the caller gets an error instead
            message = (
                f"Response payload size ({len(body)} bytes) exceeded maximum allowed payload size "
                f"({MAX_SYNC_PAYLOAD} bytes)."
            )
            inv.answer(Answer.function_failure("Function.ResponseSizeTooLarge", message))
            return runtime_error(413, "RequestEntityTooLarge", message)
        inv.answer(Answer(body=body))
        return web.json_response({"status": "OK"}, status=202)

    def _record_error(self, inv: Invocation, body: bytes, request: web.Request) -> web.Response:
        inv.answer(self._error_answer(body, request, "Unhandled"))
        return web.json_response({"status": "OK"}, status=202)

    @staticmethod
    def _error_answer(body: bytes, request: web.Request, default_type: str) -> Answer:
        error_type = error_type_of(body, request.headers.get(ERROR_TYPE_HEADER), default_type)
        if len(body) > MAX_SYNC_PAYLOAD or not body.strip():
            body = json.dumps({"errorType": error_type, "errorMessage": ""}).encode()
        return Answer(body=body, function_error="Unhandled", error_type=error_type)

    async def restore_next(self, request: web.Request) -> web.StreamResponse:
        """SnapStart: the init is over; pause the runtime (the snapshot), continue it (the restore), answer."""
        env = self.env_for(request)
        if env is None:
            return not_an_environment()
        if not self.config.snap_start or env.state is not EnvState.INIT or env.restored_at is not None:
            return runtime_error(403, "InvalidStateTransition", "/restore/next is only valid once, at a SnapStart init")
        generation = env.generation
        env.restore_peer = request.transport.get_extra_info("peername") if request.transport else None
        await env.catch_up_output()
        logger.info("env %d: SnapStart snapshot after %.1f ms of init", env.index, (time.time() - env.started_at) * 1e3)
        env.freeze()  # SIGSTOP: the process as a snapshot holds it
        await asyncio.sleep(self.config.restore_delay)
        if env.generation != generation or env.state is not EnvState.INIT:
            return runtime_error(410, "EnvironmentReset", "The execution environment was reset")
        env.restored_at = time.time()
        env.thaw()
        return web.Response(status=200)

    async def restore_error(self, request: web.Request) -> web.StreamResponse:
        """SnapStart: an after-restore hook failed (``Runtime.AfterRestoreError``): an init failure, as on Lambda."""
        env = self.env_for(request)
        if env is None:
            return not_an_environment()
        if env.restored_at is None:
            return runtime_error(403, "InvalidStateTransition", "/restore/error is only valid after a restore")
        return await self._init_failure(env, request, "Runtime.AfterRestoreError")

    async def init_error(self, request: web.Request) -> web.StreamResponse:
        env = self.env_for(request)
        if env is None:
            return not_an_environment()
        return await self._init_failure(env, request, "Runtime.Unknown")

    async def _init_failure(self, env: Environment, request: web.Request, default_type: str) -> web.StreamResponse:
        body = await request.read()
        answer = self._error_answer(body, request, default_type)
        current = env.current
        if env.state is EnvState.INIT:
            self.pool.init_failed(env, lambda _rid: answer)
        elif env.state is EnvState.BUSY and current is not None and not current.answered:
            # Not an init any more, but the runtime gave up: the event it holds gets the error.
            env.take_current()
            self.ledger.finish(current, time.time(), "error", env, answer=answer)
        else:
            return runtime_error(403, "InvalidStateTransition", "/init/error is only valid during init")
        logger.warning("runtime reported an init error: %s", answer.error_type)
        env.reset()
        self.pool.spawn(self._reap_after_init_error(env))
        return web.json_response({"status": "OK"}, status=202)

    async def _reap_after_init_error(self, env: Environment) -> None:
        """The runtime should exit after ``/init/error``; make sure it does."""
        if not await env.wait_reaped(self.config.kill_grace, kill=False):
            await env.stop(0.5)
