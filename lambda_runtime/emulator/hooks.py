"""Test hooks: header overrides and fault injection, for tests only (``test_hooks=True`` / ``--test-hooks``).

Without test hooks every ``X-Emulator-*`` header is ignored. Everything about hooks lives here:
:func:`parse_hooks` reads an Invoke request's headers into an :class:`InvocationHooks`, and the emulator
consults it at fixed points of that invocation.

``X-Emulator-Next-Headers: {json}`` — headers of the ``/next`` response that delivers the event: a value
sets the header, ``null`` removes it.

``X-Emulator-Faults: {"next": SPEC, "response": SPEC}`` — faults for this invocation (either key may be
left out); ``Emulator.inject_faults(next=..., response=...)`` sets the same for every invocation that
has no such header, until cleared. A SPEC is a mode, optionally ``*N`` to apply it N times in a row
(default once). All attempts of a retried ``Event`` share one count.

- ``next``, applied when a ``/next`` call would deliver the event:
  ``500`` — answer 500 instead; the event stays first in the queue for the runtime's retry.
  ``reset`` — reset the connection (RST) instead of sending anything; the event stays queued likewise.
  ``stall:SECONDS`` — wait that long before sending the event (its deadline runs from the delivery).
- ``response``, applied to the runtime's ``/response`` or ``/error`` post of the invocation:
  ``500`` (also ``500-once``) — answer 500 without recording the result; the retry is recorded (202).
  ``500-after-record`` — record the result, then answer 500; a retry gets 410 and the first result stands.
  ``drop-mid-post`` — read part of the body, then close the connection; nothing is recorded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

NEXT_HEADERS = "X-Emulator-Next-Headers"
FAULTS = "X-Emulator-Faults"
REQUEST_ID_HEADER = "Lambda-Runtime-Aws-Request-Id"
INVOCATION_ID_HEADER = "Lambda-Runtime-Invocation-Id"

_MODES = {
    "next": ("500", "reset", "stall"),
    "response": ("500", "500-after-record", "drop-mid-post"),
}


class HookError(ValueError):
    """A hook header could not be understood; the caller gets 400."""


@dataclass
class Fault:
    """One fault mode at one point, applied ``times`` more times."""

    mode: str
    times: int = 1
    seconds: float = 0.0

    @classmethod
    def parse(cls, point: str, spec: object) -> Fault:
        if not isinstance(spec, str):
            raise HookError(f"{FAULTS}: {point!r} must be a string")
        mode, _, count = spec.partition("*")
        mode, _, argument = mode.strip().partition(":")
        mode = "500" if mode == "500-once" else mode
        if mode not in _MODES[point]:
            raise HookError(f"{FAULTS}: unknown {point} fault {spec!r} (one of {', '.join(_MODES[point])})")
        try:
            times = int(count) if count else 1
            seconds = float(argument) if mode == "stall" else 0.0
        except ValueError:
            raise HookError(f"{FAULTS}: malformed {point} fault {spec!r}") from None
        if times < 1 or seconds < 0 or (argument and mode != "stall"):
            raise HookError(f"{FAULTS}: malformed {point} fault {spec!r}")
        return cls(mode, times, seconds)


@dataclass
class FaultPlan:
    """The faults still to apply to one invocation (mutable: each use counts down)."""

    next: Fault | None = None
    response: Fault | None = None

    @classmethod
    def parse(cls, spec: Mapping[str, Any]) -> FaultPlan:
        unknown = set(spec) - set(_MODES)
        if unknown:
            raise HookError(f"{FAULTS}: unknown fault point(s) {sorted(unknown)} (use 'next', 'response')")
        return cls(**{point: Fault.parse(point, value) for point, value in spec.items() if value is not None})

    def take(self, point: str) -> Fault | None:
        """The fault to apply now at ``point`` (``"next"`` or ``"response"``), counting it as used."""
        fault: Fault | None = getattr(self, point)
        if fault is None or fault.times <= 0:
            return None
        fault.times -= 1
        return fault


@dataclass(frozen=True)
class InvocationHooks:
    """The hooks of one invocation. ``InvocationHooks()`` (the default) changes nothing."""

    #: Header name → value to set, or ``None`` to remove the header from the ``/next`` response.
    next_header_overrides: Mapping[str, str | None] = field(default_factory=dict)
    faults: FaultPlan | None = None

    def take_fault(self, point: str) -> Fault | None:
        return self.faults.take(point) if self.faults is not None else None

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


def _json_object(headers: Mapping[str, str], name: str) -> dict[str, Any] | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError as e:
        raise HookError(f"{name} is not valid JSON: {e}") from None
    if not isinstance(value, dict):
        raise HookError(f"{name} must be a JSON object")
    return value


def parse_hooks(
    headers: Mapping[str, str], enabled: bool, default_faults: Mapping[str, Any] | None = None
) -> InvocationHooks:
    """Read the hook headers of an Invoke request. Raises :class:`HookError` on a malformed header."""
    if not enabled:
        return NO_HOOKS
    overrides: dict[str, str | None] = {}
    for name, item in (_json_object(headers, NEXT_HEADERS) or {}).items():
        if item is None or isinstance(item, str):
            overrides[name] = item
        elif isinstance(item, (int, float)) and not isinstance(item, bool):
            overrides[name] = str(item)
        else:
            raise HookError(f"{NEXT_HEADERS}: value of {name!r} must be a string or null")
        if any(c in (overrides[name] or "") for c in "\r\n") or any(c in name for c in "\r\n:"):
            raise HookError(f"{NEXT_HEADERS}: header {name!r} contains forbidden characters")
    fault_spec = _json_object(headers, FAULTS)
    if fault_spec is None:
        fault_spec = dict(default_faults) if default_faults else None
    faults = FaultPlan.parse(fault_spec) if fault_spec else None
    if not overrides and faults is None:
        return NO_HOOKS
    return InvocationHooks(next_header_overrides=overrides, faults=faults)
