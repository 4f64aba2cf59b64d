"""Execution environments: up to ``concurrency`` runtimes started on demand, a bounded queue, 429 beyond."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lambda_runtime.emulator import Emulator
from tests.emulator_functions.harness import OURS, emulators, scripted


@pytest.fixture
def emulator() -> Iterator[Callable[..., Emulator]]:
    with emulators() as start:
        yield start


def invoke_all(emu: Emulator, payloads: list[Any]) -> list[Any]:
    """Invoke with every payload at once, from threads; the responses in payload order."""
    results: list[Any] = [None] * len(payloads)

    def call(i: int) -> None:
        results[i] = emu.invoke(payloads[i])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(payloads))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


@pytest.mark.parametrize("runtime", ["ours", "official"])
def test_two_environments_serve_four_invocations_concurrently(
    emulator: Callable[..., Emulator], tmp_path: Path, runtime: str
) -> None:
    emu = emulator("pairs.handler", runtime_command=OURS if runtime == "ours" else None, concurrency=2)
    results = invoke_all(emu, [{"dir": str(tmp_path)}] * 4)
    for r in results:
        assert r.status_code == 200 and "X-Amz-Function-Error" not in r.headers, r.text
    bodies = [r.json() for r in results]
    # Markers 0+1 and 2+3 each waited for the other: two handlers ran at the same time, twice.
    assert sorted(b["index"] for b in bodies) == [0, 1, 2, 3]
    records = emu.wait_for_records(4)
    assert len({b["pid"] for b in bodies}) == len({r.runtime_pid for r in records}) == 2
    assert sum(r.init_ms is not None for r in records) == 2  # two cold starts, then warm reuse
    for pid in {r.runtime_pid for r in records}:
        first = next(r for r in records if r.runtime_pid == pid)
        assert first.init_ms is not None and first.init_ms > 0
    # Each environment has a Runtime API of its own.
    assert len({b["runtime_api"] for b in bodies}) == 2
    assert emu.runtime_api in {b["runtime_api"] for b in bodies}
    assert sorted(emu.runtime_pids()) == sorted({r.runtime_pid for r in records})  # type: ignore[type-var]


def test_environments_start_only_on_demand(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.echo", concurrency=3)
    for _ in range(3):
        assert emu.invoke({}).status_code == 200  # one at a time: the warm environment serves them all
    records = emu.wait_for_records(3)
    assert len({r.runtime_pid for r in records}) == 1
    assert [r.init_ms is not None for r in records] == [True, False, False]


def test_queue_overflow_is_a_429(emulator: Callable[..., Emulator], tmp_path: Path) -> None:
    emu = emulator("unused", runtime_command=scripted("wait_file"), concurrency=1, queue_size=1)
    gate = tmp_path / "gate"
    assert emu.invoke({"file": str(gate), "n": 0}).status_code == 200  # answered; its runtime waits for the gate
    queued: list[Any] = []
    caller = threading.Thread(target=lambda: queued.append(emu.invoke({"file": str(gate), "n": 1})))
    caller.start()
    emu.wait_for_queued(1)
    client = emu.lambda_client()
    with pytest.raises(client.exceptions.TooManyRequestsException) as raised:
        client.invoke(FunctionName="function", Payload=b"{}")
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert raised.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    gate.touch()
    caller.join(60)
    assert queued[0].status_code == 200 and queued[0].json()["event"]["n"] == 1  # the queued one was served
    assert len(emu.wait_for_records(2)) == 2  # the refused one never ran


def test_queue_size_zero_refuses_whenever_all_are_busy(emulator: Callable[..., Emulator], tmp_path: Path) -> None:
    emu = emulator("unused", runtime_command=scripted("wait_file"), queue_size=0)
    gate = tmp_path / "gate"
    assert emu.invoke({"file": str(gate)}).status_code == 200
    assert emu.invoke({"file": str(gate)}).status_code == 429
    gate.touch()
    emu.wait_for_records(1)
    assert emu.invoke({"file": str(gate)}).status_code == 200
