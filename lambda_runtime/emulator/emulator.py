"""``Emulator``: the emulator as a context manager, serving from a background thread with its own loop.

Example::

    with Emulator("app.handler", task_root=path) as emu:
        r = emu.invoke({"a": 1})
        assert r.json() == ...
        record, = emu.wait_for_records(1)
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import threading
import weakref
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

from lambda_runtime.emulator.caller import Caller
from lambda_runtime.emulator.config import DEFAULT_MAX_EVENT_AGE, DEFAULT_RETRY_DELAYS, EmulatorConfig
from lambda_runtime.emulator.hooks import FaultPlan
from lambda_runtime.emulator.records import InvocationRecord
from lambda_runtime.emulator.server import EmulatorServer

_running: weakref.WeakSet[Emulator] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    """Stop emulators left running at interpreter exit, so their runtimes do not outlive us."""
    for emu in list(_running):
        with contextlib.suppress(Exception):
            emu.stop()


class Emulator(Caller):
    """A local Lambda: the Runtime API for runtime child processes and the Invoke API for callers.

    A runtime process is started on demand, at the first invocation (``prestart=True``: at once), in
    its own process group, with cwd ``task_root`` and the environment Lambda would give it. It is
    restarted (a cold start) for the next invocation after it exits, crashes or fails its init. With
    ``concurrency`` > 1, up to that many run at once, each in its own execution environment.

    Parameters are those of :class:`~lambda_runtime.emulator.config.EmulatorConfig`; ``task_root``
    defaults to the current directory, ``env`` (the runtime's base environment) to a copy of
    ``os.environ``, ``runtime_command`` to ``[sys.executable, "-m", "lambda_runtime"]``.

    All methods are thread-safe; ``invoke`` may be called from several threads at once (events wait in
    order for an idle execution environment).
    """

    def __init__(
        self,
        handler: str,
        *,
        task_root: str | None = None,
        timeout: float = 3.0,
        env: Mapping[str, str] | None = None,
        runtime_command: Sequence[str] | None = None,
        function_name: str = "function",
        memory_size: int = 128,
        report_file: str | None = None,
        test_hooks: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        region: str = "us-east-1",
        prestart: bool = False,
        freeze: bool = True,
        init_timeout: float = 10.0,
        kill_grace: float = 2.0,
        snap_start: bool = False,
        restore_delay: float = 0.0,
        shutdown_budget: float = 0.5,
        concurrency: int = 1,
        max_concurrency: int = 0,
        queue_size: int = 100,
        max_retry_attempts: int = 2,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        max_event_age: float = DEFAULT_MAX_EVENT_AGE,
        on_failure: str | None = None,
        on_success: str | None = None,
        idle_timeout: float | None = None,
        tenant_isolation: bool = False,
        keep_records: int = 10_000,
        async_queue_size: int = 100_000,
        unprocessed_file: str | None = None,
        client_timeout: float = 60.0,
        peers: Mapping[str, str] | None = None,
        durable: bool = False,
    ) -> None:
        super().__init__()
        kwargs: dict[str, Any] = {}
        if task_root is not None:
            kwargs["task_root"] = str(task_root)
        self.config = EmulatorConfig(
            handler=handler,
            timeout=timeout,
            env=dict(env) if env is not None else None,
            runtime_command=list(runtime_command) if runtime_command is not None else None,
            function_name=function_name,
            memory_size=memory_size,
            region=region,
            host=host,
            port=port,
            report_file=str(report_file) if report_file is not None else None,
            test_hooks=test_hooks,
            prestart=prestart,
            freeze=freeze,
            init_timeout=init_timeout,
            kill_grace=kill_grace,
            snap_start=snap_start,
            restore_delay=restore_delay,
            shutdown_budget=shutdown_budget,
            concurrency=concurrency,
            max_concurrency=max_concurrency,
            queue_size=queue_size,
            max_retry_attempts=max_retry_attempts,
            retry_delays=tuple(float(d) for d in retry_delays),
            max_event_age=max_event_age,
            on_failure=str(on_failure) if on_failure is not None else None,
            on_success=str(on_success) if on_success is not None else None,
            idle_timeout=idle_timeout,
            tenant_isolation=tenant_isolation,
            keep_records=keep_records,
            async_queue_size=async_queue_size,
            unprocessed_file=str(unprocessed_file) if unprocessed_file is not None else None,
            client_timeout=client_timeout,
            peers=tuple((peers or {}).items()),
            durable=durable,
            **kwargs,
        )
        self.server = EmulatorServer(self.config)
        self.store = self.server.store
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._start_error: BaseException | None = None

    # -- life cycle --------------------------------------------------------------------------------

    def start(self) -> Emulator:
        """Start serving (returns when the port is bound). Usually via ``with``."""
        if self._thread is not None:
            raise RuntimeError("emulator already started")
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name=f"lambda-emulator-{self.config.function_name}", daemon=True
        )
        self._thread.start()
        ready.wait()
        _running.add(self)
        if self._start_error is not None:
            self._thread.join()
            self._thread = None
            raise self._start_error
        return self

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            try:
                loop.run_until_complete(self.server.start())
            except BaseException as e:
                self._start_error = e
                return
            finally:
                ready.set()
            loop.run_until_complete(self.server.wait_stopped())
        finally:
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    def stop(self) -> None:
        """Stop the runtime (SIGTERM, then SIGKILL after ``kill_grace``) and the server; join the thread."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        try:
            if thread.is_alive():
                future = asyncio.run_coroutine_threadsafe(self.server.stop(), loop)
                future.result(timeout=self.config.kill_grace + 30)
            thread.join(timeout=30)
        finally:
            self._thread = None
            _running.discard(self)
            self._close_sessions()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self._thread is not None else "stopped"
        return f"<Emulator {self.config.function_name} {self.config.handler!r} {state} {self.url}>"

    # -- facts -------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: the Invoke API (each environment has a Runtime API port of its own)."""
        return self.server.url

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def runtime_api(self) -> str:
        """The ``AWS_LAMBDA_RUNTIME_API`` value the runtime gets (``host:port``)."""
        return self.server.runtime_api

    @property
    def function_arn(self) -> str:
        return self.config.function_arn

    @property
    def runtime_pid(self) -> int | None:
        """Pid of the first environment's runtime process now (also its process group id), or ``None``."""
        return self.server.env.pid

    def runtime_pids(self) -> list[int]:
        """Pids of the runtime processes running now, one per started environment."""
        return [env.pid for env in self.server.pool.envs if env.pid is not None]

    def inject_faults(self, next: str | None = None, response: str | None = None) -> None:
        """Faults for every invocation without its own ``X-Emulator-Faults`` header; no argument clears them.

        Needs ``test_hooks=True``. See :mod:`lambda_runtime.emulator.hooks` for the modes.
        """
        if not self.config.test_hooks:
            raise RuntimeError("inject_faults needs test_hooks=True")
        spec = {point: value for point, value in (("next", next), ("response", response)) if value is not None}
        FaultPlan.parse(spec)  # a malformed spec fails here, in the test, rather than at the next invocation
        self.server.default_faults = spec or None

    # -- what happened -----------------------------------------------------------------------------

    def records(self) -> list[InvocationRecord]:
        """The complete invocation records so far (``next_at`` known), in completion order."""
        return self.store.records()

    def wait_for_records(self, count: int, timeout: float = 30.0) -> list[InvocationRecord]:
        """Block until at least ``count`` records are complete; return all of them. Raises TimeoutError."""
        return self.store.wait_for_records(count, timeout)

    def record(self, request_id: str, timeout: float = 30.0) -> InvocationRecord:
        """The record of one invocation (by ``X-Amzn-RequestId``), waiting until it is complete."""
        return self.store.wait_for_record(request_id, timeout)

    def queued(self) -> int:
        """How many events wait for the runtime now (received, not yet delivered)."""
        return self.store.queued()

    def wait_for_queued(self, count: int, timeout: float = 30.0) -> None:
        """Block until at least ``count`` events wait for delivery. Raises TimeoutError."""
        self.store.wait_for_queued(count, timeout)

    def runtime_output(self) -> str:
        """Everything the runtime processes printed so far (stdout and stderr, one line per line)."""
        return self.store.runtime_output()

    def wait_for_output(self, text: str, timeout: float = 30.0) -> str:
        """Block until ``text`` appears in the runtime output; return the output. Raises TimeoutError."""
        return self.store.wait_for_output(text, timeout)

    def invocation_output(self, request_id: str) -> str:
        """The output attributed to one finished invocation (printed while it was the current one).

        What the runtime printed before its ``/next`` belongs to the invocation it ends (the emulator
        reads the pipe up to that point first). Init output goes to the first invocation. For a retried
        ``Event``, the latest attempt.
        """
        return self.store.invocation_output(request_id)

    def throttles(self) -> int:
        """How many invocations were refused with 429 ``TooManyRequestsException`` so far."""
        return self.store.throttles()

    def async_outcomes(self) -> list[dict[str, Any]]:
        """The outcomes of ``Event`` invocations so far, as Lambda's destination invocation records."""
        return self.store.async_outcomes()

    def wait_for_async_outcomes(self, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Block until ``count`` ``Event`` invocations succeeded, exhausted retries or aged out."""
        return self.store.wait_for_async_outcomes(count, timeout)
