import logging
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
