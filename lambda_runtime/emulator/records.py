"""The per-invocation record the emulator keeps (and writes to ``--report-file`` as JSON lines)."""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

#: How an invocation ended.
#:
#: - ``success`` / ``error``: the runtime posted ``/response`` / ``/error`` (or nothing, see
#:   ``Runtime.NoResponse``) and then asked for the next event.
#: - ``timeout``: the deadline passed before the runtime asked for the next event (phase 2).
#: - ``crash``: the runtime process exited while the invocation was in progress (before or after the
#:   caller was answered; ``error_type`` tells which: ``None`` means the caller got a normal answer).
#: - ``init_error``: the runtime failed its init (``/init/error`` or exit before the first ``/next``); the
#:   event was never delivered.
Status = Literal["success", "error", "timeout", "crash", "init_error"]


def utc_stamp(epoch: float) -> str:
    """``2024-01-02T03:04:05.678Z``, as Lambda's log lines and invocation records write times."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch % 1 * 1000):03d}Z"


@dataclass
class InvocationRecord:
    """What happened to one invocation. Times are epoch seconds (``time.time()``), durations milliseconds.

    A record is *complete* once ``next_at`` is known: the runtime's following ``/next`` (the end of the
    billed duration), or the moment the invocation was ended otherwise (runtime exit, timeout, shutdown).
    """

    request_id: str
    #: ``None`` only while the invocation is in progress; complete records always have a status.
    status: Status | None = None
    #: The caller's request arrived.
    received_at: float = 0.0
    #: The event was handed to the runtime by ``/next`` (``None`` if it never was: init errors).
    delivered_at: float | None = None
    #: The ``Lambda-Runtime-Deadline-Ms`` sent with the event (epoch ms; delivery + timeout).
    deadline_ms: int | None = None
    #: The caller was answered (the runtime's ``/response`` or ``/error`` arrived, or the emulator answered).
    responded_at: float | None = None
    #: End of the invocation: the runtime's following ``/next`` (or exit / timeout / shutdown).
    next_at: float | None = None
    #: ``delivered_at`` → ``next_at`` in ms (the billed duration, before rounding up).
    duration_ms: float | None = None
    #: ``ceil(duration_ms)``, at least 1.
    billed_ms: int | None = None
    #: Process start → first ``/next`` in ms, on a cold start's first invocation only (else ``None``).
    init_ms: float | None = None
    #: SnapStart: the runtime continued (restore) → its first ``/next``, in ms, on a restored environment's first
    #: invocation (Lambda's "Restore Duration"; such an environment has no ``init_ms``).
    restore_ms: float | None = None
    #: The ``errorType`` the caller got (``None`` when the caller got a normal result).
    error_type: str | None = None
    #: ``RequestResponse`` or ``Event``.
    invocation_type: str = "RequestResponse"
    #: 1, or for the retries of an ``Event`` invocation (same request id) 2, 3.
    attempt: int = 1
    #: The ``Lambda-Runtime-Invocation-Id`` sent with the event.
    invocation_id: str = ""
    #: Exit status of the runtime when it exited during this invocation (negative: killed by that signal).
    exit_code: int | None = None
    #: Peak resident memory of the runtime process tree, MB (phase 2; ``None`` when not measured).
    max_memory_used_mb: int | None = None
    #: Pid of the runtime process that handled (or failed) the invocation.
    runtime_pid: int | None = None
    #: The execution environment that served it: 1, 2, ... in the order they were started (each a cold start).
    environment: int | None = None
    #: Extra, free-form facts (kept out of the way of the fixed fields).
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return self.next_at is not None

    def finish(self, next_at: float, status: Status) -> None:
        """Close the record: set ``next_at``, the status and the durations."""
        self.next_at = next_at
        self.status = status
        if self.delivered_at is not None:
            self.duration_ms = max(0.0, (next_at - self.delivered_at) * 1000.0)
            self.billed_ms = max(1, math.ceil(round(self.duration_ms, 6)))

    def __getitem__(self, key: str) -> Any:
        """``record["status"]`` works as ``record.status`` (records read like the report file's dicts)."""
        if key not in self.__dataclass_fields__:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self.__dataclass_fields__ else default

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=False, separators=(",", ":"))
