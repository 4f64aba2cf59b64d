"""Fault injection on the Runtime API, mixed into a few hundred invocations: each gets exactly one result.

The faults are the emulator's test-only modes (lambda_runtime/emulator/hooks.py); the runtime survives them with its
one retry policy and its transport's single resend of a stale keep-alive connection.
"""

from __future__ import annotations

import itertools

FAULTS = [
    None,
    {"next": "500"},
    {"next": "reset"},
    {"next": "stall:0.05"},
    {"response": "500"},
    {"response": "500-after-record"},
    {"response": "drop-mid-post"},
    {"next": "500*2", "response": "500*2"},
]
INVOCATIONS = 280


def test_every_invocation_gets_exactly_one_result_under_mixed_faults(serve):
    emu = serve("basic.echo_or_fail", timeout=30)
    expected = {}
    for i, fault in zip(range(INVOCATIONS), itertools.cycle(FAULTS), strict=False):
        event = {"i": i, "fail": i % 5 == 0}  # errors go through /error and meet the same faults
        response = emu.invoke(event, faults=fault)
        assert response.status_code == 200, (i, fault, response.text)
        if event["fail"]:
            assert response.headers["X-Amz-Function-Error"] == "Unhandled"
            body = response.json()
            assert (body["errorType"], body["errorMessage"]) == ("ValueError", f"failure {i}"), fault
            expected[body["requestId"]] = "error"
        else:
            assert "X-Amz-Function-Error" not in response.headers
            assert response.json() == event, fault
    records = emu.wait_for_records(INVOCATIONS, timeout=120)
    assert len(records) == INVOCATIONS
    assert len({r["request_id"] for r in records}) == INVOCATIONS  # nothing delivered twice as a new invocation
    assert sum(r["status"] == "error" for r in records) == len(expected)
    assert all(r["status"] in ("success", "error") for r in records)
    for record in records:
        if record["request_id"] in expected:
            assert record["status"] == "error"
    assert sum(r["init_ms"] is not None for r in records) == 1  # one environment served them all
