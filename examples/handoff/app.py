"""Hand-off: the payment record must be written even if this environment dies after answering.

The handler answers the caller, but only once Lambda's async queue holds the job (`before_response=True`). The job
runs at least once, in an Event invocation of this function, and a retry or a duplicate delivery may run it again. A
conditional write keyed on the hand-off's job id (the same id on every delivery) makes it exactly-once in effect. The
write here is SQLite's `INSERT`, refused on a duplicate primary key. On AWS it would be a DynamoDB `PutItem` with
`ConditionExpression="attribute_not_exists(job_id)"`, or Powertools' idempotency keyed on the same id.
"""

import logging
import os
import sqlite3

import lambda_runtime

logger = logging.getLogger("handoff_example")
logger.setLevel(logging.INFO)
LEDGER = os.environ.get("LEDGER_DB", "/tmp/ledger.sqlite3")


@lambda_runtime.job(name="record-payment")
def record_payment(order_id: str, cents: int) -> str:
    job_id = lambda_runtime.current_hand_off().job_id
    with sqlite3.connect(LEDGER) as db:
        db.execute("CREATE TABLE IF NOT EXISTS payments (job_id TEXT PRIMARY KEY, order_id TEXT, cents INTEGER)")
        try:
            db.execute("INSERT INTO payments VALUES (?, ?, ?)", (job_id, order_id, cents))
        except sqlite3.IntegrityError:  # this delivery is a duplicate: the payment is already recorded
            logger.info("Payment for %s already recorded (job %s): nothing to do", order_id, job_id)
            return "duplicate"
    logger.info("Payment for %s recorded (job %s)", order_id, job_id)
    return "recorded"


def handler(event, context):
    job_id = context.hand_off(record_payment, event["order_id"], event["cents"], before_response=True)
    return {"accepted": event["order_id"], "job_id": job_id}
