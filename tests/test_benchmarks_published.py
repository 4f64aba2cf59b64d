"""Benchmarks that don't rewrite history: local runs stay untracked, published runs accumulate, and a goal counts as
met only when every one of the last three published runs met it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from benchmarks import published
from benchmarks.__main__ import LOCAL, RESULTS, build_parser

ROOT = Path(__file__).resolve().parent.parent


def run(*goals: tuple[str, float, bool], load: float = 1.5) -> dict[str, object]:
    meta = {"date": "2026-12-02T19:00:00+00:00", "cpu_model": "Test CPU", "load_average_at_start": [load, 1, 1]}
    return {"meta": meta, "goals": [{"goal": g, "value": v, "met": m} for g, v, m in goals]}


def test_make_bench_writes_to_an_untracked_directory_unless_published() -> None:
    assert build_parser().parse_args([]).out == LOCAL
    assert build_parser().parse_args(["--publish"]).publish
    probe = LOCAL.relative_to(ROOT) / "latest.json"
    ignored = subprocess.run(["git", "check-ignore", "-q", str(probe)], cwd=ROOT)
    assert ignored.returncode == 0, f"{probe} is not ignored by git"
    assert LOCAL.parent == RESULTS


def test_a_goal_is_met_only_if_met_in_three_runs_out_of_three() -> None:
    runs = [run(("loop", 1.1, True), ("cold", 4.0, True)) for _ in range(2)]
    runs.append(run(("loop", 1.2, False), ("cold", 3.0, True)))
    rows = {row["goal"]: row for row in published.verdicts(runs)}
    assert rows["loop"]["met_in"] == 2 and not rows["loop"]["met"]
    assert rows["cold"]["met_in"] == 3 and rows["cold"]["met"]
    assert (rows["loop"]["min"], rows["loop"]["max"]) == (1.1, 1.2)
    assert not published.verdicts(runs[:2])[0]["met"]  # two good runs are not enough


def test_render_states_the_spread_and_the_machine() -> None:
    text = published.render([run(("loop", 1.1, True)), run(("loop", 1.3, True), load=3.25)])
    assert "| loop | 2/2 | 1.10 to 1.30 | not met (only 2 published runs) |" in text
    assert "Test CPU" in text and "load 3.25" in text


def test_publishing_adds_a_file_and_never_replaces_one(tmp_path: Path) -> None:
    first = published.add(run(("loop", 1.0, True)), tmp_path)
    second = published.add(run(("loop", 2.0, False)), tmp_path)
    assert first != second and first.exists() and second.exists()
    assert [r["goals"][0]["value"] for r in published.last_runs(tmp_path)] == [1.0, 2.0]


def test_cpu_model_comes_from_cpuinfo(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Example Xeon @ 2.0GHz\n")
    assert published.cpu_model(info) == "Example Xeon @ 2.0GHz"
    assert published.cpu_model(tmp_path / "missing") is None
