"""A function that invokes itself asynchronously with boto3 on every event, as a runaway loop does."""

import json
import os

import boto3


def handler(event, context):
    n = event.get("n", 1)
    with open(os.path.join(event["dir"], f"call.{n}"), "w") as f:
        f.write(os.environ.get("_X_AMZN_TRACE_ID", ""))
    # botocore adds X-Amzn-Trace-Id from _X_AMZN_TRACE_ID inside Lambda: the chain is visible to loop detection.
    payload = json.dumps({**event, "n": n + 1})
    boto3.client("lambda").invoke(FunctionName=context.function_name, InvocationType="Event", Payload=payload)
    return n


def invoke_other(event, context):
    """Invokes a function the emulator does not serve, with the role's credentials; returns the error code."""
    try:
        boto3.client("lambda").invoke(FunctionName="not-served", InvocationType="Event", Payload=b"{}")
    except boto3.client("lambda").exceptions.ClientError as error:
        return {"code": error.response["Error"]["Code"], "message": error.response["Error"].get("Message", "")}
    return {"code": None}
