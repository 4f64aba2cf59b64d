"""``lambda-runtime serve HANDLER``: run the emulator in the foreground.

The function's log (the runtime's output and the platform's START / END / REPORT lines) goes to stdout, each
record whole (a traceback's lines one under the other, console.py); the emulator's own log (one line per
invocation: request id, status, duration) goes to stderr. Colour only on a terminal, and not with NO_COLOR.

SIGINT / SIGTERM stop the runtimes (SIGCONT and SIGTERM to each process group, SIGKILL after the grace period)
and the server.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import os
import shlex
import signal
import sys
from collections.abc import Mapping, Sequence
from importlib import metadata
from typing import NoReturn

from lambda_runtime.emulator.config import DEFAULT_MAX_EVENT_AGE, DEFAULT_RETRY_DELAYS, EmulatorConfig
from lambda_runtime.emulator.console import EmulatorLogFormatter, FunctionLogFormatter, wants_colour
from lambda_runtime.emulator.durable import DurableUnavailable
from lambda_runtime.emulator.limits import ConfigError
from lambda_runtime.emulator.peers import parse_peer
from lambda_runtime.emulator.server import EmulatorServer

logger = logging.getLogger("lambda_runtime.emulator")


def _delays(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of seconds: {text}") from None


class _Parser(argparse.ArgumentParser):
    """Errors in one line, with a pointer to ``--help`` (the serve usage alone is a screenful)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _serve_error(message: str) -> int:
    """A setting the parser let through and ``EmulatorConfig`` refused: one line, as the parser's own errors."""
    print(f"lambda-runtime serve: error: {message} (see lambda-runtime serve --help)", file=sys.stderr)
    return 2


def _option(setting: str) -> str:
    """The command-line option of an ``EmulatorConfig`` setting: ``memory_size`` → ``--memory-size``."""
    return "--" + setting.replace("_", "-")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lambda-runtime", description="Local AWS Lambda emulator.")
    # The installed distribution's version (lambda_runtime.__version__ at build time): the emulator imports nothing
    # from the runtime it emulates Lambda for.
    parser.add_argument(
        "-V", "--version", action="version", version=f"lambda-runtime {metadata.version('lambda-runtime')}"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    serve = commands.add_parser(
        "serve",
        help="serve the Invoke API and the Runtime API, running the runtime as a child process",
        description="Serve the Lambda Invoke API (POST /2015-03-31/functions/NAME/invocations), "
        "InvokeWithResponseStream (POST /2021-11-15/functions/NAME/response-streaming-invocations), a function URL "
        "(any request to /lambda-url/PATH) and the Runtime API for a runtime child process started in the working "
        "directory (the task root).",
    )
    serve.add_argument("handler", metavar="HANDLER", help="the handler, e.g. app.handler (sets _HANDLER)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    serve.add_argument("--port", type=int, default=9000, help="port to bind, 0 for any (default: %(default)s)")
    serve.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="function timeout in seconds, 1 to 900 as on Lambda (default: $AWS_LAMBDA_FUNCTION_TIMEOUT, else 3)",
    )
    serve.add_argument("--function-name", default="function", help="function name (default: %(default)s)")
    serve.add_argument(
        "--memory-size", type=int, default=128, help="memory size in MB, 128 to 10,240 as on Lambda (default: 128)"
    )
    serve.add_argument(
        "--runtime-command",
        help='command that starts the runtime (default: "python -m lambda_runtime" with this Python)',
    )
    serve.add_argument("--task-root", default=None, help="task root (default: the working directory)")
    serve.add_argument("--report-file", help="append one JSON line per invocation record to this file")
    serve.add_argument("--test-hooks", action="store_true", help="honour X-Emulator-* request headers (for tests only)")
    # On demand by default, as Lambda: the first invocation pays the cold start (its REPORT has Init Duration).
    starts = serve.add_mutually_exclusive_group()
    starts.add_argument(
        "--prestart",
        dest="prestart",
        action="store_true",
        help="start the first runtime at once, before any invocation: the first answer then hides the cold start "
        "(its REPORT still has Init Duration)",
    )
    starts.add_argument(
        "--no-prestart",
        dest="prestart",
        action="store_false",
        help="start a runtime at the first invocation that needs it, as Lambda does (the default)",
    )
    serve.add_argument(
        "--init-timeout",
        type=float,
        default=10.0,
        help="seconds the runtime may take to reach its first /next (default: %(default)s)",
    )
    serve.add_argument(
        "--no-freeze",
        dest="freeze",
        action="store_false",
        help="do not SIGSTOP the runtime between invocations (Lambda freezes it)",
    )
    serve.add_argument(
        "--kill-grace",
        type=float,
        default=2.0,
        help="seconds between SIGTERM and SIGKILL when stopping the runtime (default: %(default)s)",
    )
    serve.add_argument(
        "--snap-start",
        action="store_true",
        help="SnapStart: AWS_LAMBDA_INITIALIZATION_TYPE=snap-start; /runtime/restore/next pauses the runtime (the "
        "snapshot) and continues it (the restore); records get restore_ms",
    )
    serve.add_argument(
        "--restore-delay",
        type=float,
        default=0.0,
        help="with --snap-start: seconds the runtime stays paused between snapshot and restore (default: %(default)s)",
    )
    serve.add_argument(
        "--concurrency",
        type=int,
        default=10,
        help="reserved concurrency: most execution environments (runtime processes) at once; an invocation that "
        "finds none idle starts one (a cold start), beyond this it gets 429 (default: %(default)s)",
    )
    serve.add_argument(
        "--max-concurrency",
        type=int,
        default=0,
        metavar="N",
        help="Lambda Managed Instances mode: one environment serves up to N (1 to 1,600) invocations at once (sets "
        "AWS_LAMBDA_MAX_CONCURRENCY), is never frozen, a timeout fails the invocation without killing it; "
        "beyond N in flight, 429 (default: off)",
    )
    serve.add_argument(
        "--queue-size",
        type=int,
        default=0,
        help="queueing mode (not Lambda's): most events waiting for a busy environment instead of a 429 "
        "(default: %(default)s, none)",
    )
    serve.add_argument(
        "--idle-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="reclaim (stop) an environment idle for this long (default: never)",
    )
    serve.add_argument(
        "--tenant-isolation",
        action="store_true",
        help="tenant isolation mode: each invocation needs a TenantId (X-Amz-Tenant-Id), which reaches the runtime "
        "as Lambda-Runtime-Aws-Tenant-Id; an environment serves one tenant only",
    )
    serve.add_argument(
        "--keep-records",
        type=int,
        default=10_000,
        help="invocation records kept in memory, the latest (the --report-file has all) (default: %(default)s)",
    )
    serve.add_argument(
        "--async-queue-size",
        type=int,
        default=100_000,
        help="most Event invocations waiting in the internal queue; beyond it 429 (default: %(default)s)",
    )
    serve.add_argument(
        "--unprocessed-file",
        metavar="PATH",
        help="where Event invocations still queued at shutdown are written when there is no --on-failure file "
        "(default: lambda-emulator-unprocessed-PID.jsonl in the temporary directory)",
    )
    serve.add_argument(
        "--max-retry-attempts",
        type=int,
        default=2,
        help="retries of a failed Event invocation, 0 to 2 as on Lambda (default: 2)",
    )
    serve.add_argument(
        "--retry-delays",
        type=_delays,
        default=DEFAULT_RETRY_DELAYS,
        metavar="SECONDS,...",
        help="seconds before each retry of an Event invocation (default: 60,120)",
    )
    serve.add_argument(
        "--max-event-age",
        type=float,
        default=DEFAULT_MAX_EVENT_AGE,
        help="seconds an Event may wait before it is dropped, at most 21600 (6 h) as on Lambda (default: 21600)",
    )
    serve.add_argument("--on-failure", metavar="PATH", help="append failed Event invocation records to this file")
    serve.add_argument("--on-success", metavar="PATH", help="append successful Event invocation records to this file")
    serve.add_argument(
        "--client-timeout",
        type=float,
        default=60.0,
        help="seconds a caller may take to send its request head, to send its body and to read its answer; then "
        "its connection is closed (default: %(default)s)",
    )
    serve.add_argument(
        "--peer",
        action="append",
        type=_peer,
        default=[],
        metavar="NAME=URL",
        help="another function, served by the emulator at URL: invocations of NAME are forwarded there (repeatable)",
    )
    serve.add_argument(
        "--durable",
        action="store_true",
        help="durable functions: run AWS's local durable execution service beside the emulator (the [durable] "
        "extra); an Invoke starts a durable execution, the runtime checkpoints here",
    )
    serve.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="emulator log level"
    )
    return parser


def _peer(raw: str) -> tuple[str, str]:
    try:
        return parse_peer(raw)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def configure_logging(level: str, environ: Mapping[str, str]) -> None:
    """Emulator log → stderr with time and level; the function's log → stdout, each record whole (console.py)."""
    own = logging.StreamHandler(sys.stderr)
    own.setFormatter(EmulatorLogFormatter(wants_colour(sys.stderr, environ)))
    emulator_logger = logging.getLogger("lambda_runtime.emulator")
    emulator_logger.handlers[:] = [own]
    emulator_logger.setLevel(level)
    emulator_logger.propagate = False
    output = logging.StreamHandler(sys.stdout)
    output.setFormatter(FunctionLogFormatter(wants_colour(sys.stdout, environ)))
    runtime_logger = logging.getLogger("lambda_runtime.emulator.runtime")
    runtime_logger.handlers[:] = [output]
    runtime_logger.setLevel(logging.INFO)
    runtime_logger.propagate = False
    logging.getLogger("aiohttp").setLevel(logging.WARNING)


async def serve(config: EmulatorConfig) -> None:
    """Run until SIGINT or SIGTERM."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    server = EmulatorServer(config)
    await server.start()
    try:
        await stop.wait()
        logger.info("stopping")
    finally:
        await server.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    environ = os.environ if environ is None else environ
    timeout_variable = None
    if args.timeout is None:
        # Like SAM and the upstream emulator: the function's configured timeout may come from the environment.
        timeout_variable = "AWS_LAMBDA_FUNCTION_TIMEOUT"
        raw = environ.get(timeout_variable, "3")
        try:
            args.timeout = float(raw)
        except ValueError:
            return _serve_error(f"{timeout_variable}={raw!r} is invalid: not a number of seconds")
    try:
        config = EmulatorConfig(
            handler=args.handler,
            task_root=args.task_root or os.getcwd(),
            timeout=args.timeout,
            runtime_command=shlex.split(args.runtime_command) if args.runtime_command else None,
            function_name=args.function_name,
            memory_size=args.memory_size,
            host=args.host,
            port=args.port,
            report_file=args.report_file,
            test_hooks=args.test_hooks,
            prestart=args.prestart,
            freeze=args.freeze,
            init_timeout=args.init_timeout,
            kill_grace=args.kill_grace,
            snap_start=args.snap_start,
            restore_delay=args.restore_delay,
            concurrency=args.concurrency,
            max_concurrency=args.max_concurrency,
            queue_size=args.queue_size,
            max_retry_attempts=args.max_retry_attempts,
            retry_delays=args.retry_delays,
            max_event_age=args.max_event_age,
            on_failure=args.on_failure,
            on_success=args.on_success,
            idle_timeout=args.idle_timeout,
            tenant_isolation=args.tenant_isolation,
            keep_records=args.keep_records,
            async_queue_size=args.async_queue_size,
            unprocessed_file=args.unprocessed_file,
            client_timeout=args.client_timeout,
            peers=tuple(args.peer),
            durable=args.durable,
        )
    except ConfigError as e:  # every range is checked there, once, for the CLI and Emulator(...) alike
        if e.setting == "timeout" and timeout_variable is not None:
            return _serve_error(f"{timeout_variable}={environ[timeout_variable]!r} is invalid: {e.reason}")
        return _serve_error(f"{'HANDLER' if e.setting == 'handler' else 'argument ' + _option(e.setting)}: {e.reason}")
    configure_logging(args.log_level, environ)  # only once the settings are good: a refusal is one line
    try:
        asyncio.run(serve(config))
    except DurableUnavailable as e:
        print(f"lambda-runtime: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            print(
                f"lambda-runtime: error: port {args.port} on {args.host} is already in use (another emulator?): "
                f"pass --port 0 to take any free port (the log says which), or another --port",
                file=sys.stderr,
            )
            return 1
        logger.error("%s", e)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
