"""The Makefile's .venv follows $(PYTHON), and a failed install leaves nothing that breaks the next run.

Each test runs the real Makefile with real interpreters in a scratch directory. The pip step (INSTALL_DEPS) is
replaced by `true` or `false` (INSTALL_DEV, the dev layer, too): what is under test is the virtualenv's life, not pip
(`make test` in CI runs the real install from scratch).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.interpreters import find_python

ROOT = Path(__file__).resolve().parent.parent


def python_or_skip(version: str) -> str:
    python = find_python(version)
    if python is None:
        pytest.skip(f"no Python {version} on this machine (PATH or pyenv)")
    return python


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def make(
    project: Path, python: str, install: str = "true", target: str = "install", install_dev: str = "true"
) -> subprocess.CompletedProcess[str]:
    command = ["make", "--no-print-directory", target, f"PYTHON={python}", f"INSTALL_DEPS={install}"]
    command.append(f"INSTALL_DEV={install_dev}")
    return subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=300)


def dry_run(target: str) -> str:
    """The commands `make TARGET` would run in a fresh clone (make -n), with the real pip steps."""
    command = ["make", "--no-print-directory", "-n", target, f"PYTHON={sys.executable}", "VENV=.venv-never-made"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def venv_version(project: Path) -> str:
    for line in (project / ".venv" / "pyvenv.cfg").read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() in ("version", "version_info"):
            return ".".join(value.strip().split(".")[:2])
    raise AssertionError("pyvenv.cfg has no version")


def test_a_venv_of_another_python_is_built_again_with_the_one_asked_for(project: Path) -> None:
    py312, py313 = python_or_skip("3.12"), python_or_skip("3.13")
    first = make(project, py312)
    assert first.returncode == 0, first.stdout + first.stderr
    assert venv_version(project) == "3.12"
    # An existing .venv of another Python is not silently kept.
    second = make(project, py313)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "make: .venv has Python 3.12." in second.stdout and "building it again" in second.stdout
    assert venv_version(project) == "3.13"
    stamp = (project / ".venv" / ".installed").stat().st_mtime_ns
    third = make(project, py313)  # the same Python again: nothing to do
    assert third.returncode == 0 and "building it again" not in third.stdout
    assert (project / ".venv" / ".installed").stat().st_mtime_ns == stamp


def test_a_python_too_old_stops_with_a_one_line_fix_and_leaves_no_venv(project: Path) -> None:
    py39, py312 = python_or_skip("3.9"), python_or_skip("3.12")
    failed = make(project, py39)
    assert failed.returncode != 0
    (message,) = [line for line in failed.stderr.splitlines() if line.startswith("make: PYTHON=")]
    assert "is 3.9." in message and "needs Python 3.10 or later" in message and "PYTHON=python3.12" in message
    assert not (project / ".venv").exists()
    # The next run with a good Python just works, without `make clean` first.
    after = make(project, py312)
    assert after.returncode == 0, after.stdout + after.stderr
    assert venv_version(project) == "3.12"


def test_a_failed_install_removes_the_half_made_venv(project: Path) -> None:
    py312 = python_or_skip("3.12")
    failed = make(project, py312, install="false")
    assert failed.returncode != 0
    assert "install failed (see above); .venv removed" in failed.stderr
    assert not (project / ".venv").exists()
    after = make(project, py312)
    assert after.returncode == 0, after.stdout + after.stderr
    assert (project / ".venv" / ".installed").exists()


def test_a_missing_python_is_named(project: Path) -> None:
    failed = make(project, "/nonexistent/python3")
    assert failed.returncode != 0
    assert "make: PYTHON=/nonexistent/python3 is not found" in failed.stderr
    assert not (project / ".venv").exists()


def test_the_demo_installs_the_runtime_and_the_emulator_and_none_of_the_dev_tooling() -> None:
    demo = dry_run("demo")
    assert "pip install --quiet -e '.[emulator]'" in demo
    assert "[dev]" not in demo
    assert "examples/demo.py" in demo
    assert "pip install --quiet -e '.[dev]'" in dry_run("test")


def test_the_dev_layer_goes_on_top_of_the_demo_venv_and_each_layer_installs_once(project: Path) -> None:
    log = project / "installs.log"
    steps = {"install": f"echo demo >> {log}", "install_dev": f"echo dev >> {log}"}
    assert make(project, sys.executable, target="install-demo", **steps).returncode == 0
    assert log.read_text().split() == ["demo"]
    assert make(project, sys.executable, target="install", **steps).returncode == 0
    assert log.read_text().split() == ["demo", "dev"]  # the demo layer was kept, only the dev layer added
    assert make(project, sys.executable, target="install", **steps).returncode == 0
    assert log.read_text().split() == ["demo", "dev"]  # nothing to do


def test_a_failed_dev_install_removes_the_venv_too(project: Path) -> None:
    failed = make(project, sys.executable, install_dev="false")
    assert failed.returncode != 0
    assert "install failed (see above); .venv removed" in failed.stderr
    assert not (project / ".venv").exists()
