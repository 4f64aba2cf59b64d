"""The `context` object handed to handlers: the official client's attributes, plus `defer()`."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from lambda_runtime.api.invocation import Invocation
from lambda_runtime.config import Settings
from lambda_runtime.errors import DeferRejected, InvocationError
from lambda_runtime.jobs.batch import Batch
from lambda_runtime.jobs.job import Job, check_job, default_name
from lambda_runtime.jobs.phase import JobRunner
from lambda_runtime.logs.records import current_trace_id

if TYPE_CHECKING:
    from lambda_runtime.handoff.send import Parcel

_UNMARSHAL = "Runtime.LambdaContextUnmarshalError"
# One lock for every context: it only orders a defer() against the end of its invocation, so it is never contended.
_ENDING = threading.Lock()
# Lambda's longest timeout is 15 minutes; a deadline much further out is a corrupt header, not a long invocation.
_LONGEST_DEADLINE_MS = 16 * 60 * 1000


class CognitoIdentity(NamedTuple):
    cognito_identity_id: str | None = None
    cognito_identity_pool_id: str | None = None


class Client(NamedTuple):
    installation_id: str | None = None
    app_title: str | None = None
    app_version_name: str | None = None
    app_version_code: str | None = None
    app_package_name: str | None = None


class ClientContext(NamedTuple):
    client: Client | None = None
    custom: Any = None
    env: Any = None


class LambdaContext:
    """Same attributes and methods as awslambdaric's context; `defer()` is the addition."""

    def __init__(self, invocation: Invocation, settings: Settings, jobs: JobRunner) -> None:
        self.aws_request_id = invocation.request_id
        self.invoked_function_arn = invocation.header("Lambda-Runtime-Invoked-Function-Arn") or ""
        self.tenant_id = invocation.tenant_id
        self.function_name = settings.function_name
        self.function_version = settings.function_version
        # A string, as awslambdaric passes AWS_LAMBDA_FUNCTION_MEMORY_SIZE on (lambda_context.py): handlers and
        # Powertools (its `function_memory_size` log field) get what they got from the official client.
        self.memory_limit_in_mb = str(settings.memory_limit_in_mb)
        self.log_group_name = settings.log_group_name
        self.log_stream_name = settings.log_stream_name
        self.deadline_ms = parse_deadline(invocation.header("Lambda-Runtime-Deadline-Ms"))
        self.identity = _cognito_identity(invocation.header("Lambda-Runtime-Cognito-Identity"))
        client_context = _json_object(invocation.header("Lambda-Runtime-Client-Context"), "Client Context")
        self._w3c = _pop_w3c(client_context)
        self.client_context = _client_context(client_context)
        self._settings = settings
        self._jobs = jobs
        self._batch: Batch | None = None
        self._over = False

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.deadline_ms - int(time.time() * 1000))

    def defer(
        self,
        fn: Callable[..., Any],
        /,
        *args: Any,
        job_timeout: float | None = None,
        job_name: str | None = None,
        start_now: bool = False,
        executor: str = "thread",
        fallback: str | None = None,
        **kwargs: Any,
    ) -> Job:
        """Run `fn(*args, **kwargs)` after the response is posted and before the next event is fetched.

        `job_timeout` (seconds) bounds the job below the invocation's deadline; `start_now` starts it at once,
        overlapping the handler (for I/O-bound work). An `async def` function runs in an event loop of its own.
        `executor="process"` runs it in a worker process (pure-Python CPU-bound work; `fn` and its arguments must
        pickle).
        `fallback="hand_off"`: when the pool cannot take the job, `job_timeout` exceeds the time left, or no worker
        frees up before the deadline, the job (registered with `@lambda_runtime.job`, JSON arguments) is handed
        off to Lambda's async queue instead (see `hand_off`).
        Raises `TypeError`/`ValueError` for bad arguments, and `DeferRejected` when too many jobs are pending or
        the invocation is over.
        """
        check_job(fn, job_timeout, job_name, executor)  # before any batch exists: misuse alone must not make one
        parcel = None
        if fallback is not None:
            if fallback != "hand_off":
                raise ValueError(f"defer() fallback must be None or 'hand_off', got {fallback!r}")
            parcel = self._parcel(fn, args, kwargs, None)
        batch = self._current_batch()
        if batch is None:  # nothing was deferred and the result is posted: there is no post-response phase
            raise DeferRejected(f"deferred job {job_name or default_name(fn)!r} rejected: the invocation is over")
        return batch.defer(
            fn, args, kwargs, timeout=job_timeout, name=job_name, start_now=start_now, executor=executor, parcel=parcel
        )

    def hand_off(
        self,
        job: Callable[..., Any] | str,
        /,
        *args: Any,
        before_response: bool = False,
        function: str | None = None,
        **kwargs: Any,
    ) -> str:
        """Send `job(*args, **kwargs)` to Lambda's async queue as a signed Event invocation; returns its job id.

        `job` is a function registered with `@lambda_runtime.job` (or its name); the arguments must be JSON. It
        runs at least once, in an invocation of `function` (default: this function), which retries it and routes
        its failures to the on-failure destination. Sent right after the response; `before_response=True` sends
        it now and raises `HandOffError` if Lambda did not queue it. Checked at the call: `ValueError`
        (unregistered job), `TypeError` (not JSON), `HandOffError` (over 1 MB, too many hops, no signing key).
        """
        parcel = self._parcel(job, args, kwargs, function)
        if before_response or not self._queue_hand_off(parcel, args, kwargs):
            from lambda_runtime.handoff.send import send

            send(parcel)
        return parcel.job_id

    def _parcel(
        self, job: Callable[..., Any] | str, args: tuple[Any, ...], kwargs: dict[str, Any], function: str | None
    ) -> Parcel:
        from lambda_runtime.handoff.send import prepare  # only in functions that hand off

        origin, trace = self.aws_request_id, current_trace_id()
        return prepare(self._settings, job, args, kwargs, origin=origin, trace_id=trace, function=function)

    def _queue_hand_off(self, parcel: Parcel, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        """Queue `parcel` to be sent right after the response; False when the invocation is over (send it now)."""
        from lambda_runtime.handoff.registry import JOBS

        batch = self._current_batch()
        if batch is None:
            return False
        fn = JOBS[parcel.job]
        return batch.hand_off(
            Job(
                fn,
                args,
                kwargs,
                request_id=self.aws_request_id,
                deadline=batch.deadline,
                name=parcel.job,
                parcel=parcel,
            )
        )

    def _current_batch(self) -> Batch | None:
        """This invocation's batch, made on first use; None once the result is posted with nothing deferred."""
        with _ENDING:
            if self._batch is None and not self._over:
                self._batch = self._jobs.batch(self.aws_request_id, self.deadline_ms)
            return self._batch

    def end(self) -> Batch | None:
        """The result is posted: no new batch from now on. Returns the jobs deferred so far, if any."""
        with _ENDING:
            self._over = True
            return self._batch

    def w3c(self) -> dict[str, str]:
        """The W3C trace context the caller sent (`traceparent`, `tracestate`, `baggage`), as awslambdaric 4.x.

        It travels as `w3c` in the client context and is taken out of it: `client_context` does not show it.
        """
        return dict(self._w3c)

    def log(self, message: str) -> None:
        """Write `message` as is: one frame on Lambda's telemetry descriptor when there is one, else to stdout."""
        for handler in logging.getLogger().handlers:
            write_raw = getattr(handler, "write_raw", None)
            if write_raw is not None:  # FramedHandler (logs/telemetry.py), as awslambdaric looks for its log sink
                write_raw(str(message))
                return
        sys.stdout.write(str(message))

    def __repr__(self) -> str:
        return (
            f"LambdaContext(aws_request_id={self.aws_request_id!r}, function_name={self.function_name!r}, "
            f"invoked_function_arn={self.invoked_function_arn!r})"
        )


def parse_deadline(raw: str | None) -> int:
    """The deadline in epoch ms; a missing, non-numeric, non-positive or absurd one fails only this invocation."""
    try:
        deadline = int(raw or "")
    except ValueError:
        raise InvocationError(_UNMARSHAL, f"Invalid Lambda-Runtime-Deadline-Ms header: {raw!r}") from None
    if deadline <= 0 or deadline > time.time() * 1000 + _LONGEST_DEADLINE_MS:
        raise InvocationError(_UNMARSHAL, f"Lambda-Runtime-Deadline-Ms out of range: {raw!r}")
    return deadline


def _json_object(raw: str | None, what: str) -> dict[str, Any] | None:
    """The header's JSON object; None when the header is absent, empty or `null` (awslambdaric: no value)."""
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError as error:
        raise InvocationError(_UNMARSHAL, f"Unable to parse {what} JSON: {error}") from None
    if value is not None and not isinstance(value, dict):
        raise InvocationError(_UNMARSHAL, f"Unable to parse {what} JSON: not an object")
    return value


def _cognito_identity(raw: str | None) -> CognitoIdentity:
    value = _json_object(raw, "Cognito Identity")
    if value is None:
        return CognitoIdentity()
    return CognitoIdentity(value.get("cognitoIdentityId"), value.get("cognitoIdentityPoolId"))


# awslambdaric's lambda_context.py W3C_ALLOWED_FIELDS: other keys, and values that are not strings, are dropped.
_W3C_FIELDS = ("traceparent", "tracestate", "baggage")


def _pop_w3c(client_context: dict[str, Any] | None) -> dict[str, str]:
    raw = client_context.pop("w3c", None) if client_context is not None else None
    if not isinstance(raw, dict):
        return {}
    return {key: raw[key] for key in _W3C_FIELDS if isinstance(raw.get(key), str)}


def _client_context(value: dict[str, Any] | None) -> ClientContext | None:
    if value is None:
        return None
    client = value.get("client")
    fields = Client._fields
    return ClientContext(
        client=Client(**{k: v for k, v in client.items() if k in fields}) if isinstance(client, dict) else None,
        custom=value.get("custom"),
        env=value.get("env"),
    )
