"""Every thread the runtime starts is started here, with SIGTERM and SIGINT blocked in it.

A process-directed signal goes to any one thread that does not block it (POSIX, "Signal Generation and Delivery";
Linux prefers the main thread but takes another one when the main thread is not runnable at that instant, as right
after the SIGCONT that thaws a frozen environment). Python runs its handlers on the main thread only, when that
thread next executes bytecode: a SIGTERM taken by any other thread leaves the main thread asleep in its `/next`
read, which only a signal delivered to it interrupts, and the runtime would never shut down. With both signals
blocked in every other thread, the kernel can only deliver them to the main thread, and its read fails with EINTR.

A thread inherits the signal mask of the thread that creates it, so the mask is set around `start()` in the
creating thread and the new thread never runs a single instruction with the signals open. Its own threads (an
asyncio loop's executor, a job's helper threads) inherit the mask in turn.

A child process inherits the mask too. The runtime's own children (process-job workers, Managed Instances worker
processes) open the signals again as they start (`open_main_thread_signals`), and so does the child of an
`os.fork()` (multiprocessing's "fork" start method included) made in one of these threads. A program a job or a
Managed Instances handler starts with `subprocess` starts with both blocked: Python offers no hook there.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from typing import Any

#: The signals only the main thread takes: SIGTERM (Lambda's shutdown) and SIGINT (Ctrl-C when run by hand).
MAIN_THREAD_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT})


def start_thread(target: Callable[..., object], *args: Any, name: str) -> threading.Thread:
    """Start a daemon thread running `target(*args)` with `MAIN_THREAD_SIGNALS` blocked in it."""
    thread = threading.Thread(target=target, args=args, name=name, daemon=True)
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, MAIN_THREAD_SIGNALS)
    try:
        thread.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    return thread


def open_main_thread_signals() -> None:
    """Unblock `MAIN_THREAD_SIGNALS` in this thread: a process started from one of our threads inherited them
    blocked."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, MAIN_THREAD_SIGNALS)


# A forked child's only thread is the one that forked: it is the child's main thread and must take the signals.
os.register_at_fork(after_in_child=open_main_thread_signals)
