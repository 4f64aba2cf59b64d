"""Graceful shutdown: what the runtime does between SIGTERM and Lambda's SIGKILL.

Lambda sends SIGTERM at the Shutdown phase only when at least one extension is registered, and the runtime then has
"up to 300 ms (500 ms for a runtime with an internal extension)" before SIGKILL (AWS docs, "Lambda execution
environment lifecycle", Shutdown phase; aws-samples/graceful-shutdown-with-aws-lambda). In that budget: no job starts
any more, running jobs have their cancel flag set and are waited for, the `on_shutdown` hooks run (the ASGI lifespan
shutdown is one), and the log names what was cut short.
"""

from __future__ import annotations

import atexit
import logging
import signal
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from lambda_runtime.jobs.job import default_name

if TYPE_CHECKING:
    from lambda_runtime.jobs.phase import JobRunner

logger = logging.getLogger("lambda_runtime")

ShutdownHook = Callable[[], None]
SHUTDOWN_HOOKS: list[ShutdownHook] = []

#: Seconds between SIGTERM and SIGKILL (AWS docs above): with our internal extension registered, and without.
BUDGET_INTERNAL_EXTENSION_S = 0.5
BUDGET_EXTERNAL_EXTENSION_S = 0.3
#: Kept back from the budget for the last log lines and the exit itself.
_EXIT_MARGIN_S = 0.05


def on_shutdown(hook: ShutdownHook) -> ShutdownHook:
    """Register `hook()`, called once when the runtime stops (SIGTERM, Ctrl-C, the Runtime API gone, interpreter
    exit), after the deferred jobs were cancelled; on SIGTERM it shares Lambda's 300/500 ms budget. A decorator too."""
    SHUTDOWN_HOOKS.append(hook)
    return hook


def run_shutdown_hooks() -> None:
    """Call each registered hook once, latest first (as atexit); a failing hook is logged and the others still run."""
    while SHUTDOWN_HOOKS:
        hook = SHUTDOWN_HOOKS.pop()
        try:
            hook()
        except Exception:
            logger.exception("shutdown hook %s failed", default_name(hook))


# Outside the runtime (a test importing an integration, a script) the hooks still run once at interpreter exit.
atexit.register(run_shutdown_hooks)


def shut_down(jobs: JobRunner, budget_s: float, reason: str, clock: Callable[[], float] = time.monotonic) -> None:
    """Stop within `budget_s` of now: cancel and wait for the jobs (half the budget when there are hooks to run
    after them), run the hooks, log what was cut short."""
    started = clock()
    # A second SIGTERM or a Ctrl-C must not cut the shutdown itself short.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)
    jobs_share = budget_s / 2 if SHUTDOWN_HOOKS else budget_s - _EXIT_MARGIN_S
    logger.info("Shutting down (%s): deferred jobs cancelled, %.0f ms budget", reason, budget_s * 1000)
    cut = jobs.shut_down(started + jobs_share)
    if cut:
        logger.warning("Deferred jobs cut short by %s: %s", reason, ", ".join(cut), extra={"cutShort": cut})
    run_shutdown_hooks()
    elapsed_ms = (clock() - started) * 1000
    if elapsed_ms > budget_s * 1000:
        logger.warning(
            "Shutdown took %.0f ms, past the %.0f ms budget: Lambda SIGKILLs at the budget", elapsed_ms, budget_s * 1000
        )
