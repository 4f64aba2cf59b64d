"""The JSON log format (`AWS_LAMBDA_LOG_FORMAT=JSON`), built on python-json-logger.

Fields as awslambdaric's `JsonFormatter` (lambda_runtime_log_utils.py) writes them, so log queries and metric
filters written for managed runtimes keep working.
"""

from __future__ import annotations

import json
import logging
import traceback
from datetime import datetime, timezone
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from lambda_runtime.errors import describe

_FIELD_ORDER = (
    "timestamp",
    "level",
    "message",
    "logger",
    "stackTrace",
    "errorType",
    "errorMessage",
    "requestId",
    "location",
    "tenantId",
)


def _timestamp(created: float) -> str:
    moment = datetime.fromtimestamp(created, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class LambdaJsonFormatter(JsonFormatter):
    """One object per line: timestamp, level, message, logger, requestId, tenantId, error fields and any `extra`."""

    def __init__(self) -> None:
        super().__init__("%(message)s", json_ensure_ascii=False)

    def format(self, record: logging.LogRecord) -> str:
        failure = getattr(record, "lambda_error", None)
        if failure is None:
            return super().format(record)
        # awslambdaric's log_error in JSON format: the error body itself, with a timestamp and a level.
        return json.dumps({"timestamp": _timestamp(record.created), "level": "ERROR", **failure}, ensure_ascii=False)

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        # The error fields replace python-json-logger's preformatted `exc_info` string.
        message_dict.pop("exc_info", None)
        log_data["timestamp"] = _timestamp(record.created)
        # awslambdaric names a custom level (25) after the standard level below it (INFO), as its frame type does.
        log_data["level"] = logging.getLevelName(min(50, max(0, record.levelno)) // 10 * 10)
        if isinstance(record.msg, dict) and not record.args:
            # awslambdaric keeps a dict message as the value of "message"; python-json-logger would merge it.
            super().add_fields(log_data, record, {})
            log_data["message"] = record.msg
        else:
            super().add_fields(log_data, record, message_dict)
        log_data["logger"] = record.name
        log_data["requestId"] = getattr(record, "aws_request_id", "")
        log_data.pop("aws_request_id", None)
        tenant_id = log_data.pop("tenant_id", None)
        if tenant_id is not None:
            log_data["tenantId"] = tenant_id
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            log_data["errorType"] = type(error).__name__
            log_data["errorMessage"] = describe(error)
            log_data["stackTrace"] = traceback.format_tb(record.exc_info[2])
            log_data["location"] = f"{record.pathname}:{record.funcName}:{record.lineno}"
        # awslambdaric's field order, `extra` fields last: the same records read the same in CloudWatch.
        extra = {key: log_data.pop(key) for key in list(log_data) if key not in _FIELD_ORDER}
        fields = {key: log_data.pop(key) for key in _FIELD_ORDER if key in log_data}
        log_data.update(fields)
        log_data.update(extra)
