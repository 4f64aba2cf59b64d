"""``Event`` invocations: queued at once, invoked by a worker, retried on failure, sent to destinations.

As Lambda: a failed attempt (a function error, a timeout, an exit) is retried up to
``max_retry_attempts`` times, ``retry_delays`` apart; an event older than ``max_event_age`` is dropped
(while it waits for an environment or for its retry, never in the middle of an attempt). Events that
exhaust their retries or age out go to the ``on_failure`` file, successes to ``on_success``, as Lambda's
destination invocation records (one JSON object a line). An attempt is judged when it is over (the
runtime's next ``/next``), not at its response: deferred work that times out fails the attempt too.
When the pool is full, events wait for room instead of being throttled.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
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


class AsyncInvoker:
    def __init__(self, config: EmulatorConfig, pool: Pool, store: Store) -> None:
        self.config = config
        self.pool = pool
        self.store = store
        self.on_failure = JsonLinesFile(config.on_failure)
        self.on_success = JsonLinesFile(config.on_success)
        self._tasks: set[asyncio.Task[None]] = set()

    def open(self) -> None:
        self.on_failure.open()
        self.on_success.open()

    async def stop(self) -> None:
        """Events not done yet are lost, as they would be if Lambda's queue went away."""
        if self._tasks:
            logger.warning("dropping %d Event invocation(s) still queued or retrying", len(self._tasks))
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.on_failure.close()
        self.on_success.close()

    def accept(self, first: Invocation) -> bool:
        """Take an event (its first attempt, not submitted yet); 202 is answered meanwhile."""
        task = asyncio.get_running_loop().create_task(self._run(first))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _run(self, first: Invocation) -> None:
        deadline = first.received_at + self.config.max_event_age
        inv, last = first, None
        for attempt in range(1, self.config.max_retry_attempts + 2):
            if attempt > 1:
                delay = self.config.retry_delay(attempt - 1)
                await asyncio.sleep(max(0.0, min(delay, deadline - time.time())))
                inv = self._next_attempt(inv, attempt)
            if not await self._attempt(inv, deadline):
                self._destination(inv, last, "EventAgeExceeded", attempt - 1)
                return
            last = inv
            if self._error(inv) is None:
                self._destination(inv, inv, "Success", attempt)
                return
        self._destination(inv, inv, "RetriesExhausted", self.config.max_retry_attempts + 1)

    @staticmethod
    def _next_attempt(previous: Invocation, attempt: int) -> Invocation:
        """The same event again, with the same request id (as Lambda's retries)."""
        return Invocation(
            payload=previous.payload,
            request_id=previous.request_id,
            invocation_type="Event",
            trace_id=previous.trace_id,
            client_context=previous.client_context,
            tenant_id=previous.tenant_id,
            hooks=previous.hooks,
            attempt=attempt,
        )

    async def _attempt(self, inv: Invocation, deadline: float) -> bool:
        """Run one attempt to its end. False if the event aged out before it was delivered."""
        if time.time() >= deadline:
            return False
        while not self.pool.submit(inv):
            try:
                await asyncio.wait_for(self.pool.wait_for_room(), max(0.0, deadline - time.time()))
            except asyncio.TimeoutError:
                return False
        # Still queued when its age runs out: withdrawn. Once delivered, an attempt always runs to its end.
        expiry = asyncio.get_running_loop().call_later(max(0.0, deadline - time.time()), self._expire, inv)
        try:
            await inv.done
        finally:
            expiry.cancel()
        return inv.record.status is not None  # None: withdrawn from the queue by _expire

    def _expire(self, inv: Invocation) -> None:
        if self.pool.withdraw(inv) and not inv.done.done():
            inv.done.set_result(None)

    def _error(self, inv: Invocation) -> bytes | None:
        """The error body of a failed attempt, or None if it succeeded."""
        answer = inv.answer_future.result()
        record = inv.record
        if answer.function_error:
            return answer.body
        if record.status == "timeout":
            message = f"RequestId: {inv.request_id} Error: Task timed out after {self.config.timeout:.2f} seconds"
            return json.dumps({"errorType": "Sandbox.Timedout", "errorMessage": message}).encode()
        if record.status == "crash":
            return exit_error(inv.request_id, record.exit_code or 0).body
        return None

    def _destination(self, event: Invocation, last: Invocation | None, condition: str, invoke_count: int) -> None:
        """Publish the outcome as Lambda's destination invocation record; log it without the payloads.

        ``last`` is the last attempt that ran (None if none did): its response or error goes in the record.
        """
        now = time.time()
        outcome: dict[str, Any] = {
            "version": "1.0",
            "timestamp": utc_stamp(now),
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
        else:
            message = f"The event was not invoked within the maximum event age of {self.config.max_event_age:g} s"
            outcome["responsePayload"] = {"errorType": "EventAgeExceeded", "errorMessage": message}
        logger.info("%s Event %s after %d attempt(s)", event.request_id, condition, invoke_count)
        target = self.on_success if condition == "Success" else self.on_failure
        target.write(json.dumps(outcome, separators=(",", ":")))
        self.store.add_async_outcome(outcome)  # after the file: whoever sees the outcome finds the line
