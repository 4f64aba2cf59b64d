"""The invocation loop: next event → handler → response → deferred jobs → next event."""

from __future__ import annotations

import logging
import time
from collections.abc import MutableMapping

import requests

from lambda_runtime.api.client import RuntimeClient
from lambda_runtime.api.invocation import Invocation
from lambda_runtime.config import Settings
from lambda_runtime.errors import FunctionError, InvocationError, RuntimeApiError, Terminated
from lambda_runtime.invocation.context import LambdaContext, parse_deadline
from lambda_runtime.invocation.handler import Handler
from lambda_runtime.invocation.payloads import decode_event, encode_result, error_report
from lambda_runtime.invocation.streaming import Stream, open_stream, post_stream
from lambda_runtime.jobs.phase import JobRunner
from lambda_runtime.logs.records import log_failure, set_request_id

logger = logging.getLogger("lambda_runtime")

_TRACE_ID_VARIABLE = "_X_AMZN_TRACE_ID"
_RESPONSE_LIMIT = 6_291_556
_FIRST_BACKOFF_S = 0.05
_MAX_BACKOFF_S = 5.0
_LONGEST_TIMEOUT_MS = 900_000  # Lambda's longest function timeout


class InvocationLoop:
    """Serves events one at a time, for as long as the Runtime API hands them out."""

    def __init__(
        self,
        client: RuntimeClient,
        handler: Handler,
        settings: Settings,
        jobs: JobRunner,
        environ: MutableMapping[str, str],
    ) -> None:
        self.client = client
        self.handler = handler
        self.settings = settings
        self.jobs = jobs
        # The trace id is published through the process environment, where the X-Ray SDK looks for it.
        self.environ = environ
        self.sleep = time.sleep
        self._missing_ids = 0  # events in a row without a request id

    def run_forever(self) -> None:
        while True:
            self.run_once()

    def run_once(self, invocation: Invocation | None = None) -> None:
        """Serve one event: the one given (already fetched), or the next from the Runtime API."""
        invocation = invocation or self.client.next_invocation()
        trace_id = invocation.header("Lambda-Runtime-Trace-Id")
        set_request_id(invocation.request_id, invocation.tenant_id, trace_id)
        if trace_id:
            self.environ[_TRACE_ID_VARIABLE] = trace_id
        else:
            self.environ.pop(_TRACE_ID_VARIABLE, None)
        if not invocation.request_id:
            # Without an id there is nowhere to post a result; Lambda never does this, so say so and back off
            # (doubling, up to a few seconds) rather than spin through /next thousands of times a second.
            self._missing_ids += 1
            pause = min(_MAX_BACKOFF_S, _FIRST_BACKOFF_S * 2 ** (self._missing_ids - 1))
            logger.error(
                "Event without a Lambda-Runtime-Aws-Request-Id header: skipped, no result can be posted; "
                "waiting %.2f s before the next event",
                pause,
            )
            self.sleep(pause)
            return
        self._missing_ids = 0
        self.jobs.invocation_started(invocation.request_id, _deadline_or_latest(invocation))
        try:
            context, failed, streamed_ms = self._answer(invocation)
        finally:  # answered, or SIGTERM: either way no handler of this invocation runs any more
            self.jobs.invocation_answered(invocation.request_id)
        self.jobs.after_response(context.end() if context is not None else None, failed, streamed_ms)

    def _answer(self, invocation: Invocation) -> tuple[LambdaContext | None, bool, float | None]:
        """Run the handler and post its result or error: (its context, whether it failed, how long a stream took)."""
        context: LambdaContext | None = None
        failed = False
        stream: Stream | None = None
        streamed_ms: float | None = None
        try:
            context = LambdaContext(invocation, self.settings, self.jobs)
            content_type = (invocation.header("Content-Type") or "").split(";")[0].strip()
            result = self.handler(decode_event(invocation.body, content_type), context)
            stream = open_stream(result, invocation.request_id)  # a generator, iterator or StreamingResponse
            if stream is None:
                body, result_type = encode_result(result)
        except BaseException as error:  # SystemExit and KeyboardInterrupt too: report them, don't die silently
            failed = True
            self._post_error(invocation, error)
            if isinstance(error, Terminated):  # SIGTERM during the handler: the invocation is answered, now stop
                raise
        else:
            if stream is not None:
                failed, streamed_ms = post_stream(self.client, invocation, stream)
            else:
                self._post_result(invocation, body, result_type)
        return context, failed, streamed_ms

    def _post_result(self, invocation: Invocation, body: bytes, content_type: str) -> None:
        try:
            self.client.post_response(invocation, body, content_type)
        except RuntimeApiError as error:
            logger.error("The Runtime API refused the response for request %r: %s", invocation.request_id, error)
            if error.status == 413:
                message = (
                    f"Response payload size ({len(body)} bytes) exceeded maximum allowed payload size "
                    f"({_RESPONSE_LIMIT} bytes)."
                )
                self._post_error(invocation, FunctionError("Function.ResponseSizeTooLarge", message))
        except requests.RequestException as error:
            logger.error("Posting the response failed after retries: %s", error)

    def _post_error(self, invocation: Invocation, error: BaseException) -> None:
        report = error_report(error, invocation.request_id)
        log_failure(report.fields)
        try:
            self.client.post_error(invocation, report.error_type, report.body, report.xray_cause)
        except (RuntimeApiError, requests.RequestException) as post_failure:
            logger.error("Posting the error for request %r failed: %s", invocation.request_id, post_failure)


def _deadline_or_latest(invocation: Invocation) -> int:
    """The invocation's deadline (epoch ms); a missing or bad header (its context reports it) counts as Lambda's
    longest timeout from now, so that an exit waiting for this handler still has a bound."""
    try:
        return parse_deadline(invocation.header("Lambda-Runtime-Deadline-Ms"))
    except InvocationError:
        return int(time.time() * 1000) + _LONGEST_TIMEOUT_MS
