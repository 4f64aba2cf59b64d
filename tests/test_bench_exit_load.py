"""The exit-under-load benchmark, small: every deferred job is accounted for, and each phase forced its exit."""

from __future__ import annotations

from pathlib import Path

from benchmarks import exit_load


def test_exit_under_load_accounts_for_every_job_in_every_phase(tmp_path: Path) -> None:
    result = exit_load.run(quick=True, runs=1, workdir=tmp_path)
    (phases,) = result["runs"]
    assert [p["phase"] for p in phases] == ["abandoned-cap", "exit-policy", "sigterm"]
    for p in phases:
        assert p["exits"] == 1 and p["jobs_deferred"] >= 20
        assert p["jobs_finished"] + p["jobs_named_cut_short"] == p["jobs_deferred"]
        assert p["jobs_unaccounted"] == 0 and p["unreadable_lines"] == 0
    assert "| sigterm |" in exit_load.table(result)
