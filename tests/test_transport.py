"""KeepAliveAdapter against a real TCP server on 127.0.0.1 (no mocks, no sleeps as synchronisation)."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from types import TracebackType

import pytest
import requests

from lambda_runtime.api.transport import USER_AGENT, KeepAliveAdapter, lean_session

pytestmark = pytest.mark.timeout(30)

Request = tuple[str, dict[str, str], bytes]


class Peer:
    """The server's side of one accepted connection."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.rfile = sock.makefile("rb")

    def read_request(self) -> Request | None:
        """(request line, lower-cased headers, body), or None when the client closed the connection."""
        line = self.rfile.readline()
        if not line:
            return None
        headers: dict[str, str] = {}
        while (field := self.rfile.readline()) not in (b"\r\n", b""):
            name, _, value = field.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = self.rfile.read(int(headers.get("content-length", "0")))
        return line.decode("latin-1").rstrip("\r\n"), headers, body

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close(self, reset: bool = False) -> None:
        if reset:  # SO_LINGER 0: close() sends RST instead of FIN
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()
        self.sock.close()


Handler = Callable[["Server", Peer, int], None]


class Server:
    """Accepts connections on 127.0.0.1:0 and runs `handler(server, peer, index)` for each in its own thread.

    Modelled on requests' tests/testserver/server.py. Handler exceptions are re-raised on exit.
    """

    def __init__(self, handler: Handler = lambda server, peer, _index: server.serve(peer)) -> None:
        self.handler = handler
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.accepted = 0
        self.requests: list[Request] = []  # filled by handlers through `serve`
        self.errors: list[BaseException] = []
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)

    def __enter__(self) -> Server:
        self._acceptor.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stopping = True
        socket.create_connection(("127.0.0.1", self.port)).close()  # wake accept()
        self._acceptor.join(10)
        self.listener.close()
        for thread in self._threads:
            thread.join(10)
        if self.errors and exc_type is None:
            raise self.errors[0]

    def _accept_loop(self) -> None:
        while True:
            sock, _ = self.listener.accept()
            if self._stopping:
                sock.close()
                return
            thread = threading.Thread(target=self._run, args=(Peer(sock), self.accepted), daemon=True)
            self.accepted += 1
            self._threads.append(thread)
            thread.start()

    def _run(self, peer: Peer, index: int) -> None:
        try:
            self.handler(self, peer, index)
        except BaseException as error:
            self.errors.append(error)
        finally:
            peer.close()

    def serve(self, peer: Peer, count: int | None = None, reply: Callable[[Request], bytes] | None = None) -> None:
        """Answer up to `count` requests on `peer` (all of them when None), recording each."""
        while count is None or count > 0:
            request = peer.read_request()
            if request is None:
                return
            self.requests.append(request)
            peer.send((reply or echo)(request))
            count = None if count is None else count - 1


def response(body: bytes = b"", status: str = "200 OK", headers: dict[str, str] | None = None) -> bytes:
    fields = {"Content-Type": "application/json", "Content-Length": str(len(body)), **(headers or {})}
    head = "".join(f"{name}: {value}\r\n" for name, value in fields.items())
    return f"HTTP/1.1 {status}\r\n{head}\r\n".encode() + body


def echo(request: Request) -> bytes:
    """A JSON description of the request, like the Runtime API's headers on a 200."""
    line, headers, body = request
    payload = json.dumps({"line": line, "headers": headers, "body": body.decode()}).encode()
    return response(payload, headers={"Lambda-Runtime-Aws-Request-Id": "req-1"})


def test_keep_alive_reuses_one_connection() -> None:
    with Server() as server, lean_session() as session:
        for _ in range(5):
            got = session.get(f"{server.url}/2018-06-01/runtime/invocation/next")
            assert got.status_code == 200
            assert got.reason == "OK"
            assert got.headers["lambda-runtime-aws-request-id"] == "req-1"
            assert isinstance(got.headers, requests.structures.CaseInsensitiveDict)
            assert got.encoding == "utf-8"
            assert isinstance(got.connection, KeepAliveAdapter)
            assert got.url == f"{server.url}/2018-06-01/runtime/invocation/next"
            assert got.json()["line"] == "GET /2018-06-01/runtime/invocation/next HTTP/1.1"
            posted = session.post(f"{server.url}/2018-06-01/runtime/invocation/req-1/response", data=b"{}")
            assert posted.json()["body"] == "{}"
    assert server.accepted == 1
    assert len(server.requests) == 10
    _line, headers, _body = server.requests[0]
    assert headers["user-agent"] == USER_AGENT
    assert headers["accept-encoding"] == "identity"
    assert "content-length" not in headers  # a GET without a body sends none
    assert server.requests[1][1]["content-length"] == "2"


def test_copied_prepared_request_with_new_body_gets_its_own_content_length() -> None:
    # The recommended per-invocation usage: one prepared template, prep.copy() and a new url/body each time.
    with Server() as server, lean_session() as session:
        template = session.prepare_request(requests.Request("POST", f"{server.url}/x", data=b"placeholder"))
        for invocation, body in (("a", b'{"n": 1}'), ("b", '{"s": "\u00e9\u20ac"}')):
            prep = template.copy()
            prep.url, prep.body = f"{server.url}/2018-06-01/runtime/invocation/{invocation}/response", body
            assert session.send(prep).status_code == 200
    (line_a, headers_a, body_a), (line_b, headers_b, body_b) = server.requests
    assert line_a.startswith("POST /2018-06-01/runtime/invocation/a/response ")
    assert (headers_a["content-length"], body_a) == ("8", b'{"n": 1}')
    assert line_b.startswith("POST /2018-06-01/runtime/invocation/b/response ")
    assert body_b == '{"s": "\u00e9\u20ac"}'.encode()  # str bodies go out as UTF-8
    assert headers_b["content-length"] == str(len(body_b))


@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
def test_server_closing_idle_connection_reconnects_transparently(reset: bool) -> None:
    closed = threading.Event()

    def handler(server: Server, peer: Peer, index: int) -> None:
        server.serve(peer, count=1 if index == 0 else None)
        if index == 0:  # the server drops the idle keep-alive connection
            peer.close(reset=reset)
            closed.set()

    with Server(handler) as server, lean_session() as session:
        assert session.get(f"{server.url}/first").status_code == 200
        assert closed.wait(10)
        second = session.post(f"{server.url}/second", data=b"result")
        assert second.status_code == 200
        assert second.json()["body"] == "result"
    assert server.accepted == 2
    assert [request[0].split()[1] for request in server.requests] == ["/first", "/second"]  # delivered once


@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
def test_unanswered_request_is_resent_at_most_once(reset: bool) -> None:
    # Dropped with no response byte: resent once on a fresh connection (see the adapter for why that is safe).
    def handler(server: Server, peer: Peer, index: int) -> None:
        if index == 0:
            server.serve(peer, count=1)
        peer.read_request()
        peer.close(reset=reset)  # no answer

    with Server(handler) as server, lean_session() as session:
        session.get(f"{server.url}/first")
        with pytest.raises(requests.ConnectionError):
            session.get(f"{server.url}/second")  # stale on the reused connection, then fails on a fresh one
    assert server.accepted == 2


def test_connection_close_is_honoured() -> None:
    after_close: list[bytes] = []

    def handler(server: Server, peer: Peer, index: int) -> None:
        if index == 0:
            server.serve(peer, count=1, reply=lambda _request: response(b"{}", headers={"Connection": "close"}))
            after_close.append(peer.sock.recv(1024))  # b"" once the client drops its end
        else:
            server.serve(peer)

    with Server(handler) as server, lean_session() as session:
        assert session.get(f"{server.url}/one").json() == {}
        assert session.get(f"{server.url}/two").status_code == 200
    assert server.accepted == 2
    assert after_close == [b""]  # nothing more was sent on the connection the server asked to close
    assert len(server.requests) == 2


def test_connection_refused_raises_connection_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    with lean_session() as session, pytest.raises(requests.ConnectionError) as caught:
        session.get(f"http://127.0.0.1:{port}/next")
    assert not isinstance(caught.value, requests.Timeout)


def test_read_timeout_on_stalled_server_then_reconnect() -> None:
    release = threading.Event()

    def handler(server: Server, peer: Peer, index: int) -> None:
        if index == 0:
            peer.read_request()
            release.wait(20)  # stall: no answer while the client waits
        else:
            server.serve(peer)

    with Server(handler) as server, lean_session() as session:
        try:
            with pytest.raises(requests.ReadTimeout):
                session.get(f"{server.url}/next", timeout=(5, 0.2))
        finally:
            release.set()
        assert session.get(f"{server.url}/next", timeout=5).status_code == 200  # on a fresh connection
    assert server.accepted == 2


def test_timeout_none_blocks_until_the_server_answers() -> None:
    received, release, done = threading.Event(), threading.Event(), threading.Event()
    outcome: list[requests.Response | BaseException] = []

    def reply(request: Request) -> bytes:
        if request[0].startswith("GET /next"):
            received.set()
            assert release.wait(20)
        return echo(request)

    def client(session: requests.Session, url: str) -> None:
        try:
            outcome.append(session.get(url, timeout=None))
        except BaseException as error:
            outcome.append(error)
        done.set()

    with Server(lambda server, peer, _index: server.serve(peer, reply=reply)) as server, lean_session() as session:
        # First a short timeout on the same connection: if it leaked into the next request, that would fail.
        assert session.get(f"{server.url}/warm", timeout=1.0).status_code == 200
        waiter = threading.Thread(target=client, args=(session, f"{server.url}/next"))
        waiter.start()
        assert received.wait(10)
        assert not done.wait(2.0)  # twice the earlier timeout later, the client is still waiting
        release.set()
        assert done.wait(10)
        waiter.join()
    assert isinstance(outcome[0], requests.Response), outcome
    assert outcome[0].status_code == 200
    assert server.accepted == 1


def test_chunked_response_body() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'5\r\n{"a":\r\n9\r\n "chunked\r\n2\r\n"}\r\n0\r\n\r\n'
    )

    def handler(server: Server, peer: Peer, _index: int) -> None:
        server.serve(peer, reply=lambda _request: chunked)

    with Server(handler) as server, lean_session() as session:
        assert session.get(f"{server.url}/chunked").json() == {"a": "chunked"}
        assert session.get(f"{server.url}/again").content == b'{"a": "chunked"}'
    assert server.accepted == 1  # the connection stays usable after a chunked body


def test_reset_mid_response_on_fresh_connection_is_not_resent() -> None:
    def handler(_server: Server, peer: Peer, _index: int) -> None:
        peer.read_request()
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
        peer.close(reset=True)

    with Server(handler) as server, lean_session() as session, pytest.raises(requests.ConnectionError):
        session.post(f"{server.url}/2018-06-01/runtime/invocation/x/response", data=b"result")
    assert server.accepted == 1


@pytest.mark.parametrize(
    "partial",
    [b"HTTP/1.1 202 Accepted\r\nContent-Length: 100\r\n\r\npartial", b"HTTP/1.1 202 Accepted\r\nContent-Len"],
    ids=["in-body", "in-headers"],
)
def test_truncated_response_on_reused_connection_is_not_resent(partial: bytes) -> None:
    # Response bytes arrived, so the server handled the request: a resend could deliver a result twice.
    def handler(server: Server, peer: Peer, _index: int) -> None:
        server.serve(peer, count=1)
        peer.read_request()
        peer.send(partial)  # then close (FIN)

    with Server(handler) as server, lean_session() as session:
        session.get(f"{server.url}/next")
        with pytest.raises(requests.ConnectionError):
            session.post(f"{server.url}/2018-06-01/runtime/invocation/x/response", data=b"result")
    assert server.accepted == 1


@pytest.mark.parametrize(
    ("raw", "status", "body", "headers"),
    [
        (b"HTTP/1.1 204 No Content\r\n\r\n", 204, b"", {}),
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok", 202, b"ok", {}),
        (b"HTTP/1.1 418\r\nContent-Length: 0\r\n\r\n", 418, b"", {}),
        (
            b"HTTP/1.1 200 OK\r\nA: 1\r\na: 2\r\nB: one\r\n two\r\nContent-Length: 0\r\n\r\n",
            200,
            b"",
            {"A": "1, 2", "B": "one two"},
        ),
        (
            b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the server closes",
            200,
            b"until the server closes",
            {},
        ),
    ],
    ids=["204", "100-continue", "no-reason", "repeated-and-folded", "http10-until-close"],
)
def test_response_framing(raw: bytes, status: int, body: bytes, headers: dict[str, str]) -> None:
    # The adapter parses the status line and headers itself; http.client still reads the body.
    def handler(server: Server, peer: Peer, _index: int) -> None:
        server.serve(peer, count=1, reply=lambda _request: raw)
        if raw.startswith(b"HTTP/1.1"):
            server.serve(peer)  # HTTP/1.0 without a length: the body ends when we close

    with Server(handler) as server, lean_session() as session:
        got = session.get(f"{server.url}/first")
        assert (got.status_code, got.content) == (status, body)
        assert {name: got.headers[name] for name in headers} == headers
        assert session.get(f"{server.url}/second").status_code == 200
    assert server.accepted == (2 if raw.startswith(b"HTTP/1.0") else 1)


@pytest.mark.parametrize("phase", ["head", "body"])
def test_the_timeout_is_a_total_for_a_dripping_response(phase: str) -> None:
    # One byte every 50 ms keeps each recv() well inside a 0.5 s socket timeout; only a total stops it.
    done = threading.Event()
    answer = response(b"x" * 400) if phase == "body" else response(b"", headers={"X-Long": "y" * 400})

    def handler(server: Server, peer: Peer, index: int) -> None:
        peer.read_request()
        for byte in answer:
            if done.wait(0.05):
                return
            try:
                peer.send(bytes([byte]))
            except OSError:  # the client gave up and closed: what the test waits for
                return

    with Server(handler) as server, lean_session() as session:
        started = time.monotonic()
        try:
            with pytest.raises(requests.ReadTimeout):
                session.post(f"{server.url}/response", data=b"{}", timeout=0.5)
            elapsed = time.monotonic() - started
        finally:
            done.set()
    # Dripping takes 20 s and more; the deadline ends it at 0.5 s (bound generous for a loaded machine).
    assert elapsed < 10


def test_connection_close_reply_whose_body_comes_later_is_read_whole() -> None:
    # With a timeout, the response reads through the deadline reader; http.client closes the connection before the
    # body is read when the reply says `Connection: close`, so the reader must keep the socket open until then.
    def handler(server: Server, peer: Peer, index: int) -> None:
        peer.read_request()
        peer.send(b"HTTP/1.1 202 Accepted\r\nContent-Length: 5\r\nConnection: close\r\n\r\n")
        threading.Event().wait(0.2)  # the body arrives in a later segment than the head
        peer.send(b"hello")

    with Server(handler) as server, lean_session() as session:
        reply = session.post(f"{server.url}/response", data=b"{}", timeout=5)
    assert reply.status_code == 202 and reply.content == b"hello"


class _Body:
    """A streamed body (transport.StreamBody): chunks from a generator, trailers once it is over."""

    def __init__(self, chunks: list[bytes], gate: threading.Event | None = None) -> None:
        self.chunks, self.gate = chunks, gate

    def __iter__(self):
        for index, chunk in enumerate(self.chunks):
            if index == 1 and self.gate is not None:
                assert self.gate.wait(20), "the server never saw chunk 1"
            yield chunk

    def trailers(self) -> dict[str, str]:
        return {"X-Error": "none"}


def test_an_iterable_body_is_sent_chunked_each_chunk_as_it_comes_then_trailers_and_the_connection_closes() -> None:
    seen_first = threading.Event()
    raw: list[bytes] = []
    closed_after = threading.Event()

    def handler(server: Server, peer: Peer, index: int) -> None:
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            head += peer.rfile.read(1)
        raw.append(head)
        first = peer.rfile.readline() + peer.rfile.readline()
        raw.append(first)
        seen_first.set()  # only now does the body yield its second chunk: the first was not held back
        body = b""
        while not body.endswith(b"0\r\nX-Error: none\r\n\r\n"):
            body += peer.rfile.read(1)
        raw.append(body)
        peer.send(response(b"{}", "202 Accepted"))
        if peer.rfile.read(1) == b"":
            closed_after.set()

    with Server(handler) as server:
        session = lean_session()
        request = requests.Request("POST", f"{server.url}/r", headers={"Trailer": "X-Error"}).prepare()
        request.body = _Body([b"one", b"", b"three"], seen_first)  # type: ignore[assignment]
        assert session.send(request, timeout=20).status_code == 202
        assert closed_after.wait(20)
    head = raw[0].decode().lower()
    assert "transfer-encoding: chunked" in head and "trailer: x-error" in head and "content-length" not in head
    assert raw[1] == b"3\r\none\r\n"
    assert raw[2] == b"5\r\nthree\r\n0\r\nX-Error: none\r\n\r\n"  # the empty chunk is skipped, not sent as "0"
