"""The caller's side of ``Emulator``: invoking through the Invoke API with requests, or with boto3."""

from __future__ import annotations

import base64
import importlib
import json
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import requests

from lambda_runtime.emulator.config import INVOKE_API_VERSION, EmulatorConfig
from lambda_runtime.emulator.hooks import FAULTS, NEXT_HEADERS


class Caller:
    """Mixed into ``Emulator``: ``config`` and ``url`` come from there."""

    config: EmulatorConfig

    def __init__(self) -> None:
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()

    @property
    def url(self) -> str:
        raise NotImplementedError

    @property
    def invoke_url(self) -> str:
        return self.function_url(self.config.function_name)

    def function_url(self, function: str) -> str:
        return f"{self.url}/{INVOKE_API_VERSION}/functions/{quote(function, safe='')}/invocations"

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False  # never send loopback traffic through a proxy
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def _close_sessions(self) -> None:
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def invoke(
        self,
        payload: Any = b"{}",
        *,
        headers: Mapping[str, str] | None = None,
        function: str | None = None,
        invocation_type: str | None = None,
        client_context: Mapping[str, Any] | None = None,
        next_headers: Mapping[str, str | None] | None = None,
        faults: Mapping[str, str] | None = None,
        tail: bool = False,
        timeout: float | None = None,
    ) -> requests.Response:
        """Invoke the function through the Invoke API, like a caller; returns the HTTP response.

        ``payload``: ``bytes`` are sent as they are, anything else is JSON-encoded (a ``str`` becomes a
        JSON string, ``None`` is ``null``); the default is the empty event ``{}``.
        ``client_context`` is sent base64-encoded in ``X-Amz-Client-Context``; ``tail`` asks for the log
        (``X-Amz-Log-Type: Tail``). Test hooks (need ``test_hooks=True``): ``next_headers`` in
        ``X-Emulator-Next-Headers``, ``faults`` in ``X-Emulator-Faults`` (see :mod:`~.hooks`).
        ``timeout`` is the HTTP client timeout (default: the function timeout + 60 s). Function errors
        are 200 responses with ``X-Amz-Function-Error``; nothing is raised for them.
        """
        raw = isinstance(payload, (bytes, bytearray, memoryview))
        body = bytes(payload) if raw else json.dumps(payload).encode()
        all_headers = {"Content-Type": "application/json"}
        if invocation_type is not None:
            all_headers["X-Amz-Invocation-Type"] = invocation_type
        if client_context is not None:
            all_headers["X-Amz-Client-Context"] = base64.b64encode(json.dumps(client_context).encode()).decode()
        if tail:
            all_headers["X-Amz-Log-Type"] = "Tail"
        if next_headers is not None:
            all_headers[NEXT_HEADERS] = json.dumps(dict(next_headers))
        if faults is not None:
            all_headers[FAULTS] = json.dumps(dict(faults))
        all_headers.update(headers or {})
        url = self.function_url(function or self.config.function_name)
        return self._session().post(
            url, data=body, headers=all_headers, timeout=timeout if timeout is not None else self.config.timeout + 60
        )

    def lambda_client(self, **config: Any) -> Any:
        """A boto3 Lambda client for this emulator (dummy credentials, no retries). Needs boto3."""
        boto3 = importlib.import_module("boto3")  # a dev dependency, untyped: imported as a plain module
        Config = importlib.import_module("botocore.config").Config

        options: dict[str, Any] = {
            "retries": {"max_attempts": 0, "mode": "standard"},
            "read_timeout": self.config.timeout + 60,
        }
        options.update(config)
        return boto3.client(
            "lambda",
            endpoint_url=self.url,
            region_name=self.config.region,
            aws_access_key_id="x",
            aws_secret_access_key="x",
            aws_session_token="x",
            config=Config(**options),
        )
