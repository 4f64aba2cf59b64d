"""Test hooks: per-invocation instructions a test sends in ``X-Emulator-*`` headers of its Invoke request.

They are honoured only when the emulator runs with ``test_hooks=True`` (``--test-hooks``); otherwise the
headers are ignored. Everything about hooks lives here: :func:`parse_hooks` reads the request headers into
an :class:`InvocationHooks`, and the server consults that object at fixed points of the invocation:

- ``next_headers(default)``: the headers of the ``/next`` response that delivers the event.

Fault injection (``/next`` answers 500, resets or stalls; ``/response`` answers 500 once ...) is meant to be
added here as further fields parsed from a further header, consulted at the same points.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

NEXT_HEADERS = "X-Emulator-Next-Headers"
REQUEST_ID_HEADER = "Lambda-Runtime-Aws-Request-Id"
INVOCATION_ID_HEADER = "Lambda-Runtime-Invocation-Id"


class HookError(ValueError):
    """A hook header could not be understood; the caller gets 400."""


@dataclass(frozen=True)
class InvocationHooks:
    """The hooks of one invocation. ``InvocationHooks()`` (the default) changes nothing."""

    #: Header name → value to set, or ``None`` to remove the header from the ``/next`` response.
    next_header_overrides: Mapping[str, str | None] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return bool(self.next_header_overrides)

    def overrides(self, header: str) -> bool:
        """Whether a hook changes (or removes) ``header`` on the ``/next`` response."""
        low = header.lower()
        return any(name.lower() == low for name in self.next_header_overrides)

    def override_value(self, header: str) -> str | None:
        low = header.lower()
        for name, value in self.next_header_overrides.items():
            if name.lower() == low:
                return value
        return None

    def next_headers(self, default: Mapping[str, str]) -> dict[str, str]:
        """The ``/next`` response headers: ``default`` with the overrides applied (case-insensitive)."""
        headers = dict(default)
        for name, value in self.next_header_overrides.items():
            for existing in [h for h in headers if h.lower() == name.lower()]:
                del headers[existing]
            if value is not None:
                headers[name] = value
        return headers


NO_HOOKS = InvocationHooks()


def parse_hooks(headers: Mapping[str, str], enabled: bool) -> InvocationHooks:
    """Read the hook headers of an Invoke request. Raises :class:`HookError` on a malformed header."""
    if not enabled:
        return NO_HOOKS
    raw = headers.get(NEXT_HEADERS)
    if raw is None:
        return NO_HOOKS
    try:
        value = json.loads(raw)
    except ValueError as e:
        raise HookError(f"{NEXT_HEADERS} is not valid JSON: {e}") from None
    if not isinstance(value, dict):
        raise HookError(f"{NEXT_HEADERS} must be a JSON object")
    overrides: dict[str, str | None] = {}
    for name, item in value.items():
        if item is None or isinstance(item, str):
            overrides[name] = item
        elif isinstance(item, (int, float)) and not isinstance(item, bool):
            overrides[name] = str(item)
        else:
            raise HookError(f"{NEXT_HEADERS}: value of {name!r} must be a string or null")
        if any(c in (overrides[name] or "") for c in "\r\n") or any(c in name for c in "\r\n:"):
            raise HookError(f"{NEXT_HEADERS}: header {name!r} contains forbidden characters")
    return InvocationHooks(next_header_overrides=overrides)
