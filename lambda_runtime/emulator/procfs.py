"""Linux process facts and signals without psutil: peak memory of a process tree and the members of a process
group (from /proc), a signal to one thread (tgkill)."""

from __future__ import annotations

import ctypes
import functools
import os
from collections.abc import Callable


def _vm_hwm_kb(pid: int) -> int | None:
    """The process's peak resident set size (``VmHWM``) in kB, or None (gone, a zombie, not Linux)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (of any of its threads)."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                found.extend(int(p) for p in f.read().split())
        except (OSError, ValueError):
            continue
    return found


def tree_peak_rss_kb(pid: int) -> int | None:
    """Sum of the peak RSS of ``pid`` and its living descendants, kB (None if ``pid`` cannot be read)."""
    root = _vm_hwm_kb(pid)
    if root is None:
        return None
    total = root
    seen = {pid}
    stack = _children(pid)
    while stack:
        child = stack.pop()
        if child in seen:
            continue
        seen.add(child)
        total += _vm_hwm_kb(child) or 0
        stack.extend(_children(child))
    return total


def group_members(pgid: int) -> list[int]:
    """The processes of process group ``pgid`` (from each ``/proc/PID/stat``; those that go meanwhile are skipped)."""
    members: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so split after its last ')'.
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and int(fields[2]) == pgid:
            members.append(int(entry))
    return members


@functools.cache
def _tgkill() -> Callable[[int, int, int], int] | None:
    """glibc's (2.30+) and musl's ``tgkill``, or None."""
    try:
        return getattr(ctypes.CDLL(None, use_errno=True), "tgkill", None)
    except OSError:
        return None


def signal_thread(pid: int, tid: int, sig: int) -> bool:
    """``tgkill(2)``: ``sig`` to thread ``tid`` of process ``pid`` (the main thread's ``tid`` is ``pid``).

    False when it could not be sent: no ``tgkill`` in the C library, or no such thread (any more)."""
    tgkill = _tgkill()
    return tgkill is not None and tgkill(pid, tid, sig) == 0
