"""Settings read once from an injected environment mapping.

This is the only module that reads the environment: everything else receives a `Settings`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from typing import NamedTuple, TypeVar

from lambda_runtime.errors import ConfigError

T = TypeVar("T")
N = TypeVar("N", int, float)
# Lambda's longest timeout is 15 minutes: a wait or a margin beyond it can never be what was meant.
_LONGEST_S = 900

LOG_FORMATS = ("Text", "JSON")
LOG_LEVELS = ("DEBUG", "INFO", "WARN", "WARNING", "ERROR", "CRITICAL", "FATAL", "TRACE")
OVERRUN_POLICIES = ("abandon", "exit")
WHEN_FULL_POLICIES = ("raise", "inline")


# NamedTuples and plain classes rather than dataclasses, here and in the other runtime modules: `dataclasses`
# imports `inspect`, about 5 ms at every cold start.
class Settings(NamedTuple):
    """Everything the runtime needs to know about its environment, validated once at start."""

    runtime_api: str
    handler: str
    task_root: str = "."
    log_format: str = "Text"
    log_level: str = ""  # "": AWS_LAMBDA_LOG_LEVEL unset, the root logger stays at WARNING as under awslambdaric
    telemetry_log_fd: int | None = None  # _LAMBDA_TELEMETRY_LOG_FD: log frames go there (managed runtimes)
    function_name: str = ""
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 128
    log_group_name: str = ""
    log_stream_name: str = ""
    post_timeout_s: float = 10.0
    retry_attempts: int = 5
    retry_max_delay_s: float = 10.0
    defer_workers: int = 4
    defer_max_pending: int = 64
    defer_max_queued: int = 1024  # jobs waiting for a free worker, every invocation's together
    defer_margin_ms: int = 100
    defer_max_abandoned: int = 8
    defer_processes: int = 1
    defer_processes_at_init: bool = False
    defer_overrun: str = "abandon"
    defer_when_full: str = "raise"
    defer_on_error: bool = True
    shutdown_extension: bool = False
    initialization_type: str = "on-demand"  # "snap-start": the SnapStart sequence runs before the first /next
    # AWS_LAMBDA_MAX_CONCURRENCY (Lambda Managed Instances): invocations served at once; 0 when unset, one at a time.
    max_concurrency: int = 0
    # LAMBDA_RUNTIME_WORKER_PROCESSES: under Managed Instances, that many processes share the slots (supervisor.py).
    worker_processes: int = 1
    # Hand-off (handoff/): the HMAC key that signs and checks envelopes ("" = hand-off off), the longest chain of
    # hand-offs, how long an envelope stays valid, and the function that receives them ("" = this one).
    handoff_key: str = ""
    handoff_max_hops: int = 4
    handoff_ttl_s: float = 3600.0
    handoff_function: str = ""
    # Set only by the runtime itself when it replaced its process image with a `/next` already sent (restart.py).
    pending_next_fd: int = -1

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], handler: str | None = None) -> Settings:
        """Build settings from `environ`; `handler` (a command-line argument) wins over `_HANDLER`."""
        env = _Reader(environ)
        handler = handler or env.text("_HANDLER", "")
        memory = env.parse("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", 128, _bounded(int, 1_048_576))
        max_concurrency = env.parse("AWS_LAMBDA_MAX_CONCURRENCY", 0, _bounded(int, 4096))
        max_pending = env.parse("LAMBDA_RUNTIME_DEFER_MAX_PENDING", 64, _bounded(int, 1_000_000))
        if not handler:
            raise ConfigError("_HANDLER is not set and no handler was given on the command line")
        return cls(
            runtime_api=env.parse("AWS_LAMBDA_RUNTIME_API", None, _host_port),
            handler=handler,
            task_root=env.text("LAMBDA_TASK_ROOT", os.getcwd()),
            # Managed Instances always log JSON (each record names its request id): the default follows.
            log_format=env.choice("AWS_LAMBDA_LOG_FORMAT", "JSON" if max_concurrency else "Text", LOG_FORMATS),
            log_level=_log_level(env),
            telemetry_log_fd=env.optional("_LAMBDA_TELEMETRY_LOG_FD", _non_negative_int),
            function_name=env.text("AWS_LAMBDA_FUNCTION_NAME", ""),
            function_version=env.text("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            memory_limit_in_mb=memory,
            log_group_name=env.text("AWS_LAMBDA_LOG_GROUP_NAME", ""),
            log_stream_name=env.text("AWS_LAMBDA_LOG_STREAM_NAME", ""),
            post_timeout_s=env.parse("LAMBDA_RUNTIME_POST_TIMEOUT", 10.0, _bounded(float, _LONGEST_S)),
            retry_attempts=env.parse("LAMBDA_RUNTIME_RETRY_ATTEMPTS", 5, _bounded(int, 100)),
            retry_max_delay_s=env.parse("LAMBDA_RUNTIME_RETRY_MAX_DELAY", 10.0, _bounded(float, _LONGEST_S)),
            defer_workers=env.parse("LAMBDA_RUNTIME_DEFER_WORKERS", 4, _bounded(int, 1024)),
            defer_max_pending=max_pending,
            # By default never below one invocation's own bound: one invocation at a time is limited as before.
            defer_max_queued=env.parse("LAMBDA_RUNTIME_DEFER_MAX_QUEUED", max(1024, max_pending), _bounded(int, 10**7)),
            defer_margin_ms=env.parse("LAMBDA_RUNTIME_DEFER_MARGIN_MS", 100, _bounded(int, _LONGEST_S * 1000)),
            defer_processes=env.parse("LAMBDA_RUNTIME_DEFER_PROCESSES", default_processes(memory), _bounded(int, 64)),
            defer_processes_at_init=env.parse("LAMBDA_RUNTIME_DEFER_PROCESSES_AT_INIT", False, _boolean),
            defer_max_abandoned=env.parse("LAMBDA_RUNTIME_DEFER_MAX_ABANDONED", 8, _non_negative_int),
            defer_overrun=env.choice("LAMBDA_RUNTIME_DEFER_OVERRUN", "abandon", OVERRUN_POLICIES),
            defer_when_full=env.choice("LAMBDA_RUNTIME_DEFER_WHEN_FULL", "raise", WHEN_FULL_POLICIES),
            defer_on_error=env.parse("LAMBDA_RUNTIME_DEFER_ON_ERROR", True, _boolean),
            initialization_type=env.text("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
            shutdown_extension=env.parse("LAMBDA_RUNTIME_SHUTDOWN_EXTENSION", False, _boolean),
            max_concurrency=max_concurrency,
            worker_processes=env.parse("LAMBDA_RUNTIME_WORKER_PROCESSES", 1, _bounded(int, 1024)),
            pending_next_fd=env.parse("_LAMBDA_RUNTIME_PENDING_NEXT_FD", -1, _non_negative_int),
            handoff_key=env.parse("LAMBDA_RUNTIME_HANDOFF_KEY", "", _secret_key, secret=True),
            # Lambda stops a chain of about 16 invocations (invocation-recursion.html): stay well under it.
            handoff_max_hops=env.parse("LAMBDA_RUNTIME_HANDOFF_MAX_HOPS", 4, _bounded(int, 15)),
            # An Event waits at most 6 h in Lambda's queue (MaximumEventAgeInSeconds): a longer validity is useless.
            handoff_ttl_s=env.parse("LAMBDA_RUNTIME_HANDOFF_TTL", 3600.0, _bounded(float, 21_600)),
            handoff_function=env.text("LAMBDA_RUNTIME_HANDOFF_FUNCTION", ""),
        )


class _Reader:
    """Reads one variable at a time and names it in every error."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def text(self, name: str, default: str) -> str:
        return self._environ.get(name, "").strip() or default

    def parse(self, name: str, default: T | None, convert: Callable[[str], T], secret: bool = False) -> T:
        raw = self._environ.get(name, "").strip()
        if not raw:
            if default is None:
                raise ConfigError(f"{name} is not set")
            return default
        try:
            return convert(raw)
        except ValueError as error:
            shown = "<secret>" if secret else repr(raw)  # a secret never reaches a log, even a wrong one
            raise ConfigError(f"{name}={shown} is invalid: {error}") from None

    def optional(self, name: str, convert: Callable[[str], T]) -> T | None:
        return self.parse(name, None, convert) if self.text(name, "") else None

    def choice(self, name: str, default: str, allowed: tuple[str, ...]) -> str:
        def pick(raw: str) -> str:
            for option in allowed:
                if raw.lower() == option.lower():
                    return option
            raise ValueError(f"expected one of {', '.join(allowed)}")

        return self.parse(name, default, pick)


def default_processes(memory_mb: int) -> int:
    """Worker processes for process jobs: Lambda's CPU share grows with memory, 1,769 MB being one vCPU.

    Not os.cpu_count(), which reports the host's processors, more than the function may use.
    """
    return max(1, round(memory_mb / 1769))


def _log_level(env: _Reader) -> str:
    # Lambda's advanced logging controls set AWS_LAMBDA_LOG_LEVEL; LOG_LEVEL is what many existing functions (and
    # template.yaml) already use, so it is honoured when the former is absent. With neither, "": the root logger
    # stays at WARNING, as awslambdaric leaves it.
    name = "AWS_LAMBDA_LOG_LEVEL" if env.text("AWS_LAMBDA_LOG_LEVEL", "") else "LOG_LEVEL"
    level = env.choice(name, "", LOG_LEVELS)
    return {"WARN": "WARNING", "FATAL": "CRITICAL", "TRACE": "DEBUG"}.get(level, level)


def _host_port(raw: str) -> str:
    host, sep, port = raw.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("expected HOST:PORT, e.g. 127.0.0.1:9001")
    return raw


def _bounded(kind: Callable[[str], N], at_most: float) -> Callable[[str], N]:
    """A finite number above 0 and at most `at_most`: `inf`, `nan`, 0 and negatives make no sense here."""

    def convert(raw: str) -> N:
        value = kind(raw)
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        if not 0 < value <= at_most:
            raise ValueError("must be greater than 0" + (f" and at most {at_most:g}" if at_most < math.inf else ""))
        return value

    return convert


def _positive(kind: Callable[[str], N]) -> Callable[[str], N]:
    """A finite number above 0."""
    return _bounded(kind, math.inf)


def _non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("must be 0 or more")
    return value


def _secret_key(raw: str) -> str:
    # HMAC-SHA256 is only as strong as its key: a short one can be guessed offline from one captured envelope.
    if len(raw.encode()) < 32:
        raise ValueError("must be at least 32 bytes of secret (e.g. `openssl rand -hex 32`)")
    return raw


def _boolean(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")
