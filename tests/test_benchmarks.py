"""Smoke test of the benchmark suite: `python -m benchmarks --smoke` end to end, once, in a subprocess.

The figures must come from the emulator's invocation records (the report files the emulators wrote), not from the
client's clock alone, and every process the suite started must be gone afterwards.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "LAMBDA_RUNTIME_BENCH_TEST_TOKEN"
SECTIONS = {"meta", "loop_only", "overhead", "latency", "cold_start", "jobs", "defer", "goals"}


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("bench")
    out, work = base / "out", base / "work"
    token = uuid.uuid4().hex  # every process the suite starts inherits it: how we find leftovers, and only ours
    command = [sys.executable, "-m", "benchmarks", "--smoke", "--out", str(out), "--workdir", str(work)]
    env = {**os.environ, TOKEN: token}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=150)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    records: dict[str, dict[str, Any]] = {}
    for path in work.glob("*.records.jsonl"):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            records[record["request_id"]] = record
    results = json.loads((out / "latest.json").read_text())
    samples = json.loads((out / "latest-samples.json").read_text())
    return {
        "results": results,
        "samples": samples,
        "records": records,
        "out": out,
        "stdout": done.stdout,
        "token": token,
    }


@pytest.mark.timeout(180)
def test_outputs_and_keys(suite: dict[str, Any]) -> None:
    results, out = suite["results"], suite["out"]
    assert set(results) >= SECTIONS
    meta = results["meta"]
    for key in ("date", "command", "profile", "python", "cpu_count", "packages", "elapsed_s"):
        assert key in meta
    assert meta["packages"]["awslambdaric"] and meta["packages"]["lambda-runtime"]
    assert (out / "latest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "latest.md").read_text().startswith("### Goals")
    assert "samples" not in results["latency"] and set(suite["samples"]) == {"latency", "jobs", "cold_start"}
    assert "| ours |" in suite["stdout"]
    assert len(results["goals"]) == 5 and all(isinstance(g["met"], bool) for g in results["goals"])
    for name in ("ours", "awslambdaric", "floor", "ours_defer1"):
        assert results["loop_only"]["runtimes"][name]["us_per_invocation"]["p50"] > 0
    assert results["defer"]["default_start"]["defer_call_us"]["p50"] > 0


@pytest.mark.timeout(180)
def test_latency_figures_come_from_the_records(suite: dict[str, Any]) -> None:
    latency, records = suite["results"]["latency"], suite["records"]
    for key, modes in suite["samples"]["latency"].items():
        for mode, columns in modes.items():
            mine = [records[rid] for rid in columns["request_id"]]  # every sample has the emulator's record
            assert columns["billed_ms"] == [r["billed_ms"] for r in mine]
            summary = latency["configs"][key]["modes"][mode]
            assert summary["billed_ms"]["p50"] == pytest.approx(statistics.median(r["billed_ms"] for r in mine))
            answered = [(r["responded_at"] - r["received_at"]) * 1000 for r in mine]
            assert summary["response_ms"]["p50"] == pytest.approx(statistics.median(answered), abs=1e-3)
            assert all(r["invocation_type"] == ("Event" if mode == "event" else "RequestResponse") for r in mine)
    io50 = latency["configs"]["io/50"]["modes"]
    # Deferred: the caller's latency is short, the records' billed duration still covers D.
    assert io50["ours_deferred"]["billed_ms"]["p50"] > io50["ours_deferred"]["client_ms"]["p50"] + 25
    # Event: 202 at once (client clock); completion from the records covers C + D.
    assert io50["event"]["response_ms"]["p50"] > io50["event"]["client_ms"]["p50"] + 25


@pytest.mark.timeout(180)
def test_other_scenarios_come_from_the_records(suite: dict[str, Any]) -> None:
    results, records = suite["results"], suite["records"]
    for key, columns in suite["samples"]["jobs"].items():
        mine = [records[rid] for rid in columns["request_id"]]
        expected = statistics.median(r["billed_ms"] for r in mine)
        assert results["jobs"]["configs"][key]["billed_ms"]["p50"] == pytest.approx(expected)
    for name, columns in suite["samples"]["cold_start"].items():
        mine = [records[rid] for rid in columns["request_id"]]
        assert all(r["init_ms"] is not None for r in mine)
        expected = statistics.median(r["init_ms"] for r in mine)
        assert results["cold_start"]["runtimes"][name]["init_ms"]["p50"] == pytest.approx(expected, abs=1e-3)
        assert results["cold_start"]["runtimes"][name]["max_memory_used_mb"]["p50"] > 0


@pytest.mark.timeout(180)
def test_no_process_left_behind(suite: dict[str, Any]) -> None:
    """Emulators, runtimes, the loop server: nothing that inherited the run's token is still there."""
    left = []
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        try:
            if proc.info["status"] != psutil.STATUS_ZOMBIE and proc.environ().get(TOKEN) == suite["token"]:
                left.append(proc.info)
        except psutil.Error:  # gone meanwhile, or not ours to read
            continue
    assert not left


def test_after_hung_jobs_scenario_runs_every_healthy_job(tmp_path):
    from benchmarks.hung_jobs import SCENARIO

    result = SCENARIO.run(SCENARIO.arguments(invocations=5, hung=2, timeout=1.0), tmp_path)
    fresh, after = result["environments"]["fresh"], result["environments"]["after_hung"]
    assert fresh["jobs_ran"] == after["jobs_ran"] == 1.0
    # The two hung jobs keep their threads (Python cannot stop them), but nothing else accumulates.
    assert after["threads"] <= fresh["threads"] + 2


def test_process_jobs_scenario_reports_every_configuration_and_the_machine_floor(tmp_path):
    from benchmarks import process_jobs

    result = process_jobs.run(rounds=1, memory_mb=3538, workdir=tmp_path, counts=(2,))
    assert set(result["billed_ms"]) == {f"{kind}/2/{ex}" for kind in process_jobs.KINDS for ex in ("thread", "process")}
    assert all(figures["n"] == 1 for figures in result["billed_ms"].values())
    # The floor is measured on bare processes, not copied from the runtime's figures.
    assert set(result["bare_ms"]) == {"py/2/one", "py/2/two"}
    assert 0 < result["machine_floor"]["py/2"] < 2
    assert "machine floor" in process_jobs.render(result)


def test_free_threaded_scenario_runs_the_runtime_under_the_given_interpreter(tmp_path):
    from benchmarks import free_threaded
    from tests.interpreters import find_free_threaded_python

    python = find_free_threaded_python()
    if python is None:
        pytest.skip("no free-threaded CPython with the runtime's dependencies here")
    result = free_threaded.run(python, rounds=1, workdir=tmp_path)
    assert set(result["nogil_over_gil"]) == set(free_threaded.COUNTS)
    assert all(figures["n"] == 1 for figures in result["billed_ms"].values())
    logs = {mode: (tmp_path / f"free-threaded-{mode}.log").read_text() for mode in free_threaded.MODES}
    assert "thread jobs run in parallel" in logs["nogil"] and "but the GIL is enabled" in logs["gil"]


def test_process_start_scenario_compares_cold_starts_of_both_modes(tmp_path):
    from benchmarks import process_start

    result = process_start.SCENARIO.run(process_start.SCENARIO.arguments(starts=1), tmp_path)
    for mode in process_start.MODES:
        figures = result["ms"][mode]
        assert all(figures[key]["n"] == 1 for key in figures)
        assert figures["cold_total_ms"]["p50"] == figures["init_ms"]["p50"] + figures["first_billed_ms"]["p50"]
    assert "at init" in process_start.render(result)


def test_handoff_scenario_loses_jobs_without_hand_off_and_accounts_for_every_job_with_it(tmp_path):
    from benchmarks import handoff

    result = handoff.run(invocations=2, jobs=6, job_ms=200, timeout_s=1.0, workdir=tmp_path)
    plain, handed = result["configs"]["defer_only"], result["configs"]["hand_off"]
    assert plain["lost"] > 0 and plain["handed_off"] == 0  # the pool really was overloaded
    # With hand-off every job completes or is a counted, visible failed hand-off; none disappears.
    assert handed["lost"] == handed["hand_off_failed"]
    assert handed["handed_off"] == handed["event_invocations"] > 0
    assert "hand-off failed" in handoff.table(result)
