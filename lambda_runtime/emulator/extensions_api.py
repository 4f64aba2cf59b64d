"""The Extensions API (2020-01-01), as much of it as an internal extension uses: ``/extension/register`` and
``/extension/event/next``, on each environment's Runtime API port.

Why the emulator has it: on Lambda, registering any extension is what makes the Shutdown phase send the runtime
SIGTERM, with "up to 300 ms (500 ms for a runtime with an internal extension)" before SIGKILL (AWS docs, "Lambda
Extensions API", Shutdown phase). An environment with a registered extension is stopped that way here too (see
``Environment.stop``). Extensions registered here are the runtime's own threads, so internal ones: the budget is
500 ms. ``INVOKE`` events are not delivered (no test needs them): registering for them is refused, clearly.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable

from aiohttp import web

from lambda_runtime.emulator.config import EmulatorConfig
from lambda_runtime.emulator.environment import Environment, RegisteredExtension
from lambda_runtime.emulator.invocation import EnvState
from lambda_runtime.emulator.responses import runtime_error

VERSION = "2020-01-01"
NAME_HEADER = "Lambda-Extension-Name"
ID_HEADER = "Lambda-Extension-Identifier"


class ExtensionsApi:
    def __init__(self, config: EmulatorConfig, env_for: Callable[[web.BaseRequest], Environment | None]) -> None:
        self.config = config
        self.env_for = env_for

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(f"/{VERSION}/extension/register", self.register)
        app.router.add_get(f"/{VERSION}/extension/event/next", self.next)

    async def register(self, request: web.Request) -> web.StreamResponse:
        env = self.env_for(request)
        name = request.headers.get(NAME_HEADER, "")
        if env is None or env.state is not EnvState.INIT:
            return runtime_error(403, "Extension.InvalidStateTransition", "Extensions register during init only")
        if not name:
            return runtime_error(400, "Extension.InvalidRequest", f"The {NAME_HEADER} header is missing")
        if any(ext.name == name for ext in env.extensions.values()):
            return runtime_error(409, "Extension.AlreadyRegistered", f"Extension {name!r} is already registered")
        try:
            events = json.loads(await request.read() or b"{}").get("events", [])
        except (ValueError, AttributeError):
            return runtime_error(400, "Extension.InvalidRequest", "The body is not a JSON object with 'events'")
        if not isinstance(events, list) or any(event not in ("INVOKE", "SHUTDOWN") for event in events):
            return runtime_error(400, "Extension.InvalidRequest", f"events must list INVOKE or SHUTDOWN: {events!r}")
        if "INVOKE" in events:
            return runtime_error(400, "Extension.InvalidRequest", "This emulator does not deliver INVOKE events")
        identifier = str(uuid.uuid4())
        env.extensions[identifier] = RegisteredExtension(name, tuple(events))
        body = {"functionName": self.config.function_name, "functionVersion": "$LATEST", "handler": self.config.handler}
        return web.json_response(body, headers={ID_HEADER: identifier})

    async def next(self, request: web.Request) -> web.StreamResponse:
        env = self.env_for(request)
        ext = env.extensions.get(request.headers.get(ID_HEADER, "")) if env is not None else None
        if env is None or ext is None:
            return runtime_error(403, "Extension.UnknownExtensionIdentifier", f"Unknown {ID_HEADER}")
        # Subscribed to nothing, or to SHUTDOWN only: the answer comes at shutdown, if ever (Environment.stop).
        ext.waiter = asyncio.get_running_loop().create_future()
        reason = await ext.waiter
        deadline_ms = int((time.time() + env.shutdown_budget_s) * 1000)
        return web.json_response({"eventType": "SHUTDOWN", "shutdownReason": reason, "deadlineMs": deadline_ms})
