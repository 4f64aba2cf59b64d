"""Running the official client and ours on the same scripted Runtime API, and judging what each one did.

One process per runtime serves a whole list of events, so generated cases cost one HTTP round trip each.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import FUNCTIONS, OFFICIAL_CLIENT
from tests.scripted_server import Reply, ScriptedRuntimeApi, Seen

OURS = [sys.executable, "-m", "lambda_runtime"]
RUNTIMES = {"ours": OURS, "official": OFFICIAL_CLIENT}

SAME, BETTER, NEUTRAL, WORSE = "same", "ours better", "neutral", "ours worse"


@dataclass(frozen=True)
class Event:
    body: bytes
    headers: dict[str, str | None]  # values as the bytes on the wire, written as Latin-1 text; None: absent


@dataclass(frozen=True)
class Outcome:
    """What one runtime posted for one event: a result (body) or an error (its errorType)."""

    posted: str  # "response" or "error"
    body: bytes
    content_type: str

    @property
    def error_type(self) -> str | None:
        return json.loads(self.body)["errorType"] if self.posted == "error" else None


@dataclass
class Run:
    outcomes: list[Outcome]
    output: bytes  # stdout and stderr, as Lambda's pipe collects them
    frames: bytes  # what was written on the telemetry descriptor, if one was given


def event(body: object, request_id: str, **headers: str | None) -> Event:
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    base = {
        "Lambda-Runtime-Aws-Request-Id": request_id,
        "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + 600_000),
        "Lambda-Runtime-Invocation-Id": f"inv-{request_id}",
        "Lambda-Runtime-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
        "Content-Type": "application/json",
    }
    return Event(body, {**base, **headers})


def utf8_header(text: str) -> str:
    """`text` as raw UTF-8 bytes on the wire (the scripted server writes header values as Latin-1)."""
    return text.encode("utf-8").decode("latin-1")


def run(
    runtime: str,
    handler: str,
    events: list[Event],
    env: dict[str, str] | None = None,
    *,
    telemetry: Path | None = None,
) -> Run:
    """Serve `events` one after the other to `runtime`; what it posted, printed and framed.

    A process that exits without posting (awslambdaric aborts on some headers) gets the outcome "exit" for the
    event it was serving, and a fresh process serves the rest, as Lambda would start one.
    """
    hold = threading.Event()
    outcomes: dict[str, Outcome] = {}
    output = b""
    with ScriptedRuntimeApi() as api:
        for item in events:
            headers = {k: v for k, v in item.headers.items() if v is not None}
            api.add("GET", "/next", Reply(200, item.body, headers))
        api.defaults["GET"] = Reply(200, b"{}", {}, hold=hold)  # no further event: the runtime waits
        try:
            while len(outcomes) < len(events):
                process = _start(runtime, handler, api.address, env or {}, telemetry)
                try:
                    seen = _wait(api, process, len(events))
                finally:
                    process.kill()  # nothing is flushed at exit: what is not in the pipe by now is lost
                    output += process.communicate()[0]
                for post in (s for s in seen if s.method == "POST"):
                    outcomes[post.path.split("/")[-2]] = _outcome(post)
                served = min(sum(s.method == "GET" for s in seen), len(events))
                for item in events[:served]:
                    outcomes.setdefault(item.headers["Lambda-Runtime-Aws-Request-Id"], Outcome("exit", b"", ""))
        finally:
            hold.set()
    frames = telemetry.read_bytes() if telemetry is not None and telemetry.exists() else b""
    return Run([outcomes[item.headers["Lambda-Runtime-Aws-Request-Id"]] for item in events], output, frames)


def _start(
    runtime: str, handler: str, address: str, env: dict[str, str], telemetry: Path | None
) -> subprocess.Popen[bytes]:
    full_env = {"PATH": "/usr/bin:/bin", "AWS_LAMBDA_RUNTIME_API": address, "LAMBDA_TASK_ROOT": str(FUNCTIONS), **env}
    command = [*RUNTIMES[runtime], handler]
    if telemetry is not None:
        full_env["_LAMBDA_TELEMETRY_LOG_FD"] = "3"
        command = ["/bin/sh", "-c", f'exec "$@" 3>>"{telemetry}"', "sh", *command]
    return subprocess.Popen(command, env=full_env, cwd=FUNCTIONS, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _wait(api: ScriptedRuntimeApi, process: subprocess.Popen[bytes], count: int) -> list[Seen]:
    """Until `count` posts arrived, or the process is gone."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        exited = process.poll() is not None
        try:
            return api.wait_for(lambda seen: sum(s.method == "POST" for s in seen) >= count, timeout=0.2)
        except TimeoutError:
            if exited:
                return list(api.seen)
    raise TimeoutError(f"{count} posts not seen in 120 s")


def _outcome(post: Seen) -> Outcome:
    headers = {k.lower(): v for k, v in post.headers.items()}
    return Outcome(post.path.rsplit("/", 1)[-1], post.body, headers.get("content-type", ""))


def strict_json(body: bytes) -> tuple[bool, object]:
    """(True, value) when `body` is JSON by RFC 8259 (no NaN, no Infinity), else (False, None)."""

    def refuse(constant: str) -> object:
        raise ValueError(constant)

    try:
        return True, json.loads(body, parse_constant=refuse)
    except ValueError:
        return False, None


def judge_result(mine: Outcome, theirs: Outcome) -> str:
    """same / ours better / neutral / ours worse, for the outcome of one invocation on each side."""
    if mine == theirs:
        return SAME
    if "exit" in (mine.posted, theirs.posted):  # a process that dies loses the event, and the ones queued behind it
        return WORSE if mine.posted == "exit" else BETTER
    if mine.posted == theirs.posted == "error":
        return SAME if mine.error_type == theirs.error_type else NEUTRAL
    if mine.posted == "error":  # theirs answered (even with NaN, which is not JSON: see refuses_non_finite)
        return WORSE
    if theirs.posted == "error":
        return BETTER
    if mine.content_type != theirs.content_type:
        return WORSE
    if mine.content_type != "application/json":
        return WORSE  # raw bytes must be the same bytes
    (my_ok, my_value), (their_ok, their_value) = strict_json(mine.body), strict_json(theirs.body)
    if not my_ok:
        return WORSE
    if not their_ok:
        return BETTER
    return NEUTRAL if my_value == their_value else WORSE  # same value, other spelling (\u escapes)


def refuses_non_finite(mine: Outcome, theirs: Outcome) -> bool:
    """Ours refused a result that awslambdaric wrote with NaN or Infinity, which JSON does not have (deliberate)."""
    return (
        mine.error_type == "Runtime.MarshalError"
        and theirs.posted == "response"
        and theirs.content_type == "application/json"
        and not strict_json(theirs.body)[0]
    )


TIMESTAMP = re.compile(rb"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d{3})?(?:Z|\+0000)")


def normalised(data: bytes) -> bytes:
    return TIMESTAMP.sub(b"<time>", data)


class Tally:
    """Counts of verdicts, printed at the end of a module (run pytest with -s to see them)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.counts: Counter[str] = Counter()
        self.deliberate: list[str] = []

    def add(self, verdict: str, case: str, deliberate: bool = False) -> None:
        self.counts[verdict] += 1
        if deliberate:
            self.deliberate.append(f"{verdict}: {case}")

    def summary(self) -> str:
        counts = ", ".join(f"{self.counts[v]} {v}" for v in (SAME, BETTER, NEUTRAL, WORSE))
        return f"{self.name}: {counts}; deliberate: {self.deliberate}"
