"""Build the sdist and the wheel, check them as a package index would, and try the wheel as a user would.

- `twine check --strict`: the metadata and README render;
- both carry LICENSE; the sdist ships no tests (they need the whole repository: run them from a clone);
- installed alone (no extras) in a fresh virtualenv, `lambda-runtime --version` answers, and an emulator command
  says in one line which extra it needs, with no traceback.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*command: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True, timeout=600)
    if check and result.returncode != 0:
        sys.exit(f"check_dist: {' '.join(map(str, command))} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result


def main() -> int:
    version = run(sys.executable, "-c", "import lambda_runtime; print(lambda_runtime.__version__)").stdout.strip()
    with tempfile.TemporaryDirectory(prefix="check-dist-") as scratch:
        out = Path(scratch) / "dist"
        run(sys.executable, "-m", "build", "--outdir", out, ROOT)
        (sdist,) = out.glob("*.tar.gz")
        (wheel,) = out.glob("*.whl")
        run(sys.executable, "-m", "twine", "check", "--strict", sdist, wheel)
        with tarfile.open(sdist) as archive:
            in_sdist = [name.split("/", 1)[-1] for name in archive.getnames()]
        with zipfile.ZipFile(wheel) as archive:
            in_wheel = archive.namelist()
        problems = []
        if "LICENSE" not in in_sdist:
            problems.append("the sdist has no LICENSE")
        if not any(name.endswith(".dist-info/licenses/LICENSE") for name in in_wheel):
            problems.append("the wheel has no LICENSE")
        shipped_tests = [name for name in in_sdist if name.startswith("tests/")]
        if shipped_tests:
            problems.append(f"the sdist ships tests that cannot run outside a clone: {shipped_tests[:3]} ...")
        target = Path(scratch) / "venv"
        venv.create(target, with_pip=True)
        run(target / "bin" / "python", "-m", "pip", "install", "--quiet", wheel)
        command = target / "bin" / "lambda-runtime"
        answer = run(command, "--version", check=False)
        if (answer.returncode, answer.stdout.strip()) != (0, f"lambda-runtime {version}"):
            problems.append(f"`lambda-runtime --version` without extras: {answer.returncode} {answer.stderr[-500:]}")
        serve = run(command, "serve", "app.handler", check=False)
        if serve.returncode != 2 or "Traceback" in serve.stderr or "[emulator]" not in serve.stderr:
            problems.append(f"`lambda-runtime serve` without the [emulator] extra: {serve.stderr[-500:]}")
    for problem in problems:
        print(f"check_dist: {problem}")
    if not problems:
        print(f"check_dist: lambda-runtime {version}: sdist and wheel pass twine check, --version works without extras")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
