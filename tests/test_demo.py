"""`make demo` runs the example end to end: callers answered before the billed duration (the deferred job) ends."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).parent.parent / "examples" / "demo.py"


def test_demo_answers_before_the_background_work_ends():
    result = subprocess.run([sys.executable, str(DEMO)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rows = re.findall(r"answered in\s+([\d.]+) ms, billed\s+(\d+) ms", result.stdout)
    assert len(rows) == 3
    for answered, billed in rows:
        # The job works for 2 s after the response: billed covers it, the caller never waited for it.
        assert int(billed) >= 2000
        assert float(answered) < 1500  # generous: the answer takes milliseconds, the job 2 s
    assert '{"echoedMessage":"hello"}' in result.stdout
    assert "Background work completed for 'hello'" in result.stdout + result.stderr
    assert "stopped cleanly" in result.stdout
