"""A Python custom runtime for AWS Lambda that answers the caller first and runs deferred work after the response."""

from lambda_runtime.errors import DeferRejected, EnvelopeRejected, HandOffError, LambdaRuntimeError, ProcessJobError
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
