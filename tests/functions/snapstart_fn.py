"""SnapStart hooks registered the way AWS documents them (`snapshot_restore_py`), with marks of what ran in order."""

import os
import random
import uuid

from snapshot_restore_py import register_after_restore, register_before_snapshot

ORDER = []
FAIL = os.environ.get("SNAP_FAIL", "")
# Init code that seeds `random` (or any state the snapshot freezes): every restored copy would draw the same numbers.
random.seed(42)


@register_before_snapshot
def registered_first():
    ORDER.append("before-1")


@register_before_snapshot
def registered_second():
    ORDER.append("before-2")
    if FAIL == "before":
        raise RuntimeError("cannot snapshot")
    if FAIL == "before-exit":
        raise SystemExit(3)


def restored(tag, suffix=""):
    ORDER.append(f"after-{tag}{suffix}")
    if FAIL == "after":
        raise RuntimeError("cannot restore")
    if FAIL == "after-interrupt":
        raise KeyboardInterrupt


register_after_restore(restored, "a")
register_after_restore(restored, "b", suffix="!")


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def handler(event, context):
    if "mark" in event:
        context.defer(write, event["mark"] + ".thread", "ran")
        context.defer(write, event["mark"] + ".process", "ran", executor="process")
    return {"order": ORDER, "random": random.random(), "uuid1": str(uuid.uuid1())}
