"""Lambda Managed Instances mode, the Runtime API's side (see :mod:`.lmi_pool`): up to N ``/next`` waiting at once,
and a result post ends its invocation."""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable

from aiohttp import web

from lambda_runtime.emulator.environment import Environment
from lambda_runtime.emulator.hooks import INVOCATION_ID_HEADER
from lambda_runtime.emulator.invocation import Delivery, EnvState, Invocation, NextWaiter
from lambda_runtime.emulator.lmi_pool import LmiPool
from lambda_runtime.emulator.responses import runtime_error
from lambda_runtime.emulator.runtime_api import RuntimeApi, next_fault, not_an_environment


class LmiRuntimeApi(RuntimeApi):
    """Up to N ``/next`` waiting at once; a result post ends its invocation."""

    pool: LmiPool

    async def next(self, request: web.Request) -> web.StreamResponse:
        env = self.env_for(request)
        if env is None:
            return not_an_environment()
        if env.state not in (EnvState.INIT, EnvState.IDLE) or self.pool.stopping:
            return runtime_error(403, "InvalidStateTransition", "No runtime is running in this environment")
        waiting = [waiter for waiter in self.pool.waiters if not waiter.gone]
        if len(waiting) >= self.config.max_concurrency:
            return runtime_error(400, "InvalidStateTransition", "More /next requests waiting than max concurrency")
        if env.state is EnvState.INIT:
            env.cold_init_ms = (time.time() - env.started_at) * 1000.0
            env.start_serving()
        future: asyncio.Future[Delivery | None] = asyncio.get_running_loop().create_future()
        self.pool.waiters = collections.deque([*waiting, NextWaiter(request, future)])
        self.pool.release_stuck_slots()
        self.pool.dispatch()
        delivery = await future
        if delivery is None:
            return runtime_error(410, "EnvironmentReset", "The execution environment was reset")
        faulted = await next_fault(request, delivery.fault)  # the test hooks' faults, as in the one-at-a-time API
        if faulted is not None:
            return faulted
        inv = delivery.inv
        assert inv is not None
        return web.Response(body=inv.payload, headers=inv.hooks.next_headers(self._next_headers(inv)))

    def _lookup(self, env: Environment, request: web.Request) -> Invocation | web.Response:
        request_id = request.match_info["request_id"]
        inv = self.pool.in_flight.get(request_id)
        if inv is None:
            if self.ledger.is_finished(request_id):
                return runtime_error(410, "InvalidStateTransition", f"Invocation {request_id} is over")
            return runtime_error(400, "InvalidRequestID", f"Unknown request id {request_id!r}")
        sent = request.headers.get(INVOCATION_ID_HEADER)
        if sent is not None and sent != inv.invocation_id:
            return runtime_error(400, "InvalidInvocationID", f"{INVOCATION_ID_HEADER} {sent!r} does not match")
        return inv

    async def response(self, request: web.Request) -> web.StreamResponse:
        return await self._post(request, self._ending(request, self._record_response))

    async def error(self, request: web.Request) -> web.StreamResponse:
        return await self._post(
            request, self._ending(request, lambda inv, body: self._record_error(inv, body, request))
        )

    def _ending(
        self, request: web.Request, record: Callable[[Invocation, bytes], web.Response]
    ) -> Callable[[Invocation, bytes], web.Response]:
        def record_and_end(inv: Invocation, body: bytes) -> web.Response:
            response = record(inv, body)
            env = self.env_for(request)
            if env is not None:
                self.pool.end(env, inv)
            return response

        return record_and_end
