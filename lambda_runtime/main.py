"""Process start-up: settings, logging, the handler, then the loop until the Runtime API goes away."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import MutableMapping, Sequence
from typing import TYPE_CHECKING, TextIO

import requests

from lambda_runtime.client import RuntimeClient
from lambda_runtime.config import Settings
from lambda_runtime.deferred import JobRunner
from lambda_runtime.environ import PythonLevelEnviron
from lambda_runtime.errors import ConfigError, RuntimeApiError
from lambda_runtime.handler import load_handler
from lambda_runtime.logs import configure_logging, log_failure
from lambda_runtime.loop import InvocationLoop
from lambda_runtime.payloads import error_report

if TYPE_CHECKING:
    from tenacity import Retrying

logger = logging.getLogger("lambda_runtime")
TELEMETRY_FD_VARIABLE = "_LAMBDA_TELEMETRY_LOG_FD"


def main(argv: Sequence[str] | None = None, environ: MutableMapping[str, str] | None = None) -> int:
    """Run the runtime; returns the process exit status (it only returns when something is fatally wrong)."""
    argv = sys.argv[1:] if argv is None else argv
    environ = PythonLevelEnviron() if environ is None else environ
    # Lambda collects stdout through a pipe; line buffering makes every print() reach the log before a freeze.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(line_buffering=True)
    try:
        settings = Settings.from_environ(environ, handler=argv[0] if argv else None)
    except ConfigError as error:
        print(f"lambda_runtime: configuration error: {error}", file=sys.stderr)
        return 2
    telemetry_fd = settings.telemetry_log_fd
    if telemetry_fd is not None:
        environ.pop(TELEMETRY_FD_VARIABLE, None)  # as awslambdaric: child processes must not write frames there
    usable_fd = telemetry_fd if telemetry_fd is not None and _is_open(telemetry_fd) else None
    configure_logging(settings.log_format, settings.log_level, _log_stream(), usable_fd)
    if usable_fd != telemetry_fd:
        logger.warning("%s=%s is not an open descriptor: logging to stdout", TELEMETRY_FD_VARIABLE, telemetry_fd)
    client = RuntimeClient(settings.runtime_api, settings.post_timeout_s, lambda: _retry_policy(settings))
    try:
        handler = load_handler(settings.handler, settings.task_root)
    except BaseException as error:  # an import-time SystemExit is an init failure too
        return _report_init_error(client, error)
    jobs = JobRunner(
        settings.defer_workers,
        settings.defer_max_pending,
        settings.defer_margin_ms,
        settings.defer_when_full,
        settings.defer_on_error,
    )
    try:
        InvocationLoop(client, handler, settings, jobs, environ).run_forever()
    except (requests.RequestException, RuntimeApiError) as error:
        logger.critical("Runtime API at %s is unavailable, exiting: %s", settings.runtime_api, _one_line(error))
        return 1
    except KeyboardInterrupt:  # Ctrl-C while waiting for an event, when run by hand: no traceback
        return 130
    return 0  # pragma: no cover - run_forever only ends by raising


def _retry_policy(settings: Settings) -> Retrying:
    from lambda_runtime.retries import retry_policy  # imported on the first failed call, not at every cold start

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
    except (requests.RequestException, RuntimeApiError) as post_failure:
        logger.critical("Could not report the init error to the Runtime API: %s", _one_line(post_failure))
    return 1


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())
