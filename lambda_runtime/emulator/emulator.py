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
import base64
import contextlib
import importlib
import json
import threading
import weakref
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any
from urllib.parse import quote

import requests

from lambda_runtime.emulator.config import INVOKE_API_VERSION, EmulatorConfig
from lambda_runtime.emulator.hooks import NEXT_HEADERS
from lambda_runtime.emulator.records import InvocationRecord
from lambda_runtime.emulator.server import EmulatorServer

_running: weakref.WeakSet[Emulator] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    """Stop emulators left running at interpreter exit, so their runtimes do not outlive us."""
    for emu in list(_running):
        with contextlib.suppress(Exception):
            emu.stop()


class Emulator:
    """A local Lambda: the Runtime API for a runtime child process and the Invoke API for callers.

    The runtime process is started on demand, at the first invocation (``prestart=True``: at once), in
    its own process group, with cwd ``task_root`` and the environment Lambda would give it. It is
    restarted (a cold start) for the next invocation after it exits, crashes or fails its init.

    Parameters are those of :class:`~lambda_runtime.emulator.config.EmulatorConfig`; ``task_root``
    defaults to the current directory, ``env`` (the runtime's base environment) to a copy of
    ``os.environ``, ``runtime_command`` to ``[sys.executable, "-m", "lambda_runtime"]``.

    All methods are thread-safe; ``invoke`` may be called from several threads at once (events wait in
    order for the one execution environment).
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
    ) -> None:
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
            **kwargs,
        )
        self.server = EmulatorServer(self.config)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._start_error: BaseException | None = None
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()

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
            with self._sessions_lock:
                sessions, self._sessions = self._sessions, []
            for session in sessions:
                session.close()

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
        """``http://127.0.0.1:<port>``: both the Invoke API and the Runtime API."""
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
    def invoke_url(self) -> str:
        return self.function_url(self.config.function_name)

    def function_url(self, function: str) -> str:
        return f"{self.url}/{INVOKE_API_VERSION}/functions/{quote(function, safe='')}/invocations"

    @property
    def runtime_pid(self) -> int | None:
        """Pid of the runtime process running now (also its process group id), or ``None``."""
        return self.server.env.pid

    # -- invoking ----------------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False  # never send loopback traffic through a proxy
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def invoke(
        self,
        payload: Any = b"{}",
        *,
        headers: Mapping[str, str] | None = None,
        function: str | None = None,
        invocation_type: str | None = None,
        client_context: Mapping[str, Any] | None = None,
        next_headers: Mapping[str, str | None] | None = None,
        timeout: float | None = None,
    ) -> requests.Response:
        """Invoke the function through the Invoke API, like a caller; returns the HTTP response.

        ``payload``: ``bytes`` are sent as they are, anything else is JSON-encoded (a ``str`` becomes a
        JSON string, ``None`` is ``null``); the default is the empty event ``{}``.
        ``client_context`` is sent base64-encoded in ``X-Amz-Client-Context``; ``next_headers`` in the
        ``X-Emulator-Next-Headers`` test hook (needs ``test_hooks=True``). ``timeout`` is the HTTP client
        timeout (default: the function timeout + 60 s). Function errors are 200 responses with
        ``X-Amz-Function-Error``; nothing is raised for them.
        """
        raw = isinstance(payload, (bytes, bytearray, memoryview))
        body = bytes(payload) if raw else json.dumps(payload).encode()
        all_headers = {"Content-Type": "application/json"}
        if invocation_type is not None:
            all_headers["X-Amz-Invocation-Type"] = invocation_type
        if client_context is not None:
            all_headers["X-Amz-Client-Context"] = base64.b64encode(json.dumps(client_context).encode()).decode()
        if next_headers is not None:
            all_headers[NEXT_HEADERS] = json.dumps(dict(next_headers))
        all_headers.update(headers or {})
        url = self.function_url(function or self.config.function_name)
        return self._session().post(
            url, data=body, headers=all_headers, timeout=timeout if timeout is not None else self.config.timeout + 60
        )

    def lambda_client(self, **config: Any) -> Any:
        """A boto3 Lambda client for this emulator (dummy credentials, no retries). Needs boto3."""
        boto3 = importlib.import_module("boto3")  # a dev dependency, untyped: imported as a plain module
        Config = importlib.import_module("botocore.config").Config

        options: dict[str, Any] = {
            "retries": {"max_attempts": 0, "mode": "standard"},
            "read_timeout": self.config.timeout + 60,
        }
        options.update(config)
        return boto3.client(
            "lambda",
            endpoint_url=self.url,
            region_name=self.config.region,
            aws_access_key_id="x",
            aws_secret_access_key="x",
            aws_session_token="x",
            config=Config(**options),
        )

    # -- what happened -----------------------------------------------------------------------------

    def records(self) -> list[InvocationRecord]:
        """The complete invocation records so far (``next_at`` known), in completion order."""
        return self.server.records()

    def wait_for_records(self, count: int, timeout: float = 30.0) -> list[InvocationRecord]:
        """Block until at least ``count`` records are complete; return all of them. Raises TimeoutError."""
        return self.server.wait_for_records(count, timeout)

    def record(self, request_id: str, timeout: float = 30.0) -> InvocationRecord:
        """The record of one invocation (by ``X-Amzn-RequestId``), waiting until it is complete."""
        return self.server.wait_for_record(request_id, timeout)

    def queued(self) -> int:
        """How many events wait for the runtime now (received, not yet delivered)."""
        return self.server.queued()

    def wait_for_queued(self, count: int, timeout: float = 30.0) -> None:
        """Block until at least ``count`` events wait for delivery. Raises TimeoutError."""
        self.server.wait_for_queued(count, timeout)

    def runtime_output(self) -> str:
        """Everything the runtime processes printed so far (stdout and stderr, one line per line)."""
        return self.server.runtime_output()

    def wait_for_output(self, text: str, timeout: float = 30.0) -> str:
        """Block until ``text`` appears in the runtime output; return the output. Raises TimeoutError."""
        return self.server.wait_for_output(text, timeout)

    def invocation_output(self, request_id: str) -> str:
        """The output attributed to one finished invocation (printed while it was the current one).

        Attribution is by arrival time: a line printed just before the runtime's ``/next`` may be read
        after it and land in the next invocation (or nowhere). Init output goes to the first invocation.
        """
        return self.server.invocation_output(request_id)
