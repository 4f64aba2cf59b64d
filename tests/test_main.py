"""Start-up: configuration errors, an unreachable Runtime API, init errors posted to /runtime/init/error."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys

import pytest

from tests.conftest import FUNCTIONS
from tests.scripted_server import ScriptedRuntimeApi


def run_runtime(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lambda_runtime", *args],
        env={"PATH": "/usr/bin:/bin", **env},
        cwd=FUNCTIONS,
        capture_output=True,
        text=True,
        timeout=60,
    )


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_runtime_api_retries_then_exits_with_one_line():
    result = run_runtime(
        {"AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{closed_port()}", "LAMBDA_RUNTIME_RETRY_ATTEMPTS": "3"}, "basic.echo"
    )
    assert result.returncode == 1
    critical = [line for line in result.stdout.splitlines() if line.startswith("[CRITICAL]")]
    assert len(critical) == 1 and "Runtime API at 127.0.0.1:" in critical[0] and "unavailable" in critical[0]
    assert result.stdout.count("retrying") == 2
    assert "Traceback" not in result.stdout + result.stderr


def test_missing_or_malformed_runtime_api_is_named():
    missing = run_runtime({}, "basic.echo")
    assert missing.returncode == 2
    assert "AWS_LAMBDA_RUNTIME_API is not set" in missing.stderr
    malformed = run_runtime({"AWS_LAMBDA_RUNTIME_API": "nonsense"}, "basic.echo")
    assert malformed.returncode == 2
    assert "AWS_LAMBDA_RUNTIME_API='nonsense' is invalid" in malformed.stderr
    assert "Traceback" not in missing.stderr + malformed.stderr


def test_handler_from_environment_when_no_argument():
    with ScriptedRuntimeApi() as api:
        result = run_runtime({"AWS_LAMBDA_RUNTIME_API": api.address, "_HANDLER": "basic.missing"})
    assert result.returncode == 1
    (post,) = [seen for seen in api.seen if seen.path.endswith("/runtime/init/error")]
    assert post.headers["Lambda-Runtime-Function-Error-Type"] == "Runtime.HandlerNotFound"
    assert json.loads(post.body)["errorMessage"] == "Handler 'missing' missing on module 'basic'"


def test_init_error_exits_non_zero_under_the_emulator(serve):
    emu = serve("no_such_module.handler")
    assert emu.invoke({}).json()["errorType"] == "Runtime.ImportModuleError"
    output = emu.wait_for_output("[ERROR] Runtime.ImportModuleError")
    assert "[ERROR] Runtime.ImportModuleError: Unable to import module 'no_such_module'" in output


def test_ctrl_c_while_waiting_for_an_event_exits_quietly():
    with socket.socket() as listener:  # a Runtime API that takes the /next request and never answers it
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        process = subprocess.Popen(
            [sys.executable, "-m", "lambda_runtime", "basic.echo"],
            env={"PATH": "/usr/bin:/bin", "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}"},
            cwd=FUNCTIONS,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        listener.settimeout(30)
        connection, _ = listener.accept()
        with connection:
            connection.settimeout(30)
            request = b""
            while b"\r\n\r\n" not in request:
                request += connection.recv(4096)
            assert request.startswith(b"GET /2018-06-01/runtime/invocation/next")
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert "Traceback" not in out + err


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LAMBDA_RUNTIME_POST_TIMEOUT", "inf"),
        ("LAMBDA_RUNTIME_POST_TIMEOUT", "nan"),
        ("LAMBDA_RUNTIME_DEFER_MARGIN_MS", "0"),
    ],
)
def test_settings_that_make_no_sense_stop_the_start_naming_the_variable(name, value):
    with ScriptedRuntimeApi() as api:
        result = run_runtime({"AWS_LAMBDA_RUNTIME_API": api.address, name: value}, "basic.echo")
    assert result.returncode == 2
    assert f"{name}={value!r} is invalid" in result.stderr and "Traceback" not in result.stderr
    assert api.seen == []  # refused before the first /next


# --- cold start: what a plain handler's runtime imports -------------------------------------------------------------

# Needed only by a feature a plain function does not use: each waits for that feature's first use.
LAZY_MODULES = [
    "lambda_runtime.web",  # ASGI/WSGI adapters
    "lambda_runtime.jobs.aio",  # async jobs
    "lambda_runtime.jobs.frames",  # executor="process" jobs (pickle)
    "lambda_runtime.jobs.worker",
    "lambda_runtime.lifecycle.snapstart",  # AWS_LAMBDA_INITIALIZATION_TYPE=snap-start
    "lambda_runtime.api.extensions",  # LAMBDA_RUNTIME_SHUTDOWN_EXTENSION
    "lambda_runtime.serve.managed",  # AWS_LAMBDA_MAX_CONCURRENCY
    "lambda_runtime.serve.supervisor",
    "lambda_runtime.logs.json_format",  # AWS_LAMBDA_LOG_FORMAT=JSON
    "lambda_runtime.logs.telemetry",  # Lambda's telemetry descriptor
    "lambda_runtime.api.retries",  # the first failed Runtime API call
    "lambda_runtime.serve.restart",  # a restart in place
    "tenacity",
    "pythonjsonlogger",
]
# Beyond what `import requests` loads, the only modules from outside the runtime a plain start may load.
ALLOWED_BEYOND_REQUESTS = {
    "runpy",  # python -m
    "contextvars",  # the request id of log lines, the current job
    "_contextvars",
    "signal",  # SIGTERM is handled from the start
    "ctypes",  # the first invocation's _X_AMZN_TRACE_ID, written without glibc's leak (environ.py)
    "_ctypes",
    "ctypes._endian",
}


def test_a_plain_handler_starts_without_the_modules_of_features_it_does_not_use(serve):
    # Every module imported before the first /next is cold-start time: asyncio, subprocess, pickle, multiprocessing,
    # tenacity... must wait for the feature that needs them. A top-level import re-added anywhere fails this.
    loaded = set(serve("startup_modules.handler").invoke({}).json())
    probe = [sys.executable, "-c", "import json, sys, requests; print(json.dumps(sorted(sys.modules)))"]
    with_requests = set(json.loads(subprocess.run(probe, capture_output=True, text=True, check=True).stdout))
    assert {"requests", "lambda_runtime.main", "lambda_runtime.jobs.phase"} <= loaded  # it did see the runtime
    assert sorted(name for name in LAZY_MODULES if name in loaded) == []
    others = {name for name in loaded - with_requests if not name.startswith("lambda_runtime")}
    assert sorted(others - ALLOWED_BEYOND_REQUESTS) == []
