"""The range of every numeric emulator setting, checked in one place (``EmulatorConfig``), for the CLI and
``Emulator(...)`` alike.

Where Lambda has a limit, the emulator has the same one, so that a function configured here deploys as it is
(AWS docs: "Lambda quotas", https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html, and the
API reference of ``CreateFunction``, ``PutFunctionEventInvokeConfig`` and
``LambdaManagedInstancesCapacityProviderConfig``). Settings of the emulator's own have the range that keeps it
working: finite, positive, a port a socket can bind.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

#: Lambda's function name: 1 to 64 letters, digits, hyphens or underscores (``CreateFunction``, FunctionName).
FUNCTION_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


class ConfigError(ValueError):
    """An emulator setting is malformed or out of range; ``setting`` names it (``timeout``, ``memory_size`` ...)."""

    def __init__(self, setting: str, reason: str) -> None:
        super().__init__(f"{setting} {reason}")
        self.setting = setting
        self.reason = reason


@dataclass(frozen=True)
class Limit:
    """``low <= value <= high`` (``low < value`` when ``above_low``), finite, a whole number if ``whole``."""

    setting: str
    low: float
    high: float = math.inf
    unit: str = ""
    whole: bool = False
    above_low: bool = False
    #: ``None`` is allowed (the setting is off).
    optional: bool = False
    #: Whose limit it is, said in the error: Lambda's, or the emulator's own.
    lambdas: bool = False

    def check(self, value: object) -> None:
        kind = (int,) if self.whole else (int, float)
        if isinstance(value, bool) or not isinstance(value, kind):
            raise ConfigError(self.setting, f"must be {'a whole number' if self.whole else 'a number'}, got {value!r}")
        number = float(value)
        too_low = number <= self.low if self.above_low else number < self.low
        if not math.isfinite(number) or too_low or number > self.high:
            raise ConfigError(self.setting, f"must be {self.describe()}, got {value!r}")

    def describe(self) -> str:
        """``between 1 and 900 seconds (Lambda's limits)``, ``> 0 seconds`` ..."""
        unit = f" {self.unit}" if self.unit else ""
        if self.high == math.inf:
            text = f"{'>' if self.above_low else '>='} {_number(self.low)}{unit}"
        else:
            text = f"between {_number(self.low)} and {_number(self.high)}{unit}"
        return text + (" (Lambda's limits)" if self.lambdas else "")


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else str(value)


LIMITS = (
    # Function configuration: Lambda's limits.
    Limit("timeout", 1, 900, "seconds", lambdas=True),
    Limit("memory_size", 128, 10_240, "MB", whole=True, lambdas=True),
    Limit("max_retry_attempts", 0, 2, whole=True, lambdas=True),
    # Managed Instances: PerExecutionEnvironmentMaxConcurrency is 1 to 1,600; 0 here means "not Managed Instances".
    Limit("max_concurrency", 0, 1_600, whole=True, lambdas=True),
    # Reserved concurrency cannot exceed the account's concurrency, 1,000 by default (a quota one may raise).
    Limit("concurrency", 1, 1_000, "environments", whole=True),
    # Lambda allows 60 s to 6 h; shorter ages are accepted so that a test need not wait a minute.
    Limit("max_event_age", 0, 21_600, "seconds", above_low=True),
    # The emulator's own settings.
    Limit("init_timeout", 0, 900, "seconds", above_low=True),
    Limit("kill_grace", 0, 900, "seconds", above_low=True),
    Limit("shutdown_budget", 0, 900, "seconds", above_low=True),
    Limit("restore_delay", 0, 900, "seconds"),
    Limit("idle_timeout", 0, unit="seconds", above_low=True, optional=True),
    Limit("client_timeout", 0, 3_600, "seconds", above_low=True),
    Limit("queue_size", 0, whole=True),
    Limit("keep_records", 1, whole=True),
    Limit("async_queue_size", 1, whole=True),
    Limit("port", 0, 65_535, whole=True),
)
#: Each of ``retry_delays``, in seconds.
RETRY_DELAY = Limit("retry_delays", 0, 21_600, "seconds")
