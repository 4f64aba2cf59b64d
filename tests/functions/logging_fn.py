import logging
import os
import threading

logger = logging.getLogger("logging_fn")


def handler(event, context):
    print("printed line one")
    print("printed line two")
    logger.info("info with extra", extra={"custom": 42})
    logger.debug("debug line")
    try:
        {}["missing"]
    except KeyError:
        logger.exception("caught something")
    # A thread started by the handler logs the invocation it belongs to, not a global "current" id.
    done = threading.Event()
    threading.Thread(target=lambda: (logger.warning("from a thread"), done.set())).start()
    done.wait(30)
    return "ok"


def forge(event, context):
    # A message holding a newline and something shaped like another request's record.
    logger.warning(event["message"])
    return "ok"


def log_env(event, context):
    logger.warning("warning line")
    logger.info("info line")
    return {"telemetry_fd": os.environ.get("_LAMBDA_TELEMETRY_LOG_FD")}


def raise_error(event, context):
    raise ValueError("broken\nacross lines")
