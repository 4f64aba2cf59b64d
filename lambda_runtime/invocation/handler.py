"""Load `module.function` from the task root, with the official client's error types and messages."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

from lambda_runtime.errors import InitError

Handler = Callable[[Any, Any], Any]


def load_handler(handler: str, task_root: str) -> Handler:
    """Import the handler named by `handler` ("mod.fn", "pkg.mod.fn" or "pkg/mod.fn"), or raise `InitError`."""
    modname, dot, fname = handler.rpartition(".")
    if not dot or not modname or not fname:
        raise InitError(
            "Runtime.MalformedHandlerName", f"Bad handler '{handler}': not enough values to unpack (expected 2, got 1)"
        )
    if task_root not in sys.path:
        sys.path.insert(0, task_root)
    if modname.split(".")[0] in sys.builtin_module_names:
        raise InitError("Runtime.BuiltInModuleConflict", f"Cannot use built-in module {modname} as a handler module")
    try:
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as error:
        raise InitError("Runtime.ImportModuleError", f"Unable to import module '{modname}': {error}") from error
    except SyntaxError as error:
        trace = [f'  File "{error.filename}" Line {error.lineno}\n    {error.text}']
        raise InitError("Runtime.UserCodeSyntaxError", f"Syntax error in module '{modname}': {error}", trace) from error
    try:
        function: Handler = getattr(module, fname)
    except AttributeError:
        raise InitError("Runtime.HandlerNotFound", f"Handler '{fname}' missing on module '{modname}'") from None
    return function
