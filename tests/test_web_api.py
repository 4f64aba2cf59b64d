"""lambda_runtime.web's public API, pinned; and it imports no web framework."""

from __future__ import annotations

import subprocess
import sys

import lambda_runtime.web


def test_public_api_is_pinned():
    assert sorted(lambda_runtime.web.__all__) == [
        "ASGIAdapter",
        "LifespanFailure",
        "MalformedEvent",
        "TEXT_TYPES",
        "UnsupportedEvent",
        "WSGIAdapter",
        "asgi",
        "wsgi",
    ]
    for name in lambda_runtime.web.__all__:
        assert getattr(lambda_runtime.web, name) is not None


def test_importing_it_imports_no_framework():
    frameworks = ("starlette", "fastapi", "flask", "django", "mangum", "apig_wsgi", "anyio", "werkzeug")
    code = f"import sys, lambda_runtime.web; print([m for m in {frameworks!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
