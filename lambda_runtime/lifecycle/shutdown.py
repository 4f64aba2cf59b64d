"""Graceful shutdown: what the runtime does between SIGTERM and Lambda's SIGKILL.

Lambda sends SIGTERM at the Shutdown phase only when at least one extension is registered, and the runtime then has
"up to 300 ms (500 ms for a runtime with an internal extension)" before SIGKILL (AWS docs, "Lambda execution
environment lifecycle", Shutdown phase; aws-samples/graceful-shutdown-with-aws-lambda). In that budget (exits.py does
it, as every exit): no job starts any more, running jobs have their cancel flag set and are waited for, the
`on_shutdown` hooks run (the ASGI lifespan shutdown is one), and the log names what was cut short.
"""

from __future__ import annotations

import atexit
import logging
from collections.abc import Callable

from lambda_runtime.jobs.job import default_name
from lambda_runtime.threads import start_thread

logger = logging.getLogger("lambda_runtime")

ShutdownHook = Callable[[], None]
SHUTDOWN_HOOKS: list[ShutdownHook] = []

#: Seconds between SIGTERM and SIGKILL (AWS docs above): with our internal extension registered, and without.
BUDGET_INTERNAL_EXTENSION_S = 0.5
BUDGET_EXTERNAL_EXTENSION_S = 0.3


def on_shutdown(hook: ShutdownHook) -> ShutdownHook:
    """Register `hook()`, called once when the runtime stops (SIGTERM, Ctrl-C, any exit of the runtime, interpreter
    exit), after the deferred jobs were cancelled or finished; it gets at most Lambda's 300/500 ms shutdown budget
    (docs/concepts/exits.md). A decorator too."""
    SHUTDOWN_HOOKS.append(hook)
    return hook


def run_shutdown_hooks() -> None:
    """Call each registered hook once, latest first (as atexit). Whatever a hook raises, `SystemExit` and
    `KeyboardInterrupt` too, is logged as its failure, naming it and the phase, and the others still run."""
    while SHUTDOWN_HOOKS:
        hook = SHUTDOWN_HOOKS.pop()
        try:
            hook()
        except BaseException:
            logger.exception("shutdown hook %s failed", default_name(hook))


def run_shutdown_hooks_within(seconds: float) -> None:
    """Run the hooks on a thread of their own and wait for them at most `seconds`: a hook that hangs is named and
    left behind, so that the exit happens all the same (exits.py)."""
    if not SHUTDOWN_HOOKS:
        return
    names = ", ".join(default_name(hook) for hook in reversed(SHUTDOWN_HOOKS))
    runner = start_thread(run_shutdown_hooks, name="shutdown-hooks")
    runner.join(seconds)
    if runner.is_alive():
        logger.error("Shutdown hooks still running after %.0f ms are cut short (of %s)", seconds * 1000, names)


# Outside the runtime (a test importing an integration, a script) the hooks still run once at interpreter exit.
atexit.register(run_shutdown_hooks)
