"""The Invoke API (2015-03-31) callers use: ``POST /2015-03-31/functions/{name}/invocations``."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from lambda_runtime.emulator.async_queue import AsyncInvoker
from lambda_runtime.emulator.client_io import SlowCaller, read_body, request_timeout, send
from lambda_runtime.emulator.config import (
    ACCOUNT_ID,
    INVOKE_API_VERSION,
    MAX_ASYNC_PAYLOAD,
    MAX_READ_SIZE,
    MAX_SYNC_REQUEST,
    EmulatorConfig,
)
from lambda_runtime.emulator.durable import DurableApi
from lambda_runtime.emulator.hooks import HookError, parse_hooks
from lambda_runtime.emulator.invocation import Invocation
from lambda_runtime.emulator.peers import forward
from lambda_runtime.emulator.pool import Pool
from lambda_runtime.emulator.recursion import (
    MAX_CHAIN,
    RECURSION_MESSAGE,
    access_denied_message,
    chained,
    role_caller,
)
from lambda_runtime.emulator.responses import new_trace_id, service_error
from lambda_runtime.emulator.streams import buffered

#: ``X-Amz-Log-Result`` carries at most the last 4 KB of the invocation's log, as Lambda's does.
TAIL_BYTES = 4096


def split_function_ref(ref: str) -> tuple[str, str | None]:
    """``name``, ``name:qualifier``, ``123:function:name[:q]`` or a full ARN → (name, qualifier)."""
    parts = ref.split(":")
    if ref.startswith("arn:") and len(parts) >= 7 and parts[5] == "function":
        return parts[6], (parts[7] if len(parts) > 7 else None)
    if len(parts) >= 3 and parts[1] == "function":
        return parts[2], (parts[3] if len(parts) > 3 else None)
    if len(parts) == 2:
        return parts[0], parts[1]
    return ref, None


def tail_log(inv: Invocation) -> str:
    """The base64 Tail log: the last 4 KB of the invocation's lines, END and REPORT included."""
    text = "".join(line + "\n" for line in inv.log_lines)
    return base64.b64encode(text.encode("utf-8")[-TAIL_BYTES:]).decode("ascii")


def json_problem(payload: bytes) -> str | None:
    """Why ``payload`` is not a JSON document (Lambda refuses those), or ``None`` if it is one."""
    try:
        json.loads(payload.decode("utf-8"))
    except UnicodeDecodeError as e:
        return f"Invalid UTF-8: {e.reason} at byte {e.start}"
    except ValueError as e:
        return str(e)
    return None


def decode_client_context(raw: str) -> str:
    """``X-Amz-Client-Context`` (base64 JSON object) → the JSON text. Raises ValueError."""
    try:
        text = base64.b64decode(raw, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as e:
        raise ValueError(str(e)) from None
    if not isinstance(json.loads(text), dict):
        raise ValueError("not a JSON object")
    return text


class InvokeApi:
    """``default_faults()``: the faults set with ``Emulator.inject_faults`` (test hooks only)."""

    def __init__(
        self,
        config: EmulatorConfig,
        pool: Pool,
        async_invoker: AsyncInvoker,
        default_faults: Callable[[], Mapping[str, Any] | None],
        durable: DurableApi | None = None,
    ) -> None:
        self.config = config
        self.pool = pool
        self.async_invoker = async_invoker
        self.default_faults = default_faults
        self.durable = durable

    def throttled(self) -> web.Response:
        """429 as Lambda answers when the reserved concurrency is used up; ``Retry-After`` is in botocore's model
        (``retryAfterSeconds``), and boto3's retry modes back off and retry a ``TooManyRequestsException``."""
        self.pool.store.count_throttle()
        reason = "ReservedFunctionConcurrentInvocationLimitExceeded"
        headers = {"Retry-After": "1"}
        return service_error(429, "TooManyRequestsException", "Rate Exceeded.", headers=headers, Reason=reason)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(f"/{INVOKE_API_VERSION}/functions/{{function}}/invocations", self.invoke)

    async def invoke(self, request: web.Request) -> web.StreamResponse:
        received_at = time.time()
        invocation_type = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        peers = dict(self.config.peers)
        asked = split_function_ref(request.match_info["function"])[0]
        if asked in peers and asked != self.config.function_name:
            return await forward(request, asked, peers)
        refused = self.refuse_before_reading(request, invocation_type)
        if refused is not None:
            return refused
        try:
            payload = await read_body(request, self.config.client_timeout)
        except SlowCaller:
            return await request_timeout(request)
        found = self.read_invocation(request, invocation_type, payload, received_at)
        if isinstance(found, web.Response):
            return found
        inv = found
        if inv.chain > MAX_CHAIN:  # a recursive loop: stopped, as Lambda stops it
            message = RECURSION_MESSAGE.format(count=inv.chain)
            if invocation_type != "Event":
                return service_error(400, "RecursiveInvocationException", message)
            self.async_invoker.stop_recursive(inv, message)
            return web.Response(status=202, headers={"X-Amzn-RequestId": inv.request_id})
        if invocation_type == "DryRun":
            return web.Response(status=204, headers={"X-Amzn-RequestId": inv.request_id})
        if self.durable is not None and self.durable.starts_execution(request):
            return await self.durable.invoke(request, invocation_type, payload)
        if invocation_type == "Event":
            if not self.async_invoker.accept(inv):
                return self.throttled()
            return web.Response(status=202, headers={"X-Amzn-RequestId": inv.request_id})
        if not self.pool.submit(inv):
            return self.throttled()
        answer = await asyncio.shield(inv.answer_future)
        if answer.stream is not None:  # a streaming function invoked buffered: Lambda answers with the whole body
            answer = await buffered(answer.stream)
        tail = request.headers.get("X-Amz-Log-Type") == "Tail"
        if tail:
            # Lambda's Tail log ends with the END and REPORT lines, which exist once the invocation is over (the
            # runtime's next /next): a caller who asks for it trades the early answer for the whole log.
            await asyncio.shield(inv.done)
        headers = {
            "X-Amzn-RequestId": inv.request_id,
            "X-Amz-Executed-Version": "$LATEST",
            "X-Amzn-Trace-Id": inv.trace_id or "",
            "x-amzn-Remapped-Content-Length": "0",  # as Lambda's answers have it
        }
        if answer.function_error:
            headers["X-Amz-Function-Error"] = answer.function_error
        if answer.status != 200:
            headers["X-Amzn-ErrorType"] = "ServiceException"
        if tail:
            headers["X-Amz-Log-Result"] = tail_log(inv)
        response = web.Response(
            status=answer.status, body=answer.body, headers=headers, content_type=answer.content_type
        )
        return await send(request, response, inv.request_id, self.config.client_timeout)

    def refuse_before_reading(self, request: web.Request, invocation_type: str) -> web.Response | None:
        """Refusals that need no body: an unknown function, invocation type or tenant, a body far too big."""
        config = self.config
        asked = request.match_info["function"]
        name, qualifier = split_function_ref(asked)
        qualifier = request.query.get("Qualifier", qualifier)
        if name != config.function_name and role_caller(request.headers.get("Authorization")):
            message = access_denied_message(config.region, ACCOUNT_ID, config.function_name, name)
            return service_error(403, "AccessDeniedException", message)
        if name != config.function_name or qualifier not in (None, "$LATEST"):
            arn = config.function_arn.rsplit(":", 1)[0] + f":{name}" + (f":{qualifier}" if qualifier else "")
            return service_error(404, "ResourceNotFoundException", f"Function not found: {arn}")
        if invocation_type not in ("RequestResponse", "Event", "DryRun"):
            message = f"Unsupported invocation type {invocation_type!r}"
            return service_error(400, "InvalidParameterValueException", message)
        tenant = request.headers.get("X-Amz-Tenant-Id")
        if config.tenant_isolation and not tenant:
            message = "The function uses tenant isolation mode: the invocation must give a TenantId."
            return service_error(400, "InvalidParameterValueException", message)
        if tenant and not config.tenant_isolation:
            message = "TenantId is only accepted by functions in tenant isolation mode."
            return service_error(400, "InvalidParameterValueException", message)
        if request.content_length is not None and request.content_length > MAX_READ_SIZE:
            return service_error(413, "RequestEntityTooLargeException", "Request too large")
        return None

    def read_invocation(
        self, request: web.Request, invocation_type: str, payload: bytes, received_at: float
    ) -> Invocation | web.Response:
        """The invocation the request asks for, or why it is refused (never truncated: refused, in Lambda's words)."""
        config = self.config
        limit = MAX_ASYNC_PAYLOAD if invocation_type == "Event" else MAX_SYNC_REQUEST
        if len(payload) > limit:
            if invocation_type == "Event":
                message = (
                    f"{len(payload)} byte payload is too large for the Event invocation type (limit {limit} bytes)"
                )
            else:
                message = f"Request must be smaller than {limit} bytes for the InvokeFunction operation"
            return service_error(413, "RequestEntityTooLargeException", message)
        if payload and not config.test_hooks and (problem := json_problem(payload)) is not None:
            # Lambda parses the event before anything runs; test hooks let it through, to test runtimes with it.
            message = f"Could not parse request body into json: Could not parse payload into json: {problem}"
            return service_error(400, "InvalidRequestContentException", message)
        client_context: str | None = None
        if raw_context := request.headers.get("X-Amz-Client-Context"):
            try:
                client_context = decode_client_context(raw_context)
            except ValueError:
                message = "Client context must be a valid Base64-encoded JSON object."
                return service_error(400, "InvalidRequestContentException", message)
        try:
            hooks = parse_hooks(request.headers, config.test_hooks, self.default_faults())
        except HookError as e:
            return service_error(400, "InvalidRequestContentException", str(e))
        if self.pool.stopping:
            return service_error(503, "ServiceException", "The emulator is shutting down", kind="Service")
        from_function = role_caller(request.headers.get("Authorization"))
        trace_header = request.headers.get("X-Amzn-Trace-Id") or new_trace_id()
        trace_id, chain = chained(trace_header, config.function_arn, from_function)
        return Invocation(
            payload=payload if payload else b"{}",
            invocation_type=invocation_type,
            trace_id=trace_id,
            chain=chain,
            client_context=client_context,
            tenant_id=request.headers.get("X-Amz-Tenant-Id") or None,
            hooks=hooks,
            received_at=received_at,
        )
