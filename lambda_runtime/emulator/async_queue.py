"""``Event`` invocations: queued at once, invoked when there is room, retried on failure, sent to destinations.

As Lambda: a failed attempt (a function error, a timeout, an exit) is retried up to
``max_retry_attempts`` times, ``retry_delays`` apart; an event older than ``max_event_age`` is dropped
(while it waits for an environment or for its retry, never in the middle of an attempt). Events that
exhaust their retries or age out go to the ``on_failure`` file, successes to ``on_success``, as Lambda's
destination invocation records (one JSON object a line). An attempt is judged when it is over (the
runtime's next ``/next``), not at its response: deferred work that times out fails the attempt too.
When the pool is full, events wait for room instead of being throttled.

The queue is one FIFO of events and one callback from the pool when room may have appeared: each change
hands out as many events as fit, so a backlog drains in linear time (no waiter per event to wake). It holds
at most ``async_queue_size`` events (beyond: 429). At shutdown every event without an outcome yet is written,
with its request id, to the ``on_failure`` file, or else to ``unprocessed_file``: none is dropped silently.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from typing import Any

from lambda_runtime.emulator.config import EmulatorConfig
from lambda_runtime.emulator.invocation import Invocation
from lambda_runtime.emulator.pool import Pool
from lambda_runtime.emulator.records import utc_stamp
from lambda_runtime.emulator.responses import exit_error
from lambda_runtime.emulator.store import JsonLinesFile, Store

logger = logging.getLogger("lambda_runtime.emulator")


def _json_or_text(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", errors="replace")


@dataclass(eq=False)
class _Event:
    """One ``Event`` invocation across its attempts, until it has an outcome."""

    current: Invocation
    deadline: float
    #: Attempts that ran to their end, and the last of them.
    attempts: int = 0
    last: Invocation | None = None
    #: In the FIFO, waiting for room (an entry whose event aged out is skipped when it comes up).
    waiting: bool = False
    #: The age-out or retry timer running now.
    timer: asyncio.TimerHandle | None = None

    def cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


class AsyncInvoker:
    def __init__(self, config: EmulatorConfig, pool: Pool, store: Store) -> None:
        self.config = config
        self.pool = pool
        self.store = store
        self.on_failure = JsonLinesFile(config.on_failure)
        self.on_success = JsonLinesFile(config.on_success)
        #: Events without an outcome yet, in the order they came (queued, in flight or between attempts).
        self._open: dict[str, _Event] = {}
        self._fifo: collections.deque[_Event] = collections.deque()
        self._pumping = False
        self._stopped = False
        pool.on_room = self._pump

    def open(self) -> None:
        self.on_failure.open()
        self.on_success.open()

    async def stop(self) -> None:
        """Write every event without an outcome to the failure destination (or the unprocessed file)."""
        self._stopped = True
        events = list(self._open.values())
        self._open.clear()
        for event in events:
            event.cancel_timer()
        if events:
            target = self.on_failure
            if not self.config.on_failure:
                default = os.path.join(tempfile.gettempdir(), f"lambda-emulator-unprocessed-{os.getpid()}.jsonl")
                target = JsonLinesFile(self.config.unprocessed_file or default)
                target.open()
            for event in events:
                self._publish(target, self._outcome(event.current, event.last, "EmulatorShutdown", event.attempts))
            logger.warning("%d Event invocation(s) not processed, written to %s", len(events), target.path)
            if target is not self.on_failure:
                target.close()
        self.on_failure.close()
        self.on_success.close()

    def accept(self, first: Invocation) -> bool:
        """Take an event (its first attempt); False (nothing done) when the queue is full."""
        if self._stopped or len(self._open) >= self.config.async_queue_size:
            return False
        event = _Event(first, first.received_at + self.config.max_event_age)
        self._open[first.request_id] = event
        self._enqueue(event)
        return True

    def _enqueue(self, event: _Event) -> None:
        event.waiting = True
        self._fifo.append(event)
        event.timer = asyncio.get_running_loop().call_later(
            max(0.0, event.deadline - time.time()), self._age_out, event
        )
        self._pump()

    def _pump(self) -> None:
        """Submit waiting events while the pool has room (called again by the pool when room may appear)."""
        if self._pumping or self._stopped:
            return
        self._pumping = True
        try:
            while self._fifo and self.pool.has_room():
                event = self._fifo.popleft()
                if event.waiting:
                    event.waiting = False
                    event.cancel_timer()
                    self._submit(event)
        finally:
            self._pumping = False

    def _submit(self, event: _Event) -> None:
        inv = event.current
        if not self.pool.submit(inv):  # pragma: no cover - has_room was just checked
            raise RuntimeError("the pool refused an event it had room for")
        if inv.done.done():  # answered at once (an init failure kept for the next caller)
            self._attempt_over(event, inv)
            return
        inv.done.add_done_callback(lambda _: self._attempt_over(event, inv))
        # Still queued in the pool when its age runs out: withdrawn. Once delivered, an attempt runs to its end.
        event.timer = asyncio.get_running_loop().call_later(
            max(0.0, event.deadline - time.time()), self._withdraw, event, inv
        )

    def _withdraw(self, event: _Event, inv: Invocation) -> None:
        if self.pool.withdraw(inv):
            self._finish(event, self._outcome(inv, event.last, "EventAgeExceeded", event.attempts))

    def _age_out(self, event: _Event) -> None:
        event.waiting = False
        self._finish(event, self._outcome(event.current, event.last, "EventAgeExceeded", event.attempts))

    def _attempt_over(self, event: _Event, inv: Invocation) -> None:
        if self._stopped or inv.record.status is None:
            return
        event.cancel_timer()
        event.attempts += 1
        event.last = inv
        if self._error(inv) is None:
            self._finish(event, self._outcome(inv, inv, "Success", event.attempts))
        elif event.attempts > self.config.max_retry_attempts:
            self._finish(event, self._outcome(inv, inv, "RetriesExhausted", event.attempts))
        else:
            delay = min(self.config.retry_delay(event.attempts), event.deadline - time.time())
            event.current = self._next_attempt(inv, event.attempts + 1)
            event.timer = asyncio.get_running_loop().call_later(max(0.0, delay), self._retry_due, event)

    def _retry_due(self, event: _Event) -> None:
        event.timer = None
        if time.time() >= event.deadline:
            self._age_out(event)
        else:
            self._enqueue(event)

    @staticmethod
    def _next_attempt(previous: Invocation, attempt: int) -> Invocation:
        """The same event again, with the same request id (as Lambda's retries)."""
        return Invocation(
            payload=previous.payload,
            request_id=previous.request_id,
            invocation_type=previous.invocation_type,
            trace_id=previous.trace_id,
            client_context=previous.client_context,
            tenant_id=previous.tenant_id,
            hooks=previous.hooks,
            attempt=attempt,
            chain=previous.chain,
        )

    def stop_recursive(self, event: Invocation, message: str) -> None:
        """An event that would extend a recursive loop: never invoked, sent to the on-failure destination."""
        outcome = self._outcome(event, None, "RecursiveInvocationException", 0)
        outcome["responsePayload"] = {"errorType": "RecursiveInvocationException", "errorMessage": message}
        logger.info("%s Event stopped: recursive loop", event.request_id)
        self._publish(self.on_failure, outcome)

    def _error(self, inv: Invocation) -> bytes | None:
        """The error body of a failed attempt, or None if it succeeded."""
        answer = inv.answer_future.result()
        record = inv.record
        if answer.failed:
            return answer.body if answer.function_error or answer.stream is None else answer.stream.error_json()
        if record.status == "timeout":
            message = f"RequestId: {inv.request_id} Error: Task timed out after {self.config.timeout:.2f} seconds"
            return json.dumps({"errorType": "Sandbox.Timedout", "errorMessage": message}).encode()
        if record.status == "crash":
            return exit_error(inv.request_id, record.exit_code or 0).body
        return None

    def _finish(self, event: _Event, outcome: dict[str, Any]) -> None:
        """The event has its outcome: published to its destination, and forgotten."""
        event.cancel_timer()
        if self._open.pop(event.current.request_id, None) is None:
            return
        condition = outcome["requestContext"]["condition"]
        logger.info("%s Event %s after %d attempt(s)", event.current.request_id, condition, event.attempts)
        self._publish(self.on_success if condition == "Success" else self.on_failure, outcome)

    def _publish(self, target: JsonLinesFile, outcome: dict[str, Any]) -> None:
        target.write(json.dumps(outcome, separators=(",", ":")))
        self.store.add_async_outcome(outcome)  # after the file: whoever sees the outcome finds the line

    def _outcome(self, event: Invocation, last: Invocation | None, condition: str, invoke_count: int) -> dict[str, Any]:
        """Lambda's destination invocation record (the log never holds the payloads).

        ``last`` is the last attempt that ran (None if none did): its response or error goes in the record.
        """
        outcome: dict[str, Any] = {
            "version": "1.0",
            "timestamp": utc_stamp(time.time()),
            "requestContext": {
                "requestId": event.request_id,
                "functionArn": f"{self.config.function_arn}:$LATEST",
                "condition": condition,
                "approximateInvokeCount": invoke_count,
            },
            "requestPayload": _json_or_text(event.payload),
        }
        if last is not None:
            error = self._error(last)
            outcome["responseContext"] = {"statusCode": 200, "executedVersion": "$LATEST"}
            if error is not None:
                outcome["responseContext"]["functionError"] = "Unhandled"
            outcome["responsePayload"] = _json_or_text(error if error is not None else last.answer_future.result().body)
        elif condition == "EventAgeExceeded":
            message = f"The event was not invoked within the maximum event age of {self.config.max_event_age:g} s"
            outcome["responsePayload"] = {"errorType": "EventAgeExceeded", "errorMessage": message}
        return outcome
