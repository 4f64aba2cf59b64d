"""How ``lambda-runtime serve`` shows the function's log and its own on a terminal.

A runtime writes each log record on one line, its inner line breaks turned into ``\\r`` (as awslambdaric does, so
that CloudWatch keeps a traceback in one event); the emulator keeps the record so. Printed as it is, a terminal
takes each ``\\r`` for "back to the start of the line" and the traceback's lines overwrite each other, the error
message first. Here each record is shown whole: its lines one under the other.

Colour (errors red, warnings yellow, the platform's START / END / REPORT lines dim) only when the stream is a
terminal and ``NO_COLOR`` is not set (https://no-color.org: "when present and not an empty string").
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import IO

RESET = "\033[0m"
RED = "\033[31m"
YELLOW = "\033[33m"
DIM = "\033[2m"

#: Lines the platform adds to the function's log (ledger.py writes them).
_PLATFORM = re.compile(r"(START|END|REPORT|INIT_START|INIT_REPORT|RESTORE_START|RESTORE_REPORT) ")
#: A failure the platform reports: a timeout, an exit.
_PLATFORM_FAILURE = re.compile(r"\S+ \S+ Task timed out after |RequestId: \S+ Error: |Runtime\.ExitError$")
#: A record's level, in Lambda's text format (``[ERROR]\t...``) or in its JSON format (``"level":"ERROR"``).
_LEVEL = re.compile(r'^\[(?P<text>[A-Z]+)\]|"level"\s*:\s*"(?P<json>[A-Z]+)"')
_ERROR_LEVELS = {"ERROR", "CRITICAL", "FATAL"}
_WARNING_LEVELS = {"WARN", "WARNING"}


def wants_colour(stream: IO[str], environ: Mapping[str, str]) -> bool:
    """Colour for a terminal, unless ``NO_COLOR`` is set to something."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not environ.get("NO_COLOR")


def readable(record: str) -> str:
    """The record's lines, one under the other (``\\r`` and ``\\r\\n`` inside a record are line breaks)."""
    return record.replace("\r\n", "\n").replace("\r", "\n")


def colour_of_record(record: str) -> str:
    """The colour a record of the function's log is shown in ("" for none)."""
    if _PLATFORM_FAILURE.match(record):
        return RED
    if _PLATFORM.match(record):
        return DIM
    level = _LEVEL.search(record[:200])
    name = (level.group("text") or level.group("json")) if level else None
    if name in _ERROR_LEVELS:
        return RED
    if name in _WARNING_LEVELS:
        return YELLOW
    return ""


class FunctionLogFormatter(logging.Formatter):
    """The function's log (runtime output and platform lines): each record whole, coloured if ``colour``."""

    def __init__(self, colour: bool) -> None:
        super().__init__("%(message)s")
        self.colour = colour

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        paint = colour_of_record(text) if self.colour else ""
        text = readable(text)
        return f"{paint}{text}{RESET}" if paint else text


class EmulatorLogFormatter(logging.Formatter):
    """The emulator's own log: time, level, message; warnings yellow and errors red if ``colour``."""

    def __init__(self, colour: bool) -> None:
        super().__init__("%(asctime)s %(levelname)s emulator: %(message)s")
        self.colour = colour

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if not self.colour:
            return text
        if record.levelno >= logging.ERROR:
            return f"{RED}{text}{RESET}"
        if record.levelno >= logging.WARNING:
            return f"{YELLOW}{text}{RESET}"
        if record.levelno <= logging.DEBUG:
            return f"{DIM}{text}{RESET}"
        return text
