"""The life of the runtime processes: start (a cold start), init timeout and failure, exit and crash,
invocation timeout. Each environment calls back here; the pool decides what runs where.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import signal
import time
from collections.abc import Callable
from typing import Protocol

from lambda_runtime.emulator.config import EmulatorConfig
from lambda_runtime.emulator.environment import Environment
from lambda_runtime.emulator.invocation import Answer, EnvState, Invocation, PendingFailure
from lambda_runtime.emulator.ledger import Ledger
from lambda_runtime.emulator.records import utc_stamp
from lambda_runtime.emulator.responses import exit_error
from lambda_runtime.emulator.store import Store

logger = logging.getLogger("lambda_runtime.emulator")


class Scheduler(Protocol):
    """What the life cycle needs of the pool: whether it is stopping, the event waiting for an environment, a
    new round."""

    @property
    def stopping(self) -> bool: ...

    def take_for(self, env: Environment) -> Invocation | None: ...

    def dispatch(self) -> None: ...


class Lifecycle:
    """``open_port(env)`` gives an environment its Runtime API address (``host:port``) at its first start."""

    def __init__(
        self,
        config: EmulatorConfig,
        store: Store,
        ledger: Ledger,
        pool: Scheduler,
        open_port: Callable[[Environment], str],
    ) -> None:
        self.config = config
        self.store = store
        self.ledger = ledger
        self.pool = pool
        self._open_port = open_port
        self._instances = itertools.count(1)
        self._reclaiming: set[asyncio.Task[None]] = set()

    def new_environment(self, index: int) -> Environment:
        env = Environment(index, self._on_output, self._on_exit)
        env.shutdown_budget_s = self.config.shutdown_budget
        return env

    def start_runtime(self, env: Environment, tenant: str | None = None) -> None:
        """A cold start: a new runtime process in ``env`` (a new environment number), for ``tenant``."""
        if not env.runtime_api:
            env.runtime_api = self._open_port(env)
        command = self.config.command
        task = env.begin_start(command, self.config.runtime_env(env.runtime_api), self.config.task_root)
        env.instance = next(self._instances)
        env.tenant = tenant
        task.add_done_callback(lambda t: self._on_start_done(env, t))
        loop = asyncio.get_running_loop()
        loop.call_later(self.config.init_timeout, self._on_init_timeout, env, env.generation)

    def watch_idle(self, env: Environment) -> None:
        """``env`` waits for an event: reclaim it if it is still waiting after ``idle_timeout``."""
        if self.config.idle_timeout is not None:
            loop = asyncio.get_running_loop()
            loop.call_later(self.config.idle_timeout, self._reclaim_if_idle, env, env.generation, env.deliveries)

    def _reclaim_if_idle(self, env: Environment, generation: int, deliveries: int) -> None:
        if env.generation != generation or env.deliveries != deliveries or env.state is not EnvState.IDLE:
            return
        if self.pool.stopping:
            return
        self.reclaim(env)

    def reclaim(self, env: Environment) -> None:
        """Stop an idle environment (its slot is free again once the process is gone)."""
        logger.info("env %d: environment %s reclaimed (idle)", env.index, env.instance)
        env.reset()
        task = asyncio.get_running_loop().create_task(env.stop(self.config.kill_grace))
        self._reclaiming.add(task)
        task.add_done_callback(self._reclaiming.discard)

    def _on_init_timeout(self, env: Environment, generation: int) -> None:
        if env.generation != generation or env.state is not EnvState.INIT or self.pool.stopping:
            return
        logger.warning("runtime init did not finish in %.2f s, killing it", self.config.init_timeout)
        env.init_timed_out = True
        env.signal_group(signal.SIGKILL)

    def _on_start_done(self, env: Environment, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        error = task.exception()
        logger.error("cannot start the runtime %s: %s", self.config.command, error)
        message = f"Error: cannot start the runtime: {error}"

        def failure(rid: str) -> Answer:
            return Answer.function_failure("Runtime.InvalidEntrypoint", f"RequestId: {rid} {message}")

        self.fail_init(env, failure)
        self.pool.dispatch()

    def _on_output(self, env: Environment, line: str) -> None:
        target = env.current.log_lines if env.current is not None else None
        if target is None and env.state is EnvState.INIT:
            target = env.init_lines
        self.store.output_line(line, target)

    def _on_exit(self, env: Environment, returncode: int, previous: EnvState) -> None:
        now = time.time()
        inv = env.take_current()
        env.resolve_pending_next()
        if inv is not None:
            inv.record.exit_code = returncode
            if self.pool.stopping:
                inv.record.extra["cut_short_by"] = "shutdown"
            if not inv.answered:
                logger.warning("runtime exited (status %d) during invocation %s", returncode, inv.request_id)
            self.ledger.finish(inv, now, "crash", env, answer=exit_error(inv.request_id, returncode))
        elif previous is EnvState.INIT:
            if env.init_timed_out:
                message = f"Init timed out after {self.config.init_timeout:.2f} seconds"

                def timed_out(rid: str) -> Answer:
                    return Answer.function_failure("Sandbox.Timedout", f"RequestId: {rid} Error: {message}")

                self.fail_init(env, timed_out, returncode=returncode)
            else:
                logger.warning("runtime exited (status %d) during init", returncode)
                self.fail_init(env, lambda rid: exit_error(rid, returncode), returncode=returncode)
        elif previous is not EnvState.RESETTING and not self.pool.stopping:
            logger.warning("runtime exited (status %d) between invocations", returncode)
        else:
            logger.debug("runtime exited (status %d)", returncode)
        self.pool.dispatch()

    def fail_init(self, env: Environment, failure: Callable[[str], Answer], returncode: int | None = None) -> None:
        """An init failed: the first event waiting gets it, or else the next one to come."""
        pending = PendingFailure(
            answer=failure,
            returncode=returncode,
            init_ms=(time.time() - env.started_at) * 1000.0 if env.started_at else None,
            runtime_pid=env.last_pid,
            init_lines=tuple(env.init_lines),
            environment=env.instance,
        )
        inv = self.pool.take_for(env)
        if inv is not None:
            self.answer_init_failure(inv, pending)
        else:
            env.pending_init_failure = pending

    def answer_init_failure(self, inv: Invocation, pending: PendingFailure) -> None:
        inv.record.init_ms = pending.init_ms
        inv.record.exit_code = pending.returncode
        inv.record.runtime_pid = pending.runtime_pid
        inv.record.environment = pending.environment
        inv.log_lines[:0] = pending.init_lines
        self.ledger.finish(inv, time.time(), "init_error", answer=pending.answer(inv.request_id))

    def on_timeout(self, env: Environment, inv: Invocation) -> None:
        """The deadline passed before the runtime asked for the next event: reset the environment."""
        if inv.finished or env.current is not inv:
            return
        now = time.time()
        message = f"Task timed out after {self.config.timeout:.2f} seconds"
        logger.warning("%s timed out after %.2f s", inv.request_id, self.config.timeout)
        self.ledger.platform_line(inv, f"{utc_stamp(now)} {inv.request_id} {message}")
        env.take_current()
        timed_out = Answer.function_failure("Sandbox.Timedout", f"RequestId: {inv.request_id} Error: {message}")
        self.ledger.finish(inv, now, "timeout", env, answer=timed_out)
        env.reset()
        env.signal_group(signal.SIGKILL)  # the exit watcher then cleans up; the next event gets a fresh runtime
