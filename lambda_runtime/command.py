"""The `lambda-runtime` command. `--version` works with the runtime alone; the emulator's commands need the
`[emulator]` extra, and say so in one line when it is missing."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib import metadata


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] in (["-V"], ["--version"]):
        print(f"lambda-runtime {metadata.version('lambda-runtime')}")
        return 0
    try:
        from lambda_runtime.emulator.cli import main as emulator_main
    except ImportError as error:  # aiohttp is missing: the message says which extra to install
        print(f"lambda-runtime: {error}", file=sys.stderr)
        return 2
    return emulator_main(args)


if __name__ == "__main__":
    sys.exit(main())
