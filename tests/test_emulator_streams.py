"""The emulator's streaming parts in isolation: the trailer tap and the event-stream framing botocore reads."""

from __future__ import annotations

from botocore.eventstream import EventStreamBuffer

from lambda_runtime.emulator.eventstream import invoke_complete, payload_chunk
from lambda_runtime.emulator.trailers import FramingTap

_REQUESTS = (
    b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n"
    b"POST /response HTTP/1.1\r\nContent-Length: 12\r\n\r\n0\r\nX-Not: me\r\n"
    b"POST /response HTTP/1.1\r\nTransfer-Encoding: chunked\r\nLambda-Runtime-Function-Response-Mode: streaming\r\n"
    b"Trailer: Lambda-Runtime-Function-Error-Type\r\n\r\n"
    b"5\r\n0\r\n\r\n\r\n3;ext=1\r\nabc\r\n0\r\nLambda-Runtime-Function-Error-Type: ValueError\r\nX-B: 1\r\n\r\n"
    b"POST /response HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-Plain: not streamed\r\n\r\n"
)


def test_the_tap_keeps_the_trailers_of_streamed_posts_however_the_bytes_are_split():
    for step in (1, 2, 7, len(_REQUESTS)):
        tap = FramingTap()
        for start in range(0, len(_REQUESTS), step):
            tap.feed(_REQUESTS[start : start + step])
        assert list(tap.trailers) == [{"lambda-runtime-function-error-type": "ValueError", "x-b": "1"}], step


def test_event_stream_frames_parse_with_botocore():
    buffer = EventStreamBuffer()
    buffer.add_data(payload_chunk(b"\x00data") + invoke_complete("ValueError", "boom", None))
    first, second = list(buffer)
    assert first.headers == {
        ":event-type": "PayloadChunk",
        ":content-type": "application/octet-stream",
        ":message-type": "event",
    }
    assert first.payload == b"\x00data"
    assert second.headers[":event-type"] == "InvokeComplete"
    assert second.payload == b'{"ErrorCode": "ValueError", "ErrorDetails": "boom"}'
