"""A Python custom runtime for AWS Lambda that answers the caller first and runs deferred work after the response.

The public names are imported on first use (PEP 562), so that importing any part of the package (a process job's
worker, the emulator's command line, the Runtime API client) does not load the rest of it, nor `requests`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what static tools (mypy, the API reference) read; at run time, __getattr__ below
    from lambda_runtime.errors import (
        DeferRejected,
        EnvelopeRejected,
        HandOffError,
        LambdaRuntimeError,
        ProcessJobError,
    )
    from lambda_runtime.handoff import HandOff, current_hand_off, job
    from lambda_runtime.invocation.context import LambdaContext
    from lambda_runtime.invocation.streaming import StreamingResponse
    from lambda_runtime.jobs import Job, after_jobs, current_job, on_job_error
    from lambda_runtime.lifecycle.shutdown import on_shutdown
    from lambda_runtime.logs.records import current_trace_id

__version__ = "0.1.0"

__all__ = [
    "DeferRejected",
    "EnvelopeRejected",
    "HandOff",
    "HandOffError",
    "Job",
    "LambdaContext",
    "LambdaRuntimeError",
    "ProcessJobError",
    "StreamingResponse",
    "__version__",
    "after_jobs",
    "current_hand_off",
    "current_job",
    "current_trace_id",
    "job",
    "on_job_error",
    "on_shutdown",
]

# public name -> the module that defines it
_HOMES = {
    "DeferRejected": "lambda_runtime.errors",
    "LambdaRuntimeError": "lambda_runtime.errors",
    "ProcessJobError": "lambda_runtime.errors",
    "EnvelopeRejected": "lambda_runtime.errors",
    "HandOffError": "lambda_runtime.errors",
    "HandOff": "lambda_runtime.handoff",
    "current_hand_off": "lambda_runtime.handoff",
    "job": "lambda_runtime.handoff",
    "LambdaContext": "lambda_runtime.invocation.context",
    "StreamingResponse": "lambda_runtime.invocation.streaming",
    "Job": "lambda_runtime.jobs",
    "after_jobs": "lambda_runtime.jobs",
    "current_job": "lambda_runtime.jobs",
    "on_job_error": "lambda_runtime.jobs",
    "on_shutdown": "lambda_runtime.lifecycle.shutdown",
    "current_trace_id": "lambda_runtime.logs.records",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'lambda_runtime' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # once imported, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
