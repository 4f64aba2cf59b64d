"""Process start-up: settings, logging, the handler, then the loop until the Runtime API goes away."""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections.abc import MutableMapping, Sequence
from typing import TYPE_CHECKING, NoReturn, TextIO

import requests

from lambda_runtime.api.client import RuntimeClient
from lambda_runtime.config import Settings
from lambda_runtime.environ import PythonLevelEnviron
from lambda_runtime.errors import ConfigError, RuntimeApiError, Terminated
from lambda_runtime.invocation.handler import Handler, load_handler
from lambda_runtime.invocation.loop import InvocationLoop
from lambda_runtime.invocation.payloads import error_report
from lambda_runtime.jobs.phase import JobRunner
from lambda_runtime.lifecycle.startup import before_first_event, log_gil_state, shutdown_budget_s
from lambda_runtime.logs.configure import configure_logging
from lambda_runtime.logs.records import log_failure, unbuffered_output
from lambda_runtime.logs.stdio import print_whole_lines
from lambda_runtime.serve.exits import API_GONE, Exit, Trigger, overrun
from lambda_runtime.threads import open_main_thread_signals

if TYPE_CHECKING:
    from tenacity import Retrying

logger = logging.getLogger("lambda_runtime")
TELEMETRY_FD_VARIABLE = "_LAMBDA_TELEMETRY_LOG_FD"


def main(argv: Sequence[str] | None = None, environ: MutableMapping[str, str] | None = None) -> int:
    """Run the runtime; returns the process exit status (it only returns when something is fatally wrong)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0].startswith("-"):  # a handler name never starts with "-"
        from lambda_runtime.usage import option  # --help, --version: never at a cold start

        return option(argv)
    environ = PythonLevelEnviron() if environ is None else environ
    open_main_thread_signals()  # a process started by one of our threads (threads.py) inherited them blocked
    # Lambda collects stdout through a pipe: every write must reach it before a freeze or a kill, and a log record
    # written by another thread must never split a line the function prints (stdio.py).
    unbuffered_output()
    print_whole_lines()
    try:
        settings = Settings.from_environ(environ, handler=argv[0] if argv else None)
    except ConfigError as error:
        print(
            f"lambda_runtime: configuration error: {error} (`python -m lambda_runtime --help` says what it reads)",
            file=sys.stderr,
        )
        return 2
    telemetry_fd = settings.telemetry_log_fd
    if telemetry_fd is not None:
        environ.pop(TELEMETRY_FD_VARIABLE, None)  # as awslambdaric: child processes must not write frames there
    usable_fd = telemetry_fd if telemetry_fd is not None and _is_open(telemetry_fd) else None
    configure_logging(settings.log_format, settings.log_level, _log_stream(), usable_fd)
    if usable_fd != telemetry_fd:
        logger.warning("%s=%s is not an open descriptor: logging to stdout", TELEMETRY_FD_VARIABLE, telemetry_fd)
    if settings.max_concurrency and settings.worker_processes > 1:  # process workers: supervisor.py
        return _supervise(settings, environ, usable_fd)
    client = RuntimeClient(settings.runtime_api, settings.post_timeout_s, lambda: _retry_policy(settings))
    try:
        handler = load_handler(settings.handler, settings.task_root)
    except BaseException as error:  # an import-time SystemExit is an init failure too
        return _report_init_error(client, error)
    if settings.handoff_key:  # hand-off envelopes are recognised before the handler sees them (handoff/receive.py)
        from lambda_runtime.handoff.receive import receiving

        handler = receiving(handler, settings)
    log_gil_state()
    # A Python handler that raises interrupts any blocking call of the main thread, the `/next` long poll included:
    # the socket read fails with EINTR and PEP 475 retries it only when the handler returns normally.
    signal.signal(signal.SIGTERM, _terminate)
    if settings.max_concurrency:  # Lambda Managed Instances: several invocations at once (serve/managed.py)
        return _serve_concurrently(settings, handler, environ, usable_fd)
    # The one job runner of this mode, and its worker processes: built here, once (the other modes build their own).
    jobs = JobRunner.from_settings(settings, telemetry_fd=usable_fd)
    leave = Exit(jobs, shutdown_budget_s(settings), lambda: _restart_in_place(settings, environ, usable_fd))
    jobs.escalate = lambda reason: leave.perform(overrun(reason))
    try:
        failed = before_first_event(settings, client, jobs)  # the shutdown extension, SnapStart
        if failed is not None:
            leave.perform(Trigger("a failed SnapStart phase", failed))
        loop = InvocationLoop(client, handler, settings, jobs, environ)
        if settings.pending_next_fd >= 0:  # this image replaced one that had already asked for the next event
            from lambda_runtime.serve.restart import PENDING_NEXT_FD, read_pending_next  # only after a restart in place

            environ.pop(PENDING_NEXT_FD, None)
            loop.run_once(read_pending_next(settings.pending_next_fd, settings.runtime_api))
        loop.run_forever()
    except (requests.RequestException, RuntimeApiError) as error:
        logger.critical("Runtime API at %s is unavailable, exiting: %s", settings.runtime_api, _one_line(error))
        leave.perform(API_GONE)
    except KeyboardInterrupt as stop:  # SIGTERM (Terminated), or Ctrl-C when run by hand: no traceback
        leave.perform(Trigger.from_signal(stop))
    return 0  # pragma: no cover - run_forever only ends by raising


def _serve_concurrently(
    settings: Settings, handler: Handler, environ: MutableMapping[str, str], telemetry_fd: int | None
) -> int:
    from lambda_runtime.serve.managed import ManagedInstance

    def new_client() -> RuntimeClient:
        return RuntimeClient(settings.runtime_api, settings.post_timeout_s, lambda: _retry_policy(settings))

    instance = ManagedInstance(settings, handler, new_client, settings.max_concurrency, environ, telemetry_fd)
    return instance.run()


def _supervise(settings: Settings, environ: MutableMapping[str, str], telemetry_fd: int | None) -> int:
    from lambda_runtime.serve.supervisor import Supervisor

    inherited = {**environ, TELEMETRY_FD_VARIABLE: str(telemetry_fd)} if telemetry_fd is not None else environ
    signal.signal(signal.SIGTERM, _terminate)
    try:
        return Supervisor(settings, inherited, (telemetry_fd,) if telemetry_fd is not None else ()).run()
    except Terminated:
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        return 130


def _restart_in_place(settings: Settings, environ: MutableMapping[str, str], telemetry_fd: int | None) -> NoReturn:
    from lambda_runtime.serve.restart import (
        restart_with_next_sent,  # imported by the rare restart, not at every cold start
    )

    # The new image logs where this one does: the descriptor's variable was taken out of `environ` at start.
    inherited = {**environ, TELEMETRY_FD_VARIABLE: str(telemetry_fd)} if telemetry_fd is not None else environ
    restart_with_next_sent(settings.runtime_api, inherited, () if telemetry_fd is None else (telemetry_fd,))


def _terminate(signum: int, frame: object) -> None:
    raise Terminated(time.monotonic())  # stamped: Lambda's budget runs from the signal, not from the handling


def _retry_policy(settings: Settings) -> Retrying:
    from lambda_runtime.api.retries import retry_policy  # imported on the first failed call, not at every cold start

    return retry_policy(settings.retry_attempts, settings.retry_max_delay_s)


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def _log_stream() -> TextIO:
    """Our own handle on stdout: a handler that closes sys.stdout must not silence or crash the runtime's logs."""
    try:
        return open(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", errors="backslashreplace", buffering=1)
    except (AttributeError, OSError, ValueError):  # no real descriptor behind sys.stdout (embedded, tests)
        return sys.stdout


def _report_init_error(client: RuntimeClient, error: BaseException) -> int:
    report = error_report(error)
    log_failure(report.fields)  # with its traceback, as awslambdaric logs it
    try:
        client.post_init_error(report.error_type, report.body)
    except RuntimeApiError as refused:
        if refused.status != 403:
            logger.critical("Could not report the init error to the Runtime API: %s", _one_line(refused))
        # 403: another worker process already reported its init error (Managed Instances): as awslambdaric's
        # lambda_runtime_client.py post_init_error, it is not an error of ours.
    except requests.RequestException as post_failure:
        logger.critical("Could not report the init error to the Runtime API: %s", _one_line(post_failure))
    return 1


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())
