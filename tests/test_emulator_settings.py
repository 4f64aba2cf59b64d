"""Every emulator setting is checked against Lambda's limits (or, for the emulator's own settings, a range that
works) when it is given: `lambda-runtime serve` refuses it at once with a one-line error naming the option, and
`Emulator(...)` raises the same error, instead of serving and failing every invocation later."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from typing import Any

import pytest

from lambda_runtime.emulator import Emulator, EmulatorConfig
from lambda_runtime.emulator import cli as emulator_cli
from lambda_runtime.emulator.limits import ConfigError
from tests.conftest import FUNCTIONS

# (option, value, the reason named in the error)
OUT_OF_RANGE = [
    ("--timeout", "1000", "between 1 and 900 seconds (Lambda's limits)"),
    ("--timeout", "3600", "between 1 and 900 seconds (Lambda's limits)"),
    ("--timeout", "0.5", "between 1 and 900 seconds (Lambda's limits)"),
    ("--timeout", "nan", "between 1 and 900 seconds (Lambda's limits)"),
    ("--timeout", "inf", "between 1 and 900 seconds (Lambda's limits)"),
    ("--memory-size", "127", "between 128 and 10,240 MB (Lambda's limits)"),
    ("--memory-size", "10241", "between 128 and 10,240 MB (Lambda's limits)"),
    ("--max-concurrency", "1601", "between 0 and 1,600 (Lambda's limits)"),
    ("--max-concurrency", "-1", "between 0 and 1,600 (Lambda's limits)"),
    ("--max-retry-attempts", "3", "between 0 and 2 (Lambda's limits)"),
    ("--max-event-age", "21601", "between 0 and 21,600 seconds"),
    ("--max-event-age", "inf", "between 0 and 21,600 seconds"),
    ("--concurrency", "0", "between 1 and 1,000 environments"),
    ("--init-timeout", "nan", "between 0 and 900 seconds"),
    ("--kill-grace", "0", "between 0 and 900 seconds"),
    ("--restore-delay", "-1", "between 0 and 900 seconds"),
    ("--idle-timeout", "inf", "> 0 seconds"),
    ("--queue-size", "-1", ">= 0"),
    ("--keep-records", "0", ">= 1"),
    ("--async-queue-size", "0", ">= 1"),
    ("--retry-delays", "1,nan", "between 0 and 21,600 seconds"),
    ("--port", "65536", "between 0 and 65,535"),
]


def serve_args(*extra: str) -> list[str]:
    return ["serve", "basic.echo", "--task-root", str(FUNCTIONS), *extra]


@pytest.mark.parametrize(("option", "value", "reason"), OUT_OF_RANGE)
def test_the_cli_refuses_a_value_out_of_range_in_one_line(
    option: str, value: str, reason: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def must_not_serve(config: EmulatorConfig) -> None:
        raise AssertionError(f"served with {option} {value}")

    monkeypatch.setattr(emulator_cli, "serve", must_not_serve)
    loggers = [logging.getLogger(name) for name in ("lambda_runtime.emulator", "lambda_runtime.emulator.runtime")]
    handlers = [list(logger.handlers) for logger in loggers]
    assert emulator_cli.main(serve_args(option, value), environ={}) == 2
    assert [logger.handlers for logger in loggers] == handlers  # refused before the emulator set up its logging
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"lambda-runtime serve: error: argument {option}: must be {reason}, got ")
    assert line.endswith("(see lambda-runtime serve --help)")


def python_value(option: str, text: str) -> Any:
    """What a Python caller would pass for the option's text: an int where the setting is whole, else floats."""
    if option == "--retry-delays":
        return tuple(float(part) for part in text.split(","))
    whole = option in ("--memory-size", "--max-concurrency", "--max-retry-attempts", "--concurrency", "--queue-size")
    return int(text) if whole or option in ("--keep-records", "--async-queue-size", "--port") else float(text)


@pytest.mark.parametrize(("option", "value", "reason"), OUT_OF_RANGE)
def test_the_python_facade_refuses_the_same_values_with_the_same_reason(option: str, value: str, reason: str) -> None:
    setting = option[2:].replace("-", "_")
    with pytest.raises(ConfigError) as error:
        Emulator("basic.echo", task_root=str(FUNCTIONS), **{setting: python_value(option, value)})
    assert error.value.setting == setting
    assert error.value.reason.startswith(f"must be {reason}, got ")


def test_a_number_of_the_wrong_kind_is_refused_by_name() -> None:
    for setting, value in (("memory_size", 256.0), ("timeout", "3"), ("concurrency", True)):
        with pytest.raises(ConfigError, match=f"^{setting} must be a"):
            Emulator("basic.echo", task_root=str(FUNCTIONS), **{setting: value})


def test_a_timeout_beyond_lambdas_is_refused_before_serving() -> None:
    """The command ends at once with its one line: it never listens, so no invocation can fail for it later."""
    command = [sys.executable, "-m", "lambda_runtime.emulator.cli", *serve_args("--timeout", "1000", "--port", "0")]
    process = subprocess.Popen(command, cwd=FUNCTIONS, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        first = process.stderr.readline()  # a serving emulator writes "listening on ..." here and goes on
        assert "listening" not in first, first
        assert process.wait(timeout=60) == 2
    finally:
        process.kill()
        process.wait()
    assert first == (
        "lambda-runtime serve: error: argument --timeout: must be between 1 and 900 seconds (Lambda's limits), "
        "got 1000.0 (see lambda-runtime serve --help)\n"
    )


def test_a_timeout_from_the_environment_is_checked_and_named(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(emulator_cli, "serve", lambda config: pytest.fail("served"))
    for raw in ("901", "nan", "soon"):
        assert emulator_cli.main(serve_args(), environ={"AWS_LAMBDA_FUNCTION_TIMEOUT": raw}) == 2
        (line,) = capsys.readouterr().err.splitlines()
        assert line.startswith(f"lambda-runtime serve: error: AWS_LAMBDA_FUNCTION_TIMEOUT={raw!r} is invalid: ")


def test_a_malformed_value_is_one_line_too(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        emulator_cli.main(serve_args("--memory-size", "lots"), environ={})
    assert exit.value.code == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert re.fullmatch(
        r"lambda-runtime serve: error: argument --memory-size: invalid int value: 'lots' "
        r"\(see lambda-runtime serve --help\)",
        line,
    )


def test_lambdas_bounds_themselves_are_accepted() -> None:
    for settings in (
        {"timeout": 1, "memory_size": 128, "max_concurrency": 1, "max_retry_attempts": 0},
        {"timeout": 900, "memory_size": 10_240, "max_concurrency": 1_600, "max_retry_attempts": 2},
    ):
        config = EmulatorConfig("basic.echo", task_root=str(FUNCTIONS), **settings)  # type: ignore[arg-type]
        assert {name: getattr(config, name) for name in settings} == settings


def test_a_function_name_must_be_one_lambda_accepts() -> None:
    for name in ("", "a" * 65, "my function", "fn:1", "a/b"):
        with pytest.raises(ConfigError, match="function_name must be 1 to 64 letters"):
            EmulatorConfig("basic.echo", task_root=str(FUNCTIONS), function_name=name)
    assert EmulatorConfig("basic.echo", task_root=str(FUNCTIONS), function_name="A-b_9" * 12 + "abcd")


def test_the_longest_timeout_serves_an_invocation(serve: Any) -> None:
    """900 s, Lambda's longest: the runtime takes the deadline it is sent (one further out would be refused)."""
    emu = serve("basic.context_info", timeout=900)
    body = emu.invoke({}).json()
    assert 899_000 < body["remaining_ms"] <= 900_000
