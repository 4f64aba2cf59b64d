"""SnapStart: the before-snapshot hooks, `/runtime/restore/next`, then the after-restore hooks.

Modelled on awslambdaric 3.x (bootstrap.py `on_init_complete`, lambda_runtime_hooks_runner.py) and the AWS docs
("Lambda SnapStart runtime hooks for Python", "Handling uniqueness with Lambda SnapStart"). When
`AWS_LAMBDA_INITIALIZATION_TYPE=snap-start`, after the handler is loaded and before the first `/next`:

1. the before-snapshot hooks run in the reverse order of their registration, then the runtime's own (the worker
   processes of `executor="process"` jobs stop; the Runtime API connection closes);
2. `GET /runtime/restore/next` blocks: Lambda snapshots the environment meanwhile, and answers after a restore;
3. the runtime's own after-restore steps (a new Runtime API connection, `random` reseeded from the OS), then the
   after-restore hooks in registration order.

A failure in 1 or 2 (any exception, `SystemExit` and `KeyboardInterrupt` too, as awslambdaric's bare `except:` in
bootstrap.py `on_init_complete`) is posted to `/runtime/init/error` as `Runtime.BeforeSnapshotError` (exit 64); in 3 to
`/runtime/restore/error` as `Runtime.AfterRestoreError` (exit 65). User hooks come from the `snapshot-restore-py`
package (`register_before_snapshot`, `register_after_restore`), the API awslambdaric and AWS's docs use, when it is
installed: it is not a dependency of this runtime.
"""

from __future__ import annotations

import importlib
import logging
import random
from collections.abc import Callable
from typing import Any

import requests

from lambda_runtime.api.client import RuntimeClient
from lambda_runtime.errors import RuntimeApiError, Terminated
from lambda_runtime.invocation.payloads import error_report
from lambda_runtime.jobs.phase import JobRunner

logger = logging.getLogger("lambda_runtime")

INIT_TYPE = "snap-start"
BEFORE_SNAPSHOT_ERROR, BEFORE_SNAPSHOT_EXIT = "Runtime.BeforeSnapshotError", 64
AFTER_RESTORE_ERROR, AFTER_RESTORE_EXIT = "Runtime.AfterRestoreError", 65

Registered = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]


def registered_hooks() -> tuple[list[Registered], list[Registered]]:
    """(before-snapshot, after-restore) as registered with `snapshot_restore_py`; empty when it is not installed."""
    try:
        hooks: Any = importlib.import_module("snapshot_restore_py")  # untyped: no stubs
    except ImportError:
        return [], []
    return hooks.get_before_snapshot(), hooks.get_after_restore()


def snapshot_and_restore(client: RuntimeClient, jobs: JobRunner) -> int | None:
    """Run the SnapStart sequence; None when the runtime is restored and may ask for events, else its exit status."""
    before, after = registered_hooks()
    try:
        while before:  # popped, as awslambdaric does: latest registered first, each run once
            func, args, kwargs = before.pop()
            func(*args, **kwargs)
        if jobs.processes is not None:  # a child process would be frozen into the snapshot; restarted on first use
            jobs.processes.close()
        client.close()
        client.restore_next()
    except Terminated:  # SIGTERM: the runtime's exit (exits.py), not a failed phase
        raise
    except BaseException as error:  # SystemExit and KeyboardInterrupt from a hook too, as awslambdaric's bare except
        return _fail(client, error, BEFORE_SNAPSHOT_ERROR, BEFORE_SNAPSHOT_EXIT, client.post_init_error)
    try:
        client.close()  # the connection that crossed the snapshot: the first /next opens a new one
        # Every restored copy of the snapshot would otherwise draw the same "random" numbers (uuid1's clock
        # sequence too). os.urandom, secrets and uuid4 read the kernel, not this state.
        random.seed()
        for func, args, kwargs in after:
            func(*args, **kwargs)
    except Terminated:
        raise
    except BaseException as error:
        return _fail(client, error, AFTER_RESTORE_ERROR, AFTER_RESTORE_EXIT, client.post_restore_error)
    logger.info("Restored from a SnapStart snapshot")
    return None


def _fail(
    client: RuntimeClient, error: BaseException, error_type: str, status: int, post: Callable[[str, bytes], None]
) -> int:
    report = error_report(error)
    logger.error("%s: %s: %s", error_type, report.error_type, report.message, exc_info=error)
    try:
        post(error_type, report.body)
    except (requests.RequestException, RuntimeApiError) as post_failure:
        logger.critical("Could not report %s to the Runtime API: %s", error_type, post_failure)
    return status
