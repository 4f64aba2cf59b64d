"""The runtime as a Lambda layer: `make layer` (deploy/package.py --layer), adopted by an existing function.

Lambda unpacks a layer into /opt and, with `AWS_LAMBDA_EXEC_WRAPPER=/opt/bootstrap`, runs the wrapper with the managed
runtime's own command line (its interpreter first). Here the layer is unpacked into a directory that stands for /opt,
and the "managed runtime" is a bare virtualenv of Lambda's Python version (3.12, 3.13) made without pip or packages:
lambda_runtime, requests and the rest can only come from the layer. The function's code never imports or mentions the
runtime, except the one that calls `context.defer`.
"""

from __future__ import annotations

import stat
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from lambda_runtime.emulator import Emulator
from tests.interpreters import find_python
from tests.test_deploy import LOCAL_ARCH, run_packager, unzip_like_lambda

EXISTING_FUNCTION = """
import sys


def handler(event, context):
    return {"hello": event["name"], "request_id": context.aws_request_id}


def where(event, context):
    modules = {name: getattr(sys.modules.get(name), "__file__", None) for name in ("lambda_runtime", "requests")}
    return {"python": "%d.%d" % sys.version_info[:2], "executable": sys.executable, "modules": modules}


def deferring(event, context):
    def audit(name):
        print(f"audit written for {name}")

    context.defer(audit, event["name"])
    print("answering")
    return {"deferred": True}
"""


@pytest.fixture(scope="module", params=["3.12", "3.13"])
def adopted(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The layer for one Python version unpacked as /opt, a bare "managed" interpreter, and a function's code."""
    version: str = request.param
    python = find_python(version)
    if python is None:
        pytest.skip(f"no Python {version} on this machine (PATH or pyenv)")
    home = tmp_path_factory.mktemp(f"lang-{version}")
    subprocess.run([python, "-m", "venv", "--without-pip", str(home)], check=True, timeout=120)
    managed = home / "bin" / f"python{version}"
    output = tmp_path_factory.mktemp("dist") / "layer.zip"
    built = run_packager(
        "--layer",
        *("--arch", LOCAL_ARCH, "--python-version", version, "--output", str(output)),
        *("--compile-with", str(managed), "--bytecode", "require"),
    )
    assert built.returncode == 0, built.stdout + built.stderr
    opt = unzip_like_lambda(output, tmp_path_factory.mktemp("root") / "opt")
    task = tmp_path_factory.mktemp("task")
    (task / "app.py").write_text(EXISTING_FUNCTION)
    return {"version": version, "managed": managed, "zip": output, "opt": opt, "task": task, "printed": built.stdout}


def invoke_adopted(adopted: dict[str, Any], handler: str, event: dict[str, Any]) -> tuple[Any, Emulator]:
    opt: Path = adopted["opt"]
    env = {
        "PATH": "/usr/bin:/bin",  # no Python of ours on it: the interpreter is the one Lambda passes
        "LANG": "C.UTF-8",
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_LAMBDA_EXEC_WRAPPER": str(opt / "bootstrap"),
    }
    # What Lambda runs: the wrapper, then the managed runtime's command line.
    command = [str(opt / "bootstrap"), str(adopted["managed"]), "/var/runtime/bootstrap.py"]
    emulator = Emulator(handler, task_root=str(adopted["task"]), env=env, runtime_command=command).start()
    try:
        response = emulator.invoke(event)
        assert "X-Amz-Function-Error" not in response.headers, response.text + emulator.runtime_output()
    except BaseException:
        emulator.stop()
        raise
    return response.json(), emulator


def test_layer_holds_the_runtime_under_python_and_bootstrap_at_its_root(adopted: dict[str, Any]) -> None:
    with zipfile.ZipFile(adopted["zip"]) as zipped:
        entries = {info.filename: info for info in zipped.infolist()}
    tops = {name.split("/")[0] for name in entries}
    assert tops == {"bootstrap", "python"}
    assert stat.S_IMODE(entries["bootstrap"].external_attr >> 16) == 0o755
    packages = {name.split("/")[1] for name in entries if name.startswith("python/")}
    assert {"lambda_runtime", "requests", "tenacity", "pythonjsonlogger", "urllib3"} <= packages
    assert "bin" not in packages  # console scripts; /opt/python/bin/python3 would also pass for a Python layer
    assert not [
        name for name in entries if name.startswith(("python/lambda_runtime/emulator", "python/lambda_runtime/testing"))
    ]
    tag = f"cpython-{adopted['version'].replace('.', '')}"
    assert f"python/lambda_runtime/invocation/__pycache__/loop.{tag}.pyc" in entries
    assert str(adopted["zip"]) in adopted["printed"]


def test_an_existing_function_runs_unchanged_on_the_layers_runtime(adopted: dict[str, Any]) -> None:
    answer, emulator = invoke_adopted(adopted, "app.where", {})
    emulator.stop()
    assert answer["python"] == adopted["version"]
    assert answer["executable"].startswith(str(adopted["managed"].parent.parent))
    for name, file in answer["modules"].items():
        assert Path(file).is_relative_to(adopted["opt"] / "python"), (name, file)
    answer, emulator = invoke_adopted(adopted, "app.handler", {"name": "layer"})
    emulator.stop()
    assert answer["hello"] == "layer" and answer["request_id"]


def test_context_defer_works_with_the_layer(adopted: dict[str, Any]) -> None:
    answer, emulator = invoke_adopted(adopted, "app.deferring", {"name": "order-7"})
    try:
        assert answer == {"deferred": True}
        (record,) = emulator.wait_for_records(1)
        output = emulator.invocation_output(record.request_id)
    finally:
        emulator.stop()
    assert output.index("answering") < output.index("audit written for order-7") < output.index("REPORT RequestId")
    assert "Deferred jobs: 1 ok" in output
    assert record.responded_at is not None and record.next_at is not None
    assert record.responded_at <= record.next_at
