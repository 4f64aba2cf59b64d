"""Shared fixtures: the real emulator on 127.0.0.1, port 0, with the real runtime as its child process."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lambda_runtime.emulator import Emulator

FUNCTIONS = Path(__file__).parent / "functions"
OFFICIAL_CLIENT = [sys.executable, "-m", "awslambdaric"]


@pytest.fixture
def serve() -> Iterator[Callable[..., Emulator]]:
    """Start an emulator serving `handler` from tests/functions; all are stopped when the test ends."""
    with contextlib.ExitStack() as stack:

        def start(handler: str, **options: Any) -> Emulator:
            options.setdefault("task_root", str(FUNCTIONS))
            # Over the process environment, not instead of it: the runtime under test keeps this interpreter's
            # PATH and PYTHONPATH, so it is the checkout's code whatever a test adds.
            options["env"] = {**os.environ, **options.get("env", {})}
            options.setdefault("test_hooks", True)
            return stack.enter_context(Emulator(handler, **options))

        yield start
