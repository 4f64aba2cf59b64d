"""Handlers and registered jobs that hand work off to Lambda's async queue. Jobs leave files in a directory the
event names, one per run, so the test sees exactly which jobs ran and how often."""

import json
import os
import signal

import lambda_runtime


def _write(directory, name, record):
    path = os.path.join(directory, name)
    with open(path + ".tmp", "w") as f:
        json.dump(record, f)
    os.replace(path + ".tmp", path)  # atomic: the test never reads a half-written file


@lambda_runtime.job(name="record")
def record(directory, label):
    """Leaves `<label>.<run>` with where it ran: handed off (its job id, hop and trace header) or locally."""
    hand_off = lambda_runtime.current_hand_off()
    where = (
        {"job_id": hand_off.job_id, "hop": hand_off.hop, "origin": hand_off.origin_request_id}
        if hand_off
        else {"local": True}
    )
    runs = sum(1 for name in os.listdir(directory) if name.startswith(label + "."))
    _write(directory, f"{label}.{runs + 1}", {**where, "trace": lambda_runtime.current_trace_id()})
    return label


@lambda_runtime.job(name="wait-until-cancelled")
def wait_until_cancelled():
    """Holds its worker until the deadline cancels it."""
    lambda_runtime.current_job().wait_cancelled(60)


@lambda_runtime.job(name="chain")
def chain(directory):
    """Records its hop, then hands itself off again: a chain the hop limit must stop."""
    hand_off = lambda_runtime.current_hand_off()
    _write(directory, f"hop{hand_off.hop}.1", {"trace": lambda_runtime.current_trace_id()})
    hand_off.context.hand_off(chain, directory, before_response=True)


@lambda_runtime.on_job_error
def remember(job, error):
    print(f"error hook: {job.name}: {type(error).__name__}: {error}", flush=True)


def handler(event, context):
    """`hand_off`: labels to hand off on purpose; `overflow`: labels deferred with the hand-off fallback."""
    directory = event["dir"]
    ids = []
    for label in event.get("hand_off", []):
        ids.append(
            context.hand_off(
                record,
                directory,
                label,
                before_response=event.get("before_response", False),
                function=event.get("function"),
            )
        )
    if event.get("hold_worker"):
        context.defer(wait_until_cancelled)
    for label in event.get("overflow", []):
        context.defer(record, directory, label, fallback="hand_off")
    if event.get("chain"):
        ids.append(context.hand_off(chain, directory))
    if event.get("die_after_response"):
        context.defer(os.kill, os.getpid(), signal.SIGKILL)
    return {"job_ids": ids}
