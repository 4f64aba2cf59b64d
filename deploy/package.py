"""Build a Lambda deployment zip: function code + lambda_runtime + its dependencies + bootstrap at the root.

    python deploy/package.py examples/background_tasks [--arch x86_64|arm64] [--python-version 3.13]
    python deploy/package.py --layer [--arch x86_64|arm64] [--python-version 3.13]

With --layer, a Lambda layer instead: lambda_runtime and its dependencies under python/, bootstrap at the root.

The function's files are taken by an explicit rule (deploy/function_files.py: Python source only, or everything its
`.lambdaignore` does not exclude), and listed.

Dependencies are installed for Lambda's platform from binary wheels only, so the zip does not depend on the machine
that built it. The zip ships bytecode compiled by a Python of the target version (Lambda's task directory is
read-only: without it every cold start compiles every module again). Pure stdlib plus a pip subprocess.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from function_files import NEVER, select

ROOT = Path(__file__).resolve().parent.parent
PLATFORMS = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}
ARCH_ALIASES = {"aarch64": "arm64", "amd64": "x86_64"}  # `uname -m` and Docker's names
# Lambda's limits for a zip uploaded directly, and for the unzipped function (layers included).
MAX_ZIPPED = 50 * 1024 * 1024
MAX_UNZIPPED = 250 * 1024 * 1024
# Fixed, like everything else in the zip (unchecked-hash .pyc files hold no timestamps either): the same files give
# a byte-identical zip.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class PackageError(Exception):
    """A problem the user has to fix; reported in one line, without a traceback."""


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        build(args)
    except PackageError as error:
        print(f"package: error: {error}", file=sys.stderr)
        return 1
    return 0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("function", type=Path, nargs="?", help="directory holding the function code (e.g. examples/x)")
    what.add_argument(
        "--layer",
        action="store_true",
        help="build a Lambda layer instead: lambda_runtime and its dependencies under python/, bootstrap at the "
        "root (/opt/bootstrap once deployed; a function adopts it with AWS_LAMBDA_EXEC_WRAPPER=/opt/bootstrap)",
    )
    parser.add_argument("--arch", default="x86_64", help="x86_64 or arm64 (the function's architecture)")
    parser.add_argument("--python-version", default="3.13", help="the Lambda Python version, e.g. 3.13")
    out = parser.add_mutually_exclusive_group()
    out.add_argument(
        "--output",
        type=Path,
        help="zip to write (default: dist/NAME-ARCH.zip, dist/lambda-runtime-layer-pyX.Y-ARCH.zip)",
    )
    out.add_argument("--tree", type=Path, help="write the files to this new directory instead of a zip")
    parser.add_argument(
        "--bytecode",
        choices=("auto", "require", "none"),
        default="auto",
        help="auto: compile when a Python of the target version is found, else warn and ship source only; "
        "require: fail instead; none: never compile",
    )
    parser.add_argument("--compile-with", metavar="PYTHON", help="interpreter to compile with (its version must match)")
    args = parser.parse_args(argv)
    args.arch = ARCH_ALIASES.get(args.arch, args.arch)
    if args.arch not in PLATFORMS:
        parser.error(f"--arch must be one of {', '.join(PLATFORMS)}, got {args.arch!r}")
    if not re.fullmatch(r"3\.\d+", args.python_version) or int(args.python_version.split(".")[1]) < 10:
        parser.error(f"--python-version must be 3.10 or later, like 3.12, got {args.python_version!r}")
    return args


def build(args: argparse.Namespace) -> None:
    function: Path | None = args.function
    if function is not None and not function.is_dir():
        raise PackageError(f"{function} is not a directory")
    compiler = None if args.bytecode == "none" else find_compiler(args.python_version, args.compile_with)
    if compiler is None and args.bytecode == "require":
        raise PackageError(f"no Python {args.python_version} found to compile bytecode (use --compile-with)")
    with tempfile.TemporaryDirectory(prefix="lambda-package-") as scratch:
        stage = Path(args.tree) if args.tree else Path(scratch) / "stage"
        if stage.exists() and any(stage.iterdir()):
            raise PackageError(f"{stage} exists and is not empty")
        stage.mkdir(parents=True, exist_ok=True)
        if function is None:
            # A layer is unpacked into /opt, and the managed Python runtimes put /opt/python on sys.path.
            install_dependencies(stage / "python", None, args.arch, args.python_version)
            copy_runtime(stage / "python")
            copy_bootstrap(stage)
            bytecode = compile_bytecode(stage, compiler, args.python_version, "/opt")
            default = f"lambda-runtime-layer-py{args.python_version}-{args.arch}.zip"
        else:
            install_dependencies(stage, function, args.arch, args.python_version)
            copy_sources(stage, function)
            bytecode = compile_bytecode(stage, compiler, args.python_version, "/var/task")
            default = f"{function.resolve().name}-{args.arch}.zip"
        unzipped = sum(path.stat().st_size for path in _files(stage))
        if args.tree:
            target, zipped = stage, None
        else:
            target = args.output or ROOT / "dist" / default
            zipped = write_zip(stage, target)
    sizes = f"{unzipped:,} bytes unzipped"
    if zipped is not None:
        sizes = f"{zipped:,} bytes ({zipped / 1024 / 1024:.1f} MiB), " + sizes
    print(f"{target}: {sizes}; {bytecode or 'no bytecode: every cold start compiles every module'}")
    if zipped is not None and zipped > MAX_ZIPPED:
        print(
            f"warning: over Lambda's {MAX_ZIPPED >> 20} MiB limit for a direct upload: upload through S3",
            file=sys.stderr,
        )
    if unzipped > MAX_UNZIPPED:
        print(f"warning: over Lambda's {MAX_UNZIPPED >> 20} MiB limit for unzipped code", file=sys.stderr)


def runtime_requirements() -> list[str]:
    """lambda_runtime's run-time dependencies, as pyproject.toml declares them (no extras: no emulator, no dev)."""
    pyproject = ROOT / "pyproject.toml"
    if sys.version_info >= (3, 11):
        import tomllib

        with pyproject.open("rb") as file:
            return list(tomllib.load(file)["project"]["dependencies"])
    from importlib import metadata  # Python 3.10 has no TOML parser: ask the installed distribution

    try:
        requirements = metadata.requires("lambda-runtime") or []
    except metadata.PackageNotFoundError:
        raise PackageError("on Python 3.10, run the packager with the project's virtualenv (make package)") from None
    return [req for req in requirements if "extra ==" not in req]


def install_dependencies(stage: Path, function: Path | None, arch: str, python_version: str) -> None:
    requirements = runtime_requirements()
    own = function / "requirements.txt" if function is not None else None
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--target",
        str(stage),
        # Wheels for Lambda's OS and CPU, whatever machine builds the zip: never a local build of a source package.
        "--platform",
        PLATFORMS[arch],
        "--only-binary=:all:",
        "--python-version",
        python_version,
        "--implementation",
        "cp",
        # pip would compile with *this* interpreter, whatever the target version: compile_bytecode does it right.
        "--no-compile",
        *requirements,
        *(["--requirement", str(own)] if own and own.is_file() else []),
    ]
    also = f" and {own}" if own and own.is_file() else ""
    print(f"Installing {', '.join(requirements)}{also} for {PLATFORMS[arch]}")
    if subprocess.run(command, check=False).returncode != 0:
        raise PackageError("pip could not install the dependencies (see its output above)")
    # Console scripts (with this machine's interpreter in their #! line) are of no use in a function.
    shutil.rmtree(stage / "bin", ignore_errors=True)


def copy_sources(stage: Path, function: Path) -> None:
    for name in ("bootstrap", "lambda_runtime"):
        if (function / name).exists():
            raise PackageError(f"{function / name} would clash with the runtime's own {name}")
    copy_runtime(stage)
    selection = select(function)
    if not selection.taken:
        raise PackageError(f"{function} has no files to ship under its rule: {selection.rule}")
    print(f"Function files from {function} ({selection.rule}):")
    for relative in selection.taken:
        print(f"  {relative}")
        (stage / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(function / relative, stage / relative)
    if selection.left_out:
        print(f"Left out: {', '.join(selection.left_out)}")
    copy_bootstrap(stage)


def copy_bootstrap(target: Path) -> None:
    shutil.copyfile(ROOT / "bootstrap", target / "bootstrap")
    (target / "bootstrap").chmod(0o755)


def copy_runtime(target: Path) -> None:
    """lambda_runtime into `target`. The emulator and the test kit, development tools with dependencies of their own
    (aiohttp, pytest), stay out."""
    runtime = ROOT / "lambda_runtime"
    shutil.copytree(runtime, target / "lambda_runtime", ignore=_ignore(runtime / "emulator", runtime / "testing"))


def _ignore(*excluded: Path) -> Callable[[str, list[str]], set[str]]:
    def ignore(directory: str, names: list[str]) -> set[str]:
        return {
            name
            for name in names
            if name in NEVER or name.endswith((".pyc", ".pyo")) or Path(directory, name) in excluded
        }

    return ignore


def find_compiler(python_version: str, explicit: str | None) -> str | None:
    """An interpreter of the target version: --compile-with, this one, or pythonX.Y on PATH."""
    candidates = [explicit] if explicit else [sys.executable, shutil.which(f"python{python_version}")]
    for candidate in candidates:
        if candidate and interpreter_version(candidate) == python_version:
            return candidate
    if explicit:
        raise PackageError(f"--compile-with {explicit} is not a CPython {python_version}")
    print(
        f"warning: no Python {python_version} found (this one is {interpreter_version(sys.executable)}): the zip "
        f"ships source only, and every cold start on Lambda compiles every module. Pass --compile-with "
        f"/path/to/python{python_version} to ship bytecode.",
        file=sys.stderr,
    )
    return None


def interpreter_version(python: str) -> str | None:
    """ "X.Y" of a CPython interpreter; None when it is not one, or does not run."""
    probe = "import sys; print(sys.implementation.name, '%d.%d' % sys.version_info[:2])"
    try:
        result = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return None
    name, _, version = result.stdout.strip().partition(" ")
    return version if result.returncode == 0 and name == "cpython" else None


def compile_bytecode(stage: Path, compiler: str | None, python_version: str, deployed_at: str) -> str | None:
    """Compile every module in the stage; a Python of another version would ignore the files, so none is used."""
    if compiler is None:
        return None
    command = [
        compiler,
        "-m",
        "compileall",
        "-q",
        "-j",
        "0",
        # Valid whatever the files' timestamps (a zip may reset them), and never re-checked against the source.
        "--invalidation-mode",
        "unchecked-hash",
        # Paths in tracebacks read as Lambda's (/var/task, /opt for a layer), wherever the zip was built.
        "-s",
        str(stage),
        "-p",
        deployed_at,
        str(stage),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        # A dependency may carry a file for another Python version; it is never imported, so only say so.
        print(f"warning: some files did not compile:\n{result.stdout}{result.stderr}", file=sys.stderr)
    tag = f"cpython-{python_version.replace('.', '')}"
    count = sum(1 for _ in stage.rglob(f"*.{tag}.pyc"))
    return f"bytecode for Python {python_version} ({count} .{tag}.pyc, unchecked-hash) compiled with {compiler}"


def write_zip(stage: Path, output: Path) -> int:
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in _files(stage):
            info = zipfile.ZipInfo(path.relative_to(stage).as_posix(), ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix: Lambda's unzip applies the permission bits below only then
            # Lambda runs the function as another user than the files' owner: everything world-readable,
            # and bootstrap (plus anything executable, e.g. a bundled binary) world-executable.
            executable = path.stat().st_mode & stat.S_IXUSR
            info.external_attr = (stat.S_IFREG | (0o755 if executable else 0o644)) << 16
            archive.writestr(info, path.read_bytes())
    os.replace(partial, output)
    return output.stat().st_size


def _files(stage: Path) -> Iterator[Path]:
    for directory, dirnames, filenames in os.walk(stage):
        dirnames.sort()
        for name in sorted(filenames):
            yield Path(directory, name)


if __name__ == "__main__":
    sys.exit(main())
