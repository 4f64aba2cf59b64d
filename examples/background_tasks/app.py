"""Port of the Swift runtime's BackgroundTasks example: answer at once, keep working after the response.

Input `{"message": "..."}` → output `{"echoedMessage": "..."}`. The deferred job stands in for the work a real function
does after answering (flushing metrics, sending a notification, writing an audit record).
"""

import json
import logging
import os

import lambda_runtime

logger = logging.getLogger("background_tasks")
# As on the managed Python runtimes, the root logger is at WARNING unless AWS_LAMBDA_LOG_LEVEL says otherwise:
# this example's INFO lines are its output, so it asks for them, as AWS's own examples do.
logger.setLevel(logging.INFO)

# How long the background work takes; the demo sets a few seconds so the billed duration visibly covers it.
WORK_SECONDS = float(os.environ.get("BACKGROUND_WORK_SECONDS", "2"))


def background_work(message: str) -> None:
    job = lambda_runtime.current_job()
    logger.info("Background work started for %r", message)
    # Sleep cooperatively: wake up early if the runtime cancels the job at its deadline.
    if job is not None and job.wait_cancelled(WORK_SECONDS):
        logger.warning("Background work cancelled at the deadline")
        return
    logger.info("Background work completed for %r", message)


def handler(event, context):
    logger.info("Message received")
    if isinstance(event.get("body"), str):  # called through a function URL: the JSON is the HTTP body
        event = json.loads(event["body"])
    message = event["message"]
    context.defer(background_work, message)
    logger.info("Response ready; background work deferred")
    return {"echoedMessage": message}
