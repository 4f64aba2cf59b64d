"""The benchmark client: a kept-alive `http.client` connection per emulator, and its invocation records.

A sample joins what the client saw (its own clock) with the emulator's record of the same request id, so that
durations come from the records: ``billed_ms``, ``duration_ms`` and the record's timestamps (epoch seconds).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks.procs import EmulatorProcess

INVOKE_PATH = "/2015-03-31/functions/function/invocations"
#: Fields copied from each record into a sample.
RECORD_FIELDS = (
    "request_id",
    "status",
    "invocation_type",
    "received_at",
    "delivered_at",
    "responded_at",
    "next_at",
    "duration_ms",
    "billed_ms",
    "init_ms",
    "max_memory_used_mb",
    "runtime_pid",
)
Sample = dict[str, Any]
#: ReportTail.wait's first and longest pause between looks at the report file.
POLL_FIRST_S, POLL_LONGEST_S = 0.0005, 0.01


class ReportTail:
    """Follows an emulator's ``--report-file`` (one JSON record per line, written when the invocation ends)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: dict[str, dict[str, Any]] = {}
        self._offset = 0
        self._partial = b""

    def poll(self) -> None:
        try:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            return
        self._offset += len(data)
        *lines, self._partial = (self._partial + data).split(b"\n")
        for line in lines:
            if line.strip():
                record = json.loads(line)
                self.records[record["request_id"]] = record

    def wait(self, request_id: str, timeout: float = 60.0) -> dict[str, Any]:
        """The invocation's record, once written. Looks again after 0.5 ms, doubling the pause up to 10 ms: a deferred
        invocation's record comes only after its jobs, and a client waking every 0.5 ms meanwhile takes CPU from
        them on a busy 2-core host (a real caller runs elsewhere). Nothing here is timed: the figures are the
        record's own timestamps."""
        deadline = time.monotonic() + timeout
        pause = POLL_FIRST_S
        while request_id not in self.records:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no record for {request_id} in {self.path} after {timeout} s")
            time.sleep(pause)
            pause = min(2 * pause, POLL_LONGEST_S)
            self.poll()
        return self.records[request_id]


class Target:
    """One emulator as the client sees it: invoke it, then read the invocation's record."""

    def __init__(self, emulator: EmulatorProcess) -> None:
        self.name = emulator.name
        self.emulator = emulator
        self.conn = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=120)
        self.tail = ReportTail(emulator.report)

    def invoke(self, payload: bytes = b"{}", event: bool = False, allow_error: bool = False) -> tuple[float, str]:
        """One Invoke API call; returns (client milliseconds, request id). A function error raises unless allowed."""
        headers = {"Content-Type": "application/json"}
        if event:
            headers["X-Amz-Invocation-Type"] = "Event"
        start = time.perf_counter()
        self.conn.request("POST", INVOKE_PATH, payload, headers)
        response = self.conn.getresponse()
        response.read()
        elapsed_ms = (time.perf_counter() - start) * 1000
        failed = response.getheader("X-Amz-Function-Error") is not None and not allow_error
        if response.status != (202 if event else 200) or failed:
            raise RuntimeError(f"{self.name}: invoke answered {response.status}: {dict(response.headers)}")
        return elapsed_ms, response.getheader("X-Amzn-RequestId") or ""

    def measure(self, payload: bytes = b"{}", event: bool = False, allow_error: bool = False) -> Sample:
        """Invoke and wait for the record (the runtime is back in `/next`, frozen): nothing overlaps the next."""
        client_ms, request_id = self.invoke(payload, event, allow_error)
        return sample(client_ms, self.tail.wait(request_id))

    def close(self) -> None:
        self.conn.close()


def sample(client_ms: float, record: Mapping[str, Any]) -> Sample:
    """Client latency plus the record's fields and the intervals derived from its timestamps (ms)."""
    out: Sample = {"client_ms": client_ms, **{k: record.get(k) for k in RECORD_FIELDS}}
    received, delivered = record["received_at"], record.get("delivered_at")
    responded, ended = record.get("responded_at"), record.get("next_at")
    out["response_ms"] = (responded - received) * 1000 if responded else None  # request in → answer out
    out["after_response_ms"] = (ended - responded) * 1000 if responded and ended else None  # answer → /next
    out["handler_to_post_ms"] = (responded - delivered) * 1000 if responded and delivered else None
    return out


def encode(event: Mapping[str, Any]) -> bytes:
    return json.dumps(event).encode()


def launch(stack: contextlib.ExitStack[Any], emulators: Sequence[EmulatorProcess]) -> dict[str, Target]:
    """Start all emulators at once (each stopped when `stack` closes), then wait until each one listens."""
    for emulator in emulators:
        stack.enter_context(emulator)
    targets: dict[str, Target] = {}
    for emulator in emulators:
        emulator.wait_ready()
        target = targets[emulator.name] = Target(emulator)
        stack.callback(target.close)
    return targets
