"""The Runtime API of the loop-only measurement (a separate process), on `runtime_api_server.RuntimeApiServer`.

    python -m benchmarks.loop_server K     # prints "ports P1 .. PK", then reads commands on stdin

One listening port per runtime under test. A runtime's `/next` is held until the command ``serve I N`` arrives;
port I then hands out N pre-made events as fast as its runtime asks for them and answers every post with 202.
When the runtime's (N+1)-th `/next` arrives, it prints ``done I TOTAL_NS C1 C2 ...``: the time from sending the
first event to that `/next` (N whole cycles: event → handler → post → drain → `/next`) and each cycle in ns.
EOF or ``quit`` ends it.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time

from benchmarks.runtime_api_server import ACCEPTED, Request, RuntimeApiServer, invocation

_print_lock = threading.Lock()


def make_event(n: int, deadline_ms: int) -> bytes:
    return invocation(f"8476a536-e9f4-11e8-9739-{n:012x}", deadline_ms)


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

    def respond(self, request: Request) -> bytes:
        return self.next_event() if request.method == "GET" else ACCEPTED


def main() -> int:
    count = int(sys.argv[1])
    ports = [Port(i) for i in range(count)]
    with contextlib.ExitStack() as servers:
        apis = [servers.enter_context(RuntimeApiServer(port.respond)) for port in ports]
        print("ports " + " ".join(str(api.port) for api in apis), flush=True)
        for line in sys.stdin:
            words = line.split()
            if words[:1] == ["serve"]:
                ports[int(words[1])].serve(int(words[2]))
            elif words[:1] == ["quit"]:
                break
    return 0


if __name__ == "__main__":
    sys.exit(main())
