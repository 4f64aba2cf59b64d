"""Handlers that exercise the awslambdaric contract; run by both runtimes in the tests."""

import decimal
import logging
import os
import subprocess
import sys

logger = logging.getLogger("basic")


def echo(event, context):
    return event


def event_type(event, context):
    return {"type": type(event).__name__, "value": event.decode() if isinstance(event, bytes) else event}


def context_info(event, context):
    return {
        "aws_request_id": context.aws_request_id,
        "invoked_function_arn": context.invoked_function_arn,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "memory_is_int": isinstance(context.memory_limit_in_mb, int),
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "cognito_identity_id": context.identity.cognito_identity_id,
        "cognito_identity_pool_id": context.identity.cognito_identity_pool_id,
        "client_custom": context.client_context.custom if context.client_context else None,
        "client_env": context.client_context.env if context.client_context else None,
        "client_app_title": context.client_context.client.app_title
        if context.client_context and context.client_context.client
        else None,
        "tenant_id": getattr(context, "tenant_id", None),
        "trace_id": os.environ.get("_X_AMZN_TRACE_ID"),
    }


def raise_value_error(event, context):
    raise ValueError("bad value: " + str(event.get("n")))


def raise_system_exit(event, context):
    sys.exit(3)


def raise_keyboard_interrupt(event, context):
    raise KeyboardInterrupt


def returns_bytes(event, context):
    return b"\x00raw\xffbytes"


def returns_decimal(event, context):
    return {"price": decimal.Decimal("19.99"), "tiny": decimal.Decimal("0.1"), "pair": (1, 2)}


def returns_set(event, context):
    return {1, 2, 3}


def returns_nan(event, context):
    return float("nan")


def returns_big(event, context):
    return "x" * (7 * 1024 * 1024)


def logs_and_prints(event, context):
    print("printed line one")
    print("printed line two")
    logger.info("logged via logging", extra={"custom": 42})
    return "ok"


def raise_unprintable(event, context):
    class Unprintable(Exception):
        def __str__(self):
            raise RuntimeError("no")

    raise Unprintable()


def returns_generator(event, context):
    return (i for i in range(3))


def raise_recursion_error(event, context):
    def recurse(n):
        return recurse(n + 1)

    return recurse(0)


def raise_memory_error(event, context):
    raise MemoryError("simulated allocation failure")


def event_size(event, context):
    return {"bytes": len(event["blob"])}


def leak_nothing(event, context):
    context.defer(_secret_job, event["secret"])
    return {"answer": event["secret"][::-1]}


def _secret_job(secret):
    raise RuntimeError("job failed")


def raise_with_environment(event, context):
    raise ValueError("handler failed")


def echo_or_fail(event, context):
    if event.get("fail"):
        raise ValueError(f"failure {event['i']}")
    return event


def returns_many_decimals(event, context):
    # A DynamoDB query result returned as-is: every number a Decimal.
    count = event["count"]
    return {"Items": [{"id": decimal.Decimal(i), "price": decimal.Decimal(f"{i}.{i % 100:02d}")} for i in range(count)]}


def child_trace_id(event, context):
    command = [sys.executable, "-c", "import os; print(os.environ.get('_X_AMZN_TRACE_ID'))"]
    child = subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()
    return {"child": child, "own": os.environ.get("_X_AMZN_TRACE_ID")}
