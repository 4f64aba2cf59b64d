"""The invocation loop: next event → handler → response → deferred jobs → next event."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping

import requests

from lambda_runtime.client import RuntimeClient
from lambda_runtime.config import Settings
from lambda_runtime.context import Invocation, LambdaContext
from lambda_runtime.errors import FunctionError, RuntimeApiError, Terminated
from lambda_runtime.handler import Handler
from lambda_runtime.jobs.phase import JobRunner
from lambda_runtime.logs import set_request_id
from lambda_runtime.payloads import decode_event, encode_result, error_report
from lambda_runtime.streaming import Stream, open_stream, post_stream

logger = logging.getLogger("lambda_runtime")

_TRACE_ID_VARIABLE = "_X_AMZN_TRACE_ID"
_RESPONSE_LIMIT = 6_291_556


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

    def run_forever(self) -> None:
        while True:
            self.run_once()

    def run_once(self, invocation: Invocation | None = None) -> None:
        """Serve one event: the one given (already fetched), or the next from the Runtime API."""
        invocation = invocation or self.client.next_invocation()
        set_request_id(invocation.request_id)
        trace_id = invocation.header("Lambda-Runtime-Trace-Id")
        if trace_id:
            self.environ[_TRACE_ID_VARIABLE] = trace_id
        else:
            self.environ.pop(_TRACE_ID_VARIABLE, None)
        if not invocation.request_id:
            # Without an id there is nowhere to post a result; Lambda never does this, so just say so.
            logger.error("Event without a Lambda-Runtime-Aws-Request-Id header: skipped, no result can be posted")
            return
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
        self.jobs.after_response(context.end() if context is not None else None, failed, streamed_ms)

    def _post_result(self, invocation: Invocation, body: bytes, content_type: str) -> None:
        try:
            self.client.post_response(invocation, body, content_type)
        except RuntimeApiError as error:
            logger.error("The Runtime API refused the response: %s", error)
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
        # The runtime's own faults have no useful traceback; a handler's error gets the full one.
        trace = None if isinstance(error, FunctionError) else error
        logger.error("%s: %s", report.error_type, report.message, exc_info=trace)
        try:
            self.client.post_error(invocation, report.error_type, report.body)
        except (RuntimeApiError, requests.RequestException) as post_failure:
            logger.error("Posting the error failed: %s", post_failure)
