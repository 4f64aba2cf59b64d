"""benchmarks/results_file.py: a scenario's figures never overwrite a file, and go to results/local by default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import results_file


def test_writes_the_file_asked_for_and_never_over_an_existing_one(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    assert results_file.save({"p50": 1.5}, "scenario", out) == out
    assert json.loads(out.read_text()) == {"p50": 1.5}
    with pytest.raises(FileExistsError, match="never overwritten"):
        results_file.save({"p50": 9.9}, "scenario", out)
    assert json.loads(out.read_text()) == {"p50": 1.5}


def test_by_default_a_new_stamped_file_in_the_untracked_local_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(results_file, "LOCAL", tmp_path / "local")
    path = results_file.save({"n": 1}, "process-jobs")
    assert path.parent == tmp_path / "local" and path.name.startswith("process-jobs-") and path.suffix == ".json"
    root = Path(results_file.__file__).parent
    assert "benchmarks/results/local/" in (root.parent / ".gitignore").read_text().splitlines()


def test_run_and_save_measures_in_a_scratch_directory_prints_and_saves(tmp_path: Path, capsys) -> None:
    seen: list[Path] = []

    def measure(workdir: Path) -> dict[str, object]:
        assert workdir.is_dir() and not any(workdir.iterdir())
        seen.append(workdir)
        return {"p50": 2.0}

    out = tmp_path / "figures.json"
    assert results_file.run_and_save("scenario", measure, lambda result: f"| p50 | {result['p50']} |", out) == 0
    assert not seen[0].exists()  # the scratch directory is gone
    printed = capsys.readouterr()
    assert "| p50 | 2.0 |" in printed.out and str(out) in printed.err
    assert json.loads(out.read_text()) == {"p50": 2.0}


def test_a_folder_asked_for_gets_the_new_stamped_file(tmp_path: Path) -> None:
    path = results_file.save({"n": 1}, "latency", folder=tmp_path / "runs")
    assert path.parent == tmp_path / "runs" and path.name.startswith("latency-")
