"""A minimal Runtime API for the loop-only measurement (a separate process; standard library only).

    python benchmarks/loop_server.py K     # prints "ports P1 .. PK", then reads commands on stdin

One listening port per runtime under test. A runtime's `/next` is held until the command ``serve I N`` arrives;
port I then hands out N pre-made events as fast as its runtime asks for them and answers every post with 202.
When the runtime's (N+1)-th `/next` arrives, it prints ``done I TOTAL_NS C1 C2 ...``: the time from sending the
first event to that `/next` (N whole cycles: event → handler → post → drain → `/next`) and each cycle in ns.
EOF or ``quit`` ends it. Raw sockets, no HTTP library: the server's own cost is a few µs per request.
"""

from __future__ import annotations

import socket
import sys
import threading
import time

ARN = "arn:aws:lambda:us-east-1:000000000000:function:bench"
EVENT = b"{}"
ACCEPTED = b'HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{"status":"OK"}\n'
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_print_lock = threading.Lock()


def make_event(n: int, deadline_ms: int) -> bytes:
    rid = f"8476a536-e9f4-11e8-9739-{n:012x}"
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        f"Lambda-Runtime-Aws-Request-Id: {rid}\r\nLambda-Runtime-Deadline-Ms: {deadline_ms}\r\n"
        f"Lambda-Runtime-Invoked-Function-Arn: {ARN}\r\nLambda-Runtime-Invocation-Id: {rid}\r\n"
        "Lambda-Runtime-Trace-Id: Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1\r\n"
        f"Content-Length: {len(EVENT)}\r\n\r\n"
    )
    return head.encode() + EVENT


class Port:
    """The state of one runtime's API: events still to serve in this batch, and the batch's clock."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.cond = threading.Condition()
        self.events: list[bytes] = []
        self.served = 0
        self.marks: list[int] = []  # perf_counter_ns at each event sent, then at the final /next

    def serve(self, n: int) -> None:
        deadline_ms = int(time.time() * 1000) + 10 * 60 * 1000
        events = [make_event(i, deadline_ms) for i in range(n)]
        with self.cond:
            self.events, self.served, self.marks = events, 0, []
            self.cond.notify_all()

    def next_event(self) -> bytes:
        now = time.perf_counter_ns()
        with self.cond:
            if self.events and self.served == len(self.events):  # the (N+1)-th /next: the batch is over
                self.marks.append(now)
                self.events = []
                cycles = [b - a for a, b in zip(self.marks, self.marks[1:], strict=False)]
                line = f"done {self.index} {self.marks[-1] - self.marks[0]} " + " ".join(map(str, cycles))
                with _print_lock:
                    print(line, flush=True)
            while self.served >= len(self.events):
                self.cond.wait()
            event = self.events[self.served]
            self.served += 1
            self.marks.append(time.perf_counter_ns())
            return event


def handle(sock: socket.socket, port: Port) -> None:
    buf = b""
    with sock:
        while True:
            while b"\r\n\r\n" not in buf:
                chunk = sock.recv(65536)
                if not chunk:
                    return
                buf += chunk
            head, _, buf = buf.partition(b"\r\n\r\n")
            lower = head.lower()
            if b"expect: 100-continue" in lower:
                sock.sendall(CONTINUE)
            if b"transfer-encoding: chunked" in lower:
                while b"0\r\n\r\n" not in buf:
                    buf += sock.recv(65536)
                buf = buf.partition(b"0\r\n\r\n")[2]
            elif (at := lower.find(b"\r\ncontent-length:")) >= 0:
                length = int(lower[at + 17 :].split(b"\r\n", 1)[0])
                while len(buf) < length:
                    buf += sock.recv(65536)
                buf = buf[length:]
            sock.sendall(port.next_event() if head.startswith(b"GET ") else ACCEPTED)


def listen(port: Port, listener: socket.socket) -> None:
    while True:
        sock, _ = listener.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=handle, args=(sock, port), daemon=True).start()


def main() -> int:
    count = int(sys.argv[1])
    ports = [Port(i) for i in range(count)]
    listeners = [socket.create_server(("127.0.0.1", 0)) for _ in ports]
    for port, listener in zip(ports, listeners, strict=True):
        threading.Thread(target=listen, args=(port, listener), daemon=True).start()
    print("ports " + " ".join(str(s.getsockname()[1]) for s in listeners), flush=True)
    for line in sys.stdin:
        words = line.split()
        if words[:1] == ["serve"]:
            ports[int(words[1])].serve(int(words[2]))
        elif words[:1] == ["quit"]:
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
