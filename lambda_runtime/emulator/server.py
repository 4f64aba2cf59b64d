"""The emulator's asyncio core: one aiohttp application, listening on the Invoke API port and on one
Runtime API port per execution environment, wired to the pool, the ledger and the async queue.

Everything here runs on one event loop (the CLI's, or the background thread of ``Emulator``); only the
:class:`~lambda_runtime.emulator.store.Store`, guarded by a lock, is read from other threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from lambda_runtime.emulator.async_queue import AsyncInvoker
from lambda_runtime.emulator.config import MAX_READ_SIZE, EmulatorConfig
from lambda_runtime.emulator.durable import DurableApi
from lambda_runtime.emulator.environment import Environment
from lambda_runtime.emulator.extensions_api import ExtensionsApi
from lambda_runtime.emulator.invoke_api import InvokeApi
from lambda_runtime.emulator.ledger import Ledger
from lambda_runtime.emulator.listener import Listener
from lambda_runtime.emulator.lmi_api import LmiRuntimeApi
from lambda_runtime.emulator.lmi_pool import LmiPool
from lambda_runtime.emulator.pool import Pool
from lambda_runtime.emulator.runtime_api import RuntimeApi
from lambda_runtime.emulator.store import JsonLinesFile, Store
from lambda_runtime.emulator.stream_api import StreamApi
from lambda_runtime.emulator.timeline import PAGE, Timeline
from lambda_runtime.emulator.trailers import tapped_handlers
from lambda_runtime.emulator.watchdog import Watchdog

logger = logging.getLogger("lambda_runtime.emulator")


class EmulatorServer:
    """The emulator proper. ``await start()``, then ``await stop()``; see :class:`Emulator` for threads.

    Each environment talks to the Runtime API on a port of its own (the first one's is open from the start,
    ``runtime_api``; the others' from their first start), which is how a request is routed to its
    environment (so ``AWS_LAMBDA_RUNTIME_API`` differs between environments). The Invoke API port serves no
    Runtime API: a call there comes from no environment, gets 403 and changes nothing.
    """

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.host = config.host
        self.port = 0
        self.store = Store(config.keep_records)
        self.report = JsonLinesFile(config.report_file)
        self.ledger = Ledger(config, self.store, self.report)
        managed = config.max_concurrency > 0  # Lambda Managed Instances mode: lmi_pool.py, lmi_api.py
        self.pool = (LmiPool if managed else Pool)(config, self.store, self.ledger, self._open_runtime_port)
        self.async_invoker = AsyncInvoker(config, self.pool, self.store)
        self.runtime = (LmiRuntimeApi if managed else RuntimeApi)(config, self.pool, self.ledger, self._env_for)
        self.extensions = ExtensionsApi(config, self._env_for)
        self.durable = DurableApi(config)
        self.invoke_api = InvokeApi(config, self.pool, self.async_invoker, lambda: self.default_faults, self.durable)
        self.stream_api = StreamApi(self.invoke_api)
        self.timeline = Timeline(config, self.store, self.ledger)  # the page at /_emulator/
        self.watchdog = Watchdog()
        for env in self.pool.envs:
            env.watchdog = self.watchdog
        #: Faults for every invocation without an ``X-Emulator-Faults`` header (``Emulator.inject_faults``).
        self.default_faults: Mapping[str, Any] | None = None
        self._env_by_port: dict[int, Environment] = {}
        self._sockets: list[socket.socket] = []
        self._listeners: list[Listener] = []
        self._runner: web.AppRunner | None = None
        self._stopping = False
        self._stopped: asyncio.Event | None = None

    @property
    def env(self) -> Environment:
        """The first execution environment (the only one unless ``concurrency`` > 1)."""
        return self.pool.envs[0]

    @property
    def url(self) -> str:
        return f"http://{self._connect_host}:{self.port}"

    @property
    def runtime_api(self) -> str:
        """What the first environment's runtime gets in ``AWS_LAMBDA_RUNTIME_API``."""
        return self.env.runtime_api

    @property
    def _connect_host(self) -> str:
        """Where a local client connects to: a wildcard bind address becomes loopback."""
        host = self.host
        if host in ("", "0.0.0.0"):
            return "127.0.0.1"
        if host == "::":
            return "[::1]"
        return f"[{host}]" if ":" in host else host

    async def start(self) -> None:
        self._stopped = asyncio.Event()
        app = web.Application(client_max_size=MAX_READ_SIZE)
        self.runtime.add_routes(app)
        self.extensions.add_routes(app)
        self.invoke_api.add_routes(app)
        self.stream_api.add_routes(app)
        self.timeline.add_routes(app)
        self.durable.add_routes(app)
        # aiohttp's keep-alive timer runs from the connection's start and from the end of each answer, and closes
        # the connection if no whole request head came by then: the header timeout of a slow or silent caller.
        self._runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=2.0, keepalive_timeout=self.config.client_timeout
        )
        await self._runner.setup()
        try:
            self.report.open()
            self.async_invoker.open()
            sock = self._listen(self.config.port)
        except BaseException:
            await self._runner.cleanup()
            self.report.close()
            self.watchdog.close()
            await self.async_invoker.stop()
            raise
        assert self._runner.server is not None
        self._listeners.append(Listener(sock, self._runner.server))
        self.port = int(sock.getsockname()[1])
        self.env.runtime_api = self._open_runtime_port(self.env)
        try:
            await self.durable.start(self.url)
        except BaseException:
            await self.stop()
            raise
        logger.info(
            "emulator listening on %s: function %s, handler %s, timeout %s s, memory %d MB, concurrency %d",
            self.url,
            self.config.function_name,
            self.config.handler,
            self.config.timeout,
            self.config.memory_size,
            self.config.concurrency,
        )
        logger.info("the last invocations, live: %s%s", self.url, PAGE)
        if self.config.prestart:
            self.pool.prestart(self.env)

    def _open_runtime_port(self, env: Environment) -> str:
        """The Runtime API address of ``env``: a port of its own."""
        assert self._runner is not None and self._runner.server is not None
        # Bound and listening before the runtime starts: it may connect before the listener is serving.
        sock = self._listen(0)
        port = int(sock.getsockname()[1])
        self._env_by_port[port] = env
        # Tapped connections: aiohttp drops the trailers of a streamed /response (see trailers.py).
        self._listeners.append(Listener(sock, tapped_handlers(self._runner.server)))
        logger.debug("env %d: Runtime API on port %d", env.index, port)
        return f"{self._connect_host}:{port}"

    def _listen(self, port: int) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.config.host else socket.AF_INET
        sock = socket.create_server((self.config.host, port), family=family)
        self._sockets.append(sock)
        return sock

    def _env_for(self, request: web.BaseRequest) -> Environment | None:
        """The environment a Runtime API request comes from, by the port it came in on (None: no environment's)."""
        sockname = request.transport.get_extra_info("sockname") if request.transport is not None else None
        port = sockname[1] if isinstance(sockname, tuple) and len(sockname) > 1 else self.port
        return self._env_by_port.get(port)

    async def stop(self) -> None:
        """Drop pending events, answer every waiting caller, stop every runtime (no orphans), close."""
        if self._stopping:
            if self._stopped is not None:
                await self._stopped.wait()
            return
        self._stopping = True
        try:
            await self.async_invoker.stop()
            await self.durable.stop()
            await self.pool.stop()
            for listener in self._listeners:
                listener.close()
            if self._runner is not None:
                await self._runner.cleanup()
        finally:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.close()
            self.report.close()
            self.watchdog.close()
            logger.info("emulator stopped")
            if self._stopped is not None:
                self._stopped.set()

    async def wait_stopped(self) -> None:
        assert self._stopped is not None
        await self._stopped.wait()
