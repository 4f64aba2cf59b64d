"""benchmarks/client.py: waiting for a record looks at the report file ever less often, up to a 10 ms pause."""

from __future__ import annotations

import json

from benchmarks import client
from benchmarks.client import ReportTail


def test_wait_doubles_its_pause_up_to_the_longest_and_returns_the_record(tmp_path, monkeypatch):
    report = tmp_path / "records.jsonl"
    report.write_text("")
    pauses: list[float] = []

    def sleep(seconds: float) -> None:  # the record is written during the ninth pause
        pauses.append(seconds)
        if len(pauses) == 9:
            report.write_text(json.dumps({"request_id": "r1", "billed_ms": 12}) + "\n")

    monkeypatch.setattr(client.time, "sleep", sleep)
    record = ReportTail(report).wait("r1")
    assert record == {"request_id": "r1", "billed_ms": 12}
    # A deferred invocation's record comes after its jobs: a client looking every 0.5 ms all along took CPU from them.
    assert pauses == [0.0005, 0.001, 0.002, 0.004, 0.008, 0.01, 0.01, 0.01, 0.01]
