"""Web apps on the runtime: `handler = asgi(app)` for FastAPI/Starlette, `handler = wsgi(app)` for Flask/Django.

Imports no framework. Events from API Gateway (REST and HTTP API), function URLs and ALB in; responses out in the
shape each expects. ASGI background tasks run after the response is posted, as deferred jobs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lambda_runtime.lifecycle.shutdown import on_shutdown
from lambda_runtime.web.asgi import ASGIAdapter
from lambda_runtime.web.events import MalformedEvent, UnsupportedEvent
from lambda_runtime.web.lifespan import LifespanFailure
from lambda_runtime.web.responses import TEXT_TYPES
from lambda_runtime.web.types import ASGIApp, WSGIApp
from lambda_runtime.web.wsgi import WSGIAdapter

__all__ = [
    "TEXT_TYPES",
    "ASGIAdapter",
    "LifespanFailure",
    "MalformedEvent",
    "UnsupportedEvent",
    "WSGIAdapter",
    "asgi",
    "wsgi",
]


def asgi(
    app: ASGIApp,
    *,
    lifespan: str = "auto",
    root_path: str | None = None,
    text_types: Iterable[str] = TEXT_TYPES,
    shutdown_timeout: float = 0.25,
    invoke_mode: str = "buffered",
    **unknown: Any,
) -> ASGIAdapter:
    """A Lambda handler for an ASGI app. Runs lifespan startup now (at init); its shutdown runs at process exit.

    `lifespan`: "auto" (run it if the app supports it), "on" (required) or "off". `root_path`: the prefix the app is
    mounted at (default: the API Gateway stage, if any). `text_types`: content-type prefixes sent as text; any other
    body is sent base64-encoded. `shutdown_timeout`: seconds allowed for lifespan shutdown. `invoke_mode`:
    "buffered" (default) or "response_stream" (the function URL's InvokeMode): stream the body as the app sends it.
    """
    _no_unknown(unknown)
    adapter = ASGIAdapter(
        app,
        lifespan=lifespan,
        root_path=root_path,
        text_types=text_types,
        shutdown_timeout=shutdown_timeout,
        invoke_mode=invoke_mode,
    )
    # On SIGTERM it runs within Lambda's shutdown budget, after the deferred jobs were cancelled; at any other exit
    # (the Runtime API gone, Ctrl-C, a script ending) it runs once too.
    on_shutdown(adapter.shutdown)
    return adapter


def wsgi(
    app: WSGIApp, *, root_path: str | None = None, text_types: Iterable[str] = TEXT_TYPES, **unknown: Any
) -> WSGIAdapter:
    """A Lambda handler for a WSGI app; `environ["lambda.context"].defer(fn, *args)` runs work after the response."""
    _no_unknown(unknown)
    return WSGIAdapter(app, root_path=root_path, text_types=text_types)


def _no_unknown(unknown: dict[str, Any]) -> None:
    if unknown:
        raise TypeError(f"unknown option(s): {', '.join(sorted(unknown))}")
