"""Cold start: process start → first `/next` (records' `init_ms`), import cost, peak RSS; ours vs awslambdaric.

Cold starts: two emulators (ours, awslambdaric) serve `bench_handlers.cold`; an event `{"exit": true}` ends the
runtime, so the following event starts a fresh process. Rounds alternate the runtimes. Import cost: fresh
interpreters time their own imports (`perf_counter` around the import statements), alternating too; one
`python -X importtime` run splits our cost beyond `import requests` by module.
"""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path
from typing import Any

from tqdm import tqdm

from benchmarks.client import Sample, launch
from benchmarks.procs import PYTHON, EmulatorProcess, child_env
from benchmarks.profiles import Profile
from benchmarks.stats import ratio, rotated, summarize, summarize_samples

EMULATORS = {"ours": ("ours", "bench_handlers.cold"), "awslambdaric": ("awslambdaric", "bench_handlers.cold")}
EXIT = b'{"exit": true}'
TIMED = "import time; t0 = time.perf_counter(); {0}; t1 = time.perf_counter(); {1}; t2 = time.perf_counter(); "
IMPORTS = {
    "ours": TIMED.format("import requests", "import lambda_runtime.main") + "print((t1 - t0) * 1e3, (t2 - t1) * 1e3)",
    "awslambdaric": TIMED.format("pass", "import awslambdaric.bootstrap, awslambdaric.lambda_runtime_client")
    + "print(0.0, (t2 - t1) * 1e3)",
}


def units(profile: Profile) -> int:
    return (profile.cold_rounds + profile.import_rounds) * len(EMULATORS)


def run(profile: Profile, workdir: Path, bar: tqdm[Any]) -> dict[str, Any]:
    names = list(EMULATORS)
    cold: dict[str, list[Sample]] = {name: [] for name in names}
    emulators = [EmulatorProcess(f"cold-{n}", *EMULATORS[n], workdir) for n in names]
    with contextlib.ExitStack() as stack:
        targets = dict(zip(names, launch(stack, emulators).values(), strict=True))
        for target in targets.values():  # each first cold start, taken while the others were starting: discard
            target.measure()
            target.measure(EXIT, allow_error=True)
        for round_no in range(profile.cold_rounds):
            for name in rotated(names, round_no):
                bar.set_description(f"cold start {name}")
                first = targets[name].measure()
                if first["init_ms"] is None:
                    raise RuntimeError(f"cold start {name}: the record has no init_ms")
                cold[name].append(first)
                targets[name].measure(EXIT, allow_error=True)
                bar.update()
    imports: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    for round_no in range(profile.import_rounds):
        for name in rotated(names, round_no):
            bar.set_description(f"import time {name}")
            command = [PYTHON, "-c", IMPORTS[name]]
            out = subprocess.run(command, env=child_env(), capture_output=True, text=True, check=True, timeout=60)
            before, after = map(float, out.stdout.split())
            imports[name].append((before, after))
            bar.update()
    ours_beyond = summarize(after for _, after in imports["ours"])
    ric_import = summarize(after for _, after in imports["awslambdaric"])
    init = {name: summarize_samples(cold[name], ("init_ms", "client_ms", "max_memory_used_mb")) for name in names}
    return {
        "method": "init_ms / max_memory_used_mb from the record of the first invocation after a fresh process; "
        "import times measured inside fresh interpreters",
        "commands": {e.name: e.command for e in emulators},
        "import_commands": {name: [PYTHON, "-c", code] for name, code in IMPORTS.items()},
        "runtimes": init,
        "init_ours_over_awslambdaric": ratio(init["ours"]["init_ms"]["p50"], init["awslambdaric"]["init_ms"]["p50"]),
        "import_requests_ms": summarize(before for before, _ in imports["ours"]),
        "import_ours_beyond_requests_ms": ours_beyond,
        "import_awslambdaric_ms": ric_import,
        "import_breakdown_ms": import_breakdown(),
        "samples": cold,
    }


def import_breakdown(top: int = 8) -> dict[str, float]:
    """`python -X importtime`: what `import lambda_runtime.main` adds after `import requests`, by module (ms).

    Lines come children first, indented two spaces per level; our own modules are charged their self time,
    modules they import for the first time (tenacity, ...) their cumulative time. -X importtime inflates all.
    """
    code = "import requests; import lambda_runtime.main"
    command = [PYTHON, "-X", "importtime", "-c", code]
    err = subprocess.run(command, env=child_env(), capture_output=True, text=True, timeout=60).stderr
    rows: list[tuple[int, str, int, int]] = []
    for line in err.splitlines():
        if line.startswith("import time:") and "|" in line and "self [us]" not in line:
            own, cumulative, label = line[len("import time:") :].split("|")
            rows.append(((len(label) - len(label.lstrip()) - 1) // 2, label.strip(), int(own), int(cumulative)))
    start = next((i for i, r in enumerate(rows) if r[0] == 0 and r[1] == "requests"), -1) + 1
    parents: dict[int, str] = {}
    costs: dict[str, float] = {}
    for depth, name, self_us, cumulative_us in reversed(rows[start:]):  # a parent comes after its children
        parents[depth] = name
        parent = parents.get(depth - 1, "") if depth else ""
        if name.startswith("lambda_runtime"):
            costs[name] = self_us / 1000
        elif depth == 0 or parent.startswith("lambda_runtime"):
            costs[name] = cumulative_us / 1000
    ranked = dict(sorted(costs.items(), key=lambda item: -item[1])[:top])
    ranked["total"] = sum(costs.values())
    return ranked
