"""Loop-only: the runtime loop alone, against `loop_server.py` instead of the emulator.

Each runtime gets its own port of one server process and N pre-made events per round; the figure is the
server's time from the first event to the (N+1)-th `/next`, divided by N. Runtimes are interleaved round by
round (A B C D, B C D A, ...). No emulator, no freezing: only the runtime's own cost plus a few µs of server.
"""

from __future__ import annotations

import contextlib
import queue
import subprocess
import threading
from pathlib import Path
from typing import Any

from tqdm import tqdm

from benchmarks.procs import PYTHON, ROOT, child_env, runtime_command, start_runtime, stop_process, tail
from benchmarks.profiles import Profile
from benchmarks.stats import rotated, summarize

#: name → (runtime, handler)
RUNTIMES = {
    "ours": ("ours", "bench_handlers.noop"),
    "awslambdaric": ("awslambdaric", "bench_handlers.noop"),
    "floor": ("floor", "bench_handlers.noop"),
    "ours_defer1": ("ours", "bench_handlers.defer_noop"),
}


def units(profile: Profile) -> int:
    return profile.loop_rounds * len(RUNTIMES)


class LoopServer:
    """The `loop_server.py` process: `batch(i, n)` serves n events to runtime i and returns its timings."""

    def __init__(self, count: int) -> None:
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "benchmarks.loop_server", str(count)],
            cwd=ROOT,
            env=child_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        first = self.lines.get(timeout=30).split()
        self.ports = [int(word) for word in first[1:]]

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def batch(self, index: int, n: int, timeout: float = 120.0) -> tuple[int, list[int]]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"serve {index} {n}\n")
        self.proc.stdin.flush()
        words = self.lines.get(timeout=timeout).split()
        if words[:2] != ["done", str(index)]:
            raise RuntimeError(f"loop server: unexpected {' '.join(words[:3])!r}")
        return int(words[2]), [int(w) for w in words[3:]]

    def close(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        stop_process(self.proc, grace=5)


def run(profile: Profile, workdir: Path, bar: tqdm[Any]) -> dict[str, Any]:
    names = list(RUNTIMES)
    per_round: dict[str, list[float]] = {name: [] for name in names}
    cycles: dict[str, list[float]] = {name: [] for name in names}
    logs = {name: workdir / f"loop-{name}.stderr" for name in names}
    with contextlib.ExitStack() as stack:
        server = LoopServer(len(names))
        stack.callback(server.close)
        procs = {}
        for index, name in enumerate(names):
            runtime, handler = RUNTIMES[name]
            log = stack.enter_context(open(logs[name], "wb"))
            procs[name] = start_runtime(runtime, handler, server.ports[index], log)
            stack.callback(stop_process, procs[name], 5)

        def batch(index: int, n: int) -> tuple[int, list[int]]:
            try:
                return server.batch(index, n)
            except queue.Empty:
                name = names[index]
                raise RuntimeError(
                    f"loop-only: {name} stalled (exit {procs[name].poll()}):\n{tail(logs[name])}"
                ) from None

        for index in range(len(names)):  # warm-up: imports done, pool threads created, caches filled
            batch(index, max(50, profile.loop_events // 10))
        for round_no in range(profile.loop_rounds):
            for index in rotated(range(len(names)), round_no):
                name = names[index]
                bar.set_description(f"loop-only {name}")
                total_ns, cycle_ns = batch(index, profile.loop_events)
                per_round[name].append(total_ns / profile.loop_events / 1000)
                cycles[name].extend(c / 1000 for c in cycle_ns)
                bar.update()
    result: dict[str, Any] = {
        "method": "loop_server.py serves N pre-made events per round; time from first event sent to the "
        "(N+1)-th /next, divided by N (µs per invocation); no emulator, no freezing",
        "events_per_round": profile.loop_events,
        "rounds": profile.loop_rounds,
        "commands": {name: runtime_command(*RUNTIMES[name]) for name in names},
        "runtimes": {},
    }
    for name in names:
        rounds = summarize(per_round[name])
        paired = [a / b for a, b in zip(per_round[name], per_round["awslambdaric"], strict=True)]
        result["runtimes"][name] = {
            "us_per_invocation": rounds,
            "ratio_to_awslambdaric": summarize(paired),  # per round, so that drift between rounds cancels
            "invocations_per_s": 1e6 / rounds["p50"],
            "cycle_us": summarize(cycles[name]),
            "per_round_us": per_round[name],
        }
    return result
