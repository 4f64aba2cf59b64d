"""Runtime-loop overhead of the HTTP transports: (GET /next, POST /response) against a fake Runtime API.

The fake API is a raw-socket HTTP/1.1 keep-alive server (Runtime-API-like headers, 202 to posts) in a separate
process, one thread per connection. Modes run interleaved in rounds; per mode we report the median over rounds
of the mean µs per iteration, and its ratio to awslambdaric's native client.

By default client and server are pinned to the same CPU (--pin same): on a 2-vCPU VM, cross-CPU wakeups cost
more than the clients themselves and vary 2-4x from run to run, which buries the effect being measured; on one
CPU an iteration is client work + server work + two context switches, reproducible within a few percent.

    .venv/bin/python benchmarks/loop_overhead_transport.py [-n 5000] [-r 7] [--pin same|split|none]
    .venv/bin/python benchmarks/loop_overhead_transport.py -n 3000 --profile lean_send [--sort cumulative]
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import multiprocessing as mp
import os
import pstats
import socket
import statistics
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection

import requests

from lambda_runtime.api.transport import lean_session

EVENT = b'{"key1": "value1", "key2": "value2", "key3": "value3"}'
RESULT = b'{"statusCode": 200, "body": "hello"}'
API = "/2018-06-01/runtime"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:bench"
DATE = "Date: Mon, 24 Nov 2025 01:00:00 GMT\r\n"


def _next_response(n: int) -> bytes:
    # Header set of the real Runtime API's /next answer.
    deadline = int(time.time() * 1000) + 900_000
    return (
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        f"Lambda-Runtime-Aws-Request-Id: 8476a536-e9f4-11e8-9739-{n:012x}\r\n"
        f"Lambda-Runtime-Deadline-Ms: {deadline}\r\nLambda-Runtime-Invoked-Function-Arn: {ARN}\r\n"
        f"Lambda-Runtime-Trace-Id: Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1\r\n"
        f"{DATE}Content-Length: {len(EVENT)}\r\n\r\n"
    ).encode() + EVENT


ACCEPTED = (
    f'HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\n{DATE}Content-Length: 16\r\n\r\n{{"status":"OK"}}\n'
).encode()


def _serve_connection(sock: socket.socket) -> None:
    buf, n = b"", 0
    with sock:
        while True:
            while b"\r\n\r\n" not in buf:
                chunk = sock.recv(65536)
                if not chunk:
                    return
                buf += chunk
            head, _, buf = buf.partition(b"\r\n\r\n")
            lower = head.lower()
            if b"transfer-encoding: chunked" in lower:  # not expected, but never hang on it
                while not buf.endswith(b"0\r\n\r\n"):
                    buf += sock.recv(65536)
                buf = b""
            elif (at := lower.find(b"\r\ncontent-length:")) >= 0:
                length = int(lower[at + 17 :].split(b"\r\n", 1)[0])
                while len(buf) < length:
                    buf += sock.recv(65536)
                buf = buf[length:]
            n += 1
            sock.sendall(_next_response(n) if head.startswith(b"GET ") else ACCEPTED)


def _server(pipe: Connection, cpu: int | None) -> None:
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    listener = socket.create_server(("127.0.0.1", 0))
    pipe.send(listener.getsockname()[1])
    while True:
        sock, _ = listener.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=_serve_connection, args=(sock,), daemon=True).start()


def make_modes(port: int) -> dict[str, Callable[[int], None]]:
    base = f"http://127.0.0.1:{port}{API}"
    next_url, inv = f"{base}/invocation/next", f"{base}/invocation/"
    modes: dict[str, Callable[[int], None]] = {}

    plain = requests.Session()

    def requests_default(n: int) -> None:
        for _ in range(n):
            r = plain.get(next_url)
            plain.post(inv + r.headers["Lambda-Runtime-Aws-Request-Id"] + "/response", data=RESULT)

    lean = lean_session()

    def lean_request(n: int) -> None:  # lean_session through the convenience API (session.get/post)
        for _ in range(n):
            r = lean.get(next_url)
            lean.post(inv + r.headers["Lambda-Runtime-Aws-Request-Id"] + "/response", data=RESULT)

    get_next = lean.prepare_request(requests.Request("GET", next_url))
    post_tpl = lean.prepare_request(requests.Request("POST", inv + "ID/response", data=b""))
    send = lean.send

    def lean_send(n: int) -> None:  # the recommended usage: prepared once, copied per invocation
        for _ in range(n):
            r = send(get_next)
            post = post_tpl.copy()
            post.url, post.body = inv + r.headers["Lambda-Runtime-Aws-Request-Id"] + "/response", RESULT
            send(post)

    adapter_send = lean.get_adapter(next_url).send

    def adapter_direct(n: int) -> None:  # bypassing Session.send (no hooks, redirects, elapsed)
        for _ in range(n):
            r = adapter_send(get_next)
            post = post_tpl.copy()
            post.url, post.body = inv + r.headers["Lambda-Runtime-Aws-Request-Id"] + "/response", RESULT
            adapter_send(post)

    conn = http.client.HTTPConnection("127.0.0.1", port)
    next_path, inv_path = f"{API}/invocation/next", f"{API}/invocation/"
    post_headers = {"Content-Type": "application/json"}

    def raw_http_client(n: int) -> None:  # the floor for anything built on http.client
        for _ in range(n):
            conn.request("GET", next_path)
            resp = conn.getresponse()
            resp.read()
            conn.request(
                "POST", inv_path + resp.headers["Lambda-Runtime-Aws-Request-Id"] + "/response", RESULT, post_headers
            )
            conn.getresponse().read()

    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    get_bytes = f"GET {next_path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    post_head = f"HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(RESULT)}\r\n\r\n".encode() + RESULT
    next_len, accepted_len = len(_next_response(0)), len(ACCEPTED)

    def socket_floor(n: int) -> None:  # server + kernel cost alone: canned bytes, no HTTP parsing
        for _ in range(n):
            sock.sendall(get_bytes)
            got = b""
            while len(got) < next_len:
                got += sock.recv(65536)
            request_id = got.split(b"Lambda-Runtime-Aws-Request-Id: ", 1)[1][:36]
            sock.sendall(b"POST " + inv_path.encode() + request_id + b"/response " + post_head)
            got = b""
            while len(got) < accepted_len:
                got += sock.recv(65536)

    modes.update(
        requests_default=requests_default,
        lean_request=lean_request,
        lean_send=lean_send,
        adapter_direct=adapter_direct,
        http_client=raw_http_client,
        socket_floor=socket_floor,
    )
    try:
        # runtime_client reads AWS_LAMBDA_RUNTIME_API when awslambdaric's client module is imported.
        os.environ["AWS_LAMBDA_RUNTIME_API"] = f"127.0.0.1:{port}"
        from awslambdaric.lambda_runtime_client import LambdaRuntimeClient

        ric = LambdaRuntimeClient(f"127.0.0.1:{port}")

        def awslambdaric(n: int) -> None:
            for _ in range(n):
                invocation = ric.wait_next_invocation()
                ric.post_invocation_result(invocation.invoke_id, RESULT)

        modes["awslambdaric"] = awslambdaric
    except ImportError as error:
        print(f"awslambdaric unavailable: {error}")
    return modes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=5000, help="iterations per mode per round")
    parser.add_argument("-r", "--rounds", type=int, default=7)
    parser.add_argument("--profile", metavar="MODE", help="cProfile one mode instead of benchmarking")
    parser.add_argument("--sort", default="tottime", help="pstats sort key for --profile")
    parser.add_argument(
        "--pin", choices=("same", "split", "none"), default="same", help="CPU placement of client and server"
    )
    args = parser.parse_args()

    parent, child = mp.Pipe()
    cpus = sorted(os.sched_getaffinity(0))
    client_cpu, server_cpu = {"same": (cpus[0], cpus[0]), "split": (cpus[0], cpus[-1])}.get(args.pin, (None, None))
    server = mp.Process(target=_server, args=(child, server_cpu), daemon=True)
    server.start()
    if client_cpu is not None:
        os.sched_setaffinity(0, {client_cpu})
    modes = make_modes(parent.recv())
    for run in modes.values():
        run(200)  # warm up: connections open, caches filled

    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(modes[args.profile], args.n)
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(40)
        server.terminate()
        return

    samples: dict[str, list[float]] = {name: [] for name in modes}
    for _ in range(args.rounds):
        for name, run in modes.items():
            start = time.perf_counter()
            run(args.n)
            samples[name].append((time.perf_counter() - start) / args.n * 1e6)

    base = statistics.median(samples.get("awslambdaric", samples["http_client"]))
    print(f"{args.rounds} rounds x {args.n} iterations (GET next + POST response), µs/iteration")
    print(f"{'mode':18} {'median':>8} {'min':>8} {'max':>8} {'ratio to awslambdaric':>22}")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"{name:18} {median:8.1f} {min(values):8.1f} {max(values):8.1f} {median / base:22.2f}")
    server.terminate()


if __name__ == "__main__":
    main()
