"""The process's worker threads. A worker whose job overran is written off and replaced at once.

Python cannot stop a thread, so a job that ignores its cancellation keeps its thread. With a plain pool that thread
is lost to every later invocation; here it stops counting against the pool the moment its job is abandoned, a new
worker takes its place, and the written-off thread ends when its job finally returns. How many written-off threads
may exist at once is bounded (`max_abandoned`); the post-response phase escalates to an exit past the bound.

Jobs waiting for a free thread are bounded too (`max_queued`, over every invocation's jobs): under Lambda Managed
Instances many invocations' jobs meet in this one queue, and the per-invocation bound alone would let it grow with
the number of invocations whose jobs are still draining.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable

from lambda_runtime.jobs.job import Job
from lambda_runtime.threads import start_thread


class Workers:
    """Up to `size` threads counted against the pool, started on demand and reused; daemons, so exit never waits."""

    def __init__(self, size: int, max_abandoned: int, max_queued: int | None = None) -> None:
        self.size = size
        self.max_abandoned = max_abandoned
        self.max_queued = max_queued  # jobs waiting for a thread, all invocations together; None: no bound
        self._lock = threading.Condition()
        self._queue: deque[tuple[Job, Callable[[], None]]] = deque()
        self._live = 0  # threads counted against `size`: idle, or running a job not written off
        self._idle = 0
        self._running: dict[Job, threading.Thread] = {}
        self._written_off: dict[threading.Thread, Job] = {}
        self._started = 0

    def submit(self, job: Job, run: Callable[[], None]) -> bool:
        """Queue `job` for a thread; False, and nothing queued, when `max_queued` jobs already wait for one."""
        with self._lock:
            if self._full():
                return False
            self._queue.append((job, run))
            self._spawn_if_needed()
            self._lock.notify()
            return True

    def waiting(self) -> int:
        """Jobs queued that no thread is about to take: they wait for a worker to be free."""
        with self._lock:
            return self._waiting()

    def full_reason(self) -> str:
        """Why no job can be queued now, or "" if one can."""
        with self._lock:
            if not self._full():
                return ""
            waiting = self._waiting()
        return (
            f"{waiting} jobs of this and other invocations already wait for a free worker "
            f"(LAMBDA_RUNTIME_DEFER_MAX_QUEUED={self.max_queued})"
        )

    def _waiting(self) -> int:
        # A thread counted against the pool and running nothing (idle, or just started) takes one of them at once.
        free = self._live - (len(self._running) - len(self._written_off))
        return max(0, len(self._queue) - free)

    def _full(self) -> bool:
        return self.max_queued is not None and self._waiting() >= self.max_queued

    def withdraw(self, jobs: Iterable[Job]) -> list[Job]:
        """Take the jobs that are still queued off the queue; returns those withdrawn."""
        wanted = set(jobs)
        with self._lock:
            kept = [task for task in self._queue if task[0] not in wanted]
            withdrawn = [task[0] for task in self._queue if task[0] in wanted]
            self._queue = deque(kept)
        return withdrawn

    def write_off(self, job: Job) -> None:
        """`job` overran: its thread no longer counts, and a new worker starts if work is waiting."""
        with self._lock:
            thread = self._running.get(job)
            if thread is None or thread in self._written_off:
                return
            self._written_off[thread] = job
            self._live -= 1
            self._spawn_if_needed()

    def abandoned(self) -> list[Job]:
        """Jobs still running on written-off threads."""
        with self._lock:
            return list(self._written_off.values())

    @property
    def over_bound(self) -> bool:
        with self._lock:
            return len(self._written_off) > self.max_abandoned

    def _spawn_if_needed(self) -> None:
        # Called with the lock held. Queued tasks beyond the idle threads (woken but not yet running) need a thread.
        if len(self._queue) > self._idle and self._live < self.size:
            self._live += 1
            self._started += 1
            start_thread(self._work, name=f"deferred-{self._started}")

    def _work(self) -> None:
        me = threading.current_thread()
        while True:
            with self._lock:
                self._idle += 1
                while not self._queue:
                    self._lock.wait()
                self._idle -= 1
                job, run = self._queue.popleft()
                self._running[job] = me
            run()  # never raises: the batch records every outcome in a `finally` of its own
            with self._lock:
                del self._running[job]
                if self._written_off.pop(me, None) is not None:
                    return  # a replacement already took this thread's place
