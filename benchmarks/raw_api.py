"""``python -m benchmarks.raw_api [--starts N] [--rounds R] [--events N] [--publish | --out DIR]``: the runtime's own
costs measured on a minimal Runtime API, so that no server cost hides them.

The server is this process: blocking raw sockets, one listening port per runtime, replies built before the clock
starts, no HTTP library, no thread hand-off (the project's `runtime_api_server.py` passes every request between threads,
which adds tens of µs per request to every runtime alike and so shrinks the ratios). Interleaved, medians:

- **cold start**: process start (just before `Popen`) → its first `/next` arrives; one process per sample, the
  runtimes alternating, for a no-op handler and for one that imports boto3 (``bench_boto3``);
- **loop overhead**: `/next` answered → `/response` received, per invocation, no-op handler: ours, awslambdaric,
  and the floor (`floor_runtime.py`, a kept-alive `http.client` loop), served one invocation each in turn, R rounds
  of N invocations each. Ratios are medians of per-round ratios of the per-round medians.

Results go to ``benchmarks/results/local/raw_api.json`` (untracked) unless ``--publish``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from benchmarks import published
from benchmarks.procs import start_runtime
from benchmarks.runtime_api_server import ACCEPTED, invocation

RESULTS = Path(__file__).parent / "results"
RUNTIMES = ("ours", "awslambdaric", "floor")
COLD_HANDLERS = {"noop": "bench_handlers.noop", "boto3": "bench_boto3.handler"}


def event_reply(n: int) -> bytes:
    return invocation(f"8476a536-e9f4-11e8-9739-{n:012x}", int(time.time() * 1000) + 600_000)


class Peer:
    """One runtime's side of the API: its listening socket, its current connection, unread bytes."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.conn: socket.socket | None = None
        self.buf = b""

    def request(self, timeout: float = 60.0) -> tuple[bytes, float]:
        """The next whole request's head, and perf_counter() when its last byte arrived."""
        while True:
            if self.conn is None:
                self.listener.settimeout(timeout)
                self.conn, _ = self.listener.accept()
                self.conn.settimeout(timeout)
                self.conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.buf = b""
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                head = self.buf[:end]
                at = head.lower().find(b"\r\ncontent-length:")
                length = int(head[at + 17 :].split(b"\r\n", 1)[0]) if at >= 0 else 0
                if len(self.buf) >= end + 4 + length:
                    self.buf = self.buf[end + 4 + length :]
                    return head, time.perf_counter()
            chunk = self.conn.recv(262144)
            if not chunk:  # the runtime closed this connection: take its next one
                self.conn.close()
                self.conn = None
                continue
            self.buf += chunk

    def send(self, data: bytes) -> float:
        assert self.conn is not None
        self.conn.sendall(data)
        return time.perf_counter()

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.listener.close()


@contextlib.contextmanager
def runtime(name: str, handler: str, peer: Peer) -> Iterator[subprocess.Popen[bytes]]:
    with open(os.devnull, "wb") as log:
        proc = start_runtime(name, handler, peer.port, log)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def cold_start(name: str, handler: str) -> float:
    """ms from just before the process is started to its first `/next`."""
    peer = Peer()
    try:
        started = time.perf_counter()
        with runtime(name, handler, peer):
            head, arrived = peer.request()
            assert head.startswith(b"GET "), head[:60]
        return (arrived - started) * 1000
    finally:
        peer.close()


def loop_round(peer: Peer, events: list[bytes]) -> list[tuple[float, float]]:
    """Serve `events` to the runtime behind `peer`, whose `/next` is pending. Per event, in µs: event sent →
    `/response` received (the loop overhead), and event sent → the following `/next` received (the whole cycle,
    the post-response phase included). Returns with the runtime's next `/next` pending again."""
    samples = []
    for event in events:
        sent = peer.send(event)
        head, received = peer.request()
        while not head.startswith(b"POST"):  # tolerate a stray request: answer it and go on
            peer.send(ACCEPTED)
            head, received = peer.request()
        peer.send(ACCEPTED)
        head, again = peer.request()  # its next /next
        samples.append(((received - sent) * 1e6, (again - sent) * 1e6))
    return samples


def measure(starts: int, rounds: int, events: int) -> dict[str, Any]:
    return {**measure_cold(starts), **measure_loop(rounds, events)}


def measure_cold(starts: int) -> dict[str, Any]:
    cold: dict[str, dict[str, list[float]]] = {
        kind: {n: [] for n in ("ours", "awslambdaric")} for kind in COLD_HANDLERS
    }
    for i in range(starts):
        for kind, handler in COLD_HANDLERS.items():
            for name in ("ours", "awslambdaric") if i % 2 == 0 else ("awslambdaric", "ours"):
                cold[kind][name].append(cold_start(name, handler))
    return {"cold_start_ms": cold}


def measure_loop(rounds: int, events: int) -> dict[str, Any]:
    """Each round serves `events` invocations to every runtime, one invocation at a time in turn (A B C A B C ...):
    the machine's load, which drifts by tens of % on a shared host, hits all three alike. Per round: each runtime's
    median overhead."""
    loop: dict[str, list[float]] = {name: [] for name in RUNTIMES}
    cycle: dict[str, list[float]] = {name: [] for name in RUNTIMES}
    with contextlib.ExitStack() as stack:
        peers = {name: Peer() for name in RUNTIMES}
        for name, peer in peers.items():
            stack.callback(peer.close)
            stack.enter_context(runtime(name, "bench_handlers.noop", peer))
            peer.request()  # its first /next
        replies = [event_reply(n) for n in range(events)]
        for name in RUNTIMES:  # warm-up: caches, pool threads
            loop_round(peers[name], replies[: max(50, events // 5)])
        for r in range(rounds):
            samples: dict[str, list[tuple[float, float]]] = {name: [] for name in RUNTIMES}
            for i, reply in enumerate(replies):
                turn = (i + r) % len(RUNTIMES)
                for name in RUNTIMES[turn:] + RUNTIMES[:turn]:
                    samples[name] += loop_round(peers[name], [reply])
            for name in RUNTIMES:
                loop[name].append(statistics.median(overhead for overhead, _ in samples[name]))
                cycle[name].append(statistics.median(whole for _, whole in samples[name]))
    return {"loop_overhead_us_per_round": loop, "cycle_us_per_round": cycle}


def summarize(raw: dict[str, Any]) -> dict[str, Any]:
    def stats(values: list[float]) -> dict[str, float]:
        return {"p50": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}

    cold = {
        kind: {name: stats(values) for name, values in by_name.items()}
        for kind, by_name in raw["cold_start_ms"].items()
    }
    loop, cycle = raw["loop_overhead_us_per_round"], raw["cycle_us_per_round"]

    def ratio(figures: dict[str, list[float]], other: str) -> dict[str, float]:
        return stats([a / b for a, b in zip(figures["ours"], figures[other], strict=True)])

    ratios = {
        "ours_over_floor": ratio(loop, "floor"),
        "ours_over_awslambdaric": ratio(loop, "awslambdaric"),
        "cycle_ours_over_floor": ratio(cycle, "floor"),
        "cycle_ours_over_awslambdaric": ratio(cycle, "awslambdaric"),
    }
    boto_gap = cold["boto3"]["ours"]["p50"] - cold["boto3"]["awslambdaric"]["p50"]
    goals = [
        {
            "goal": "cold start, boto3 handler: ours within 5 ms of awslambdaric (raw socket API)",
            "value": boto_gap,
            "shown": f"{boto_gap:+.1f} ms",
            "met": boto_gap <= 5.0,
        },
        {
            "goal": "loop overhead: ours <= 1.15x the http.client loop (raw socket API)",
            "value": ratios["ours_over_floor"]["p50"],
            "shown": f"{ratios['ours_over_floor']['p50']:.2f}x",
            "met": ratios["ours_over_floor"]["p50"] <= 1.15,
        },
    ]
    return {
        "cold_start_ms": cold,
        "loop_overhead_us": {name: stats(values) for name, values in loop.items()},
        "cycle_us": {name: stats(values) for name, values in cycle.items()},
        "loop_ratios": ratios,
        "goals": goals,
    }


def spread(s: dict[str, float]) -> str:
    return f"{s['p50']:.0f} ({s['min']:.0f}-{s['max']:.0f})"


def render(result: dict[str, Any]) -> str:
    lines = [
        "| cold start (process start → first /next) | ours ms | awslambdaric ms | ours - ric |",
        "|---|---:|---:|---:|",
    ]
    for kind, by_name in result["cold_start_ms"].items():
        ours, ric = by_name["ours"], by_name["awslambdaric"]
        lines.append(
            f"| {kind} handler (n={ours['n']}) | {ours['p50']:.1f} ({ours['min']:.0f}-{ours['max']:.0f}) | "
            f"{ric['p50']:.1f} ({ric['min']:.0f}-{ric['max']:.0f}) | {ours['p50'] - ric['p50']:+.1f} |"
        )
    lines += [
        "",
        "| no-op handler, p50 µs (min-max of rounds) | /next answered → /response received | → next /next |",
        "|---|---:|---:|",
    ]
    for name, s in result["loop_overhead_us"].items():
        c = result["cycle_us"][name]
        lines.append(f"| {name} | {spread(s)} | {spread(c)} |")
    r = result["loop_ratios"]

    def shown(key: str) -> str:
        return f"{r[key]['p50']:.2f}x ({r[key]['min']:.2f}-{r[key]['max']:.2f})"

    lines += [
        "",
        f"ours / floor: {shown('ours_over_floor')}, whole cycle {shown('cycle_ours_over_floor')}; "
        f"ours / awslambdaric: {shown('ours_over_awslambdaric')}, whole cycle {shown('cycle_ours_over_awslambdaric')}",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.raw_api", description=__doc__)
    parser.add_argument("--starts", type=int, default=20, help="cold starts per runtime and handler")
    parser.add_argument("--rounds", type=int, default=15, help="loop rounds per runtime")
    parser.add_argument("--events", type=int, default=400, help="invocations per loop round")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--out", type=Path, default=RESULTS / "local", help="where raw_api.json goes (untracked)")
    where.add_argument("--publish", action="store_true", help="add the run to results/published/raw_api-*.json")
    args = parser.parse_args(argv)
    meta = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": ["python", "-m", "benchmarks.raw_api", *(argv if argv is not None else sys.argv[1:])],
        "python": sys.version,
        "cpu_model": published.cpu_model(),
        "cpu_count": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
    }
    raw = measure(args.starts, args.rounds, args.events)
    meta["load_average_at_end"] = os.getloadavg()
    result = {"meta": meta, **summarize(raw), "raw": raw}
    print(render(result))
    if args.publish:
        path = published.add(result, prefix="raw_api")
        print(f"\npublished as {path}\n\n{published.render(published.last_runs(prefix='raw_api'))}")
    else:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "raw_api.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        print(f"\nwrote {args.out / 'raw_api.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
