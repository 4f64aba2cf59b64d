"""The opt-in no-op internal extension: registering one is what makes Lambda send SIGTERM at shutdown.

Lambda sends SIGTERM to the runtime only when an extension is registered (AWS docs, "Lambda Extensions API",
Shutdown phase). An internal extension is a thread of the runtime process that registers with the Extensions API
during init and then waits on `/extension/event/next`; one that subscribes to no events is never woken. The Rust
runtime does exactly this (aws-lambda-rust-runtime, `spawn_graceful_shutdown_handler`, extension
"_lambda-rust-runtime-no-op-graceful-shutdown-helper", events []); on PyPI, `lambda-sigterm` does it too. It must
register before the runtime's first `/next`: Lambda ends init when the runtime and every extension have called next.
"""

from __future__ import annotations

import http.client
import json
import logging

from lambda_runtime.threads import start_thread

logger = logging.getLogger("lambda_runtime")

EXTENSIONS_API = "2020-01-01"
NAME = "lambda-runtime-python-shutdown"


def register_shutdown_extension(runtime_api: str, name: str = NAME) -> str | None:
    """Register the extension and start its thread; returns its identifier, or None (logged) if Lambda refused."""
    host, _, port = runtime_api.rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    body = json.dumps({"events": []})
    try:
        conn.request(
            "POST",
            f"/{EXTENSIONS_API}/extension/register",
            body,
            {"Lambda-Extension-Name": name, "Content-Type": "application/json"},
        )
        response = conn.getresponse()
        detail = response.read()
        identifier = response.getheader("Lambda-Extension-Identifier")
    except (OSError, http.client.HTTPException) as error:
        logger.warning("Could not register the shutdown extension (no SIGTERM at shutdown): %s", error)
        conn.close()
        return None
    if response.status != 200 or not identifier:
        text = detail.decode(errors="replace")[:200]
        logger.warning(
            "The Extensions API refused the shutdown extension (HTTP %d: %s): no SIGTERM", response.status, text
        )
        conn.close()
        return None
    conn.timeout = None  # the thread waits while the environment is frozen, maybe for hours: never a timeout
    if conn.sock is not None:
        conn.sock.settimeout(None)
    start_thread(_wait_for_events, conn, identifier, name=name)
    return identifier


def _wait_for_events(conn: http.client.HTTPConnection, identifier: str) -> None:
    """Call `/event/next` for as long as Lambda answers; subscribed to nothing, it normally never returns."""
    try:
        while True:
            conn.request(
                "GET", f"/{EXTENSIONS_API}/extension/event/next", headers={"Lambda-Extension-Identifier": identifier}
            )
            response = conn.getresponse()
            event = response.read()
            if response.status != 200:
                logger.debug("shutdown extension: /event/next answered %d; it stops", response.status)
                return
            if json.loads(event or b"{}").get("eventType") == "SHUTDOWN":
                return
    except (OSError, http.client.HTTPException, ValueError) as error:
        logger.debug("shutdown extension: %s; it stops", error)
    finally:
        conn.close()
