"""Every scenario `python -m benchmarks run NAME` knows, by name; `python -m benchmarks list` prints them.

A scenario module is imported only when it is run (or listed): some need packages the others do not.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import NamedTuple

from benchmarks.harness import Scenario

#: NAME -> the module under benchmarks/ that defines it as `SCENARIO` (a `harness.Scenario`).
SCENARIOS = {
    "free-threaded": "free_threaded",
    "hung-jobs": "hung_jobs",
    "process-jobs": "process_jobs",
    "process-start": "process_start",
    "streaming": "streaming",
    "web": "web",
}


class Command(NamedTuple):
    """A scenario that still parses its own command line (`main(argv)`): `run NAME` hands it the options as given."""

    module: str
    summary: str


COMMANDS = {
    "decimals": Command("decimals", "encoding a DynamoDB-style result full of Decimals"),
    "exit-load": Command(
        "exit_load", "Managed Instances under load with an exit forced every N invocations: nothing lost"
    ),
    "handoff": Command("handoff", "overload with and without hand-off: jobs completed, jobs lost, extra billed time"),
    "import-cost": Command("import_cost", "the import cost of the runtime against the official client's"),
    "latency": Command("latency", "latency saved and billed duration, C ms critical plus D ms deferrable"),
    "lmi": Command("lmi", "Lambda Managed Instances: concurrent invocations in one process"),
    "load": Command("load", "what deferring costs and saves under an open-loop request rate"),
    "raw-api": Command("raw_api", "the runtime's own cost against a raw-socket Runtime API, cold and warm"),
    "sigterm-budget": Command("sigterm_budget", "how long the SIGTERM exit takes against its 300 / 500 ms budget"),
    "soak": Command("soak", "many invocations with deferred jobs, watching the runtime process for leaks"),
}


def canonical(name: str) -> str:
    """`hung_jobs` (the module's spelling) names `hung-jobs` too."""
    return name.replace("_", "-")


def scenario(name: str) -> Scenario:
    found: Scenario = importlib.import_module(f"benchmarks.{SCENARIOS[canonical(name)]}").SCENARIO
    return found


def runner(name: str) -> Callable[[Sequence[str]], int]:
    """The command line of scenario `name`: KeyError if there is none by that name."""
    name = canonical(name)
    if name in SCENARIOS:
        found = scenario(name)
        return lambda argv: found.main(list(argv))
    main: Callable[[Sequence[str]], int] = importlib.import_module(f"benchmarks.{COMMANDS[name].module}").main
    return lambda argv: main(list(argv))


def listing() -> str:
    summaries = {name: scenario(name).summary for name in SCENARIOS}
    summaries.update((name, command.summary) for name, command in COMMANDS.items())
    width = max(map(len, summaries))
    return "\n".join(f"{name:<{width}}  {summaries[name]}" for name in sorted(summaries))
