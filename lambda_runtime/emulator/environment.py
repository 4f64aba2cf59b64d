"""An execution environment: one runtime child process, its output, and where it is in its life cycle."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import math
import os
import signal
import sys
import time
from collections.abc import Callable

from lambda_runtime.emulator.invocation import EnvState, Invocation, NextWaiter, PendingFailure
from lambda_runtime.emulator.output import OutputPipe
from lambda_runtime.emulator.procfs import group_members, signal_thread, tree_peak_rss_kb
from lambda_runtime.emulator.watchdog import Watchdog

logger = logging.getLogger("lambda_runtime.emulator")

#: SIGTERM to SIGKILL at shutdown for a runtime with an internal extension (AWS docs, "Lambda Extensions API",
#: Shutdown phase: "up to 300 ms (500 ms for a runtime with an internal extension)").
INTERNAL_EXTENSION_BUDGET_S = 0.5


#: ``prctl`` option: the signal the calling process gets when its parent dies (Linux, prctl(2)).
PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> Callable[[], None]:
    """A ``preexec_fn`` making the runtime get SIGKILL when the emulator dies, even by SIGKILL itself.

    SIGKILL, because the runtime is often frozen (SIGSTOP) between invocations, and a stopped process does not act
    on any other signal until it is continued. The death signal survives ``execve`` (prctl(2)). If the emulator
    died between the fork and the ``prctl``, the child is already someone else's: it exits at once.
    """

    def in_child() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0 or os.getppid() != parent_pid:
            os._exit(1)

    return in_child


class RegisteredExtension:
    """An extension the runtime registered (Extensions API): its name, its events, its waiting ``/event/next``."""

    def __init__(self, name: str, events: tuple[str, ...]) -> None:
        self.name = name
        self.events = events
        self.waiter: asyncio.Future[str] | None = None


class Environment:
    """One execution environment. It owns at most one runtime process at a time.

    The server drives it; the environment calls back ``on_output(env, line)`` for every output line and
    ``on_exit(env, returncode, state_before_exit)`` once its process has exited and its process group has
    been cleaned up (the environment is then STOPPED and may be started again from the callback).
    """

    def __init__(
        self,
        index: int,
        on_output: Callable[[Environment, str], None],
        on_exit: Callable[[Environment, int, EnvState], None],
    ) -> None:
        self.index = index
        self.state = EnvState.STOPPED
        self.process: asyncio.subprocess.Process | None = None
        #: Pid of the last runtime process started (kept after it exits), and its exit status once it exited.
        self.last_pid: int | None = None
        self.last_returncode: int | None = None
        #: Incremented at each process start.
        self.generation = 0
        #: The environment's number in the pool, new at each process start (1, 2, ...: each one a cold start).
        self.instance: int | None = None
        #: The tenant this environment serves (tenant isolation mode), set when it starts.
        self.tenant: str | None = None
        #: Events delivered since the process started.
        self.deliveries = 0
        #: ``time.time()`` at the last process start.
        self.started_at = 0.0
        #: The invocation delivered and not yet ended (until the runtime's following ``/next``).
        self.current: Invocation | None = None
        #: The ``/next`` request waiting for an event.
        self.pending_next: NextWaiter | None = None
        #: Init duration (ms) waiting to be attached to the first invocation after a cold start.
        self.cold_init_ms: float | None = None
        #: SnapStart: when the paused runtime was continued (the restore), and the restore duration (ms) waiting
        #: to be attached to the first invocation after it.
        self.restored_at: float | None = None
        self.cold_restore_ms: float | None = None
        #: SnapStart: the runtime's address (host, port) on its ``/restore/next`` call and on its first ``/next``
        #: after the restore: a runtime that reconnects after a restore shows two different ports.
        self.restore_peer: object = None
        self.after_restore_peer: object = None
        #: An init failure nobody was waiting for: the next caller gets it (see ``/init/error``).
        self.pending_init_failure: PendingFailure | None = None
        #: The process group is stopped (SIGSTOP) between invocations.
        self.frozen = False
        #: Peak RSS of the process tree seen so far, kB.
        self.peak_memory_kb: int | None = None
        #: The init phase ran out of time and the process was killed for it.
        self.init_timed_out = False
        #: Output lines printed during the current init phase.
        self.init_lines: list[str] = []
        #: ``host:port`` of this environment's Runtime API (its ``AWS_LAMBDA_RUNTIME_API``).
        self.runtime_api = ""
        #: The runtime's stdout and stderr.
        self.output: OutputPipe | None = None
        #: Extensions registered by the current process, by identifier.
        self.extensions: dict[str, RegisteredExtension] = {}
        #: SIGTERM → SIGKILL at shutdown when an extension is registered (EmulatorConfig.shutdown_budget).
        self.shutdown_budget_s = INTERNAL_EXTENSION_BUDGET_S
        #: Kills the process group if the emulator dies without stopping it (set by the server).
        self.watchdog: Watchdog | None = None
        self._on_output = on_output
        self._on_exit = on_exit
        self._watcher: asyncio.Task[None] | None = None
        self._start_task: asyncio.Task[None] | None = None
        self._reaped = asyncio.Event()

    # -- the state machine: every move goes through one of these, which assert it is a legal one ---------

    def _move(self, to: EnvState, *legal_from: EnvState) -> None:
        assert self.state in legal_from, f"environment {self.index}: illegal move {self.state.value} -> {to.value}"
        self.state = to

    def wait_for_event(self, waiter: NextWaiter) -> None:
        """The runtime called ``/next``: the init or the invocation is over, it is idle (unless being reset)."""
        assert self.current is None, "the current invocation ends before the runtime waits for another"
        self.pending_next = waiter
        if self.state is not EnvState.RESETTING:
            self._move(EnvState.IDLE, EnvState.INIT, EnvState.IDLE, EnvState.BUSY)

    def start_serving(self) -> None:
        """Managed Instances: init ends at the first ``/next``; from then on the environment is IDLE, never BUSY."""
        if self.state is EnvState.INIT:
            self._move(EnvState.IDLE, EnvState.INIT)

    def deliver(self, inv: Invocation) -> None:
        """An event goes to the idle runtime: the invocation lasts until its next ``/next``."""
        assert self.current is None
        self._move(EnvState.BUSY, EnvState.IDLE)
        self.current = inv
        self.deliveries += 1

    def take_current(self) -> Invocation | None:
        """The invocation in progress ends now (``/next``, exit, timeout, a late init error): it is handed back."""
        inv, self.current = self.current, None
        return inv

    def reset(self) -> None:
        """The runtime is to be stopped (init error, timeout, reclaim, shutdown): nothing more is delivered."""
        self._move(EnvState.RESETTING, EnvState.INIT, EnvState.IDLE, EnvState.BUSY, EnvState.RESETTING)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def alive(self) -> bool:
        return self.state is not EnvState.STOPPED

    # -- process life cycle ------------------------------------------------------------------------

    def begin_start(self, command: list[str], env: dict[str, str], cwd: str) -> asyncio.Task[None]:
        """Enter the init state at once and start the process in a task (its failure propagates there)."""
        self._move(EnvState.INIT, EnvState.STOPPED)
        self.generation += 1
        self.started_at = time.time()
        self.cold_init_ms = None
        self.restored_at = None
        self.cold_restore_ms = None
        self.restore_peer = self.after_restore_peer = self.last_returncode = None
        self.init_lines = []
        self.deliveries = 0
        self.frozen = False
        self.peak_memory_kb = None
        self.init_timed_out = False
        self.extensions = {}
        self._reaped = asyncio.Event()
        self._start_task = asyncio.get_running_loop().create_task(self._spawn(command, env, cwd))
        return self._start_task

    async def _spawn(self, command: list[str], env: dict[str, str], cwd: str) -> None:
        output = OutputPipe(lambda line: self._on_output(self, line))
        try:
            process = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output.write_fd,
                stderr=output.write_fd,
                cwd=cwd,
                env=env,
                start_new_session=True,
                preexec_fn=die_with_parent(os.getpid()) if sys.platform == "linux" else None,
            )
        except BaseException:
            output.close_unused()
            self.last_pid = None
            self._move(EnvState.STOPPED, EnvState.INIT, EnvState.RESETTING)
            self._reaped.set()
            raise
        self.process = process
        self.last_pid = process.pid
        if self.watchdog is not None:
            self.watchdog.watch(process.pid)
        self.output = output
        await output.attach()
        logger.debug("env %d: runtime started, pid %d: %s", self.index, process.pid, command)
        self._watcher = asyncio.get_running_loop().create_task(self._watch(process, output))

    async def _watch(self, process: asyncio.subprocess.Process, output: OutputPipe) -> None:
        reaped = self._reaped
        returncode = self.last_returncode = await process.wait()
        # The whole sandbox goes with the runtime: no stray children survive it.
        self.signal_group(signal.SIGKILL, pgid=process.pid)
        if self.watchdog is not None:
            self.watchdog.forget(process.pid)
        for ext in self.extensions.values():  # their threads died with the process: end their /event/next calls
            if ext.waiter is not None and not ext.waiter.done():
                ext.waiter.cancel()
        await output.wait_closed(timeout=2.0)
        previous, self.process = self.state, None
        self._move(EnvState.STOPPED, EnvState.INIT, EnvState.IDLE, EnvState.BUSY, EnvState.RESETTING)
        try:
            self._on_exit(self, returncode, previous)
        finally:
            reaped.set()

    async def catch_up_output(self) -> None:
        """Let the output the runtime wrote so far be read (before acting on its next HTTP call)."""
        if self.output is not None:
            await self.output.catch_up()

    def signal_group(self, sig: int, pgid: int | None = None) -> bool:
        """Send ``sig`` to the runtime's process group. False if there is no such group (any more)."""
        if pgid is None:
            pgid = self.pid
        if pgid is None:
            return False
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    async def stop(self, grace: float) -> None:
        """Stop the runtime: SIGTERM to its group, SIGKILL after ``grace`` seconds; wait until reaped.

        With an extension registered this is Lambda's Shutdown phase: SHUTDOWN events to the extensions that asked
        for them, SIGTERM, and SIGKILL after the budget of a runtime with an internal extension, whatever ``grace``
        says. Without one, Lambda would not send SIGTERM at all; here it does, as a courtesy to local cleanup.
        """
        if self._start_task is not None and not self._start_task.done():
            with contextlib.suppress(BaseException):
                await self._start_task
        if self.state is EnvState.STOPPED:
            return
        self.reset()
        # A frozen process cannot act on SIGTERM: thaw it first, so that it can clean up in its grace period.
        self.signal_group(signal.SIGCONT)
        self.frozen = False
        if self.extensions:
            grace = self.shutdown_budget_s
            names = ", ".join(ext.name for ext in self.extensions.values())
            logger.info(
                "env %d: shutdown phase: extensions registered (%s), SIGKILL after %.0f ms",
                self.index,
                names,
                grace * 1000,
            )
            for ext in self.extensions.values():
                if "SHUTDOWN" in ext.events and ext.waiter is not None and not ext.waiter.done():
                    ext.waiter.set_result("spindown")
        self.terminate()
        await self.wait_reaped(grace, kill=True)

    def terminate(self) -> None:
        """SIGTERM to the runtime's main thread, and to the other processes of its group (job workers, children).

        Aimed at the main thread: a process-wide signal goes to any thread of the process that is ready for it, and
        a runtime just continued (SIGCONT) has its main thread still busy with that continue, so the kernel picks
        another one, e.g. a job worker. A Python runtime waits for its next event in a read on the main thread,
        which only a signal delivered to that thread interrupts: it would never run its handler, nor its shutdown
        hooks, until SIGKILL came.
        """
        pid = self.pid
        if pid is None:
            return
        if not signal_thread(pid, pid, signal.SIGTERM):
            self.signal_group(signal.SIGTERM)  # no tgkill here: the process-wide signal, as best we can
            return
        for member in group_members(pid):
            if member != pid:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(member, signal.SIGTERM)

    async def wait_reaped(self, grace: float, kill: bool) -> bool:
        """Wait up to ``grace`` seconds for the process to be reaped; then SIGKILL it if ``kill``."""
        reaped, pid = self._reaped, self.pid
        try:
            await asyncio.wait_for(reaped.wait(), timeout=grace)
            return True
        except asyncio.TimeoutError:
            if not kill:
                return False
        logger.warning("env %d: runtime pid %s did not exit in %.1f s, killing it", self.index, pid, grace)
        self.signal_group(signal.SIGKILL, pgid=pid)
        await reaped.wait()
        return True

    def freeze(self) -> None:
        """Suspend the whole process group (SIGSTOP) until :meth:`thaw`."""
        if not self.frozen and self.signal_group(signal.SIGSTOP):
            self.frozen = True

    def thaw(self) -> None:
        if self.frozen:
            self.frozen = False
            self.signal_group(signal.SIGCONT)

    def measure_memory_mb(self) -> int | None:
        """Peak RSS of the runtime's process tree so far, MB (kept per environment: it never goes down)."""
        pid = self.pid
        if pid is not None:
            kb = tree_peak_rss_kb(pid)
            if kb is not None:
                self.peak_memory_kb = max(self.peak_memory_kb or 0, kb)
        if self.peak_memory_kb is None:
            return None
        return max(1, math.ceil(self.peak_memory_kb / 1024))

    def resolve_pending_next(self) -> None:
        """Release a waiting ``/next`` without an event (the environment is being reset)."""
        waiter, self.pending_next = self.pending_next, None
        if waiter is not None and not waiter.future.done():
            waiter.future.set_result(None)
