"""What every scenario shares: its command line (`python -m benchmarks run NAME [options]`), a scratch directory,
the table it prints and the results file it saves (never over another one).

A scenario is a `Scenario`: a name, a one-line summary, the options it adds to its command line, how it measures
(`measure(args, workdir) -> figures`) and how it shows its figures (`render(figures) -> table`). A test calls
`SCENARIO.run(SCENARIO.arguments(rounds=1), tmp_path)`: no argv, no results file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.procs import terminate_on_sigterm
from benchmarks.results_file import run_and_save

Figures = dict[str, Any]


class UsageError(Exception):
    """The options do not fit the scenario; its command line says so as argparse would (status 2)."""


@dataclass(frozen=True)
class Scenario:
    name: str  # `python -m benchmarks run NAME`, and the prefix of its results files
    summary: str  # one line, for `python -m benchmarks list`
    add_arguments: Callable[[argparse.ArgumentParser], None]
    measure: Callable[[argparse.Namespace, Path], Figures]  # (options, a scratch directory) -> figures
    render: Callable[[Figures], str]  # figures -> the table printed

    def parser(self, prog: str | None = None) -> argparse.ArgumentParser:
        parser = argparse.ArgumentParser(prog=prog or f"python -m benchmarks run {self.name}", description=self.summary)
        self.add_arguments(parser)
        parser.add_argument("--out", type=Path, help="the JSON file (default: a new one in results/local)")
        return parser

    def arguments(self, **options: Any) -> argparse.Namespace:
        """The defaults of its command line, with `options` (by their `dest` names) instead: for tests, no argv."""
        args = self.parser().parse_args([])
        unknown = set(options) - set(vars(args))
        if unknown:
            raise TypeError(f"{self.name} has no option {', '.join(sorted(unknown))}")
        vars(args).update(options)
        return args

    def run(self, args: argparse.Namespace, workdir: Path) -> Figures:
        return self.measure(args, workdir)

    def main(self, argv: Sequence[str] | None = None, prog: str | None = None) -> int:
        """The command line: parse, measure in a scratch directory, print the table, save the figures."""
        parser = self.parser(prog)
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
        terminate_on_sigterm()  # SIGTERM unwinds the `with` blocks: every process the scenario started is stopped
        try:
            return run_and_save(self.name, lambda workdir: self.run(args, workdir), self.render, args.out)
        except UsageError as error:
            parser.error(str(error))
