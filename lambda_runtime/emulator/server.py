"""The emulator's asyncio core: the Runtime API, the Invoke API, the event queue and the records.

Everything here runs on one event loop (the CLI's, or the background thread of ``Emulator``); only the
records and the output, guarded by a lock, are read from other threads.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import contextlib
import json
import logging
import secrets
import signal
import threading
import time
from collections.abc import Callable
from typing import IO, Any

from aiohttp import web

from lambda_runtime.emulator.config import (
    API_VERSION,
    INVOKE_API_VERSION,
    MAX_ASYNC_PAYLOAD,
    MAX_READ_SIZE,
    MAX_SYNC_PAYLOAD,
    EmulatorConfig,
)
from lambda_runtime.emulator.environment import Environment, EnvState, NextWaiter, PendingFailure
from lambda_runtime.emulator.hooks import INVOCATION_ID_HEADER, HookError, parse_hooks
from lambda_runtime.emulator.invocation import Answer, Invocation
from lambda_runtime.emulator.records import InvocationRecord, Status

logger = logging.getLogger("lambda_runtime.emulator")
#: The runtime's output, line by line, without any prefix.
runtime_logger = logging.getLogger("lambda_runtime.emulator.runtime")

ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
#: How many finished request ids are remembered to answer late posts with 410 instead of 400.
FINISHED_MEMORY = 100_000

_SIGNAL_NAMES = {  # as Lambda (Go) words them: "Runtime exited with error: signal: killed"
    signal.SIGHUP: "hangup",
    signal.SIGINT: "interrupt",
    signal.SIGQUIT: "quit",
    signal.SIGILL: "illegal instruction",
    signal.SIGABRT: "aborted",
    signal.SIGBUS: "bus error",
    signal.SIGFPE: "floating point exception",
    signal.SIGKILL: "killed",
    signal.SIGUSR1: "user defined signal 1",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGUSR2: "user defined signal 2",
    signal.SIGPIPE: "broken pipe",
    signal.SIGALRM: "alarm clock",
    signal.SIGTERM: "terminated",
}


def exit_error(request_id: str, returncode: int) -> Answer:
    """The ``Runtime.ExitError`` a caller gets when the runtime exits before answering."""
    if returncode == 0:
        reason = "Runtime exited without providing a reason"
    elif returncode > 0:
        reason = f"Runtime exited with error: exit status {returncode}"
    else:
        name = _SIGNAL_NAMES.get(signal.Signals(-returncode), f"signal {-returncode}")
        reason = f"Runtime exited with error: signal: {name}"
    return Answer.function_failure("Runtime.ExitError", f"RequestId: {request_id} Error: {reason}")


def new_trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=0"


def _runtime_error(status: int, error_type: str, message: str) -> web.Response:
    return web.json_response({"errorMessage": message, "errorType": error_type}, status=status)


def _service_error(status: int, error_type: str, message: str, kind: str = "User") -> web.Response:
    """An Invoke API error as AWS sends it (botocore reads the type from ``X-Amzn-ErrorType``)."""
    return web.json_response(
        {"Type": kind, "message": message}, status=status, headers={"X-Amzn-ErrorType": error_type}
    )


def _error_type_of(body: bytes, header: str | None, default: str) -> str:
    if header:
        return header
    with contextlib.suppress(ValueError, AttributeError, TypeError):
        value = json.loads(body).get("errorType")
        if isinstance(value, str) and value:
            return value
    return default


def _split_function_ref(ref: str) -> tuple[str, str | None]:
    """``name``, ``name:qualifier``, ``123:function:name[:q]`` or a full ARN → (name, qualifier)."""
    parts = ref.split(":")
    if ref.startswith("arn:") and len(parts) >= 7 and parts[5] == "function":
        return parts[6], (parts[7] if len(parts) > 7 else None)
    if len(parts) >= 3 and parts[1] == "function":
        return parts[2], (parts[3] if len(parts) > 3 else None)
    if len(parts) == 2:
        return parts[0], parts[1]
    return ref, None


class EmulatorServer:
    """The emulator proper. ``await start()``, then ``await stop()``; see :class:`Emulator` for threads."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.host = config.host
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._queue: collections.deque[Invocation] = collections.deque()
        self._active: dict[str, Invocation] = {}
        self._finished_ids: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._logs: dict[str, list[str]] = {}
        self.env = Environment(0, self._on_output, self._on_exit)
        self._stopping = False
        self._stopped: asyncio.Event | None = None
        self._report: IO[str] | None = None
        self._background: set[asyncio.Task[Any]] = set()
        # Shared with other threads:
        self._lock = threading.Condition()
        self._records: list[InvocationRecord] = []
        self._record_ids: dict[str, InvocationRecord] = {}
        self._output: list[str] = []
        self._queued = 0

    # -- life cycle --------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self._connect_host}:{self.port}"

    @property
    def runtime_api(self) -> str:
        """What the runtime gets in ``AWS_LAMBDA_RUNTIME_API``."""
        return f"{self._connect_host}:{self.port}"

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
        if self.config.report_file:
            self._report = open(self.config.report_file, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
        app = web.Application(client_max_size=MAX_READ_SIZE)
        base = f"/{API_VERSION}/runtime"
        app.router.add_get(f"{base}/invocation/next", self._handle_next)
        app.router.add_post(f"{base}/invocation/{{request_id:[^/]*}}/response", self._handle_response)
        app.router.add_post(f"{base}/invocation/{{request_id:[^/]*}}/error", self._handle_error)
        app.router.add_post(f"{base}/init/error", self._handle_init_error)
        app.router.add_post(f"/{INVOKE_API_VERSION}/functions/{{function}}/invocations", self._handle_invoke)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port)
        try:
            await site.start()
        except BaseException:
            await self._runner.cleanup()
            if self._report is not None:
                self._report.close()
                self._report = None
            raise
        self.port = int(self._runner.addresses[0][1])
        logger.info(
            "emulator listening on %s: function %s, handler %s, timeout %s s, memory %d MB",
            self.url,
            self.config.function_name,
            self.config.handler,
            self.config.timeout,
            self.config.memory_size,
        )
        if self.config.prestart:
            self._start_runtime(self.env)

    async def stop(self) -> None:
        """Answer everything still waiting, stop the runtime (no orphans), close the server."""
        if self._stopping:
            if self._stopped is not None:
                await self._stopped.wait()
            return
        self._stopping = True
        try:
            while self._queue:
                inv = self._queue.popleft()
                inv.answer(Answer(b'{"Type":"Service","message":"The emulator is shutting down"}', status=503))
                self._active.pop(inv.request_id, None)
            self._queue_changed()
            await self.env.stop(self.config.kill_grace)
            self.env.resolve_pending_next()
            for task in list(self._background):
                task.cancel()
            if self._background:
                await asyncio.gather(*self._background, return_exceptions=True)
            if self._runner is not None:
                await self._runner.cleanup()
        finally:
            if self._report is not None:
                self._report.close()
                self._report = None
            logger.info("emulator stopped")
            if self._stopped is not None:
                self._stopped.set()

    async def wait_stopped(self) -> None:
        assert self._stopped is not None
        await self._stopped.wait()

    def _spawn_background(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- thread-safe views -------------------------------------------------------------------------

    def records(self) -> list[InvocationRecord]:
        with self._lock:
            return list(self._records)

    def wait_for_records(self, count: int, timeout: float) -> list[InvocationRecord]:
        with self._lock:
            if not self._lock.wait_for(lambda: len(self._records) >= count, timeout):
                raise TimeoutError(f"{len(self._records)} invocation records after {timeout} s, expected {count}")
            return list(self._records)

    def wait_for_record(self, request_id: str, timeout: float) -> InvocationRecord:
        with self._lock:
            if not self._lock.wait_for(lambda: request_id in self._record_ids, timeout):
                raise TimeoutError(f"no complete record for {request_id} after {timeout} s")
            return self._record_ids[request_id]

    def queued(self) -> int:
        """How many events wait for delivery now."""
        with self._lock:
            return self._queued

    def wait_for_queued(self, count: int, timeout: float) -> None:
        with self._lock:
            if not self._lock.wait_for(lambda: self._queued >= count, timeout):
                raise TimeoutError(f"{self._queued} events queued after {timeout} s, expected {count}")

    def _queue_changed(self) -> None:
        with self._lock:
            self._queued = len(self._queue)
            self._lock.notify_all()

    def runtime_output(self) -> str:
        with self._lock:
            return "".join(line + "\n" for line in self._output)

    def wait_for_output(self, text: str, timeout: float) -> str:
        seen = ""
        lines = 0

        def found() -> bool:
            nonlocal seen, lines
            start = max(0, len(seen) - len(text))
            seen += "".join(line + "\n" for line in self._output[lines:])
            lines = len(self._output)
            return text in seen[start:]

        with self._lock:
            if not self._lock.wait_for(found, timeout):
                raise TimeoutError(f"{text!r} not in the runtime output after {timeout} s")
            return seen

    def invocation_output(self, request_id: str) -> str:
        with self._lock:
            return "".join(line + "\n" for line in self._logs.get(request_id, []))

    # -- the runtime process -----------------------------------------------------------------------

    def _start_runtime(self, env: Environment) -> None:
        task = env.begin_start(self.config.command, self.config.runtime_env(self.runtime_api), self.config.task_root)
        task.add_done_callback(lambda t: self._on_start_done(env, t))
        generation = env.generation
        asyncio.get_running_loop().call_later(self.config.init_timeout, self._on_init_timeout, env, generation)

    def _on_init_timeout(self, env: Environment, generation: int) -> None:
        if env.generation != generation or env.state is not EnvState.INIT or self._stopping:
            return
        logger.warning("runtime init did not finish in %.2f s, killing it", self.config.init_timeout)
        env.init_timed_out = True
        env.signal_group(signal.SIGKILL)

    def _on_start_done(self, env: Environment, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is None:
            return
        logger.error("cannot start the runtime %s: %s", self.config.command, error)

        def failure(request_id: str) -> Answer:
            return Answer.function_failure(
                "Runtime.InvalidEntrypoint", f"RequestId: {request_id} Error: cannot start the runtime: {error}"
            )

        self._fail_init(env, failure, returncode=None)
        self._dispatch()

    def _on_output(self, env: Environment, line: str) -> None:
        runtime_logger.info("%s", line)
        target: list[str] | None = None
        if env.current is not None:
            target = env.current.log_lines
        elif env.state is EnvState.INIT:
            target = env.init_lines
        with self._lock:
            if target is not None:
                target.append(line)
            self._output.append(line)
            self._lock.notify_all()

    def _on_exit(self, env: Environment, returncode: int, previous: EnvState) -> None:
        now = time.time()
        inv, env.current = env.current, None
        env.resolve_pending_next()
        if inv is not None:
            inv.record.exit_code = returncode
            if not inv.answered:
                logger.warning("runtime exited (status %d) during invocation %s", returncode, inv.request_id)
                inv.answer(exit_error(inv.request_id, returncode), at=now)
            self._finish(inv, now, "crash", env)
        elif previous is EnvState.INIT:
            if env.init_timed_out:
                message = f"Init timed out after {self.config.init_timeout:.2f} seconds"
                self._fail_init(
                    env,
                    lambda rid: Answer.function_failure("Sandbox.Timedout", f"RequestId: {rid} Error: {message}"),
                    returncode=returncode,
                )
            else:
                logger.warning("runtime exited (status %d) during init", returncode)
                self._fail_init(env, lambda rid: exit_error(rid, returncode), returncode=returncode)
        elif previous is not EnvState.RESETTING and not self._stopping:
            logger.warning("runtime exited (status %d) between invocations", returncode)
        else:
            logger.debug("runtime exited (status %d)", returncode)
        if not self._stopping:
            self._dispatch()

    def _fail_init(self, env: Environment, failure: Callable[[str], Answer], returncode: int | None) -> None:
        """An init failed: the caller waiting for this environment gets it, or else the next caller."""
        pending = PendingFailure(
            answer=failure,
            returncode=returncode,
            init_ms=(time.time() - env.started_at) * 1000.0 if env.started_at else None,
            runtime_pid=env.last_pid,
            init_lines=tuple(env.init_lines),
        )
        if self._queue:
            inv = self._queue.popleft()
            self._queue_changed()
            self._answer_init_failure(inv, pending)
        else:
            env.pending_init_failure = pending

    def _answer_init_failure(self, inv: Invocation, pending: PendingFailure) -> None:
        now = time.time()
        inv.record.init_ms = pending.init_ms
        inv.record.exit_code = pending.returncode
        inv.record.runtime_pid = pending.runtime_pid
        inv.log_lines[:0] = pending.init_lines
        inv.answer(pending.answer(inv.request_id), at=now)
        self._finish(inv, now, "init_error")

    # -- queue and records -------------------------------------------------------------------------

    def _submit(self, inv: Invocation) -> None:
        self._active[inv.request_id] = inv
        env = self.env
        if env.pending_init_failure is not None:
            pending, env.pending_init_failure = env.pending_init_failure, None
            self._answer_init_failure(inv, pending)
            return
        self._queue.append(inv)
        self._queue_changed()
        self._dispatch()

    def _dispatch(self) -> None:
        """Hand queued events to an idle runtime; start a runtime if events wait and none runs."""
        if self._stopping or not self._queue:
            return
        env = self.env
        if env.state is EnvState.STOPPED:
            self._start_runtime(env)
            return
        if env.state is not EnvState.IDLE or env.pending_next is None:
            return
        waiter, env.pending_next = env.pending_next, None
        if waiter.gone or waiter.future.done():
            return  # the runtime hung up; it will call again or exit
        inv = self._queue.popleft()
        self._queue_changed()
        now = time.time()
        inv.record.delivered_at = now
        inv.record.runtime_pid = env.pid
        inv.deadline_ms = inv.record.deadline_ms = int((now + self.config.timeout) * 1000)
        if env.cold_init_ms is not None:
            inv.record.init_ms, env.cold_init_ms = env.cold_init_ms, None
            inv.log_lines[:0] = env.init_lines
        env.current = inv
        env.state = EnvState.BUSY
        env.thaw()
        self._platform_line(inv.log_lines, f"START RequestId: {inv.request_id} Version: $LATEST")
        inv.timer = asyncio.get_running_loop().call_later(self.config.timeout, self._on_timeout, env, inv)
        waiter.future.set_result(inv)

    def _on_timeout(self, env: Environment, inv: Invocation) -> None:
        """The deadline passed before the runtime asked for the next event: reset the environment."""
        if inv.finished or env.current is not inv:
            return
        now = time.time()
        message = f"Task timed out after {self.config.timeout:.2f} seconds"
        logger.warning("%s timed out after %.2f s", inv.request_id, self.config.timeout)
        inv.answer(Answer.function_failure("Sandbox.Timedout", f"RequestId: {inv.request_id} Error: {message}"), at=now)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"
        self._platform_line(inv.log_lines, f"{stamp} {inv.request_id} {message}")
        env.current = None
        self._finish(inv, now, "timeout", env)
        env.state = EnvState.RESETTING
        env.signal_group(signal.SIGKILL)  # the exit watcher then cleans up; the next event gets a fresh runtime

    def _platform_line(self, target: list[str] | None, line: str) -> None:
        """A line the platform adds to the function's log (START, END, REPORT ...)."""
        runtime_logger.info("%s", line)
        with self._lock:
            if target is not None:
                target.append(line)
            self._output.append(line)
            self._lock.notify_all()

    def _finish(self, inv: Invocation, now: float, status: Status, env: Environment | None = None) -> None:
        """Complete the record (``next_at`` = ``now``), log END / REPORT and publish the record."""
        if inv.finished:
            return
        inv.finished = True
        assert inv.answered, "an invocation is always answered before it finishes"
        if inv.timer is not None:
            inv.timer.cancel()
            inv.timer = None
        inv.record.finish(now, status)
        if env is not None:
            inv.record.max_memory_used_mb = env.measure_memory_mb()
        self._report_lines(inv)
        self._active.pop(inv.request_id, None)
        self._finished_ids[inv.request_id] = None
        if len(self._finished_ids) > FINISHED_MEMORY:
            self._finished_ids.popitem(last=False)
        record = inv.record
        with self._lock:
            self._records.append(record)
            self._record_ids[record.request_id] = record
            self._logs[inv.request_id] = inv.log_lines
            self._lock.notify_all()
        if self._report is not None:
            try:
                self._report.write(record.to_json() + "\n")
            except OSError as e:
                logger.error("cannot write the report file: %s", e)
        duration = f"{record.duration_ms:.2f} ms" if record.duration_ms is not None else "-"
        logger.info(
            "%s %s%s %s billed %s ms%s",
            record.request_id,
            record.status,
            f" ({record.error_type})" if record.error_type else "",
            duration,
            record.billed_ms if record.billed_ms is not None else "-",
            f" init {record.init_ms:.2f} ms" if record.init_ms is not None else "",
        )

    def _report_lines(self, inv: Invocation) -> None:
        record = inv.record
        if record.delivered_at is None:  # the event never reached the runtime
            init = f"Init Duration: {record.init_ms:.2f} ms\t" if record.init_ms is not None else ""
            self._platform_line(
                inv.log_lines, f"INIT_REPORT {init}Phase: init\tStatus: error\tError Type: {record.error_type}"
            )
            return
        self._platform_line(inv.log_lines, f"END RequestId: {record.request_id}")
        fields = [
            f"REPORT RequestId: {record.request_id}",
            f"Duration: {record.duration_ms or 0.0:.2f} ms",
            f"Billed Duration: {record.billed_ms} ms",
            f"Memory Size: {self.config.memory_size} MB",
            f"Max Memory Used: {record.max_memory_used_mb if record.max_memory_used_mb is not None else '-'} MB",
        ]
        if record.init_ms is not None:
            fields.append(f"Init Duration: {record.init_ms:.2f} ms")
        if record.status in ("timeout", "crash"):
            fields.append(f"Status: {record.status}")
        self._platform_line(inv.log_lines, "\t".join(fields))

    # -- Runtime API -------------------------------------------------------------------------------

    def _env_for(self, request: web.BaseRequest) -> Environment:
        """The environment a Runtime API request comes from (phase 2: one listening port per environment)."""
        return self.env

    async def _handle_next(self, request: web.Request) -> web.StreamResponse:
        env = self._env_for(request)
        now = time.time()
        if env.state is EnvState.STOPPED or self._stopping:
            return _runtime_error(403, "InvalidStateTransition", "No runtime is running in this environment")
        if env.pending_next is not None and not env.pending_next.gone:
            return _runtime_error(400, "InvalidStateTransition", "Another /next request is already waiting")
        if env.state is EnvState.BUSY and env.current is not None:
            if self.config.freeze and not self._queue:
                env.freeze()  # first, so that whoever sees the record sees a frozen runtime
            self._end_invocation(env, env.current, now)
        elif env.state is EnvState.INIT:
            env.cold_init_ms = (now - env.started_at) * 1000.0
        future: asyncio.Future[Invocation | None] = asyncio.get_running_loop().create_future()
        env.pending_next = NextWaiter(request, future)
        if env.state is not EnvState.RESETTING:
            env.state = EnvState.IDLE
        self._dispatch()
        if not future.done() and self.config.freeze and env.state is EnvState.IDLE:
            env.freeze()  # like Lambda: nothing runs between invocations
        inv = await future
        if inv is None:
            return _runtime_error(410, "EnvironmentReset", "The execution environment was reset")
        return web.Response(body=inv.payload, headers=inv.hooks.next_headers(self._next_headers(inv)))

    def _next_headers(self, inv: Invocation) -> dict[str, str]:
        headers = {
            "Lambda-Runtime-Aws-Request-Id": inv.request_id,
            "Lambda-Runtime-Deadline-Ms": str(inv.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": self.config.function_arn,
            "Lambda-Runtime-Trace-Id": inv.trace_id or new_trace_id(),
            "Lambda-Runtime-Invocation-Id": inv.invocation_id,
            "Content-Type": "application/json",
        }
        if inv.client_context is not None:
            headers["Lambda-Runtime-Client-Context"] = inv.client_context
        return headers

    def _end_invocation(self, env: Environment, inv: Invocation, now: float) -> None:
        """The runtime asked for the next event: the current invocation ends here."""
        env.current = None
        if not inv.answered:
            inv.answer(
                Answer.function_failure(
                    "Runtime.NoResponse",
                    f"RequestId: {inv.request_id} Error: the runtime asked for the next event "
                    "without posting a response or an error",
                ),
                at=now,
            )
        answer = inv.answer_future.result()
        self._finish(inv, now, "error" if answer.function_error else "success", env)

    def _lookup_answerable(self, env: Environment, request_id: str, request: web.Request) -> Invocation | web.Response:
        """The invocation a ``/response`` or ``/error`` post is for, or the error response to send."""
        inv = self._active.get(request_id)
        current = env.current
        if (inv is None or not inv.delivered) and current is not None and current.request_id_tampered:
            inv = current  # a test hook hid the request id: the post is for the current invocation
        if inv is None:
            if request_id in self._finished_ids:
                return _runtime_error(410, "InvalidStateTransition", f"Invocation {request_id} is over")
            return _runtime_error(400, "InvalidRequestID", f"Unknown request id {request_id!r}")
        if inv.answered:
            return _runtime_error(410, "InvalidStateTransition", f"Invocation {inv.request_id} was already answered")
        if inv is not current:
            return _runtime_error(400, "InvalidRequestID", f"Invocation {inv.request_id} is not in progress")
        sent = request.headers.get(INVOCATION_ID_HEADER)
        if sent is not None and sent not in (inv.invocation_id, inv.hooks.override_value(INVOCATION_ID_HEADER)):
            return _runtime_error(
                400, "InvalidInvocationID", f"{INVOCATION_ID_HEADER} {sent!r} does not match the invocation"
            )
        return inv

    async def _handle_response(self, request: web.Request) -> web.StreamResponse:
        env = self._env_for(request)
        body = await request.read()
        found = self._lookup_answerable(env, request.match_info["request_id"], request)
        if isinstance(found, web.Response):
            return found
        if len(body) > MAX_SYNC_PAYLOAD:
            message = (
                f"Response payload size ({len(body)} bytes) exceeded maximum allowed payload size "
                f"({MAX_SYNC_PAYLOAD} bytes)."
            )
            found.answer(Answer.function_failure("Function.ResponseSizeTooLarge", message))
            return _runtime_error(413, "RequestEntityTooLarge", message)
        found.answer(Answer(body=body))
        return web.json_response({"status": "OK"}, status=202)

    async def _handle_error(self, request: web.Request) -> web.StreamResponse:
        env = self._env_for(request)
        body = await request.read()
        found = self._lookup_answerable(env, request.match_info["request_id"], request)
        if isinstance(found, web.Response):
            return found
        found.answer(self._error_answer(body, request, "Unhandled"))
        return web.json_response({"status": "OK"}, status=202)

    def _error_answer(self, body: bytes, request: web.Request, default_type: str) -> Answer:
        error_type = _error_type_of(body, request.headers.get(ERROR_TYPE_HEADER), default_type)
        if len(body) > MAX_SYNC_PAYLOAD or not body.strip():
            body = json.dumps({"errorType": error_type, "errorMessage": ""}).encode()
        return Answer(body=body, function_error="Unhandled", error_type=error_type)

    async def _handle_init_error(self, request: web.Request) -> web.StreamResponse:
        env = self._env_for(request)
        body = await request.read()
        answer = self._error_answer(body, request, "Runtime.Unknown")
        current = env.current
        if env.state is EnvState.INIT:
            self._fail_init(env, lambda _rid: answer, returncode=None)
        elif env.state is EnvState.BUSY and current is not None and not current.answered:
            # Not an init any more, but the runtime gave up: the event it holds gets the error.
            current.answer(answer)
            env.current = None
            self._finish(current, time.time(), "error", env)
        else:
            return _runtime_error(403, "InvalidStateTransition", "/init/error is only valid during init")
        logger.warning("runtime reported an init error: %s", answer.error_type)
        env.state = EnvState.RESETTING
        self._spawn_background(self._reap_after_init_error(env))
        return web.json_response({"status": "OK"}, status=202)

    async def _reap_after_init_error(self, env: Environment) -> None:
        """The runtime should exit after ``/init/error``; make sure it does."""
        if not await env.wait_reaped(self.config.kill_grace, kill=False):
            await env.stop(0.5)

    # -- Invoke API --------------------------------------------------------------------------------

    async def _handle_invoke(self, request: web.Request) -> web.StreamResponse:
        received_at = time.time()
        name, qualifier = _split_function_ref(request.match_info["function"])
        qualifier = request.query.get("Qualifier", qualifier)
        if name != self.config.function_name or qualifier not in (None, "$LATEST"):
            return _service_error(
                404,
                "ResourceNotFoundException",
                f"Function not found: {self.config.function_arn}"
                + (f":{qualifier}" if qualifier and name == self.config.function_name else ""),
            )
        invocation_type = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if invocation_type not in ("RequestResponse", "Event", "DryRun"):
            return _service_error(
                400, "InvalidParameterValueException", f"Unsupported invocation type {invocation_type!r}"
            )
        limit = MAX_ASYNC_PAYLOAD if invocation_type == "Event" else MAX_SYNC_PAYLOAD
        if request.content_length is not None and request.content_length > MAX_READ_SIZE:
            return _service_error(413, "RequestEntityTooLargeException", "Request too large")
        payload = await request.read()
        if len(payload) > limit:
            return _service_error(
                413,
                "RequestEntityTooLargeException",
                f"{len(payload)} byte payload is too large for the {invocation_type} invocation type "
                f"(limit {limit} bytes)",
            )
        if invocation_type == "DryRun":
            return web.Response(status=204)
        client_context: str | None = None
        raw_context = request.headers.get("X-Amz-Client-Context")
        if raw_context:
            try:
                client_context = base64.b64decode(raw_context, validate=True).decode("utf-8")
                if not isinstance(json.loads(client_context), dict):
                    raise ValueError("not an object")
            except (binascii.Error, ValueError):
                return _service_error(
                    400,
                    "InvalidRequestContentException",
                    "Client context must be a valid Base64-encoded JSON object.",
                )
        try:
            hooks = parse_hooks(request.headers, self.config.test_hooks)
        except HookError as e:
            return _service_error(400, "InvalidRequestContentException", str(e))
        if self._stopping:
            return _service_error(503, "ServiceException", "The emulator is shutting down", kind="Service")
        inv = Invocation(
            payload=payload if payload else b"{}",
            invocation_type=invocation_type,
            trace_id=request.headers.get("X-Amzn-Trace-Id") or new_trace_id(),
            client_context=client_context,
            hooks=hooks,
            received_at=received_at,
        )
        self._submit(inv)
        if invocation_type == "Event":
            return web.Response(status=202, headers={"X-Amzn-RequestId": inv.request_id})
        answer = await asyncio.shield(inv.answer_future)
        headers = {"X-Amzn-RequestId": inv.request_id, "X-Amz-Executed-Version": "$LATEST"}
        if answer.function_error:
            headers["X-Amz-Function-Error"] = answer.function_error
        if answer.status != 200:
            headers["X-Amzn-ErrorType"] = "ServiceException"
        return web.Response(status=answer.status, body=answer.body, headers=headers, content_type=answer.content_type)
