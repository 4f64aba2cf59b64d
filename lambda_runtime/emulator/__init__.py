"""A local AWS Lambda emulator for testing runtimes (the ``[emulator]`` extra; needs aiohttp).

It serves the Runtime API (2018-06-01) to a runtime child process it starts and the Invoke API
(2015-03-31) to callers, on one port, and answers each caller as soon as the runtime posts ``/response``
or ``/error``, as Lambda does. The runtime itself never imports this package.

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
- One execution environment. The runtime (default ``python -m lambda_runtime``, or ``runtime_command``)
  starts on demand at the first invocation (``prestart=True`` / the CLI: at once), in its own process
  group, cwd = task root, with Lambda's environment variables added to the base ``env``. Events that
  arrive while it is busy wait in order. After it exits, crashes, fails its init or times out, the next
  event starts a fresh one (a cold start: ``init_ms`` is set on that invocation's record).
- Errors the caller may get (200 + ``X-Amz-Function-Error: Unhandled``): whatever the runtime posts to
  ``/error`` or ``/init/error``; ``Runtime.ExitError`` (exit before answering); ``Sandbox.Timedout`` (no
  ``/next`` by the deadline: the process group is killed; an answer already given stands);
  ``Runtime.NoResponse`` (``/next`` without answering); ``Runtime.InvalidEntrypoint`` (the command cannot
  start); ``Function.ResponseSizeTooLarge``. An init error nobody waits for goes to the next caller.
- Late or repeated posts: 400 for an unknown request id, 410 once the invocation is answered or over.
- Freezing (default on, ``freeze=False`` / ``--no-freeze``): the runtime's process group is SIGSTOPped
  while it waits for an event and SIGCONTed when one is delivered.
- Output: stdout and stderr of the runtime, line by line, plus START / END / REPORT lines, are logged to
  the ``lambda_runtime.emulator.runtime`` logger (prefix-free; the CLI prints them on stdout) and kept:
  ``runtime_output()``, ``wait_for_output()``, ``invocation_output(request_id)``. The runtime must flush
  its own output (awslambdaric makes stdout unbuffered; ``PYTHONUNBUFFERED`` is not set for it).
- Records (:class:`InvocationRecord`): ``records()``, ``wait_for_records(n)``, ``record(request_id)``,
  ``--report-file`` (JSON lines). Times are ``time.time()`` epoch seconds.
- Test hooks (``test_hooks=True`` / ``--test-hooks`` only): ``X-Emulator-Next-Headers: {json}`` on an
  Invoke request overrides headers of that event's ``/next`` response (``null`` removes one); see
  :mod:`lambda_runtime.emulator.hooks`. If the request id is hidden that way, a post to any unknown id
  (e.g. ``/invocation/None/response``) answers the current invocation. A removed ``Content-Type`` is
  sent by aiohttp as ``application/octet-stream``.
- Speed: in-process, the emulator shares the GIL with the test; for benchmarks run the CLI in its own
  process. Max Memory Used is the summed VmHWM of the runtime's process tree (``/proc``).
"""

from __future__ import annotations

try:
    import aiohttp  # noqa: F401
except ImportError as e:  # pragma: no cover
    raise ImportError("lambda_runtime.emulator needs aiohttp: pip install 'lambda-runtime[emulator]'") from e

from lambda_runtime.emulator.config import MAX_ASYNC_PAYLOAD, MAX_SYNC_PAYLOAD, EmulatorConfig
from lambda_runtime.emulator.emulator import Emulator
from lambda_runtime.emulator.hooks import InvocationHooks
from lambda_runtime.emulator.records import InvocationRecord, Status
from lambda_runtime.emulator.server import EmulatorServer

__all__ = [
    "MAX_ASYNC_PAYLOAD",
    "MAX_SYNC_PAYLOAD",
    "Emulator",
    "EmulatorConfig",
    "EmulatorServer",
    "InvocationHooks",
    "InvocationRecord",
    "Status",
]
