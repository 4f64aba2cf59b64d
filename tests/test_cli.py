"""The command lines a new user meets: `python -m lambda_runtime` (--help, --version: usage.py) and
`lambda-runtime` (--version, a port in use, starting the first environment on demand)."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import psutil

import lambda_runtime
from lambda_runtime.emulator.cli import build_parser
from tests.conftest import FUNCTIONS
from tests.emulator_functions.harness import CliServer
from tests.polling import wait_until

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "lambda_runtime" / "config.py"
VERSION = f"lambda-runtime {lambda_runtime.__version__}"


def run(*command: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(command), cwd=FUNCTIONS, env=env or {"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=60
    )


def test_version_from_the_runtime_and_from_the_emulator_cli() -> None:
    for flag in ("--version", "-V"):
        runtime = run(sys.executable, "-m", "lambda_runtime", flag)
        assert (runtime.returncode, runtime.stdout) == (0, VERSION + "\n"), runtime.stderr
    script = shutil.which("lambda-runtime", path=str(Path(sys.executable).parent))
    assert script is not None, "the console script is installed with the project"
    emulator = run(script, "--version")
    assert (emulator.returncode, emulator.stdout) == (0, VERSION + "\n"), emulator.stderr


def test_version_is_the_packages_one() -> None:
    from importlib.metadata import version

    assert version("lambda-runtime") == lambda_runtime.__version__  # pyproject.toml reads it from __init__.py


def test_runtime_help_says_what_it_is_what_it_reads_and_what_starts_it() -> None:
    # Without AWS_LAMBDA_RUNTIME_API: help must not need it (nor answer "AWS_LAMBDA_RUNTIME_API is not set").
    result = run(sys.executable, "-m", "lambda_runtime", "--help")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith("usage: python -m lambda_runtime")
    assert "custom runtime for AWS Lambda" in text and "context.defer()" in text
    assert "Lambda does" in text and "lambda-runtime serve HANDLER" in text
    # Every variable the runtime reads is named (the lead adds new ones to the help with the setting).
    read = set(re.findall(r'"((?:AWS_LAMBDA|LAMBDA|_HANDLER|LOG_LEVEL)[A-Z_]*)"', CONFIG.read_text()))
    assert {"AWS_LAMBDA_RUNTIME_API", "_HANDLER", "LAMBDA_RUNTIME_DEFER_WORKERS"} <= read
    assert [name for name in sorted(read) if name not in text] == []
    assert run(sys.executable, "-m", "lambda_runtime", "-h").stdout == text


def test_runtime_rejects_unknown_options_instead_of_taking_them_for_a_handler() -> None:
    result = run(sys.executable, "-m", "lambda_runtime", "--halp")
    assert result.returncode == 2
    assert "unknown option --halp (see --help)" in result.stderr
    assert "Bad handler" not in result.stderr + result.stdout


def test_run_by_hand_the_runtime_points_to_its_help() -> None:
    result = run(sys.executable, "-m", "lambda_runtime", "basic.echo")
    assert result.returncode == 2
    assert "AWS_LAMBDA_RUNTIME_API is not set" in result.stderr and "--help" in result.stderr


def test_a_port_in_use_is_named_with_a_way_out() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [sys.executable, "-m", "lambda_runtime.emulator", "serve", "basic.echo", "--port", str(port)]
        result = run(*command)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert f"port {port} on 127.0.0.1 is already in use" in line
    assert "--port 0" in line
    assert "Errno" not in line and "Traceback" not in result.stderr


def runtime_children(cli: CliServer) -> list[psutil.Process]:
    return psutil.Process(cli.process.pid).children(recursive=True)


def test_serve_starts_the_first_environment_on_demand_like_lambda(tmp_path: Path) -> None:
    assert build_parser().parse_args(["serve", "x.y"]).prestart is False
    report = tmp_path / "records.jsonl"
    cli = CliServer("basic.echo", "--report-file", str(report))
    try:
        assert runtime_children(cli) == []  # listening, and no runtime yet
        status, body = cli.post(b'{"n": 1}')
        assert (status, json.loads(body)["event"]) == (200, {"n": 1})
        assert wait_until(lambda: report.exists() and report.read_text().endswith("\n"))
        (record,) = [json.loads(line) for line in report.read_text().splitlines()]
        assert record["init_ms"] is not None and record["init_ms"] > 0  # the first caller paid the cold start
        assert "runtime started" in cli.log()
    finally:
        cli.kill()


def test_prestart_starts_it_at_once_and_still_reports_the_init(tmp_path: Path) -> None:
    report = tmp_path / "records.jsonl"
    cli = CliServer("basic.echo", "--prestart", "--report-file", str(report))
    try:
        cli.wait_for_line("runtime started")
        status, body = cli.post(b"{}")
        assert (status, json.loads(body)["event"]) == (200, {})
        assert wait_until(lambda: report.exists() and report.read_text().endswith("\n"))
        (record,) = [json.loads(line) for line in report.read_text().splitlines()]
        assert record["init_ms"] is not None and record["init_ms"] > 0
    finally:
        cli.kill()
