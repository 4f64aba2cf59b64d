"""A handler that exits the process when asked to."""

import os


def handler(event, context):
    if event.get("exit") is not None:
        print(f"exiting with {event['exit']}", flush=True)
        os._exit(int(event["exit"]))
    return {"ok": True, "pid": os.getpid()}
