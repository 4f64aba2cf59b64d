"""benchmarks.sigterm_budget: the worst case for a SIGTERM exit, a deferred job and a shutdown hook that both hang."""

from __future__ import annotations

import time
from typing import Any

import lambda_runtime


@lambda_runtime.on_shutdown
def hung_hook() -> None:
    time.sleep(600)


def _stubborn() -> None:
    time.sleep(600)  # ignores its cancel flag


def handler(event: dict[str, Any], context: Any) -> str:
    context.defer(_stubborn, job_name="stubborn")
    return "answered"
