"""Run a WSGI app (Flask, Django, ...) as a Lambda handler (PEP 3333 environ from the event, response back).

The app runs in the handler's thread and its response is buffered. Work after the response goes through
`environ["lambda.context"].defer(fn, *args)`, exactly as in a plain handler.
"""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Callable, Iterable
from typing import Any

from lambda_runtime.web.events import HttpRequest, read_event
from lambda_runtime.web.responses import TEXT_TYPES, lambda_response, plain_response
from lambda_runtime.web.types import ExcInfo, WSGIApp

logger = logging.getLogger("lambda_runtime.web")


def environ_for(request: HttpRequest, event: Any, context: Any) -> dict[str, Any]:
    """The WSGI environ for `request`; the event and context ride along as `lambda.event` and `lambda.context`."""
    script_name = request.root_path
    path_info = request.path[len(script_name) :] if script_name else request.path
    server_name, server_port = request.server
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": _latin1(script_name),
        "PATH_INFO": _latin1(path_info),
        "QUERY_STRING": request.query_string,
        "CONTENT_LENGTH": str(len(request.body)),
        "SERVER_NAME": server_name,
        "SERVER_PORT": str(server_port),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": request.source_ip,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": request.scheme,
        "wsgi.input": io.BytesIO(request.body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "lambda.event": event,
        "lambda.context": context,
        # apig-wsgi's names, so apps moving from it keep working
        "apig_wsgi.full_event": event,
        "apig_wsgi.context": context,
        "apig_wsgi.request_context": event.get("requestContext"),
    }
    for name, value in request.headers:
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = value
            continue
        key = "HTTP_" + key
        separator = "; " if key == "HTTP_COOKIE" else ","  # PEP 3333 / RFC 9110: repeated headers join with commas
        environ[key] = f"{environ[key]}{separator}{value}" if key in environ else value
    return environ


class WSGIAdapter:
    """A Lambda handler serving one WSGI app; create it at import time (`handler = wsgi(app)`)."""

    def __init__(self, app: WSGIApp, *, root_path: str | None = None, text_types: Iterable[str] = TEXT_TYPES) -> None:
        self.app = app
        self.root_path = root_path
        self.text_types = tuple(text_types)

    def __call__(self, event: Any, context: Any) -> dict[str, Any]:
        request = read_event(event, self.root_path)
        status, headers, body = self.respond(environ_for(request, event, context))
        return lambda_response(request, status, headers, body, self.text_types)

    def respond(self, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
        """Call the app; an exception it lets through is logged and becomes a plain 500."""
        started: list[tuple[int, list[tuple[str, str]]]] = []
        chunks: list[bytes] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
        ) -> Callable[[bytes], object]:
            if exc_info and exc_info[1] is not None and chunks:
                raise exc_info[1].with_traceback(exc_info[2])  # PEP 3333: too late to change the response
            started[:] = [(int(status.split(None, 1)[0]), list(headers))]
            return chunks.append

        try:
            result = self.app(environ, start_response)
            try:
                chunks.extend(chunk for chunk in result if chunk)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            if not started:
                raise RuntimeError("the WSGI app returned without calling start_response")
        except Exception:
            logger.exception("Exception in WSGI application")
            return plain_response(500, "Internal Server Error")
        status, headers = started[0]
        return status, headers, b"".join(chunks)

    def shutdown(self) -> None:
        """Nothing to stop for WSGI; here so both adapters can be shut down alike."""


def _latin1(path: str) -> str:
    # PEP 3333: environ strings are bytes decoded as latin-1, so UTF-8 paths arrive as their raw bytes.
    return path.encode("utf-8").decode("latin-1")
