"""Peak memory of a process tree from /proc (Linux), without psutil."""

from __future__ import annotations

import os


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
