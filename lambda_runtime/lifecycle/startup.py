"""What happens once between loading the handler and the first `/next`: the opt-in shutdown extension, SnapStart."""

from __future__ import annotations

import logging

from lambda_runtime.client import RuntimeClient
from lambda_runtime.config import Settings
from lambda_runtime.jobs.phase import JobRunner
from lambda_runtime.lifecycle.shutdown import BUDGET_EXTERNAL_EXTENSION_S, BUDGET_INTERNAL_EXTENSION_S

logger = logging.getLogger("lambda_runtime")


def shutdown_budget_s(settings: Settings) -> float:
    """Seconds between SIGTERM and SIGKILL: longer when our internal extension is registered (shutdown.py)."""
    return BUDGET_INTERNAL_EXTENSION_S if settings.shutdown_extension else BUDGET_EXTERNAL_EXTENSION_S


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
        from lambda_runtime.lifecycle.extension import register_shutdown_extension

        register_shutdown_extension(settings.runtime_api)
    if snap_start:
        from lambda_runtime.lifecycle.snapstart import snapshot_and_restore

        return snapshot_and_restore(client, jobs)
    return None
