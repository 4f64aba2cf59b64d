"""The worker threads: bounded, reused, and a thread lost to an overrunning job is replaced at once."""

from __future__ import annotations

import threading
import time

from lambda_runtime.jobs.job import Job
from lambda_runtime.jobs.workers import Workers
from tests.polling import wait_until

WAIT = 30.0


def job(name: str = "job") -> Job:
    return Job(print, (), {}, request_id="req", deadline=time.monotonic() + 60, name=name)


def test_threads_are_reused_bounded_and_daemons():
    workers = Workers(3, max_abandoned=0)
    names: set[str] = set()
    daemons: set[bool] = set()
    done = threading.Semaphore(0)

    def task() -> None:
        names.add(threading.current_thread().name)
        daemons.add(threading.current_thread().daemon)
        done.release()

    for _ in range(4):
        for _ in range(5):
            workers.submit(job(), task)
        for _ in range(5):
            assert done.acquire(timeout=WAIT)
    assert 1 <= len(names) <= 3
    assert daemons == {True}  # interpreter exit never waits for a job that hangs


def test_a_written_off_thread_is_replaced_and_ends_with_its_job():
    workers = Workers(1, max_abandoned=1)
    hang, hung_started, later_ran = threading.Event(), threading.Event(), threading.Event()
    stuck = job("stuck")
    workers.submit(stuck, lambda: (hung_started.set(), hang.wait(WAIT)))
    assert hung_started.wait(WAIT)
    workers.submit(job("later"), later_ran.set)
    assert not later_ran.wait(0.05)  # the only worker is busy: the later job waits ...
    workers.write_off(stuck)
    assert later_ran.wait(WAIT)  # ... until the stuck one is written off
    assert workers.abandoned() == [stuck] and not workers.over_bound
    before = threading.active_count()
    hang.set()
    wait_until(lambda: not workers.abandoned(), WAIT, what="the written-off job to end")
    # the written-off thread ended instead of rejoining the pool
    wait_until(lambda: threading.active_count() < before, WAIT, what="the written-off thread to end")


def test_past_the_bound_of_abandoned_threads():
    workers = Workers(2, max_abandoned=1)
    hang = threading.Event()
    stuck = [job(f"stuck{i}") for i in range(2)]
    running = threading.Semaphore(0)
    for each in stuck:
        workers.submit(each, lambda: (running.release(), hang.wait(WAIT)))
    for _ in stuck:
        assert running.acquire(timeout=WAIT)
    workers.write_off(stuck[0])
    assert not workers.over_bound
    workers.write_off(stuck[1])
    workers.write_off(stuck[1])  # twice is once
    assert workers.over_bound and sorted(j.name for j in workers.abandoned()) == ["stuck0", "stuck1"]
    hang.set()


def test_withdraw_takes_only_queued_jobs():
    workers = Workers(1, max_abandoned=0)
    hold, started = threading.Event(), threading.Event()
    first, second, third = job("first"), job("second"), job("third")
    workers.submit(first, lambda: (started.set(), hold.wait(WAIT)))
    assert started.wait(WAIT)
    workers.submit(second, print)
    workers.submit(third, print)
    assert workers.withdraw([first, second]) == [second]
    hold.set()


def test_jobs_waiting_for_a_thread_are_bounded_and_an_idle_thread_takes_one_at_once():
    workers = Workers(1, max_abandoned=0, max_queued=2)
    hold, held = threading.Event(), threading.Event()
    assert workers.submit(job("holder"), lambda: (held.set(), hold.wait(WAIT)))
    assert held.wait(WAIT)  # the only thread is busy from now on
    assert workers.submit(job("a"), print) and workers.submit(job("b"), print)
    assert workers.waiting() == 2 and "2 jobs" in workers.full_reason()
    assert not workers.submit(job("c"), print)  # refused, and nothing queued
    assert workers.waiting() == 2
    hold.set()
    unbounded = Workers(1, max_abandoned=0)
    assert all(unbounded.submit(job(), print) for _ in range(100)) and unbounded.full_reason() == ""
