"""Handlers for the emulator tests (run by awslambdaric in the emulator's runtime child)."""

import os
import time


def echo(event, context):
    return {"event": event, "request_id": context.aws_request_id}


def fail(event, context):
    raise ValueError("boom")


def crash(event, context):
    os._exit(3)


def context_info(event, context):
    return {
        "request_id": context.aws_request_id,
        "arn": context.invoked_function_arn,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "memory": context.memory_limit_in_mb,
        "log_group": context.log_group_name,
        "log_stream": context.log_stream_name,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "client_context": None if context.client_context is None else {"custom": context.client_context.custom},
        "trace_id": os.environ.get("_X_AMZN_TRACE_ID"),
        "env": {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "LAMBDA_", "_HANDLER"))},
        "cwd": os.getcwd(),
    }


def stamp(event, context):
    """Returns the time it ran, and prints a marker line."""
    print(f"stamp {context.aws_request_id}", flush=True)
    return {"t": time.time(), "event": event}


def slow(event, context):
    time.sleep(float(event.get("sleep", 0.2)))
    return {"slept": event.get("sleep", 0.2)}


def raw(event, context):
    return {"type": type(event).__name__, "value": event if isinstance(event, (str, dict, list)) else repr(event)}


def big(event, context):
    return "x" * int(event["size"])


def background(event, context):
    """Leaves a thread running after it returns (it would keep the process busy without a freeze)."""
    import threading

    def spin():
        while True:
            time.sleep(0.001)

    threading.Thread(target=spin, daemon=True).start()
    return {"pid": os.getpid()}


def allocate(event, context):
    global _kept
    _kept = bytearray(int(event["mb"]) * 1024 * 1024)
    for i in range(0, len(_kept), 4096):
        _kept[i] = 1
    return {"pid": os.getpid()}


def size(event, context):
    """The length of a string event (to take large events without answering large responses)."""
    return {"size": len(event)}


def chatty(event, context):
    """Prints `lines` numbered lines, then returns."""
    for i in range(int(event["lines"])):
        print(f"line {i:05d} {'.' * 60}", flush=True)
    return {"printed": event["lines"]}


def fail_while_flag(event, context):
    """Fails (and deletes the flag) while the file named by event["flag"] exists; succeeds after."""
    if os.path.exists(event["flag"]):
        os.remove(event["flag"])
        raise RuntimeError("failing while the flag exists")
    return {"ok": True, "request_id": context.aws_request_id}


def counter(event, context):
    """Starts (once) a thread that keeps writing an increasing counter to event["file"], past /next."""
    import threading

    global _counter_started
    if not globals().get("_counter_started"):
        _counter_started = True

        first_write = threading.Event()

        def count():
            n = 0
            while True:
                n += 1
                with open(event["file"] + ".tmp", "w") as f:
                    f.write(str(n))
                os.replace(event["file"] + ".tmp", event["file"])
                first_write.set()
                time.sleep(0.005)

        threading.Thread(target=count, daemon=True).start()
        first_write.wait(30)
    return {"pid": os.getpid()}
