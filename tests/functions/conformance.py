"""Handlers for the differential suites: the event says what to return or where to log; both runtimes run them.

`build` turns a recipe (plain JSON) into a Python value, so one running function can return every kind of result:
a dict `{"$": kind, "v": ...}` is a value of that kind, any other dict or list is built member by member.
"""

import collections
import decimal
import enum
import logging
import os
import subprocess
import sys
import threading

logger = logging.getLogger("conformance")

Point = collections.namedtuple("Point", "x y")


class Text(str):
    pass


class Mapping(dict):
    pass


class Items(list):
    pass


class Colour(enum.Enum):
    RED = "red"


class Size(enum.IntEnum):
    LARGE = 3


class Unit(str, enum.Enum):
    METRE = "m"


class Number(int):
    pass


class Real(float):
    pass


def _namedtuple(fields):
    names = [f"f{i}" for i in range(len(fields))]
    return collections.namedtuple("Record", names)(*fields)


KINDS = {
    "decimal": decimal.Decimal,
    "float": float,
    "int": int,
    "bytes": lambda v: v.encode("utf-8"),
    "hex": bytes.fromhex,
    "bytearray": lambda v: bytearray(v.encode("utf-8")),
    "memoryview": lambda v: memoryview(v.encode("utf-8")),
    "chr": chr,  # a code point, lone surrogates included
    "text": Text,
    "number": lambda v: Number(int(v)),
    "real": lambda v: Real(float(v)),
    "enum": lambda v: Colour.RED,
    "intenum": lambda v: Size.LARGE,
    "strenum": lambda v: Unit.METRE,
    "set": set,
    "tuple": tuple,
    "items": Items,
    "namedtuple": _namedtuple,
    "point": lambda v: Point(*v),
    "mapping": Mapping,
    "pairs": lambda v: dict(v),  # keys that JSON objects cannot carry: bytes, int, float, None, bool
}


def build(recipe):
    if isinstance(recipe, list):
        return [build(item) for item in recipe]
    if isinstance(recipe, dict):
        if "$" in recipe:
            value = recipe["v"]
            if recipe["$"] in ("tuple", "items", "namedtuple", "point", "set"):
                value = [build(item) for item in value]
            elif recipe["$"] == "mapping":
                value = {key: build(item) for key, item in value.items()}
            elif recipe["$"] == "pairs":
                value = [(build(key), build(item)) for key, item in value]
            return KINDS[recipe["$"]](value)
        return {key: build(item) for key, item in recipe.items()}
    return recipe


def result(event, context):
    return build(event)


def context_info(event, context):
    identity, client_context = context.identity, context.client_context
    client = client_context.client if client_context else None
    return {
        "request_id": context.aws_request_id,
        "arn": context.invoked_function_arn,
        "tenant_id": getattr(context, "tenant_id", None),
        "cognito": [identity.cognito_identity_id, identity.cognito_identity_pool_id] if identity else None,
        "client_context": None
        if client_context is None
        else {
            "custom": client_context.custom,
            "env": client_context.env,
            "client": None
            if client is None
            else {"app_title": client.app_title, "installation_id": client.installation_id},
        },
        "w3c": context.w3c() if hasattr(context, "w3c") else "missing",
        "trace_id": os.environ.get("_X_AMZN_TRACE_ID"),
    }


def _child(code):
    subprocess.run([sys.executable, "-c", code], check=True)


def _in_thread(fn):
    thread = threading.Thread(target=fn)
    thread.start()
    thread.join(30)


# Each log path writes MARK (and what follows it) so the test can find it; the event names the path.
LOG_PATHS = {
    "print": lambda text: print(text),
    "stdout_partial": lambda text: sys.stdout.write(text),
    "print_no_end": lambda text: print(text, end=""),
    "stderr": lambda text: print(text, file=sys.stderr),
    "stderr_partial": lambda text: sys.stderr.write(text),
    "logging_warning": lambda text: logger.warning(text),
    "logging_info": lambda text: logger.info(text),
    "logging_custom_level": lambda text: logger.log(25, text),
    "logging_high_level": lambda text: logger.log(60, text),
    "logging_dict": lambda text: logger.warning({"text": text}),
    "logging_extra": lambda text: logger.warning(text, extra={"custom": 42}),
    "logging_exception": lambda text: _log_exception(text),
    "context_log": None,  # needs the context: see emit()
    "child_print": lambda text: _child(f"print({text!r})"),
    "child_partial": lambda text: _child(f"import sys; sys.stdout.write({text!r})"),
    "thread_print": lambda text: _in_thread(lambda: print(text)),
    "thread_logging": lambda text: _in_thread(lambda: logger.warning(text)),
    "raise_empty": lambda text: _raise(ValueError()),
    "raise_message": lambda text: _raise(ValueError(text)),
}


def _log_exception(text):
    try:
        raise KeyError(text)
    except KeyError:
        logger.exception(text)


def _raise(error):
    raise error


def emit(event, context):
    """Write `event["text"]` through `event["path"]`, then a closing line, so both kinds of output are ordered."""
    if event["path"] == "context_log":
        context.log(event["text"])
    else:
        LOG_PATHS[event["path"]](event["text"])
    logger.warning("after")
    return "ok"
