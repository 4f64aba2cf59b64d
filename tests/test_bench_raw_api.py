"""Smoke test of the raw-socket Runtime API harness: real runtimes (ours, awslambdaric, the floor) against it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(180)
def test_raw_api_measures_cold_starts_and_loops_of_every_runtime(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "benchmarks.raw_api", "--starts", "1", "--rounds", "2", "--events", "20"]
    done = subprocess.run([*command, "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=170)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    result = json.loads((tmp_path / "raw_api.json").read_text())
    for kind in ("noop", "boto3"):
        for name in ("ours", "awslambdaric"):
            assert result["cold_start_ms"][kind][name]["p50"] > 0
    for name in ("ours", "awslambdaric", "floor"):
        assert 0 < result["loop_overhead_us"][name]["p50"] < result["cycle_us"][name]["p50"]
        assert len(result["raw"]["loop_overhead_us_per_round"][name]) == 2
    assert [isinstance(goal["met"], bool) for goal in result["goals"]] == [True, True]
    assert result["meta"]["load_average_at_start"] and "cpu_model" in result["meta"]
    assert "ours / floor:" in done.stdout
