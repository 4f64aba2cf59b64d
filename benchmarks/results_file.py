"""Where a scenario's figures go: the file asked for, or a new one in the untracked `results/local`; never over one.

Published results (`results/published`, `latest.*`) are written only by `python -m benchmarks --publish`.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

LOCAL = Path(__file__).parent / "results" / "local"  # in .gitignore: a laptop's run is never a change to commit


def save(result: Mapping[str, Any], name: str, out: Path | None = None, folder: Path | None = None) -> Path:
    """Write `result` as JSON to `out`, or to FOLDER/NAME-UTCSTAMP.json (FOLDER: results/local); FileExistsError if
    the file exists."""
    path = out or (folder or LOCAL) / f"{name}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    if path.exists():
        raise FileExistsError(f"{path} exists: results are never overwritten")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path


def run_and_save(
    name: str, measure: Callable[[Path], dict[str, Any]], render: Callable[[dict[str, Any]], str], out: Path | None
) -> int:
    """A scenario's command line: `measure` in a scratch directory, its table printed, its figures saved; status 0."""
    with tempfile.TemporaryDirectory(prefix=f"{name}-") as workdir:
        result = measure(Path(workdir))
    print(render(result))
    print(f"written to {save(result, name, out)}", file=sys.stderr)
    return 0
