"""Smoke test of the import-cost benchmark: real fresh interpreters, two checkouts side by side."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMMAND = [sys.executable, "-m", "benchmarks.import_cost", "--rounds", "2"]


@pytest.mark.timeout(120)
def test_import_cost_measures_both_checkouts_and_awslambdaric(tmp_path: Path) -> None:
    command = [*COMMAND, "--against", str(ROOT), "--after", "json", "--out", str(tmp_path)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=110)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    record = json.loads((tmp_path / "import_cost.json").read_text())
    assert record["after"] == "json"
    results = record["results"]
    assert sorted(results) == sorted(["ours (this checkout)", f"ours ({ROOT})", "awslambdaric"])
    for name, figures in results.items():
        assert figures["beyond_requests_ms"]["n"] == 2 and figures["beyond_requests_ms"]["p50"] > 0
        if name != "awslambdaric":
            assert figures["with_requests_ms"]["p50"] > figures["requests_ms"]["p50"] > 0
    assert "goal: import cost beyond `import requests` <= 15 ms:" in done.stdout


def test_a_checkout_without_the_runtime_is_refused(tmp_path: Path) -> None:
    # Its interpreters would import this checkout's runtime instead: a before/after of one and the same code.
    command = [*COMMAND, "--against", str(tmp_path), "--out", str(tmp_path)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=110)
    assert done.returncode != 0 and f"{tmp_path}: imports lambda_runtime from {ROOT}" in done.stderr
    assert not (tmp_path / "import_cost.json").exists()
