"""The Runtime API client: one `requests.Session`, one kept-alive connection, one retry policy."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, cast
from urllib.parse import quote

import requests
from requests.structures import CaseInsensitiveDict

from lambda_runtime.api.invocation import Invocation
from lambda_runtime.api.transport import StreamBody, lean_session
from lambda_runtime.errors import RuntimeApiError, RuntimeApiServerError

if TYPE_CHECKING:
    from tenacity import Retrying

logger = logging.getLogger("lambda_runtime.client")

API_VERSION = "2018-06-01"
_INVOCATION_ID = "Lambda-Runtime-Invocation-Id"
_XRAY_CAUSE = "Lambda-Runtime-Function-XRay-Error-Cause"
#: Declared up front on a streamed response, so that a mid-stream error can end the body with them.
STREAM_TRAILERS = "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body"


def is_transient(error: BaseException) -> bool:
    """Connection failures, 5xx, 408 and 429 may pass; other 4xx say something about our request and never will."""
    if isinstance(error, RuntimeApiError) and error.status in (408, 429):
        return True
    return isinstance(error, (requests.ConnectionError, requests.Timeout, RuntimeApiServerError))


def id_segment(value: str) -> str:
    """An id as one URL path segment: percent-encoded, so `/`, `?`, `#`, CR/LF or `..` are data, never syntax."""
    segment = quote(value, safe="")
    return segment.replace(".", "%2E") if segment in (".", "..") else segment


def valid_header_value(value: str) -> bool:
    """Printable ASCII only: anything else could split the request or be refused by the server."""
    return value.isascii() and value.isprintable()


class RuntimeClient:
    """Talks to `http://{runtime_api}/2018-06-01/runtime/...`."""

    def __init__(
        self,
        runtime_api: str,
        post_timeout_s: float,
        retry_policy: Callable[[], Retrying],
        session: requests.Session | None = None,
    ) -> None:
        self.base = f"http://{runtime_api}/{API_VERSION}/runtime"
        self.post_timeout_s = post_timeout_s
        self.retry_policy = retry_policy  # built on the first failure, then kept: see _call
        self._retrying: Retrying | None = None
        self.session = session or lean_session()
        # Requests are prepared once and reused (`/next`) or cheaply derived (posts): preparing one from scratch
        # costs more than the whole HTTP exchange with the Runtime API on loopback.
        self._next = self.session.prepare_request(requests.Request("GET", f"{self.base}/invocation/next"))
        self._post = self.session.prepare_request(requests.Request("POST", f"{self.base}/init/error", data=b""))
        # Prepared requests go straight to the session's adapter: Session.send would add hooks, a cookie jar
        # (three cookiejar objects per call), redirect handling and an elapsed timer, none of which the Runtime API
        # uses, and together they cost more per invocation than the adapter's own work.
        self._adapter = self.session.get_adapter(self.base)

    def next_invocation(self) -> Invocation:
        # No timeout: Lambda freezes the process while this waits, and a timeout would fire after every thaw.
        response = self._call(self._next, None)
        headers = response.headers
        return Invocation(headers.get("Lambda-Runtime-Aws-Request-Id", ""), response.content, headers)

    def post_response(self, invocation: Invocation, body: bytes, content_type: str) -> None:
        headers = {"Content-Type": content_type, **self._invocation_id(invocation)}
        self._post_with_retries(f"invocation/{id_segment(invocation.request_id)}/response", body, headers)

    def post_stream(
        self, invocation: Invocation, body: StreamBody, content_type: str, timeout_s: float | None = None
    ) -> None:
        """Stream the response: each chunk is sent as `body` yields it. Never retried: sent chunks are gone.

        `timeout_s` bounds each send and the final answer (default: the post timeout): a slow reader at the other
        end holds a send back for as long as it lags."""
        prepared = self._post.copy()
        prepared.url = f"{self.base}/invocation/{id_segment(invocation.request_id)}/response"
        prepared.body = cast(bytes, body)  # the adapter sends any iterable body chunked (transport.py)
        prepared.headers.update(
            {
                "Content-Type": content_type,
                "Lambda-Runtime-Function-Response-Mode": "streaming",
                "Trailer": STREAM_TRAILERS,
                **self._invocation_id(invocation),
            }
        )
        self._send(prepared, timeout_s or self.post_timeout_s)

    def post_error(self, invocation: Invocation, error_type: str, body: bytes, xray_cause: str = "") -> None:
        headers = {"Lambda-Runtime-Function-Error-Type": error_type, **self._invocation_id(invocation)}
        if xray_cause and valid_header_value(xray_cause):
            headers[_XRAY_CAUSE] = xray_cause
        self._post_with_retries(f"invocation/{id_segment(invocation.request_id)}/error", body, headers)

    def post_init_error(self, error_type: str, body: bytes) -> None:
        self._post_with_retries("init/error", body, {"Lambda-Runtime-Function-Error-Type": error_type})

    def restore_next(self) -> None:
        """SnapStart: blocks while Lambda snapshots the environment, returns once it is restored (no timeout)."""
        restore = requests.PreparedRequest()
        restore.method, restore.url, restore.headers = "GET", f"{self.base}/restore/next", self._next.headers
        self._call(restore, None)

    def post_restore_error(self, error_type: str, body: bytes) -> None:
        self._post_with_retries("restore/error", body, {"Lambda-Runtime-Function-Error-Type": error_type})

    def close(self) -> None:
        """Close the connection; the next call opens a new one."""
        self.session.close()

    @staticmethod
    def _invocation_id(invocation: Invocation) -> dict[str, str]:
        # An id that is not a valid header value is not echoed: the post still names the invocation in its URL.
        value = invocation.header(_INVOCATION_ID)
        return {_INVOCATION_ID: value} if value and valid_header_value(value) else {}

    def _post_with_retries(self, path: str, body: bytes, headers: dict[str, str]) -> None:
        # A retried post resends the very same bytes for the same request id, so the Runtime API either records
        # it once or rejects the duplicate: one invocation never gets two different results.
        prepared = requests.PreparedRequest()  # not self._post.copy(): that copies a cookie jar per call
        prepared.method, prepared.url, prepared.body = "POST", f"{self.base}/{path}", body
        prepared.headers = CaseInsensitiveDict({**self._post.headers, "Content-Type": "application/json", **headers})
        self._call(prepared, self.post_timeout_s)

    def _call(self, prepared: requests.PreparedRequest, timeout: float | None) -> requests.Response:
        try:
            return self._send(prepared, timeout)
        except Exception as error:
            if not is_transient(error):
                raise
            failures = [error]
        # Only now does the retry policy (and tenacity's import) cost anything. It takes the failure above as its
        # first attempt, so backoff, attempt counts and the time bound are exactly the policy's.
        if self._retrying is None:
            self._retrying = self.retry_policy()

        def attempt() -> requests.Response:
            if failures:
                raise failures.pop()
            return self._send(prepared, timeout)

        return self._retrying(attempt)

    def _send(self, prepared: requests.PreparedRequest, timeout: float | None) -> requests.Response:
        response = self._adapter.send(prepared, timeout=timeout)
        if response.status_code >= 500:
            raise RuntimeApiServerError(response.status_code, response.text, f"{prepared.method} {prepared.url}")
        if response.status_code >= 400:
            raise RuntimeApiError(response.status_code, response.text, f"{prepared.method} {prepared.url}")
        return response
