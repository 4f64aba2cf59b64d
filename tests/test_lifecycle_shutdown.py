"""Graceful shutdown end to end: the opt-in internal extension makes the emulator (as Lambda) stop the runtime with
SIGTERM and SIGKILL after 500 ms; in that budget running jobs get their cancel flag, the shutdown hooks run, and the
log names what was cut short."""

from __future__ import annotations

import http.client
import json
import signal
import threading
import time
from pathlib import Path
from typing import NoReturn

import pytest

from lambda_runtime.api.extensions import NAME
from tests.test_deferred import wait_for_file

EXTENSION_ON = {"LAMBDA_RUNTIME_SHUTDOWN_EXTENSION": "true"}


def start(serve, tmp_path: Path, budget: float = 30.0, **env: str):
    """The emulator's budget is generous unless a test is about it: a loaded machine may not run the runtime's
    shutdown within Lambda's 500 ms, and what the runtime does in its budget is what most tests check."""
    options = {"kill_grace": 60.0, "shutdown_budget": budget}
    return serve("shutdown_fn.handler", env={"SHUTDOWN_DIR": str(tmp_path), **env}, **options)


def test_the_extension_registers_during_init_and_sigterm_interrupts_the_wait_on_next(serve, tmp_path):
    emu = start(serve, tmp_path, **EXTENSION_ON)
    assert emu.invoke({}).json() == "answered"
    emu.wait_for_records(1)  # the runtime is back in /next: a blocking socket read in its main thread
    assert [ext.name for ext in emu.server.env.extensions.values()] == [NAME]
    emu.stop()
    # The handler raised inside the read (PEP 475 retries only when it returns): the runtime shut down in order.
    output = emu.runtime_output()
    assert "Shutting down (SIGTERM): deferred jobs cancelled, 500 ms budget" in output
    assert (tmp_path / "hook.done").exists()
    assert "cut short" not in output and "Traceback" not in output


def test_sigterm_cancels_running_jobs_and_names_those_cut_short(serve, tmp_path):
    emu = start(serve, tmp_path, **EXTENSION_ON)
    assert emu.invoke({"jobs": ["polite", "stubborn"]}).json() == "answered"
    wait_for_file(tmp_path / "polite.started")
    wait_for_file(tmp_path / "stubborn.started")
    emu.stop()
    assert (tmp_path / "polite.cancelled").exists()  # its flag was set and it had time to act on it
    assert (tmp_path / "hook.done").exists()  # the hooks ran after the jobs, in the same budget
    output = emu.runtime_output()
    assert "Deferred jobs cut short by SIGTERM: stubborn" in output
    assert "polite" not in output.split("cut short by SIGTERM:")[1].splitlines()[0]


@pytest.mark.timeout(60)
def test_a_hung_shutdown_hook_is_named_and_the_runtime_exits_within_its_budget(serve, tmp_path):
    emu = start(serve, tmp_path, SHUTDOWN_HOOK_SLEEP="120")
    assert emu.invoke({}).json() == "answered"
    emu.wait_for_records(1)
    began = time.monotonic()
    emu.stop()  # kill_grace and the emulator's budget are generous: the runtime ends itself
    assert time.monotonic() - began < 30
    assert emu.server.env.last_returncode == 143 and not (tmp_path / "hook.done").exists()
    assert "Shutdown hooks still running after" in emu.runtime_output()


def test_a_shutdown_hook_raising_systemexit_is_a_reported_failure_and_the_exit_status_stays(serve, tmp_path):
    emu = start(serve, tmp_path, SHUTDOWN_HOOK_RAISE="1")
    assert emu.invoke({}).json() == "answered"
    emu.wait_for_records(1)
    emu.stop()
    assert emu.server.env.last_returncode == 143
    output = emu.runtime_output()
    assert "shutdown hook hook failed" in output and "SystemExit: 4" in output


def test_without_the_extension_the_budget_is_the_external_one(serve, tmp_path):
    emu = start(serve, tmp_path)
    assert emu.invoke({}).json() == "answered"
    emu.wait_for_records(1)
    assert emu.server.env.extensions == {}
    emu.stop()  # Lambda would send no SIGTERM at all here; the emulator does, for local cleanup
    assert "Shutting down (SIGTERM): deferred jobs cancelled, 300 ms budget" in emu.runtime_output()
    assert (tmp_path / "hook.done").exists()


def extensions_call(runtime_api: str, method: str, path: str, body: dict | None = None, **headers: str):
    host, _, port = runtime_api.rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request(method, f"/2020-01-01/extension/{path}", json.dumps(body) if body else None, headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def test_the_extensions_api_refuses_what_lambda_refuses(serve, tmp_path):
    emu = start(serve, tmp_path)
    emu.invoke({})
    emu.wait_for_records(1)
    status, body = extensions_call(
        emu.runtime_api, "POST", "register", {"events": []}, **{"Lambda-Extension-Name": "x"}
    )
    assert status == 403 and "init" in body["errorMessage"]  # init is over
    status, _ = extensions_call(emu.runtime_api, "GET", "event/next", **{"Lambda-Extension-Identifier": "nope"})
    assert status == 403


class RecordingRunner:
    """The job runner's side of an exit with nothing in flight: records until when it may wait for the jobs."""

    def __init__(self) -> None:
        self.until: float | None = None
        self.changed = threading.Condition()
        self.margin_s = 0.1

    def in_flight(self) -> tuple[dict[str, float], list[object]]:
        return {}, []

    def stop_jobs(self, until: float) -> list[object]:
        self.until = until
        return []

    def unfinished_jobs(self) -> list[object]:
        return []

    def close_processes(self, grace_s: float = 0.0) -> None:
        pass


def _leave(status: int) -> NoReturn:
    raise SystemExit(status)


@pytest.fixture
def hooks_and_signals_restored():
    """An exit ignores SIGTERM and SIGINT from then on, and runs the registered hooks: for this test only."""
    from lambda_runtime.lifecycle.shutdown import SHUTDOWN_HOOKS

    saved_hooks, SHUTDOWN_HOOKS[:] = list(SHUTDOWN_HOOKS), []
    saved_signals = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield SHUTDOWN_HOOKS
    finally:
        SHUTDOWN_HOOKS[:] = saved_hooks
        for sig, handler in saved_signals.items():
            signal.signal(sig, handler)


def test_shutdown_hooks_run_latest_registered_first(hooks_and_signals_restored):
    from lambda_runtime.lifecycle.shutdown import on_shutdown, run_shutdown_hooks

    order: list[str] = []
    on_shutdown(lambda: order.append("registered first"))
    on_shutdown(lambda: order.append("registered last"))
    run_shutdown_hooks()
    assert order == ["registered last", "registered first"]  # as atexit: what started last stops first


def test_the_jobs_leave_half_the_budget_to_the_shutdown_hooks(hooks_and_signals_restored):
    from lambda_runtime.lifecycle.shutdown import on_shutdown
    from lambda_runtime.serve.exits import EXIT_MARGIN_S, Exit, Trigger

    ran: list[str] = []
    on_shutdown(lambda: ran.append("hook"))
    runner = RecordingRunner()
    leave = Exit(runner, 0.5, clock=lambda: 100.0, leave=_leave)  # type: ignore[arg-type]
    with pytest.raises(SystemExit):
        leave.perform(Trigger("SIGTERM", 143, signalled_at=100.0))
    assert runner.until == pytest.approx(100.0 + (0.5 - EXIT_MARGIN_S) / 2) and ran == ["hook"]


def test_a_second_signal_does_not_cut_the_shutdown_hooks_short(hooks_and_signals_restored):
    """While the hooks run, SIGTERM and Ctrl-C are ignored: a second one cannot interrupt them."""
    from lambda_runtime.lifecycle.shutdown import on_shutdown
    from lambda_runtime.serve.exits import Exit, Trigger

    during: list[object] = []
    on_shutdown(lambda: during.extend(signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)))
    leave = Exit(RecordingRunner(), 0.5, leave=_leave)  # type: ignore[arg-type]
    with pytest.raises(SystemExit):
        leave.perform(Trigger("SIGTERM", 143, signalled_at=time.monotonic()))
    assert during == [signal.SIG_IGN, signal.SIG_IGN]
