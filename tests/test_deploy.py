"""What ships to AWS, checked locally: the deployment zip, the Dockerfile, template.yaml, and the documented commands.

The zip is built once per module for this machine (its architecture, its Python version) and run under the emulator
by a bare Python: a virtualenv made without pip or packages, so that `requests` and the rest can only come from the
zip. Building needs the package index (pip's cache makes it quick).
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import platform
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import threading
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from cfnlint.decode import decode  # type: ignore[import-untyped]

from lambda_runtime.emulator import Emulator
from tests.interpreters import find_python

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "deploy" / "package.py"
FUNCTION = ROOT / "examples" / "background_tasks"
#: The pages whose commands deploy: Deploy, and Adopt it with a layer.
DOCS = [ROOT / "docs" / "guides" / "deploy.md", ROOT / "docs" / "guides" / "layer.md"]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
VENV_BIN = Path(sys.executable).parent
LOCAL_VERSION = "{}.{}".format(*sys.version_info[:2])
LOCAL_ARCH = {"aarch64": "arm64", "arm64": "arm64", "amd64": "x86_64"}.get(platform.machine().lower(), "x86_64")
DEPENDENCIES = {"requests", "tenacity", "pythonjsonlogger", "urllib3", "idna", "certifi", "charset_normalizer"}
DEV_ONLY = {"aiohttp", "pytest", "boto3", "botocore", "awscli", "awslambdaric", "mypy", "ruff", "cfnlint", "psutil"}


def run_packager(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(PACKAGE), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, check=False)


def unzip_like_lambda(archive: Path, target: Path) -> Path:
    """Extract with the permission bits the zip records (zipfile alone would drop them, Lambda does not)."""
    with zipfile.ZipFile(archive) as zipped:
        for info in zipped.infolist():
            path = Path(zipped.extract(info, target))
            path.chmod(stat.S_IMODE(info.external_attr >> 16))
    return target


def runtime_env(bare_python: Path, **extra: str) -> dict[str, str]:
    """What the runtime gets besides Lambda's own variables: a plain Python first on PATH, nothing of ours."""
    return {
        "PATH": f"{bare_python.parent}:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",  # /var/task is read-only on Lambda
        "BACKGROUND_WORK_SECONDS": "0.1",
        **extra,
    }


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("bare-python")
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(home)], check=True, timeout=120)
    python = home / "bin" / "python3"
    for module in ("requests", "tenacity", "pythonjsonlogger", "lambda_runtime"):
        # cwd: `python -c` puts it on sys.path, and this checkout holds lambda_runtime.
        probe = subprocess.run(
            [str(python), "-c", f"import {module}"], capture_output=True, env=runtime_env(python), cwd=home
        )
        assert probe.returncode != 0, f"{python} can import {module}: it would hide a missing copy in the zip"
    return python


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, bare_python: Path) -> tuple[Path, str]:
    """The zip for this machine, compiled by the bare Python, and what the packager printed."""
    output = tmp_path_factory.mktemp("dist") / f"background_tasks-{LOCAL_ARCH}.zip"
    result = run_packager(
        str(FUNCTION),
        *("--arch", LOCAL_ARCH, "--python-version", LOCAL_VERSION, "--output", str(output)),
        *("--compile-with", str(bare_python), "--bytecode", "require"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return output, result.stdout


@pytest.fixture(scope="module")
def unzipped(tmp_path_factory: pytest.TempPathFactory, built: tuple[Path, str]) -> Path:
    return unzip_like_lambda(built[0], tmp_path_factory.mktemp("task"))


def assert_handler_exists(handler: str) -> None:
    module, function = handler.rsplit(".", 1)
    tree = ast.parse((FUNCTION / f"{module}.py").read_text())
    assert function in {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}, handler


# -- the zip -----------------------------------------------------------------------------------------------------


def test_zip_holds_the_function_the_runtime_and_its_dependencies_only(built: tuple[Path, str]) -> None:
    archive, printed = built
    with zipfile.ZipFile(archive) as zipped:
        names = set(zipped.namelist())
    tops = {name.split("/")[0] for name in names}
    assert {"app.py", "bootstrap", "lambda_runtime"} | DEPENDENCIES <= tops
    runtime = ROOT / "lambda_runtime"
    shipped = {f"lambda_runtime/{p.relative_to(runtime).as_posix()}" for p in runtime.rglob("*.py")}
    tools = ("lambda_runtime/emulator/", "lambda_runtime/testing/")  # development tools, not the runtime
    assert {name for name in shipped if not name.startswith(tools)} <= names
    assert not [name for name in names if name.startswith(tools)]
    distributions = {re.split(r"[-.]", top)[0].lower() for top in tops}
    assert not DEV_ONLY & distributions
    assert "bin" not in tops  # console scripts with this machine's #! line
    assert f"{archive.stat().st_size:,} bytes" in printed


def test_zip_entries_carry_unix_permissions(built: tuple[Path, str]) -> None:
    with zipfile.ZipFile(built[0]) as zipped:
        entries = zipped.infolist()
    for info in entries:
        mode = info.external_attr >> 16
        assert info.create_system == 3, info.filename  # else unzip ignores the mode bits
        assert stat.S_ISREG(mode), info.filename
        assert mode & 0o444 == 0o444, info.filename  # Lambda's user is not the files' owner
    (bootstrap,) = [info for info in entries if info.filename == "bootstrap"]
    assert stat.S_IMODE(bootstrap.external_attr >> 16) == 0o755


def test_zip_ships_unchecked_hash_bytecode_for_every_module(built: tuple[Path, str]) -> None:
    tag = sys.implementation.cache_tag
    with zipfile.ZipFile(built[0]) as zipped:
        names = set(zipped.namelist())
        sources = [name for name in names if name.endswith(".py")]
        assert len(sources) > 50
        for source in sources:
            folder, _, file = source.rpartition("/")
            pyc = f"{folder + '/' if folder else ''}__pycache__/{file[:-3]}.{tag}.pyc"
            assert pyc in names, source
            header = zipped.read(pyc)[:8]
            assert header[:4] == importlib.util.MAGIC_NUMBER, pyc
            assert int.from_bytes(header[4:8], "little") == 0b01, pyc  # hash-based, never checked against the source


def test_zip_runs_with_a_plain_python_answers_and_defers(unzipped: Path, bare_python: Path) -> None:
    # The zip's own bootstrap, executed directly (so its mode bits matter), like Lambda does.
    env = runtime_env(bare_python)
    with Emulator(
        "app.handler", task_root=str(unzipped), env=env, runtime_command=[str(unzipped / "bootstrap")]
    ) as emu:
        response = emu.invoke({"message": "hi"})
        assert "X-Amz-Function-Error" not in response.headers, response.text + emu.runtime_output()
        assert response.status_code == 200
        assert response.json() == {"echoedMessage": "hi"}
        emu.wait_for_output("Background work completed for 'hi'")
        (record,) = emu.wait_for_records(1)
    assert record.status == "success"


PROBE = """
import importlib.util
import os
import sys


def handler(event, context):
    import certifi, charset_normalizer, idna, lambda_runtime, pythonjsonlogger, requests, tenacity, urllib3

    modules = [certifi, charset_normalizer, idna, lambda_runtime, pythonjsonlogger, requests, tenacity, urllib3]

    def compiled(module):
        with open(module.__cached__, "rb") as file:
            return file.read(4) == importlib.util.MAGIC_NUMBER

    return {
        "executable": sys.executable,
        "files": {module.__name__: module.__file__ for module in modules},
        "compiled": {module.__name__: compiled(module) for module in modules},
    }
"""


def test_zip_uses_its_own_copies_and_their_bytecode(unzipped: Path, bare_python: Path) -> None:
    (unzipped / "probe.py").write_text(PROBE)
    command = [str(unzipped / "bootstrap")]
    with Emulator(
        "probe.handler", task_root=str(unzipped), env=runtime_env(bare_python), runtime_command=command
    ) as emu:
        response = emu.invoke({})
        assert "X-Amz-Function-Error" not in response.headers, response.text + emu.runtime_output()
    found = response.json()
    assert found["executable"].startswith(str(bare_python.parent.parent))
    for name, file in found["files"].items():
        assert Path(file).is_relative_to(unzipped), (name, file)
    assert all(found["compiled"].values()), found["compiled"]


# -- the packager's bytecode policy ------------------------------------------------------------------------------

OTHER_VERSION = "3.13" if LOCAL_VERSION != "3.13" else "3.12"


def without_pythons_on_path() -> dict[str, str]:
    # pip runs as `sys.executable -m pip`: PATH only matters for finding a `pythonX.Y` to compile with.
    return {**os.environ, "PATH": "/nonexistent"}


def test_packager_refuses_to_fake_bytecode_for_another_version(tmp_path: Path) -> None:
    output = tmp_path / "x.zip"
    common = [str(FUNCTION), "--python-version", OTHER_VERSION, "--output", str(output)]
    required = run_packager(*common, "--bytecode", "require", env=without_pythons_on_path())
    assert required.returncode == 1
    assert f"no Python {OTHER_VERSION} found" in required.stderr
    mismatched = run_packager(*common, "--compile-with", sys.executable)
    assert mismatched.returncode == 1
    assert f"is not a CPython {OTHER_VERSION}" in mismatched.stderr
    assert not output.exists()


def test_packager_ships_source_only_and_warns_without_a_matching_python(tmp_path: Path) -> None:
    output = tmp_path / "x.zip"
    result = run_packager(
        str(FUNCTION), "--python-version", OTHER_VERSION, "--output", str(output), env=without_pythons_on_path()
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"warning: no Python {OTHER_VERSION} found" in result.stderr
    assert "no bytecode" in result.stdout
    with zipfile.ZipFile(output) as zipped:
        assert not [name for name in zipped.namelist() if name.endswith(".pyc")]


# -- deploy/Dockerfile (no Docker engine here: the build is rehearsed) ---------------------------------------------


class Stage:
    def __init__(self, image: str, name: str | None) -> None:
        self.image = image
        self.name = name
        self.instructions: list[tuple[str, str]] = []

    def all(self, keyword: str) -> list[str]:
        return [rest for word, rest in self.instructions if word == keyword]

    def one(self, keyword: str) -> str:
        (rest,) = self.all(keyword)
        return rest


def dockerfile_stages() -> list[Stage]:
    """The Dockerfile's stages, with continuation lines joined and ARG defaults substituted."""
    logical: list[str] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line.rstrip("\\").strip() + " " if line.endswith("\\") else line.strip()
        if not line.endswith("\\"):
            logical.append(pending)
            pending = ""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        rest = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), rest)
        if keyword == "ARG":
            name, _, default = rest.partition("=")
            args[name] = default
        elif keyword == "FROM":
            image, _, alias = rest.partition(" AS ")
            stages.append(Stage(image, alias or None))
        else:
            stages[-1].instructions.append((keyword, rest))
    return stages


def test_dockerfile_parts_exist_and_parse() -> None:
    build, final = dockerfile_stages()
    assert build.name == "build"
    assert final.image == build.image == "python:3.12-slim"
    for copy in build.all("COPY"):
        *sources, _ = shlex.split(copy)
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: not in the build context"
    assert "deploy/package.py" in build.one("RUN") and "--tree /var/task" in build.one("RUN")
    assert final.one("COPY") == "--from=build /var/task /var/task"
    entrypoint, cmd = json.loads(final.one("ENTRYPOINT")), json.loads(final.one("CMD"))
    assert entrypoint == ["/var/task/bootstrap"]
    (handler,) = cmd
    assert_handler_exists(handler)


def test_dockerfile_build_rehearsed_then_run_as_lambda_would(tmp_path: Path, bare_python: Path) -> None:
    build, final = dockerfile_stages()
    image = tmp_path / "image"  # stands for the image's / (and its /var/task)
    src = image / build.one("WORKDIR").lstrip("/")
    for copy in build.all("COPY"):
        *sources, target = shlex.split(copy)
        for source in sources:
            destination = src / target
            if (ROOT / source).is_dir():
                shutil.copytree(ROOT / source, destination, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                destination.mkdir(parents=True, exist_ok=True)
                shutil.copy(ROOT / source, destination)
    # The image's `python` has pip: this test's Python stands in for it.
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (shim / "python").chmod(0o755)
    run = build.one("RUN").replace("/var/task", str(image / "var/task"))
    env = {**os.environ, "PATH": f"{shim}:/usr/bin:/bin"}
    result = subprocess.run(["sh", "-c", run], cwd=src, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr

    def in_image(value: str) -> str:
        return value.replace("/var/task", str(image / "var/task"))

    declared = dict(pair.split("=", 1) for pair in shlex.split(final.one("ENV")))
    assert declared["LAMBDA_RUNTIME_PYTHON"] == "/usr/local/bin/python3"  # python:*-slim's interpreter
    declared["LAMBDA_RUNTIME_PYTHON"] = str(bare_python)
    env = runtime_env(bare_python, **{name: in_image(value) for name, value in declared.items()})
    command = [in_image(part) for part in json.loads(final.one("ENTRYPOINT")) + json.loads(final.one("CMD"))]
    task_root = in_image(final.one("WORKDIR"))
    # The emulator's _HANDLER is a decoy: an image's CMD must be what names the handler.
    with Emulator("decoy.handler", task_root=task_root, env=env, runtime_command=command) as emu:
        response = emu.invoke({"message": "hi"})
        assert response.json() == {"echoedMessage": "hi"}, response.text + emu.runtime_output()
        emu.wait_for_output("Background work completed for 'hi'")


# -- template.yaml -----------------------------------------------------------------------------------------------


def test_template_passes_cfn_lint() -> None:
    cfn_lint = shutil.which("cfn-lint", path=str(VENV_BIN)) or "cfn-lint"
    result = subprocess.run([cfn_lint, "template.yaml"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_template_function_matches_the_package_and_the_background_work() -> None:
    template, problems = decode(str(ROOT / "template.yaml"))
    assert not problems and template is not None
    function = template["Resources"]["BackgroundTasksFunction"]["Properties"]
    variables = function["Environment"]["Variables"]
    if function["Runtime"].startswith("python"):
        assert variables["AWS_LAMBDA_EXEC_WRAPPER"] == "/var/task/bootstrap"
    else:
        assert function["Runtime"] == "provided.al2023"
    # The timeout covers the deferred job, with room for the handler and a cold start.
    assert function["Timeout"] >= 2 * float(variables["BACKGROUND_WORK_SECONDS"])
    (arch,) = function["Architectures"]
    assert function["CodeUri"] == f"dist/{FUNCTION.name}-{arch}.zip"  # what package.py writes by default
    assert_handler_exists(function["Handler"])
    assert "FunctionUrlConfig" in function


def test_template_layer_is_what_make_layer_builds_and_its_function_adopts_it() -> None:
    template, problems = decode(str(ROOT / "template.yaml"))
    assert not problems and template is not None
    resources = template["Resources"]
    layer = resources["RuntimeLayer"]["Properties"]
    function = resources["LayeredFunction"]["Properties"]
    (runtime,) = layer["CompatibleRuntimes"]
    (arch,) = layer["CompatibleArchitectures"]
    version = runtime.removeprefix("python")
    assert layer["ContentUri"] == f"dist/lambda-runtime-layer-py{version}-{arch}.zip"  # package.py --layer's default
    assert function["Runtime"] == runtime and function["Architectures"] == [arch]
    assert function["Layers"] == [{"Ref": "RuntimeLayer"}]
    assert function["Environment"]["Variables"]["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/bootstrap"
    assert (ROOT / function["CodeUri"]).is_dir()
    assert_handler_exists(function["Handler"])


# -- the documented deployment -----------------------------------------------------------------------------------


def doc_blocks(kind: str, argument: str = "") -> list[str]:
    """The ```sh blocks the docs mark `<!-- readme-test: KIND [ARGUMENT] -->` (tests/test_readme.py explains them)."""
    text = "".join(page.read_text() for page in DOCS)
    blocks = re.findall(r"<!-- readme-test: ([\w-]+)( [^\n]*?)? -->\n```sh\n(.*?)```", text, re.S)
    return [body for marked, arg, body in blocks if marked == kind and arg.strip() == argument]


def served_zip_block() -> str:
    """ "Try it locally": the background block that serves the unzipped package through its bootstrap."""
    (block,) = [block for block in doc_blocks("background") if "--runtime-command ./bootstrap" in block]
    return block


def doc_commands(block: str) -> list[str]:
    return [command.strip() for command in block.replace("\\\n", " ").splitlines() if command.strip()]


class Lines:
    """Collects a pipe's lines in a thread; `wait_for` blocks until the text so far satisfies a condition."""

    def __init__(self, stream: IO[str]) -> None:
        self._lines: list[str] = []
        self._changed = threading.Condition()
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            with self._changed:
                self._lines.append(line)
                self._changed.notify_all()

    @property
    def text(self) -> str:
        with self._changed:
            return "".join(self._lines)

    def wait_for(self, condition: Callable[[str], Any], timeout: float = 60) -> Any:
        with self._changed:
            found = self._changed.wait_for(lambda: condition("".join(self._lines)), timeout)
        assert found, f"not found in:\n{self.text}"
        return found


@pytest.fixture(scope="module")
def lambda_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bare Python of the version "Try it locally" names (LAMBDA_RUNTIME_PYTHON=pythonX.Y), as python3 too."""
    named = re.search(r"LAMBDA_RUNTIME_PYTHON=python(3\.\d+)", served_zip_block())
    assert named is not None, "Try it locally names the Python the zip was built for"
    found = find_python(named.group(1))
    if found is None:
        pytest.skip(f"no Python {named.group(1)} on this machine (PATH or pyenv)")
    home = tmp_path_factory.mktemp("lambda-python")
    subprocess.run([found, "-m", "venv", "--without-pip", str(home)], check=True, timeout=120)
    return home / "bin" / f"python{named.group(1)}"


@pytest.fixture(scope="module")
def built_for_lambda(tmp_path_factory: pytest.TempPathFactory, lambda_python: Path) -> Path:
    version = lambda_python.name.removeprefix("python")
    output = tmp_path_factory.mktemp("dist-lambda") / "function.zip"
    result = run_packager(
        str(FUNCTION),
        *("--arch", LOCAL_ARCH, "--python-version", version, "--output", str(output)),
        *("--compile-with", str(lambda_python), "--bytecode", "require"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return output


@pytest.fixture
def documented_server(built_for_lambda: Path, lambda_python: Path, tmp_path: Path) -> Iterator[tuple[str, Lines]]:
    """The docs' "Try it locally" block, run as written but on a free port; yields the URL and its output."""
    if shutil.which("unzip") is None:
        pytest.skip("the documented local run uses unzip, which this machine lacks")
    block = served_zip_block()
    zip_name = re.search(r"dist/(\S+\.zip)", block)
    assert zip_name is not None
    (tmp_path / "dist").mkdir()
    shutil.copy(built_for_lambda, tmp_path / "dist" / zip_name.group(1))  # whatever the arch in its name: it runs here
    # The zip's Python is found by name (LAMBDA_RUNTIME_PYTHON); python3 on PATH is a decoy that must not run it.
    decoy = tmp_path / "decoy"
    decoy.mkdir()
    (decoy / "python3").write_text("#!/bin/sh\necho 'the zip ran on python3 from PATH' >&2\nexit 3\n")
    (decoy / "python3").chmod(0o755)
    env = runtime_env(lambda_python)
    env["PATH"] = f"{decoy}:{lambda_python.parent}:/usr/bin:/bin:{VENV_BIN}"  # VENV_BIN last: for lambda-runtime
    server = subprocess.Popen(
        ["sh", "-e", "-c", block.replace("--port 9000", "--port 0")],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # so the emulator and the shell that started it stop together
    )
    assert server.stdout is not None and server.stderr is not None
    output, log = Lines(server.stdout), Lines(server.stderr)
    try:
        found = log.wait_for(lambda text: re.search(r"listening on (http://[\d.]+:\d+)", text))
        yield found.group(1), output
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        output.thread.join(timeout=60)
        log.thread.join(timeout=60)


def run_aws(commands: str, endpoint: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run documented commands as written; `aws` itself gets `--endpoint-url` (a global option) in front."""
    script = f'aws() {{ command aws --endpoint-url "{endpoint}" "$@"; }}\nset -e\n{commands}'
    env = {
        "PATH": f"{VENV_BIN}:/usr/bin:/bin",
        "HOME": str(cwd),
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    }
    return subprocess.run(["sh", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_documented_invocations_run_against_the_emulator(documented_server: tuple[str, Lines], tmp_path: Path) -> None:
    url, output = documented_server
    (block,) = doc_blocks("needs-aws", "invoke")
    invocations = [command for command in doc_commands(block) if command.startswith("aws lambda invoke")]
    assert len(invocations) == 2
    result = run_aws(block, url, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    answer = (tmp_path / "out.json").read_text()
    assert json.loads(answer) == {"echoedMessage": "hi"}
    assert f"\n{answer}\n" in DOCS[0].read_text()  # the output the docs show is the real one
    assert '"StatusCode": 200' in result.stdout and '"StatusCode": 202' in result.stdout
    # Both invocations, the queued one too, run their deferred job through to the end, and each one's REPORT line
    # (its Duration) comes after its job: the invocation lasted until the job was done.
    text = output.wait_for(lambda text: text if text.count("REPORT RequestId:") == 2 else None)
    request_ids = re.findall(r"^START RequestId: (\S+)", text, re.M)
    assert len(request_ids) == 2, text
    for request_id in request_ids:
        completed = text.index(f"{request_id}\tBackground work completed for 'hi'")
        assert completed < text.index(f"REPORT RequestId: {request_id}")


def test_documented_aws_commands_are_accepted_by_the_cli(documented_server: tuple[str, Lines], tmp_path: Path) -> None:
    # They change things on AWS, so they can't succeed here. Sent to the emulator, each one must get as far as an
    # HTTP request (answered 404): the CLI then knew the command and accepted every parameter and file it names.
    commands = [
        command for block in doc_blocks("needs-aws") for command in doc_commands(block) if command.startswith("aws ")
    ]
    assert {"create-function", "delete-function", "update-function-code", "create-role", "publish-layer-version"} <= {
        command.split()[2] for command in commands
    }
    # The files they name must exist (the CLI reads them first): the server fixture put the function's zip in dist/;
    # the layer's zip only has to be a file the CLI can read and send (a 404 answers it whatever it holds).
    for path in {match for command in commands for match in re.findall(r"fileb://(\S+)", command)}:
        if "lambda-runtime-layer-" in path:
            shutil.copy(next((tmp_path / "dist").glob("background_tasks-*.zip")), tmp_path / path)
        assert (tmp_path / path).is_file(), path
    url, _ = documented_server
    for command in commands:
        result = run_aws(command, url, tmp_path)
        assert result.returncode != 0 and "404" in result.stderr, f"{command}\n{result.stderr}"


# -- which function files ship (deploy/function_files.py) ---------------------------------------------------------


def stray_function(root: Path) -> Path:
    """The example as a user leaves it after trying the emulator: test payloads and outputs next to the code."""
    function = root / "background_tasks"
    shutil.copytree(FUNCTION, function, ignore=shutil.ignore_patterns("__pycache__"))
    (function / "helpers").mkdir()
    (function / "helpers" / "__init__.py").write_text("")
    (function / "helpers" / "util.py").write_text("X = 1\n")
    (function / "data").mkdir()
    (function / "data" / "config.json").write_text("{}")
    for stray in ("event.json", "out.json", "notes.txt"):
        (function / stray).write_text("{}")
    (function / "__pycache__").mkdir()
    (function / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"")
    return function


def shipped(tree: Path) -> set[str]:
    return {p.relative_to(tree).as_posix() for p in tree.rglob("*") if p.is_file()}


def test_package_takes_python_source_only_by_default_and_lists_it(tmp_path: Path) -> None:
    function = stray_function(tmp_path)
    tree = tmp_path / "tree"
    result = run_packager(str(function), "--tree", str(tree), "--bytecode", "none")
    assert result.returncode == 0, result.stdout + result.stderr
    files = shipped(tree)
    assert {"app.py", "helpers/__init__.py", "helpers/util.py", "bootstrap"} <= files
    assert not {"event.json", "out.json", "notes.txt", "data/config.json"} & files
    assert not [name for name in files if name.endswith(".pyc")]
    listing = result.stdout
    assert "Python source only (*.py); add a .lambdaignore to ship other files" in listing
    assert "\n  app.py\n  helpers/__init__.py\n  helpers/util.py\n" in listing
    assert "Left out: data/config.json, event.json, notes.txt, out.json" in listing


def test_package_with_a_lambdaignore_takes_everything_it_does_not_exclude(tmp_path: Path) -> None:
    function = stray_function(tmp_path)
    (function / ".lambdaignore").write_text("# test payloads\n*.json\n!data/*.json\nnotes.txt\nhelpers/\n")
    tree = tmp_path / "tree"
    result = run_packager(str(function), "--tree", str(tree), "--bytecode", "none")
    assert result.returncode == 0, result.stdout + result.stderr
    files = shipped(tree)
    assert {"app.py", "data/config.json"} <= files
    assert not {"event.json", "out.json", "notes.txt", ".lambdaignore"} & files
    assert not [name for name in files if name.startswith("helpers/")]
    assert ".lambdaignore: every file but those it excludes" in result.stdout
    assert "Left out: event.json, helpers/, notes.txt, out.json" in result.stdout


def test_package_refuses_a_function_with_nothing_to_ship(tmp_path: Path) -> None:
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "event.json").write_text("{}")
    result = run_packager(str(tmp_path / "fn"), "--tree", str(tmp_path / "tree"), "--bytecode", "none")
    assert result.returncode == 1
    assert "has no files to ship" in result.stderr and "Python source only" in result.stderr
