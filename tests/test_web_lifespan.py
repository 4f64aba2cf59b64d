"""lambda_runtime.web.lifespan: startup at adapter creation, shutdown through the documented hook."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from lambda_runtime import main as runtime_main
from lambda_runtime.web import LifespanFailure, asgi
from tests.conftest import FUNCTIONS
from tests.web_events import event


def app_with_lifespan(calls):
    @contextlib.asynccontextmanager
    async def lifespan(app):
        calls.append("startup")
        yield {"greeting": "hello"}
        calls.append("shutdown")

    async def home(request):
        return PlainTextResponse(request.state.greeting)

    return Starlette(routes=[Route("/", home)], lifespan=lifespan)


def test_startup_runs_once_at_creation_and_state_reaches_requests():
    calls = []
    handler = asgi(app_with_lifespan(calls))
    assert calls == ["startup"]
    for _ in range(2):
        assert handler(event("http-v2"), None)["body"] == "hello"
    assert calls == ["startup"]
    handler.shutdown()
    assert calls == ["startup", "shutdown"]
    handler.shutdown()  # a second call (atexit after an explicit one) does nothing
    assert calls == ["startup", "shutdown"]


def test_lifespan_off_skips_startup():
    calls = []
    asgi(app_with_lifespan(calls), lifespan="off")
    assert calls == []


async def no_lifespan_app(scope, receive, send):
    assert scope["type"] == "http", "only http"
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def test_auto_carries_on_when_the_app_has_no_lifespan_and_on_requires_it():
    assert asgi(no_lifespan_app)(event("alb"), None)["statusCode"] == 204
    with pytest.raises(AssertionError, match="only http"):
        asgi(no_lifespan_app, lifespan="on")


def test_startup_failed_without_an_exception_is_a_lifespan_failure():
    async def app(scope, receive, send):
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "no database"})

    with pytest.raises(LifespanFailure, match="no database"):
        asgi(app)


def test_unknown_options_and_modes_are_refused():
    with pytest.raises(TypeError, match="api_gateway_base_path"):
        asgi(no_lifespan_app, api_gateway_base_path="/x")
    with pytest.raises(ValueError, match="lifespan"):
        asgi(no_lifespan_app, lifespan="maybe")


def test_shutdown_runs_when_the_runtime_process_exits(tmp_path):
    with socket.socket() as probe:  # a port nobody listens on: the first /next fails and the runtime exits
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mark = tmp_path / "mark"
    env = {
        **os.environ,
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
        "_HANDLER": "web_shutdown.handler",
        "LAMBDA_TASK_ROOT": str(FUNCTIONS),
        "LAMBDA_RUNTIME_RETRY_ATTEMPTS": "1",
        "SHUTDOWN_MARK": str(mark),
    }
    run = subprocess.run([sys.executable, "-m", "lambda_runtime"], env=env, capture_output=True, timeout=60)
    assert run.returncode == 1
    assert mark.read_text() == "shutdown"


@pytest.mark.skipif(not hasattr(runtime_main, "Terminated"), reason="the runtime does not unwind on SIGTERM yet")
def test_shutdown_runs_on_sigterm(serve, tmp_path):
    mark = tmp_path / "mark"
    # A generous budget: this checks that shutdown runs, not how fast a loaded machine runs it.
    emu = serve(
        "web_shutdown.handler", env={**os.environ, "SHUTDOWN_MARK": str(mark)}, shutdown_budget=20, kill_grace=20
    )
    assert emu.invoke(event("http-v2")).json()["body"] == "up"
    emu.wait_for_records(1)  # the invocation is over (its deferred job too): the runtime waits in /next
    emu.stop()  # SIGCONT + SIGTERM to the runtime, as Lambda does when it shuts an environment down
    assert mark.read_text() == "shutdown"
