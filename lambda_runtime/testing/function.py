"""`LocalFunction`: a handler served by the runtime's own loop and job machinery, in this process, one event at a
time."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

from requests.structures import CaseInsensitiveDict

from lambda_runtime.api.invocation import Invocation
from lambda_runtime.config import Settings
from lambda_runtime.invocation.loop import InvocationLoop
from lambda_runtime.jobs.phase import JobRunner
from lambda_runtime.lifecycle.startup import shutdown_budget_s
from lambda_runtime.logs.configure import set_levels
from lambda_runtime.serve.exits import Exit, overrun
from lambda_runtime.testing.clock import SimulatedClock
from lambda_runtime.testing.invocation import LocalInvocation, Recorder, replace_process
from lambda_runtime.testing.logbook import LogBook

_ACCOUNT = "123456789012"  # the placeholder account id AWS's own examples use


class LocalFunction:
    """`handler` as Lambda would run it, without a server: `invoke(event)` returns a `LocalInvocation`.

    `timeout` (seconds, at most 900) sets the invocation's deadline; `environ` sets the runtime's variables
    (`LAMBDA_RUNTIME_DEFER_*`, `AWS_LAMBDA_LOG_LEVEL`, `AWS_LAMBDA_LOG_FORMAT`, ...), validated as the runtime does;
    the handler's own variables are the process's (pytest's `monkeypatch.setenv`). `task_root` is where worker
    processes import the handler's modules from; by default the directory the handler's module is imported from.
    """

    def __init__(
        self,
        handler: Callable[[Any, Any], Any],
        *,
        timeout: float = 3.0,
        memory_size: int = 128,
        function_name: str = "function",
        region: str = "us-east-1",
        environ: Mapping[str, str] | None = None,
        task_root: str | None = None,
    ) -> None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 900:
            raise ValueError(f"timeout must be a number of seconds above 0 and at most 900 (Lambda's), got {timeout!r}")
        self.handler = handler
        self.timeout = timeout
        self.arn = f"arn:aws:lambda:{region}:{_ACCOUNT}:function:{function_name}"
        variables = {
            "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",  # never called: answers go to the LocalInvocation
            "_HANDLER": f"{handler.__module__}.{getattr(handler, '__qualname__', type(handler).__qualname__)}",
            "LAMBDA_TASK_ROOT": task_root or _import_root(handler),
            "AWS_LAMBDA_FUNCTION_NAME": function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}",
        }
        self.settings = Settings.from_environ({**variables, **(environ or {})})
        if self.settings.max_concurrency:
            raise ValueError("AWS_LAMBDA_MAX_CONCURRENCY: a LocalFunction serves one invocation at a time")
        self.clock = SimulatedClock()
        self.logbook = LogBook(self.settings.log_format)
        self.logbook.read_frames()
        root = logging.getLogger()
        self._levels = (root.level, logging.getLogger("lambda_runtime").level)
        root.addHandler(self.logbook)
        set_levels(self.settings.log_level)
        self.runner = self._new_runner()
        self._busy: LocalInvocation | None = None

    def __enter__(self) -> LocalFunction:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def invoke(self, event: Any = None, *, wait: float = 30.0, **details: Any) -> LocalInvocation:
        """Invoke with `event`, run the deferred jobs to completion, and return the invocation. `wait`: real
        seconds before `StillRunning` (a job that waits for its deadline needs `start()` and `expire()`)."""
        return self.start(event, wait=wait, **details).wait(wait)

    def start(
        self,
        event: Any = None,
        *,
        wait: float = 30.0,
        client_context: Mapping[str, Any] | None = None,
        identity: Mapping[str, Any] | None = None,
        tenant_id: str | None = None,
    ) -> LocalInvocation:
        """Invoke with `event` and return once the handler has answered, its jobs running after the response.

        Then `advance(seconds)` / `expire()` move the jobs' clock, `wait()` waits for the post-response phase.
        `client_context` and `identity` reach `context.client_context` and `context.identity` as on Lambda.
        """
        if self._busy is not None:
            self._busy.wait(wait)  # one invocation at a time, as in one execution environment
        request_id = str(uuid.uuid4())
        run = LocalInvocation(request_id, self.clock, self.logbook)
        self.logbook.open(request_id)
        loop = InvocationLoop(Recorder(run), run.wrap(self.handler), self.settings, self.runner, {})
        run.serve(loop, self._event(request_id, event, client_context, identity, tenant_id), self._replaced)
        self._busy = run
        run.wait_answered(wait)
        return run

    def close(self) -> None:
        """Stop the worker processes and take the log handler off the root logger."""
        if self._busy is not None:
            # After a test that already failed (or was told so by wait()): that failure is the one to see.
            with contextlib.suppress(Exception):
                self._busy.wait(1.0)
        if self.runner.processes is not None:
            self.runner.processes.close()
        root = logging.getLogger()
        root.removeHandler(self.logbook)
        root.setLevel(self._levels[0])
        logging.getLogger("lambda_runtime").setLevel(self._levels[1])
        self.logbook.close()

    def _new_runner(self) -> JobRunner:
        runner = JobRunner.from_settings(self.settings, self.logbook.frames_fd, self.clock)
        # The runtime's own exit, as main builds it for one invocation at a time: the overrun policy restarts in
        # place, which here ends the invocation's phase (`restarted`) and the next event gets a fresh runner.
        leave = Exit(runner, shutdown_budget_s(self.settings), replace_process)
        runner.escalate = lambda reason: leave.perform(overrun(reason))
        return runner

    def _replaced(self) -> None:
        # The runtime replaced its process: the next event finds a fresh one, with new workers.
        self.runner = self._new_runner()

    def _event(
        self,
        request_id: str,
        event: Any,
        client_context: Mapping[str, Any] | None,
        identity: Mapping[str, Any] | None,
        tenant_id: str | None,
    ) -> Invocation:
        """The `/next` answer Lambda would give: the event as bytes and the headers that describe it."""
        raw = isinstance(event, (bytes, bytearray))
        body = bytes(event) if raw else json.dumps(event).encode()
        headers = {
            "Content-Type": "application/octet-stream" if raw else "application/json",
            "Lambda-Runtime-Aws-Request-Id": request_id,
            "Lambda-Runtime-Deadline-Ms": str(int((time.time() + self.timeout) * 1000)),
            "Lambda-Runtime-Invoked-Function-Arn": self.arn,
            "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0",
        }
        if client_context is not None:
            headers["Lambda-Runtime-Client-Context"] = json.dumps(client_context)
        if identity is not None:
            headers["Lambda-Runtime-Cognito-Identity"] = json.dumps(identity)
        if tenant_id is not None:
            headers["Lambda-Runtime-Aws-Tenant-Id"] = tenant_id
        return Invocation(request_id, body, CaseInsensitiveDict(headers))


def _import_root(handler: Callable[..., Any]) -> str:
    """The directory `handler`'s module is imported from (`a/b/pkg/mod.py` for `pkg.mod` gives `a/b`); for a callable
    object (a web adapter), whose class's module is elsewhere, the working directory."""
    if not hasattr(handler, "__qualname__"):
        return os.getcwd()
    module = sys.modules.get(handler.__module__)
    path: str | None = getattr(module, "__file__", None)
    if not path:
        return os.getcwd()
    root = os.path.dirname(os.path.abspath(path))
    if os.path.basename(path) == "__init__.py":  # the handler is in a package's own module
        root = os.path.dirname(root)
    for _ in range(handler.__module__.count(".")):
        root = os.path.dirname(root)
    return root
