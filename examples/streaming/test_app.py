"""The example's own tests: `pytest examples/streaming`."""

import app


def test_streams_the_report_then_writes_the_audit_record(lambda_function, monkeypatch):
    monkeypatch.setattr(app, "LINE_SECONDS", 0)
    run = lambda_function(app.handler).invoke({"rows": 3})
    assert run.streamed
    assert run.response == b"region,orders\nregion-1,7\nregion-2,3\nregion-3,10\ntotal,20\n"
    assert run.outcomes == {"write_audit": "ok"}
    assert f"Audit record written: report of 3 rows for request {run.request_id}" in run.logs
