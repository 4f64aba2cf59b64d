"""An order API on FastAPI: answers at once, sends the confirmation e-mail (simulated) after the response.

Run it locally:  lambda-runtime serve app.handler --task-root examples/fastapi_app --concurrency 1 --queue-size 10
Then POST events/create_order.json (a function URL event) and events/get_order.json (an HTTP API event) to the
Invoke API: docs/guides/web-frameworks.md walks through it. Orders live in one environment's memory, a stand-in for a
database: a request served by another environment (Lambda starts one while this one sends an e-mail) never sees them.
"""

import asyncio
import itertools
import logging
import os

from fastapi import BackgroundTasks, FastAPI, HTTPException
from pydantic import BaseModel

from lambda_runtime.web import asgi

logger = logging.getLogger("orders")
# Lambda leaves the root logger at WARNING unless AWS_LAMBDA_LOG_LEVEL says otherwise; this example's INFO lines
# are the point of it.
logger.setLevel(logging.INFO)

# How long "sending the e-mail" takes; the walk-through sets a few seconds so the billed duration visibly covers it.
EMAIL_SECONDS = float(os.environ.get("EMAIL_SECONDS", "1"))

app = FastAPI(title="Orders")
orders: dict[int, dict] = {}  # lives as long as the execution environment: a stand-in for a database
order_ids = itertools.count(1)


class NewOrder(BaseModel):
    item: str
    quantity: int = 1
    email: str


async def send_confirmation_email(order_id: int, email: str) -> None:
    """Simulated: a real function would call SES or an SMTP relay here, with an async client made once."""
    logger.info("Sending the confirmation of order %d to %s", order_id, email)
    await asyncio.sleep(EMAIL_SECONDS)
    orders[order_id]["confirmation_sent"] = True
    logger.info("Confirmation e-mail sent for order %d", order_id)


@app.post("/orders", status_code=201)
async def create_order(order: NewOrder, tasks: BackgroundTasks) -> dict:
    order_id = next(order_ids)
    orders[order_id] = {"id": order_id, **order.model_dump(), "confirmation_sent": False}
    # Runs after the response is posted: the caller does not wait for the e-mail.
    tasks.add_task(send_confirmation_email, order_id, order.email)
    return {"id": order_id, "status": "accepted"}


@app.get("/orders/{order_id}")
async def get_order(order_id: int) -> dict:
    if order_id not in orders:
        raise HTTPException(status_code=404, detail="no such order")
    return orders[order_id]


handler = asgi(app)
