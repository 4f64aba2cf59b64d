import logging
import time

import lambda_runtime

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)  # the root logger stays at WARNING unless AWS_LAMBDA_LOG_LEVEL is set


def flush_metrics(order_id):
    job = lambda_runtime.current_job()  # None outside a deferred job
    while not job.cancelled:  # cooperative: Python threads cannot be killed
        ...  # send a batch; job.remaining_ms() says how long is left
        break
    logger.info("metrics flushed for %s", order_id)  # carries the request id of the invocation that deferred it


def call_partner_api(event):
    time.sleep(0.05)  # stands for an HTTP call: I/O, so it overlaps the handler when started at once
    logger.info("partner notified of %s", event["order_id"])


def write_audit(event):
    logger.info("audit record written for %s", event["order_id"])


def handler(event, context):
    context.defer(flush_metrics, event["order_id"])  # runs after the response is posted
    context.defer(call_partner_api, event, start_now=True)  # I/O-bound: starts at once, overlaps the handler
    context.defer(write_audit, event, job_timeout=2.0, job_name="audit")
    return {"ok": True, "order_id": event["order_id"]}
