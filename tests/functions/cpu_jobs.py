"""Handlers with process jobs (executor="process"). Jobs are module-level functions: they travel pickled."""

import contextlib
import logging
import os
import signal
import socket
import threading
import time

from deferring import _path, _touch, _wait_for

import lambda_runtime

logger = logging.getLogger("cpu_jobs")


def crunch(event, name, n=200_000):
    total = sum(i * i for i in range(n))
    job = lambda_runtime.current_job()
    logger.info("crunched %s", name)
    _touch(_path(event, name), f"{os.getpid()} {job.request_id} {job.remaining_ms() > 0} {total > 0}")


def fail(message):
    raise ValueError(message)


def spin_forever(event, name):
    _touch(_path(event, name + ".started"), str(os.getpid()))
    try:
        while True:
            pass
    finally:
        _touch(_path(event, name + ".cleaned"))


def ignore_sigterm(event, name):
    _touch(_path(event, name + ".started"), str(os.getpid()))
    while True:
        with contextlib.suppress(BaseException):  # the point: a job that will not stop on SIGTERM
            time.sleep(3600)


def die(how):
    if how == "exit":
        os._exit(3)
    os.kill(os.getpid(), signal.SIGSEGV)


@lambda_runtime.on_job_error
def _record(job, error):
    directory = os.environ.get("HOOK_DIR")
    if directory:
        _touch(os.path.join(directory, "hook-" + job.name), f"{type(error).__name__} {error}")


def run(event, context):
    """event["jobs"]: a list of [function name, *args]; each deferred to a worker process."""
    for name, *args in event["jobs"]:
        context.defer(globals()[name], *args, executor="process", job_timeout=event.get("job_timeout"))
    return os.getpid()


def refused(event, context):
    """What cannot be sent to a process is refused at defer() with a TypeError."""
    sock = socket.socket()
    lock = threading.Lock()

    def closure():
        return event

    cases = {
        "lambda": lambda: context.defer(lambda: 1, executor="process"),
        "closure": lambda: context.defer(closure, executor="process"),
        "socket": lambda: context.defer(crunch, sock, executor="process"),
        "lock": lambda: context.defer(crunch, lock, executor="process"),
        "executor": lambda: context.defer(crunch, executor="fork"),
    }
    out = {}
    for case, attempt in cases.items():
        try:
            attempt()
            out[case] = None
        except (TypeError, ValueError) as error:
            out[case] = [type(error).__name__, str(error)]
    sock.close()
    return out


def pool_in_a_thread_job(event, context):
    """multiprocessing.Pool, the usual way, from a thread job: fails where there is no usable /dev/shm."""

    def try_pool():
        import multiprocessing

        try:
            with multiprocessing.Pool(2) as pool:
                result = str(pool.map(abs, [-1, -2]))
        except Exception as error:
            result = f"{type(error).__name__}: {error}"
        _touch(_path(event, "pool"), result)

    context.defer(try_pool)
    context.defer(crunch, event, "process_job", executor="process")
    return "answered"


def wait_then_crunch(event, gate, name):
    _wait_for(_path(event, gate))
    crunch(event, name)


def children(event, context):
    """The runtime's child processes now, before this invocation defers anything: its worker processes."""
    with open(f"/proc/{os.getpid()}/task/{os.getpid()}/children") as listing:
        pids = listing.read().split()
    return sorted(open(f"/proc/{pid}/cmdline").read().split("\0")[2] for pid in pids)
