"""The command line's only options, `--help` and `--version`: everything else comes from Lambda's environment."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from lambda_runtime import __version__

USAGE = "usage: python -m lambda_runtime [-h] [-V] [HANDLER]"
HELP = f"""{USAGE}

lambda_runtime {__version__}: a Python custom runtime for AWS Lambda that answers the caller first and runs the jobs
a handler deferred with context.defer() after the response, before it asks for the next event.

You do not start it yourself: Lambda does, through `bootstrap` (a custom runtime, or AWS_LAMBDA_EXEC_WRAPPER on a
managed Python runtime), and so does the local emulator, `lambda-runtime serve HANDLER`. It talks to the Lambda
Runtime API at $AWS_LAMBDA_RUNTIME_API and serves events until that goes away.

arguments:
  HANDLER      module.function to call, e.g. app.handler (default: $_HANDLER)
  -h, --help   show this help and exit
  -V, --version
               print the version and exit

environment (read once at start; a bad value stops the runtime with an error naming the variable):
  set by Lambda:
    AWS_LAMBDA_RUNTIME_API            host:port of the Runtime API (required)
    _HANDLER                          module.function, when no HANDLER argument is given
    LAMBDA_TASK_ROOT                  where the handler's module is imported from (default: the working directory)
    AWS_LAMBDA_INITIALIZATION_TYPE    snap-start: run the SnapStart hooks and /restore/next before the first event
    AWS_LAMBDA_LOG_FORMAT             Text (default) or JSON (the default under AWS_LAMBDA_MAX_CONCURRENCY)
    AWS_LAMBDA_MAX_CONCURRENCY        Lambda Managed Instances: serve this many invocations at once, one thread each
    AWS_LAMBDA_LOG_LEVEL, LOG_LEVEL   log level (default: root logger at WARNING, the runtime's own lines at INFO)
    AWS_LAMBDA_FUNCTION_NAME, AWS_LAMBDA_FUNCTION_VERSION, AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    AWS_LAMBDA_LOG_GROUP_NAME, AWS_LAMBDA_LOG_STREAM_NAME
                                      the context's attributes
  this runtime's own:
    LAMBDA_RUNTIME_WORKER_PROCESSES   with AWS_LAMBDA_MAX_CONCURRENCY: processes sharing the slots, for CPU-bound
                                      handlers (default: 1, threads only)
    LAMBDA_RUNTIME_DEFER_WORKERS      threads running deferred jobs (default: 4)
    LAMBDA_RUNTIME_DEFER_MAX_PENDING  jobs one invocation may defer (default: 64)
    LAMBDA_RUNTIME_DEFER_MAX_QUEUED   jobs of all invocations waiting for a free worker (default: 1024)
    LAMBDA_RUNTIME_DEFER_WHEN_FULL    raise (default) or inline, past either bound
    LAMBDA_RUNTIME_DEFER_MARGIN_MS    jobs end this long before the invocation's deadline (default: 100)
    LAMBDA_RUNTIME_DEFER_OVERRUN      abandon (default) or exit (restart in place), for a job still running at
                                      its deadline
    LAMBDA_RUNTIME_DEFER_MAX_ABANDONED  hung jobs' threads allowed at once before a restart in place (default: 8)
    LAMBDA_RUNTIME_DEFER_PROCESSES    worker processes for executor="process" jobs (default: memory / 1769 MB)
    LAMBDA_RUNTIME_DEFER_PROCESSES_AT_INIT  start them at init, not on first use (default: false)
    LAMBDA_RUNTIME_DEFER_ON_ERROR     run jobs deferred before a handler error (default: true)
    LAMBDA_RUNTIME_HANDOFF_KEY        secret (32 bytes or more) signing hand-off envelopes (default: unset, off)
    LAMBDA_RUNTIME_HANDOFF_MAX_HOPS   longest chain of hand-offs (default: 4, at most 15)
    LAMBDA_RUNTIME_HANDOFF_TTL        seconds a hand-off envelope stays valid (default: 3600)
    LAMBDA_RUNTIME_HANDOFF_FUNCTION   the function receiving hand-offs (default: this one)
    LAMBDA_RUNTIME_POST_TIMEOUT       seconds for a /response or /error post (default: 10)
    LAMBDA_RUNTIME_RETRY_ATTEMPTS     attempts per Runtime API call (default: 5)
    LAMBDA_RUNTIME_RETRY_MAX_DELAY    seconds of retrying before giving up (default: 10)
    LAMBDA_RUNTIME_SHUTDOWN_EXTENSION  register a no-op internal extension so that Lambda sends SIGTERM at
                                      shutdown: jobs and on_shutdown hooks get 500 ms (default: false)
"""


def option(argv: Sequence[str]) -> int:
    """`--help` and `--version`, the only options: everything else is configured by Lambda's environment."""
    if argv[0] in ("-h", "--help"):
        print(HELP, end="")
        return 0
    if argv[0] in ("-V", "--version"):
        print(f"lambda-runtime {__version__}")  # the distribution's name, as `lambda-runtime --version`
        return 0
    print(f"{USAGE}\nlambda_runtime: error: unknown option {argv[0]} (see --help)", file=sys.stderr)
    return 2
