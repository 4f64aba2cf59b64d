"""What happens once between loading the handler and the first `/next`: the GIL's state, the opt-in shutdown
extension, SnapStart."""

from __future__ import annotations

import logging
import sys

from lambda_runtime.api.client import RuntimeClient
from lambda_runtime.config import Settings
from lambda_runtime.jobs.phase import JobRunner
from lambda_runtime.lifecycle.shutdown import BUDGET_EXTERNAL_EXTENSION_S, BUDGET_INTERNAL_EXTENSION_S

logger = logging.getLogger("lambda_runtime")


def shutdown_budget_s(settings: Settings) -> float:
    """Seconds between SIGTERM and SIGKILL: longer when our internal extension is registered (shutdown.py)."""
    return BUDGET_INTERNAL_EXTENSION_S if settings.shutdown_extension else BUDGET_EXTERNAL_EXTENSION_S


def gil_state_line(abiflags: str, gil_enabled: bool) -> tuple[int, str] | None:
    """What to log about the GIL on a free-threaded build (`sys.abiflags` has "t"); None on a regular build.

    Said after the handler is imported: importing an extension module that does not declare free-threading support
    turns the GIL back on for the whole process (PEP 703; CPython warns, naming the module), as does PYTHON_GIL=1.
    """
    if "t" not in abiflags:
        return None
    if not gil_enabled:
        return (
            logging.INFO,
            "Free-threaded Python (no GIL): thread jobs run in parallel; executor='process' is rarely needed",
        )
    return logging.WARNING, (
        "Free-threaded Python build, but the GIL is enabled (PYTHON_GIL=1, or an extension module the handler "
        "imported does not support free threading): thread jobs run one at a time"
    )


def log_gil_state() -> None:
    """Once the handler is imported, say whether thread jobs (and LMI's handler threads) can run in parallel."""
    line = gil_state_line(sys.abiflags, getattr(sys, "_is_gil_enabled", lambda: True)())
    if line is not None:
        logger.log(*line)


def before_first_event(settings: Settings, client: RuntimeClient, jobs: JobRunner) -> int | None:
    """Register the shutdown extension and run the SnapStart sequence, as configured; an exit status if they fail.

    A process image that replaced another (restart.py: `pending_next_fd`) skips both: init is long over.
    """
    if settings.pending_next_fd >= 0:
        return None
    snap_start = settings.initialization_type == "snap-start"
    if settings.shutdown_extension and snap_start:  # its thread's connection would cross the snapshot
        logger.warning("LAMBDA_RUNTIME_SHUTDOWN_EXTENSION is ignored with SnapStart")
    elif settings.shutdown_extension:
        from lambda_runtime.api.extensions import register_shutdown_extension

        register_shutdown_extension(settings.runtime_api)
    if snap_start:
        from lambda_runtime.lifecycle.snapstart import snapshot_and_restore

        return snapshot_and_restore(client, jobs)
    return None
