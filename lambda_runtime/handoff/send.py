"""Sending a handed-off job: an `Invoke` with `InvocationType="Event"` through boto3's Lambda client.

boto3 is imported on the first hand-off, never at a cold start: Lambda's Python runtimes ship it, and a container
image or a local run installs it (`pip install boto3`). The client follows boto3's own resolution of the region,
credentials and endpoint, so `AWS_ENDPOINT_URL_LAMBDA` sends hand-offs to the local emulator.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from lambda_runtime.config import Settings
from lambda_runtime.errors import HandOffError
from lambda_runtime.handoff.current import CURRENT_HAND_OFF
from lambda_runtime.handoff.envelope import MAX_EVENT_PAYLOAD, new_envelope, seal
from lambda_runtime.handoff.registry import job_name
from lambda_runtime.threads import start_thread

_lock = threading.Lock()
_client: Any = None
_warming = threading.Event()


class Parcel(NamedTuple):
    """A sealed envelope ready to send: built (and checked) at the call, sent now or after the response."""

    job: str
    job_id: str
    function: str
    qualifier: str | None
    payload: bytes
    trace_id: str | None  # the deferring invocation's trace header, so Lambda's loop detection sees the chain


def send(parcel: Parcel, within_s: float | None = None) -> None:
    """Invoke `parcel.function` with the envelope; returns once Lambda queued it (202), else `HandOffError`.

    `within_s`: how long the client may take to be ready (boto3's import, on the first hand-off), so that a send
    near the deadline fails with a reason rather than being cut by the timeout."""
    client = _lambda_client(within_s)
    from botocore.exceptions import BotoCoreError, ClientError

    params: dict[str, Any] = {"FunctionName": parcel.function, "InvocationType": "Event", "Payload": parcel.payload}
    if parcel.qualifier:
        params["Qualifier"] = parcel.qualifier
    _TRACE.value = parcel.trace_id
    try:
        answer = client.invoke(**params)
    except ClientError as error:  # throttled, denied, too large, recursive loop stopped...
        code = error.response.get("Error", {}).get("Code", "ClientError")
        raise HandOffError(f"hand-off of job {parcel.job!r} ({parcel.job_id}) refused: {code}: {error}") from None
    except BotoCoreError as error:  # no credentials, endpoint unreachable, ...
        raise HandOffError(f"hand-off of job {parcel.job!r} ({parcel.job_id}) failed: {error}") from None
    finally:
        _TRACE.value = None
    if answer.get("StatusCode") != 202:
        raise HandOffError(
            f"hand-off of job {parcel.job!r} ({parcel.job_id}): Invoke answered {answer.get('StatusCode')}"
        )


class _Trace(threading.local):
    value: str | None = None


_TRACE = _Trace()


def _add_trace_header(params: dict[str, Any], **_: Any) -> None:
    # botocore adds X-Amzn-Trace-Id from _X_AMZN_TRACE_ID (handlers.py, add_recursion_detection_header), which the
    # runtime does not set under Managed Instances; the invocation's own header is set here, for every mode.
    if _TRACE.value:
        params["headers"]["X-Amzn-Trace-Id"] = _TRACE.value


def _warm_up() -> None:
    """Import boto3 and make the client in the background at the first hand-off call: the send, perhaps moments
    before the deadline, must not pay that (hundreds of ms on a cold start), and neither must the response."""
    if _client is None and not _warming.is_set():
        _warming.set()
        start_thread(_quietly_make_client, name="hand-off-client")


def _quietly_make_client() -> None:
    with contextlib.suppress(HandOffError):  # reported by send(), with the job it concerns
        _lambda_client()


def _lambda_client(within_s: float | None = None) -> Any:
    global _client
    if not _lock.acquire(timeout=-1 if within_s is None else max(0.0, within_s)):
        raise HandOffError(
            f"boto3's Lambda client was not ready before the deadline ({max(0.0, within_s or 0.0):.3f} s left): "
            "it is made at the first hand-off call of the environment"
        )
    try:
        if _client is None:
            try:
                import boto3
                from botocore.config import Config
            except ImportError:
                raise HandOffError(
                    "hand-off needs boto3 (Lambda's Python runtimes include it; elsewhere: pip install boto3)"
                ) from None
            # boto3's standard retry mode backs off and retries throttles and 5xx: a few attempts, then the error
            # reaches the caller (counted, hooks called) rather than holding the invocation.
            config = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})
            client = boto3.client("lambda", config=config)
            client.meta.events.register("before-call.lambda.Invoke", _add_trace_header)
            _client = client
        return _client
    finally:
        _lock.release()


def prepare(
    settings: Settings,
    fn: Callable[..., Any] | str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    origin: str,
    trace_id: str | None,
    function: str | None = None,
) -> Parcel:
    """Check and seal a hand-off at the call: registered job, JSON arguments, size, hops, a key. Raises
    `ValueError` (unregistered job), `TypeError` (not JSON) or `HandOffError` (too large, too deep, not set up)."""
    name = job_name(fn)
    if not settings.handoff_key:
        raise HandOffError(f"hand-off of job {name!r} needs a signing key: set LAMBDA_RUNTIME_HANDOFF_KEY")
    target = function or settings.handoff_function or settings.function_name
    if not target:
        raise HandOffError(f"hand-off of job {name!r}: no function to invoke (AWS_LAMBDA_FUNCTION_NAME is not set)")
    current = CURRENT_HAND_OFF.get()
    hop = current.hop + 1 if current is not None else 1
    if hop > settings.handoff_max_hops:
        raise HandOffError(
            f"hand-off of job {name!r} refused: it would be hop {hop} of a chain limited to "
            f"{settings.handoff_max_hops} (LAMBDA_RUNTIME_HANDOFF_MAX_HOPS)"
        )
    envelope = new_envelope(
        name, args, kwargs, function=target, hop=hop, origin=origin, now=time.time(), ttl_s=settings.handoff_ttl_s
    )
    payload = seal(envelope, settings.handoff_key)
    if len(payload) > MAX_EVENT_PAYLOAD:
        raise HandOffError(
            f"hand-off of job {name!r} refused: its envelope is {len(payload)} bytes, over Lambda's "
            f"{MAX_EVENT_PAYLOAD}-byte limit for an Event payload; pass a reference (an S3 key), not the data"
        )
    _warm_up()
    # The same code version runs it: a deploy in between cannot leave the job's name unknown (on $LATEST it can).
    own_version = target == settings.function_name and settings.function_version != "$LATEST"
    qualifier = settings.function_version if own_version else None
    return Parcel(name, envelope.job_id, target, qualifier, payload, trace_id)
