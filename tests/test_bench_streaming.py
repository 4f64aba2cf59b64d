"""benchmarks/streaming.py runs end to end (one round of each mode, a 5 MB stream) and reports what it measured."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_streaming_benchmark_smoke(tmp_path):
    out = tmp_path / "streaming.json"
    command = [sys.executable, "-m", "benchmarks.streaming", "--rounds", "1", "--big-rounds", "1", "--megabytes", "5"]
    run = subprocess.run([*command, "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(out.read_text())
    ttfb = result["ttfb"]
    # The buffered answer waits for all ten chunks, 100 ms apart; the stream's first byte does not.
    assert ttfb["buffered_ttfb_ms"]["p50"] >= 900
    assert ttfb["streamed_ttfb_ms"]["p50"] < ttfb["buffered_ttfb_ms"]["p50"]
    assert result["throughput"]["runtime_peak_rss_mb"][0] > 0
    assert "first yield to first byte" in run.stdout
