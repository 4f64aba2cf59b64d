"""Durable handlers (AWS's durable execution SDK), run unchanged on lambda_runtime.

The SDK runs the workflow on a worker thread of its own (`dex-handler`), started by the SDK without a copy of the
invocation's context: the lines logged in the steps are what shows whether a thread a handler starts keeps the
request id.
"""

import logging
import threading

from aws_durable_execution_sdk_python import DurableContext, StepContext, durable_execution, durable_step
from aws_durable_execution_sdk_python.config import Duration

logger = logging.getLogger("durable_fn")
logger.setLevel(logging.INFO)


@durable_step
def greet(step_context: StepContext, name: str) -> str:
    logger.info("step greet ran for %s in %s", name, threading.current_thread().name)
    return f"hello {name}"


@durable_step
def shout(step_context: StepContext, text: str) -> str:
    logger.info("step shout ran for %s in %s", text, threading.current_thread().name)
    return text.upper()


@durable_execution
def workflow(event, context: DurableContext):
    greeting = context.step(greet(event["name"]))
    context.wait(Duration.from_seconds(int(event.get("wait", 1))), name="pause")
    return {"greeting": greeting, "loud": context.step(shout(greeting))}


@durable_execution
def failing(event, context: DurableContext):
    context.step(greet(event["name"]))
    raise ValueError(f"no workflow for {event['name']}")
