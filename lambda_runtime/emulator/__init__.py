"""A local AWS Lambda emulator for testing runtimes (the ``[emulator]`` extra; needs aiohttp).

It serves the Invoke API (2015-03-31) to callers and the Runtime API (2018-06-01) to the runtime child
processes it starts, and answers each caller as soon as the runtime posts ``/response`` or ``/error``,
as Lambda does. The runtime itself never imports this package.

    from lambda_runtime.emulator import Emulator

    with Emulator("app.handler", task_root="path/to/code") as emu:
        r = emu.invoke({"a": 1})                 # a requests.Response
        print(r.status_code, r.headers.get("X-Amz-Function-Error"), r.json())
        (record,) = emu.wait_for_records(1)      # complete once the runtime asked for the next event
        print(record.status, record.duration_ms, emu.invocation_output(record.request_id))

Command line: ``lambda-runtime serve app.handler --port 9000`` (task root = working directory), then
``curl -d '{"a":1}' http://127.0.0.1:9000/2015-03-31/functions/function/invocations``.

Behaviour
---------
- Execution environments: up to ``concurrency`` runtime processes (default ``python -m lambda_runtime``,
  or ``runtime_command``), each started on demand (a cold start, ``init_ms`` on its first record;
  ``prestart=True`` / ``--prestart``: the first one at once) in its own process group, cwd = task root, with Lambda's
  environment variables added to the base ``env``, and reused warm. Each has a Runtime API port of its
  own (its ``AWS_LAMBDA_RUNTIME_API``); the Invoke API port is nobody's (a Runtime API call there gets
  403 and changes nothing). Records and REPORT lines name the ``environment`` (1, 2, ... in start order).
- Scale-out, as Lambda (the CLI: ``--concurrency 10``, no queue): an event that finds no idle
  environment starts one and waits for it; beyond ``concurrency``, 429 ``TooManyRequestsException``
  (``Retry-After``). Queueing mode (``queue_size`` > 0, the Python default with ``concurrency=1``, for
  tests that need one environment serving in order): up to ``queue_size`` events wait for a busy
  environment, the first one free takes them. ``idle_timeout`` reclaims idle environments. After a
  runtime exits, crashes, fails its init or times out, its next event gets a fresh one. Binds
  127.0.0.1 unless ``host`` / ``--host`` says otherwise.
- Errors the caller may get (200 + ``X-Amz-Function-Error: Unhandled``): whatever the runtime posts to
  ``/error`` or ``/init/error``; ``Runtime.ExitError`` (exit before answering); ``Sandbox.Timedout`` (no
  ``/next`` by the deadline: the process group is killed; an answer already given stands);
  ``Runtime.NoResponse`` (``/next`` without answering); ``Runtime.InvalidEntrypoint`` (the command cannot
  start); ``Function.ResponseSizeTooLarge`` (a response over 6 MB; the runtime gets 413). An init error
  nobody waits for goes to the next caller.
- Refusals: a request over 6,291,456 bytes (``RequestResponse``) or 1 MB (``Event``) gets 413
  ``RequestEntityTooLargeException``; nothing is ever truncated. A body that is not JSON gets 400
  ``InvalidRequestContentException`` (test hooks let it through). Error bodies use ``Message`` or
  ``message`` as botocore's model has it; a 404 names the function asked for. ``tenant_isolation``: a
  ``TenantId`` is required, reaches the runtime as ``Lambda-Runtime-Aws-Tenant-Id`` and gets
  environments of its own; without it a ``TenantId`` is refused.
- ``Event`` invocations: 202 at once; the event waits in one FIFO (at most ``async_queue_size``, then
  429) and is invoked when there is room (never throttled by concurrency); a failed attempt (function
  error, timeout, exit — judged at the end of the invocation, deferred work included) is retried
  ``max_retry_attempts`` times (2), ``retry_delays`` apart (60 s, 120 s), with the
  same request id; older than ``max_event_age`` (6 h) while waiting, it is dropped. Outcomes, as
  Lambda's destination invocation records: ``async_outcomes()``, ``--on-failure`` / ``--on-success``
  files (JSON lines). Stopping writes each Event not done (``"condition": "EmulatorShutdown"``) to the
  on-failure file, else to ``unprocessed_file``. ``DryRun``: 204 with a request id, nothing runs.
- What an ``Invoke`` made by the function meets (``recursion``, ``peers``): the runtime gets an execution role's
  credentials (unless the environment has some); that role invoking a function not served here gets 403
  ``AccessDeniedException``, unless ``peers`` / ``--peer NAME=URL`` names the emulator serving it (forwarded there).
  Its trace header continues the chain (``Lineage=<tag>:<count>``): the 17th invocation is stopped, 400
  ``RecursiveInvocationException`` for a synchronous caller, the on-failure record for an ``Event``.
- Caller extras: ``X-Amz-Client-Context`` → ``Lambda-Runtime-Client-Context``; ``X-Amzn-Trace-Id`` →
  ``Lambda-Runtime-Trace-Id`` (one is made up when absent) and back in ``X-Amzn-Trace-Id``;
  ``X-Amz-Log-Type: Tail`` → ``X-Amz-Log-Result``: the last 4 KB, base64, of the invocation's log, END
  and REPORT included, so that caller is answered when the invocation is over (others at ``/response``).
  ``X-Amz-Executed-Version: $LATEST``, ``x-amzn-Remapped-Content-Length: 0``.
- Response streaming: a ``/response`` with ``Lambda-Runtime-Function-Response-Mode: streaming`` (chunked) answers
  the caller at its first byte and passes each chunk on as it arrives; a mid-stream error comes in the trailers
  ``Lambda-Runtime-Function-Error-Type`` / ``-Error-Body`` (base64), a timeout or exit ends the stream with its
  error; at most 200 MB. Callers: ``POST /2021-11-15/functions/NAME/response-streaming-invocations``
  (InvokeWithResponseStream: ``application/vnd.amazon.eventstream``, ``PayloadChunk`` events then
  ``InvokeComplete`` with ``ErrorCode`` = the error type, ``ErrorDetails`` = its message, ``LogResult`` for Tail;
  boto3's ``invoke_with_response_stream`` reads it), ``/lambda-url/PATH`` (any method: a function URL event, payload
  2.0; a streamed HTTP-integration response goes out with the prelude's status, headers and cookies, a buffered
  result is read as a function URL reads it, a function error is 502), and the buffered Invoke API (the whole body,
  6 MB at most, or the stream's error). Records carry ``extra["stream"]``: bytes, ``ended_at``, ``error_type``.
- Late or repeated posts: 400 for an unknown request id, 410 once the invocation is answered or over.
- Freezing (default on, ``freeze=False`` / ``--no-freeze``): a runtime's process group is SIGSTOPped
  while it waits for an event and SIGCONTed when one is delivered. Stopping (``stop()``, SIGINT /
  SIGTERM for the CLI): queued callers get 503, pending Events are written out (above), every runtime
  gets SIGCONT then SIGTERM, and SIGKILL after ``kill_grace`` (after 500 ms, Lambda's budget, when it registered an
  extension: ``extensions_api``; ``shutdown_budget``); no process outlives the emulator.
- SnapStart (``snap_start=True`` / ``--snap-start``): the runtime gets ``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``;
  its ``/runtime/restore/next`` SIGSTOPs it (the snapshot) for ``restore_delay`` seconds, then SIGCONTs it and
  answers (the restore); ``/runtime/restore/error`` fails the init like ``/init/error``. The first record after
  a restore has ``restore_ms`` (restore → first ``/next``) and no ``init_ms``; REPORT says ``Restore Duration``.
- Output: stdout and stderr of the runtimes, line by line, plus START / END / REPORT lines, are logged
  to the ``lambda_runtime.emulator.runtime`` logger (prefix-free; the CLI prints them on stdout, each record's
  ``\\r``-joined lines one under the other, see :mod:`.console`) and kept as written: ``runtime_output()``,
  ``wait_for_output()``, ``invocation_output(request_id)``. The runtime must
  flush its own output (awslambdaric makes stdout unbuffered; ``PYTHONUNBUFFERED`` is not set for it).
  The emulator's own log never holds payloads or results.
- The invocations page: ``GET /`` (``/_emulator/``) draws the last invocations per environment, live, from
  ``GET /_emulator/invocations`` (:mod:`.timeline`).
- Settings are checked once, against Lambda's limits where it has one (:mod:`.limits`): a value out of range
  raises ``ConfigError`` naming the setting, for the CLI and ``Emulator(...)`` alike.
- Records (:class:`InvocationRecord`): ``records()``, ``wait_for_records(n)``, ``record(request_id)``,
  ``--report-file`` (JSON lines, all of them). In memory, the latest ``keep_records`` (10,000) records
  with their output, and ten times as many output lines: memory stays bounded. Times are
  ``time.time()`` epoch seconds. ``throttles()``: how many 429s were answered.
- Durable functions (``durable=True`` / ``--durable``, the ``durable`` extra): AWS's local durable execution service
  runs as a child process; a caller's Invoke starts an execution (``X-Amz-Durable-Execution-Arn``), the runtime's
  ``AWS_ENDPOINT_URL_LAMBDA`` is the emulator, which passes ``/2025-12-01/...`` on to the service. Without it those
  routes answer a JSON error naming the option (see :mod:`lambda_runtime.emulator.durable`).
- Test hooks (``test_hooks=True`` / ``--test-hooks`` only), see :mod:`lambda_runtime.emulator.hooks`:
  ``X-Emulator-Next-Headers`` overrides headers of the event's ``/next`` response; ``X-Emulator-Faults``
  or ``Emulator.inject_faults()`` make ``/next`` answer 500, reset or stall, and ``/response`` /
  ``/error`` answer 500 or drop mid-post. Applied faults are listed in ``record.extra["faults"]``.
- Speed: in-process, the emulator shares the GIL with the test; for benchmarks run the CLI in its own
  process. Max Memory Used is the summed VmHWM of the runtime's process tree (``/proc``).

Modules: ``emulator`` (the threaded facade) and ``caller`` (invoking), ``server`` (wiring and ports), ``invoke_api`` /
``runtime_api`` (the two HTTP APIs), ``pool`` (routing and scale-out), ``lifecycle`` (runtime processes),
``environment`` (one environment's state machine) and ``output`` (its pipe), ``ledger`` (ending invocations),
``async_queue`` (``Event``), ``recursion`` / ``peers`` (what a function's own Invoke meets), ``streams`` /
``response_stream`` / ``trailers`` (streamed responses in), ``stream_api`` / ``eventstream`` / ``function_url``
(streamed answers out), ``store`` (what tests read), ``hooks`` (test hooks), ``durable`` (durable functions),
``invocation`` (the data types the others pass around). The emulator imports nothing from the runtime, and its modules
import one another without circles (tests/test_emulator_layout.py).
"""

from __future__ import annotations

try:
    import aiohttp  # noqa: F401
except ImportError as e:  # pragma: no cover
    raise ImportError("lambda_runtime.emulator needs aiohttp: pip install 'lambda-runtime[emulator]'") from e

from lambda_runtime.emulator.config import MAX_ASYNC_PAYLOAD, MAX_SYNC_PAYLOAD, MAX_SYNC_REQUEST, EmulatorConfig
from lambda_runtime.emulator.emulator import Emulator
from lambda_runtime.emulator.hooks import InvocationHooks
from lambda_runtime.emulator.records import InvocationRecord, Status
from lambda_runtime.emulator.server import EmulatorServer

__all__ = [
    "MAX_ASYNC_PAYLOAD",
    "MAX_SYNC_PAYLOAD",
    "MAX_SYNC_REQUEST",
    "Emulator",
    "EmulatorConfig",
    "EmulatorServer",
    "InvocationHooks",
    "InvocationRecord",
    "Status",
]
