"""Settings.from_environ: defaults, parsing, and errors that name the variable."""

from __future__ import annotations

import pytest

from lambda_runtime.config import Settings
from lambda_runtime.errors import ConfigError

BASE = {"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001", "_HANDLER": "app.handler"}


def test_defaults():
    settings = Settings.from_environ(BASE)
    assert settings.runtime_api == "127.0.0.1:9001"
    assert settings.handler == "app.handler"
    assert settings.log_format == "Text"
    assert settings.log_level == ""  # unset: the root logger stays at WARNING, as under awslambdaric
    assert settings.telemetry_log_fd is None
    assert settings.memory_limit_in_mb == 128
    assert settings.defer_margin_ms == 100
    assert settings.defer_overrun == "abandon"


def test_argument_wins_over_handler_variable():
    assert Settings.from_environ(BASE, handler="other.fn").handler == "other.fn"


def test_values_are_parsed_and_normalised():
    settings = Settings.from_environ(
        {
            **BASE,
            "AWS_LAMBDA_LOG_FORMAT": "json",
            "AWS_LAMBDA_LOG_LEVEL": "warn",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
            "LAMBDA_RUNTIME_DEFER_WORKERS": "8",
            "LAMBDA_RUNTIME_DEFER_OVERRUN": "EXIT",
            "LAMBDA_RUNTIME_DEFER_ON_ERROR": "false",
            "LAMBDA_RUNTIME_DEFER_PROCESSES_AT_INIT": "true",
        }
    )
    assert settings.log_format == "JSON"
    assert settings.log_level == "WARNING"
    assert settings.memory_limit_in_mb == 512
    assert settings.defer_workers == 8
    assert settings.defer_overrun == "exit"
    assert settings.defer_on_error is False
    assert settings.defer_processes_at_init is True


def test_log_level_falls_back_to_log_level_variable():
    # Deliberately different from awslambdaric, which ignores LOG_LEVEL: many functions already set it.
    assert Settings.from_environ({**BASE, "LOG_LEVEL": "debug"}).log_level == "DEBUG"
    assert Settings.from_environ({**BASE, "LOG_LEVEL": "debug", "AWS_LAMBDA_LOG_LEVEL": "error"}).log_level == "ERROR"


def test_telemetry_descriptor():
    assert Settings.from_environ({**BASE, "_LAMBDA_TELEMETRY_LOG_FD": "3"}).telemetry_log_fd == 3
    with pytest.raises(ConfigError, match="_LAMBDA_TELEMETRY_LOG_FD='x'"):
        Settings.from_environ({**BASE, "_LAMBDA_TELEMETRY_LOG_FD": "x"})


def test_settings_are_frozen():
    settings = Settings.from_environ(BASE)
    with pytest.raises(AttributeError):
        settings.handler = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AWS_LAMBDA_RUNTIME_API", "localhost"),
        ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:notaport"),
        ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:70000"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "lots"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "0"),
        ("AWS_LAMBDA_LOG_FORMAT", "xml"),
        ("AWS_LAMBDA_LOG_LEVEL", "loud"),
        ("LAMBDA_RUNTIME_DEFER_OVERRUN", "kill"),
        ("LAMBDA_RUNTIME_DEFER_MARGIN_MS", "-5"),
        ("LAMBDA_RUNTIME_DEFER_MARGIN_MS", "0"),
        ("LAMBDA_RUNTIME_DEFER_MARGIN_MS", "900001"),
        ("LAMBDA_RUNTIME_POST_TIMEOUT", "inf"),
        ("LAMBDA_RUNTIME_POST_TIMEOUT", "nan"),
        ("LAMBDA_RUNTIME_POST_TIMEOUT", "-1"),
        ("LAMBDA_RUNTIME_POST_TIMEOUT", "0"),
        ("LAMBDA_RUNTIME_POST_TIMEOUT", "1e9"),
        ("LAMBDA_RUNTIME_RETRY_MAX_DELAY", "Infinity"),
        ("LAMBDA_RUNTIME_RETRY_ATTEMPTS", "0"),
        ("LAMBDA_RUNTIME_RETRY_ATTEMPTS", "1000000"),
        ("LAMBDA_RUNTIME_DEFER_WORKERS", "0"),
        ("LAMBDA_RUNTIME_DEFER_WORKERS", "100000"),
        ("LAMBDA_RUNTIME_DEFER_MAX_PENDING", "-1"),
        ("LAMBDA_RUNTIME_DEFER_MAX_QUEUED", "0"),
        ("_LAMBDA_TELEMETRY_LOG_FD", "-1"),
        ("LAMBDA_RUNTIME_DEFER_ON_ERROR", "maybe"),
        ("LAMBDA_RUNTIME_DEFER_PROCESSES_AT_INIT", "soon"),
    ],
)
def test_bad_values_name_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        Settings.from_environ({**BASE, name: value})


def test_missing_runtime_api_and_handler_are_named():
    with pytest.raises(ConfigError, match="AWS_LAMBDA_RUNTIME_API"):
        Settings.from_environ({"_HANDLER": "a.b"})
    with pytest.raises(ConfigError, match="_HANDLER"):
        Settings.from_environ({"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:1"})


def test_managed_instances_log_json_by_default_and_text_only_when_asked():
    # Lambda Managed Instances always use JSON logs (each record names its request id): the runtime's default too.
    assert Settings.from_environ({**BASE, "AWS_LAMBDA_MAX_CONCURRENCY": "4"}).log_format == "JSON"
    assert (
        Settings.from_environ({**BASE, "AWS_LAMBDA_MAX_CONCURRENCY": "4", "AWS_LAMBDA_LOG_FORMAT": "Text"}).log_format
        == "Text"
    )


def test_the_shared_job_queue_bound_is_never_below_one_invocations_own():
    assert Settings.from_environ(BASE).defer_max_queued == 1024
    assert Settings.from_environ({**BASE, "LAMBDA_RUNTIME_DEFER_MAX_PENDING": "5000"}).defer_max_queued == 5000
    assert Settings.from_environ({**BASE, "LAMBDA_RUNTIME_DEFER_MAX_QUEUED": "8"}).defer_max_queued == 8
