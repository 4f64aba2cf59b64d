"""The process environment for a value that changes every invocation, without glibc's setenv leak.

glibc never frees the string an overwritten variable pointed to (a `getenv()` caller may still hold it), so writing
`_X_AMZN_TRACE_ID` through `os.environ` on every invocation leaks ~140 bytes each time: 13.5 MB per 100,000
invocations, measured with `python -m benchmarks.soak` (the official client has the same leak). Python code (the
X-Ray SDK, Powertools, OpenTelemetry) reads `os.environ`'s mapping, which is updated directly. Child processes
started with the inherited environment (subprocess with `env=None`, `os.system`) read the C-level one, so the value
is also written there the way glibc never leaks: `putenv()` of a buffer this module owns, rewritten in place. glibc
stores putenv's pointer as it is, allocating nothing; the buffer is never freed, so no reader is left dangling.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any


class _OwnedVariable:
    """One C-level variable whose `NAME=value` string lives in a buffer we own and rewrite in place."""

    def __init__(self, putenv: Callable[[Any], int]) -> None:
        self._putenv = putenv
        self._buffers: list[Any] = []  # every buffer ever handed to putenv stays alive: sizes double, so few

    def set(self, entry: bytes) -> None:
        import ctypes

        if not self._buffers or len(entry) >= len(self._buffers[-1]):
            self._buffers.append(ctypes.create_string_buffer(max(256, 2 * len(entry))))
        buffer = self._buffers[-1]
        ctypes.memmove(buffer, entry + b"\0", len(entry) + 1)
        # Again every time: cheap (no allocation), and it takes the variable back if code replaced it via setenv.
        self._putenv(buffer)


def _libc_putenv() -> Callable[[Any], int] | None:
    try:
        import ctypes  # imported on the first write (the first invocation), not at every cold start

        putenv: Callable[[Any], int] = ctypes.CDLL(None).putenv
    except (ImportError, OSError, AttributeError):
        return None
    return putenv


class PythonLevelEnviron(MutableMapping[str, str]):
    """`os.environ` whose writes reach child processes without leaking; reads and iteration are `os.environ`'s."""

    def __init__(self) -> None:
        # os._Environ keeps its contents in `_data`, encoded; that has been so since Python 3.2. Where it is not,
        # or libc's putenv is out of reach, fall back to the leaking but correct public interface.
        self._data: MutableMapping[bytes, bytes] | None = (
            getattr(os.environ, "_data", None) if os.name == "posix" else None
        )
        self._owned: dict[str, _OwnedVariable] = {}
        self._putenv: Callable[[Any], int] | None = None

    def __setitem__(self, name: str, value: str) -> None:
        if self._data is not None and self._putenv is None:
            self._putenv = _libc_putenv()
            if self._putenv is None:
                self._data = None
        if self._data is None or self._putenv is None:
            os.environ[name] = value
            return
        encoded_name, encoded_value = os.fsencode(name), os.fsencode(value)  # as os.environ's encoders on POSIX
        self._data[encoded_name] = encoded_value
        self._owned.setdefault(name, _OwnedVariable(self._putenv)).set(encoded_name + b"=" + encoded_value)

    def __delitem__(self, name: str) -> None:
        del os.environ[name]  # unsetenv only drops the pointer: our buffer stays ours, to be reused

    def __getitem__(self, name: str) -> str:
        return os.environ[name]

    def __iter__(self) -> Iterator[str]:
        return iter(os.environ)

    def __len__(self) -> int:
        return len(os.environ)
