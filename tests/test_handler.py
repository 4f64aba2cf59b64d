"""Handler strings and init errors, end to end (the error reaches /runtime/init/error) and as a pure function."""

from __future__ import annotations

import pytest

from lambda_runtime.errors import InitError
from lambda_runtime.invocation.handler import load_handler
from tests.conftest import FUNCTIONS


@pytest.mark.parametrize("handler", ["pkg.sub.mod.fn", "pkg/sub/mod.fn"])
def test_nested_handler_strings_run(serve, handler):
    emu = serve(handler)
    assert emu.invoke({}).json() == {"where": "pkg.sub.mod"}


# awslambdaric's message, to the letter (tests/test_differential.py compares the two runtimes too).
MALFORMED = "Bad handler 'nodot': not enough values to unpack (expected 2, got 1)"


@pytest.mark.parametrize(
    ("handler", "error_type", "message"),
    [
        ("nodot", "Runtime.MalformedHandlerName", MALFORMED),
        ("sys.handler", "Runtime.BuiltInModuleConflict", "Cannot use built-in module sys as a handler module"),
        ("no_such_module.handler", "Runtime.ImportModuleError", "Unable to import module 'no_such_module'"),
        ("import_fails.handler", "Runtime.ImportModuleError", "Unable to import module 'import_fails'"),
        ("syntax_error.handler", "Runtime.UserCodeSyntaxError", "Syntax error in module 'syntax_error'"),
        ("basic.missing", "Runtime.HandlerNotFound", "Handler 'missing' missing on module 'basic'"),
        ("import_raises.handler", "RuntimeError", "configuration missing at import time"),
    ],
)
def test_init_errors_reach_the_caller_and_init_is_retried(serve, handler, error_type, message):
    emu = serve(handler)
    for _ in range(2):  # each invocation gets a fresh init, which fails the same way
        response = emu.invoke({})
        assert response.headers["X-Amz-Function-Error"] == "Unhandled"
        body = response.json()
        assert body["errorType"] == error_type
        assert body["errorMessage"].startswith(message)


def test_load_handler_puts_the_task_root_on_sys_path():
    assert load_handler("pkg.sub.mod.fn", str(FUNCTIONS))({}, None) == {"where": "pkg.sub.mod"}


def test_load_handler_rejects_a_trailing_dot():
    with pytest.raises(InitError) as caught:
        load_handler("basic.", str(FUNCTIONS))
    assert caught.value.error_type == "Runtime.MalformedHandlerName"
