"""A plain handler that reports which modules the runtime had loaded by the time it was called (cold start guard)."""

import sys


def handler(event, context):
    return sorted(name for name in sys.modules if name != __name__)
