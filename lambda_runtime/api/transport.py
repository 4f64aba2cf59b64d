"""A lean `requests` transport for the Lambda Runtime API: one kept-alive `http.client` connection.

requests' default HTTPAdapter runs urllib3's pool, Retry and URL/header machinery on every call (~1 ms per
invocation). The Runtime API is one local plain-HTTP peer used one request at a time, so a persistent
`http.client.HTTPConnection` is enough. Callers still get a real `requests.Response` and requests' exception
types, so retry policies written against requests keep working. Not thread-safe: one session per thread.
"""

from __future__ import annotations

import functools
import http.client
import io
import socket
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol, cast
from urllib.parse import urlsplit

import requests
from requests import exceptions as rexc
from requests.adapters import BaseAdapter
from requests.models import PreparedRequest, Response
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

USER_AGENT = "lambda-runtime-python/0.1"
_Timeout = float | tuple[float, float] | tuple[float, None] | None
# Written by the adapter itself: Content-Length from the body actually sent (so a copied prepared request may
# get a new body without a stale length), and Accept-Encoding: identity since we never decode.
_OWN_HEADERS = frozenset({"content-length", "transfer-encoding", "accept-encoding"})
# The send phase failing like this on a reused socket is the stale keep-alive case (peer closed it idle).
_STALE_SEND = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


class StreamBody(Protocol):
    """A streamed request body: chunks sent as they come (chunked encoding), then the trailers it reports."""

    def __iter__(self) -> Iterator[bytes]: ...

    def trailers(self) -> Mapping[str, str]: ...


class _Stale(Exception):
    """A reused connection failed before any response byte arrived: the request may be sent again."""


class _Response(http.client.HTTPResponse):
    """HTTPResponse with a lean header parser; read() (Content-Length, chunked, until-close) is unchanged.

    http.client parses headers with the email package, ~20 µs per response and the largest client cost of
    an invocation; the Runtime API sends a few one-line headers, so splitting lines here costs ~3 µs. The
    framing attributes are derived as HTTPResponse.begin does. `headers`/`msg` stay None: read `fields`.
    """

    _method: str | None
    fields: CaseInsensitiveDict[str]

    def __init__(self, sock: socket.socket, deadline: float | None = None, **kwargs: Any) -> None:
        super().__init__(sock, **kwargs)
        if deadline is not None:
            # Every read waits only for what is left of the deadline: a peer dripping one byte at a time would
            # otherwise restart the socket timeout with each byte.
            # detach(), not close(): the socket file keeps its reference on the socket, so a `Connection: close`
            # reply is not cut off when http.client closes the connection before the body is read.
            self.fp = io.BufferedReader(_DeadlineReader(self.fp.detach(), sock, deadline))

    def begin(self) -> None:
        # peek() waits for the first byte without consuming it (no extra syscall). Nothing read means the peer
        # dropped the request unanswered: RemoteDisconnected, the one failure the adapter may resend. Later
        # failures happen mid-response and are never resent.
        try:
            started = self.fp.peek(1)
        except _STALE_SEND as exc:
            raise http.client.RemoteDisconnected("connection lost before the response started") from exc
        if not started:
            raise http.client.RemoteDisconnected("connection closed before the response started")
        status, items = 100, list[tuple[str, str]]()
        while status == 100:  # an interim 100 Continue has no body: skip it
            line = self._line().decode("latin-1").rstrip("\r\n")
            version, _, rest = line.partition(" ")
            code, _, reason = rest.partition(" ")
            if not (version.startswith("HTTP/1.") and len(code) == 3 and code.isdigit()):
                raise http.client.BadStatusLine(line)
            status, items = int(code), []
            while (field := self._line()) not in (b"\r\n", b"\n"):
                if not field:  # EOF inside the head: http.client would take it for an empty body
                    raise http.client.IncompleteRead(b"")
                if field[:1] in b" \t" and items:  # obsolete line folding: continues the previous value
                    items[-1] = (items[-1][0], f"{items[-1][1]} {field.decode('latin-1').strip()}")
                    continue
                name, _, value = field.decode("latin-1").partition(":")
                items.append((name.strip(), value.strip()))
        fields = CaseInsensitiveDict(items)
        if len(fields) != len(items):  # repeated fields: join them the way urllib3 does
            fields = CaseInsensitiveDict()
            for name, value in items:
                fields[name] = f"{fields[name]}, {value}" if name in fields else value
        self.fields, self.code, self.status, self.reason = fields, status, status, reason.strip()
        self.version = 10 if version == "HTTP/1.0" else 11
        connection = fields.get("connection", "").lower()
        self.will_close = "close" in connection if self.version == 11 else "keep-alive" not in connection
        self.chunked, self.chunk_left = fields.get("transfer-encoding", "").lower() == "chunked", None
        length = fields.get("content-length", "")
        self.length = int(length) if length.isdigit() and not self.chunked else None
        if status in (204, 304) or status < 200 or self._method == "HEAD":
            self.length = 0
        elif self.length is None and not self.chunked:
            self.will_close = True  # the body runs until the peer closes

    def _line(self) -> bytes:
        line = self.fp.readline(65537)
        if len(line) > 65536:
            raise http.client.LineTooLong("status or header line")
        return line


class _DeadlineReader(io.RawIOBase):
    """A socket file whose reads are bounded by one monotonic deadline for the whole response."""

    def __init__(self, raw: Any, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self.raw, self.sock, self.deadline = raw, sock, deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("timed out: the response took longer than the timeout")
        self.sock.settimeout(remaining)
        count: int = self.raw.readinto(buffer)
        return count

    def close(self) -> None:
        self.raw.close()
        super().close()


class _Connection(http.client.HTTPConnection):
    body: bytes | None = None  # set just before endheaders()
    deadline: float | None = None  # monotonic; set before each request that has a timeout

    def response_class(self, sock: socket.socket, **kwargs: Any) -> _Response:  # type: ignore[override]
        return _Response(sock, deadline=self.deadline, **kwargs)

    def send(self, data: Any) -> None:
        # endheaders(body) sends headers and body in two segments: two syscalls and two server wakeups.
        # endheaders() passes the header block through here, so the body joins it in one send.
        if self.body is not None:
            data, self.body = data + self.body, None
        super().send(data)


@functools.lru_cache(maxsize=16)
def _origin(origin: str) -> tuple[str, int]:
    parts = urlsplit(origin)
    if parts.scheme != "http" or not parts.hostname:
        raise rexc.InvalidURL(f"KeepAliveAdapter only speaks plain http://host URLs, not {origin!r}")
    return parts.hostname, parts.port or 80


class KeepAliveAdapter(BaseAdapter):
    """Sends each request over one persistent connection per (host, port), created on first use."""

    def __init__(self) -> None:
        super().__init__()
        self._conns: dict[tuple[str, int], _Connection] = {}

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: _Timeout = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> Response:
        """Send `request` and return the fully read response (`stream` is ignored: responses are small).

        A body that is an iterable (a `StreamBody`) is sent chunked, each chunk as it comes, then its trailers.
        """
        # Split by hand: the origin is cached, and a prepared URL always has a path ("/" at least).
        scheme, _, rest = (request.url or "").partition("://")
        netloc, slash, path = rest.partition("/")
        host_port = _origin(f"{scheme}://{netloc}")
        conn = self._conns.get(host_port)
        if conn is None:
            conn = self._conns[host_port] = _Connection(*host_port)
        raw: Any = request.body
        chunks: Iterator[bytes] | None = None
        if raw is None or isinstance(raw, (bytes, str)):
            body = raw.encode() if isinstance(raw, str) else raw
        else:  # an iterable (a generator, a StreamBody): sent chunked, as requests' own adapter does
            chunks = iter(cast(Iterable[bytes], raw))
            # Taken now, so that a resend after _Stale starts from the same first chunk.
            body = _frame(next(chunks, b""))
        args = (conn, request, slash + path.partition("#")[0], body, timeout, chunks)
        try:
            try:
                response = self._exchange(*args)
            except _Stale:
                # Resend once, on a fresh connection. Nothing was read, so normally the peer closed the idle
                # socket without seeing the request. Worst case it did take a POST and then dropped the
                # connection: we resend the *same* bytes for the *same* invocation id and the Runtime API
                # refuses a second result for an invocation, so two different results are never delivered.
                # A fresh connection's failure is not resent: the caller's retry policy decides.
                conn.close()
                response = self._exchange(*args)
        except rexc.RequestException:  # ConnectTimeout from _exchange: an OSError too, so keep it as is
            conn.close()
            raise
        except TimeoutError as exc:
            conn.close()
            raise rexc.ReadTimeout(exc, request=request) from exc
        except (OSError, http.client.HTTPException) as exc:
            conn.close()  # a socket in an unknown state: the next request reconnects
            raise rexc.ConnectionError(exc, request=request) from exc
        except BaseException:  # a signal (SIGTERM, Ctrl-C) mid-exchange: the socket is in an unknown state too
            conn.close()
            raise
        if chunks is not None:
            # The Runtime API's streaming mode: the connection is closed after the last chunk (AWS docs,
            # runtimes-custom "Response streaming"); the next request opens a fresh one.
            conn.close()
        return response

    def _exchange(
        self,
        conn: _Connection,
        request: PreparedRequest,
        path: str,
        body: bytes | None,
        timeout: _Timeout,
        chunks: Iterator[bytes] | None = None,
    ) -> Response:
        # None must mean "block forever": the /next long poll waits while the sandbox is frozen. Otherwise the read
        # timeout is a total for the request: sending (sendall's timeout is a total) and the whole response.
        connect_t, read_t = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        conn.deadline = None if read_t is None else time.monotonic() + read_t
        reused = conn.sock is not None  # http.client drops sock after `Connection: close` or an error
        if not reused:
            conn.timeout = connect_t
            try:
                conn.connect()
            except TimeoutError as exc:
                raise rexc.ConnectTimeout(exc, request=request) from exc
        if conn.deadline is not None:
            conn.sock.settimeout(max(conn.deadline - time.monotonic(), 0.001))
        elif conn.sock.gettimeout() is not None:  # settimeout is a syscall: only on change
            conn.sock.settimeout(None)
        headers = request.headers
        # Before putrequest: a body without len() (a stream) must fail without leaving a half-sent request.
        length = str(len(body)) if body is not None else "0" if request.method in ("POST", "PUT", "PATCH") else ""
        try:
            conn.putrequest(request.method or "GET", path, skip_host="host" in headers)
            for name, value in headers.items():
                if name.lower() not in _OWN_HEADERS:
                    conn.putheader(name, value)
            if chunks is not None:
                conn.putheader("Transfer-Encoding", "chunked")
            elif length:
                conn.putheader("Content-Length", length)
            conn.body = body  # for a stream: the first chunk, framed, in the same send as the headers
            conn.endheaders()
        except _STALE_SEND as exc:
            if reused:
                raise _Stale from exc
            raise
        if chunks is not None:
            _send_chunks(conn, chunks, request.body)
        try:  # getresponse closes conn.sock itself after `Connection: close` / HTTP/1.0
            raw = cast(_Response, conn.getresponse())
        except http.client.RemoteDisconnected as exc:  # nothing was read: see _Response.begin
            if reused:
                raise _Stale from exc
            raise
        response = Response()
        response._content = raw.read()
        response._content_consumed = True  # type: ignore[attr-defined]  # iter_content serves _content
        response.status_code, response.reason, response.headers = raw.status, raw.reason, raw.fields
        response.encoding = get_encoding_from_headers(raw.fields)
        response.url, response.request = request.url or "", request
        response.connection = self  # type: ignore[assignment]  # stubs say HTTPAdapter; any adapter is fine
        return response

    def close(self) -> None:
        for conn in self._conns.values():
            conn.close()
        self._conns.clear()


def _frame(chunk: bytes) -> bytes:
    """One chunk of a chunked body (RFC 9112 section 7.1); an empty chunk would end the body, so it is skipped."""
    return b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunk else b""


def _send_chunks(conn: _Connection, chunks: Iterator[bytes], body: Any) -> None:
    """Send each chunk as soon as the iterator yields it (no buffering), then the last chunk and the trailers."""
    for chunk in chunks:
        if len(chunk) < 65536:
            conn.send(_frame(chunk))
        elif chunk:  # a large chunk is not copied into a frame: three sends
            conn.send(b"%x\r\n" % len(chunk))
            conn.send(chunk)
            conn.send(b"\r\n")
    trailers = body.trailers() if callable(getattr(body, "trailers", None)) else {}
    fields = "".join(f"{name}: {value}\r\n" for name, value in trailers.items())
    conn.send(b"0\r\n" + fields.encode("latin-1") + b"\r\n")


def lean_session() -> requests.Session:
    """A Session for the Runtime API: KeepAliveAdapter on http://, no environment lookups, minimal headers."""
    session = requests.Session()
    session.trust_env = False  # no per-request proxy/.netrc lookups; the Runtime API is never proxied
    # Only a User-Agent: no gzip negotiation (the adapter does not decode; payloads are small and local),
    # and keep-alive is already the HTTP/1.1 default.
    session.headers = CaseInsensitiveDict({"User-Agent": USER_AGENT})
    for adapter in session.adapters.values():
        adapter.close()
    session.adapters.clear()  # so get_adapter matches on the first prefix it tries
    session.mount("http://", KeepAliveAdapter())
    return session
