"""Run pip-audit over the installed dependencies and say plainly how much it could audit.

pip-audit fails on known vulnerabilities. Where its vulnerability service cannot be reached (this project's build
machines reach only the package index's download endpoints), every dependency comes back "not found" and nothing is
audited: that is reported as such, in one line, instead of a green "no known vulnerabilities".
"""

from __future__ import annotations

import json
import subprocess
import sys


def main() -> int:
    command = [sys.executable, "-m", "pip_audit", "-f", "json", "--skip-editable", "--progress-spinner", "off"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    try:
        report = json.loads(result.stdout)
    except ValueError:
        print(f"pip-audit failed to run (exit {result.returncode}): {result.stderr.strip()[-500:]}")
        return 1
    dependencies = report["dependencies"]
    audited = [d for d in dependencies if "skip_reason" not in d]
    vulnerable = [d for d in audited if d.get("vulns")]
    for dependency in vulnerable:
        ids = ", ".join(v["id"] for v in dependency["vulns"])
        print(f"pip-audit: {dependency['name']} {dependency['version']} has known vulnerabilities: {ids}")
    if not audited:
        print(f"pip-audit: the vulnerability service was unreachable; none of {len(dependencies)} dependencies audited")
        return 0
    print(f"pip-audit: {len(audited)} of {len(dependencies)} dependencies audited, {len(vulnerable)} vulnerable")
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main())
