"""The load benchmark, small: figures come from the emulator's records, results go to a new file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.load import peak_busy

ROOT = Path(__file__).resolve().parent.parent


def test_peak_busy_counts_overlapping_invocations_after_the_warmup() -> None:
    records = [
        {"delivered_at": 0.0, "next_at": 1.0},
        {"delivered_at": 0.5, "next_at": 2.0},
        {"delivered_at": 1.5, "next_at": 3.0},
        {"delivered_at": 2.0, "next_at": 2.5},  # starts as the second ends: not at the same time
    ]
    assert peak_busy(records, since=0.0) == 2
    assert peak_busy(records, since=2.6) == 1


def test_a_small_run_writes_a_new_result_file(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "benchmarks.load", "--rates", "5", "--seconds", "1", "--warmup", "0"]
    done = subprocess.run([*command, "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    (result,) = tmp_path.glob("load-*.json")
    assert result.with_suffix(".png").exists()
    runs = json.loads(result.read_text())["runs"]
    assert [r["mode"] for r in runs] == ["critical_only", "inline", "deferred"]
    for run in runs:
        assert run["sent"] == 5 and run["ok"] + run["throttled_429"] == 5
        assert run["environments"] >= 1 and run["cold_starts"] == run["environments"]
        assert run["billed_ms_total"] >= run["ok"] * 5  # every answered one billed at least its critical work
    inline, deferred = runs[1], runs[2]
    assert deferred["billed_ms_p50"] >= 50 and inline["billed_ms_p50"] >= 50  # D is billed either way
