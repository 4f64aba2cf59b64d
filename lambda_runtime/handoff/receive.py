"""The receiving side: an event carrying an envelope runs its registered job instead of reaching the handler.

Installed only when LAMBDA_RUNTIME_HANDOFF_KEY is set; without a key every event, envelope or not, goes to the
handler untouched. A refused envelope (forged, expired, for another function, too many hops, unknown job, or
replayed) fails the invocation with the error type `HandOff.Rejected` and never runs: Lambda's queue retries it and
then routes it to the on-failure destination, where it stays for audit.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from lambda_runtime.config import Settings
from lambda_runtime.errors import EnvelopeRejected, FunctionError
from lambda_runtime.handoff.current import CURRENT_HAND_OFF, HandOff
from lambda_runtime.handoff.envelope import Envelope, carries_envelope, unseal
from lambda_runtime.handoff.registry import JOBS

# The shape of a handler (invocation/handler.py has the same alias): this layer sits below the invocation layer.
Handler = Callable[[Any, Any], Any]

logger = logging.getLogger("lambda_runtime.hand_off")

REJECTED = "HandOff.Rejected"
#: Deliveries of one job id an environment accepts: Lambda's first attempt and its 2 retries.
MAX_DELIVERIES = 3
#: Job ids remembered per environment, the latest ones.
_REMEMBERED = 10_000


class Deliveries:
    """The job ids this environment has seen: a completed one, or one delivered too often, is a replay."""

    def __init__(self, max_deliveries: int = MAX_DELIVERIES, remembered: int = _REMEMBERED) -> None:
        self.max_deliveries = max_deliveries
        self.remembered = remembered
        self._seen: collections.OrderedDict[str, int] = collections.OrderedDict()  # job id -> deliveries
        self._done: set[str] = set()
        self._lock = threading.Lock()

    def admit(self, job_id: str) -> None:
        with self._lock:
            if job_id in self._done:
                raise EnvelopeRejected(f"hand-off envelope {job_id} replayed: its job already ran to completion here")
            count = self._seen.pop(job_id, 0) + 1
            self._seen[job_id] = count
            while len(self._seen) > self.remembered:
                forgotten, _ = self._seen.popitem(last=False)
                self._done.discard(forgotten)
            if count > self.max_deliveries:
                raise EnvelopeRejected(
                    f"hand-off envelope {job_id} replayed: delivery {count}, beyond Lambda's {self.max_deliveries} "
                    "attempts"
                )

    def completed(self, job_id: str) -> None:
        with self._lock:
            if job_id in self._seen:
                self._done.add(job_id)


def receiving(handler: Handler, settings: Settings, clock: Callable[[], float] = time.time) -> Handler:
    """`handler`, with envelopes recognised before it sees them (when a key is set; else `handler` itself)."""
    if not settings.handoff_key:
        return handler
    deliveries = Deliveries()

    def receive(event: Any, context: Any) -> Any:
        if not carries_envelope(event):
            return handler(event, context)
        try:
            envelope = unseal(
                event,
                settings.handoff_key,
                function=settings.function_name,
                now=clock(),
                max_hops=settings.handoff_max_hops,
            )
            if envelope.job not in JOBS:
                raise EnvelopeRejected(
                    f"hand-off envelope {envelope.job_id} names an unregistered job {envelope.job!r}"
                )
            deliveries.admit(envelope.job_id)
        except EnvelopeRejected as rejected:
            logger.error("Hand-off refused, nothing ran: %s", rejected)
            raise FunctionError(REJECTED, str(rejected)) from None
        result = _run(envelope, context)
        deliveries.completed(envelope.job_id)
        return {"handOff": {"job": envelope.job, "jobId": envelope.job_id, "hop": envelope.hop, "result": result}}

    return receive


def _run(envelope: Envelope, context: Any) -> Any:
    logger.info(
        "Handed-off job %r (%s, hop %d, from request %s) starts",
        envelope.job,
        envelope.job_id,
        envelope.hop,
        envelope.origin,
        extra={"job": envelope.job, "jobId": envelope.job_id, "hop": envelope.hop, "originRequestId": envelope.origin},
    )
    token = CURRENT_HAND_OFF.set(HandOff(envelope.job, envelope.job_id, envelope.hop, envelope.origin, context))
    try:
        result = JOBS[envelope.job](*envelope.args, **envelope.kwargs)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
        return result
    finally:
        CURRENT_HAND_OFF.reset(token)
