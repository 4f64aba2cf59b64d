"""Process workers for Lambda Managed Instances: P processes x T threads, for CPU-bound handlers.

With `LAMBDA_RUNTIME_WORKER_PROCESSES=P` (P > 1) and `AWS_LAMBDA_MAX_CONCURRENCY=N`, this process imports nothing
of the function: it starts P copies of the runtime, each serving its share of the N slots on threads
(serve/managed.py), and replaces any that exits, so a crash of one leaves the others serving. Each copy does its own
init, as awslambdaric 4.x's processes do (the second `/init/error` gets 403, which main.py ignores).

Plain `subprocess` children: no `multiprocessing` queue, pool or semaphore, so no `/dev/shm` is needed (Lambda has
none; multiprocessing's primitives fail there with Errno 38).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping

from lambda_runtime.config import Settings
from lambda_runtime.lifecycle.startup import shutdown_budget_s

logger = logging.getLogger("lambda_runtime")

WORKER_PROCESSES_VARIABLE = "LAMBDA_RUNTIME_WORKER_PROCESSES"
_FIRST_PAUSE_S = 0.1  # before replacing a worker that exited soon after its start; doubles up to _LONGEST_PAUSE_S
_LONGEST_PAUSE_S = 5.0
_SHORT_LIFE_S = 10.0
_OWN_EXIT_S = 0.03  # of the shutdown budget, kept for this process's own exit once the workers are gone


def shares(total: int, parts: int) -> list[int]:
    """`total` slots over `parts` processes, as even as can be; no process gets none."""
    parts = min(parts, total)
    return [total // parts + (1 if index < total % parts else 0) for index in range(parts)]


class Supervisor:
    """Starts the worker processes and keeps them running until SIGTERM (main turns it into `Terminated`)."""

    def __init__(self, settings: Settings, environ: Mapping[str, str], pass_fds: tuple[int, ...] = ()) -> None:
        self.settings = settings
        self.environ = environ
        self.pass_fds = pass_fds
        self.children: list[subprocess.Popen[bytes]] = []
        self._stop = threading.Event()

    def _start(self, threads: int) -> subprocess.Popen[bytes]:
        env = {**self.environ, "AWS_LAMBDA_MAX_CONCURRENCY": str(threads), WORKER_PROCESSES_VARIABLE: "1"}
        command = [sys.executable, "-m", "lambda_runtime", self.settings.handler]
        return subprocess.Popen(command, env=env, pass_fds=self.pass_fds)

    def run(self) -> int:
        sizes = shares(self.settings.max_concurrency, self.settings.worker_processes)
        logger.info("Serving %d slots with %d worker processes: %s threads", sum(sizes), len(sizes), sizes)
        self.children = [self._start(size) for size in sizes]
        started = [time.monotonic()] * len(sizes)
        pause = _FIRST_PAUSE_S
        try:
            while not self._stop.wait(0.05):
                for index, child in enumerate(self.children):
                    status = child.poll()
                    if status is None:
                        continue
                    lived = time.monotonic() - started[index]
                    logger.error("Worker process %d exited with status %d; it is replaced", child.pid, status)
                    if lived < _SHORT_LIFE_S:  # an init failure or a crash loop: do not spin
                        time.sleep(pause)
                        pause = min(_LONGEST_PAUSE_S, pause * 2)
                    else:
                        pause = _FIRST_PAUSE_S
                    self.children[index] = self._start(sizes[index])
                    started[index] = time.monotonic()
        finally:
            self.stop()
        return 0  # pragma: no cover - only a signal ends the loop, by raising

    def stop(self, grace_s: float | None = None) -> None:
        """Pass SIGTERM on to the workers; SIGKILL what is left after `grace_s`: by default Lambda's shutdown budget
        (300/500 ms) less what this process needs to exit. Each worker spends the budget from its own SIGTERM, a
        little later than ours, and keeps a larger margin (exits.py), so it is done before this SIGKILL."""
        if grace_s is None:
            grace_s = shutdown_budget_s(self.settings) - _OWN_EXIT_S
        self._stop.set()
        for child in self.children:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signal.SIGTERM)
        give_up = time.monotonic() + grace_s
        for child in self.children:
            try:
                child.wait(max(0.0, give_up - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
