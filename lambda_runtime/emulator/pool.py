"""Routing events to execution environments: the bounded queue, delivery to an idle runtime, starting
runtimes on demand (up to ``concurrency``, see :mod:`.lifecycle` for what happens to them).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from lambda_runtime.emulator.config import EmulatorConfig
from lambda_runtime.emulator.environment import Environment
from lambda_runtime.emulator.invocation import Answer, Delivery, EnvState, Invocation
from lambda_runtime.emulator.ledger import Ledger
from lambda_runtime.emulator.lifecycle import Lifecycle
from lambda_runtime.emulator.store import Store

logger = logging.getLogger("lambda_runtime.emulator")

SHUTTING_DOWN = Answer(b'{"Type":"Service","Message":"The emulator is shutting down"}', status=503)  # ServiceException


class Pool:
    """Up to ``concurrency`` environments and one queue of events waiting for them."""

    def __init__(
        self, config: EmulatorConfig, store: Store, ledger: Ledger, open_port: Callable[[Environment], str]
    ) -> None:
        self.config = config
        self.store = store
        self.ledger = ledger
        # Only the pool talks to the life cycle: the APIs reach it through the three methods under "life cycle".
        self._lifecycle = Lifecycle(config, store, ledger, self, open_port)
        self.envs = [self._lifecycle.new_environment(i) for i in range(config.concurrency)]
        self.queue: collections.deque[Invocation] = collections.deque()
        self.stopping = False
        #: Called when room for one more event may have appeared (the ``Event`` queue waits for it).
        self.on_room: Callable[[], None] | None = None
        self._background: set[asyncio.Task[Any]] = set()

    # -- life cycle ----------------------------------------------------------------------------------

    def prestart(self, env: Environment) -> None:
        """Start ``env``'s runtime now, before any event (``--prestart``)."""
        self._lifecycle.start_runtime(env)

    def waiting_for_event(self, env: Environment) -> None:
        """``env`` asked for an event and none was there: it is idle from now on (and may be reclaimed)."""
        self._lifecycle.watch_idle(env)

    def init_failed(self, env: Environment, failure: Callable[[str], Answer]) -> None:
        """``env``'s runtime reported an init error: the first event waiting gets it, or else the next to come."""
        self._lifecycle.fail_init(env, failure)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a helper task that :meth:`stop` cancels if it is still running."""
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- admission -----------------------------------------------------------------------------------

    def has_room(self) -> bool:
        """Whether one more event fits: ``concurrency`` running plus ``queue_size`` waiting."""
        busy = sum(1 for env in self.envs if env.current is not None)
        return busy + len(self.queue) < self.config.concurrency + self.config.queue_size

    def submit(self, inv: Invocation) -> bool:
        """Queue an event for the next idle environment. False (nothing done) when there is no room."""
        if not self.has_room():
            return False
        self.ledger.add(inv)
        failed = next(
            (env for env in self.envs if env.pending_init_failure is not None and env.tenant == inv.tenant_id), None
        )
        if failed is not None:
            pending, failed.pending_init_failure = failed.pending_init_failure, None
            assert pending is not None
            self._lifecycle.answer_init_failure(inv, pending)
            return True
        self.queue.append(inv)
        self.dispatch()
        return True

    def take_for(self, env: Environment) -> Invocation | None:
        """Take the event waiting for ``env`` out of the queue (to give it its init failure), if any."""
        inv = self._next_for(env)
        if inv is None:
            return None
        self.queue.remove(inv)
        self._changed()
        return inv

    def withdraw(self, inv: Invocation) -> bool:
        """Take an event back out of the queue (not delivered yet). False if it is not queued any more."""
        try:
            self.queue.remove(inv)
        except ValueError:
            return False
        self.ledger.drop(inv)
        self._changed()
        return True

    def _changed(self) -> None:
        self.store.set_queued(len(self.queue))
        if self.on_room is not None:
            self.on_room()

    # -- delivery ------------------------------------------------------------------------------------

    def dispatch(self) -> None:
        """Hand queued events to idle runtimes; start runtimes (cold starts) for events nobody will take."""
        if self.stopping:
            return
        for env in self.envs:
            if self.queue and env.state is EnvState.IDLE and env.pending_next is not None:
                inv = self._next_for(env)
                if inv is not None:
                    self._deliver(env, inv)
        if self.queue:
            self._start_for_unserved()
        self._changed()

    def _next_for(self, env: Environment) -> Invocation | None:
        """The first queued event ``env`` may take: one started for it, or one of its tenant bound to none."""
        for inv in self.queue:
            if inv.bound_env == env.index or (inv.bound_env is None and inv.tenant_id == env.tenant):
                return inv
        return None

    def _start_for_unserved(self) -> None:
        """Start an environment (a cold start) for each queued event no idle or starting one will take."""
        coming = (EnvState.INIT, EnvState.IDLE)
        for inv in self.queue:
            if inv.bound_env is not None and self.envs[inv.bound_env].state not in coming:
                inv.bound_env = None  # its environment failed or went away: the next one will do
        # Idle ones here have no /next waiting (it failed or hung up): they will call again soon.
        spare = [env for env in self.envs if env.state in coming and all(i.bound_env != env.index for i in self.queue)]
        for inv in self.queue:
            if inv.bound_env is not None:
                continue
            mine = next((env for env in spare if env.tenant == inv.tenant_id), None)
            if mine is not None:
                spare.remove(mine)
                continue
            slot = next((env for env in self.envs if env.state is EnvState.STOPPED), None)
            if slot is None:
                # Tenant isolation: an idle environment of another tenant makes room (it stops; then a new round).
                other = next((env for env in spare if env.state is EnvState.IDLE), None)
                if other is not None:
                    spare.remove(other)
                    self._lifecycle.reclaim(other)
                continue  # queueing mode: it waits for a busy one to free up
            self._lifecycle.start_runtime(slot, inv.tenant_id)
            if self.config.queue_size == 0:  # queueing mode: the first environment free takes it, warm or not
                inv.bound_env = slot.index

    def _deliver(self, env: Environment, inv: Invocation) -> None:
        waiter, env.pending_next = env.pending_next, None
        assert waiter is not None
        if waiter.gone or waiter.future.done():
            return  # the runtime hung up; it will call again or exit
        fault = inv.hooks.take_fault("next")
        env.thaw()
        if fault is not None:
            inv.note_fault("next", fault.mode)
        if fault is not None and fault.mode != "stall":
            waiter.future.set_result(Delivery(None, fault))  # not delivered: it stays first in the queue
            return
        self.queue.remove(inv)
        env.deliver(inv)
        self.start_record(env, inv)
        inv.timer = asyncio.get_running_loop().call_later(self.config.timeout, self._lifecycle.on_timeout, env, inv)
        waiter.future.set_result(Delivery(inv, fault))

    def start_record(self, env: Environment, inv: Invocation) -> None:
        """``inv`` is delivered to ``env`` now: its deadline, its share of the cold start, its START line."""
        now = time.time()
        inv.record.delivered_at = now
        inv.record.runtime_pid = env.pid
        inv.record.environment = env.instance
        inv.deadline_ms = inv.record.deadline_ms = int((now + self.config.timeout) * 1000)
        if env.cold_init_ms is not None:
            inv.record.init_ms, env.cold_init_ms = env.cold_init_ms, None
        if env.cold_restore_ms is not None:
            inv.record.restore_ms, env.cold_restore_ms = env.cold_restore_ms, None
            inv.log_lines[:0] = env.init_lines
        self.ledger.platform_line(inv, f"START RequestId: {inv.request_id} Version: $LATEST")

    async def stop(self) -> None:
        """Answer every waiting caller, stop every runtime at once (no orphans)."""
        self.stopping = True
        while self.queue:
            inv = self.queue.popleft()
            inv.answer(SHUTTING_DOWN)
            self.ledger.drop(inv)
        self._changed()
        await asyncio.gather(*(env.stop(self.config.kill_grace) for env in self.envs))
        for env in self.envs:
            env.resolve_pending_next()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
