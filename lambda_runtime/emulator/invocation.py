"""One invocation in flight: the event, the caller's pending answer and the record being filled in."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from dataclasses import dataclass, field

from lambda_runtime.emulator.hooks import NO_HOOKS, InvocationHooks
from lambda_runtime.emulator.records import InvocationRecord

logger = logging.getLogger("lambda_runtime.emulator")


@dataclass(frozen=True)
class Answer:
    """What the caller gets: a status, a body and (for function errors) ``X-Amz-Function-Error``."""

    body: bytes
    status: int = 200
    function_error: str | None = None
    error_type: str | None = None
    content_type: str = "application/json"

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
    hooks: InvocationHooks = NO_HOOKS
    received_at: float = field(default_factory=time.time)
    #: 1 for the first attempt; retries of an ``Event`` invocation count up.
    attempt: int = 1
    deadline_ms: int | None = None
    record: InvocationRecord = field(init=False)
    #: Output lines of the runtime attributed to this invocation (for Tail logs and tests).
    log_lines: list[str] = field(default_factory=list)
    answer_future: asyncio.Future[Answer] = field(init=False)
    #: Done once the invocation is finished (its record complete).
    done: asyncio.Future[None] = field(init=False)
    #: How many of ``log_lines`` the caller's Tail log covers: those logged up to the answer (see ``answer``).
    tail_end: int = 0
    finished: bool = False
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
        self.tail_end = len(self.log_lines)
        self.answer_future.set_result(answer)
        return True
