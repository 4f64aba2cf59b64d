"""The runtime's one retry policy, built on tenacity.

Imported only once a Runtime API call has failed: a healthy process never pays tenacity's import at cold start.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
    wait_random,
)

from lambda_runtime.api.client import is_transient

logger = logging.getLogger("lambda_runtime.client")


def retry_policy(attempts: int, max_delay_s: float, sleep: Callable[[float], None] = time.sleep) -> Retrying:
    """Exponential backoff with jitter, bounded in attempts and in time; only transient failures are retried."""

    def log_retry(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        logger.warning(
            "Runtime API call failed (attempt %d of %d), retrying: %s", state.attempt_number, attempts, error
        )

    return Retrying(
        retry=retry_if_exception(is_transient),
        stop=stop_after_attempt(attempts) | stop_after_delay(max_delay_s),
        wait=wait_exponential(multiplier=0.05, max=2.0) + wait_random(0, 0.05),
        sleep=sleep,
        before_sleep=log_retry,
        reraise=True,
    )
