"""The emulator under pressure from its callers: every slot stuck, the descriptor limit reached, slow or
unreading clients, the emulator killed outright. Callers always get an answer or an error, never silence; the
emulator's memory and log stay bounded, and its runtime never outlives it."""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from tests.emulator_functions.harness import CliServer, group_gone, process_state
from tests.polling import wait_until

INVOKE_PATH = "/2015-03-31/functions/function/invocations"


def _invoke(url: str, event: dict[str, Any], timeout: float = 60) -> requests.Response:
    return requests.post(f"{url}{INVOKE_PATH}", json=event, timeout=timeout)


def _request(body: bytes) -> bytes:
    head = f"POST {INVOKE_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def _status_or_closed(sock: socket.socket, timeout: float = 10) -> str:
    """What a raw caller gets back: the status line, "closed" (EOF or reset) or "silence" (nothing in time)."""
    sock.settimeout(max(timeout, 0.001))
    try:
        data = sock.recv(4096)
    except TimeoutError:
        return "silence"
    except ConnectionResetError:
        return "closed"
    return data.split(b"\r\n", 1)[0].decode() if data else "closed"


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


# -- Managed Instances: a handler stuck past its timeout keeps its slot -----------------------------------------


def test_managed_instances_slots_stuck_past_the_timeout_stay_busy_and_callers_get_429(
    serve: Any, tmp_path: Path
) -> None:
    emulator = serve("managed.route", max_concurrency=2, timeout=1)
    release = tmp_path / "release"
    with ThreadPoolExecutor(2) as pool:
        hung = [pool.submit(_invoke, emulator.url, {"do": "hang", "release": str(release)}) for _ in range(2)]
        for answer in (future.result() for future in hung):  # both time out; both handlers still run
            assert answer.json()["errorType"] == "Sandbox.Timedout", answer.text
    refused = _invoke(emulator.url, {"do": "echo"}, timeout=10)  # no slot is free: an error at once, not silence
    assert refused.status_code == 429, refused.text
    assert refused.headers["X-Amzn-ErrorType"].startswith("TooManyRequestsException")
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    release.touch()  # the handlers return (too late): their slots are free again, and callers are served
    served = wait_until(lambda: _invoke(emulator.url, {"do": "echo"}, timeout=10).status_code == 200, timeout=20)
    assert served


def test_managed_instances_stuck_slots_are_free_again_once_the_runtime_is_replaced(serve: Any, tmp_path: Path) -> None:
    emulator = serve("managed.route", max_concurrency=1, timeout=1)
    answer = _invoke(emulator.url, {"do": "hang", "release": str(tmp_path / "never")})
    assert answer.json()["errorType"] == "Sandbox.Timedout", answer.text
    assert _invoke(emulator.url, {"do": "echo"}, timeout=10).status_code == 429
    (pid,) = emulator.runtime_pids()
    os.kill(pid, signal.SIGKILL)  # the runtime goes, and its stuck handler with it
    served = wait_until(lambda: _invoke(emulator.url, {"do": "echo"}, timeout=10).status_code == 200, timeout=20)
    assert served
    assert emulator.runtime_pids() != [pid]


# -- descriptor exhaustion --------------------------------------------------------------------------------------


def _limit_descriptors(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))


def test_at_the_descriptor_limit_new_callers_get_an_error_and_the_log_one_line(tmp_path: Path) -> None:
    # 64 descriptors for the emulator, 90 idle connections: the emulator cannot accept any more of them.
    cli = CliServer("basic.echo", preexec_fn=lambda: _limit_descriptors(64))
    idle: list[socket.socket] = []
    try:
        idle = [socket.create_connection(("127.0.0.1", cli.port)) for _ in range(90)]
        callers = []
        for _ in range(3):  # a burst of callers
            caller = socket.create_connection(("127.0.0.1", cli.port))
            caller.sendall(_request(b"{}"))
            callers.append(caller)
        answers = [_status_or_closed(caller) for caller in callers]
        assert "silence" not in answers, answers
        assert any(answer.startswith("HTTP/1.1 503") for answer in answers), answers
        log = cli.log()
        assert len(log) < 50_000, log[-3000:]
        assert log.count("descriptor limit") == 1, log[-3000:]
        assert "Traceback" not in log, log[-3000:]
        for sock in idle:  # the idle connections go: descriptors free up, and callers are served again
            sock.close()
        idle = []
        served = wait_until(lambda: _post_status(cli.port) == 200, timeout=20)
        assert served, cli.log()[-3000:]
    finally:
        for sock in idle:
            sock.close()
        cli.kill()


def _post_status(port: int) -> int:
    try:
        return requests.post(f"http://127.0.0.1:{port}{INVOKE_PATH}", data=b"{}", timeout=10).status_code
    except requests.RequestException:
        return 0


# -- slow and unreading clients ---------------------------------------------------------------------------------


def test_slow_clients_are_cut_after_the_client_timeout(serve: Any) -> None:
    emulator = serve("basic.echo", client_timeout=1.0)
    head_only = []
    for _ in range(20):  # a request head that never ends
        sock = socket.create_connection(("127.0.0.1", emulator.port))
        sock.sendall(f"POST {INVOKE_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode())
        head_only.append(sock)
    body_short = []
    for _ in range(20):  # a body that never arrives in full
        sock = socket.create_connection(("127.0.0.1", emulator.port))
        sock.sendall(f"POST {INVOKE_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{{".encode())
        body_short.append(sock)
    silent = [socket.create_connection(("127.0.0.1", emulator.port)) for _ in range(20)]  # nothing at all
    give_up = time.monotonic() + 15  # for all of them together: the client timeout is 1 s
    try:
        answers = [_status_or_closed(sock, give_up - time.monotonic()) for sock in head_only + silent + body_short]
        assert set(answers[:40]) == {"closed"}, answers
        assert set(answers[40:]) <= {"closed", "HTTP/1.1 408 Request Timeout"}, answers
        assert _invoke(emulator.url, {"ok": 1}, timeout=10).json() == {"ok": 1}  # and callers are served
    finally:
        for sock in head_only + body_short + silent:
            sock.close()


def test_answers_nobody_reads_are_dropped_and_memory_stays_bounded() -> None:
    # Two rounds of 30 callers who never read a 5 MB answer. Each round's answers are dropped after the client
    # timeout, so the second round reuses the first one's memory instead of adding to it (about 220 MB a round
    # when they are kept for as long as the callers stay connected).
    cli = CliServer("basic.big", "--client-timeout", "1", "--concurrency", "4", "--queue-size", "100")
    unreading: list[socket.socket] = []
    try:
        assert cli.post(b'{"size": 10}')[0] == 200
        baseline = _rss_mb(cli.process.pid)
        body = json.dumps({"size": 5_000_000}).encode()
        for round_number in (1, 2):
            for _ in range(30):
                sock = socket.socket()
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # read nothing, buffer little
                sock.connect(("127.0.0.1", cli.port))
                sock.sendall(_request(body))
                unreading.append(sock)
            dropped = 30 * round_number
            wait_until(lambda: cli.log().count("stopped reading its answer") >= dropped, timeout=60)  # noqa: B023
            assert cli.log().count("stopped reading its answer") == dropped, cli.log()[-3000:]
        grown = _rss_mb(cli.process.pid) - baseline
        assert grown < 200, f"the emulator grew by {grown:.0f} MB"
        assert {_status_or_closed(sock) for sock in unreading} <= {"closed", "HTTP/1.1 200 OK"}
        assert cli.post(b'{"size": 10}')[0] == 200
    finally:
        for sock in unreading:
            sock.close()
        cli.kill()


# -- the runtime goes with the emulator -------------------------------------------------------------------------


def test_a_killed_emulator_takes_its_frozen_runtime_and_its_children_with_it() -> None:
    cli = CliServer("children.spawn")
    runtime_pid: int | None = None
    try:
        status, body = cli.post(b"{}")  # the runtime is frozen (SIGSTOP) until the next event now, its child too
        assert status == 200, body
        child_pid = json.loads(body)["child"]
        started = cli.wait_for_line("runtime started, pid ")
        runtime_pid = int(re.search(r"runtime started, pid (\d+)", started).group(1))  # type: ignore[union-attr]
        assert wait_until(lambda: process_state(runtime_pid) == "T" and process_state(child_pid) == "T", timeout=10)
        os.kill(cli.process.pid, signal.SIGKILL)
        cli.process.wait(10)
        gone = wait_until(lambda: process_state(runtime_pid) in (None, "Z"), timeout=10)
        assert gone, f"runtime pid {runtime_pid} is still there, state {process_state(runtime_pid)}"
        assert wait_until(lambda: group_gone(runtime_pid), timeout=10), f"child {process_state(child_pid)}"
    finally:
        cli.kill()
        if runtime_pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(runtime_pid, signal.SIGKILL)
