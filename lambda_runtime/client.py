"""The Runtime API client: one `requests.Session`, one kept-alive connection, one retry policy."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import requests
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
    wait_random,
)

from lambda_runtime.context import Invocation
from lambda_runtime.errors import RuntimeApiError, RuntimeApiServerError
from lambda_runtime.transport import lean_session

logger = logging.getLogger("lambda_runtime.client")

API_VERSION = "2018-06-01"
_INVOCATION_ID = "Lambda-Runtime-Invocation-Id"


def is_transient(error: BaseException) -> bool:
    """Connection failures and 5xx may pass; 4xx say something about our request and never will."""
    return isinstance(error, (requests.ConnectionError, requests.Timeout, RuntimeApiServerError))


def retry_policy(attempts: int, max_delay_s: float, sleep: Callable[[float], None] = time.sleep) -> Retrying:
    """The one retry policy of the runtime: exponential backoff with jitter, bounded in attempts and in time."""

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


class RuntimeClient:
    """Talks to `http://{runtime_api}/2018-06-01/runtime/...`."""

    def __init__(
        self, runtime_api: str, post_timeout_s: float, retrying: Retrying, session: requests.Session | None = None
    ) -> None:
        self.base = f"http://{runtime_api}/{API_VERSION}/runtime"
        self.post_timeout_s = post_timeout_s
        self.retrying = retrying
        self.session = session or lean_session()

    def next_invocation(self) -> Invocation:
        # No timeout: Lambda freezes the process while this waits, and a timeout would fire after every thaw.
        response = self.retrying(self._send, "GET", f"{self.base}/invocation/next", None, {}, None)
        headers = {name.lower(): value for name, value in response.headers.items()}
        return Invocation(headers.get("lambda-runtime-aws-request-id", ""), response.content, headers)

    def post_response(self, invocation: Invocation, body: bytes, content_type: str) -> None:
        headers = {"Content-Type": content_type, **self._invocation_id(invocation)}
        url = f"{self.base}/invocation/{invocation.request_id}/response"
        self.retrying(self._send, "POST", url, body, headers, self.post_timeout_s)

    def post_error(self, invocation: Invocation, error_type: str, body: bytes) -> None:
        headers = {
            "Lambda-Runtime-Function-Error-Type": error_type,
            "Content-Type": "application/json",
            **self._invocation_id(invocation),
        }
        url = f"{self.base}/invocation/{invocation.request_id}/error"
        self.retrying(self._send, "POST", url, body, headers, self.post_timeout_s)

    def post_init_error(self, error_type: str, body: bytes) -> None:
        headers = {"Lambda-Runtime-Function-Error-Type": error_type, "Content-Type": "application/json"}
        self.retrying(self._send, "POST", f"{self.base}/init/error", body, headers, self.post_timeout_s)

    def close(self) -> None:
        self.session.close()

    @staticmethod
    def _invocation_id(invocation: Invocation) -> dict[str, str]:
        value = invocation.header(_INVOCATION_ID)
        return {_INVOCATION_ID: value} if value else {}

    def _send(
        self, method: str, url: str, body: bytes | None, headers: dict[str, str], timeout: float | None
    ) -> requests.Response:
        # A retried post resends the very same bytes for the same request id, so the Runtime API either records
        # it once or rejects the duplicate: one invocation never gets two different results.
        response = self.session.request(method, url, data=body, headers=headers, timeout=timeout)
        if response.status_code >= 500:
            raise RuntimeApiServerError(response.status_code, response.text, f"{method} {url}")
        if response.status_code >= 400:
            raise RuntimeApiError(response.status_code, response.text, f"{method} {url}")
        return response
