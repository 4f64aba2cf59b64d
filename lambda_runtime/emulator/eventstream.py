"""The ``application/vnd.amazon.eventstream`` framing of InvokeWithResponseStream's reply.

A message: total length (u32), headers length (u32), CRC32 of those 8 bytes, headers, payload, CRC32 of all that
precedes it (botocore/eventstream.py checks both). A header: name length (u8), name, type 7 (string), value length
(u16), value. Events carry ``:event-type``, ``:content-type`` and ``:message-type: event``.
"""

from __future__ import annotations

import json
import struct
from binascii import crc32

_STRING = 7


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return struct.pack("!B", len(raw_name)) + raw_name + struct.pack("!BH", _STRING, len(raw_value)) + raw_value


def message(event_type: str, content_type: str, payload: bytes) -> bytes:
    """One event message."""
    headers = (
        _header(":event-type", event_type) + _header(":content-type", content_type) + _header(":message-type", "event")
    )
    prelude = struct.pack("!II", 12 + len(headers) + len(payload) + 4, len(headers))
    prelude += struct.pack("!I", crc32(prelude))
    body = prelude + headers + payload
    return body + struct.pack("!I", crc32(body))


def payload_chunk(data: bytes) -> bytes:
    return message("PayloadChunk", "application/octet-stream", data)


def invoke_complete(error_code: str | None, error_details: str | None, log_result: str | None) -> bytes:
    fields = {"ErrorCode": error_code, "ErrorDetails": error_details, "LogResult": log_result}
    return message("InvokeComplete", "application/json", json.dumps({k: v for k, v in fields.items() if v}).encode())
