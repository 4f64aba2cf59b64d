"""What `/next` delivered: the request id, the event bytes and the headers that describe the invocation.

The client builds it from the wire and posts the answer against it; the invocation loop, the context and a restart
in place read it. It lives with the client, at the bottom of the runtime, so that the client imports nothing above.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple


class Invocation(NamedTuple):
    """What `/next` delivered: the event bytes and the headers that describe it."""

    request_id: str
    body: bytes
    headers: Mapping[str, str]  # case-insensitive, as requests delivers them

    def header(self, name: str) -> str | None:
        """The header's value, its raw bytes read as UTF-8 (as awslambdaric's native client reads them).

        HTTP clients hand header bytes over as Latin-1 text; a value that is not valid UTF-8 is kept as it came.
        """
        value = self.headers.get(name)
        if value is None or value.isascii():
            return value
        try:
            return value.encode("latin-1").decode("utf-8")
        except UnicodeError:
            return value

    @property
    def tenant_id(self) -> str | None:
        """The tenant of a multi-tenant function; None when the header is absent or empty, as awslambdaric has it."""
        return self.header("Lambda-Runtime-Aws-Tenant-Id") or None
