"""A durable function on lambda_runtime: AWS's durable execution SDK, unchanged.

The order is reserved, the workflow waits (no compute is billed while it waits: the invocation ends and Lambda invokes
the function again when the wait is over), then the order is charged. Each step's result is checkpointed, so a replay
skips finished steps. A metric is deferred after the workflow's result: best effort, not checkpointed, and guarded
with `is_replaying()` so that it runs once per execution, not once per invocation.

Run it locally: `lambda-runtime serve app.handler --durable` in this folder (docs/guides/durable.md).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from aws_durable_execution_sdk_python import DurableContext, StepContext, durable_execution, durable_step
from aws_durable_execution_sdk_python.config import Duration

logger = logging.getLogger("orders")
logger.setLevel(logging.INFO)


@durable_step
def reserve(step_context: StepContext, order_id: str) -> dict[str, Any]:
    logger.info("reserving %s", order_id)
    return {"order_id": order_id, "reserved": True}


@durable_step
def charge(step_context: StepContext, order_id: str, amount: int) -> dict[str, Any]:
    logger.info("charging %s: %d", order_id, amount)
    return {"order_id": order_id, "charged": amount}


def record_metric(order_id: str) -> None:
    logger.info("metric recorded for %s", order_id)


@durable_execution
def handler(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    order_id = event["order_id"]
    reservation = context.step(reserve(order_id))
    context.wait(Duration.from_seconds(int(event.get("wait_seconds", os.environ.get("ORDER_WAIT_SECONDS", "2")))))
    payment = context.step(charge(order_id, int(event.get("amount", 10))))
    defer = getattr(context.lambda_context, "defer", None)  # lambda_runtime's context; absent on other runtimes
    if defer is not None and not context.is_replaying():
        defer(record_metric, order_id)
    return {"reservation": reservation, "payment": payment}
