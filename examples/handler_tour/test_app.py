"""The example's own tests: `pytest examples/handler_tour`."""

import app


def test_answers_first_then_runs_its_three_jobs(lambda_function):
    run = lambda_function(app.handler).invoke({"order_id": "o-1"})
    assert run.result == {"ok": True, "order_id": "o-1"}
    assert run.outcomes == {"flush_metrics": "ok", "call_partner_api": "ok", "audit": "ok"}
    for line in ("metrics flushed for o-1", "partner notified of o-1", "audit record written for o-1"):
        assert f"\t{run.request_id}\t{line}" in run.logs  # each line carries the invocation's request id
