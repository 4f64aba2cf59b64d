"""Fails its import once: while the file named by EMU_TEST_FAIL_INIT exists (it deletes it)."""

import os

_flag = os.environ.get("EMU_TEST_FAIL_INIT", "")
if _flag and os.path.exists(_flag):
    os.remove(_flag)
    raise ImportError("failing init on purpose")


def handler(event, context):
    return {"ok": True, "pid": os.getpid()}
