"""Which of a function directory's files ship: an explicit rule, so that stray files never do by accident.

- Without a `.lambdaignore`: Python source only (`*.py`, plus `py.typed` markers). An `event.json` or `out.json` left
  behind by a test invoke stays out, and so does everything else that is not code.
- With a `.lambdaignore` in the function directory: every file, except those its patterns exclude. The syntax is a
  small subset of `.gitignore`'s: one pattern per line, `#` comments; a pattern without `/` matches a file or directory
  name at any depth, one with `/` matches the path from the function directory (a leading `/` only anchors it); a
  trailing `/` matches directories only; `!pattern` takes back an exclusion (the last matching line wins).

Either way, caches, virtualenvs, VCS directories and bytecode never ship (the packager compiles its own).
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from typing import NamedTuple

IGNORE_FILE = ".lambdaignore"
NEVER = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".venv", ".git", IGNORE_FILE}
SOURCE_SUFFIXES = (".py",)
SOURCE_NAMES = {"py.typed"}
DEFAULT_RULE = "Python source only (*.py); add a .lambdaignore to ship other files"


class Pattern(NamedTuple):
    glob: str
    negated: bool
    directories_only: bool
    anchored: bool

    def matches(self, relative: str, is_dir: bool) -> bool:
        if self.directories_only and not is_dir:
            return False
        if self.anchored:
            return fnmatch.fnmatchcase(relative, self.glob)
        return fnmatch.fnmatchcase(relative.rsplit("/", 1)[-1], self.glob)


class Selection(NamedTuple):
    """The files to ship and those left out (paths relative to the function directory), and the rule used."""

    taken: list[str]
    left_out: list[str]
    rule: str


def parse_ignore(text: str) -> list[Pattern]:
    patterns = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        line = line.removeprefix("!")
        directories_only = line.endswith("/")
        line = line.rstrip("/")
        anchored = "/" in line
        patterns.append(Pattern(line.lstrip("/"), negated, directories_only, anchored))
    return patterns


def _excluded(patterns: list[Pattern], relative: str, is_dir: bool) -> bool:
    excluded = False
    for pattern in patterns:
        if pattern.matches(relative, is_dir):
            excluded = not pattern.negated
    return excluded


def select(function: Path) -> Selection:
    """Apply the function directory's rule to every file under it (an excluded directory is not entered)."""
    ignore_file = function / IGNORE_FILE
    patterns = parse_ignore(ignore_file.read_text()) if ignore_file.is_file() else None
    taken: list[str] = []
    left_out: list[str] = []
    for directory, dirnames, filenames in os.walk(function):
        base = Path(directory).relative_to(function).as_posix()
        prefix = "" if base == "." else base + "/"
        entered = []
        for name in sorted(dirnames):
            if name in NEVER:
                continue
            if patterns is not None and _excluded(patterns, prefix + name, is_dir=True):
                left_out.append(prefix + name + "/")
            else:
                entered.append(name)
        dirnames[:] = entered
        for name in sorted(filenames):
            if name in NEVER or name.endswith((".pyc", ".pyo")):
                continue
            relative = prefix + name
            if patterns is not None:
                keep = not _excluded(patterns, relative, is_dir=False)
            else:
                keep = name.endswith(SOURCE_SUFFIXES) or name in SOURCE_NAMES
            (taken if keep else left_out).append(relative)
    rule = f"{IGNORE_FILE}: every file but those it excludes" if patterns is not None else DEFAULT_RULE
    return Selection(sorted(taken), sorted(left_out), rule)
