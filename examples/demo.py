"""`make demo`: the background-tasks example on the local emulator, the way a user would run it.

Starts `lambda-runtime serve app.handler` in examples/background_tasks, invokes it a few times, shows how fast each
caller was answered next to the billed duration the emulator reports (which covers the deferred work), then stops it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

EXAMPLE = Path(__file__).parent / "background_tasks"
WORK_SECONDS = "2"
MESSAGES = ["hello", "deferred work", "goodbye"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_listening(port: int, emulator: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if emulator.poll() is not None:
            sys.exit(f"the emulator exited early with status {emulator.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit("the emulator did not start listening")


def wait_for_records(path: Path, count: int, timeout: float = 30.0) -> list[dict[str, object]]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= count:
            return [json.loads(line) for line in lines]
        time.sleep(0.05)
    sys.exit("the emulator did not report every invocation")


def main() -> None:
    port = free_port()
    report = Path(tempfile.mkdtemp()) / "report.jsonl"
    command = [
        sys.executable,
        "-m",
        "lambda_runtime.emulator",
        "serve",
        "app.handler",
        "--port",
        str(port),
        "--timeout",
        "10",
        "--report-file",
        str(report),
    ]
    env = {**os.environ, "BACKGROUND_WORK_SECONDS": WORK_SECONDS}
    print(f"$ BACKGROUND_WORK_SECONDS={WORK_SECONDS} lambda-runtime serve app.handler --port {port} --timeout 10\n")
    emulator = subprocess.Popen(command, cwd=EXAMPLE, env=env)
    try:
        wait_until_listening(port, emulator)
        url = f"http://127.0.0.1:{port}/2015-03-31/functions/function/invocations"
        answered_ms = []
        for message in MESSAGES:
            started = time.perf_counter()
            response = requests.post(url, json={"message": message}, timeout=30)
            answered_ms.append((time.perf_counter() - started) * 1000)
            print(f"--> {response.status_code} {response.text}  (caller answered in {answered_ms[-1]:.1f} ms)")
            # One environment serves one event at a time: like Lambda, it is busy until its deferred work is done
            # (Lambda would send a concurrent caller to another environment), so wait for the REPORT line.
            records = wait_for_records(report, len(answered_ms))
        print("\nWhat the caller waited for vs what was billed (the deferred job ran after the answer):")
        for message, waited, record in zip(MESSAGES, answered_ms, records, strict=True):
            cold = f" (cold start, init {record['init_ms']:.0f} ms)" if record.get("init_ms") else ""
            print(f"  {message!r:17} answered in {waited:7.1f} ms, billed {record['billed_ms']:>5} ms{cold}")
    finally:
        emulator.send_signal(signal.SIGTERM)
        emulator.wait(timeout=30)
    print("\nThe emulator and its runtime stopped cleanly.")


if __name__ == "__main__":
    main()
