"""What ships to AWS is something durable functions accept: the template's Pythons, its durable function, the
container image, and the durable example's zip, built and run end to end as a durable function on the emulator."""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode  # type: ignore[import-untyped]

from lambda_runtime.emulator import Emulator
from tests.test_deploy import (  # noqa: F401 (bare_python is a fixture)
    LOCAL_ARCH,
    LOCAL_VERSION,
    ROOT,
    bare_python,
    run_packager,
    runtime_env,
    unzip_like_lambda,
)

EXAMPLE = ROOT / "examples" / "durable"
#: The managed runtimes a DurableConfig accepts ("Supported runtimes for durable functions"), besides images.
DURABLE_PYTHONS = {"python3.13", "python3.14"}


def resources() -> dict[str, Any]:
    template, problems = decode(str(ROOT / "template.yaml"))
    assert not problems and template is not None
    return dict(template["Resources"])


def test_every_python_function_and_the_layer_target_a_python_durable_functions_accept() -> None:
    found = resources()
    functions = {name: r["Properties"] for name, r in found.items() if r["Type"] == "AWS::Serverless::Function"}
    assert functions and all(props["Runtime"] in DURABLE_PYTHONS for props in functions.values()), functions
    layer = found["RuntimeLayer"]["Properties"]
    assert set(layer["CompatibleRuntimes"]) <= DURABLE_PYTHONS


def test_the_durable_function_is_the_durable_example_built_by_make_package() -> None:
    props = resources()["DurableOrdersFunction"]["Properties"]
    assert props["DurableConfig"]["ExecutionTimeout"] >= props["Timeout"]
    assert props["Environment"]["Variables"]["AWS_LAMBDA_EXEC_WRAPPER"] == "/var/task/bootstrap"
    (arch,) = props["Architectures"]
    assert props["CodeUri"] == f"dist/{EXAMPLE.name}-{arch}.zip"  # what package.py writes by default
    module, function = props["Handler"].split(".")
    assert re.search(rf"^def {function}\(", (EXAMPLE / f"{module}.py").read_text(), re.M)
    # The SDK travels in the zip: package.py installs the function's requirements.txt.
    assert "aws-durable-execution-sdk-python" in (EXAMPLE / "requirements.txt").read_text()


def test_the_container_image_has_a_python_the_durable_sdk_supports() -> None:
    # An image is accepted whatever its Python; the SDK itself needs 3.11 or later.
    version = re.search(r"^ARG PYTHON_VERSION=(\d+)\.(\d+)$", (ROOT / "deploy" / "Dockerfile").read_text(), re.M)
    assert version is not None and (int(version[1]), int(version[2])) >= (3, 11)


def test_the_durable_zip_runs_as_a_durable_function(tmp_path: Path, bare_python: Path) -> None:  # noqa: F811
    if importlib.util.find_spec("aws_durable_execution_sdk_python_testing") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("the [durable] extra is not installed: `make install` installs it with the dev extra")
        pytest.skip("AWS's durable execution testing SDK is not installed (the [durable] extra)")
    archive = tmp_path / f"durable-{LOCAL_ARCH}.zip"
    built = run_packager(
        str(EXAMPLE),
        *("--arch", LOCAL_ARCH, "--python-version", LOCAL_VERSION, "--output", str(archive)),
        *("--compile-with", str(bare_python)),
    )
    assert built.returncode == 0, built.stdout + built.stderr
    task = unzip_like_lambda(archive, tmp_path / "task")
    env = runtime_env(bare_python, ORDER_WAIT_SECONDS="1")  # the SDK and boto3 can only come from the zip
    with Emulator(
        "app.handler", task_root=str(task), env=env, runtime_command=[str(task / "bootstrap")], durable=True, timeout=30
    ) as emu:
        answer = emu.invoke({"order_id": "o-7", "amount": 12})
        assert "X-Amz-Function-Error" not in answer.headers, answer.text + emu.runtime_output()
        assert answer.json() == {
            "reservation": {"order_id": "o-7", "reserved": True},
            "payment": {"order_id": "o-7", "charged": 12},
        }
        assert answer.headers["X-Amz-Durable-Execution-Arn"]
        emu.wait_for_output("metric recorded for o-7")
