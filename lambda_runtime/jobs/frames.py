"""Length-prefixed pickle frames over pipes: how the runtime and its worker processes talk.

Pipes only: Lambda has no `/dev/shm`, so anything built on POSIX semaphores or shared memory (`multiprocessing.Pool`,
`Queue`, `ProcessPoolExecutor`) fails there with `OSError: [Errno 38]`.
"""

from __future__ import annotations

import pickle
import struct
from typing import IO, Any

_LENGTH = struct.Struct(">I")


def write_frame(stream: IO[bytes], value: Any) -> None:
    data = value if isinstance(value, bytes) else pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


def read_frame(stream: IO[bytes]) -> Any:
    """The next value, or EOFError when the other end is gone (mid-frame included)."""
    header = stream.read(_LENGTH.size)
    if len(header) < _LENGTH.size:
        raise EOFError("the pipe closed")
    (length,) = _LENGTH.unpack(header)
    data = stream.read(length)
    if len(data) < length:
        raise EOFError("the pipe closed mid-frame")
    return pickle.loads(data)
