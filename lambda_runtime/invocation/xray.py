"""The X-Ray error cause posted with an invocation error (`Lambda-Runtime-Function-XRay-Error-Cause`).

Same JSON as awslambdaric's `make_xray_fault` (bootstrap.py): `working_directory`, `exceptions[{message, type,
stack[{label, path, line}]}]`, `paths`. awslambdaric drops a cause of 1 MiB or more; ours keeps under 8,000 bytes,
the header size HTTP servers accept by default (aiohttp: 8,190), by dropping the outermost frames first.
"""

from __future__ import annotations

import json
import traceback
from typing import Any

MAX_CAUSE_BYTES = 8000


def xray_cause(error_type: str, message: str, frames: list[traceback.FrameSummary], working_directory: str) -> str:
    """The header value: ASCII JSON (so always a valid header), at most `MAX_CAUSE_BYTES` long."""

    def encode(kept: list[traceback.FrameSummary], text: str) -> str:
        stack = [{"label": f.name, "path": f.filename, "line": f.lineno} for f in kept]
        cause: dict[str, Any] = {
            "working_directory": working_directory,
            "exceptions": [{"message": text, "type": error_type, "stack": stack}],
            "paths": list(dict.fromkeys(f.filename for f in kept)),
        }
        return json.dumps(cause)  # awslambdaric's separators; ensure_ascii keeps it a valid header value

    whole = encode(frames, message)
    if len(whole) <= MAX_CAUSE_BYTES:
        return whole
    # Binary search on how many innermost frames fit: a RecursionError has a thousand of them.
    low, high = 0, len(frames)
    while low < high:
        middle = (low + high + 1) // 2
        if len(encode(frames[len(frames) - middle :], message)) <= MAX_CAUSE_BYTES:
            low = middle
        else:
            high = middle - 1
    kept = frames[len(frames) - low :] if low else []
    cause = encode(kept, message)
    if len(cause) > MAX_CAUSE_BYTES:  # the message alone is too long: cut it (JSON escapes take up to 6 bytes)
        room = MAX_CAUSE_BYTES - len(encode([], ""))
        cause = encode([], message[: max(0, room // 6)])
    return cause
