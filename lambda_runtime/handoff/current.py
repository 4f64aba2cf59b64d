"""What a handed-off job sees of itself while it runs: `current_hand_off()`."""

from __future__ import annotations

import contextvars
from typing import Any, NamedTuple


class HandOff(NamedTuple):
    """The envelope a job was received in: its stable id (the same on every retry), name, hop and origin."""

    job: str
    job_id: str  # a uuid4 minted at the hand-off: the key for idempotency (Powertools, a conditional write)
    hop: int
    origin_request_id: str
    context: Any  # the receiving invocation's LambdaContext: `context.hand_off()` from a job continues the chain


CURRENT_HAND_OFF: contextvars.ContextVar[HandOff | None] = contextvars.ContextVar("lambda_hand_off", default=None)


def current_hand_off() -> HandOff | None:
    """The hand-off whose job runs in this context, or None outside a handed-off job."""
    return CURRENT_HAND_OFF.get()
