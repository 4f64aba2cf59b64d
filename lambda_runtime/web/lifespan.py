"""ASGI lifespan: startup once at init, shutdown when the process is told to stop (ASGI spec, "Lifespan Protocol")."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from lambda_runtime.errors import LambdaRuntimeError
from lambda_runtime.web.eventloop import LoopThread
from lambda_runtime.web.types import ASGIApp, Message

logger = logging.getLogger("lambda_runtime.web")

MODES = ("auto", "on", "off")


class LifespanFailure(LambdaRuntimeError):
    """The app reported `lifespan.startup.failed` (or `shutdown.failed`) without raising an exception of its own."""


class Lifespan:
    """Drives one app's lifespan on the shared loop. `state` is what the app stored; requests get a copy of it."""

    def __init__(self, app: ASGIApp, mode: str, loop: LoopThread) -> None:
        if mode not in MODES:
            raise ValueError(f"lifespan must be one of {', '.join(MODES)}; got {mode!r}")
        self.app = app
        self.mode = mode
        self.loop = loop
        self.state: dict[str, Any] = {}
        self.running = False
        self._inbox: asyncio.Queue[Message] | None = None
        self._outbox: asyncio.Queue[Message | None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._error: BaseException | None = None

    def startup(self) -> None:
        """Run the app's startup; raise its exception if it fails (an init error, since this runs at init)."""
        if self.mode != "off":
            self.loop.call(self._startup())

    def shutdown(self, timeout: float) -> None:
        """Run the app's shutdown, waiting at most `timeout` seconds; failures are logged, not raised."""
        if not self.running:
            return
        self.running = False
        try:
            self.loop.call(self._shutdown(), timeout)
        except Exception:
            logger.exception("ASGI lifespan shutdown failed")

    async def _startup(self) -> None:
        self._inbox, self._outbox = asyncio.Queue(), asyncio.Queue()
        self._task = asyncio.ensure_future(self._main())
        await self._inbox.put({"type": "lifespan.startup"})
        reply = await self._outbox.get()
        if reply is not None and reply["type"] == "lifespan.startup.complete":
            self.running = True
            return
        if reply is not None:  # startup.failed: Starlette re-raises the exception right after, so wait for it
            await asyncio.wait([self._task], timeout=1.0)
        if self._error is not None and (reply is not None or self.mode == "on"):
            raise self._error
        if reply is not None:
            raise LifespanFailure(str(reply.get("message") or "ASGI lifespan startup failed"))
        if self.mode == "on":
            raise LifespanFailure("lifespan='on' but the app returned without completing lifespan startup")
        logger.debug("The ASGI app does not support lifespan; carrying on without it")

    async def _shutdown(self) -> None:
        assert self._inbox is not None and self._outbox is not None
        await self._inbox.put({"type": "lifespan.shutdown"})
        reply = await self._outbox.get()
        if reply is not None and reply["type"] == "lifespan.shutdown.failed":
            raise LifespanFailure(str(reply.get("message") or "ASGI lifespan shutdown failed"))
        if reply is None and self._error is not None:
            raise self._error

    async def _main(self) -> None:
        assert self._inbox is not None and self._outbox is not None
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}
        try:
            await self.app(scope, self._inbox.get, self._send)
        except BaseException as error:
            self._error = error
        finally:
            await self._outbox.put(None)

    async def _send(self, message: Message) -> None:
        assert self._outbox is not None
        await self._outbox.put(message)
