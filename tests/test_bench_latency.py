"""`python -m benchmarks.latency` runs the latency scenario alone, prints the goal's figures, writes locally."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_latency_scenario_alone(tmp_path):
    command = [sys.executable, "-m", "benchmarks.latency", "--smoke", "--kinds", "io", "--out", str(tmp_path)]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    (written,) = tmp_path.glob("latency-*.json")
    result = json.loads(written.read_text())
    assert set(result["paired_all_d"]) == {"io"}  # --kinds honoured
    assert set(result["configs"]) == {"io/10", "io/50"}
    # The deferred invocation's billed duration covers D (it comes from the records), its caller did not wait for it.
    deferred = result["configs"]["io/50"]["modes"]["ours_deferred"]
    assert deferred["billed_ms"]["p50"] >= 50 > deferred["client_ms"]["p50"]
    assert "io: billed deferred - inline p50" in run.stdout and str(written) in run.stdout
