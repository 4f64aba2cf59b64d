"""Finding a CPython of a given version on this machine, for tests that need Lambda's Python (3.12, 3.13)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess


def find_python(version: str) -> str | None:
    """`pythonX.Y` on PATH if it runs, else a pyenv install of that version (its shim may not be enabled)."""
    candidates = [shutil.which(f"python{version}")]
    pyenv = os.path.expanduser("~/.pyenv/versions")
    candidates += sorted(glob.glob(f"{pyenv}/{version}.*/bin/python{version}"), reverse=True)
    for candidate in candidates:
        if candidate and _version_of(candidate) == version:
            return candidate
    return None


def _version_of(python: str) -> str | None:
    probe = "import sys; print('%d.%d' % sys.version_info[:2])"
    try:
        result = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return None
    return result.stdout.strip() if result.returncode == 0 else None


#: Where a free-threaded CPython may be: on PATH, or built from source into /opt (docs/guides/process-jobs.md says how).
FREE_THREADED_CANDIDATES = (
    "python3.14t",
    "python3.13t",
    "/opt/python3.14t/bin/python3.14t",
    "/opt/python3.13t/bin/python3.13t",
)


def find_free_threaded_python() -> str | None:
    """A free-threaded interpreter (`sys.abiflags` has "t") that can import the runtime's dependencies, or None."""
    probe = "import sys, requests, tenacity, pythonjsonlogger; print(sys.abiflags)"
    for candidate in (os.environ.get("LAMBDA_RUNTIME_TEST_FREE_THREADED_PYTHON"), *FREE_THREADED_CANDIDATES):
        python = candidate and shutil.which(candidate)
        if not python:
            continue
        try:
            result = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=60, check=False)
        except OSError:
            continue
        if result.returncode == 0 and "t" in result.stdout:
            return python
    return None
