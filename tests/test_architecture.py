"""The tree is the architecture: each folder answers one question, a module imports only from the layers below its
own, nothing imports in a circle, and a part started on its own (the Runtime API client, a process job's worker,
the emulator's command line) loads only what it needs."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

from lambda_runtime.jobs.job import Job
from lambda_runtime.jobs.processes import WorkerProcess
from tests import architecture
from tests.architecture import LAYERS, MAY_IMPORT_PACKAGE_ROOT, PACKAGE_ROOT, SEPARATE, TOOLS, graph, layer_of, place

EDGES = graph()


def test_every_module_has_a_place_in_the_layers():
    placed = {p for _, places in LAYERS for p in places} | SEPARATE | {PACKAGE_ROOT}
    unplaced = sorted(name for name in EDGES if place(name) not in placed)
    assert not unplaced, f"add their folder (or root module) to tests/architecture.py LAYERS: {unplaced}"


def test_each_module_imports_only_its_own_place_or_the_layers_below():
    upward = []
    for module, targets in EDGES.items():
        here = place(module)
        if here in (*SEPARATE, PACKAGE_ROOT):
            continue
        for target in targets:
            there = place(target)
            if there in (here, PACKAGE_ROOT):
                continue
            if there in SEPARATE:
                if here not in TOOLS:
                    upward.append(f"{module} -> {target}")
                continue
            below, above = layer_of(there), layer_of(here)
            if below is None or above is None or below <= above:
                upward.append(f"{module} -> {target}")
    assert not upward, "imports that go up or sideways in tests/architecture.py LAYERS:\n" + "\n".join(sorted(upward))


def test_the_emulator_imports_no_runtime_module():
    reaching = sorted(
        f"{module} -> {target}"
        for module, targets in EDGES.items()
        if place(module) in SEPARATE
        for target in targets
        if place(target) not in SEPARATE
    )
    assert not reaching


def test_no_import_cycles():
    assert architecture.cycles(EDGES) == []


def test_the_cycle_check_finds_a_cycle():
    assert architecture.cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_only_the_composition_root_imports_the_package_root():
    # web/asgi.py, say, takes StreamingResponse from invocation/streaming.py, not from `lambda_runtime`.
    reaching = sorted(
        module
        for module, targets in EDGES.items()
        if PACKAGE_ROOT in targets and place(module) not in MAY_IMPORT_PACKAGE_ROOT
    )
    assert not reaching
    asgi = architecture.imports(architecture.PACKAGE / "web" / "asgi.py", "lambda_runtime.web.asgi")
    assert "lambda_runtime.invocation.streaming" in asgi and PACKAGE_ROOT not in asgi


def loaded_after(statement: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running `statement`."""
    code = f"{statement}\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return set(result.stdout.split())


def test_the_runtime_api_client_loads_no_jobs_no_invocation_loop_no_logging_setup():
    loaded = loaded_after("import lambda_runtime.api.client")
    assert {"requests", "lambda_runtime.api.client", "lambda_runtime.api.invocation"} <= loaded  # it did load it
    runtime = sorted(m for m in loaded if m.startswith("lambda_runtime."))
    assert runtime == [
        "lambda_runtime.api",
        "lambda_runtime.api.client",
        "lambda_runtime.api.invocation",
        "lambda_runtime.api.transport",
        "lambda_runtime.errors",
    ]


def test_the_emulator_command_line_loads_no_runtime_module():
    loaded = loaded_after("import lambda_runtime.emulator.cli")
    assert "lambda_runtime.emulator.cli" in loaded
    assert not [m for m in loaded if m.startswith("lambda_runtime.") and place(m) not in SEPARATE]


def test_the_package_root_loads_a_public_name_on_first_use():
    loaded = loaded_after("import lambda_runtime")
    assert not [m for m in loaded if m.startswith("lambda_runtime.")]
    loaded = loaded_after("from lambda_runtime import current_job")
    assert "lambda_runtime.jobs.job" in loaded and "requests" not in loaded


def test_a_process_job_worker_loads_no_requests(tmp_path, monkeypatch):
    # A real worker, started as the process executor starts it, runs a job that writes down what is loaded.
    (tmp_path / "probe.py").write_text(
        textwrap.dedent(
            """
            import sys

            def record(path):
                with open(path, "w") as out:
                    out.write("\\n".join(sorted(sys.modules)))
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import probe  # type: ignore[import-not-found]

    out = tmp_path / "modules"
    job = Job(probe.record, (str(out),), {}, request_id="r1", deadline=time.monotonic() + 30, executor="process")
    worker = WorkerProcess(str(tmp_path), "Text", "", None)
    try:
        outcome, failure = worker.run((job.request_id, job.name, job.deadline, job.payload))
    finally:
        worker.close()
    assert (outcome, failure) == ("ok", None)
    loaded = set(out.read_text().split())
    assert "lambda_runtime.jobs.worker" not in loaded  # run as __main__
    assert {"__main__", "lambda_runtime.jobs.job", "probe"} <= loaded
    assert not {"requests", "urllib3", "tenacity"} & loaded
    assert not [m for m in loaded if m.startswith(("lambda_runtime.api", "lambda_runtime.invocation"))]


def test_the_architecture_page_shows_the_layers_as_the_code_has_them():
    page = architecture.PAGE.read_text()
    assert architecture.page_with_diagram(page) == page, "run `python -m tests.architecture` to redraw it"


@pytest.mark.parametrize("folder", ["api", "invocation", "jobs", "serve", "lifecycle", "logs", "web", "emulator"])
def test_each_folder_says_what_question_it_answers(folder):
    init = architecture.PACKAGE / folder / "__init__.py"
    docstring = init.read_text().split('"""')[1]
    assert len(docstring.strip()) > 40
