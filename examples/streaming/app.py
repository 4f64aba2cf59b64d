"""Stream a report line by line, then write an audit record once the whole report is out.

Invoked directly (boto3's `invoke_with_response_stream`, a buffered `Invoke`): plain text, one line at a time.
Behind a function URL (`InvokeMode: RESPONSE_STREAM`): the same lines, with a status, headers and a cookie.
Input: `{"rows": N}` (or `?rows=N` on the URL); `REPORT_LINE_SECONDS` paces the lines (default 0.2 s).
"""

import logging
import os
import time

import lambda_runtime

logger = logging.getLogger("streaming")
logger.setLevel(logging.INFO)  # the root logger stays at WARNING unless AWS_LAMBDA_LOG_LEVEL is set

LINE_SECONDS = float(os.environ.get("REPORT_LINE_SECONDS", "0.2"))


def report_lines(rows: int):
    """The report: a header, one line per row as it is computed, a total. Each line goes out as it is yielded."""
    yield "region,orders\n"
    total = 0
    for row in range(1, rows + 1):
        time.sleep(LINE_SECONDS)  # stands in for a query per row
        orders = row * 7 % 11
        total += orders
        yield f"region-{row},{orders}\n"
    yield f"total,{total}\n"


def write_audit(request_id: str, rows: int) -> None:
    """Deferred: runs after the last line has reached the caller, before the next event."""
    logger.info("Audit record written: report of %d rows for request %s", rows, request_id)


def handler(event, context):
    url = "requestContext" in event  # a function URL (or API Gateway) event
    query = event.get("queryStringParameters") or {}
    rows = int(query.get("rows", 5) if url else event.get("rows", 5))
    context.defer(write_audit, context.aws_request_id, rows)
    if url:
        return lambda_runtime.StreamingResponse(
            report_lines(rows),
            status_code=200,
            headers={"Content-Type": "text/csv", "Cache-Control": "no-store"},
            cookies=["report=streamed; Path=/"],
        )
    return report_lines(rows)  # a generator streams as it is
