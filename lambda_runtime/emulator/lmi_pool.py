"""Lambda Managed Instances mode (``max_concurrency`` N), the pool's side: one environment serving up to N
invocations at once.

As the LMI execution environment is documented (lambda-managed-instances-execution-environment): the runtime keeps up
to N ``/next`` calls waiting, init is over at the first of them, the environment is never frozen, an invocation ends
with its ``/response`` or ``/error`` (not the next ``/next``), a timeout marks it failed without stopping the
runtime, and beyond N invocations in flight the caller gets 429. Log lines are attributed by their JSON ``requestId``.
The Runtime API's side is :mod:`.lmi_api`.

A timed-out invocation's handler keeps running, so its slot stays busy ("stuck") until that runtime worker asks for
work again (a ``/next`` beyond what the other busy slots allow) or the runtime is replaced: the caller beyond the free
slots gets 429 at once, as Lambda "might reject new invokes to protect invokes that are already in flight" (AWS docs,
lambda-managed-instances-troubleshooting, "Throttling and scaling issues").
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import time
from collections.abc import Callable

from lambda_runtime.emulator.config import EmulatorConfig
from lambda_runtime.emulator.environment import Environment
from lambda_runtime.emulator.invocation import Answer, Delivery, EnvState, Invocation, NextWaiter
from lambda_runtime.emulator.ledger import Ledger
from lambda_runtime.emulator.lifecycle import Lifecycle
from lambda_runtime.emulator.pool import Pool
from lambda_runtime.emulator.records import utc_stamp
from lambda_runtime.emulator.responses import exit_error
from lambda_runtime.emulator.store import Store

logger = logging.getLogger("lambda_runtime.emulator")


class LmiLifecycle(Lifecycle):
    """The life cycle, with several invocations in flight: output goes to the one it names, an exit fails them all."""

    lmi: LmiPool

    def _on_output(self, env: Environment, line: str) -> None:
        inv = self.lmi.in_flight.get(_request_id_of(line))
        target = inv.log_lines if inv is not None else env.init_lines if env.state is EnvState.INIT else None
        self.store.output_line(line, target)

    def _on_exit(self, env: Environment, returncode: int, previous: EnvState) -> None:
        now = time.time()
        self.lmi.stuck.clear()  # the runtime is gone: its stuck handlers with it
        for inv in list(self.lmi.in_flight.values()):
            del self.lmi.in_flight[inv.request_id]
            inv.record.exit_code = returncode
            if self.lmi.stopping:
                inv.record.extra["cut_short_by"] = "shutdown"
            self.ledger.finish(inv, now, "crash", env, answer=exit_error(inv.request_id, returncode))
        self.lmi.release_waiters()
        super()._on_exit(env, returncode, previous)


class LmiPool(Pool):
    """One environment; ``in_flight`` (delivered, not finished), ``stuck`` (timed out, handler still running) and
    ``queue`` (not delivered yet) stay within N."""

    def __init__(
        self, config: EmulatorConfig, store: Store, ledger: Ledger, open_port: Callable[[Environment], str]
    ) -> None:
        super().__init__(config, store, ledger, open_port)
        lifecycle = LmiLifecycle(config, store, ledger, self, open_port)
        lifecycle.lmi = self
        self._lifecycle = lifecycle
        self.envs = [lifecycle.new_environment(0)]
        self.in_flight: dict[str, Invocation] = {}
        #: Request ids of timed-out invocations whose handler may still run, oldest first: each holds a slot.
        self.stuck: collections.deque[str] = collections.deque()
        self.waiters: collections.deque[NextWaiter] = collections.deque()

    def has_room(self) -> bool:
        return len(self.in_flight) + len(self.stuck) + len(self.queue) < self.config.max_concurrency

    def release_stuck_slots(self) -> None:
        """A ``/next`` waiting beyond the busy slots comes from a worker that gave up (or finished) a stuck handler,
        or replaced one that crashed: that many stuck slots are free again (called on each ``/next`` and timeout)."""
        waiting = sum(1 for waiter in self.waiters if not waiter.gone and not waiter.future.done())
        while self.stuck and waiting + len(self.in_flight) + len(self.stuck) > self.config.max_concurrency:
            logger.info("slot of timed-out invocation %s free again", self.stuck.popleft())

    def dispatch(self) -> None:
        if self.stopping:
            return
        env = self.envs[0]
        while self.queue and self.waiters and env.state is EnvState.IDLE:
            waiter = self.waiters.popleft()
            if not waiter.gone and not waiter.future.done():
                self._deliver_to(env, waiter, self.queue[0])
        if self.queue and env.state is EnvState.STOPPED:
            self._lifecycle.start_runtime(env)
        self._changed()

    def _deliver_to(self, env: Environment, waiter: NextWaiter, inv: Invocation) -> None:
        fault = inv.hooks.take_fault("next")
        if fault is not None:
            inv.note_fault("next", fault.mode)
        if fault is not None and fault.mode != "stall":
            waiter.future.set_result(Delivery(None, fault))  # not delivered: it stays first, for the next /next
            return
        self.queue.popleft()
        env.deliveries += 1
        self.start_record(env, inv)
        self.in_flight[inv.request_id] = inv
        inv.timer = asyncio.get_running_loop().call_later(self.config.timeout, self._on_timeout, env, inv)
        waiter.future.set_result(Delivery(inv, fault))

    def end(self, env: Environment, inv: Invocation) -> None:
        """``inv`` got its result: it is over, and its slot free for the next event."""
        if self.in_flight.pop(inv.request_id, None) is inv:
            failed = inv.answer_future.result().function_error is not None
            self.ledger.finish(inv, time.time(), "error" if failed else "success", env)
            self.dispatch()

    def _on_timeout(self, env: Environment, inv: Invocation) -> None:
        """The deadline passed: the invocation fails, the runtime keeps running (its code may still finish)."""
        if self.in_flight.pop(inv.request_id, None) is not inv:
            return
        now = time.time()
        message = f"Task timed out after {self.config.timeout:.2f} seconds"
        self.ledger.platform_line(inv, f"{utc_stamp(now)} {inv.request_id} {message}")
        answer = Answer.function_failure("Sandbox.Timedout", f"RequestId: {inv.request_id} Error: {message}")
        self.ledger.finish(inv, now, "timeout", env, answer=answer)
        self.stuck.append(inv.request_id)
        logger.warning(
            "%s timed out; its slot stays busy until its handler returns or the runtime is replaced (%d of %d stuck)",
            inv.request_id,
            len(self.stuck),
            self.config.max_concurrency,
        )
        self.release_stuck_slots()
        self.dispatch()

    def release_waiters(self) -> None:
        """The runtime is gone or the emulator stops: every waiting ``/next`` gets 410."""
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.future.done():
                waiter.future.set_result(None)

    async def stop(self) -> None:
        await super().stop()
        self.release_waiters()


def _request_id_of(line: str) -> str:
    """The ``requestId`` of a JSON log line ("" for anything else: text, or output of no invocation)."""
    if '"requestId"' not in line:
        return ""
    try:
        value = json.loads(line)
    except ValueError:
        return ""
    request_id = value.get("requestId") if isinstance(value, dict) else None
    return request_id if isinstance(request_id, str) else ""
