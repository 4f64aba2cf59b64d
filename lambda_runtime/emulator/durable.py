"""Durable functions on the emulator: ``lambda-runtime serve --durable``.

A durable function needs Lambda's durable execution *service*: it turns a caller's Invoke into an execution, keeps its
checkpoints, and invokes the handler again after each wait or retry. Rather than re-implement that service, the
emulator runs AWS's own local one, the web runner of ``aws-durable-execution-sdk-python-testing`` (``dex-local-runner
start-server``), as a child process, and stands in front of it:

- a caller's Invoke (``aws lambda invoke``, boto3) starts an execution there, as Lambda does for a function with a
  durable config: ``RequestResponse`` waits for the execution to end and answers with its result, ``Event`` answers
  202 at once; both carry ``X-Amz-Durable-Execution-Arn``. ``X-Amz-Durable-Execution-Name`` names the execution.
- the runner's own Invokes carry ``X-Dex-Handler-Invoke: true`` (``invoker.py``, ``INVOCATION_MARKER_HEADER``:
  "an endpoint that starts an execution on Invoke of a durable function runs the handler once instead"): those run
  the handler once, as any invocation.
- the durable execution API (``/2025-12-01/...``: checkpoint, state, get, history, stop, callbacks) is passed on to
  the runner, so the runtime's SDK and the caller both use the emulator as their one Lambda endpoint.

Without ``--durable`` those routes answer a JSON error that names the option, and the emulator logs it once: the
SDK's first checkpoint would otherwise get a plain-text 404 and end the execution ``FAILED`` with no word of why.

The runner is a child process rather than a thread of the emulator: its boto3 client needs credentials and its web
server configures the root logger, neither of which belongs in the emulator's process.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import logging
import math
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import web

from lambda_runtime.emulator.config import ACCOUNT_ID, LOCAL_CREDENTIALS, EmulatorConfig
from lambda_runtime.emulator.responses import service_error

logger = logging.getLogger("lambda_runtime.emulator")

#: The durable execution API's version prefix (botocore's Lambda model, ``CheckpointDurableExecution``).
DURABLE_API_VERSION = "2025-12-01"
#: The package whose web runner serves that API locally.
RUNNER_MODULE = "aws_durable_execution_sdk_python_testing"
#: What the runner adds to each Invoke it sends (``invoker.py``, ``INVOCATION_MARKER_HEADER`` / ``_VALUE``).
RUNNER_INVOKE_HEADER = "X-Dex-Handler-Invoke"
#: Lambda's limit for a synchronous invocation, also of a durable function ("Invoking durable Lambda functions":
#: "Synchronous invocations are limited to 15 minutes"); an Event-started execution may run longer.
SYNC_EXECUTION_TIMEOUT_S = 900
EVENT_EXECUTION_TIMEOUT_S = 24 * 3600
#: Execution states after which nothing changes (``GetDurableExecution``'s ``Status``).
FINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "STOPPED"})
_HOP_BY_HOP = frozenset({"host", "content-length", "transfer-encoding", "connection", "keep-alive"})


class DurableUnavailable(RuntimeError):
    """``--durable`` was asked for but the local durable service cannot run."""


def runner_installed() -> bool:
    return importlib.util.find_spec(RUNNER_MODULE) is not None


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class DurableRunner:
    """AWS's local durable execution service as a child process: ``start()``, then ``stop()``."""

    def __init__(self, config: EmulatorConfig, start_timeout: float = 30.0) -> None:
        self.config = config
        self.start_timeout = start_timeout
        self.url = ""
        self._process: subprocess.Popen[bytes] | None = None

    async def start(self, lambda_endpoint: str) -> None:
        """Start the runner, invoking the handler at ``lambda_endpoint``, and wait until it answers ``/health``."""
        if not runner_installed():
            raise DurableUnavailable(
                f"--durable needs AWS's durable execution testing SDK ({RUNNER_MODULE}): "
                "install the lambda-runtime[durable] extra (Python 3.11 or later)"
            )
        host = "127.0.0.1"
        port = _free_port(host)  # the runner cannot say which port it took for 0; this one is free a moment ago
        command = [
            sys.executable,
            *("-m", f"{RUNNER_MODULE}.cli", "start-server"),
            *("--host", host, "--port", str(port), "--lambda-endpoint", lambda_endpoint),
            *("--local-runner-region", self.config.region, "--log-level", "WARNING"),
            # Each handler invocation is bounded by the function's timeout (the emulator enforces it too).
            *("--invocation-timeout", str(max(1, math.ceil(self.config.timeout)))),
        ]
        env = dict(os.environ)
        for name, value in LOCAL_CREDENTIALS.items():
            env.setdefault(name, value)
        # Its own process group: stopping it reaches its threads' children too, and Ctrl-C on the emulator does not.
        self._process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, start_new_session=True)
        self.url = f"http://{host}:{port}"
        await self._wait_healthy()
        logger.info("durable execution service (AWS's local runner) on %s, pid %d", self.url, self._process.pid)

    async def _wait_healthy(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.start_timeout
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            while True:
                if self._process.poll() is not None:
                    raise DurableUnavailable(f"the local durable runner exited at start ({self._process.returncode})")
                with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                    async with session.get(f"{self.url}/health") as response:
                        if response.status == 200:
                            return
                if time.monotonic() > deadline:
                    await self.stop()
                    raise DurableUnavailable(f"the local durable runner did not answer within {self.start_timeout} s")
                await asyncio.sleep(0.1)

    async def stop(self, grace: float = 2.0) -> None:
        """SIGTERM to the runner's process group, SIGKILL after ``grace`` seconds: never left behind."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await asyncio.to_thread(process.wait)


class DurableApi:
    """The durable front door of the Invoke API and the ``/2025-12-01`` routes (see the module's docstring)."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.runner = DurableRunner(config) if config.durable else None
        self._session: aiohttp.ClientSession | None = None
        # Set once the runner answers: the Invoke API port accepts requests before (its URL is the runner's Lambda
        # endpoint), and a request that comes early waits for the service rather than failing.
        self._ready = asyncio.Event()
        self._warned = False

    def add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", f"/{DURABLE_API_VERSION}/{{tail:.*}}", self.durable_api)

    async def start(self, lambda_endpoint: str) -> None:
        if self.runner is None:
            return
        # No total timeout: a synchronous start waits for its execution (the runner's execution timeout bounds it).
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=5))
        await self.runner.start(lambda_endpoint)
        self._ready.set()

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self.runner is not None:
            await self.runner.stop()

    def starts_execution(self, request: web.Request) -> bool:
        """A caller's Invoke of the durable function (the runner's own Invokes run the handler once)."""
        return self.runner is not None and request.headers.get(RUNNER_INVOKE_HEADER, "").lower() != "true"

    async def durable_api(self, request: web.Request) -> web.StreamResponse:
        if self.runner is None:
            return self._not_served(request)
        await self._ready.wait()
        assert self._session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        async with self._session.request(
            request.method, self.runner.url + request.rel_url.raw_path_qs, data=body, headers=headers
        ) as answer:
            payload = await answer.read()
            passed = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP}
            return web.Response(status=answer.status, body=payload, headers=passed)

    def _not_served(self, request: web.Request) -> web.Response:
        message = (
            "This emulator serves no durable execution API: start it with `lambda-runtime serve --durable` "
            f"(Emulator(..., durable=True)) to run durable functions ({request.method} {request.path})"
        )
        if not self._warned:
            self._warned = True
            logger.warning("%s", message)
        return service_error(404, "ResourceNotFoundException", message)

    async def invoke(self, request: web.Request, invocation_type: str, payload: bytes) -> web.Response:
        """Start an execution with ``payload`` as its input; for ``RequestResponse``, answer with its outcome."""
        await self._ready.wait()
        assert self.runner is not None and self._session is not None
        name = request.headers.get("X-Amz-Durable-Execution-Name") or str(uuid.uuid4())
        synchronous = invocation_type == "RequestResponse"
        start = {
            "AccountId": ACCOUNT_ID,
            "FunctionName": self.config.function_name,
            "FunctionQualifier": "$LATEST",
            "ExecutionName": name,
            "ExecutionTimeoutSeconds": SYNC_EXECUTION_TIMEOUT_S if synchronous else EVENT_EXECUTION_TIMEOUT_S,
            "ExecutionRetentionPeriodDays": 1,
            "Input": payload.decode("utf-8") if payload else "{}",
        }
        async with self._session.post(f"{self.runner.url}/start-durable-execution", json=start) as answer:
            started = await answer.read()
            if answer.status >= 300:  # e.g. an execution of that name already exists: the runner's error, as it is
                error_type = answer.headers.get("X-Amzn-ErrorType") or "ServiceException"
                headers = {"X-Amzn-ErrorType": error_type.split(":")[0]}
                return web.Response(
                    status=answer.status, body=started, headers=headers, content_type="application/json"
                )
        arn = json.loads(started)["ExecutionArn"]
        request_id = str(uuid.uuid4())
        headers = {"X-Amzn-RequestId": request_id, "X-Amz-Durable-Execution-Arn": arn}
        logger.info("durable execution %s started (%s)", arn, invocation_type)
        if not synchronous:
            return web.Response(status=202, headers=headers)
        execution = await self._wait_final(arn, SYNC_EXECUTION_TIMEOUT_S + 60)
        headers["X-Amz-Executed-Version"] = "$LATEST"
        status = execution.get("Status")
        if status == "SUCCEEDED":
            result = execution.get("Result")
            return web.Response(body=result if result is not None else "null", headers=headers)
        headers["X-Amz-Function-Error"] = "Unhandled"
        return web.json_response(_function_error(execution), headers=headers)

    async def _wait_final(self, arn: str, limit_s: float) -> Mapping[str, Any]:
        """``GetDurableExecution`` until the execution ends (the runner ends it by its execution timeout)."""
        assert self.runner is not None and self._session is not None
        url = f"{self.runner.url}/{DURABLE_API_VERSION}/durable-executions/{quote(arn, safe='')}"
        deadline = time.monotonic() + limit_s
        pause = 0.02
        while True:
            async with self._session.get(url) as answer:
                execution: Mapping[str, Any] = await answer.json(content_type=None)
            if execution.get("Status") in FINAL_STATUSES or time.monotonic() > deadline:
                return execution
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.5)


def _function_error(execution: Mapping[str, Any]) -> dict[str, Any]:
    """A failed, timed-out or stopped execution as the function error a caller of ``Invoke`` reads."""
    error = execution.get("Error") or {}
    status = execution.get("Status", "RUNNING")
    return {
        "errorType": error.get("ErrorType") or f"DurableExecution.{str(status).title().replace('_', '')}",
        "errorMessage": error.get("ErrorMessage") or f"The durable execution is {status}",
        "stackTrace": error.get("StackTrace") or [],
        "durableExecutionStatus": status,
    }
