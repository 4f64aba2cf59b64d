"""The minimal Runtime API server (benchmarks/runtime_api_server.py) reads whole requests as a runtime sends them."""

from __future__ import annotations

import http.client
import socket

from benchmarks.runtime_api_server import ACCEPTED, Request, RuntimeApiServer, invocation, response


def test_a_chunked_post_with_trailers_then_a_next_on_the_same_connection():
    seen: list[Request] = []

    def respond(request: Request) -> bytes:
        seen.append(request)
        return invocation("req-7", 1_900_000_000_000, b'{"n":7}') if request.method == "GET" else ACCEPTED

    with RuntimeApiServer(respond) as api, socket.create_connection(("127.0.0.1", api.port)) as sock:
        sock.sendall(
            b"POST /2018-06-01/runtime/invocation/req-6/response HTTP/1.1\r\nHost: x\r\n"
            b"Transfer-Encoding: chunked\r\nExpect: 100-continue\r\nTrailer: Lambda-Runtime-Function-Error-Type\r\n\r\n"
        )
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nLambda-Runtime-Function-Error-Type: E\r\n\r\n")
        reader = sock.makefile("rb")
        assert reader.readline() == b"HTTP/1.1 202 Accepted\r\n"
        while reader.readline() != b"\r\n":
            pass
        assert reader.read(16) == b'{"status":"OK"}\n'
        sock.sendall(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
        assert reader.readline() == b"HTTP/1.1 200 OK\r\n"
    assert [(r.method, r.body, r.connection) for r in seen] == [("POST", b"hello world", 1), ("GET", b"", 1)]
    assert seen[1].path == "/2018-06-01/runtime/invocation/next"


def test_a_reply_that_says_connection_close_closes_it_and_the_next_request_comes_on_a_new_one():
    seen: list[Request] = []

    def respond(request: Request) -> bytes:
        seen.append(request)
        return response(410, b"gone", {"Content-Type": "text/plain"}, close=len(seen) == 1)

    with RuntimeApiServer(respond) as api:
        client = http.client.HTTPConnection("127.0.0.1", api.port, timeout=30)
        for _ in range(2):
            client.request("POST", "/x", body=b"{}", headers={"Lambda-Runtime-Invocation-Id": "inv"})
            answer = client.getresponse()
            assert (answer.status, answer.read()) == (410, b"gone")
        client.close()
    assert [r.connection for r in seen] == [1, 2]
    assert seen[0].headers["Lambda-Runtime-Invocation-Id"] == "inv" and seen[0].body == b"{}"
