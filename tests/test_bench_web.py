"""benchmarks/web.py runs end to end (one round, D=50 ms) and reports from the emulator's records."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_web_benchmark_smoke(tmp_path):
    out = tmp_path / "web.json"
    command = [sys.executable, "-m", "benchmarks.web", "--rounds", "1", "--overhead-rounds", "2", "--warmup", "0"]
    run = subprocess.run([*command, "--ds", "50", "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(out.read_text())
    modes = result["latency"]["50"]["modes"]
    assert set(modes) == {"ours_asgi", "ours_asgi_no_bg", "mangum_awslambdaric", "mangum_ours"}
    # Billed durations come from the records: ours bills the background task after answering, Mangum before.
    assert modes["ours_asgi"]["billed_ms"]["p50"] >= 50
    assert modes["mangum_ours"]["client_ms"]["p50"] >= 50
    assert "adapter overhead" in run.stdout
