"""The emulator's own page: the last invocations as a timeline, per execution environment, updating live.

``GET /`` leads to ``GET /_emulator/``, one static HTML file (``static/timeline.html``, no build step, nothing
fetched from elsewhere) that polls ``GET /_emulator/invocations`` (JSON) and draws: when each event was received,
delivered (after a cold start or not), answered, when its deferred jobs ended (each with its outcome) and the
runtime's next ``/next``, and the billed duration.

What the deferred jobs did is read from the function's log (the lines this project's runtime writes: its summary
"Deferred jobs: ..." and one line per job that failed, overran, never started, ran inline or was cut short);
another runtime's invocations simply show no jobs.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from aiohttp import web

from lambda_runtime.emulator.config import EmulatorConfig
from lambda_runtime.emulator.ledger import Ledger
from lambda_runtime.emulator.records import InvocationRecord
from lambda_runtime.emulator.store import Store

PAGE = "/_emulator/"
DATA = "/_emulator/invocations"
#: Invocations a poll returns at most, the latest (``?limit=`` asks for fewer or more, up to ``MAX_LIMIT``).
DEFAULT_LIMIT = 100
MAX_LIMIT = 1_000

_SUMMARY = re.compile(
    r"Deferred jobs: (?P<ok>\d+) ok, (?P<failed>\d+) failed, (?P<timed_out>\d+) timed out, "
    r"(?P<not_started>\d+) not started, (?P<rejected>\d+) rejected, (?P<skipped>\d+) skipped; "
    r"(?P<ms>[\d.]+) ms after the response"
)
_ONE_JOB = re.compile(
    r"""deferred job (?P<q>['"])(?P<name>.+?)(?P=q) (?P<what>failed|overran its deadline|never started|runs inline)"""
)
_CUT_SHORT = re.compile(r"Deferred jobs cut short by (?P<signal>[A-Z]+): (?P<names>[^\r\"]+)")
_OUTCOME = {
    "failed": "failed",
    "overran its deadline": "timed out",
    "never started": "not started",
    "runs inline": "ran inline",
}


def deferred_jobs(lines: list[str]) -> dict[str, Any] | None:
    """What the invocation's log says of its deferred jobs: counts per outcome and the jobs named with theirs."""
    counts: dict[str, Any] | None = None
    named: list[dict[str, str]] = []
    for line in lines:
        if summary := _SUMMARY.search(line):
            counts = {key: int(value) for key, value in summary.groupdict().items() if key != "ms"}
            counts["post_response_ms"] = float(summary["ms"])
        for job in _ONE_JOB.finditer(line):
            named.append({"name": job["name"], "outcome": _OUTCOME[job["what"]]})
        if cut := _CUT_SHORT.search(line):
            named.extend({"name": name.strip(), "outcome": "cut short"} for name in cut["names"].split(","))
    if counts is None and not named:
        return None
    return {"counts": counts, "named": named}


def invocation_view(record: InvocationRecord, lines: list[str]) -> dict[str, Any]:
    """One invocation as the page draws it (times in epoch seconds, durations in ms)."""
    return {
        "request_id": record.request_id,
        "status": record.status,
        "error_type": record.error_type,
        "invocation_type": record.invocation_type,
        "attempt": record.attempt,
        "environment": record.environment,
        "cold_start_ms": record.init_ms,
        "restore_ms": record.restore_ms,
        "received_at": record.received_at,
        "delivered_at": record.delivered_at,
        "responded_at": record.responded_at,
        "next_at": record.next_at,
        "duration_ms": record.duration_ms,
        "billed_ms": record.billed_ms,
        "max_memory_used_mb": record.max_memory_used_mb,
        "jobs": deferred_jobs(lines),
    }


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _reading_only(handler: Handler) -> Handler:
    """``handler`` for GET and HEAD; 404 for any other method."""

    async def serve(request: web.Request) -> web.StreamResponse:
        if request.method not in ("GET", "HEAD"):
            raise web.HTTPNotFound()
        return await handler(request)

    return serve


class Timeline:
    """The page and its data, served on the Invoke API port."""

    def __init__(self, config: EmulatorConfig, store: Store, ledger: Ledger) -> None:
        self.config = config
        self.store = store
        self.ledger = ledger

    def add_routes(self, app: web.Application) -> None:
        # Any method, so that a POST to "/" (an AWS API this emulator does not serve, e.g. IAM's) stays a 404, as
        # for any other unknown path, rather than a 405.
        for path, handler in (("/", self.home), ("/_emulator", self.home), (PAGE, self.page), (DATA, self.data)):
            app.router.add_route("*", path, _reading_only(handler))

    async def home(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(PAGE)

    async def page(self, request: web.Request) -> web.StreamResponse:
        html = resources.files("lambda_runtime.emulator").joinpath("static/timeline.html").read_bytes()
        return web.Response(body=html, content_type="text/html", charset="utf-8", headers={"Cache-Control": "no-store"})

    async def data(self, request: web.Request) -> web.StreamResponse:
        try:
            limit = min(MAX_LIMIT, max(1, int(request.query.get("limit", DEFAULT_LIMIT))))
        except ValueError:
            raise web.HTTPBadRequest(text="limit must be a whole number") from None
        records = self.store.records()[-limit:]
        finished = [invocation_view(r, self.store.invocation_lines(r.request_id)) for r in records]
        # In flight (received, not ended yet): the ledger's, read on the event loop that changes them.
        running = [invocation_view(inv.record, list(inv.log_lines)) for inv in list(self.ledger.active.values())]
        body = {
            "function_name": self.config.function_name,
            "timeout_s": self.config.timeout,
            "memory_size": self.config.memory_size,
            "now": time.time(),
            "invocations": finished + running[-limit:],
        }
        return web.json_response(body, headers={"Cache-Control": "no-store"})
