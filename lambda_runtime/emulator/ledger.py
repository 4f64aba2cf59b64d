"""The invocations in flight, and how one ends: its END / REPORT lines, its record published."""

from __future__ import annotations

import collections
import logging
import math
from typing import Protocol

from lambda_runtime.emulator.config import EmulatorConfig
from lambda_runtime.emulator.invocation import Answer, Invocation
from lambda_runtime.emulator.records import Status
from lambda_runtime.emulator.responses import exit_reason
from lambda_runtime.emulator.store import JsonLinesFile, Store

logger = logging.getLogger("lambda_runtime.emulator")

#: How many finished request ids are remembered to answer late posts with 410 instead of 400.
FINISHED_MEMORY = 100_000


class Served(Protocol):
    """What the ledger reads of the environment that served an invocation."""

    def measure_memory_mb(self) -> int | None: ...


class Ledger:
    def __init__(self, config: EmulatorConfig, store: Store, report: JsonLinesFile) -> None:
        self.config = config
        self.store = store
        self.report = report
        #: Request id → the invocation (attempt) in flight, from its submission until it is finished.
        self.active: dict[str, Invocation] = {}
        self._finished_ids: collections.OrderedDict[str, None] = collections.OrderedDict()

    def add(self, inv: Invocation) -> None:
        self.active[inv.request_id] = inv

    def drop(self, inv: Invocation) -> None:
        """Forget an invocation that never ran (aged out in the queue, or refused at shutdown)."""
        if self.active.get(inv.request_id) is inv:
            del self.active[inv.request_id]

    def is_finished(self, request_id: str) -> bool:
        return request_id in self._finished_ids

    def platform_line(self, inv: Invocation | None, line: str) -> None:
        """A line the platform adds to the function's log (START, END, REPORT ...)."""
        self.store.output_line(line, inv.log_lines if inv is not None else None)

    def finish(
        self, inv: Invocation, now: float, status: Status, env: Served | None = None, answer: Answer | None = None
    ) -> None:
        """Complete the record (``next_at`` = ``now``), log END / REPORT and publish the record.

        ``answer`` is given to a caller still waiting (the end of the invocation is its answer: a timeout,
        an exit ...).
        """
        if inv.finished:
            return
        inv.finished = True
        if answer is not None and not inv.answer(answer, at=now):
            stream = inv.answer_future.result().stream
            if stream is not None and stream.end(answer.error_type, answer.body):  # a timeout or exit mid-stream
                inv.record.error_type = answer.error_type
        assert inv.answered, "an invocation is always answered before it finishes"
        if inv.timer is not None:
            inv.timer.cancel()
            inv.timer = None
        inv.record.finish(now, status)
        if env is not None:
            inv.record.max_memory_used_mb = env.measure_memory_mb()
        self._report_lines(inv)
        self.drop(inv)
        self._finished_ids[inv.request_id] = None
        self._finished_ids.move_to_end(inv.request_id)
        if len(self._finished_ids) > FINISHED_MEMORY:
            self._finished_ids.popitem(last=False)
        record = inv.record
        self.report.write(record.to_json())  # first: whoever sees the record published finds its line in the file
        self.store.publish(record, inv.log_lines)
        if not inv.done.done():
            inv.done.set_result(None)
        duration = f"{record.duration_ms:.2f} ms" if record.duration_ms is not None else "-"
        logger.info(
            "%s %s%s %s billed %s ms%s",
            record.request_id,
            record.status,
            f" ({record.error_type})" if record.error_type else "",
            duration,
            record.billed_ms if record.billed_ms is not None else "-",
            f" init {record.init_ms:.2f} ms" if record.init_ms is not None else "",
        )

    def _report_lines(self, inv: Invocation) -> None:
        record = inv.record
        if record.delivered_at is None:  # the event never reached the runtime
            init = f"Init Duration: {record.init_ms:.2f} ms\t" if record.init_ms is not None else ""
            self.platform_line(inv, f"INIT_REPORT {init}Phase: init\tStatus: error\tError Type: {record.error_type}")
            return
        stopped = record.extra.get("cut_short_by") == "shutdown"
        if stopped:  # the emulator stopped (Ctrl-C): not the function's fault, and not something Lambda does
            self.platform_line(inv, f"RequestId: {record.request_id} cut short: the emulator is stopping")
        elif record.status == "crash":
            # An exit ends the invocation as an error even after /response: the caller keeps the response it had,
            # but Lambda logs the exit and reports Runtime.ExitError (so an Event invocation is retried). Modelled
            # on the upstream emulator (aws-lambda-runtime-interface-emulator, internal/lambda): rapid/handlers.go
            # watchEvents stores Runtime.ExitError as the invocation's fatal error whether or not a response was
            # sent; rapidcore/server.go FastInvoke skips only the default error *body* once /response was called;
            # rapid/handlers.go handleReset reports runtimeDone status "error" with that errorType.
            reason = exit_reason(record.exit_code or 0)
            self.platform_line(inv, f"RequestId: {record.request_id} Error: {reason}")
            self.platform_line(inv, "Runtime.ExitError")
        self.platform_line(inv, f"END RequestId: {record.request_id}")
        fields = [
            f"REPORT RequestId: {record.request_id}",
            f"Duration: {record.duration_ms or 0.0:.2f} ms",
            f"Billed Duration: {record.billed_ms} ms",
            f"Memory Size: {self.config.memory_size} MB",
            f"Max Memory Used: {record.max_memory_used_mb if record.max_memory_used_mb is not None else '-'} MB",
        ]
        if record.init_ms is not None:
            fields.append(f"Init Duration: {record.init_ms:.2f} ms")
        if record.restore_ms is not None:  # as Lambda's REPORT line for a SnapStart restore
            fields.append(f"Restore Duration: {record.restore_ms:.2f} ms")
            fields.append(f"Billed Restore Duration: {math.ceil(record.restore_ms)} ms")
        if record.status == "timeout":
            fields.append("Status: timeout")
        elif stopped:
            fields.append("Status: shutdown")
        elif record.status == "crash":
            fields.extend(["Status: error", "Error Type: Runtime.ExitError"])
        caller_left_at = (record.extra.get("stream") or {}).get("caller_left_at")
        if caller_left_at is not None:  # not in Lambda's line: how a streamed response ended
            fields.append(f"Stream: caller disconnected after {record.extra['stream']['bytes']} bytes")
        if record.environment is not None:  # not in Lambda's line: which environment served it
            fields.append(f"Environment: {record.environment}")
        self.platform_line(inv, "\t".join(fields))
