"""Response streaming, measured from a client: ``python -m benchmarks run streaming [--rounds N] [--out FILE]``.

Time to first byte: a handler yields 10 chunks 100 ms apart; streamed (``InvokeWithResponseStream``) against the same
chunks joined and returned buffered (``Invoke``). Both from the request's start at the client; for the stream also
from the handler's first yield (each chunk carries the time it was yielded), the goal being within 5 ms. Rounds
alternate the two modes. Throughput: one 50 MB stream of 64 KB chunks, read raw by the client, in MB/s, against the
loopback limit (the same bytes over a plain TCP socket in this process), with the runtime's peak RSS (the
emulator's ``max_memory_used_mb``). One emulator process per handler, so the client never shares its GIL. Results
are printed and written as JSON to ``--out`` (default: a new file next to the work directory; never over
benchmarks/results).
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import Scenario
from benchmarks.procs import EmulatorProcess
from benchmarks.stats import summarize

STREAM_PATH = "/2021-11-15/functions/function/response-streaming-invocations"
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
MB = 1024 * 1024


def first_byte(port: int, path: str) -> tuple[float, float, bytes]:
    """POST ``{}``; returns (ms to the first body byte, epoch of that byte, everything read)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    started = time.perf_counter()
    connection.request("POST", path, body=b"{}")
    response = connection.getresponse()
    first = response.read1(65536)
    at, elapsed_ms = time.time(), (time.perf_counter() - started) * 1000
    rest = response.read()
    connection.close()
    return elapsed_ms, at, first + rest


def _yielded_at(data: bytes) -> float:
    """The epoch the handler wrote into its first chunk (inside an event-stream frame or a plain body)."""
    start = data.index(b" chunk 0")
    return float(data[start - 17 : start])


def time_to_first_byte(workdir: Path, rounds: int) -> dict[str, Any]:
    streamed, buffered, after_yield = [], [], []
    emulators = {
        name: EmulatorProcess(name, "ours", f"bench_streaming.{name}", workdir)
        for name in ("paced_stream", "paced_buffered")
    }
    try:
        for emulator in emulators.values():
            emulator.start()
        ports = {name: emulator.wait_ready() for name, emulator in emulators.items()}
        for round_index in range(rounds + 1):  # round 0 is the cold start: not counted
            order = ["paced_stream", "paced_buffered"][:: 1 if round_index % 2 else -1]
            for name in order:
                path = STREAM_PATH if name == "paced_stream" else INVOKE_PATH
                elapsed_ms, at, data = first_byte(ports[name], path)
                if not round_index:
                    continue
                if name == "paced_stream":
                    streamed.append(elapsed_ms)
                    after_yield.append((at - _yielded_at(data)) * 1000)
                else:
                    buffered.append(elapsed_ms)
    finally:
        for emulator in emulators.values():
            emulator.stop()
    return {
        "streamed_ttfb_ms": summarize(streamed),
        "buffered_ttfb_ms": summarize(buffered),
        "streamed_first_yield_to_client_ms": summarize(after_yield),
    }


def loopback_mb_s(size: int, chunk: int = 65536) -> float:
    """The same bytes over a plain TCP loopback socket, sender and reader threads in this process."""
    server = socket.create_server(("127.0.0.1", 0))
    block = b"x" * chunk

    def send() -> None:
        connection, _ = server.accept()
        with connection:
            for _ in range(size // chunk):
                connection.sendall(block)

    sender = threading.Thread(target=send)
    sender.start()
    with socket.create_connection(server.getsockname()) as client:
        started, received = time.perf_counter(), 0
        while received < size and (data := client.recv(1 << 20)):
            received += len(data)
        elapsed = time.perf_counter() - started
    sender.join()
    server.close()
    return size / MB / elapsed


def throughput(workdir: Path, rounds: int, size: int) -> dict[str, Any]:
    emulator = EmulatorProcess("big", "ours", "bench_streaming.big", workdir, timeout_s=120)
    rates, peaks = [], []
    try:
        emulator.start()
        port = emulator.wait_ready()
        body = json.dumps({"bytes": size}).encode()
        for _ in range(rounds):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            started = time.perf_counter()
            connection.request("POST", STREAM_PATH, body=body)
            response = connection.getresponse()
            received = 0
            while data := response.read1(1 << 20):
                received += len(data)
            elapsed = time.perf_counter() - started
            connection.close()
            assert received >= size, f"only {received} bytes arrived"
            rates.append(size / MB / elapsed)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            records = [json.loads(line) for line in emulator.report.read_text().splitlines() if line.strip()]
            if len(records) >= rounds:
                break
            time.sleep(0.05)
        peaks = [r["max_memory_used_mb"] for r in records]
    finally:
        emulator.stop()
    return {
        "megabytes": size / MB,
        "stream_mb_s": summarize(rates),
        "loopback_mb_s": summarize(loopback_mb_s(size) for _ in range(rounds)),
        "runtime_peak_rss_mb": peaks,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rounds", type=int, default=10, help="time-to-first-byte rounds per mode (default: %(default)s)"
    )
    parser.add_argument("--big-rounds", type=int, default=3, help="50 MB streams (default: %(default)s)")
    parser.add_argument("--megabytes", type=int, default=50, help="size of the big stream (default: %(default)s)")


def measure(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    started = time.time()
    result = {
        "rounds": args.rounds,
        "ttfb": time_to_first_byte(workdir, args.rounds),
        "throughput": throughput(workdir, args.big_rounds, args.megabytes * MB),
    }
    result["seconds"] = round(time.time() - started, 1)
    return result


def report(result: dict[str, Any]) -> str:
    ttfb, big = result["ttfb"], result["throughput"]
    streamed, buffered = ttfb["streamed_ttfb_ms"], ttfb["buffered_ttfb_ms"]
    after = ttfb["streamed_first_yield_to_client_ms"]
    return "\n".join(
        [
            f"time to first byte, median of {streamed['n']} (p99): streamed {streamed['p50']:.1f} ms "
            f"({streamed['p99']:.1f}), buffered {buffered['p50']:.1f} ms ({buffered['p99']:.1f})",
            f"streamed: first yield to first byte at the client {after['p50']:.2f} ms median, "
            f"{after['p99']:.2f} ms p99, {after['max']:.2f} ms max (goal: within 5 ms)",
            f"{big['megabytes']:.0f} MB stream: {big['stream_mb_s']['p50']:.0f} MB/s median "
            f"(loopback socket {big['loopback_mb_s']['p50']:.0f} MB/s), runtime peak RSS "
            f"{big['runtime_peak_rss_mb']} MB",
        ]
    )


SCENARIO = Scenario(
    name="streaming",
    summary=(__doc__ or "").split(":")[0],
    add_arguments=add_arguments,
    measure=measure,
    render=report,
)

if __name__ == "__main__":
    raise SystemExit(SCENARIO.main(prog="python -m benchmarks.streaming"))
