"""The process's one asyncio event loop, run forever in its own thread.

One loop for the whole process, not one per request: connection pools and clients bound to a loop (httpx, asyncpg,
aiobotocore) survive between invocations, and an app's coroutine can go on with its background tasks after the
handler has returned the response. Between invocations Lambda freezes the process, this thread included.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import sys
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from lambda_runtime.threads import start_thread

T = TypeVar("T")

_lock = threading.Lock()
_shared: LoopThread | None = None


class LoopThread:
    """An event loop running in a daemon thread; coroutines are handed to it from other threads."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = start_thread(self._run, name="lambda-runtime-asgi")

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(
        self, coroutine: Coroutine[Any, Any, T], context: contextvars.Context | None = None
    ) -> concurrent.futures.Future[T]:
        """Run `coroutine` on the loop, in a copy of the caller's context (so logs keep the request id), or in
        `context` itself (Python 3.11+; earlier, a copy of it), so that variables set in it later reach the
        coroutine. Cancelling the returned future cancels the coroutine's task."""
        if context is None:
            return asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def start() -> None:
            if future.cancelled():
                coroutine.close()
                return
            if sys.version_info >= (3, 11):
                task = self.loop.create_task(coroutine, context=context)
            else:  # pragma: no cover - Python 3.10 has no create_task(context=)
                task = context.run(self.loop.create_task, coroutine)
            task.add_done_callback(lambda done: _settle(future, done))
            future.add_done_callback(lambda f: f.cancelled() and self.loop.call_soon_threadsafe(task.cancel))

        self.loop.call_soon_threadsafe(start)
        return future

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run `coroutine` on the loop and wait for its result; on timeout it is cancelled and TimeoutError raised."""
        future = self.submit(coroutine)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"still running after {timeout} s") from None


def _settle(future: concurrent.futures.Future[T], task: asyncio.Task[T]) -> None:
    """Give `future` the outcome of `task` (as asyncio.run_coroutine_threadsafe does)."""
    if future.cancelled():
        return
    if task.cancelled():
        future.cancel()
    elif not future.set_running_or_notify_cancel():
        return
    elif (error := task.exception()) is not None:
        future.set_exception(error)
    else:
        future.set_result(task.result())


def shared_loop() -> LoopThread:
    """The loop of this process, started on first use."""
    global _shared
    with _lock:
        if _shared is None:
            _shared = LoopThread()
        return _shared
