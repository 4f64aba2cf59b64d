"""The emulator's settings and the environment it builds for the runtime child process."""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from lambda_runtime.emulator.limits import FUNCTION_NAME, LIMITS, RETRY_DELAY, ConfigError
from lambda_runtime.emulator.recursion import ROLE_CREDENTIALS

API_VERSION = "2018-06-01"
INVOKE_API_VERSION = "2015-03-31"
ACCOUNT_ID = "000000000000"

#: Lambda's limit for a synchronous request payload: 6 MB, with MB = 1,024 KB as the "Lambda quotas" page
#: (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html, "Invocation payload (request and
#: response): 6 MB each") counts it, i.e. 6,291,456 bytes; Lambda's own refusal says "Request must be smaller
#: than 6291456 bytes for the InvokeFunction operation".
MAX_SYNC_REQUEST = 6_291_456
#: Lambda's limit for a synchronous response payload: 100 bytes more than a request may have (as measured;
#: Lambda's error names it: "exceeded maximum allowed payload size (6291556 bytes)").
MAX_SYNC_PAYLOAD = 6_291_556
#: Lambda's limit for an asynchronous (``Event``) payload.
MAX_ASYNC_PAYLOAD = 1_048_576
#: What aiohttp may read at most in one request body (bigger bodies are refused before we see them).
MAX_READ_SIZE = 64 * 1024 * 1024
#: Credentials for a runtime and a durable runner that have none: Lambda always gives a function its role's; the
#: local durable service checks no signature, but boto3 refuses to send a request it cannot sign.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_SESSION_TOKEN": "local"}
#: Lambda's defaults for asynchronous invocations: 2 retries, about 1 then 2 minutes apart, 6 h event age.
DEFAULT_RETRY_DELAYS = (60.0, 120.0)
DEFAULT_MAX_EVENT_AGE = 6 * 3600.0


@dataclass(frozen=True)
class EmulatorConfig:
    """Everything the emulator needs, validated once (:mod:`.limits`). The ``Emulator`` and the CLI both build one;
    a setting out of range raises :class:`~lambda_runtime.emulator.limits.ConfigError` naming it."""

    handler: str
    task_root: str = field(default_factory=os.getcwd)
    #: Function timeout in seconds (``Lambda-Runtime-Deadline-Ms`` = delivery + timeout).
    timeout: float = 3.0
    #: Base environment of the runtime child; ``None``: a copy of the emulator's own environment.
    env: Mapping[str, str] | None = None
    #: Command that starts the runtime; ``None``: ``[sys.executable, "-m", "lambda_runtime"]``.
    runtime_command: Sequence[str] | None = None
    function_name: str = "function"
    memory_size: int = 128
    region: str = "us-east-1"
    host: str = "127.0.0.1"
    port: int = 0
    report_file: str | None = None
    #: Honour the ``X-Emulator-*`` request headers (fault injection, header overrides).
    test_hooks: bool = False
    #: Start the runtime when the emulator starts instead of at the first invocation.
    prestart: bool = False
    #: Longest init (process start → first ``/next``) before the runtime is killed, as Lambda's 10 s.
    init_timeout: float = 10.0
    #: Freeze the runtime (SIGSTOP its process group) while it waits for an event, as Lambda does.
    freeze: bool = True
    #: Seconds between SIGTERM and SIGKILL when stopping a runtime (and after ``/init/error``).
    kill_grace: float = 2.0
    #: SnapStart: the runtime gets ``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``; its ``/runtime/restore/next``
    #: pauses it (SIGSTOP: the snapshot) for ``restore_delay`` seconds, then continues it (the restore).
    snap_start: bool = False
    #: SIGTERM → SIGKILL for a runtime that registered an extension: Lambda's 500 ms for an internal extension.
    shutdown_budget: float = 0.5
    restore_delay: float = 0.0
    #: Most execution environments (runtime processes) at once, the reserved concurrency; each is started on
    #: demand (a cold start) when an event finds no idle one.
    concurrency: int = 1
    #: Queueing mode: most events waiting for a *busy* environment to free up (0: none, as Lambda, which
    #: never queues a synchronous invocation: it starts an environment or answers 429).
    queue_size: int = 100
    #: Seconds an environment may stay idle before it is stopped (reclaimed); ``None``: never.
    idle_timeout: float | None = None
    #: Tenant isolation mode: each invocation names a tenant (``X-Amz-Tenant-Id``); an environment only
    #: serves the tenant it was started for.
    tenant_isolation: bool = False
    #: Invocation records (and their output) kept in memory, the latest ones; ``report_file`` has them all.
    keep_records: int = 10_000
    #: Most ``Event`` invocations waiting in the internal queue; beyond it the caller gets 429.
    async_queue_size: int = 100_000
    #: Where ``Event`` invocations still queued at shutdown are written when there is no ``on_failure``
    #: file; ``None``: ``lambda-emulator-unprocessed-<pid>.jsonl`` in the temporary directory.
    unprocessed_file: str | None = None
    #: Retries of a failed ``Event`` invocation (Lambda allows 0 to 2).
    max_retry_attempts: int = 2
    #: Seconds before retry 1, 2, ... (the last one repeats).
    retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS
    #: Seconds an ``Event`` may wait (queued or between retries) before it is dropped.
    max_event_age: float = DEFAULT_MAX_EVENT_AGE
    #: JSON-lines files receiving the destination records of ``Event`` invocations.
    on_failure: str | None = None
    on_success: str | None = None
    #: Lambda Managed Instances mode: one environment serving up to this many invocations at once, never frozen
    #: (``AWS_LAMBDA_MAX_CONCURRENCY``); 0: off, one invocation per environment.
    max_concurrency: int = 0
    #: Seconds a caller may stall: to send a whole request head (from its connection's start, or from its last
    #: answer on a kept-alive connection), to send its request body, and to take its answer. Then its connection
    #: is closed, and what the emulator held for it freed.
    client_timeout: float = 60.0
    #: Other functions, each served by another emulator: (name, its URL) pairs; invocations of them are forwarded.
    peers: tuple[tuple[str, str], ...] = ()
    #: Durable functions: AWS's local durable execution service runs beside the emulator (durable.py), a caller's
    #: Invoke starts an execution, and the runtime's ``AWS_ENDPOINT_URL_LAMBDA`` leads its SDK's checkpoints here.
    durable: bool = False

    def __post_init__(self) -> None:
        if not self.handler:
            raise ConfigError("handler", "must not be empty")
        if not FUNCTION_NAME.fullmatch(self.function_name):
            raise ConfigError(
                "function_name",
                f"must be 1 to 64 letters, digits, '-' or '_' (as Lambda's), got {self.function_name!r}",
            )
        if self.runtime_command is not None and not list(self.runtime_command):
            raise ConfigError("runtime_command", "must not be empty")
        for limit in LIMITS:
            value = getattr(self, limit.setting)
            if value is not None or not limit.optional:
                limit.check(value)
        if not self.retry_delays:
            raise ConfigError("retry_delays", "must be one or more delays")
        for delay in self.retry_delays:
            RETRY_DELAY.check(delay)
        if not os.path.isdir(self.task_root):
            raise ConfigError("task_root", f"{self.task_root!r} is not a directory")

    @property
    def command(self) -> list[str]:
        if self.runtime_command is None:
            return [sys.executable, "-m", "lambda_runtime"]
        return list(self.runtime_command)

    def retry_delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1-based) of an ``Event`` invocation."""
        return self.retry_delays[min(retry, len(self.retry_delays)) - 1]

    @property
    def function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    def runtime_env(self, runtime_api: str) -> dict[str, str]:
        """The environment of a fresh runtime process talking to ``runtime_api`` (``host:port``)."""
        env = dict(os.environ if self.env is None else self.env)
        stream = time.strftime("%Y/%m/%d", time.gmtime()) + "/[$LATEST]" + uuid.uuid4().hex
        env.update(
            {
                "AWS_LAMBDA_RUNTIME_API": runtime_api,
                "_HANDLER": self.handler,
                "LAMBDA_TASK_ROOT": os.path.abspath(self.task_root),
                "AWS_LAMBDA_FUNCTION_NAME": self.function_name,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_size),
                "AWS_LAMBDA_FUNCTION_TIMEOUT": _seconds(self.timeout),
                "AWS_LAMBDA_LOG_GROUP_NAME": self.log_group_name,
                "AWS_LAMBDA_LOG_STREAM_NAME": stream,
                "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start" if self.snap_start else "on-demand",
                "AWS_REGION": self.region,
                "AWS_DEFAULT_REGION": self.region,
            }
        )
        # Lambda gives the function its execution role's credentials; the emulator a fake role of its own
        # (recursion.py), unless the environment already has credentials.
        if "AWS_ACCESS_KEY_ID" not in env:
            env.update(ROLE_CREDENTIALS)
        if self.durable:
            # The durable SDK's boto3 client checkpoints at AWS_ENDPOINT_URL_LAMBDA: this environment's own port,
            # which serves the emulator's routes, /2025-12-01 (passed on to the durable service) included.
            env["AWS_ENDPOINT_URL_LAMBDA"] = f"http://{runtime_api}"
            for name, value in LOCAL_CREDENTIALS.items():
                env.setdefault(name, value)
        if self.max_concurrency:  # Managed Instances log JSON, whatever the function's configuration says
            env.update({"AWS_LAMBDA_MAX_CONCURRENCY": str(self.max_concurrency), "AWS_LAMBDA_LOG_FORMAT": "JSON"})
        return env


def _seconds(value: float) -> str:
    """``3.0`` → ``"3"``, ``0.5`` → ``"0.5"`` (Lambda's variable holds whole seconds; ours may not)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))
