"""A handler that proves two invocations run at the same time: each waits for its partner to start."""

import os
import time


def handler(event, context):
    """Takes the first free marker index in event["dir"]; indices 2k and 2k+1 wait for each other."""
    directory = event["dir"]
    index = 0
    while True:
        try:
            os.close(os.open(os.path.join(directory, str(index)), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            break
        except FileExistsError:
            index += 1
    partner = os.path.join(directory, str(index ^ 1))
    deadline = time.monotonic() + 20
    while not os.path.exists(partner):  # bounded: a missing partner fails the invocation instead of hanging
        if time.monotonic() > deadline:
            raise TimeoutError(f"marker {index}: partner never started")
        time.sleep(0.005)
    return {"index": index, "pid": os.getpid(), "runtime_api": os.environ["AWS_LAMBDA_RUNTIME_API"]}
