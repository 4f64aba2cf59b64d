"""Handlers that do things a runtime must survive."""

import logging
import sys

logger = logging.getLogger("hostile")


def close_streams(event, context):
    sys.stdout.close()
    sys.stderr.close()
    logger.warning("logged after the streams were closed")
    return {"closed": True}


def log_after(event, context):
    logger.warning("still logging: %s", event.get("n"))
    return event
