"""The hand-off benchmark's function: each invocation defers more I/O-bound work than one worker drains before the
deadline; with `"hand_off": true` the jobs are deferred with the hand-off fallback."""

import time

import lambda_runtime


@lambda_runtime.job(name="bench-work")
def work(label: str, ms: int) -> None:
    job = lambda_runtime.current_job()
    if job is not None:  # here, in the pool: stop at the deadline, as a well-behaved job does
        if job.wait_cancelled(ms / 1000):
            return
    else:  # handed off: the job is the invocation
        time.sleep(ms / 1000)
    print(f"bench job done {label}", flush=True)


def handler(event, context):
    fallback = "hand_off" if event.get("hand_off") else None
    for n in range(event["jobs"]):
        context.defer(work, f"{event['id']}-{n}", event["ms"], fallback=fallback)
    time.sleep(event.get("hold_ms", 0) / 1000)  # the warm-up: boto3's client is made meanwhile, in the background
    return {"deferred": event["jobs"]}
