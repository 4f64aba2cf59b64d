"""SIGTERM and SIGINT are taken by the runtime's main thread, whichever threads exist when they come.

Python runs signal handlers on the main thread only; a process-directed signal taken by any other thread leaves the
main thread asleep in its `/next` read, and the runtime never shuts down. So every thread the runtime starts blocks
both signals (the kernel then must deliver them to the main thread), and every process it starts opens them again.
"""

from __future__ import annotations

import ast
import os
import signal
from pathlib import Path

import psutil
import pytest

from tests.test_deferred import wait_for_file

PACKAGE = Path(__file__).parent.parent / "lambda_runtime"
EXTENSION_ON = {"LAMBDA_RUNTIME_SHUTDOWN_EXTENSION": "true"}
BLOCKED = {signal.SIGTERM, signal.SIGINT}

# Each mode of the runtime with the threads it starts: how to serve it, and how many threads besides the main one
# the runtime process (or, with worker processes, each of them) has at least while its jobs run.
MODES = {
    # the shutdown extension, a thread job, a process job's dispatcher thread, the asyncio loop
    "one invocation at a time": ({**EXTENSION_ON}, {}, 4),
    # two workers, two drainers, a thread job, a dispatcher, the asyncio loop
    "managed instances threads": ({}, {"max_concurrency": 2}, 6),
    # the supervisor's children are runtimes with the same threads (one worker each)
    "managed instances processes": ({"LAMBDA_RUNTIME_WORKER_PROCESSES": "2"}, {"max_concurrency": 2}, 0),
}


def blocked_signals(pid: int, tid: int) -> set[int]:
    """The signals thread `tid` of process `pid` blocks, from its SigBlk mask in /proc."""
    for line in Path(f"/proc/{pid}/task/{tid}/status").read_text().splitlines():
        if line.startswith("SigBlk:"):
            mask = int(line.split()[1], 16)
            return {number for number in range(1, 65) if mask & (1 << (number - 1))}
    raise AssertionError(f"no SigBlk line for thread {tid} of {pid}")


def start(serve, tmp_path: Path, mode: str):
    env, options, _ = MODES[mode]
    emu = serve(
        "signal_kinds.handler",
        env={"SIGNALS_DIR": str(tmp_path), **env},
        shutdown_budget=30.0,
        kill_grace=30.0,
        timeout=60,
        **options,
    )
    return emu


@pytest.mark.parametrize("mode", MODES)
def test_only_the_main_thread_of_each_runtime_process_takes_sigterm_and_sigint(serve, tmp_path, mode):
    emu = start(serve, tmp_path, mode)
    assert emu.invoke({"jobs": ["thread", "process"]}).json() == "answered"
    wait_for_file(tmp_path / "thread.started")
    wait_for_file(tmp_path / "process.started")
    root = psutil.Process(emu.runtime_pid)
    processes = [root, *root.children(recursive=True)]
    job_workers = [p for p in processes if "lambda_runtime.jobs.worker" in p.cmdline()]
    runtimes = [p for p in processes if p not in job_workers]
    assert job_workers, "the process job runs in a worker process"
    checked = 0
    for process in processes:
        assert not blocked_signals(process.pid, process.pid) & BLOCKED, f"{process.cmdline()} cannot take them"
        for tid in (thread.id for thread in process.threads() if thread.id != process.pid):
            assert blocked_signals(process.pid, tid) >= BLOCKED, f"thread {tid} of {process.cmdline()} takes them"
            checked += 1
    _, _, least = MODES[mode]
    serving = [p for p in runtimes if p.num_threads() > 1]
    assert serving and all(p.num_threads() - 1 >= least for p in serving), [p.num_threads() for p in serving]
    assert checked >= least
    (tmp_path / "release").touch()
    emu.wait_for_records(1)


ROUNDS = 6


@pytest.mark.parametrize("mode", MODES)
def test_sigterm_after_a_thaw_reaches_the_shutdown_every_time(serve, tmp_path, mode):
    """The emulator thaws a frozen runtime (SIGCONT) and sends SIGTERM at once, as Lambda does at shutdown: the
    moment the kernel is most likely to hand the signal to a thread other than the main one."""
    for round_ in range(ROUNDS):
        marks = tmp_path / str(round_)
        marks.mkdir()
        emu = start(serve, marks, mode)
        (marks / "release").touch()  # the jobs end at once: the runtime goes back to /next (frozen, if it freezes)
        assert emu.invoke({"jobs": ["thread", "process"]}).json() == "answered"
        wait_for_file(marks / "thread.started")
        wait_for_file(marks / "process.started")
        emu.wait_for_records(1)
        emu.stop()  # a runtime whose main thread slept on would be SIGKILLed at the 30 s budget
        assert emu.server.env.last_returncode == 128 + signal.SIGTERM, f"round {round_}: {emu.runtime_output()}"
        if mode == "one invocation at a time":
            assert "Shutting down (SIGTERM)" in emu.runtime_output()


#: Ways to start a thread other than threads.start_thread.
THREAD_STARTERS = {"Thread", "Timer", "ThreadPoolExecutor", "start_new_thread", "start_new", "to_thread"}


def test_every_module_of_the_runtime_starts_its_threads_with_start_thread():
    """The emulator is not part of the runtime process and is left out; threads.py is the one place allowed."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "threads.py" or "emulator" in path.relative_to(PACKAGE).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            called = node.func if isinstance(node, ast.Call) else None
            name = getattr(called, "attr", None) or getattr(called, "id", None)
            bases = [getattr(base, "attr", None) or getattr(base, "id", None) for base in getattr(node, "bases", [])]
            if name in THREAD_STARTERS or THREAD_STARTERS.intersection(bases):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert offenders == []


def test_start_thread_blocks_the_signals_in_the_new_thread_and_leaves_the_callers_mask_alone():
    from lambda_runtime.threads import start_thread

    before = signal.pthread_sigmask(signal.SIG_BLOCK, set())
    seen = []
    start_thread(lambda: seen.append(signal.pthread_sigmask(signal.SIG_BLOCK, set())), name="probe").join(10)
    assert seen[0] >= BLOCKED
    assert signal.pthread_sigmask(signal.SIG_BLOCK, set()) == before


def test_a_child_forked_in_one_of_the_runtimes_threads_takes_the_signals_again():
    """Its only thread is its main thread (multiprocessing's "fork" workers are such children)."""
    from lambda_runtime.threads import start_thread

    read, write = os.pipe()
    forked = []

    def fork() -> None:
        pid = os.fork()
        if pid == 0:
            blocked = signal.pthread_sigmask(signal.SIG_BLOCK, set())
            os.write(write, b"blocked" if BLOCKED & blocked else b"open")
            os._exit(0)
        forked.append(pid)

    start_thread(fork, name="forking").join(10)
    os.close(write)
    with os.fdopen(read, "rb") as answer:
        assert answer.read() == b"open"
    os.waitpid(forked[0], 0)
