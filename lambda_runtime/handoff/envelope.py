"""Hand-off envelopes: a job's name and JSON arguments, signed with HMAC-SHA256, bound to a function, expiring.

The signature covers the canonical JSON (sorted keys, no whitespace) of every field but `sig`, so nothing in the
envelope can change without the key. `kid` names the key (a digest of it, never the key) so that a function can
tell a forgery from an envelope signed with another key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from typing import Any, NamedTuple

from lambda_runtime.errors import EnvelopeRejected

#: The reserved top-level key of an event that carries an envelope.
ENVELOPE_KEY = "lambda_runtime.hand_off"
VERSION = 1
#: Lambda's Event payload limit: 1 MB since October 2025 (256 KB before), as the emulator's MAX_ASYNC_PAYLOAD.
MAX_EVENT_PAYLOAD = 1_048_576
#: Clocks of two environments may disagree a little; an envelope issued further in the future is not genuine.
CLOCK_SKEW_S = 60.0
_FIELDS = ("v", "kid", "job", "args", "kwargs", "job_id", "issued_at", "expires_at", "function", "hop", "origin")


class Envelope(NamedTuple):
    """One handed-off job as it travels: what to run, for which function, until when, at which hop."""

    job: str
    args: list[Any]
    kwargs: dict[str, Any]
    job_id: str
    issued_at: float
    expires_at: float
    function: str  # the name of the function that may run it
    hop: int  # 1 for a hand-off from an ordinary invocation, one more for each hand-off from a handed-off job
    origin: str  # the request id of the invocation that handed it off


def new_envelope(
    job: str,
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    *,
    function: str,
    hop: int,
    origin: str,
    now: float,
    ttl_s: float,
) -> Envelope:
    return Envelope(job, list(args), dict(kwargs), str(uuid.uuid4()), now, now + ttl_s, function, hop, origin)


def key_id(key: str) -> str:
    return hashlib.sha256(b"lambda_runtime.hand_off key:" + key.encode()).hexdigest()[:12]


def _canonical(fields: Mapping[str, Any]) -> bytes:
    # allow_nan=False: NaN and Infinity are not JSON, and another reader could decode them differently.
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def _signature(key: str, fields: Mapping[str, Any]) -> str:
    return hmac.new(key.encode(), _canonical(fields), hashlib.sha256).hexdigest()


def seal(envelope: Envelope, key: str) -> bytes:
    """The Event payload carrying `envelope`. Raises `TypeError` when an argument is not JSON."""
    fields = {"v": VERSION, "kid": key_id(key), **envelope._asdict()}
    try:
        signature = _signature(key, fields)
    except (TypeError, ValueError) as error:  # ValueError: NaN or infinity
        raise TypeError(
            f"hand_off(): job {envelope.job!r} arguments must be JSON (str, int, float, bool, None, list, dict): "
            f"{error}"
        ) from None
    return _canonical({ENVELOPE_KEY: {**fields, "sig": signature}})


def carries_envelope(event: object) -> bool:
    return isinstance(event, dict) and ENVELOPE_KEY in event


def unseal(event: Mapping[str, Any], key: str, *, function: str, now: float, max_hops: int) -> Envelope:
    """The envelope in `event`, checked; `EnvelopeRejected` saying why if it is not genuine, current and ours."""
    raw = event.get(ENVELOPE_KEY)
    if not isinstance(raw, dict) or set(raw) != {*_FIELDS, "sig"} or not isinstance(raw["sig"], str):
        raise EnvelopeRejected("malformed hand-off envelope")
    fields = {name: raw[name] for name in _FIELDS}
    if raw["kid"] != key_id(key):
        raise EnvelopeRejected("hand-off envelope signed with another key (or forged)")
    try:
        expected = _signature(key, fields)
    except (TypeError, ValueError):
        raise EnvelopeRejected("malformed hand-off envelope") from None
    if not hmac.compare_digest(expected, raw["sig"]):
        raise EnvelopeRejected("hand-off envelope signature does not match: forged or altered")
    # Signed, so the fields are as this key's holder wrote them; their types are checked all the same.
    if raw["v"] != VERSION:
        raise EnvelopeRejected(f"hand-off envelope version {raw['v']!r} is not understood (expected {VERSION})")
    envelope = Envelope(**{name: fields[name] for name in Envelope._fields})
    if envelope.function != function:
        raise EnvelopeRejected(f"hand-off envelope is for function {envelope.function!r}, not {function!r}")
    if not now < envelope.expires_at:
        raise EnvelopeRejected(f"hand-off envelope {envelope.job_id} expired {now - envelope.expires_at:.0f} s ago")
    if envelope.issued_at > now + CLOCK_SKEW_S:
        raise EnvelopeRejected(f"hand-off envelope {envelope.job_id} is issued in the future")
    if not 1 <= envelope.hop <= max_hops:
        raise EnvelopeRejected(
            f"hand-off envelope {envelope.job_id} is at hop {envelope.hop}, beyond the limit of {max_hops} "
            "(LAMBDA_RUNTIME_HANDOFF_MAX_HOPS)"
        )
    return envelope
