"""``python -m benchmarks [--quick | --smoke] [--publish | --out DIR] [--workdir DIR]``: run the suite, print the
table, write ``latest.json`` (figures), ``latest-samples.json`` (per invocation), ``latest.md`` (the table) and
``latest.png`` (the chart) to the untracked ``benchmarks/results/local`` (or ``--out``).

Only ``--publish`` writes to the committed ``benchmarks/results``, and it adds a run there (``published/run-<UTC
time>-001.json``) rather than replacing one: the documentation counts a goal as met only when it was met in each of
the last three published runs (``python -m benchmarks.published``), so one lucky or unlucky run on a noisy machine
rewrites nothing.

``python -m benchmarks run NAME [options]`` runs one scenario (``run NAME --help``: its options);
``python -m benchmarks list`` names them all."""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from benchmarks import (
    catalog,
    chart,
    coldstart,
    defer_cost,
    goals,
    jobs,
    latency,
    loop_only,
    overhead,
    published,
    report,
)
from benchmarks.procs import UNSET, terminate_on_sigterm
from benchmarks.profiles import PROFILES, Profile
from benchmarks.results_file import LOCAL

RESULTS = Path(__file__).parent / "results"
PACKAGES: tuple[str, ...] = ("lambda-runtime", "awslambdaric", "requests", "tenacity", "python-json-logger")
PACKAGES += ("aiohttp", "numpy", "matplotlib", "tqdm", "psutil")


def metadata(profile: Profile, argv: Sequence[str]) -> dict[str, Any]:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": ["python", "-m", "benchmarks", *argv],
        "profile": profile.to_dict(),
        "python": sys.version,
        "executable": sys.executable,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "cpu_model": published.cpu_model(),
        "load_average_at_start": os.getloadavg(),
        "packages": versions,
        "freeze": "emulators run with freezing on (the default, as Lambda); loop-only has no emulator",
        "child_env_unset": list(UNSET),
    }


def run_suite(profile: Profile, workdir: Path, argv: Sequence[str]) -> dict[str, Any]:
    results: dict[str, Any] = {"meta": metadata(profile, argv)}
    started = time.monotonic()
    total = sum(m.units(profile) for m in (loop_only, overhead, latency, coldstart, jobs, defer_cost))
    with tqdm(total=total, unit="step", file=sys.stderr, dynamic_ncols=True) as bar:
        bar.set_description("calibrating the CPU work")
        ipm = results["meta"]["cpu_iterations_per_ms"] = latency.calibrate()
        scenarios: dict[str, Callable[[], dict[str, Any]]] = {
            "loop_only": lambda: loop_only.run(profile, workdir, bar),
            "overhead": lambda: overhead.run(profile, workdir, bar),
            "latency": lambda: latency.run(profile, workdir, bar, ipm),
            "cold_start": lambda: coldstart.run(profile, workdir, bar),
            "jobs": lambda: jobs.run(profile, workdir, bar, ipm),
            "defer": lambda: defer_cost.run(profile, results["loop_only"], bar),
        }
        for name, scenario in scenarios.items():
            begun = time.monotonic()
            results[name] = scenario()
            results[name]["elapsed_s"] = time.monotonic() - begun
    results["meta"]["elapsed_s"] = time.monotonic() - started
    results["meta"]["load_average_at_end"] = os.getloadavg()
    results["goals"] = goals.check(results)
    return results


def rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6) if value == value else None  # NaN is not JSON
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(v) for v in value]
    return value


#: Where each scenario keeps its per-invocation samples (they go to latest-samples.json, not latest.json).
SAMPLED = ("latency", "jobs", "cold_start")
SAMPLE_FIELDS = ("request_id", "client_ms", "billed_ms", "duration_ms", "response_ms", "after_response_ms")
SAMPLE_FIELDS += ("init_ms", "max_memory_used_mb")


def columns(samples: Any) -> Any:
    """A list of samples → one list per field (the fields any sample has); nested dicts are walked."""
    if isinstance(samples, dict):
        return {key: columns(value) for key, value in samples.items()}
    present = [f for f in SAMPLE_FIELDS if any(s.get(f) is not None for s in samples)]
    return {f: [s.get(f) for s in samples] for f in present}


def split(results: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the figures, the samples by scenario, column-wise): latest.json stays small enough to read."""
    figures = {name: dict(section) if isinstance(section, dict) else section for name, section in results.items()}
    samples = {name: columns(figures[name].pop("samples")) for name in SAMPLED}
    figures["meta"]["samples_file"] = "latest-samples.json (per-invocation samples, with request ids)"
    return figures, samples


def write(results: dict[str, Any], table: str, out: Path) -> None:
    """Each file is written next to its final name and renamed, so a reader never sees half of one."""
    out.mkdir(parents=True, exist_ok=True)
    figures, samples = split(results)
    files = {
        "latest.json": json.dumps(rounded(figures), indent=1),
        "latest-samples.json": json.dumps(rounded(samples), separators=(",", ":")),
        "latest.md": table,
    }
    for name, text in files.items():
        tmp = out / f"{name}.tmp"
        tmp.write_text(text + "\n", encoding="utf-8")
        tmp.replace(out / name)
    tmp_png = out / "latest.png.tmp"
    chart.draw(results, tmp_png)
    tmp_png.replace(out / "latest.png")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        epilog="One scenario: python -m benchmarks run NAME [options]. Their names: python -m benchmarks list.",
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_const", const="quick", dest="profile", help="reduced suite (< 1 min)")
    size.add_argument("--smoke", action="store_const", const="smoke", dest="profile", help="minimal (for the tests)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--out", type=Path, default=LOCAL, help="where latest.* go (default: %(default)s, untracked)")
    where.add_argument(
        "--publish",
        action="store_true",
        help=f"write latest.* to {RESULTS} and add the run to {published.PUBLISHED} (what docs/benchmarks.md reports)",
    )
    parser.add_argument("--workdir", type=Path, help="keep emulator logs and record files here (default: a temp dir)")
    return parser


def run_one(argv: Sequence[str]) -> int:
    """`run NAME [options]`: one scenario, with its own options."""
    if not argv or argv[0].startswith("-"):
        print(f"usage: python -m benchmarks run NAME [options]; NAME is one of:\n{catalog.listing()}", file=sys.stderr)
        return 2
    try:
        command = catalog.runner(argv[0])
    except KeyError:
        print(f"python -m benchmarks run: no scenario {argv[0]!r}; there are:\n{catalog.listing()}", file=sys.stderr)
        return 2
    terminate_on_sigterm()
    return command(argv[1:])


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["list"]:
        print(catalog.listing())
        return 0
    if argv[:1] == ["run"]:
        return run_one(argv[1:])
    args = build_parser().parse_args(argv)
    profile = PROFILES[args.profile or "full"]
    terminate_on_sigterm()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="lambda-runtime-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        results = run_suite(profile, workdir, argv)
    except KeyboardInterrupt:
        print("interrupted: every process the suite started has been stopped", file=sys.stderr)
        return 130
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    table = report.render(results)
    print(table)
    out = RESULTS if args.publish else args.out
    write(results, table, out)
    meta = results["meta"]
    written = "latest.json, latest-samples.json, latest.md, latest.png"
    print(f"\n{profile.name} suite: {meta['elapsed_s']:.0f} s; wrote {written} to {out}")
    if args.publish:
        print(f"published as {published.add(rounded(split(results)[0]))}\n\n{published.render(published.last_runs())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
