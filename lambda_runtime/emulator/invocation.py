"""The emulator's data types, in one place: an invocation in flight and its answer, what a waiting ``/next``
gets, an init failure kept for the next caller, and the states of an execution environment.

They depend on nothing but leaf modules (hooks, records), so the modules that pass them around (pool,
lifecycle, environment, ledger, the two APIs) need not import one another for their types.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

from lambda_runtime.emulator.hooks import NO_HOOKS, Fault, InvocationHooks
from lambda_runtime.emulator.records import InvocationRecord

if TYPE_CHECKING:
    from lambda_runtime.emulator.response_stream import ResponseStream

logger = logging.getLogger("lambda_runtime.emulator")


@dataclass(frozen=True)
class Answer:
    """What the caller gets: a status, a body and (for function errors) ``X-Amz-Function-Error``."""

    body: bytes
    status: int = 200
    function_error: str | None = None
    error_type: str | None = None
    content_type: str = "application/json"
    #: A streamed response (the runtime's ``/response`` in streaming mode): the body comes through it.
    stream: ResponseStream | None = None

    @property
    def failed(self) -> bool:
        """A function error: posted to ``/error``, or ending a streamed response."""
        return bool(self.function_error or (self.stream is not None and self.stream.error_type))

    @classmethod
    def function_failure(cls, error_type: str, message: str) -> Answer:
        """An error the emulator itself reports for the function (exit, timeout, ...)."""
        body = json.dumps({"errorType": error_type, "errorMessage": message}).encode()
        return cls(body=body, function_error="Unhandled", error_type=error_type)


@dataclass(eq=False)
class Invocation:
    """An event on its way through the emulator.

    Life cycle: queued → delivered (handed to the runtime by ``/next``) → answered (the caller has its
    answer) → finished (``next_at`` known: the record is complete). ``answered`` may also happen before
    delivery (init errors) and ``finished`` without an answer never happens: the emulator always answers.
    Each attempt of an ``Event`` invocation is an ``Invocation`` of its own with the same request id.
    """

    payload: bytes
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    invocation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    invocation_type: str = "RequestResponse"
    trace_id: str | None = None
    client_context: str | None = None
    #: The caller's ``TenantId`` (tenant isolation mode), sent as ``Lambda-Runtime-Aws-Tenant-Id``.
    tenant_id: str | None = None
    hooks: InvocationHooks = NO_HOOKS
    received_at: float = field(default_factory=time.time)
    #: 1 for the first attempt; retries of an ``Event`` invocation count up.
    attempt: int = 1
    #: Its place in a chain of invocations, as recursive loop detection counts it (recursion.py).
    chain: int = 1
    deadline_ms: int | None = None
    record: InvocationRecord = field(init=False)
    #: Output lines of the runtime attributed to this invocation (for Tail logs and tests).
    log_lines: list[str] = field(default_factory=list)
    answer_future: asyncio.Future[Answer] = field(init=False)
    #: Done once the invocation is finished (its record complete).
    done: asyncio.Future[None] = field(init=False)
    finished: bool = False
    #: Index of the environment started for this event while it waits (it is delivered there, as Lambda places
    #: an invocation on the environment its cold start makes; not in queueing mode); ``None``: the first idle
    #: one takes it.
    bound_env: int | None = None
    #: The timeout timer, from delivery until the invocation ends.
    timer: asyncio.TimerHandle | None = None

    def __post_init__(self) -> None:
        self.record = InvocationRecord(
            request_id=self.request_id,
            received_at=self.received_at,
            invocation_type=self.invocation_type,
            invocation_id=self.invocation_id,
            attempt=self.attempt,
        )
        loop = asyncio.get_running_loop()
        self.answer_future = loop.create_future()
        self.done = loop.create_future()

    @property
    def delivered(self) -> bool:
        return self.record.delivered_at is not None

    @property
    def answered(self) -> bool:
        return self.answer_future.done()

    @property
    def request_id_tampered(self) -> bool:
        """A test hook removed or replaced the request id the runtime saw."""
        return self.hooks.overrides("Lambda-Runtime-Aws-Request-Id")

    def note_fault(self, point: str, mode: str) -> None:
        """An injected fault was applied: logged, and listed in ``record.extra["faults"]`` for tests."""
        self.record.extra.setdefault("faults", []).append(f"{point}:{mode}")
        logger.warning("%s: injected fault at %s: %s", self.request_id, point, mode)

    def answer(self, answer: Answer, at: float | None = None) -> bool:
        """Give the caller its answer; the first answer wins. Returns False if already answered."""
        if self.answer_future.done():
            return False
        self.record.responded_at = time.time() if at is None else at
        self.record.error_type = answer.error_type
        self.answer_future.set_result(answer)
        return True


@dataclass(frozen=True)
class Delivery:
    """What a waiting ``/next`` gets: an event, or a fault instead of it (the event then stays queued)."""

    inv: Invocation | None
    fault: Fault | None = None


@dataclass(eq=False)
class NextWaiter:
    """A ``/next`` request waiting for an event (``None`` as the result: the environment was reset)."""

    request: web.BaseRequest
    future: asyncio.Future[Delivery | None]

    @property
    def gone(self) -> bool:
        """The runtime's connection is closed: delivering to it would lose the event."""
        transport = self.request.transport
        return transport is None or transport.is_closing()


@dataclass(frozen=True)
class PendingFailure:
    """An init failure kept for the next caller: its answer (given the caller's request id) and exit code."""

    answer: Callable[[str], Answer]
    returncode: int | None = None
    init_ms: float | None = None
    runtime_pid: int | None = None
    init_lines: tuple[str, ...] = ()
    environment: int | None = None


class EnvState(enum.Enum):
    """Where an execution environment is in its life; :class:`~.environment.Environment` moves between them."""

    #: No runtime process.
    STOPPED = "stopped"
    #: Process started (or starting), no ``/next`` yet: the init phase.
    INIT = "init"
    #: The runtime waits in ``/next`` and has no event.
    IDLE = "idle"
    #: An event was delivered; the invocation lasts until the runtime's next ``/next``.
    BUSY = "busy"
    #: The process is being stopped (init error, shutdown, timeout, reclaim): no event is delivered to it.
    RESETTING = "resetting"
