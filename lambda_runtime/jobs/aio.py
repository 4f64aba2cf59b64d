"""Async jobs: `context.defer(async_fn, ...)` runs the coroutine in an event loop of its own, in the job's thread.

Unlike a thread, a coroutine can be stopped: at the job's deadline its task is cancelled, and the job counts as
timed out. Imported only when an async job runs, so asyncio costs nothing at cold start.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from lambda_runtime.jobs.job import Job


def run_awaitable(job: Job, awaitable: Awaitable[Any]) -> Any:
    return asyncio.run(_until_cancelled(job, awaitable))


async def _until_cancelled(job: Job, awaitable: Awaitable[Any]) -> Any:
    task = asyncio.ensure_future(awaitable)
    loop = asyncio.get_running_loop()
    job.on_cancel.append(lambda: _cancel_soon(loop, task))
    if job.cancelled:
        task.cancel()
    return await task


def _cancel_soon(loop: asyncio.AbstractEventLoop, task: asyncio.Future[Any]) -> None:
    loop.call_soon_threadsafe(task.cancel)  # from join()'s thread: the loop runs in the job's
