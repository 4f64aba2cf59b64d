"""`python -m benchmarks list` and `python -m benchmarks run NAME`: one entry point for every scenario."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import catalog
from benchmarks.__main__ import main
from benchmarks.harness import Scenario

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"


def test_list_names_every_scenario_with_its_summary(capsys):
    assert main(["list"]) == 0
    listed = dict(line.split(maxsplit=1) for line in capsys.readouterr().out.splitlines())
    assert set(listed) == set(catalog.SCENARIOS) | set(catalog.COMMANDS)
    assert all(summary.strip() for summary in listed.values())


def test_every_scenario_names_a_module_that_exists_and_each_module_is_named_once():
    modules = [*catalog.SCENARIOS.values(), *(command.module for command in catalog.COMMANDS.values())]
    assert len(modules) == len(set(modules))
    assert all((BENCHMARKS / f"{module}.py").exists() for module in modules)


@pytest.mark.parametrize("name", sorted(catalog.SCENARIOS))
def test_each_scenario_is_a_scenario_whose_defaults_parse_without_argv(name):
    scenario = catalog.scenario(name)
    assert isinstance(scenario, Scenario) and scenario.name == name
    args = scenario.arguments()
    assert args.out is None  # a run from a test writes no results file


def test_options_a_scenario_does_not_have_are_refused():
    with pytest.raises(TypeError, match="no option rounds"):
        catalog.scenario("hung-jobs").arguments(rounds=3)


def test_an_unknown_scenario_is_refused_with_the_list(capsys):
    assert main(["run", "no-such-scenario"]) == 2
    error = capsys.readouterr().err
    assert "no scenario 'no-such-scenario'" in error and "hung-jobs" in error


@pytest.mark.parametrize("name", ["hung-jobs", "hung_jobs", "latency"])
def test_run_name_reaches_the_scenario_s_own_options(name):
    shown = subprocess.run(
        [sys.executable, "-m", "benchmarks", "run", name, "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr
    assert ("--invocations" if "hung" in name else "--kinds") in shown.stdout
