"""Load: what deferring costs and saves under an open-loop request rate, on an emulator that scales out like Lambda.

``python -m benchmarks.load [--rates 20,50,100] [--seconds 10] [--kind io] [--concurrency 10] [--out DIR]``

Each (mode, rate) pair gets a fresh emulator (`lambda-runtime serve`, scale-out defaults: up to ``--concurrency``
environments, no queue, 429 beyond) running our runtime with a handler doing C = 5 ms of critical work and
D = 50 ms of deferrable work: ``inline`` does both before the response, ``deferred`` defers D. Requests are sent
open-loop: request i leaves at t0 + i / rate whatever happened to the earlier ones (a thread pool, one kept-alive
connection per thread), so a slow answer never slows the arrivals; client latency counts from the planned send
time (no coordinated omission). ``io`` work (sleep, the default) stands for waiting on a downstream call: on two
shared cores, 100 requests/s of 55 ms CPU work would measure the machine, not the concurrency model.

Per run: client p50/p99 (ms, successful answers), environments used and cold starts (from the emulator's records:
distinct ``environment``, records with ``init_ms``), total billed ms, 429s, other failures. The results go to a
new pair of files, ``load-<UTC time>.json`` and ``.png`` in ``benchmarks/results`` (or ``--out``); nothing there
is ever overwritten.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import http.client
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.client import INVOKE_PATH, ReportTail, encode
from benchmarks.procs import EmulatorProcess
from benchmarks.stats import summarize

RESULTS = Path(__file__).parent / "results"
#: critical_only: C alone, the baseline (what the function would need if the deferrable work did not exist).
MODES = {
    "critical_only": "bench_handlers.handler_only",
    "inline": "bench_handlers.inline",
    "deferred": "bench_handlers.deferred",
}
C_MS, D_MS = 5.0, 50.0


class OpenLoopClient:
    """Sends request i at ``t0 + i / rate`` from a pool of threads, each with its own kept-alive connection."""

    def __init__(self, port: int, workers: int) -> None:
        self.port = port
        self.local = threading.local()
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="load")
        self.results: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.t0 = 0.0

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        return conn

    def _call(self, planned: float, body: bytes) -> None:
        conn = self._connection()
        try:
            conn.request("POST", INVOKE_PATH, body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            status, request_id = response.status, response.getheader("X-Amzn-RequestId") or ""
            failed = response.getheader("X-Amz-Function-Error") is not None
        except (OSError, http.client.HTTPException):
            conn.close()
            self.local.conn = None
            status, request_id, failed = 0, "", True
        client_ms = (time.perf_counter() - planned) * 1000
        result = {"status": status, "request_id": request_id, "failed": failed, "client_ms": client_ms}
        result["planned_s"] = planned - self.t0
        with self.lock:
            self.results.append(result)

    def run(self, rate: float, seconds: float, body: bytes) -> None:
        count = int(rate * seconds)
        self.t0 = t0 = time.perf_counter() + 0.05
        for i in range(count):
            planned = t0 + i / rate
            delay = planned - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            self.pool.submit(self._call, planned, body)
        self.pool.shutdown(wait=True)


def run_one(
    mode: str, rate: float, seconds: float, kind: str, concurrency: int, warmup: float, workdir: Path
) -> dict[str, Any]:
    name = f"load-{mode}-{rate:g}"
    emulator = EmulatorProcess(name, "ours", MODES[mode], workdir, timeout_s=30.0)
    emulator.command += ["--concurrency", str(concurrency), "--queue-size", "0"]
    with emulator:
        port = emulator.wait_ready()
        client = OpenLoopClient(port, workers=max(32, int(rate)))
        body = encode({"kind": kind, "c_ms": C_MS, "d_ms": D_MS, "ipm": 0})
        client.run(rate, seconds, body)
        tail = ReportTail(emulator.report)
        answered = [r for r in client.results if r["status"] == 200]
        for result in answered:  # every invocation answered ends: its record comes (deferred work included)
            tail.wait(result["request_id"], timeout=120)
    records = [tail.records[r["request_id"]] for r in answered]
    first_received = min((r["received_at"] for r in records), default=0.0)
    ok = [r["client_ms"] for r in answered if not r["failed"]]
    client_ms = summarize(ok)
    steady = [r for r in client.results if r["planned_s"] >= warmup]
    steady_ms = summarize(r["client_ms"] for r in steady if r["status"] == 200 and not r["failed"])
    return {
        "mode": mode,
        "rate": rate,
        "seconds": seconds,
        "sent": len(client.results),
        "ok": len(ok),
        "throttled_429": sum(r["status"] == 429 for r in client.results),
        "failed": sum(r["status"] not in (200, 429) or r["failed"] for r in client.results),
        "client_p50_ms": client_ms["p50"],
        "client_p99_ms": client_ms["p99"],
        "environments": len({r["environment"] for r in records if r.get("environment") is not None}),
        "cold_starts": sum(r.get("init_ms") is not None for r in records),
        "billed_ms_total": sum(r.get("billed_ms") or 0 for r in records),
        "billed_ms_p50": summarize(r.get("billed_ms") for r in records)["p50"],
        "init_ms_total": sum(r.get("init_ms") or 0 for r in records),
        # After the first `warmup` seconds: the cold-start burst is over (on 2 shared cores, ten inits at once
        # take over a second each, where Lambda starts them on separate hosts).
        "steady_from_s": warmup,
        "steady_p50_ms": steady_ms["p50"],
        "steady_p99_ms": steady_ms["p99"],
        "steady_429": sum(r["status"] == 429 for r in steady),
        "steady_peak_busy": peak_busy(records, first_received + warmup),
    }


def peak_busy(records: Sequence[dict[str, Any]], since: float) -> int:
    """Most invocations in progress at once (delivered, not yet ended) from epoch second ``since`` on: how many
    environments the load needs once the cold-start burst is over."""
    edges = []
    for r in records:
        start, end = r.get("delivered_at"), r.get("next_at")
        if start is not None and end is not None and end >= since:
            edges += [(max(start, since), 1), (end, -1)]
    busy = peak = 0
    for _, step in sorted(edges, key=lambda e: (e[0], e[1])):
        busy += step
        peak = max(peak, busy)
    return peak


def table(runs: Sequence[dict[str, Any]]) -> str:
    head = (
        "| mode | rate/s | sent | ok | 429s | client p50 / p99 ms | steady p50 / p99 ms | steady 429s "
        "| environments (cold starts) | steady peak busy | billed ms total | billed ms p50 |"
    )
    lines = [head, "|" + "---|" * 12]
    for r in runs:
        lines.append(
            f"| {r['mode']} | {r['rate']:g} | {r['sent']} | {r['ok']} | {r['throttled_429']} "
            f"| {r['client_p50_ms']:.1f} / {r['client_p99_ms']:.1f} | {r['steady_p50_ms']:.1f} / "
            f"{r['steady_p99_ms']:.1f} | {r['steady_429']} | {r['environments']} ({r['cold_starts']}) "
            f"| {r['steady_peak_busy']} "
            f"| {r['billed_ms_total']} | {r['billed_ms_p50']:.0f} |"
        )
    return "\n".join(lines)


def chart(runs: Sequence[dict[str, Any]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"critical_only": "#7f7f7f", "inline": "#d62728", "deferred": "#2ca02c"}
    figure, (latency, envs, throttled, billed) = plt.subplots(1, 4, figsize=(19, 4.6))
    for mode, color in colors.items():
        mine = [r for r in runs if r["mode"] == mode]
        rates = [r["rate"] for r in mine]
        latency.plot(rates, [r["steady_p50_ms"] for r in mine], "o-", color=color, label=f"{mode} p50 (steady)")
        latency.plot(rates, [r["steady_p99_ms"] for r in mine], "s--", color=color, label=f"{mode} p99 (steady)")
        latency.plot(rates, [r["client_p99_ms"] for r in mine], "^:", color=color, label=f"{mode} p99 (all)")
        envs.plot(rates, [r["environments"] for r in mine], "o-", color=color, label=f"{mode} environments")
        envs.plot(rates, [r["steady_peak_busy"] for r in mine], "s--", color=color, label=f"{mode} peak busy")
        throttled.plot(rates, [r["throttled_429"] for r in mine], "x-", color=color, label=f"{mode} all")
        throttled.plot(rates, [r["steady_429"] for r in mine], "o:", color=color, label=f"{mode} steady")
        billed.plot(rates, [r["billed_ms_total"] / 1000 for r in mine], "o-", color=color, label=mode)
    latency.set(title="client latency (from the planned send)", xlabel="requests/s", ylabel="ms", yscale="log")
    envs.set(title="environments started (= cold starts), peak busy (steady)", xlabel="requests/s", ylabel="count")
    throttled.set(title="429 TooManyRequestsException", xlabel="requests/s", ylabel="answers")
    billed.set(title="total billed duration", xlabel="requests/s", ylabel="billed seconds")
    for ax in (latency, envs, throttled, billed):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="20,50,100", help="requests per second, comma-separated")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long each rate is sent")
    parser.add_argument("--kind", choices=["io", "cpu"], default="io", help="the work: sleep (io) or a busy loop")
    parser.add_argument("--concurrency", type=int, default=10, help="the emulator's reserved concurrency")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds left out of the steady-state figures")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for the new load-*.json/.png")
    args = parser.parse_args(argv)
    if args.kind == "cpu":
        parser.error("--kind cpu needs a calibrated loop (python -m benchmarks does it); not offered here yet")
    rates = [float(r) for r in args.rates.split(",")]
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    args.out.mkdir(parents=True, exist_ok=True)
    json_path, png_path = args.out / f"load-{stamp}.json", args.out / f"load-{stamp}.png"
    if json_path.exists() or png_path.exists():
        parser.error(f"{json_path} exists: results are never overwritten")
    runs = []
    with tempfile.TemporaryDirectory(prefix="load-bench-") as work:
        for rate in rates:
            for mode in MODES:  # side by side at each rate, so that drifts of the machine hit both alike
                runs.append(run_one(mode, rate, args.seconds, args.kind, args.concurrency, args.warmup, Path(work)))
                print(json.dumps(runs[-1]), file=sys.stderr, flush=True)
    meta = {
        "date": stamp,
        "command": ["python", "-m", "benchmarks.load", *(argv if argv is not None else sys.argv[1:])],
        "work": f"C = {C_MS:g} ms critical, D = {D_MS:g} ms deferrable, kind {args.kind}",
        "concurrency": args.concurrency,
        "cpu_count": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
    }
    json_path.write_text(json.dumps({"meta": meta, "runs": runs}, indent=2) + "\n")
    title = f"open-loop load, C {C_MS:g} ms + D {D_MS:g} ms ({args.kind}), concurrency {args.concurrency}"
    with contextlib.suppress(ImportError):
        chart(runs, png_path, title)
    print(table(runs))
    print(f"\nwritten: {json_path} {png_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
