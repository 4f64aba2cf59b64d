"""pytest fixtures for functions built on lambda_runtime; pytest loads this plugin once the package is installed.

- `lambda_function(handler, **options)`: a `LocalFunction` (in process, no server), closed after the test;
- `lambda_emulator(handler_name, task_root=..., **options)`: the local Lambda emulator (the `[emulator]` extra),
  running the real runtime as a child process on 127.0.0.1 (a free port), stopped after the test. Options are
  `lambda_runtime.emulator.Emulator`'s; `env` is added to this process's environment (so the runtime finds the same
  Python path), not used instead of it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from lambda_runtime.testing.function import LocalFunction

if TYPE_CHECKING:
    from lambda_runtime.emulator import Emulator


@pytest.fixture
def lambda_function() -> Iterator[Callable[..., LocalFunction]]:
    """Make `LocalFunction(handler, **options)`s; each is closed (its worker processes stopped) after the test."""
    with contextlib.ExitStack() as stack:

        def make(handler: Callable[[Any, Any], Any], **options: Any) -> LocalFunction:
            return stack.enter_context(LocalFunction(handler, **options))

        yield make


@pytest.fixture
def lambda_emulator() -> Iterator[Callable[..., Emulator]]:
    """Start emulators serving `handler_name` (e.g. "app.handler") from `task_root`; all stop after the test."""
    try:
        from lambda_runtime.emulator import Emulator
    except ImportError as error:  # the [emulator] extra is not installed: say how to get it, in one line
        pytest.fail(str(error), pytrace=False)
    with contextlib.ExitStack() as stack:

        def start(handler_name: str, **options: Any) -> Emulator:
            options["env"] = {**os.environ, **options.get("env", {})}
            return stack.enter_context(Emulator(handler_name, **options))

        yield start
