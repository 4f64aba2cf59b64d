"""The JSON log format (`AWS_LAMBDA_LOG_FORMAT=JSON`), built on python-json-logger."""

from __future__ import annotations

import logging
import traceback
from datetime import datetime, timezone
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from lambda_runtime.errors import describe


class LambdaJsonFormatter(JsonFormatter):
    """One object per line: timestamp, level, message, logger, requestId, error fields and any `extra`."""

    def __init__(self) -> None:
        super().__init__("%(message)s", json_ensure_ascii=False)

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        # The error fields replace python-json-logger's preformatted `exc_info` string, in the shape
        # Lambda's own JSON logs use, so log queries written for managed runtimes keep working.
        message_dict.pop("exc_info", None)
        created = datetime.fromtimestamp(record.created, tz=timezone.utc)
        log_data["timestamp"] = created.strftime("%Y-%m-%dT%H:%M:%S.") + f"{created.microsecond // 1000:03d}Z"
        log_data["level"] = record.levelname
        super().add_fields(log_data, record, message_dict)
        log_data["logger"] = record.name
        log_data["requestId"] = getattr(record, "aws_request_id", "")
        log_data.pop("aws_request_id", None)
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            log_data["errorType"] = type(error).__name__
            log_data["errorMessage"] = describe(error)
            log_data["stackTrace"] = traceback.format_tb(record.exc_info[2])
