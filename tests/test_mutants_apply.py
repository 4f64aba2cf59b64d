"""The mutation runner's mutants still apply: each original text stands exactly once where it says.

Running the mutants takes minutes (python tests/mutation/run_mutants.py); this keeps them from silently going stale
as the code they mutate changes.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("run_mutants", ROOT / "tests" / "mutation" / "run_mutants.py")
assert spec is not None and spec.loader is not None
run_mutants = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run_mutants)


@pytest.mark.parametrize("name", sorted(run_mutants.MUTANTS))
def test_the_mutant_applies(name: str) -> None:
    path, original, mutated, tests = run_mutants.MUTANTS[name]
    assert (ROOT / path).read_text().count(original) == 1
    assert original != mutated
    for test in tests:  # a file, or file::test_name
        file, _, function = test.partition("::")
        assert (ROOT / file).exists(), test
        assert not function or f"def {function}(" in (ROOT / file).read_text(), test
