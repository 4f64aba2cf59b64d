"""A batch's deadline arithmetic, in process, on an injected clock: each test sets the time, nothing sleeps."""

from __future__ import annotations

import logging
import threading

import pytest

from lambda_runtime.errors import DeferRejected
from lambda_runtime.jobs.batch import Batch, BatchPolicy
from lambda_runtime.jobs.workers import Workers
from tests.polling import wait_until

WAIT = 30.0


class Clock:
    """Stands still until the test moves it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_batch(clock: Clock, workers: int = 2, grace: float = 0.1, deadline_in: float = 100.0) -> Batch:
    policy = BatchPolicy(max_pending=10, cancel_grace_s=grace)
    return Batch(Workers(workers, max_abandoned=10), policy, "req", clock.now + deadline_in, clock)


def started(batch: Batch, count: int) -> None:
    # A job's start wakes no waiter unless the job has a timeout of its own (see the test below): look, don't wait.
    wait_until(
        lambda: sum(job.started_at is not None for job in batch.jobs) >= count,
        WAIT,
        what=f"{count} jobs to start",
        interval=0.001,
    )


def join_in_thread(batch: Batch) -> tuple[threading.Thread, list]:
    result: list = []
    thread = threading.Thread(target=lambda: result.append(batch.join()))
    thread.start()
    return thread, result


def test_the_overrun_warning_is_logged_once_however_often_join_wakes(clock, caplog):
    batch = make_batch(clock)
    hang, other = threading.Event(), threading.Event()
    overrunning = batch.defer(hang.wait, (WAIT,), {}, timeout=1.0, name="overrunning")
    batch.defer(other.wait, (WAIT,), {}, name="other")
    batch.release()
    started(batch, 2)
    clock.now += 5  # past the first job's own deadline and grace, long before the batch deadline
    with caplog.at_level(logging.WARNING, "lambda_runtime.deferred"):
        thread, result = join_in_thread(batch)
        assert overrunning.wait_cancelled(WAIT)
        other.set()  # wakes join again: the overdue job is still running, and must not be reported twice
        thread.join(WAIT)
    hang.set()
    (summary,) = result
    assert [r.getMessage() for r in caplog.records].count(
        "deferred job 'overrunning' overran its deadline after 5000 ms; cancellation flag set"
    ) == 1
    assert summary.counts["ok"] == 1 and summary.counts["timed_out"] == 1
    assert summary.still_running == [overrunning]


def test_a_job_cancelled_at_its_own_timeout_gets_the_grace_to_finish_and_counts_as_timed_out(clock):
    batch = make_batch(clock, grace=WAIT)
    cleaned_up = threading.Event()

    def cooperative() -> None:
        job = batch.jobs[0]
        job.wait_cancelled(WAIT)
        cleaned_up.set()  # its clean-up ends after join has seen the deadline: only the grace lets it finish

    job = batch.defer(cooperative, (), {}, timeout=1.0)
    batch.release()
    started(batch, 1)
    clock.now += 1.001
    summary = batch.join()
    assert cleaned_up.is_set()
    assert summary.still_running == [] and job.outcome == "timed_out"  # finished after its cancellation: not "ok"
    assert summary.counts["timed_out"] == 1 and summary.counts["ok"] == 0


def test_a_job_whose_deadline_passes_in_the_queue_is_never_started_and_never_run(clock):
    batch = make_batch(clock, workers=1)
    hold, ran = threading.Event(), threading.Event()
    holder = batch.defer(hold.wait, (WAIT,), {}, name="holder")
    queued = batch.defer(ran.set, (), {}, name="queued")
    batch.release()
    started(batch, 1)
    clock.now += 100  # the batch deadline
    summary = batch.join()
    assert (holder.outcome, queued.outcome) == ("pending", "not_started")
    assert summary.counts["not_started"] == 1 and summary.counts["timed_out"] == 1
    # The holder's thread was written off: the replacement worker takes later work; the queued job is gone.
    after = make_batch(clock, workers=1)
    after.workers = batch.workers
    later = threading.Event()
    after.defer(later.set, (), {})
    after.release()
    assert later.wait(WAIT)
    hold.set()
    assert not ran.is_set()


def test_timed_out_jobs_are_in_the_summary(clock):
    batch = make_batch(clock, workers=1)
    hold = threading.Event()
    batch.defer(hold.wait, (WAIT,), {})
    batch.release()
    started(batch, 1)
    clock.now += 100
    summary = batch.join()
    hold.set()
    assert summary.counts["timed_out"] == 1 and len(summary.still_running) == 1


def test_defer_after_join_is_rejected(clock):
    from lambda_runtime.errors import DeferRejected

    batch = make_batch(clock)
    batch.release()
    batch.join()
    with pytest.raises(DeferRejected, match="the invocation is over"):
        batch.defer(print, (), {})


def test_skipped_after_a_handler_error_when_so_configured(clock):
    batch = Batch(Workers(1, 0), BatchPolicy(run_on_error=False), "req", clock.now + 100, clock)
    ran = threading.Event()
    batch.defer(ran.set, (), {})
    batch.release(handler_failed=True)
    summary = batch.join()
    assert summary.counts["skipped"] == 1 and not ran.is_set()


def test_a_worker_that_frees_up_after_the_deadline_never_starts_the_queued_job(clock):
    # The worker takes the queued job before join() has looked at the clock: the job must not run all the same.
    batch = make_batch(clock, workers=1)
    hold, ran = threading.Event(), threading.Event()
    batch.defer(hold.wait, (WAIT,), {}, name="holder")
    queued = batch.defer(ran.set, (), {}, name="queued")
    batch.release()
    started(batch, 1)
    clock.now += 100  # the batch deadline passes while "queued" waits
    hold.set()
    with batch.changed:
        assert batch.changed.wait_for(lambda: queued.finished, WAIT)
    assert queued.outcome == "not_started" and not ran.is_set()
    assert batch.join().counts["not_started"] == 1


def test_stop_cancels_running_jobs_waits_for_them_and_withdraws_queued_ones(clock):
    batch = make_batch(clock, workers=1)
    polite = batch.defer(lambda: polite.wait_cancelled(WAIT), (), {}, name="polite")
    queued = batch.defer(lambda: None, (), {}, name="queued")  # no free worker: still queued at the stop
    batch.release()
    started(batch, 1)
    cut = batch.stop(clock.now + WAIT)  # returns as soon as the running job stopped (the clock stands still)
    assert polite.cancelled and polite.finished
    assert [job.name for job in cut] == ["queued"] and queued.outcome == "not_started"
    with pytest.raises(Exception, match="over"):
        batch.defer(lambda: None, (), {}, name="late")


def test_stop_returns_a_job_that_ignores_its_cancel_flag_at_the_end_of_the_budget(clock):
    batch = make_batch(clock)
    release = threading.Event()
    stubborn = batch.defer(release.wait, (WAIT,), {}, name="stubborn")
    batch.release()
    started(batch, 1)
    assert batch.stop(clock.now) == [stubborn] and stubborn.cancelled  # the budget is spent: no wait
    release.set()


def _fill(workers: Workers, clock: Clock) -> threading.Event:
    """Another invocation's jobs: one holds the only thread until the event is set, one waits (bound 1: full)."""
    other = Batch(workers, BatchPolicy(), "other", clock.now + 100, clock)
    hold = threading.Event()
    other.defer(hold.wait, (WAIT,), {}, name="holder")
    other.defer(print, (), {}, name="waiting")
    other.release()
    started(other, 1)
    return hold


def test_defer_is_rejected_while_other_invocations_fill_the_shared_queue(clock):
    workers = Workers(1, max_abandoned=10, max_queued=1)
    hold = _fill(workers, clock)
    batch = Batch(workers, BatchPolicy(), "req", clock.now + 100, clock)
    with pytest.raises(DeferRejected, match="LAMBDA_RUNTIME_DEFER_MAX_QUEUED=1"):
        batch.defer(print, (), {}, name="late")
    hold.set()
    batch.release()
    assert batch.join().rejected == 1


def test_a_held_job_released_into_a_full_queue_never_starts_and_says_why(clock, caplog):
    workers = Workers(1, max_abandoned=10, max_queued=1)
    batch = Batch(workers, BatchPolicy(), "req", clock.now + 100, clock)
    ran = threading.Event()
    held = batch.defer(ran.set, (), {}, name="held")  # taken: the queue was empty then
    hold = _fill(workers, clock)  # other invocations fill it before this response is posted
    with caplog.at_level(logging.WARNING, logger="lambda_runtime.deferred"):
        batch.release()
    assert held.outcome == "not_started" and not ran.is_set()
    assert "'held' never started: 1 jobs of this and other invocations already wait" in caplog.text
    hold.set()
    assert batch.join().counts["not_started"] == 1


class CountingCondition(threading.Condition):
    """The batch's condition, counting the wake-ups it sends to whoever waits on it (join(), in the loop thread)."""

    def __init__(self) -> None:
        super().__init__()
        self.notified = 0

    def notify_all(self) -> None:
        self.notified += 1
        super().notify_all()


@pytest.mark.parametrize(("timeout", "wake_ups"), [(None, 0), (1.0, 1)])
def test_a_job_start_wakes_join_only_when_the_job_brings_an_earlier_deadline(clock, timeout, wake_ups):
    # join() waits for the batch deadline; a job without a timeout of its own changes nothing it watches. Waking it
    # anyway made a CPU-bound job hand the GIL to the loop thread and back: milliseconds billed on a busy host.
    batch = make_batch(clock)
    batch.changed = counting = CountingCondition()
    running, finish = threading.Event(), threading.Event()

    def job() -> None:
        running.set()
        finish.wait(WAIT)

    batch.defer(job, (), {}, timeout=timeout)
    batch.release()
    assert running.wait(WAIT)  # started: any wake-up for the start was sent before the job ran
    assert counting.notified == wake_ups
    finish.set()
    summary = batch.join()
    assert summary.counts["ok"] == 1 and counting.notified == wake_ups + 1  # the end always wakes join()


class HeldProcesses:
    """Stands in for the process executor: its one worker runs the job until the test lets it end (as a worker
    being terminated at the job's deadline does)."""

    def __init__(self) -> None:
        self.dispatchers = Workers(1, max_abandoned=1)
        self.release = threading.Event()

    def call(self, job) -> str:
        self.release.wait(WAIT)
        return "timed_out"


def test_a_process_job_still_running_at_the_deadline_is_timed_out_but_leaves_no_abandoned_thread(clock):
    processes = HeldProcesses()
    policy = BatchPolicy(max_pending=10, cancel_grace_s=0.1)
    batch = Batch(Workers(1, max_abandoned=10), policy, "req", clock.now + 100, clock, processes)
    hold = threading.Event()
    thread_job = batch.defer(hold.wait, (WAIT,), {}, name="thread job")
    batch.defer(print, (), {}, name="process job", executor="process")
    batch.release()
    started(batch, 2)
    clock.now += 100
    summary = batch.join()
    processes.release.set()
    hold.set()
    # Its worker process is terminated and replaced: only the thread job's thread is left running, abandoned.
    assert summary.counts["timed_out"] == 2 and summary.still_running == [thread_job]
